"""Scenario a: snapshot root + var + varlog, back up /boot, change everything, roll back, reboot.

After the reboot every changed file, the package database and /boot are
identical to before (checksums), the kernel that was running still runs
(GRUB booted it from the restored /boot; the replaced one would not boot),
and no snapshot LV remains.
"""

from __future__ import annotations

import time

import pytest

from vmfixture import members, play, result

pytestmark = pytest.mark.vm

VOLUMES = [{"vg": "os", "lv": "root", "size": "256M"}, {"vg": "os", "lv": "var", "size": "128M"},
           {"vg": "os", "lv": "varlog", "size": "64M"}]

# Fixed test scripts (no data from outside the test): a fingerprint of what the rollback must restore.
FINGERPRINT = r"""
cd /boot
find . -path ./lost+found -prune -o -type f -print | LC_ALL=C sort | xargs -d '\n' sha256sum
find . -type l -printf '%p -> %l\n' | LC_ALL=C sort
echo "kernel $(uname -r)"
sha256sum /etc/motd /etc/hostname /usr/bin/rsync /var/lib/dpkg/status /var/log/dpkg.log 2>&1 || true
dpkg-query -W -f '${Package} ${Version} ${Status}\n' | sha256sum
ls /var/lib/dpkg/info | sha256sum
for f in /usr/local/bin/rollback-probe /var/tmp/rollback-probe /var/log/rollback-probe; do
  test -e "$f" && echo "present $f" || echo "absent $f"
done
"""

# The upgrade that goes wrong: files on all three LVs, the package database, a replaced kernel + initramfs.
CHANGES = r"""
version=$(uname -r)
echo 'changed by the failed upgrade' >> /etc/motd
echo probe > /usr/local/bin/rollback-probe
echo probe > /var/tmp/rollback-probe
echo probe > /var/log/rollback-probe
dpkg --purge rsync > /dev/null
head -c 3000000 /dev/urandom > "/boot/vmlinuz-$version"
head -c 9000000 /dev/urandom > "/boot/initrd.img-$version"
cp "/boot/vmlinuz-$version" /boot/vmlinuz-9.9.9-broken
echo '# edited by the failed upgrade' >> /boot/grub/grub.cfg
grub-editenv /boot/grub/grubenv set saved_entry=broken
sync
"""


def test_rollback_restores_lvs_and_boot_and_old_kernel_boots(vm):
    started = time.monotonic()
    before = vm.script(FINGERPRINT).stdout
    assert "present" not in before and "/usr/bin/rsync" in before
    kernel = vm.run(["uname", "-r"]).stdout.strip()
    run = vm.playbook(play([
        {"name": "Back up /boot first", "fuel.lifecycle.boot_backup": {"state": "backed_up"}},
        {"name": "Take the snapshot set", "fuel.lifecycle.lvm_snapshot": {"name": "upgrade", "volumes": VOLUMES}},
    ]))
    assert run.rc == 0, run
    assert result(run, "Back up /boot first")["result"]["changed"] is True
    assert len(result(run, "Take the snapshot set")["result"]["created"]) == 3

    vm.script(CHANGES)
    changed = vm.script(FINGERPRINT).stdout
    assert changed != before and "present /var/log/rollback-probe" in changed
    assert "No such file" in changed  # rsync is gone

    run = vm.playbook(play([
        {"name": "Restore /boot", "fuel.lifecycle.boot_backup": {"state": "restored"}},
        {"name": "Revert the snapshot set", "fuel.lifecycle.lvm_snapshot": {"name": "upgrade", "state": "reverted"}},
        {"name": "Revert again", "fuel.lifecycle.lvm_snapshot": {"name": "upgrade", "state": "reverted"}},
    ]), diff=True)
    assert run.rc == 0, run
    restore = result(run, "Restore /boot")["result"]
    assert restore["changed"] is True
    assert "vmlinuz-%s" % kernel in restore["differences"]["changed"]
    assert "vmlinuz-9.9.9-broken" in restore["differences"]["extra"]
    revert = result(run, "Revert the snapshot set")["result"]
    assert revert["changed"] is True and len(revert["merged"]) == 3 and revert["reboot_required"] is True
    again = result(run, "Revert again")["result"]
    assert again["changed"] is False and again["reboot_required"] is True

    vm.reboot(scenario="rollback of root, var and varlog (test_vm_rollback)")

    # The merge runs in the kernel after the activation; state=absent has LVM poll it, waits, then
    # removes what is left of the set.
    run = vm.playbook(play([
        {"name": "Wait for the merges", "fuel.lifecycle.lvm_snapshot": {
            "name": "upgrade", "state": "absent", "merge_timeout": 900}},
    ]))
    assert run.rc == 0, run
    waited = result(run, "Wait for the merges")["result"]
    vm.record("scenario a: merges still running after the boot: %d" % len(waited["merges_finished"]), 0)
    assert members(vm, "upgrade") == [], "LVs of the set remain after the merge"
    after = vm.script(FINGERPRINT).stdout
    assert after == before
    assert vm.run(["uname", "-r"]).stdout.strip() == kernel
    assert "BOOT_IMAGE=/vmlinuz-%s" % kernel in vm.run(["cat", "/proc/cmdline"]).stdout
    assert vm.run(["dpkg-query", "-W", "-f", "${Status}", "rsync"]).stdout == "install ok installed"

    run = vm.playbook(play([
        {"name": "Verify /boot", "fuel.lifecycle.boot_backup": {"state": "verified"}},
        {"name": "Remove the set again", "fuel.lifecycle.lvm_snapshot": {"name": "upgrade", "state": "absent"}},
    ]))
    assert run.rc == 0, run
    assert result(run, "Verify /boot")["result"]["matches_source"] is True
    assert result(run, "Remove the set again")["result"]["changed"] is False
    vm.record("scenario a (rollback incl. reboot)", time.monotonic() - started)
