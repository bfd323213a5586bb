"""Hostile values and file contents for the property tests of the master-upgrade modules."""

from __future__ import annotations

import json
import math
import os

from hypothesis import strategies as st

from .master_cases import make_files
from module_harness import run_module, tree_digest

CONTROL = st.sampled_from(["\x00", "\n", "\r", "\x07", "\x1b[31m", "\u2028", "\x7f"])
NAMES = st.one_of(
    st.text(max_size=20),
    st.builds(lambda a, c, b: a + c + b, st.text(max_size=8), CONTROL, st.text(max_size=8)),
    st.sampled_from(["", ".", "..", "../x", "/abs", "a/../../b", "a" * 300, "é", "name\n", " lead", "a b"]),
)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
                    NAMES)
VALUES = st.recursive(
    SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(NAMES, inner, max_size=3)),
    max_leaves=6)

JSON_TEXT = st.one_of(
    st.builds(json.dumps, VALUES.filter(lambda v: not (isinstance(v, float) and math.isnan(v)))),
    st.sampled_from(['{"a": NaN}', '{"a": 1e999}', '{"a": 1, "a": 2}', "[", "{", "", "null", "[]", '"x"', "1",
                     '{"phase": "nope", "result": null, "history": []}',
                     '{"phase": null, "result": null, "history": "x"}',
                     '{"format": 1, "entries": []}', '{"format": 1, "entries": {"../x": {}}}']),
)
FILE_CONTENT = st.one_of(
    st.builds(lambda t: {"text": t}, JSON_TEXT),
    st.builds(lambda b: {"bytes": b}, st.binary(max_size=64)),
    st.just({"dir": True}),
    st.just({"bytes": b"\xff\xfe\x00not utf-8"}),
)


def place(root, rel, content):
    """Write one hostile file (or directory) at root/rel."""
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if os.path.isdir(path) and not os.path.islink(path):
        return
    if os.path.lexists(path):
        os.unlink(path)
    if content.get("dir"):
        os.makedirs(path, exist_ok=True)
    elif "bytes" in content:
        with open(path, "wb") as handle:
            handle.write(content["bytes"])
    else:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(content["text"])


def check_run(main, params, root, fields, check_mode=False, fakes=None):
    """Run ``main``: no traceback; a failure names a field or a file and leaves ``root`` byte-identical."""
    before = tree_digest(root)
    if fakes is None:
        result = run_module(main, params, check_mode=check_mode)
    else:
        with fakes:
            result = run_module(main, params, check_mode=check_mode)
    if result.get("failed"):
        msg = result.get("msg") or ""
        assert msg, result
        assert any(field in msg for field in list(fields) + [root]), "message names no field or file: %r" % msg
        assert tree_digest(root) == before, "a failed run changed the tree: %r" % msg
    if check_mode:
        assert tree_digest(root) == before, "check mode changed the tree"
    return result


__all__ = ["FILE_CONTENT", "JSON_TEXT", "NAMES", "VALUES", "check_run", "make_files", "place"]
