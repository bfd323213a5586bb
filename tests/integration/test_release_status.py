"""Release status: published (signed JSON, HTML) by the role on the mirror host, shown in the MOTD of an
APT node and of the RPM host, warned about (strict: refused) by the APT hook and the dnf plugin; the
source down never blocks package management. Decided by dpkg-query / rpm -q and the files on the nodes."""

from __future__ import annotations

import json
import os

import pytest

import mirrorlab
from labfixture import REPO

APT_HOST = "cmp-2"
RPM_HOST = "master"
MOTD = "/etc/motd.d/fuel-release-status"
FLAG = {"name": "libfuel-common", "versions": ["1.2-0mos3"], "reason": "breaks fuel-agent restarts"}
INSTALLED_FLAG = {"name": "fuel-utils", "versions": ["2.0-0mos2"], "reason": "CLI regression"}
HELD = {"name": "fuel-agent", "version": "1.0-0mos3", "reason": "waits for MU 3"}


@pytest.fixture(scope="module")
def status(lab):
    lab.reset(APT_HOST, RPM_HOST)  # the deployed state (MU 1), whatever earlier tests did to these nodes
    scratch = mirrorlab.scratch_dir("status-tests")
    gnupg, fingerprint = mirrorlab.site_key(scratch)
    www = os.path.join(scratch, "www")
    os.makedirs(www)
    keyring = os.path.join(scratch, "site-keyring.gpg")
    mirrorlab.run(["gpg", "--batch", "--export", "-o", keyring, fingerprint], env=dict(os.environ, GNUPGHOME=gnupg))
    server = mirrorlab.Server(www)
    # The nodes also see the next MU and the upstream repository of the lab mirror.
    url = lab.mirror_url
    with open(os.path.join(lab.root(APT_HOST), "etc/apt/sources.list.d/more.list"), "w", encoding="utf-8") as out:
        out.write("deb [signed-by=/etc/apt/keyrings/fuel-lab.gpg] %s/deb/mu2 mos9.0-mu2 main\n"
                  "deb [signed-by=/etc/apt/keyrings/fuel-lab.gpg] %s/deb/upstream upstream main\n" % (url, url))
    for repo in ("mu2", "upstream"):
        with open(os.path.join(lab.root(RPM_HOST), "etc/yum.repos.d/more-%s.repo" % repo), "w",
                  encoding="utf-8") as out:
            out.write("[more-%s]\nname=%s\nbaseurl=%s/rpm/%s/\ngpgcheck=1\ngpgkey=file:///etc/pki/rpm-gpg/"
                      "RPM-GPG-KEY-fuel-lab\npriority=99\n" % (repo, repo, url, repo))
    lab.node_run(APT_HOST, ["apt-get", "update", "-q"])
    yield {"scratch": scratch, "www": www, "server": server, "gnupg": gnupg, "fingerprint": fingerprint,
           "keyring": keyring}
    server.stop()
    lab.reset(APT_HOST, RPM_HOST)
    mirrorlab.stop_gpg_agents(scratch)


def publish(lab, status, **extra):
    variables = {"release_status_release": "9.0", "release_status_problem_packages": [FLAG, INSTALLED_FLAG],
                 "release_status_held_back": [HELD], "release_status_publish_dir": os.path.join(status["www"], "status"),
                 "release_status_gpg_key": status["fingerprint"], "release_status_gnupg_home": status["gnupg"],
                 "release_status_lib_dir": os.path.join(status["scratch"], "lib")}
    variables.update(extra)
    play = [{"name": "Publish", "hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "Publish the status", "ansible.builtin.include_role": {
            "name": "fuel.lifecycle.release_status", "tasks_from": "publish"}, "vars": variables}]}]
    return mirrorlab.playbook(lab, play)


def install(lab, status, strict=False):
    variables = {"release_status_url": "%s/status/status.json" % status["server"].url,
                 "release_status_keyring_src": status["keyring"], "release_status_strict": strict}
    plays = [{"name": "Status on %s" % host, "hosts": host, "gather_facts": False,
              "vars": dict(variables, release_status_package_manager=family),
              "roles": [{"role": "fuel.lifecycle.release_status"}]}
             for host, family in ((APT_HOST, "apt"), (RPM_HOST, "rpm"))]
    return mirrorlab.playbook(lab, plays)


def apt(lab, *args):
    return lab.node_run(APT_HOST, ["apt-get", "-y", "-q"] + list(args), check=False)


def dpkg_version(lab, name):
    return lab.node_run(APT_HOST, ["dpkg-query", "-W", "-f", "${Version}", name]).stdout


def rpm_version(lab, name):
    proc = lab.node_run(RPM_HOST, ["rpm", "-q", "--qf", "%{VERSION}-%{RELEASE}", name], check=False)
    return proc.stdout if proc.returncode == 0 else None


def dnf(lab, *args):
    return lab.node_run(RPM_HOST, ["dnf", "-y", "--setopt=metadata_expire=0"] + list(args), check=False)


def test_published_status_is_signed_and_rendered(lab, status):
    first = publish(lab, status)
    assert first.rc == 0, first
    top = os.path.join(status["www"], "status")
    data = json.load(open(os.path.join(top, "status.json"), encoding="utf-8"))
    assert data["release"] == "9.0" and data["problem_packages"] == [FLAG, INSTALLED_FLAG]
    assert data["held_back"] == [HELD]
    mirrorlab.run(["gpgv", "--keyring", status["keyring"], os.path.join(top, "status.json.asc"),
                   os.path.join(top, "status.json")])
    html = open(os.path.join(top, "index.html"), encoding="utf-8").read()
    assert "libfuel-common" in html and "breaks fuel-agent restarts" in html and "waits for MU 3" in html
    # Second run: nothing rewritten (the time of the status stays while its content does).
    before = {name: open(os.path.join(top, name), "rb").read() for name in os.listdir(top)}
    second = publish(lab, status)
    assert second.rc == 0 and not second.changed_hosts(), second
    assert {name: open(os.path.join(top, name), "rb").read() for name in os.listdir(top)} == before
    bad = publish(lab, status, release_status_problem_packages=[{"name": "x y", "versions": ["1"], "reason": "r"}])
    assert bad.rc != 0 and "problem_packages[0].name" in bad.output


def test_nodes_show_and_warn(lab, status):
    run = install(lab, status)
    assert run.rc == 0, run
    for host in (APT_HOST, RPM_HOST):
        motd = lab.read(host, MOTD)
        assert "Release status: release 9.0" in motd, motd
        assert "FLAGGED libfuel-common 1.2-0mos3: breaks fuel-agent restarts" in motd
        # The nodes run MU 1: fuel-utils 2.0-0mos2 is installed on both.
        assert "FLAGGED fuel-utils 2.0-0mos2: CLI regression [INSTALLED HERE]" in motd
        assert "held back: fuel-agent 1.0-0mos3" in motd
        installed = json.loads(lab.node_run(host, ["/usr/local/sbin/fuel-release-status", "installed"]).stdout)
        assert installed == [{"name": "fuel-utils", "version": "2.0-0mos2", "reason": "CLI regression"}]

    # mu_check reports the flagged versions installed, read from the node's package database.
    report = mirrorlab.playbook(lab, os.path.join(REPO, "playbooks", "mu_check.yml"),
                                extra_vars={"fuel_mu_hosts": "%s:%s" % (APT_HOST, RPM_HOST),
                                            "fuel_mu_mirror_url": lab.mirror_url})
    assert report.rc == 0, report
    for host, version in ((APT_HOST, dpkg_version(lab, "fuel-utils")), (RPM_HOST, rpm_version(lab, "fuel-utils"))):
        result = report.task("Assemble the node's result", host)[0]["result"]["ansible_facts"]
        assert result["mu_check_result"]["flagged_installed"] == [
            {"name": "fuel-utils", "version": version, "reason": "CLI regression"}], result
        assert "%s: flagged by the release status: fuel-utils 2.0-0mos2" % host in report.output

    # apt-get update names the flagged version on offer; the install of it warns and goes on.
    update = apt(lab, "update")
    assert update.returncode == 0
    assert "the repositories offer libfuel-common 1.2-0mos3, flagged by the vendor" in update.stderr + update.stdout
    unrelated = apt(lab, "install", "upstream-extra")
    assert unrelated.returncode == 0 and "fuel-release-status" not in unrelated.stdout + unrelated.stderr
    assert dpkg_version(lab, "upstream-extra") == "1.0-1"
    flagged = apt(lab, "install", "libfuel-common=1.2-0mos3")
    assert flagged.returncode == 0, flagged.stderr
    assert "libfuel-common 1.2-0mos3 is flagged by the vendor: breaks fuel-agent restarts" in flagged.stderr
    assert dpkg_version(lab, "libfuel-common") == "1.2-0mos3"

    quiet = dnf(lab, "install", "upstream-extra")
    assert quiet.returncode == 0 and "fuel-release-status" not in quiet.stdout + quiet.stderr
    assert rpm_version(lab, "upstream-extra") == "1.0-1"
    warned = dnf(lab, "install", "libfuel-common-1.2-0mos3")
    assert warned.returncode == 0, warned.stderr
    assert "libfuel-common 1.2-0mos3 is flagged by the vendor" in warned.stdout + warned.stderr
    assert rpm_version(lab, "libfuel-common") == "1.2-0mos3"


def test_strict_refuses(lab, status):
    lab.node_run(APT_HOST, ["apt-get", "-y", "-q", "--allow-downgrades", "install", "libfuel-common=1.2-0mos2"])
    dnf(lab, "downgrade", "libfuel-common-1.2-0mos2")
    assert rpm_version(lab, "libfuel-common") == "1.2-0mos2"
    run = install(lab, status, strict=True)
    assert run.rc == 0, run
    refused = apt(lab, "install", "libfuel-common=1.2-0mos3")
    assert refused.returncode != 0
    assert "(refused: strict mode)" in refused.stderr
    assert dpkg_version(lab, "libfuel-common") == "1.2-0mos2"
    allowed = apt(lab, "install", "fuel-agent=1.0-0mos3")
    assert allowed.returncode == 0 and dpkg_version(lab, "fuel-agent") == "1.0-0mos3"
    refused = dnf(lab, "install", "libfuel-common-1.2-0mos3")
    assert refused.returncode != 0 and "refused" in refused.stdout + refused.stderr
    assert rpm_version(lab, "libfuel-common") == "1.2-0mos2"


def test_tampered_or_unreachable_source(lab, status):
    top = os.path.join(status["www"], "status")
    original = open(os.path.join(top, "status.json"), encoding="utf-8").read()
    with open(os.path.join(top, "status.json"), "w", encoding="utf-8") as out:
        out.write(original.replace("1.2-0mos3", "9.9-9"))
    state = json.loads(lab.node_run(APT_HOST, ["/usr/local/sbin/fuel-release-status", "refresh"]).stdout)
    assert state["ok"] is False and "signature" in state["error"]
    assert "UNKNOWN" in lab.read(APT_HOST, MOTD)
    with open(os.path.join(top, "status.json"), "w", encoding="utf-8") as out:
        out.write(original)

    status["server"].stop()
    for host in (APT_HOST, RPM_HOST):
        state = json.loads(lab.node_run(host, ["/usr/local/sbin/fuel-release-status", "refresh"]).stdout)
        assert state["ok"] is False
        motd = lab.read(host, MOTD)
        assert motd.startswith("Release status: UNKNOWN - the status source is unreachable"), motd
    update = apt(lab, "update")
    assert update.returncode == 0, update.stderr
    install_ok = apt(lab, "--allow-downgrades", "install", "fuel-agent=1.0-0mos2")
    assert install_ok.returncode == 0, install_ok.stderr
    assert dpkg_version(lab, "fuel-agent") == "1.0-0mos2"
    assert dnf(lab, "install", "fuel-agent-1.0-0mos3").returncode == 0
    assert rpm_version(lab, "fuel-agent") == "1.0-0mos3"
