"""Scenario b: create a set, change files, commit: the snapshots are gone, the changes stay."""

from __future__ import annotations

import time

import pytest

from vmfixture import members, play, result

pytestmark = pytest.mark.vm

VOLUMES = [{"vg": "os", "lv": lv, "size": "64M"} for lv in ("root", "var", "varlog")]
FILES = {"/root/commit-probe": "root LV\n", "/var/tmp/commit-probe": "var LV\n", "/var/log/commit-probe": "varlog LV\n"}


def test_commit_removes_snapshots_and_keeps_changes(vm):
    started = time.monotonic()
    tasks = [{"name": "Create", "fuel.lifecycle.lvm_snapshot": {"name": "commit", "volumes": VOLUMES}}]
    tasks += [{"name": "Change %s" % path, "ansible.builtin.copy": {"dest": path, "content": content, "mode": "0644"}}
              for path, content in FILES.items()]
    tasks += [{"name": "Commit", "fuel.lifecycle.lvm_snapshot": {"name": "commit", "state": "absent"}},
              {"name": "Commit again", "fuel.lifecycle.lvm_snapshot": {"name": "commit", "state": "absent"}}]
    run = vm.playbook(play(tasks))
    assert run.rc == 0, run
    assert len(result(run, "Create")["result"]["created"]) == 3
    commit = result(run, "Commit")["result"]
    assert commit["changed"] is True and len(commit["removed"]) == 3
    assert result(run, "Commit again")["result"]["changed"] is False
    assert members(vm, "commit") == []
    for path, content in FILES.items():
        assert vm.run(["cat", path]).stdout == content
    vm.run(["rm", "-f"] + list(FILES))
    vm.record("scenario b (commit)", time.monotonic() - started)
