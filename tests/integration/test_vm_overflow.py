"""Scenario d: a snapshot overflowed by writes is reported invalid, and revert refuses to merge."""

from __future__ import annotations

import time

import pytest

from vmfixture import members, play, result

pytestmark = pytest.mark.vm

VOLUMES = [{"vg": "os", "lv": "var", "size": "64M"}, {"vg": "os", "lv": "varlog", "size": "8M"}]


def expect_failure(name, module_args):
    return {"name": "Expect failure: " + name, "block": [{"name": name, "fuel.lifecycle.lvm_snapshot": module_args}],
            "rescue": [{"name": "Failed as expected: " + name, "ansible.builtin.debug": {"msg": "refused"}}]}


def test_overflowed_snapshot_is_invalid_and_revert_refuses(vm):
    started = time.monotonic()
    run = vm.playbook(play([{"name": "Create", "fuel.lifecycle.lvm_snapshot": {"name": "ovf", "volumes": VOLUMES}}]))
    assert run.rc == 0, run
    # 32 MiB of new data on /var/log overflows its 8 MiB snapshot.
    vm.run(["dd", "if=/dev/urandom", "of=/var/log/overflow-probe", "bs=1M", "count=32", "conv=fsync", "status=none"])
    run = vm.playbook(play([
        {"name": "List", "fuel.lifecycle.lvm_snapshot": {"name": "ovf", "state": "listed"}},
        expect_failure("Check", {"name": "ovf", "state": "checked"}),
        expect_failure("Revert", {"name": "ovf", "state": "reverted"}),
    ]))
    assert run.rc == 0, run
    listed = {s["origin"]: s for s in result(run, "List")["result"]["snapshots"]}
    assert listed["varlog"]["valid"] is False and listed["var"]["valid"] is True
    check = result(run, "Check")
    assert check["status"] == "failed" and "os/varlog_ovf_snap (snapshot of varlog) is invalid" in check["result"]["msg"]
    revert = result(run, "Revert")
    assert revert["status"] == "failed"
    assert "refusing to revert" in revert["result"]["msg"] and "nothing was merged" in revert["result"]["msg"]
    on_disk = {lv["origin"]: lv for lv in members(vm, "ovf")}
    assert on_disk["varlog"]["lv_attr"][4] == "I"
    assert all(lv["lv_attr"][0] == "s" for lv in on_disk.values()), "no member may be merging"
    assert vm.run(["test", "-f", "/var/log/overflow-probe"]).returncode == 0
    cleanup = vm.playbook(play([{"name": "Remove", "fuel.lifecycle.lvm_snapshot": {"name": "ovf", "state": "absent"}}]))
    assert cleanup.rc == 0, cleanup
    assert members(vm, "ovf") == []
    vm.run(["rm", "-f", "/var/log/overflow-probe"])
    vm.record("scenario d (overflow)", time.monotonic() - started)
