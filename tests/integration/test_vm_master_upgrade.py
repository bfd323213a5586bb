"""The master upgrade in the qemu VM: real dnf/rpm, real LVM snapshots and merge, real reboot.

One VM boot (the session's ``vm`` fixture) and one reboot:

1. failure path: prepare (boot backup + snapshot set of os/root, os/var,
   os/varlog, services stopped) -> update that fails midway (a package whose
   pre-install scriptlet fails) -> rollback (restore /boot, merge, reboot) ->
   the RPM database, /etc and /boot are byte-identical to before prepare
   (checked here independently of the role) -> finalize brings services back;
2. full path on the same VM: prepare -> update -> commit -> finalize: the
   vendor base repository holds exactly the whitelist, nailgun is disabled,
   whitelisted packages stay vendor, the others move upstream, the renamed
   package is swapped, no snapshot remains, services run.

The VM reaches the chroot lab's HTTP mirror through qemu's host alias 10.0.2.2.
"""

from __future__ import annotations

import json
import os
import time

import pytest
import yaml

from labfixture import REPO
from vmfixture import HOST, members

pytestmark = pytest.mark.vm

PLAYBOOK = "playbooks/master_upgrade.yml"
VARS_FILE = "tests/integration/vars/master_upgrade_chroot.yml"
VM_VARS_FILE = "tests/integration/vars/master_upgrade_vm.yml"
SET = "master-upgrade"

# Fixed test script: what the rollback must bring back, byte for byte.
FINGERPRINT = r"""
rpm -qa --qf '%{NAME} %{EPOCHNUM}:%{VERSION}-%{RELEASE}.%{ARCH}\n' | LC_ALL=C sort | sha256sum
ls /var/lib/rpm | LC_ALL=C sort | sha256sum
cd /etc && find . -path ./resolv.conf -prune -o -path ./adjtime -prune -o -path ./mtab -prune -o \
  -path ./lvm/backup -prune -o -path ./lvm/archive -prune -o \
  -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum
cd /boot && find . -path ./lost+found -prune -o -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum
"""


@pytest.fixture(scope="module")
def master_vm(vm, lab):
    """The session VM made a deployed master, served by the chroot lab's mirror."""
    vm.lab("vm-master", "--mirror-state", lab.state_dir)
    with open(vm.inventory, encoding="utf-8") as handle:
        vm.mirror = yaml.safe_load(handle)["all"]["vars"]["fuel_lab_mirror_url"]
    return vm


def phase(vm, name, **extra):
    """One phase with the chroot host's variables and the VM's on top (both files, then the extras)."""
    started = time.monotonic()
    extra_vars = dict({"phase": name, "fuel_master_hosts": HOST,
                       "master_upgrade_report_dir": os.path.join(vm.state_dir, "reports")}, **extra)
    run = vm.playbook(PLAYBOOK, args=["-e", "@" + os.path.join(REPO, VARS_FILE),
                                      "-e", "@" + os.path.join(REPO, VM_VARS_FILE), "-e", json.dumps(extra_vars)])
    vm.record("master upgrade phase %s (rc %d)" % (name, run.rc), time.monotonic() - started)
    return run


def versions(vm):
    out = vm.run(["rpm", "-qa", "--qf", "%{NAME} %{VERSION}-%{RELEASE}\n"]).stdout
    return dict(line.split() for line in out.splitlines() if line.startswith("master-"))


def service(vm, name):
    return vm.run(["cat", "/var/lib/fuel-lab/services/" + name]).stdout.strip()


def state(vm):
    return json.loads(vm.run(["cat", "/var/lib/fuel-lifecycle/master-upgrade.json"]).stdout)


def test_failed_update_rolls_back(master_vm):
    vm = master_vm
    broken = {"type": "rpm", "name": "broken", "class": "upstream", "uri": vm.mirror + "/rpm/master-broken/",
              "gpgkey": vm.mirror + "/keys/RPM-GPG-KEY-fuel-lab"}
    before = vm.script(FINGERPRINT).stdout
    kernel = vm.run(["uname", "-r"]).stdout.strip()

    run = phase(vm, "prepare")
    assert run.rc == 0, run
    assert len(members(vm, SET)) == 3
    assert service(vm, "rsyslog") == "stopped"

    run = phase(vm, "update", master_upgrade_extra_repos=[broken])
    assert run.rc != 0 and "phase=rollback" in run.output, run
    assert (state(vm)["phase"], state(vm)["result"]) == ("update", "failed")
    assert vm.script(FINGERPRINT).stdout != before  # the update changed the host before it failed

    run = phase(vm, "rollback")
    assert run.rc == 0, run
    assert members(vm, SET) == []
    assert vm.script(FINGERPRINT).stdout == before
    assert vm.run(["uname", "-r"]).stdout.strip() == kernel
    record = state(vm)
    assert (record["phase"], record["result"]) == ("rollback", "complete")
    # the merge reverted the state file too; the role wrote the record back before completing
    assert [e["event"] for e in record["history"]][-2:] == ["restored", "complete"]

    run = phase(vm, "commit")
    assert run.rc != 0 and "phase 'commit' refused: current phase is 'rollback' (complete)" in run.output, run
    run = phase(vm, "finalize")
    assert run.rc == 0, run
    assert service(vm, "rsyslog") == "running"


def test_full_path_commits(master_vm):
    """Runs after the failure path on the same VM: a new upgrade cycle."""
    vm = master_vm
    before_versions = versions(vm)
    for name in ("prepare", "update", "commit", "finalize"):
        run = phase(vm, name)
        assert run.rc == 0, (name, run)
    after = versions(vm)
    assert after["master-nailgun-app"] == before_versions["master-nailgun-app"] == "9.0-0mos1"
    assert (after["master-openssl"], after["master-coreutils"]) == ("1.0.2-5", "8.4-9")
    assert after["master-docker-tools"] == "1.1-1" and "master-dockerctl-tools" not in after
    base = vm.run(["ls", "/var/www/nailgun/mos9.0-base"]).stdout.split()
    assert base == ["master-lab-services-1.0-1.noarch.rpm", "master-nailgun-app-9.0-0mos1.noarch.rpm", "repodata"]
    assert "enabled=0" in vm.run(["cat", "/etc/yum.repos.d/nailgun.repo"]).stdout
    assert members(vm, SET) == []
    assert vm.run(["test", "-e", "/var/lib/fuel-lifecycle/boot-backup/boot.tar"], check=False).returncode != 0
    assert service(vm, "rsyslog") == "running" and service(vm, "monit") == "running"
    assert (state(vm)["phase"], state(vm)["result"]) == ("finalize", "complete")
    # the update ran under the snapshot guard: the fill of every member was sampled during it
    assert sorted(state(vm)["data"]["snapshot_peak_fill"]) == [
        "os/root_master-upgrade_snap", "os/var_master-upgrade_snap", "os/varlog_master-upgrade_snap"]
