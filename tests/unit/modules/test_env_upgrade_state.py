# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""env_upgrade_state: the module's real main() over the cases of env_upgrade_state.yaml."""

from __future__ import annotations

import json
import os

import pytest
import yaml

from module_harness import run_module, tree_digest

from ansible_collections.fuel.lifecycle.plugins.modules.env_upgrade_state import main

with open(os.path.join(os.path.dirname(__file__), "env_upgrade_state.yaml"), encoding="utf-8") as handle:
    CASES = yaml.safe_load(handle)["cases"]


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_case(case, tmp_path):
    root = tmp_path / "host"
    root.mkdir()
    path = root / "env-upgrade.json"
    if "record" in case:
        path.write_text(json.dumps(case["record"]))
    if "raw" in case:
        path.write_text(case["raw"])
    for index, step in enumerate(case["steps"]):
        where = "%s, step %d (%s)" % (case["name"], index, step["params"].get("state"))
        before = tree_digest(str(root))
        params = dict(step["params"], path=str(path))
        result = run_module(main, params, check_mode=step.get("check_mode", False), diff=step.get("diff", False))
        expect = step["expect"]
        assert bool(result.get("failed")) == expect.get("failed", False), (where, result)
        for key in ("changed", "status", "todo", "counts", "release", "history_length"):
            if key in expect:
                assert result.get(key) == expect[key], (where, key, result)
        if "run" in expect:
            assert result.get("run") == expect["run"], (where, result)
        if "refused" in expect:
            assert bool(result.get("refused")) == expect["refused"], (where, result)
        text = result.get("msg") or result.get("message") or ""
        for words in expect.get("msg", []):
            assert words in text, (where, words, text)
        if expect.get("path_in_msg"):
            assert str(path) in text, (where, text)
        for node, status in (expect.get("nodes") or {}).items():
            assert result["nodes"][node]["status"] == status, (where, node, result["nodes"])
        if expect.get("diff"):
            assert '"status": "upgrade"' in result["diff"]["after"] and result["diff"]["before"] == ""
        if expect.get("same_tree"):
            assert tree_digest(str(root)) == before, where
        if result.get("failed"):
            assert tree_digest(str(root)) == before, (where, "a failed request changed files")


def test_written_record_is_sorted_json_mode_0644(tmp_path):
    path = tmp_path / "s" / "env-upgrade.json"
    result = run_module(main, {"path": str(path), "state": "begin", "env": "1", "owner": "a",
                               "target_release": "10.0", "nodes": [{"name": "n1"}]})
    assert result["changed"] is True
    text = path.read_text()
    assert json.loads(text)["nodes"]["n1"]["status"] == "pending"
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"
    assert os.stat(path).st_mode & 0o777 == 0o644
