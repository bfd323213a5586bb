# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Transition table, record keeping and lock of the master upgrade state."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.fuel.lifecycle.plugins.module_utils import _upgrade_state as us


def at(phase, result):
    record = us.empty_record()
    record.update(phase=phase, result=result, cycle=1)
    if phase:
        record["phases"][phase] = {"attempts": 1, "result": result, "started": "t"}
    return record


# (current phase, its result, phase asked) -> decision, or None when refused.
TABLE = [
    (None, None, "prepare", us.START),
    (None, None, "update", None),
    (None, None, "commit", None),
    (None, None, "rollback", None),
    (None, None, "finalize", None),
    ("prepare", "complete", "update", us.START),
    ("prepare", "complete", "rollback", us.START),
    ("prepare", "complete", "prepare", us.DONE),
    ("prepare", "complete", "commit", None),
    ("prepare", "complete", "finalize", None),
    ("prepare", "failed", "prepare", us.RESUME),
    ("prepare", "failed", "rollback", us.START),
    ("prepare", "failed", "update", None),
    ("prepare", "running", "prepare", us.RESUME),
    ("update", "complete", "commit", us.START),
    ("update", "complete", "rollback", us.START),
    ("update", "complete", "update", us.DONE),
    ("update", "complete", "prepare", None),
    ("update", "complete", "finalize", None),
    ("update", "failed", "update", us.RESUME),
    ("update", "failed", "rollback", us.START),
    ("update", "failed", "commit", None),
    ("commit", "complete", "finalize", us.START),
    ("commit", "complete", "rollback", None),
    ("commit", "failed", "commit", us.RESUME),
    ("commit", "failed", "rollback", None),
    ("commit", "failed", "finalize", None),
    ("rollback", "complete", "finalize", us.START),
    ("rollback", "complete", "commit", None),
    ("rollback", "complete", "update", None),
    ("rollback", "failed", "rollback", us.RESUME),
    ("rollback", "failed", "finalize", None),
    ("finalize", "complete", "prepare", us.START),
    ("finalize", "complete", "finalize", us.DONE),
    ("finalize", "complete", "update", None),
    ("finalize", "failed", "finalize", us.RESUME),
    ("finalize", "failed", "prepare", None),
]


@pytest.mark.parametrize("phase,result,asked,expected", TABLE)
def test_transition_table(phase, result, asked, expected):
    record = at(phase, result) if phase else None
    if expected is None:
        with pytest.raises(us.StateError) as err:
            us.decide(record, asked)
        assert "'%s' refused" % asked in str(err.value)
        assert ("'%s' (%s)" % (phase, result) if phase else "no upgrade has run") in str(err.value)
    else:
        assert us.decide(record, asked) == expected


def test_allowed_next_matches_decide_everywhere():
    states = [(None, None)] + [(p, r) for p in us.PHASES for r in us.RESULTS]
    for phase, result in states:
        record = at(phase, result) if phase else None
        accepted = []
        for asked in us.PHASES:
            try:
                us.decide(record, asked)
            except us.StateError:
                continue
            accepted.append(asked)
        assert sorted(accepted) == sorted(us.allowed_next(record)), (phase, result)
    with pytest.raises(us.StateError, match="phase must be one of"):
        us.decide(None, "upgrade")


def run_cycle(record, phases, run_id="r1"):
    for phase in phases:
        record, decision = us.apply(record, phase, "begin", run_id)
        assert decision == us.START
        record, decision = us.apply(record, phase, "complete", run_id)
        assert decision == "complete"
    return record


def test_full_path_and_history_is_appended():
    record = run_cycle(None, ["prepare", "update", "commit", "finalize"])
    assert (record["phase"], record["result"], record["cycle"]) == ("finalize", "complete", 1)
    assert [(e["phase"], e["event"]) for e in record["history"]] == [
        ("prepare", "begin"), ("prepare", "complete"), ("update", "begin"), ("update", "complete"),
        ("commit", "begin"), ("commit", "complete"), ("finalize", "begin"), ("finalize", "complete")]
    again = run_cycle(record, ["prepare", "rollback", "finalize"])
    assert again["cycle"] == 2 and len(again["history"]) == 14
    assert again["history"][:8] == record["history"]
    assert sorted(again["phases"]) == ["finalize", "prepare", "rollback"]


def test_failed_phase_resumes_and_keeps_its_record():
    record = run_cycle(None, ["prepare"])
    record, _d = us.apply(record, "update", "begin", "r1", data_once={"packages_before": ["a-1"]})
    record, decision = us.apply(record, "update", "failed", "r1", message="dnf failed")
    assert decision == "failed" and record["phases"]["update"]["message"] == "dnf failed"
    record, decision = us.apply(record, "update", "begin", "r2", data_once={"packages_before": ["b-2"]})
    assert decision == us.RESUME
    assert record["phases"]["update"]["attempts"] == 2
    assert record["data"]["packages_before"] == ["a-1"]
    events = [(e["event"], e.get("message")) for e in record["history"] if e["phase"] == "update"]
    assert events == [("begin", None), ("failed", "dnf failed"), ("resume", None)]


def test_complete_needs_the_running_phase():
    record = run_cycle(None, ["prepare"])
    with pytest.raises(us.StateError, match="cannot mark phase 'update' complete"):
        us.apply(record, "update", "complete", "r1")
    same, decision = us.apply(record, "prepare", "complete", "r1")
    assert decision == us.DONE and same == record
    failed = us.apply(us.apply(record, "update", "begin", "r1")[0], "update", "failed", "r1")[0]
    with pytest.raises(us.StateError, match="begin it first"):
        us.apply(failed, "update", "complete", "r1")


def test_apply_does_not_modify_its_input():
    record = run_cycle(None, ["prepare"])
    snapshot = json.dumps(record, sort_keys=True)
    us.apply(record, "update", "begin", "r1", data={"x": 1})
    assert json.dumps(record, sort_keys=True) == snapshot


def params(tmp_path, **kw):
    base = {"path": str(tmp_path / "state" / "master-upgrade.json"), "lock_path": None, "phase": None,
            "state": "query", "run_id": None, "controller": "ctl", "reason": None, "data": None,
            "data_once": None}
    base.update(kw)
    return base


def test_execute_lock_refuses_a_second_run(tmp_path):
    result = us.execute(params(tmp_path, phase="prepare", state="begin", run_id="a"), False)
    assert result["changed"] and result["lock"]["run_id"] == "a" and result["lock"]["pid"] == os.getpid()
    with pytest.raises(us.StateError, match="another upgrade run holds the lock"):
        us.execute(params(tmp_path, phase="prepare", state="begin", run_id="b"), False)
    with pytest.raises(us.StateError, match="run a"):
        us.execute(params(tmp_path, phase="prepare", state="failed", run_id="b"), False)
    result = us.execute(params(tmp_path, phase="prepare", state="complete", run_id="a"), False)
    assert result["lock"] is None and result["result"] == "complete"
    assert not os.path.exists(str(tmp_path / "state" / "master-upgrade.json.lock"))
    result = us.execute(params(tmp_path, phase="update", state="begin", run_id="b"), False)
    assert result["decision"] == us.START


def test_execute_check_mode_writes_nothing_and_diffs(tmp_path):
    result = us.execute(params(tmp_path, phase="prepare", state="begin", run_id="a"), True)
    assert result["changed"] and result["diff"]["before"] == ""
    assert '"phase": "prepare"' in result["diff"]["after"]
    assert not os.path.exists(str(tmp_path / "state"))


def test_execute_idempotent_rerun_of_complete_phase(tmp_path):
    us.execute(params(tmp_path, phase="prepare", state="begin", run_id="a"), False)
    us.execute(params(tmp_path, phase="prepare", state="complete", run_id="a"), False)
    before = (tmp_path / "state" / "master-upgrade.json").read_text()
    result = us.execute(params(tmp_path, phase="prepare", state="begin", run_id="c"), False)
    assert not result["changed"] and result["decision"] == us.DONE
    assert (tmp_path / "state" / "master-upgrade.json").read_text() == before
    assert result["lock"] is None


def test_execute_unlock_and_bad_files(tmp_path):
    us.execute(params(tmp_path, phase="prepare", state="begin", run_id="a"), False)
    result = us.execute(params(tmp_path, state="unlock"), False)
    assert result["changed"] and result["broken_lock"]["run_id"] == "a"
    assert not us.execute(params(tmp_path, state="unlock"), False)["changed"]
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(us.StateError, match="not valid JSON"):
        us.execute(params(tmp_path, path=str(bad)), False)
    bad.write_text('{"phase": "upgrade", "history": []}')
    with pytest.raises(us.StateError, match="unknown phase"):
        us.execute(params(tmp_path, path=str(bad)), False)


def test_acquire_lock_is_exclusive(tmp_path):
    lock = str(tmp_path / "l")
    assert us.acquire_lock(lock, us.lock_owner("a"))
    assert not us.acquire_lock(lock, us.lock_owner("a"))
    with pytest.raises(us.StateError):
        us.acquire_lock(lock, us.lock_owner("b"))
    with pytest.raises(us.StateError):
        us.release_lock(lock, "b")
    assert us.release_lock(lock, "a") and not os.path.exists(lock)


def test_restore_only_forward_and_takes_the_lock(tmp_path):
    us.execute(params(tmp_path, phase="prepare", state="begin", run_id="p"), False)
    snapshot_time = us.execute(params(tmp_path), False)["record"]
    us.execute(params(tmp_path, phase="prepare", state="complete", run_id="p"), False)
    us.execute(params(tmp_path, phase="rollback", state="begin", run_id="r"), False)
    saved = us.execute(params(tmp_path), False)["record"]
    # the snapshot merge brings back the file as it was while prepare ran (lock of run p)
    us.write_record(str(tmp_path / "state" / "master-upgrade.json"), snapshot_time)
    lock = str(tmp_path / "state" / "master-upgrade.json.lock")
    os.unlink(lock)
    us.acquire_lock(lock, us.lock_owner("p"))
    result = us.execute(params(tmp_path, state="restore", record=saved, run_id="r"), False)
    assert result["decision"] == "restored" and result["phase"] == "rollback" and result["lock"]["run_id"] == "r"
    record = us.execute(params(tmp_path), False)["record"]
    assert record["history"][:len(saved["history"])] == saved["history"]
    assert record["history"][-1]["event"] == "restored"
    result = us.execute(params(tmp_path, phase="rollback", state="complete", run_id="r"), False)
    assert result["result"] == "complete"
    with pytest.raises(us.StateError, match="not an earlier state"):
        us.execute(params(tmp_path, state="restore", record=snapshot_time, run_id="r"), False)
