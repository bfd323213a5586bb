# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""env_lock under hostile options and hostile lock/history files: no traceback, nothing written on failure."""

from __future__ import annotations

import os
import shutil
import tempfile

from hypothesis import example, given, settings, strategies as st

from ansible_collections.fuel.lifecycle.plugins.modules import env_lock
from module_harness import run_module, tree_digest

TEXT = st.one_of(st.text(max_size=40), st.sampled_from(["", " ", "a\nb", "x\x00y", "../x", "r" * 300, "é\u2028"]))
CONTENT = st.one_of(
    st.binary(max_size=200),
    st.sampled_from([b"", b"[]", b"null", b"{\"owner\": 1}", b"{\"a\": NaN}", b"{\"a\": 1, \"a\": 2}",
                     b"\xff\xfe", b"{\"events\": {}}", b"{\"events\": [1]}", b"1e999999", b"DIR"]))


def _place(path, content):
    if content is None:
        return
    if content == b"DIR":
        os.makedirs(path)
        return
    with open(path, "wb") as handle:
        handle.write(content)


@settings(max_examples=150, deadline=None)
@given(owner=TEXT, run_id=TEXT, scope=TEXT, state=st.sampled_from(["present", "absent"]), force=st.booleans(),
       pid=st.one_of(st.none(), st.integers(min_value=-5, max_value=2 ** 40)),
       lock_content=st.one_of(st.none(), CONTENT), history_content=st.one_of(st.none(), CONTENT),
       use_history=st.booleans(), name=st.sampled_from(["env.lock", "x" * 300, "sub/env.lock"]))
@example(owner="ops", run_id="r1", scope="", state="present", force=False, pid=None, lock_content=b"DIR",
         history_content=None, use_history=False, name="env.lock")
@example(owner="ops", run_id="r1", scope="", state="present", force=True, pid=None, lock_content=b"[]",
         history_content=b"{\"events\": {}}", use_history=True, name="env.lock")
@example(owner="", run_id="", scope="\x00", state="present", force=False, pid=None, lock_content=None,
         history_content=None, use_history=False, name="env.lock")
def test_hostile(owner, run_id, scope, state, force, pid, lock_content, history_content, use_history, name):
    root = tempfile.mkdtemp()
    try:
        lock = os.path.join(root, name)
        history = os.path.join(root, "history.json")
        if len(name) < 255:
            os.makedirs(os.path.dirname(lock), exist_ok=True)
            _place(lock, lock_content)
        _place(history, history_content)
        params = {"path": lock, "owner": owner, "run_id": run_id, "scope": scope, "state": state, "force": force,
                  "controller_pid": pid, "history_path": history if use_history else ""}
        before = tree_digest(root)
        result = run_module(env_lock.main, params)
        if result.get("failed"):
            assert result["msg"], result
            assert tree_digest(root) == before, result
            # a NUL in any option is refused by AnsibleModule itself (its syslog line), naming the options
            assert any(word in result["msg"] for word in (
                "path", "owner", "run_id", "scope", "controller_pid", "history", lock, "locked by",
                "null character")), result
    finally:
        shutil.rmtree(root)
