"""repo_info, whole module: what a host's files say, and files it cannot read named."""

from __future__ import annotations

import pytest

from ansible_collections.fuel.lifecycle.plugins.modules import repo_info
from .cases import dig, load_cases, make_tree, substitute
from module_harness import run_module, tree_digest

CASES = load_cases("repo_info.yaml")


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_case(case, tmp_path):
    root = str(tmp_path)
    make_tree(root, case.get("files"))
    before = tree_digest(root)
    for check_mode in (False, True):
        result = run_module(repo_info.main, {"root": root}, check_mode=check_mode)
        assert tree_digest(root) == before
        if case.get("failed"):
            assert result.get("failed") is True and case["msg"] in result["msg"], result
            continue
        assert not result.get("failed") and result["changed"] is False, result
        for path, value in substitute(case.get("expect") or {}, {"root": root}).items():
            assert dig(result, path) == value, (path, result)
        if "count" in case:
            assert len(result["repositories"]) == case["count"], result["repositories"]
