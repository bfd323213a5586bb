# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""needs_restart's real main() driven by needs_restart.yaml over a fake /proc and host root."""

from __future__ import annotations

import os
from unittest import mock

import pytest
import yaml
from ansible.module_utils import basic

from module_harness import run_module, tree_digest

from ansible_collections.fuel.lifecycle.plugins.module_utils import _needs_restart as nr
from ansible_collections.fuel.lifecycle.plugins.modules import needs_restart
from modules.test_package_swap import ScriptCommands

CASES = yaml.safe_load(open(os.path.join(os.path.dirname(__file__), "needs_restart.yaml"), encoding="utf-8"))["cases"]


def subst(value, root):
    if isinstance(value, str):
        return value.replace("{root}", root)
    if isinstance(value, list):
        return [subst(v, root) for v in value]
    if isinstance(value, dict):
        return {k: subst(v, root) for k, v in value.items()}
    return value


def build(tmp, case):
    """tmp/root (the host), tmp/other (another root), tmp/proc (the process table)."""
    root, other, proc = (os.path.join(tmp, name) for name in ("root", "other", "proc"))
    for path in (root, other, proc):
        os.makedirs(path)
    for rel, content in (case.get("host") or {}).items():
        path = os.path.join(root, rel)
        if isinstance(content, dict):
            os.makedirs(path, exist_ok=True)
            continue
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(content)
    for pid, info in (case.get("processes") or {}).items():
        directory = os.path.join(proc, str(pid))
        os.makedirs(directory)
        files = {"maps": "".join(line + "\n" for line in info.get("maps", [])), "cgroup": info.get("cgroup", ""),
                 "stat": "%s (%s) S %s %s %s 0 -1 4194560 100 0 0 0 1 1 0 0 20 0 1 0 100 1000 10\n"
                         % (pid, info["comm"], info["ppid"], pid, pid)}
        for name, text in files.items():
            with open(os.path.join(directory, name), "w", encoding="utf-8") as handle:
                handle.write(text)
        os.symlink(other if info.get("root") == "other" else root, os.path.join(directory, "root"))
        os.symlink(info.get("exe", "/usr/bin/%s" % info["comm"]), os.path.join(directory, "exe"))
    return root, proc


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_case(case, tmp_path):
    root, proc = build(str(tmp_path), case)
    before = tree_digest(str(tmp_path))
    commands = ScriptCommands([(argv, (r["rc"], r["out"], r["err"])) for argv, r in case.get("commands", [])])
    bins = {"needrestart": None, "needs-restarting": None}
    bins.update(case.get("bins") or {})
    recorded = list(commands.expected)
    warnings = []
    with mock.patch.object(nr, "PROC", proc), mock.patch.object(nr, "ROOT", root), \
            mock.patch.object(basic.AnsibleModule, "warn", lambda self, text, **kw: warnings.append(text)), \
            mock.patch.object(nr, "running_kernel", lambda: case["kernel"]), commands.patched(bins=bins):
        result = run_module(needs_restart.main, subst(case["params"], root), check_mode=case.get("check_mode", False))
        # second run (read-only module): the same answer, nothing written
        commands.expected = list(recorded)
        again = run_module(needs_restart.main, subst(case["params"], root), check_mode=case.get("check_mode", False))
    assert again == result
    expect = case["expect"]
    assert tree_digest(str(tmp_path)) == before
    assert bool(result.get("failed")) is bool(expect.get("failed", False)), result
    if expect.get("failed"):
        assert expect["msg"] in result["msg"]
        return
    assert result["changed"] is False and result["kernel_running"] == case["kernel"]
    for key in ("systemd", "reboot_required", "kernel_newest", "service_names", "tool"):
        if key in expect:
            assert result[key] == expect[key], (key, result)
    if "services" in expect:
        assert [{k: s[k] for k in ("name", "manager", "pids", "files")} for s in result["services"]] == \
            expect["services"]
    if "managers" in expect:
        assert {s["name"]: s["manager"] for s in result["services"]} == expect["managers"]
    if "process_services" in expect:
        assert {p["pid"]: p["service"] for p in result["processes"]} == \
            {int(k): v for k, v in expect["process_services"].items()}
    if "process_files" in expect:
        assert {p["pid"]: p["files"] for p in result["processes"]} == \
            {int(k): v for k, v in expect["process_files"].items()}
    if "warning" in expect:
        assert any(expect["warning"] in text for text in warnings), warnings
