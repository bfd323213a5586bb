"""repo_check, whole module, against a scratch archive shaped like a real one (real gpgv)."""

from __future__ import annotations

import lzma
import os
import shutil

import pytest

from ansible_collections.fuel.lifecycle.plugins.modules import repo_check
from .archive_fixture import build, packages_text
from .cases import dig, load_cases, substitute
from module_harness import run_module, tree_digest

CASES = load_cases("repo_check.yaml")


@pytest.fixture(scope="session")
def archive(tmp_path_factory):
    return build(str(tmp_path_factory.mktemp("archive")))


def mutate(root, spec):
    for op, arg in (spec or {}).items():
        if op == "replace":
            path = os.path.join(root, arg[0])
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(text.replace(arg[1], arg[2]))
        elif op == "write":
            with open(os.path.join(root, arg[0]), "w", encoding="utf-8") as handle:
                handle.write(arg[1])
        elif op in ("rewrite_index", "corrupt_index"):
            # Every copy of Packages.xz of that directory, by-hash ones included.
            directory = os.path.join(root, arg)
            forged = lzma.compress(packages_text([("libfuel-common", "9.9-1")]).encode())
            for base, _dirs, files in os.walk(directory):
                for name in files:
                    path = os.path.join(base, name)
                    with open(path, "rb") as handle:
                        data = handle.read()
                    if not data.startswith(b"\xfd7zXZ"):
                        continue
                    if op == "corrupt_index":
                        data = data[:20] + bytes(b ^ 0x5A for b in data[20:40]) + data[40:]
                    else:
                        data = forged
                    with open(path, "wb") as handle:
                        handle.write(data)
        elif op == "rewrite_primary":
            import gzip
            for name in os.listdir(os.path.join(root, "rpm", "repodata")):
                if name.endswith("primary.xml.gz"):
                    with open(os.path.join(root, "rpm", "repodata", name), "wb") as handle:
                        handle.write(gzip.compress(
                            b'<metadata xmlns="http://linux.duke.edu/metadata/common"><package><name>fuel-agent</name>'
                            b'<version epoch="0" ver="9" rel="1"/></package></metadata>'))


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_case(case, archive, tmp_path):
    root = str(tmp_path / "archive")
    shutil.copytree(archive["root"], root, ignore=shutil.ignore_patterns("gnupg*"))
    mutate(root, case.get("mutate"))
    mapping = {"deb": os.path.join(root, "deb"), "rpm": os.path.join(root, "rpm"), "keys": os.path.join(root, "keys")}
    params = substitute(case["params"], mapping)
    before = tree_digest(root)
    results = [run_module(repo_check.main, params, check_mode=check) for check in (False, True)]
    assert tree_digest(root) == before  # read-only
    for result in results:
        if case.get("failed"):
            assert result.get("failed") is True, result
            assert case["msg"] in result["msg"], result["msg"]
            continue
        assert not result.get("failed"), result
        assert result["changed"] is False
        for path, value in (case.get("expect") or {}).items():
            assert dig(result, path) == value, (path, result)
        for path, text in (case.get("contains") or {}).items():
            assert text in str(dig(result, path)), (path, result)
    if not case.get("failed"):
        strip = [{k: v for k, v in r.items() if k != "invocation"} for r in results]
        assert strip[0] == strip[1]
