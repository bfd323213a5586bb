"""repo_priorities, whole module: normal, check and diff mode, second run, refusals (cases in YAML)."""

from __future__ import annotations

import os
import stat

import pytest

from ansible_collections.fuel.lifecycle.plugins.modules import repo_priorities
from .cases import load_cases, make_tree, substitute
from module_harness import run_module, tree_digest

CASES = load_cases("repo_priorities.yaml")


def scratch_params(root, params):
    base = {"yum_repos_dir": os.path.join(root, "yum.repos.d"), "apt_sources_dir": os.path.join(root, "sources.list.d"),
            "apt_sources_list": os.path.join(root, "sources.list"),
            "apt_preferences_dir": os.path.join(root, "preferences.d")}
    base.update(params)
    return base


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_case(case, tmp_path):
    root = str(tmp_path / "etc")
    os.makedirs(os.path.join(root, "yum.repos.d"))
    mapping = {"root": root, "long_name": "n" * 250}
    make_tree(root, substitute(case.get("files"), mapping))
    params = scratch_params(root, substitute(case["params"], mapping))
    before = tree_digest(root)
    if case.get("failed"):
        for check_mode in (True, False):
            result = run_module(repo_priorities.main, params, check_mode=check_mode, diff=True)
            assert result.get("failed") is True, result
            assert case["msg"] in result["msg"], result["msg"]
            assert tree_digest(root) == before
        return
    # Check mode with diff: the same verdict, not a byte written.
    dry = run_module(repo_priorities.main, params, check_mode=True, diff=True)
    assert not dry.get("failed"), dry
    assert dry["changed"] is case["changed"]
    assert tree_digest(root) == before
    # The real run.
    result = run_module(repo_priorities.main, params, diff=True)
    assert not result.get("failed"), result
    assert result["changed"] is case["changed"]
    assert result["files"] == dry["files"]
    if case["changed"]:
        assert [d["after"] for d in result["diff"]] == [d["after"] for d in dry["diff"]]
    else:
        assert tree_digest(root) == before
    for rel, text in substitute(case.get("after") or {}, mapping).items():
        with open(os.path.join(root, rel), encoding="utf-8") as handle:
            assert handle.read() == text, rel
    for rel, mode in (case.get("modes") or {}).items():
        assert stat.S_IMODE(os.stat(os.path.join(root, rel)).st_mode) == mode
    if "disabled" in case:
        assert result["disabled"] == case["disabled"]
    # Second run: nothing to do, bytes and modes as they were.
    applied = tree_digest(root)
    again = run_module(repo_priorities.main, params, diff=True)
    assert again["changed"] is False, again
    assert tree_digest(root) == applied
