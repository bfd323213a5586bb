"""Scenario e: creating a snapshot set twice changes nothing the second time (real LVM in the VM)."""

from __future__ import annotations

import time

import pytest

from vmfixture import members, play, result

pytestmark = pytest.mark.vm

VOLUMES = [{"vg": "os", "lv": "var", "size": "64M"}, {"vg": "os", "lv": "varlog", "size": "10%ORIGIN"}]
SNAP = {"name": "twice", "volumes": VOLUMES}


def test_create_twice_second_run_unchanged(vm):
    started = time.monotonic()
    run = vm.playbook(play([
        {"name": "Create in check mode", "fuel.lifecycle.lvm_snapshot": SNAP, "check_mode": True},
        {"name": "Create", "fuel.lifecycle.lvm_snapshot": SNAP},
        {"name": "Create again", "fuel.lifecycle.lvm_snapshot": SNAP},
        {"name": "List", "fuel.lifecycle.lvm_snapshot": {"name": "twice", "state": "listed"}},
    ]))
    assert run.rc == 0, run
    checked = result(run, "Create in check mode")["result"]
    assert checked["changed"] is True and len(checked["commands"]) == 2 and checked["snapshots"] == []
    first = result(run, "Create")["result"]
    second = result(run, "Create again")["result"]
    assert first["changed"] is True and len(first["created"]) == 2
    assert second["changed"] is False and second["created"] == []
    assert sorted(s["name"] for s in second["snapshots"]) == sorted(s["name"] for s in first["snapshots"])
    listed = {s["origin"]: s for s in result(run, "List")["result"]["snapshots"]}
    # 10% of the 200 MiB varlog LV is 20 MiB: five 4 MiB extents.
    assert listed["varlog"]["size_bytes"] == 20 * 1024 ** 2 and listed["var"]["size_bytes"] == 64 * 1024 ** 2
    assert all(s["valid"] for s in listed.values())
    on_disk = members(vm, "twice")
    assert sorted(lv["origin"] for lv in on_disk) == ["var", "varlog"]
    assert all("fuel_snapset_twice_n2" in lv["lv_tags"] for lv in on_disk)
    cleanup = vm.playbook(play([{"name": "Remove", "fuel.lifecycle.lvm_snapshot": {"name": "twice", "state": "absent"}}]))
    assert cleanup.rc == 0, cleanup
    assert members(vm, "twice") == []
    vm.record("scenario e (create twice)", time.monotonic() - started)
