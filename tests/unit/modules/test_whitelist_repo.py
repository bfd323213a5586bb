"""whitelist_repo: whole-module cases as data (whitelist_repo.yaml)."""

from __future__ import annotations

import os

import pytest

from ansible_collections.fuel.lifecycle.plugins.modules import whitelist_repo
from .master_cases import load, run_case

CASES = load(os.path.join(os.path.dirname(__file__), "whitelist_repo.yaml"))


@pytest.mark.parametrize("case", [case for _id, case in CASES], ids=[case_id for case_id, _case in CASES])
def test_case(case, tmp_path):
    run_case(whitelist_repo.main, case, tmp_path)
