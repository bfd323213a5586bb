"""Maintenance updates on a 6-node environment (+ the RPM host): check, rolling install,
restarts of exactly the affected daemons, a failing node that stops the roll, the
environment lock, malformed remote records."""

from __future__ import annotations

import functools
import http.server
import json
import os
import threading
import time

import pytest

from labfixture import REPO, Lab

ENV_HOSTS = ["ctrl-1", "ctrl-2", "ctrl-3", "cmp-1", "cmp-2", "cmp-3"]
DAEMONS = ["fuel-lab-libsvc", "fuel-lab-idlesvc"]
LOCK = "/var/lib/fuel-lifecycle/mu-env.lock"
MARKER = "/etc/fuel-lab/fail-postinst"
MU_INSTALL = os.path.join(REPO, "playbooks", "mu_install.yml")
MU_CHECK = os.path.join(REPO, "playbooks", "mu_check.yml")


@pytest.fixture(scope="module")
def mulab():
    topology = ["--rpm", "1", "--controllers", "3", "--computes", "3", "--legacy", "0"]
    lab = Lab(os.path.join(REPO, "build", "lab-mu"), topology=topology)
    lab.up()
    try:
        setup = lab.playbook([
            {"hosts": "env_1", "gather_facts": False, "tasks": [
                {"name": "install the MU fixtures (apt)", "ansible.builtin.apt": {
                    "name": ["fuel-lab-libsvc", "fuel-lab-idlesvc", "fuel-lab-hook"], "update_cache": True}}]},
            {"hosts": "rpm_hosts", "gather_facts": False, "tasks": [
                {"name": "install the MU fixtures (dnf)", "ansible.builtin.dnf": {
                    "name": ["fuel-lab-libsvc", "fuel-lab-idlesvc", "fuel-lab-hook"], "use_backend": "dnf4"}}]}])
        assert setup.rc == 0, setup
        for host in lab.hosts():
            for daemon in DAEMONS:
                lab.node_run(host, ["/etc/init.d/" + daemon, "start"])
        yield lab
    finally:
        lab.down()


def pids(lab, host):
    return {daemon: int(lab.read(host, "/run/%s.pid" % daemon)) for daemon in DAEMONS}


def record(lab, host):
    return json.loads(lab.read(host, "/etc/fuel/mu-version.json"))


def version(lab, host, package):
    return lab.read(host, "/usr/share/fuel-lab/%s.version" % package).strip()


def mu_vars(lab, report_dir, **extra):
    url = lab.mirror_url
    data = {"fuel_mu_env": "1", "fuel_mu_mirror_url": url, "fuel_mu_release": "9.0",
            "fuel_mu_report_dir": report_dir,
            "fuel_mu_apt_repos": [{"uri": url + "/deb/mu2", "suite": "mos9.0-mu2", "section": "main",
                                   "signed_by": "/etc/apt/keyrings/fuel-lab.gpg"}],
            "fuel_mu_yum_repos": [{"name": "fuel-lab-mu2", "baseurl": url + "/rpm/mu2/",
                                   "gpgkey": url + "/keys/RPM-GPG-KEY-fuel-lab"}]}
    data.update(extra)
    return data


class _Records(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output clean
        pass


def test_malformed_remote_records_are_rejected_and_nothing_written(mulab, tmp_path):
    bodies = {
        "bad-json.json": '{"id": 3, "title": "x", ',
        "missing-title.json": json.dumps({"id": 3, "timestamp": 1769904000}),
        "id-string.json": json.dumps({"id": "3", "title": "x", "timestamp": 1769904000}),
        "timestamp-text.json": json.dumps({"id": 3, "title": "x", "timestamp": "2026-01-01"}),
        "oversized.json": json.dumps({"id": 3, "title": "x", "timestamp": 1769904000, "pad": "y" * 70000}),
    }
    for name, body in bodies.items():
        (tmp_path / name).write_text(body)
    handler = functools.partial(_Records, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = "http://127.0.0.1:%d/" % server.server_address[1]
    before = mulab.read("cmp-3", "/etc/fuel/mu-version.json")
    try:
        run = mulab.playbook([{"hosts": "cmp-3", "gather_facts": False, "tasks": [
            {"name": "record " + name, "fuel.lifecycle.mu_version": {"state": "present", "url": base + name},
             "failed_when": False, "register": "out"} for name in list(bodies) + ["absent.json"]]}])
    finally:
        server.shutdown()
    assert run.rc == 0, run
    expected = {"bad-json.json": "malformed JSON", "missing-title.json": "missing mandatory field(s) title",
                "id-string.json": "field 'id'", "timestamp-text.json": "field 'timestamp'",
                "oversized.json": "larger than 65536 bytes", "absent.json": "HTTP 404"}
    for name, words in expected.items():
        result = run.task("record " + name, "cmp-3")[0]["result"]
        assert result.get("failed") is True or "msg" in result, result
        assert words in result["msg"], (name, result["msg"])
        assert not result.get("changed"), result
    assert mulab.read("cmp-3", "/etc/fuel/mu-version.json") == before
    assert not os.path.exists(os.path.join(mulab.root("cmp-3"), "etc/ansible/facts.d/fuel_mu.fact"))


def test_mu_check_shows_mu2_available_everywhere(mulab, tmp_path):
    run = mulab.playbook(MU_CHECK, extra_vars={"fuel_mu_env": "1", "fuel_mu_mirror_url": mulab.mirror_url,
                                               "fuel_mu_report_dir": str(tmp_path)})
    assert run.rc == 0, run
    reads = run.task("Read the installed and the available MU")
    assert len(reads) == 6 and not any(r["result"].get("changed") for r in reads)
    report = json.loads((tmp_path / "mu-check.json").read_text())
    assert sorted(row["host"] for row in report) == sorted(ENV_HOSTS)
    for row in report:
        assert (row["installed"]["id"], row["available"]["id"], row["status"]) == (1, 2, "update-available"), row
    assert "| cmp-3 | 1 Maintenance update 1 | 2 Maintenance update 2 | update-available |" in \
        (tmp_path / "mu-check.md").read_text()
    assert "update-available" in run.output and "installed" in run.output


def test_failed_compute_stops_the_roll_and_a_concurrent_run_is_refused(mulab, tmp_path):
    lab = mulab
    lab.node_run("cmp-1", ["touch", MARKER])
    pids_before = {host: pids(lab, host) for host in ENV_HOSTS}
    first = {}
    worker = threading.Thread(target=lambda: first.setdefault(
        "run", lab.playbook(MU_INSTALL, extra_vars=mu_vars(lab, str(tmp_path)))))
    worker.start()
    lock = os.path.join(lab.root("ctrl-1"), LOCK.lstrip("/"))
    deadline = time.monotonic() + 60
    while not os.path.exists(lock) and time.monotonic() < deadline:
        time.sleep(0.1)
    holder = json.loads(open(lock, encoding="utf-8").read())
    second = lab.playbook(MU_INSTALL, extra_vars=mu_vars(lab, str(tmp_path / "second")))
    worker.join()
    run = first["run"]
    # The second run is refused, names the holder, changes nothing.
    assert second.rc != 0, second
    assert "is locked by %s" % holder["owner"] in second.output, second
    assert not second.changed_hosts()
    # The first stops at cmp-1; controllers are on MU2, the compute batch after it untouched.
    assert run.rc != 0, run
    assert "MU install stopped on cmp-1" in run.output, run
    for host in ["ctrl-1", "ctrl-2", "ctrl-3"]:
        assert record(lab, host)["id"] == 2, host
        assert version(lab, host, "libfuel-common") == "1.2-0mos3"
        after = pids(lab, host)
        assert after["fuel-lab-libsvc"] != pids_before[host]["fuel-lab-libsvc"], host
        assert after["fuel-lab-idlesvc"] == pids_before[host]["fuel-lab-idlesvc"], host
    assert record(lab, "cmp-1")["id"] == 1
    for host in ["cmp-2", "cmp-3"]:
        assert record(lab, host)["id"] == 1
        assert version(lab, host, "libfuel-common") == "1.2-0mos2"
        assert not os.path.exists(os.path.join(lab.root(host), "etc/apt/sources.list.d/fuel-mu.list"))
        assert pids(lab, host) == pids_before[host]
    # The report says which node is on which MU; the lock is gone.
    summary = json.loads((tmp_path / "mu-install.json").read_text())
    assert summary["outcome"] == "stopped: cmp-1 failed"
    assert {host: (rec or {}).get("id") for host, rec in summary["nodes"].items()} == {
        "ctrl-1": 2, "ctrl-2": 2, "ctrl-3": 2, "cmp-1": 1, "cmp-2": 1, "cmp-3": 1}
    assert "cmp-1: MU 1" in run.output and "ctrl-2: MU 2" in run.output
    assert not os.path.exists(lock)
    # Controllers were updated one at a time, primary first.
    stamps = [record(lab, host)["installed_at"] for host in ["ctrl-1", "ctrl-2", "ctrl-3"]]
    assert stamps == sorted(stamps), stamps


def test_rerun_after_the_fix_completes_in_order(mulab, tmp_path):
    lab = mulab
    lab.node_run("cmp-1", ["rm", MARKER])
    pids_before = {host: pids(lab, host) for host in ["cmp-2", "cmp-3"]}
    run = lab.playbook(MU_INSTALL, extra_vars=mu_vars(lab, str(tmp_path)))
    assert run.rc == 0, run
    for host in ENV_HOSTS:
        assert record(lab, host)["id"] == 2, host
        assert version(lab, host, "fuel-lab-hook") == "1.0-0mos2", host
        assert lab.node_run(host, ["dpkg", "--audit"]).stdout == "", host
    for host in ["cmp-2", "cmp-3"]:
        after = pids(lab, host)
        assert after["fuel-lab-libsvc"] != pids_before[host]["fuel-lab-libsvc"]
        assert after["fuel-lab-idlesvc"] == pids_before[host]["fuel-lab-idlesvc"]
        assert json.loads(lab.read(host, "/var/lib/fuel-lifecycle/mu/last-run.json"))["restarted"] == [
            "fuel-lab-libsvc"]
    runs = {host: json.loads(lab.read(host, "/var/lib/fuel-lifecycle/mu/last-run.json")) for host in ENV_HOSTS}
    order = ["ctrl-1", "ctrl-2", "ctrl-3", "cmp-1"]
    for earlier, later in zip(order, order[1:]):
        assert float(runs[earlier]["finished_at"]) < float(runs[later]["started_at"]), (earlier, later, runs)
    for host in ["cmp-2", "cmp-3"]:  # the second batch starts after cmp-1 is done
        assert float(runs["cmp-1"]["finished_at"]) < float(runs[host]["started_at"])
    # cmp-2 and cmp-3 form one batch: each started before the other finished.
    assert float(runs["cmp-2"]["started_at"]) < float(runs["cmp-3"]["finished_at"])
    assert float(runs["cmp-3"]["started_at"]) < float(runs["cmp-2"]["finished_at"])
    summary = json.loads((tmp_path / "mu-install.json").read_text())
    assert summary["outcome"] == "completed"
    assert not os.path.exists(os.path.join(lab.root("ctrl-1"), LOCK.lstrip("/")))
    assert json.loads(lab.read("cmp-1", "/etc/ansible/facts.d/fuel_mu.fact"))["installed"]["id"] == 2

    # Every node on MU 2: a rerun changes nothing, keeps the last run's record and the saved state.
    kept = {host: lab.read(host, "/var/lib/fuel-lifecycle/mu/last-run.json") for host in ["ctrl-1", "cmp-3"]}
    before = lab.read("cmp-1", "/var/lib/fuel-lifecycle/mu/packages-before-mu2.txt")
    rerun = lab.playbook(MU_INSTALL, extra_vars=mu_vars(lab, str(tmp_path / "rerun")))
    # only the controller's report files change (tasks delegated to localhost)
    problems = [line for line in rerun.output.splitlines()
                if line.startswith(("fatal", "failed", "ERROR", "changed")) and "-> localhost]" not in line]
    assert rerun.rc == 0 and problems == [], problems
    assert {host: lab.read(host, "/var/lib/fuel-lifecycle/mu/last-run.json") for host in kept} == kept
    assert lab.read("cmp-1", "/var/lib/fuel-lifecycle/mu/packages-before-mu2.txt") == before
    assert "fuel-lab-hook 1.0-0mos1" in before  # the state from before the first attempt


def test_same_flow_on_the_rpm_host(mulab, tmp_path):
    lab = mulab
    check = lab.playbook(MU_CHECK, extra_vars={"fuel_mu_hosts": "rpm_hosts", "fuel_mu_mirror_url": lab.mirror_url,
                                               "fuel_mu_report_dir": str(tmp_path)})
    assert check.rc == 0, check
    assert json.loads((tmp_path / "mu-check.json").read_text())[0]["status"] == "update-available"
    before = pids(lab, "master")
    run = lab.playbook(MU_INSTALL, extra_vars=mu_vars(lab, str(tmp_path), fuel_mu_hosts="rpm_hosts"))
    assert run.rc == 0, run
    assert record(lab, "master")["id"] == 2
    assert lab.node_run("master", ["rpm", "-q", "--qf", "%{VERSION}-%{RELEASE}", "libfuel-common"]).stdout == \
        "1.2-0mos3"
    after = pids(lab, "master")
    assert after["fuel-lab-libsvc"] != before["fuel-lab-libsvc"]
    assert after["fuel-lab-idlesvc"] == before["fuel-lab-idlesvc"]
    assert json.loads(lab.read("master", "/var/lib/fuel-lifecycle/mu/last-run.json"))["restarted"] == [
        "fuel-lab-libsvc"]
