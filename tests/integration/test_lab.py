"""The lab itself: real sshd per node, fixture repositories served and signed, clean reset."""

from __future__ import annotations

import json
import subprocess
import urllib.request

from lab.common import mounts_under, processes_rooted_in
from labfixture import Lab


def test_every_node_answers_over_ssh(lab):
    run = lab.playbook([{"hosts": "all", "gather_facts": False,
                         "tasks": [{"name": "ping", "ansible.builtin.ping": {}}]}])
    assert run.rc == 0, run
    assert sorted(run.stats) == sorted(lab.hosts())


def test_inventory_groups(lab):
    run = lab.playbook([{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "groups", "ansible.builtin.debug": {"var": "groups"}}]}])
    groups = run.task("groups")[0]["result"]["groups"]
    assert groups["fuel_master"] == ["master"]
    assert groups["controller"] == ["ctrl-1"]
    assert sorted(groups["env_1"]) == ["cmp-1", "cmp-2", "ctrl-1"]


def test_mirror_serves_signed_repositories(lab):
    url = lab.mirror_url
    in_release = urllib.request.urlopen(url + "/deb/vendor/dists/mos9.0/InRelease", timeout=5).read()
    assert in_release.startswith(b"-----BEGIN PGP SIGNED MESSAGE-----")
    assert b"<repomd" in urllib.request.urlopen(url + "/rpm/vendor/repodata/repomd.xml", timeout=5).read()
    assert b"BEGIN PGP SIGNATURE" in urllib.request.urlopen(
        url + "/rpm/vendor/repodata/repomd.xml.asc", timeout=5).read()


def test_apt_node_verifies_signatures(lab):
    lab.reset("cmp-2")
    update = lab.node_run("cmp-2", ["apt-get", "update"])
    assert "NO_PUBKEY" not in update.stderr and "not signed" not in update.stderr
    policy = lab.node_run("cmp-2", ["apt-cache", "policy", "fuel-agent"]).stdout
    assert "Installed: 1.0-0mos2" in policy


def test_rpm_host_database_holds_fixture_packages(lab):
    rpms = lab.node_run("master", ["rpm", "-qa", "--qf", "%{NAME}-%{VERSION}-%{RELEASE}\n"]).stdout.split()
    assert "fuel-agent-1.0-0mos2" in rpms
    assert "libfuel-common-1.2-0mos2" in rpms
    sig = lab.node_run("master", ["rpm", "-q", "--qf", "%{RSAHEADER:pgpsig}\n", "fuel-agent"]).stdout
    assert "Key ID" in sig


def test_reset_restores_deployed_state(lab):
    lab.node_run("cmp-1", ["rm", "/usr/bin/fuel-agent"])
    lab.reset("cmp-1")
    assert "fuel-agent 1.0-0mos2" in lab.node_run("cmp-1", ["fuel-agent"]).stdout


def test_node_report_playbook(lab, tmp_path):
    dest = tmp_path / "report.json"
    run = lab.playbook("playbooks/node_report.yml", extra_vars={"node_report_dest": str(dest)})
    assert run.rc == 0, run

    report = json.loads(dest.read_text())
    assert sorted(report) == sorted(lab.hosts())
    vendor = {p["name"]: p["version"] for p in report["master"]["vendor_packages"]}
    assert vendor["fuel-agent"] == "1.0-0mos2"
    assert any(r["uri"].endswith("/rpm/vendor/") for r in report["master"]["repositories"])
    assert any(r["suite"] == "mos9.0" for r in report["ctrl-1"]["repositories"])


def test_up_twice_then_down_leaves_nothing(tmp_path):
    topology = ["--rpm", "0", "--controllers", "1", "--computes", "0", "--legacy", "0"]
    small = Lab(str(tmp_path / "lab"), topology=topology)
    small.up()
    first_port = small.state["nodes"][0]["port"]
    small.up()
    assert small.state["nodes"][0]["port"] == first_port
    assert processes_rooted_in(small.root("ctrl-1"))
    small.down()
    assert mounts_under(str(tmp_path / "lab")) == []
    assert processes_rooted_in(str(tmp_path / "lab")) == []
    assert str(tmp_path) not in subprocess.run(["losetup", "-a"], text=True, capture_output=True, check=True).stdout
    assert not (tmp_path / "lab" / "state.json").exists()
