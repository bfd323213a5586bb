# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""mu_version's real main() driven by mu_version.yaml on scratch trees."""

from __future__ import annotations

import binascii
import json
import os
import stat
import subprocess
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


def status_run(tmp, status_path, manager="apt"):
    return run_module(mu_version.main, {"path": tmp + "/mu.json", "fact_path": "", "release_status_path": status_path,
                                        "package_manager": manager})


def test_flagged_installed_read_from_this_hosts_package_database(tmp_path):
    version = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "dpkg"], capture_output=True, text=True,
                             check=True).stdout
    status = {"problem_packages": [{"name": "dpkg", "versions": ["0:" + version, "0.0-not-this"], "reason": "r"},
                                   {"name": "fuel-lab-not-installed", "versions": ["1.0"], "reason": "never"}]}
    (tmp_path / "status.json").write_text(json.dumps(status))
    before = tree_digest(str(tmp_path))
    for manager in ("apt", "auto"):
        result = status_run(str(tmp_path), str(tmp_path / "status.json"), manager)
        assert not result.get("failed") and result["changed"] is False, result
        assert result["flagged_installed"] == [{"name": "dpkg", "version": version, "reason": "r"}], result
    assert tree_digest(str(tmp_path)) == before


@pytest.mark.parametrize("make, words", [
    (lambda path: path.mkdir(), "is a directory"),
    (lambda path: path.write_text('{"problem_packages": [{"name": "x"}]}'), "problem_packages[0]"),
    (lambda path: path.write_bytes(b"\xff\xfe{"), "not UTF-8"),
])
def test_an_unreadable_status_is_reported_and_the_mu_records_still_are(tmp_path, make, words):
    make(tmp_path / "status.json")
    (tmp_path / "mu.json").write_text(json.dumps({"id": 1, "title": "MU 1", "timestamp": 1}))
    result = status_run(str(tmp_path), str(tmp_path / "status.json"))
    assert not result.get("failed") and result["flagged_installed"] is None, result
    assert words in result["release_status_problem"] and "release_status_path" in result["release_status_problem"]
    assert result["mu_installed"]["id"] == 1


def test_no_cached_status_flags_nothing(tmp_path):
    result = status_run(str(tmp_path), str(tmp_path / "none.json"))
    assert result["flagged_installed"] == [] and "release_status_problem" not in result, result


def test_release_status_path_must_be_absolute(tmp_path):
    result = status_run(str(tmp_path), "relative/status.json")
    assert result["failed"] and result["msg"].startswith("release_status_path:"), result
