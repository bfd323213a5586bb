# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""mu_version's real main() driven by mu_version.yaml on scratch trees."""

from __future__ import annotations

import binascii
import json
import os
import stat
from unittest import mock

import pytest
import yaml

from module_harness import run_module, tree_digest

from ansible_collections.fuel.lifecycle.plugins.module_utils import _files
from ansible_collections.fuel.lifecycle.plugins.modules import mu_version

from .master_cases import sub

CASES = yaml.safe_load(open(os.path.join(os.path.dirname(__file__), "mu_version.yaml"), encoding="utf-8"))["cases"]


def make_tree(root, files):
    for rel, content in (files or {}).items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if isinstance(content, dict) and content.get("dir"):
            os.makedirs(path, exist_ok=True)
        elif isinstance(content, dict) and "hex" in content:
            with open(path, "wb") as handle:
                handle.write(binascii.unhexlify(content["hex"]))
        else:
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(content)


def failing_write(target):
    real = _files.atomic_write

    def atomic_write(path, content, mode=0o644):
        if os.path.abspath(path) == os.path.abspath(target):
            raise _files.FileProblem(path, "cannot be written: No space left on device")
        return real(path, content, mode)
    return mock.patch.object(_files, "atomic_write", atomic_write)


def run(case, tmp, params=None, fail_write=None):
    params = sub(params or case["params"], tmp)
    if fail_write:
        with failing_write(sub(fail_write, tmp)):
            return run_module(mu_version.main, params, check_mode=case.get("check_mode", False),
                              diff=case.get("diff", False))
    return run_module(mu_version.main, params, check_mode=case.get("check_mode", False), diff=case.get("diff", False))


def check_tree(root, expected, before):
    if expected == "unchanged":
        assert tree_digest(root) == before
        return
    for rel, want in expected.items():
        path = os.path.join(root, rel)
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        assert text.endswith("}\n") and stat.S_IMODE(os.stat(path).st_mode) == 0o644
        data = json.loads(text)
        record = data.get("installed", data)
        assert isinstance(record.pop("installed_at"), float)
        want = dict(want.get("installed", want))
        assert record == want


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_case(case, tmp_path):
    tmp = str(tmp_path)
    make_tree(tmp, case.get("files"))
    before = tree_digest(tmp)
    result = run(case, tmp, fail_write=case.get("fail_write"))
    expect = sub(case["expect"], tmp)
    assert bool(result.get("failed")) is bool(expect.get("failed", False)), result
    for words in expect.get("msg", []):
        assert words in result["msg"], result["msg"]
    if "changed" in expect:
        assert result["changed"] is expect["changed"], result
    for key, field in (("status", "mu_status"), ("update_available", "mu_update_available"),
                       ("fact_repaired", "fact_repaired"), ("fact_in_sync", "fact_in_sync")):
        if key in expect:
            assert result.get(field) == expect[key], result
    if "installed_id" in expect:
        assert result["mu_installed"]["id"] == expect["installed_id"]
    if "diff_files" in expect:
        diffs = result["diff"] if isinstance(result["diff"], list) else [result["diff"]]
        assert [d["after_header"] for d in diffs] == expect["diff_files"]
    if not case.get("diff"):
        assert "diff" not in result
    if "tree" in expect:
        check_tree(tmp, expect["tree"], before)
    if case.get("rerun"):
        settled = tree_digest(tmp)
        again = run(case, tmp)
        assert again["changed"] is False and not again.get("failed"), again
        assert tree_digest(tmp) == settled
    if case.get("then_repaired"):
        repaired = run(case, tmp)
        assert repaired["changed"] is True and repaired.get("fact_repaired") is True, repaired
        params = sub(case["params"], tmp)
        with open(params["path"], encoding="utf-8") as handle:
            record = json.load(handle)
        with open(params["fact_path"], encoding="utf-8") as handle:
            assert json.load(handle) == {"installed": record}
