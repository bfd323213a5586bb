"""Local mirror: aptly and dnf reposync snapshots of the fixture repositories, current switched only
when a snapshot verifies, clients installing from it through the repos role; decided with dpkg-query
and rpm -q on the nodes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest

import mirrorlab

APT_HOST = "cmp-1"
RPM_HOST = "master"


@pytest.fixture(scope="module")
def site(lab):
    scratch = mirrorlab.scratch_dir("mirror-tests")
    upstream = mirrorlab.Upstream(lab.state["www"], scratch)
    gnupg, fingerprint = mirrorlab.site_key(scratch)
    root = os.path.join(scratch, "mirror")
    os.makedirs(os.path.join(root, "www"))
    served = mirrorlab.Server(os.path.join(root, "www"))
    yield {"upstream": upstream, "root": root, "url": served.url,
           "vars": mirrorlab.mirror_vars(upstream, root, gnupg, fingerprint)}
    served.stop()
    upstream.server.stop()
    mirrorlab.stop_gpg_agents(scratch)
    lab.reset(APT_HOST, RPM_HOST)


def mirror(lab, site, **extra):
    return mirrorlab.playbook(lab, mirrorlab.mirror_play(dict(site["vars"], **extra)))


def apt_install(lab, *args):
    update = lab.node_run(APT_HOST, ["apt-get", "update", "-q"], check=False)
    assert update.returncode == 0, update.stdout + update.stderr
    return lab.node_run(APT_HOST, ["apt-get", "install", "-y", "-q", "--allow-downgrades"] + list(args), check=False)


def dpkg_version(lab, name):
    proc = lab.node_run(APT_HOST, ["dpkg-query", "-W", "-f", "${Version}", name], check=False)
    return proc.stdout if proc.returncode == 0 else None


def rpm_version(lab, name):
    proc = lab.node_run(RPM_HOST, ["rpm", "-q", "--qf", "%{VERSION}-%{RELEASE}", name], check=False)
    return proc.stdout if proc.returncode == 0 else None


def dnf_install(lab, name):
    return lab.node_run(RPM_HOST, ["dnf", "-y", "-q", "--setopt=metadata_expire=0", "install", name], check=False)


def test_two_snapshots_clients_follow_current(lab, site):
    root = site["root"]
    first = mirror(lab, site)
    assert first.rc == 0, first
    summary = json.load(open(os.path.join(root, "state", "last-run.json"), encoding="utf-8"))
    assert summary["errors"] == [] and summary["switched"] is True
    # vendor 3 + upstream 4 packages in each family, MU record and keys next to them.
    assert summary["packages"] == 14 and summary["bytes"] > 0
    s1 = mirrorlab.current(root)
    assert s1 == summary["snapshot"] and mirrorlab.snapshot_dirs(root) == [s1]
    mu = json.load(open(os.path.join(root, "www", "current", "mcv", "mos", "9.0", "mu-version.json"),
                        encoding="utf-8"))
    assert mu["id"] == 2
    # librepo's keyring agents were stopped: the job leaves no daemon behind
    agents = subprocess.run(["ps", "-eo", "args="], capture_output=True, text=True, check=True).stdout
    assert [line for line in agents.splitlines() if "gpg-agent" in line and root in line] == []
    cron = open(os.path.join(root, "etc", "cron"), encoding="utf-8").read()
    assert "fuel-mirror.py --config %s update" % os.path.join(root, "etc", "config.json") in cron

    clients = mirrorlab.playbook(lab, mirrorlab.point_clients_play(root, site["url"], APT_HOST, RPM_HOST))
    assert clients.rc == 0, clients
    apt_install(lab, "upstream-extra")
    assert dpkg_version(lab, "upstream-extra") == "1.0-1"
    assert dnf_install(lab, "upstream-extra").returncode == 0
    assert rpm_version(lab, "upstream-extra") == "1.0-1"

    # Upstream publishes a new build; the mirror takes a second snapshot and moves current.
    site["upstream"].add_version("upstream-extra", "1.1-1")
    time.sleep(1)
    second = mirror(lab, site)
    assert second.rc == 0, second
    s2 = mirrorlab.current(root)
    assert s2 != s1 and mirrorlab.snapshot_dirs(root) == [s1, s2]
    assert second.task("Run fuel-mirror update")[0]["result"]["changed"] is True
    apt_install(lab, "upstream-extra")
    assert dpkg_version(lab, "upstream-extra") == "1.1-1"
    lab.node_run(RPM_HOST, ["dnf", "-y", "-q", "--setopt=metadata_expire=0", "upgrade", "upstream-extra"])
    assert rpm_version(lab, "upstream-extra") == "1.1-1"
    # The older snapshot is untouched: its index still lists only the first build.
    packages = open(os.path.join(root, "www", "snapshots", s1, "deb", "upstream", "dists", "upstream", "main",
                                 "binary-amd64", "Packages"), encoding="utf-8").read()
    assert "1.1-1" not in packages and "Version: 1.0-1" in packages


def test_broken_upstream_file_leaves_current_and_clients(lab, site):
    root = site["root"]
    before = mirrorlab.current(root)
    assert before, "needs the snapshots of the test before"
    files = site["upstream"].add_version("upstream-extra", "1.2-1", corrupt=True)
    time.sleep(1)
    run = mirror(lab, site)
    assert run.rc != 0
    summary = json.load(open(os.path.join(root, "state", "last-run.json"), encoding="utf-8"))
    assert summary["errors"] and summary["switched"] is False
    assert mirrorlab.current(root) == before and summary["snapshot"] not in mirrorlab.snapshot_dirs(root)
    apt_install(lab, "upstream-extra")
    assert dpkg_version(lab, "upstream-extra") == "1.1-1"
    site["upstream"].remove_version(files)


def test_killed_run_leaves_current_then_next_run_and_rollback(lab, site):
    root = site["root"]
    before = mirrorlab.current(root)
    snapshots_before = mirrorlab.snapshot_dirs(root)
    site["upstream"].add_version("upstream-extra", "1.3-1")
    server = site["upstream"].server.httpd
    server.stalled.clear()
    server.flowing.clear()
    time.sleep(1)
    proc = subprocess.Popen(["/usr/bin/python3", os.path.join(root, "bin", "fuel-mirror.py"), "--config",
                             os.path.join(root, "etc", "config.json"), "update"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        assert server.stalled.wait(60), "the mirror run never asked for a package"
        # A second run meanwhile (cron firing again) finds the lock and leaves at once.
        rc, summary, _err = mirrorlab.script(root, "update")
        assert rc == 75 and summary.get("locked") is True
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        server.flowing.set()
    assert mirrorlab.current(root) == before
    apt_install(lab, "upstream-extra")
    assert dpkg_version(lab, "upstream-extra") == "1.1-1"

    # The next run removes the interrupted snapshot and completes.
    time.sleep(1)
    rc, summary, err = mirrorlab.script(root, "update")
    assert rc == 0, err
    after = mirrorlab.current(root)
    assert after != before and mirrorlab.snapshot_dirs(root) == sorted(snapshots_before + [after])[-3:]
    apt_install(lab, "upstream-extra")
    assert dpkg_version(lab, "upstream-extra") == "1.3-1"
    lab.node_run(RPM_HOST, ["dnf", "-y", "-q", "--setopt=metadata_expire=0", "upgrade", "upstream-extra"])
    assert rpm_version(lab, "upstream-extra") == "1.3-1"

    # Rollback: the packages of the snapshot before published again (dated now, so APT takes them).
    run = mirror(lab, site, mirror_action="rollback")
    assert run.rc == 0, run
    restored = mirrorlab.current(root)
    assert restored not in (before, after)
    record = json.load(open(os.path.join(root, "www", "current", ".complete.json"), encoding="utf-8"))
    assert record["content"] == before and record["rollback_from"] == after

    def packages(snapshot):
        return open(os.path.join(root, "www", "snapshots", snapshot, "deb", "upstream", "dists", "upstream", "main",
                                 "binary-amd64", "Packages"), encoding="utf-8").read()
    assert packages(restored) == packages(before) != packages(after)
    apt_install(lab, "upstream-extra=1.1-1")
    assert dpkg_version(lab, "upstream-extra") == "1.1-1"
    policy = lab.node_run(APT_HOST, ["apt-cache", "madison", "upstream-extra"]).stdout
    assert "1.3-1" not in policy and "1.1-1" in policy
    assert lab.node_run(RPM_HOST, ["dnf", "-y", "-q", "--setopt=metadata_expire=0", "downgrade",
                                   "upstream-extra"], check=False).returncode == 0
    assert rpm_version(lab, "upstream-extra") == "1.1-1"
    available = lab.node_run(RPM_HOST, ["dnf", "-q", "--setopt=metadata_expire=0", "list", "--available",
                                        "--showduplicates", "upstream-extra"], check=False).stdout
    assert "1.3-1" not in available
    listing = mirrorlab.script(root, "list")[1]
    assert listing["current"] == restored and after in listing["snapshots"]
