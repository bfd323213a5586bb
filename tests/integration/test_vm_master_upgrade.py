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
import subprocess
import threading
import time

import pytest

from labfixture import REPO
from vmfixture import HOST, members

pytestmark = pytest.mark.vm

PLAYBOOK = "playbooks/master_upgrade.yml"
VARS_FILE = "tests/integration/vars/master_upgrade_chroot.yml"
VM_VARS_FILE = "tests/integration/vars/master_upgrade_vm.yml"
SET = "master-upgrade"
MIB = 1024 ** 2

# Fixed test script: what the rollback must bring back, byte for byte.
FINGERPRINT = r"""
rpm -qa --qf '%{NAME} %{EPOCHNUM}:%{VERSION}-%{RELEASE}.%{ARCH}\n' | LC_ALL=C sort | sha256sum
ls /var/lib/rpm | LC_ALL=C sort | sha256sum
cd /etc && find . -path ./resolv.conf -prune -o -path ./adjtime -prune -o -path ./mtab -prune -o \
  -path ./lvm/backup -prune -o -path ./lvm/archive -prune -o \
  -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum
cd /boot && find . -path ./lost+found -prune -o -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum
"""


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


# ---- overflow during the update: rollback refused before anything, recover forward ----------------------

# Three packages of the test's own repository, 1.0 installed first, 1.1 offered; the 1.1 builds of the
# other two require master-aa-bulky 1.1, so rpm installs it first. Its %post writes 96 MiB to /var (more than
# its 32 MiB snapshot) at once, then keeps the transaction running and ignores SIGTERM: with the guard sampling
# every 20 s the snapshot overflows between two samples (the case of issue 19), and the guard's SIGKILL after
# its grace period stops rpm inside the transaction. (Without the trap, rpm defers SIGTERM to the end of the
# transaction and completes it: seen in the VM.)
RECOVER_PACKAGES = ("master-aa-bulky", "master-ab-small", "master-zz-tail")
BULKY_POST = ("trap '' TERM; if [ ! -e /var/lib/fuel-lab/bulk ]; then mkdir -p /var/lib/fuel-lab; "
              "dd if=/dev/zero of=/var/lib/fuel-lab/bulk bs=1M count=96 conv=fsync status=none; sleep 90; fi")
OVERFLOW_VOLUMES = [{"vg": "os", "lv": "root", "size": "200M", "receives": ["installed"]},
                    {"vg": "os", "lv": "var", "size": "32M", "receives": ["download"]},
                    {"vg": "os", "lv": "varlog", "size": "64M"}]
BOOT_SUMS = r"""
cd /boot && find . -path ./lost+found -prune -o -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
"""


def recover_repo(vm, tmp_path, slow_post=None):
    """Build the test's packages on the host, install the 1.0 builds in the VM, serve the 1.1 builds there.

    ``slow_post``: package name -> %post of its 1.1 build (a transaction that takes a while)."""
    from lab import fixtures  # the lab's own RPM builder  # pylint: disable=import-outside-toplevel
    out = tmp_path / "rpms"
    out.mkdir()
    for name in RECOVER_PACKAGES:
        for version in ("1.0-1", "1.1-1"):
            build = {"name": name, "version": version, "summary": "recover scenario package",
                     "files": {"/usr/share/fuel-lab/%s.version" % name: "{version}\n"}}
            if name == "master-aa-bulky" and version == "1.1-1":
                build["scripts"] = {"postinst": BULKY_POST}
            elif version == "1.1-1":
                build["depends"] = ["master-aa-bulky >= 1.1-1"]
            if version == "1.1-1" and name in (slow_post or {}):
                build["scripts"] = {"postinst": slow_post[name]}
            fixtures.build_rpm(build, str(tmp_path / "work"), str(out))
    rpms = sorted(p for p in out.rglob("*.rpm"))
    tar = subprocess.run(["tar", "-C", str(out), "-cf", "-"] + [str(p.relative_to(out)) for p in rpms],
                         capture_output=True, check=True).stdout
    proc = subprocess.run(vm.ssh_argv() + ["rm -rf /srv/fuel-lab/recover && mkdir -p /srv/fuel-lab/recover/in "
                                           "/srv/fuel-lab/recover/repo && tar -C /srv/fuel-lab/recover/in -xf -"],
                          input=tar, capture_output=True, check=False, timeout=300)
    assert proc.returncode == 0, proc.stderr
    vm.script(r"""
cd /srv/fuel-lab/recover
find in -name '*-1.1-1.*.rpm' -exec cp {} repo/ \;
createrepo_c --quiet repo
rpm -U --oldpackage --replacepkgs $(find in -name '*-1.0-1.*.rpm')
""")
    return {"type": "rpm", "name": "recover-lab", "class": "upstream", "uri": "file:///srv/fuel-lab/recover/repo/",
            "gpgcheck": False}


def recover_versions(vm):
    out = vm.run(["rpm", "-q", "--qf", "%{NAME} %{VERSION}-%{RELEASE}\n"] + list(RECOVER_PACKAGES),
                 check=False).stdout
    found = {}
    for line in out.splitlines():
        name, _sep, version = line.partition(" ")
        found.setdefault(name, []).append(version)
    return {name: sorted(found.get(name, [])) for name in RECOVER_PACKAGES}


class Sampler(threading.Thread):
    """Samples the VM while a phase runs: the dnf process (pid, ppid, session) and the fill of the set in lvs."""

    def __init__(self, vm, period=4.0):
        threading.Thread.__init__(self, daemon=True)
        self.vm, self.period, self.samples, self.stop = vm, period, [], threading.Event()

    def run(self):
        while not self.stop.is_set():
            proc = self.vm.run(["sh", "-c", "ps -eo pid=,ppid=,sid=,args= | grep '[d]nf .*upgrade'; echo ==; "
                                "lvs --noheadings -o lv_name,lv_attr,data_percent -S 'lv_tags=fuel_snapset_master-upgrade'"],
                               check=False, timeout=60)
            if proc.returncode == 0:
                procs, _sep, lvs = proc.stdout.partition("==")
                self.samples.append({"time": time.monotonic(), "procs": procs.strip().splitlines(),
                                     "lvs": [line.split() for line in lvs.strip().splitlines()]})
            self.stop.wait(self.period)


def sampled(vm, name, **extra):
    sampler = Sampler(vm)
    sampler.start()
    try:
        run = phase(vm, name, **extra)
    finally:
        sampler.stop.set()
        sampler.join(120)
    return run, sampler.samples


def guarded_dnf(samples):
    """dnf processes seen that lead their own session (the guard's setsid); an unguarded command would not."""
    seen = []
    for sample in samples:
        for line in sample["procs"]:
            pid, ppid, sid = (int(field) for field in line.split()[:3])
            if pid == sid:
                seen.append((pid, ppid))
    return seen


def test_overflow_refuses_rollback_then_recover_commits(master_vm, tmp_path):
    """#19: small snapshot overflow during update -> rollback refused before /boot is touched -> recover."""
    vm = master_vm
    extra_repo = recover_repo(vm, tmp_path)
    assert recover_versions(vm) == {name: ["1.0-1"] for name in RECOVER_PACKAGES}
    settings = {"master_upgrade_extra_repos": [extra_repo], "master_upgrade_snapshot_volumes": OVERFLOW_VOLUMES,
                "master_upgrade_snapshot_watch_interval": 20}
    run = phase(vm, "prepare", **settings)
    assert run.rc == 0, run
    sizes = {lv["lv_name"]: int(lv["lv_size"]) for lv in vm.lvs() if lv["lv_name"].endswith("_master-upgrade_snap")}
    assert sizes == {"root_master-upgrade_snap": 200 * MIB, "var_master-upgrade_snap": 32 * MIB,
                     "varlog_master-upgrade_snap": 64 * MIB}, sizes

    run, samples = sampled(vm, "update", **settings)
    assert run.rc != 0, run
    assert "a rollback is impossible" in run.output and "still valid" not in run.output, run.output[-3000:]
    assert guarded_dnf(samples), "dnf never seen leading its own session (the guard's): %r" % samples
    on_disk = {lv["origin"]: lv for lv in members(vm, SET)}
    assert on_disk["var"]["lv_attr"][4] == "I", on_disk  # lvs says: invalid
    half = recover_versions(vm)
    assert half != {name: ["1.1-1"] for name in RECOVER_PACKAGES}, half  # stopped inside the transaction
    assert vm.run(["pgrep", "-x", "dnf"], check=False).returncode == 1, "dnf still running after the guard stopped it"

    boot_before = vm.script(BOOT_SUMS).stdout
    run = phase(vm, "rollback", **settings)
    assert run.rc != 0 and "the rollback is impossible and nothing was changed" in run.output, run
    assert "phase=recover" in run.output, run
    assert vm.script(BOOT_SUMS).stdout == boot_before  # /boot untouched
    assert all(lv["lv_attr"][0] == "s" for lv in members(vm, SET)), "nothing may be merging"
    record = state(vm)
    assert (record["phase"], record["result"]) == ("rollback", "failed") and record["data"]["rollback_impossible"]
    for refused in ("update", "commit"):
        run = phase(vm, refused, **settings)
        assert run.rc != 0 and "allowed now: recover" in run.output, (refused, run)

    run = phase(vm, "recover", **settings)
    assert run.rc == 0, run
    assert recover_versions(vm) == {name: ["1.1-1"] for name in RECOVER_PACKAGES}
    assert vm.run(["dnf", "--quiet", "check"], check=False).returncode == 0
    assert members(vm, SET) == []
    assert vm.run(["test", "-e", "/var/lib/fuel-lifecycle/boot-backup/boot.tar"], check=False).returncode != 0
    assert service(vm, "rsyslog") == "running" and service(vm, "monit") == "running"
    record = state(vm)
    assert (record["phase"], record["result"]) == ("recover", "complete")
    rerun = phase(vm, "recover", **settings)
    assert rerun.rc == 0 and "phase recover is already complete" in rerun.output, rerun
    vm.run(["rm", "-f", "/var/lib/fuel-lab/bulk"])
