"""Scenario g: a command filling a snapshot is stopped before the snapshot overflows (real LVM in the VM).

A writer fills a 16 MiB snapshot of a scratch LV one MiB at a time (60 MiB
in all, which would overflow it). ``snapshot_guard`` stops the writer above
the 80 % threshold: the snapshot stays valid and merging it brings the LV
back to its content before the writer, byte for byte.
"""

from __future__ import annotations

import time

import pytest

from vmfixture import members, play, result

pytestmark = pytest.mark.vm

SNAP = {"name": "guarded", "volumes": [{"vg": "os", "lv": "guardtest", "size": "16M"}]}

# The scratch LV and the fixed command that writes into it, paced.
LV = "guardtest"
WRITER = ["sh", "-c", "i=0; while [ $i -lt 60 ]; do dd if=/dev/urandom of=/dev/os/guardtest bs=1M count=1 seek=$i "
          "conv=notrunc oflag=direct status=none; echo $i; i=$((i+1)); sleep 0.2; done"]


def test_guard_stops_the_writer_before_the_snapshot_overflows(vm):
    started = time.monotonic()
    with vm.scratch_lv(LV):
        before = vm.lv_digest(LV)
        run = vm.playbook(play([
            {"name": "Take", "fuel.lifecycle.lvm_snapshot": SNAP},
            {"name": "Refuse a threshold of 100", "fuel.lifecycle.snapshot_guard": {
                "name": "guarded", "argv": ["touch", "/var/tmp/guard-must-not-run"], "fill_threshold": 100},
             "ignore_errors": True},
            {"name": "Refuse an empty command", "fuel.lifecycle.snapshot_guard": {"name": "guarded", "argv": []},
             "ignore_errors": True},
            {"name": "Write under the guard", "fuel.lifecycle.snapshot_guard": {
                "name": "guarded", "argv": WRITER, "fill_threshold": 80, "interval": 0.5, "grace": 10},
             "ignore_errors": True},
            {"name": "Check", "fuel.lifecycle.lvm_snapshot": {"name": "guarded", "state": "checked",
                                                              "fill_threshold": 99}},
            {"name": "Guard again, set above the threshold", "fuel.lifecycle.snapshot_guard": {
                "name": "guarded", "argv": ["touch", "/var/tmp/guard-must-not-run"], "fill_threshold": 50},
             "ignore_errors": True},
        ]))
        assert run.rc == 0, run
        assert "fill_threshold: must be below 100" in result(run, "Refuse a threshold of 100")["result"]["msg"]
        assert result(run, "Refuse an empty command")["result"]["msg"] == "argv: the command is empty"
        stopped = result(run, "Write under the guard")
        assert stopped["status"] == "ignored", stopped
        guard = stopped["result"]
        assert "above the 80.0% threshold" in guard["aborted"] and "still valid" in guard["msg"]
        written = len(guard["stdout"].split())
        assert 8 <= written < 60, "the writer was not stopped in time: %d MiB written" % written
        peak = guard["peak_fill"]["os/guardtest_guarded_snap"]
        assert 80 < peak < 100
        [snapshot] = result(run, "Check")["result"]["snapshots"]
        assert snapshot["valid"] is True and snapshot["fill_percent"] < 100
        refused = result(run, "Guard again, set above the threshold")
        assert refused["status"] == "ignored" and "not sound" in refused["result"]["msg"]
        assert vm.run(["test", "-e", "/var/tmp/guard-must-not-run"], check=False).returncode == 1

        vm.run(["lvchange", "-an", "os/guardtest"])
        run = vm.playbook(play([
            {"name": "Revert", "fuel.lifecycle.lvm_snapshot": {"name": "guarded", "state": "reverted"}}]))
        assert run.rc == 0, run
        vm.run(["lvchange", "-ay", "os/guardtest"])
        run = vm.playbook(play([{"name": "Finish", "fuel.lifecycle.lvm_snapshot": {
            "name": "guarded", "state": "absent", "merge_timeout": 300}}]))
        assert run.rc == 0, run
        assert members(vm, "guarded") == []
        assert vm.lv_digest(LV) == before
    vm.record("scenario g (snapshot guard)", time.monotonic() - started)
