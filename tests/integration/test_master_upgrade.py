"""Master node upgrade on the chroot RPM host: real dnf/rpm, createrepo_c, HTTP repositories.

The host has no LVM and no /boot of its own, so these runs take no snapshots
(tests/integration/vars/master_upgrade_chroot.yml); the VM test proves the
snapshot and reboot parts. What is proven here: the phase order and the lock,
the vendor base repository built from the whitelist, the repository set,
the full update (whitelisted packages stay vendor, others move upstream),
the repository copy for the containers and their rebuild, services, checks,
resumable failure and the final report.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
import time

import pytest

from labfixture import REPO
from master_lab import HOST, make_master

PLAYBOOK = "playbooks/master_upgrade.yml"
VARS = "@tests/integration/vars/master_upgrade_chroot.yml"
STATE = "/var/lib/fuel-lifecycle/master-upgrade.json"
BASE = "/var/www/nailgun/mos9.0-base"


@pytest.fixture(scope="module", autouse=True)
def deployed_state_afterwards(lab):
    yield
    lab.reset(HOST)


def phase(lab, name, report_dir=None, check=False, **extra):
    extra_vars = dict(extra, phase=name)
    if report_dir:
        extra_vars["master_upgrade_report_dir"] = str(report_dir)
    return lab.playbook(PLAYBOOK, extra_vars=extra_vars, limit=HOST, check=check, diff=check, args=("-e", VARS))


def versions(lab):
    out = lab.node_run(HOST, ["rpm", "-qa", "--qf", "%{NAME} %{VERSION}-%{RELEASE}\n"]).stdout
    return dict(line.split() for line in out.splitlines() if line.startswith("master-"))


def host_digest(lab):
    """Bytes and modes of what the phases manage on the host, and its package database (rpm -qa)."""
    digest = {}
    for top in ("/etc", "/var/www/nailgun", "/var/lib/fuel-lifecycle", "/var/lib/fuel-lab"):
        root = lab.root(HOST) + top
        for base, dirs, files in os.walk(root):
            dirs.sort()
            for name in sorted(dirs + files):
                path = os.path.join(base, name)
                info = os.lstat(path)
                if stat.S_ISREG(info.st_mode):
                    with open(path, "rb") as handle:
                        content = hashlib.sha256(handle.read()).hexdigest()
                elif stat.S_ISLNK(info.st_mode):
                    content = os.readlink(path)
                else:
                    content = ""
                rel = os.path.relpath(path, lab.root(HOST))
                digest[rel] = (stat.S_IFMT(info.st_mode), info.st_mode & 0o7777, content)
    digest["rpm -qa"] = sorted(lab.node_run(HOST, ["rpm", "-qa"]).stdout.split())
    return digest


def state(lab):
    return json.loads(lab.read(HOST, STATE))


def service(lab, name):
    return lab.read(HOST, "/var/lib/fuel-lab/services/" + name).strip()


def test_full_path_prepare_update_commit_finalize(lab, tmp_path):
    make_master(lab)
    before = versions(lab)
    repos_before = sorted(os.listdir(lab.root(HOST) + "/etc/yum.repos.d"))

    run = phase(lab, "update")
    assert run.rc != 0 and "phase 'update' refused: no upgrade has run on this host" in run.output, run

    run = phase(lab, "prepare", check=True)
    assert run.rc == 0, run
    assert not os.path.exists(lab.root(HOST) + STATE)
    assert service(lab, "rsyslog") == "running"

    run = phase(lab, "prepare")
    assert run.rc == 0, run
    assert (service(lab, "rsyslog"), service(lab, "monit")) == ("stopped", "stopped")
    assert state(lab)["data"]["services_stopped"] == ["monit", "rsyslog"]
    assert not os.path.exists(lab.root(HOST) + STATE + ".lock")
    digest = host_digest(lab)
    rerun = phase(lab, "prepare")
    assert rerun.rc == 0 and rerun.changed_hosts() == [] and "phase prepare is already complete" in rerun.output
    assert host_digest(lab) == digest  # the rerun changed no byte and no mode

    run = phase(lab, "commit")
    assert run.rc != 0 and "phase 'commit' refused: current phase is 'prepare' (complete)" in run.output, run

    run = phase(lab, "update")
    assert run.rc == 0, run
    after = versions(lab)
    # the vendor base repository holds exactly the whitelist, and wins over upstream
    assert sorted(os.listdir(lab.root(HOST) + BASE)) == [
        "master-lab-services-1.0-1.noarch.rpm", "master-nailgun-app-9.0-0mos1.noarch.rpm", "repodata"]
    assert after["master-nailgun-app"] == before["master-nailgun-app"] == "9.0-0mos1"
    # the others move to the upstream snapshot repositories
    assert (after["master-openssl"], after["master-coreutils"]) == ("1.0.2-5", "8.4-9")
    # the renamed package is swapped
    assert after["master-docker-tools"] == "1.1-1" and "master-dockerctl-tools" not in after
    nailgun = lab.read(HOST, "/etc/yum.repos.d/nailgun.repo")
    assert "enabled=0" in nailgun
    assert "priority=10" in lab.read(HOST, "/etc/yum.repos.d/mos9.0-base.repo")
    # the original repository directory is kept for the containers, which were rebuilt with it
    assert sorted(os.listdir(lab.root(HOST) + "/etc/yum.repos.d.nailgun")) == repos_before
    assert "enabled=1" in lab.read(HOST, "/etc/yum.repos.d.nailgun/nailgun.repo")
    assert "-v /etc/yum.repos.d.nailgun:/etc/yum.repos.d:ro" in lab.read(HOST, "/var/lib/fuel-lab/dockerctl/containers")
    assert lab.read(HOST, "/var/lib/fuel-lab/dockerctl/calls").splitlines() == ["destroy all", "build all", "check"]
    changes = state(lab)["data"]["package_changes"]
    assert sorted(c["name"] for c in changes["changed"]) == ["master-coreutils", "master-openssl"]

    digest = host_digest(lab)
    rerun = phase(lab, "update")
    assert rerun.rc == 0 and rerun.changed_hosts() == [], rerun
    assert versions(lab) == after and host_digest(lab) == digest

    assert phase(lab, "commit").rc == 0
    digest = host_digest(lab)
    rerun = phase(lab, "commit")
    assert rerun.rc == 0 and rerun.changed_hosts() == [], rerun
    assert host_digest(lab) == digest
    run = phase(lab, "rollback")
    assert run.rc != 0 and "phase 'rollback' refused: current phase is 'commit' (complete)" in run.output, run

    run = phase(lab, "finalize", report_dir=tmp_path)
    assert run.rc == 0, run
    assert (service(lab, "rsyslog"), service(lab, "monit")) == ("running", "running")
    report = json.loads((tmp_path / "master-upgrade-master-1.json").read_text())
    assert report["outcome"] == "committed" and report["package_changes"]["count"] == 4
    assert [p["name"] for p in report["package_changes"]["removed"]] == ["master-dockerctl-tools"]
    assert report["swaps"][0]["install"] == ["master-docker-tools"]
    assert [report["phases"][p]["result"] for p in ("prepare", "update", "commit", "finalize")] == ["complete"] * 4
    markdown = (tmp_path / "master-upgrade-master-1.md").read_text()
    assert "| master-openssl | 0:1.0.2-1.noarch | 0:1.0.2-5.noarch |" in markdown
    rerun = phase(lab, "finalize", report_dir=tmp_path / "rerun")
    assert rerun.rc == 0 and (service(lab, "rsyslog"), service(lab, "monit")) == ("running", "running")
    assert [line for line in rerun.output.splitlines()
            if line.startswith("changed") and "-> localhost]" not in line] == [], rerun
    record = state(lab)
    assert [(e["phase"], e["event"]) for e in record["history"]] == [
        ("prepare", "begin"), ("prepare", "complete"), ("update", "begin"), ("update", "complete"),
        ("commit", "begin"), ("commit", "complete"), ("finalize", "begin"), ("finalize", "complete")]


def test_failed_update_is_resumable_and_rollback_after_prepare(lab, tmp_path):
    make_master(lab)
    broken = {"type": "rpm", "name": "broken", "class": "upstream", "uri": lab.mirror_url + "/rpm/master-broken/",
              "gpgkey": lab.mirror_url + "/keys/RPM-GPG-KEY-fuel-lab"}
    assert phase(lab, "prepare").rc == 0
    for attempt in (1, 2):
        run = phase(lab, "update", master_upgrade_extra_repos=[broken])
        assert run.rc != 0 and "run phase=update again to resume or phase=rollback" in run.output, run
        record = state(lab)
        assert (record["phase"], record["result"]) == ("update", "failed")
        assert record["phases"]["update"]["attempts"] == attempt
        assert "Update every package" in record["phases"]["update"]["message"]
    assert versions(lab)["master-zz-scriptlet"] == "1.0-1"
    run = phase(lab, "commit")
    assert run.rc != 0 and "current phase is 'update' (failed)" in run.output, run
    # without snapshots (chroot host) the rollback refuses to call the host restored
    run = phase(lab, "rollback")
    assert run.rc != 0 and "no snapshot set was taken" in run.output, run
    assert state(lab)["result"] == "failed"

    # prepare then rollback: nothing changed, so the verification passes and finalize restarts services;
    # decided by the host itself: its package database and /etc as before prepare
    make_master(lab)
    before = host_digest(lab)
    assert phase(lab, "prepare").rc == 0
    run = phase(lab, "rollback")
    assert run.rc == 0, run
    after = host_digest(lab)
    assert after["rpm -qa"] == before["rpm -qa"]
    assert {k: v for k, v in after.items() if k.startswith("etc/")} == {
        k: v for k, v in before.items() if k.startswith("etc/")}
    assert state(lab)["data"]["rollback"]["package_differences"]["count"] == 0
    run = phase(lab, "finalize", report_dir=tmp_path)
    assert run.rc == 0, run
    assert service(lab, "monit") == "running"
    assert json.loads((tmp_path / "master-upgrade-master-1.json").read_text())["outcome"] == "rolled back"


def test_second_concurrent_run_is_refused(lab):
    make_master(lab)
    env = dict(lab.env, ANSIBLE_NOCOLOR="1")
    argv = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
            "-i", lab.inventory, PLAYBOOK, "-e", VARS, "-e", "phase=prepare", "--limit", HOST,
            "-e", '{"master_upgrade_service_stop_command": ["sleep", "3"]}']
    first = subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.time() + 60
        while not os.path.exists(lab.root(HOST) + STATE + ".lock") and time.time() < deadline:
            time.sleep(0.2)
        assert os.path.exists(lab.root(HOST) + STATE + ".lock"), "the first run never took the lock"
        second = phase(lab, "prepare")
        assert second.rc != 0 and "another upgrade run holds the lock" in second.output, second
    finally:
        out, _err = first.communicate(timeout=120)
    assert first.returncode == 0, out
    record = state(lab)
    assert (record["phase"], record["result"]) == ("prepare", "complete")
    assert [e["event"] for e in record["history"]] == ["begin", "complete"]
