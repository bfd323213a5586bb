"""repo_check under hostile options and hostile repository metadata (property-based).

Metadata replaced by wrong-shape, corrupt, truncated, non-UTF-8 data or a
directory: never a traceback, the problem is reported per repository (or the
option at fault is named), and nothing on disk changes.
"""

from __future__ import annotations

import gzip
import lzma
import os
import shutil
import tempfile

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ansible_collections.fuel.lifecycle.plugins.modules import repo_check
from .archive_fixture import build
from .hostile import NASTY_FILE, NASTY_VALUE
from module_harness import run_module, tree_digest

TARGETS = ["deb/dists/bookworm/InRelease", "deb/dists/bookworm/main/binary-amd64/Packages.xz",
           "rpm/repodata/repomd.xml", "PRIMARY", "keys/a.gpg", "keys/a.asc"]
OPTIONS = ["packages", "architecture", "timeout", "package_manager", "proxy", "repos.uri", "repos.suite",
           "repos.signed_by", "repos.gpgkey", "repos.section"]
ARCHIVE = {}


@pytest.fixture(scope="module", autouse=True)
def archive(tmp_path_factory):
    ARCHIVE.update(build(str(tmp_path_factory.mktemp("hostile-archive"))))
    yield


def broken(data):
    """Variants of a real file: truncated, corrupt in the middle, recompressed garbage."""
    return st.sampled_from([data[: len(data) // 2], data[:7], data[:20] + b"\x00" * 40 + data[60:],
                            gzip.compress(b"\x00\xff" * 100), lzma.compress(b"Package\n\n:" * 50),
                            b"<repomd xmlns='http://linux.duke.edu/metadata/repo'><data type='primary'>"
                            b"<location href='../../etc/passwd'/></data></repomd>"])


def run(params_change, target, content):
    root = tempfile.mkdtemp(prefix="hostile-check.")
    try:
        shutil.copytree(ARCHIVE["root"], os.path.join(root, "a"), ignore=shutil.ignore_patterns("gnupg*"))
        base = os.path.join(root, "a")
        if target:
            path = ARCHIVE["primary"].replace(ARCHIVE["root"], base) if target == "PRIMARY" else os.path.join(base, target)
            paths = [path]
            if target.endswith("Packages.xz"):
                # The by-hash copy too, or the module rightly reads that one.
                with open(path, "rb") as handle:
                    original = handle.read()
                by_hash = os.path.join(os.path.dirname(path), "by-hash", "SHA256")
                for name in os.listdir(by_hash):
                    with open(os.path.join(by_hash, name), "rb") as handle:
                        if handle.read() == original:
                            paths.append(os.path.join(by_hash, name))
            for path in paths:
                os.remove(path)
                if content == "DIR":
                    os.makedirs(path)
                else:
                    with open(path, "wb") as handle:
                        handle.write(content)
        deb = {"type": "deb", "name": "d", "uri": "file://%s/deb" % base, "suite": "bookworm", "section": "main",
               "signed_by": "%s/keys/a.asc" % base}
        rpm = {"type": "rpm", "name": "r", "uri": "file://%s/rpm" % base, "gpgkey": "file://%s/keys/a.gpg" % base}
        params = {"repos": [deb], "packages": ["libfuel-common >= 1"], "architecture": "amd64", "timeout": 5}
        if target and target.startswith(("rpm", "PRIMARY")) or (target == "keys/a.gpg"):
            params["repos"] = [rpm]
        for key, value in params_change.items():
            if key.startswith("repos."):
                params["repos"] = [dict(params["repos"][0], **{key[6:]: value})]
            else:
                params[key] = value
        before = tree_digest(root)
        result = run_module(repo_check.main, params)
        assert tree_digest(root) == before
        if result.get("failed"):
            assert any(name.rsplit(".", maxsplit=1)[-1] in result["msg"] for name in OPTIONS + ["field", "repos"]), result["msg"]
        return result
    finally:
        shutil.rmtree(root)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(target=st.sampled_from(TARGETS), content=NASTY_FILE)
@example(target="deb/dists/bookworm/main/binary-amd64/Packages.xz", content=b"\xfd7zXZ\x00\x00truncated")
@example(target="PRIMARY", content=b"\x1f\x8b\x08\x00garbage")
@example(target="rpm/repodata/repomd.xml", content=b"[1, 2, 3]")
@example(target="deb/dists/bookworm/InRelease", content="DIR")
def test_hostile_metadata(target, content):
    result = run({}, target, content)
    # A damaged file is never reported clean; a missing InRelease falls back to Release +
    # Release.gpg (as APT does), so only that case may still be valid.
    if not result.get("failed") and not (target == "deb/dists/bookworm/InRelease" and content == "DIR"):
        assert not result["ok"], result


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), target=st.sampled_from(["deb/dists/bookworm/main/binary-amd64/Packages.xz", "PRIMARY"]))
def test_damaged_real_files(data, target):
    path = ARCHIVE["primary"] if target == "PRIMARY" else os.path.join(ARCHIVE["root"], target)
    with open(path, "rb") as handle:
        original = handle.read()
    result = run({}, target, data.draw(broken(original)))
    assert not result["ok"] and result["invalid_repos"], result


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(option=st.sampled_from(OPTIONS), value=NASTY_VALUE)
@example(option="repos.uri", value="mirror+http://m/")
@example(option="timeout", value=10 ** 12)
def test_hostile_options(option, value):
    run({option: value}, None, None)
