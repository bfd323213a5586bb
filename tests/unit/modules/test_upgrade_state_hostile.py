"""upgrade_state under hostile options and state/lock files: no traceback, the field or file named, nothing written."""

from __future__ import annotations

import os
import shutil
import tempfile

from hypothesis import example, given, settings, strategies as st

from ansible_collections.fuel.lifecycle.plugins.modules import upgrade_state
from .master_hostile import FILE_CONTENT, NAMES, VALUES, check_run, place

FIELDS = ["path", "lock_path", "phase", "state", "run_id", "controller", "reason", "data", "data_once", "record",
          "state file", "lock file"]


@settings(max_examples=50, deadline=None)
@given(state=st.sampled_from(["begin", "complete", "failed", "query", "unlock", "restore", "bogus"]),
       phase=st.one_of(st.sampled_from(["prepare", "update", "rollback", "recover"]), NAMES),
       run_id=st.one_of(st.none(), NAMES), reason=st.one_of(st.none(), NAMES), data=st.one_of(st.none(), VALUES),
       record=st.one_of(st.none(), VALUES), state_file=st.one_of(st.none(), FILE_CONTENT),
       lock_file=st.one_of(st.none(), FILE_CONTENT), check_mode=st.booleans())
@example(state="begin", phase="prepare", run_id="r", reason=None, data={"x": float("nan")}, record=None,
         state_file=None, lock_file=None, check_mode=False)
@example(state="begin", phase="prepare", run_id="r", reason=None, data=None, record=None,
         state_file={"text": '{"phase": null, "result": null, "history": [], "phases": {"prepare": 1}}'},
         lock_file=None, check_mode=False)
@example(state="restore", phase="prepare", run_id="r", reason=None, data=None,
         record={"phase": "prepare", "history": 5}, state_file=None, lock_file=None, check_mode=False)
def test_hostile(state, phase, run_id, reason, data, record, state_file, lock_file, check_mode):
    root = tempfile.mkdtemp()
    try:
        if state_file:
            place(root, "s.json", state_file)
        if lock_file:
            place(root, "s.json.lock", lock_file)
        params = {"path": os.path.join(root, "s.json"), "state": state, "phase": phase, "run_id": run_id,
                  "reason": reason, "data": data, "record": record}
        check_run(upgrade_state.main, dict((k, v) for k, v in params.items() if v is not None), root, FIELDS,
                  check_mode=check_mode)
    finally:
        shutil.rmtree(root)
