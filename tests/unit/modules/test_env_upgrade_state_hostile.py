# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""env_upgrade_state under hostile options and hostile record files: never a traceback; a
failure names the option or the file and leaves the scratch tree byte-identical."""

from __future__ import annotations

import json
import os

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from module_harness import run_module, tree_digest

from ansible_collections.fuel.lifecycle.plugins.modules.env_upgrade_state import main

OPTIONS = ("path", "state", "env", "owner", "target_release", "nodes", "node", "node_status", "node_ready", "busy",
           "release", "operation", "reason", "force", "lock_timeout")
HOSTILE_TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", " ", "..", "../etc", "a/b", "x" * 300, "ok\n", "tab\there", "\x00", "\u2028", "é", "10.0",
                     "ctrl-1", "-rf", "ready", "error"]),
)
VALUE = st.one_of(HOSTILE_TEXT, st.integers(min_value=-2**70, max_value=2**70), st.floats(allow_nan=True),
                  st.booleans(), st.none(), st.lists(HOSTILE_TEXT, max_size=3),
                  st.dictionaries(HOSTILE_TEXT, HOSTILE_TEXT, max_size=2))
NODE = st.one_of(
    st.fixed_dictionaries({"name": HOSTILE_TEXT}, optional={
        "group": VALUE, "status": VALUE, "busy": VALUE, "release": VALUE, "extra": VALUE}),
    VALUE)
PARAMS = st.fixed_dictionaries(
    {"state": st.sampled_from(["query", "guard", "begin", "node", "release", "finish", "abort", "bogus"])},
    optional={
        "env": VALUE, "owner": VALUE, "target_release": VALUE, "nodes": st.one_of(st.lists(NODE, max_size=4), VALUE),
        "node": VALUE, "node_status": st.one_of(st.sampled_from(["upgrading", "done", "failed"]), VALUE),
        "node_ready": VALUE, "busy": VALUE, "release": VALUE, "operation": VALUE, "reason": VALUE,
        "force": VALUE, "lock_timeout": st.sampled_from([0.2, 1, "x", -1]),
    })
GOOD_RECORD = {"format": 1, "env": "1", "status": "upgrade", "target_release": "10.0", "since": "2026-12-01T00:00:00Z",
               "begun_by": "run-a", "release": "9.0", "run": {"owner": "run-a", "since": "2026-12-01T00:00:00Z"},
               "nodes": {"ctrl-1": {"status": "pending", "order": 0, "group": "controller", "since": "x"},
                         "cmp-1": {"status": "failed", "order": 1, "group": "compute", "since": "x"}},
               "history": []}
JSON_VALUE = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                                    st.text(max_size=10)),
                          lambda inner: (st.lists(inner, max_size=3)
                                         | st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                          max_leaves=8)


def mutated_record():
    keys = sorted(GOOD_RECORD)
    return st.builds(lambda key, value: dict(GOOD_RECORD, **{key: value}), st.sampled_from(keys), JSON_VALUE)


CONTENT = st.one_of(
    st.none(),
    st.just("directory"),
    st.binary(max_size=64),
    st.just(b"\xff\xfe not utf-8"),
    st.just(json.dumps(GOOD_RECORD).encode()[:-7]),            # truncated
    st.just(b'{"format": NaN}'),
    st.just(b'{"format": 1, "format": 1}'),                    # duplicate key
    st.just(("[" * 5000 + "]" * 5000).encode()),               # deep nesting
    st.just(json.dumps(GOOD_RECORD).encode()),
    JSON_VALUE.map(lambda v: json.dumps(v).encode()),
    mutated_record().map(lambda v: json.dumps(v).encode()),
)


def lay_out(root, content):
    path = os.path.join(root, "state", "env-upgrade.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if content == "directory":
        os.makedirs(path)
    elif content is not None:
        with open(path, "wb") as handle:
            handle.write(content)
    return path


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(params=PARAMS, content=CONTENT)
@example(params={"state": "begin", "env": "1", "owner": "a", "target_release": "10.0",
                 "nodes": [{"name": "n", "busy": "x"}]}, content=None)
@example(params={"state": "node", "owner": "run-a", "node": "ctrl-1", "node_status": "upgrading",
                 "node_ready": "\n"}, content=json.dumps(GOOD_RECORD).encode())
@example(params={"state": "guard"}, content=json.dumps(dict(GOOD_RECORD, nodes={"a": {"status": "done",
                                                                                      "order": True}})).encode())
@example(params={"state": "query"}, content=("[" * 5000 + "]" * 5000).encode())
def test_hostile(tmp_path_factory, params, content):
    root = str(tmp_path_factory.mktemp("host"))
    path = lay_out(root, content)
    before = tree_digest(root)
    result = run_module(main, dict(params, path=path))
    if result.get("failed"):
        assert tree_digest(root) == before, result
        msg = result.get("msg", "")
        assert msg, result
        named = [option for option in OPTIONS if option in msg] + ["refused"] if "refused" in msg else \
            [option for option in OPTIONS if option in msg]
        assert named or path in msg or "Unsupported parameters" in msg or "value of" in msg, msg
    else:
        assert isinstance(result.get("changed"), bool)
