"""Scenario c: a set larger than the VG's free space fails with a per-VG report, nothing created."""

from __future__ import annotations

import time

import pytest

from vmfixture import play, result

pytestmark = pytest.mark.vm


def test_more_than_free_space_creates_nothing(vm):
    started = time.monotonic()
    before = sorted(lv["lv_name"] for lv in vm.lvs())
    # Each volume alone fits in the ~1 GiB free; together they do not.
    volumes = [{"vg": "os", "lv": "root", "size": "700M"}, {"vg": "os", "lv": "var", "size": "100%ORIGIN"}]
    run = vm.playbook(play([
        {"name": "Too big", "block": [
            {"name": "Create a set larger than the free space",
             "fuel.lifecycle.lvm_snapshot": {"name": "toobig", "volumes": volumes}}],
         "rescue": [{"name": "Failed as expected", "ansible.builtin.debug": {"msg": "refused"}}]},
    ]))
    assert run.rc == 0, run
    failed = result(run, "Create a set larger than the free space")
    assert failed["status"] == "failed"
    msg = failed["result"]["msg"]
    assert "not enough free space" in msg and "nothing was created" in msg and "VG os needs 1200.0 MiB" in msg
    report = failed["result"]["preflight"]
    assert report[0]["vg"] == "os" and report[0]["ok"] is False
    assert report[0]["required_bytes"] == 1200 * 1024 ** 2 and report[0]["short_bytes"] > 0
    assert sorted(lv["lv_name"] for lv in vm.lvs()) == before
    vm.record("scenario c (free space)", time.monotonic() - started)
