# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""env_lock's real main() on scratch directories, cases as data (env_lock.yaml)."""

from __future__ import annotations

import json
import os

import pytest
import yaml

from ansible_collections.fuel.lifecycle.plugins.module_utils import _env_lock as lock
from ansible_collections.fuel.lifecycle.plugins.modules import env_lock
from module_harness import run_module, tree_digest

CASES = yaml.safe_load(open(os.path.join(os.path.dirname(__file__), "env_lock.yaml"), encoding="utf-8"))


def _subst(value, lock, history):
    if isinstance(value, str):
        return value.replace("LOCK", lock).replace("HISTORY", history)
    if isinstance(value, dict):
        return {k: _subst(v, lock, history) for k, v in value.items()}
    return value


def _contains(actual, expected):
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(_contains(actual.get(k), v) for k, v in expected.items())
    return actual == expected


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_case(case, tmp_path):
    lock = str(tmp_path / "state" / "env.lock")
    history = str(tmp_path / "state" / "history.json")
    os.makedirs(os.path.dirname(lock))
    if "before" in case:
        with open(lock, "w", encoding="utf-8") as handle:
            json.dump(case["before"], handle)
    if "before_text" in case:
        with open(lock, "w", encoding="utf-8") as handle:
            handle.write(case["before_text"])
    if "history_text" in case:
        with open(history, "w", encoding="utf-8") as handle:
            handle.write(case["history_text"])
    before = tree_digest(str(tmp_path))
    result = run_module(env_lock.main, _subst(case["params"], lock, history), check_mode=case.get("check_mode", False))
    assert _contains(result, case["expect"]), result
    for words in case.get("msg", []):
        assert words in result["msg"], result["msg"]
    if result.get("failed") or case.get("check_mode"):
        assert tree_digest(str(tmp_path)) == before
    if "after" in case:
        if case["after"] is None:
            assert not os.path.exists(lock)
        else:
            with open(lock, encoding="utf-8") as handle:
                assert _contains(json.load(handle), case["after"])
    if "history" in case:
        with open(history, encoding="utf-8") as handle:
            assert [e["event"] for e in json.load(handle)["events"]] == case["history"]


def test_second_run_is_byte_identical(tmp_path):
    params = {"path": str(tmp_path / "env.lock"), "owner": "ops", "run_id": "r1",
              "history_path": str(tmp_path / "h.json")}
    assert run_module(env_lock.main, params)["changed"] is True
    first = tree_digest(str(tmp_path))
    assert run_module(env_lock.main, params)["changed"] is False
    assert tree_digest(str(tmp_path)) == first


def test_broken_lock_history_names_the_dead_run(tmp_path):
    lock = str(tmp_path / "env.lock")
    history = str(tmp_path / "h.json")
    base = {"path": lock, "owner": "ops", "history_path": history}
    run_module(env_lock.main, dict(base, run_id="r1", controller_host="ctl", controller_pid=77))
    refused = run_module(env_lock.main, dict(base, run_id="r2", break_hint="-e fuel_mu_break_lock=true"))
    assert refused["failed"] and "fuel_mu_break_lock" in refused["msg"] and "process 77" in refused["msg"]
    taken = run_module(env_lock.main, dict(base, run_id="r2", force=True))
    assert taken["broken"]["run_id"] == "r1"
    with open(history, encoding="utf-8") as handle:
        events = json.load(handle)["events"]
    assert [e["event"] for e in events] == ["acquired", "broken", "acquired"]
    assert "r1 of ops never released the lock" in events[1]["note"]


# module_utils level: the lock's identity and the refusal text

def params(path, **extra):
    base = {"path": path, "owner": "ops", "run_id": "r1", "state": "present", "scope": "env_1",
            "purpose": "mu_install"}
    base.update(extra)
    return base


def test_two_runs_of_one_owner_never_share(tmp_path):
    path = str(tmp_path / "sub" / "env.lock")
    assert lock.apply(params(path), now=100.0)["changed"] is True
    assert lock.apply(params(path))["changed"] is False
    with pytest.raises(lock.LockHeld) as err:
        lock.apply(params(path, run_id="r2", break_hint="-e fuel_mu_break_lock=true"))
    assert "env_1 is locked by ops (run r1) (purpose: mu_install, since 1970-01-01 00:01:40 UTC" in str(err.value)
    assert "rerun with -e fuel_mu_break_lock=true" in str(err.value)
    with pytest.raises(lock.LockHeld):
        lock.apply(params(path, run_id="r2", state="absent"))
    assert lock.apply(params(path, state="absent"))["event"] == "released"


def test_describe_survives_odd_holders():
    assert "an unknown owner" in lock.describe("/l", {})
    assert "an unknown time" in lock.describe("/l", {"since": 1e300})
    assert "process ? on controller x" in lock.describe("/l", {"controller": {"host": "x"}})
