"""Scenario f: a merge the kernel ran but LVM never polled (what the early-boot activation leaves).

The initramfs activates the root and /var volumes with ``--sysinit`` (``--poll n``):
the kernel merges the snapshot, but LVM keeps showing it as merging until
something polls. This reproduces that on a scratch LV without a reboot
(deactivate, merge, activate with ``--poll n``) and proves ``state=absent``
refuses without waiting, then polls, waits and leaves the origin with the
snapshot's content and no member of the set.
"""

from __future__ import annotations

import time

import pytest

from vmfixture import members, play, result

pytestmark = pytest.mark.vm

SNAP = {"name": "polled", "volumes": [{"vg": "os", "lv": "mergetest", "size": "32M"}]}

# The scratch LV and the fixed script of the change the merge must undo.
LV = "mergetest"
CHANGE = "dd if=/dev/urandom of=/dev/os/mergetest bs=1M count=24 status=none\nsync\nlvchange -an os/mergetest\n"


def test_absent_polls_the_merge_activation_left_unpolled(vm):
    started = time.monotonic()
    with vm.scratch_lv(LV):
        before = vm.lv_digest(LV)
        run = vm.playbook(play([{"name": "Take", "fuel.lifecycle.lvm_snapshot": SNAP}]))
        assert run.rc == 0, run
        vm.script(CHANGE)
        run = vm.playbook(play([{"name": "Revert", "fuel.lifecycle.lvm_snapshot": {
            "name": "polled", "state": "reverted"}}]))
        assert run.rc == 0, run
        # the activation as the initramfs does it: the kernel merges, nobody polls
        vm.run(["lvchange", "-ay", "--poll", "n", "os/mergetest"])
        assert "snapshot-merge" in vm.run(["dmsetup", "table", "/dev/mapper/os-mergetest"]).stdout
        time.sleep(3)
        assert [lv["lv_name"] for lv in members(vm, "polled")] == ["[mergetest_polled_snap]"]

        run = vm.playbook(play([
            {"name": "Remove without waiting", "fuel.lifecycle.lvm_snapshot": {
                "name": "polled", "state": "absent", "merge_timeout": 0}, "ignore_errors": True},
            {"name": "Remove in check mode", "fuel.lifecycle.lvm_snapshot": {
                "name": "polled", "state": "absent"}, "check_mode": True},
            {"name": "Remove", "fuel.lifecycle.lvm_snapshot": {
                "name": "polled", "state": "absent", "merge_timeout": 300}},
            {"name": "Remove again", "fuel.lifecycle.lvm_snapshot": {"name": "polled", "state": "absent"}},
        ]))
        assert run.rc == 0, run
        refused = result(run, "Remove without waiting")
        assert refused["status"] == "ignored" and "into its origin is running" in refused["result"]["msg"]
        planned = result(run, "Remove in check mode")["result"]
        assert planned["changed"] is True and planned["commands"] == [["vgchange", "--poll", "y", "os"]]
        done = result(run, "Remove")["result"]
        assert done["changed"] is True and done["merges_finished"] == ["os/mergetest_polled_snap"]
        assert result(run, "Remove again")["result"]["changed"] is False
        assert members(vm, "polled") == []
        assert "linear" in vm.run(["dmsetup", "table", "/dev/mapper/os-mergetest"]).stdout
        assert vm.lv_digest(LV) == before
    vm.record("scenario f (unpolled merge)", time.monotonic() - started)
