# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""mu_apply under hostile options and hostile record files: no traceback; on failure only its own record changes.

Every command answers with a failure, so a run that passes validation stops at the
package database; the tree must then be as before except the node's record of the
failed attempt (state/last-run.json) and its lock file.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from unittest import mock

from hypothesis import example, given, settings, strategies as st

from ansible.module_utils import basic
from ansible_collections.fuel.lifecycle.plugins.module_utils import _mu_apply
from ansible_collections.fuel.lifecycle.plugins.modules import mu_apply
from module_harness import run_module, tree_digest

TEXT = st.one_of(st.text(max_size=30), st.sampled_from(["", "..", "../x", "a\nb", "x\x00", "/" + "n" * 300,
                                                        "http://m/x y", "http://m/ok", "é\u2028", "-o"]))
ANY = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(-2 ** 40, 2 ** 40), TEXT),
                   lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(TEXT, inner, max_size=3)),
                   max_leaves=6)
RECORD_FILE = st.one_of(st.none(), st.binary(max_size=80), st.sampled_from([
    b"[]", b"{}", b"{\"id\": -1, \"title\": \"t\", \"timestamp\": 1}", b"{\"id\": 1, \"title\": \"\", \"timestamp\": 1}",
    b"{\"id\": NaN}", b"\xff\xfe", b"DIR", b"{\"id\": 1, \"title\": \"t\", \"timestamp\": 1}"]))
ALLOWED_AFTER_FAILURE = {"state", "state/last-run.json", "state/node.lock"}


def _failing_command(*args, **kwargs):
    return 1, "", "command failed (test)"


@settings(max_examples=40, deadline=None)
@given(repos=st.one_of(st.lists(st.dictionaries(st.sampled_from(["uri", "suite", "section", "signed_by", "x"]), ANY,
                                                max_size=4), max_size=2), ANY),
       health=ANY, service_map=ANY, order=ANY, numbers=st.tuples(*[st.integers(-5, 10 ** 6)] * 4),
       record=st.one_of(st.none(), st.dictionaries(TEXT, ANY, max_size=4)), record_file=RECORD_FILE,
       paths=st.lists(TEXT, max_size=2))
@example(repos=[{"uri": "http://m/x", "suite": "s"}], health={}, service_map={}, order=[], numbers=(1, 1, 1, 1),
         record={"id": 2, "title": "t", "timestamp": 1}, record_file=b"DIR", paths=[])
@example(repos=[{"uri": "http://m/x", "suite": "s"}], health={"svc": [{"command": "not a list"}]}, service_map={},
         order=[], numbers=(1, 1, 1, 1), record=None, record_file=None, paths=[])
def test_hostile(repos, health, service_map, order, numbers, record, record_file, paths):
    root = tempfile.mkdtemp()
    try:
        os.makedirs(root + "/etc")
        if record_file == b"DIR":
            os.makedirs(root + "/etc/mu.json")
        elif record_file is not None:
            with open(root + "/etc/mu.json", "wb") as handle:
                handle.write(record_file)
        params = {"record": record if record is not None else {"id": 2, "title": "t", "timestamp": 1},
                  "package_manager": "apt", "record_path": root + "/etc/mu.json", "fact_path": root + "/etc/f.fact",
                  "state_dir": root + "/state", "apt_sources_file": root + "/etc/mu.list",
                  "apt_pin_file": root + "/etc/mu.pref", "apt_repos": repos, "health_checks": health,
                  "service_map": service_map, "restart_order": order, "min_free_mb": numbers[0],
                  "lock_timeout": numbers[1] % 3, "health_retries": numbers[2], "health_delay": numbers[3],
                  "free_space_paths": paths or [root]}
        before = tree_digest(root)
        with mock.patch.object(basic.AnsibleModule, "run_command", side_effect=_failing_command), \
                mock.patch.object(_mu_apply, "stale_services", return_value=[]), \
                mock.patch.object(_mu_apply, "services_using", return_value=[]), \
                mock.patch.object(_mu_apply, "wait_for_package_manager", return_value=0.0):
            result = run_module(mu_apply.main, params)
        assert result.get("failed"), result  # every command fails: no run can succeed
        assert result["msg"], result
        # AnsibleModule's own type checks name the argument; everything after names the step
        assert result.get("failed_step") or any(w in result["msg"] for w in ("argument", "option")), result
        after = tree_digest(root)
        differ = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
        assert differ <= ALLOWED_AFTER_FAILURE, (differ, result["msg"])
        if result.get("failed_step", "input") == "input":
            assert not differ, differ
    finally:
        shutil.rmtree(root)
