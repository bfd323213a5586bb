"""Maintenance updates on a 6-node environment (+ the RPM host), decided by the nodes' real state.

mu_check listing every node (unreachable, mirror down); a dry run that changes no
byte; a node whose package manager is busy; a failing postinst that stops the
roll, with a limited run started beside it refused by the same lock; a killed
run whose lock names the role's break-lock variable; the rerun completing in
order; the RPM host.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from labfixture import REPO, Lab

ENV_HOSTS = ["ctrl-1", "ctrl-2", "ctrl-3", "cmp-1", "cmp-2", "cmp-3"]
DAEMONS = ["fuel-lab-libsvc", "fuel-lab-idlesvc"]
LOCK = "/var/lib/fuel-lifecycle/mu-env.lock"
HISTORY = "/var/lib/fuel-lifecycle/mu-env.history.json"
MARKER = "/etc/fuel-lab/fail-postinst"
MU_INSTALL = os.path.join(REPO, "playbooks", "mu_install.yml")
MU_CHECK = os.path.join(REPO, "playbooks", "mu_check.yml")
# What a login or the lab itself changes in a node, whatever a module does.
VOLATILE = ("var/log/", "run/", "tmp/", "root/.ansible/", "var/tmp/", "etc/fuel-lab/node.json",
            "root/.ssh/authorized_keys")


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


def packages(lab, host):
    """{package: (status, version)} from the node's own dpkg-query."""
    out = lab.node_run(host, ["dpkg-query", "-W", "-f=${Package} ${Status} ${Version}\n"]).stdout
    result = {}
    for line in out.splitlines():
        fields = line.split()
        result[fields[0]] = (fields[3], fields[4] if len(fields) > 4 else "")
    return result


def upper_digest(lab, host):
    """Digest of everything the node's overlay holds above its image (what any change lands in)."""
    upper = os.path.join(lab.state_dir, "nodes", host, "upper")
    digest = {}
    for base, dirs, files in os.walk(upper):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(base, name)
            rel = os.path.relpath(path, upper)
            if rel.startswith(VOLATILE):
                continue
            info = os.lstat(path)
            if os.path.islink(path):
                digest[rel] = ("link", os.readlink(path))
            elif os.path.isfile(path):
                with open(path, "rb") as handle:
                    digest[rel] = (info.st_mode, hashlib.sha256(handle.read()).hexdigest())
            else:
                digest[rel] = (info.st_mode, "")
    return digest


def mu_vars(lab, report_dir, **extra):
    url = lab.mirror_url
    data = {"fuel_mu_env": "1", "fuel_mu_mirror_url": url, "fuel_mu_release": "9.0",
            "fuel_mu_report_dir": report_dir, "fuel_mu_owner": "ops",
            "fuel_mu_apt_repos": [{"uri": url + "/deb/mu2", "suite": "mos9.0-mu2", "section": "main",
                                   "signed_by": "/etc/apt/keyrings/fuel-lab.gpg"}],
            "fuel_mu_yum_repos": [{"name": "fuel-lab-mu2", "baseurl": url + "/rpm/mu2/",
                                   "gpgkey": url + "/keys/RPM-GPG-KEY-fuel-lab"}]}
    data.update(extra)
    return data


def report(path):
    data = json.loads(open(path, encoding="utf-8").read())
    return data, {node["host"]: node for node in data["nodes"]}


def wait_for(path, seconds=90):
    deadline = time.time() + seconds
    while not os.path.exists(path) and time.time() < deadline:
        time.sleep(0.1)
    assert os.path.exists(path), path


def unreachable_inventory(tmp_path, host):
    """An inventory layered over the lab's that sends ``host`` to a closed port (a node that is down)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    path = tmp_path / "down.yml"
    path.write_text(json.dumps({"all": {"hosts": {host: {"ansible_port": port}}}}))
    return str(path)


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
             "ignore_errors": True} for name in list(bodies) + ["absent.json"]]}])
    finally:
        server.shutdown()
    expected = {"bad-json.json": "malformed JSON", "missing-title.json": "missing mandatory field(s) title",
                "id-string.json": "field 'id'", "timestamp-text.json": "field 'timestamp'",
                "oversized.json": "larger than 65536 bytes", "absent.json": "HTTP 404"}
    for name, words in expected.items():
        entry = run.task("record " + name, "cmp-3")[0]
        result = entry["result"]
        assert entry["status"] == "ignored", entry  # the module itself failed (the play ignored it)
        assert words in result["msg"], (name, result["msg"])
        assert not result.get("changed"), result
    assert mulab.read("cmp-3", "/etc/fuel/mu-version.json") == before
    assert not os.path.exists(os.path.join(mulab.root("cmp-3"), "etc/ansible/facts.d/fuel_mu.fact"))


def test_mu_check_lists_every_node_even_unreachable_or_with_the_mirror_down(mulab, tmp_path):
    check_vars = {"fuel_mu_env": "1", "fuel_mu_mirror_url": mulab.mirror_url, "fuel_mu_report_dir": str(tmp_path)}
    run = mulab.playbook(MU_CHECK, extra_vars=check_vars)
    assert run.rc == 0, run
    rows = json.loads((tmp_path / "mu-check.json").read_text())
    assert sorted(row["host"] for row in rows) == sorted(ENV_HOSTS)
    for row in rows:
        assert (row["installed"]["id"], row["available"]["id"], row["status"]) == (1, 2, "update-available"), row
    assert "| cmp-3 | 1 Maintenance update 1 | 2 Maintenance update 2 | update-available |" in \
        (tmp_path / "mu-check.md").read_text()

    # one node down (its SSH port closed): it is in the table and the report, unreachable, with the reason
    down = mulab.playbook(MU_CHECK, extra_vars=dict(check_vars, fuel_mu_report_dir=str(tmp_path / "down")),
                          args=["-i", unreachable_inventory(tmp_path, "cmp-2")])
    assert down.rc != 0, down
    rows = {row["host"]: row for row in json.loads((tmp_path / "down" / "mu-check.json").read_text())}
    assert sorted(rows) == sorted(ENV_HOSTS)
    assert rows["cmp-2"]["status"] == "unreachable" and rows["cmp-2"]["reason"], rows["cmp-2"]
    assert rows["cmp-1"]["status"] == "update-available"
    assert "cmp-2                -          -          unreachable" in down.output
    assert "1 of 6 nodes could not be checked: cmp-2: unreachable" in down.output

    # the mirror down: every node listed as failed with the mirror's error, still a table and a report
    dead = "http://127.0.0.1:9"
    mirror_down = mulab.playbook(MU_CHECK, extra_vars=dict(check_vars, fuel_mu_mirror_url=dead,
                                                           fuel_mu_report_dir=str(tmp_path / "mirror")))
    assert mirror_down.rc != 0
    rows = json.loads((tmp_path / "mirror" / "mu-check.json").read_text())
    assert sorted(row["host"] for row in rows) == sorted(ENV_HOSTS)
    for row in rows:
        assert row["status"] == "failed" and dead in row["reason"], row
    assert "6 of 6 nodes could not be checked" in mirror_down.output

    # a limited check still lists the others, as not run
    limited = mulab.playbook(MU_CHECK, extra_vars=dict(check_vars, fuel_mu_report_dir=str(tmp_path / "lim")),
                             limit="cmp-1")
    assert limited.rc == 0, limited
    rows = {row["host"]: row for row in json.loads((tmp_path / "lim" / "mu-check.json").read_text())}
    assert sorted(rows) == sorted(ENV_HOSTS)
    assert rows["ctrl-1"]["status"] == "not run" and rows["ctrl-1"]["reason"] == "outside --limit"
    assert "MU check: 1 of 6 nodes" in limited.output


def test_dry_run_shows_the_plan_and_changes_no_byte(mulab, tmp_path):
    before = {host: (upper_digest(mulab, host), packages(mulab, host), pids(mulab, host)) for host in ENV_HOSTS}
    run = mulab.playbook(MU_INSTALL, extra_vars=mu_vars(mulab, str(tmp_path)), check=True, diff=True)
    assert run.rc == 0, run
    for host in ENV_HOSTS:
        assert (upper_digest(mulab, host), packages(mulab, host), pids(mulab, host)) == before[host], host
    assert not os.path.exists(os.path.join(mulab.root("ctrl-1"), LOCK.lstrip("/")))
    data, nodes = report(tmp_path / "mu-install.json")
    assert data["dry_run"] is True and data["outcome"] == "planned"
    assert data["coverage"] == {"nodes": 6, "of": 6, "limited": False}
    for host in ENV_HOSTS:
        node = nodes[host]
        assert (node["outcome"], node["mu_before"], node["mu_after"]) == ("ok", 1, 2), node
        planned = {entry["name"]: (entry["from"], entry["to"]) for entry in node["plan"]["upgrade"]}
        installed = packages(mulab, host)
        assert planned["libfuel-common"] == (installed["libfuel-common"][1], "1.2-0mos3"), planned
        assert planned["fuel-lab-hook"] == (installed["fuel-lab-hook"][1], "1.0-0mos2"), planned
        # the daemon mapping a file of libfuel-common would restart, the idle one would not
        assert node["would_restart"] == ["fuel-lab-libsvc"], node
    assert "+libfuel-common 1.2-0mos2 -> 1.2-0mos3" in run.output
    assert "+++ after: /etc/apt/sources.list.d/fuel-mu.list" in run.output
    assert "would restart" in (tmp_path / "mu-install.md").read_text()


def test_busy_package_manager_waits_then_fails_before_any_change(mulab, tmp_path):
    holder = subprocess.Popen(  # pylint: disable=consider-using-with
        ["chroot", mulab.root("cmp-3"), "python3", "-c",
         "import fcntl, sys, time\nf = open('/var/lib/dpkg/lock-frontend', 'w')\nfcntl.lockf(f, fcntl.LOCK_EX)\n"
         "print('held', flush=True)\ntime.sleep(300)\n"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        before = (upper_digest(mulab, "cmp-3"), packages(mulab, "cmp-3"))
        started = time.time()
        run = mulab.playbook(MU_INSTALL, extra_vars=mu_vars(mulab, str(tmp_path), fuel_mu_pm_lock_timeout=4),
                             limit="cmp-3")
        elapsed = time.time() - started
    finally:
        holder.kill()
        holder.wait()
    assert run.rc != 0, run
    after = (upper_digest(mulab, "cmp-3"), packages(mulab, "cmp-3"))
    changed = {k for k in set(before[0]) | set(after[0]) if before[0].get(k) != after[0].get(k)}
    # only the node's own record of the failed attempt (and its flock file) may differ
    assert changed <= {"var/lib/fuel-lifecycle/mu/last-run.json", "var/lib/fuel-lifecycle/mu/node.lock"}, changed
    assert after[1] == before[1]
    assert elapsed > 4
    data, nodes = report(tmp_path / "mu-install.json")
    assert data["coverage"] == {"nodes": 1, "of": 6, "limited": True}
    assert nodes["cmp-3"]["outcome"] == "failed"
    assert "/var/lib/dpkg/lock-frontend is held by process %d (python3)" % holder.pid in nodes["cmp-3"]["reason"] \
        or "/var/lib/dpkg/lock-frontend is held by process" in nodes["cmp-3"]["reason"], nodes["cmp-3"]
    assert "waited 4 s" in nodes["cmp-3"]["reason"] and nodes["cmp-3"]["failed_step"] == "package manager lock"
    for host in ENV_HOSTS[:-1]:
        assert nodes[host]["outcome"] == "not run" and nodes[host]["reason"] == "outside --limit"
    assert "1 of 6 nodes" in run.output
    # the lock was taken on the primary controller, not on the limited node, and released
    history = json.loads(mulab.read("ctrl-1", HISTORY))["events"]
    assert [e["event"] for e in history[-2:]] == ["acquired", "released"]
    assert history[-1]["holder"]["run_id"] == data["run_id"]


def _popen_playbook(lab, extra_vars, args=()):
    env = dict(lab.env, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    argv = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", lab.inventory, MU_INSTALL,
            "-e", json.dumps(extra_vars)] + list(args)
    return subprocess.Popen(argv, cwd=REPO, env=env, text=True, stdout=subprocess.PIPE,  # pylint: disable=R1732
                            stderr=subprocess.STDOUT, start_new_session=True)


def test_failed_postinst_stops_the_roll_and_a_limited_run_beside_it_is_refused(mulab, tmp_path):
    lab = mulab
    lab.node_run("cmp-1", ["touch", MARKER])
    lab.node_run("cmp-2", ["touch", MARKER])
    pids_before = {host: pids(lab, host) for host in ENV_HOSTS}
    pkgs_before = {host: packages(lab, host) for host in ENV_HOSTS}
    # cmp-1 and cmp-2 form the second batch: both fail, each with its own reason
    full = _popen_playbook(lab, mu_vars(lab, str(tmp_path), fuel_mu_serial=[2]))
    lock = os.path.join(lab.root("ctrl-1"), LOCK.lstrip("/"))
    wait_for(lock)
    holder = json.loads(open(lock, encoding="utf-8").read())
    # the same owner, a limited run: the lock is the environment's, on the primary controller
    limited = lab.playbook(MU_INSTALL, extra_vars=mu_vars(lab, str(tmp_path / "limited")), limit="cmp-3")
    output = full.communicate(timeout=900)[0]
    assert limited.rc != 0, limited
    assert "env_1 is locked by ops (run %s)" % holder["run_id"] in limited.output, limited
    assert "-e fuel_mu_break_lock=true" in limited.output
    assert holder["controller"]["pid"] == full.pid, holder
    assert not limited.changed_hosts()
    assert not os.path.exists(os.path.join(lab.root("cmp-3"), LOCK.lstrip("/")))

    assert full.returncode != 0, output
    data, nodes = report(tmp_path / "mu-install.json")
    assert data["outcome"] == "stopped: cmp-1, cmp-2 failed", data["outcome"]
    for host in ["cmp-1", "cmp-2"]:
        node = nodes[host]
        assert node["outcome"] == "failed" and node["failed_step"] == "transaction", node
        # apt's message with dpkg's cause, and the package the database shows half-configured
        assert "fuel-lab-hook: /etc/fuel-lab/fail-postinst exists, failing on purpose" in node["reason"], node
        assert "installed fuel-lab-hook package post-installation script subprocess returned error exit status 1" \
            in node["reason"], node
        assert node["half_configured"] == ["fuel-lab-hook (half-configured)"], node
        # decided by the node's package database, not by the files the module writes
        real = packages(lab, host)
        assert real["fuel-lab-hook"] == ("half-configured", "1.0-0mos2"), real["fuel-lab-hook"]
        assert record(lab, host)["id"] == 1
    assert nodes["cmp-3"]["outcome"] == "not run" and "cmp-1, cmp-2 failed" in nodes["cmp-3"]["reason"]
    assert "MU rollout stopped: cmp-1, cmp-2 failed" in output
    for host in ["ctrl-1", "ctrl-2", "ctrl-3"]:
        real = packages(lab, host)
        assert real["libfuel-common"] == ("installed", "1.2-0mos3") and real["fuel-lab-hook"][0] == "installed"
        assert record(lab, host)["id"] == 2, host
        after = pids(lab, host)
        assert after["fuel-lab-libsvc"] != pids_before[host]["fuel-lab-libsvc"], host
        assert after["fuel-lab-idlesvc"] == pids_before[host]["fuel-lab-idlesvc"], host
    # the batch after the failure is untouched, byte for byte in its package database and sources
    assert packages(lab, "cmp-3") == pkgs_before["cmp-3"]
    assert pids(lab, "cmp-3") == pids_before["cmp-3"]
    assert not os.path.exists(os.path.join(lab.root("cmp-3"), "etc/apt/sources.list.d/fuel-mu.list"))
    assert not os.path.exists(lock)
    # controllers one at a time, primary first (the nodes' own records of the run)
    runs = {host: json.loads(lab.read(host, "/var/lib/fuel-lifecycle/mu/last-run.json")) for host in ENV_HOSTS[:3]}
    assert runs["ctrl-1"]["finished_at"] < runs["ctrl-2"]["started_at"] < runs["ctrl-2"]["finished_at"] \
        < runs["ctrl-3"]["started_at"], runs


def test_a_killed_run_leaves_a_lock_that_names_the_break_variable(mulab, tmp_path):
    lab = mulab
    for host in ["cmp-1", "cmp-2"]:
        lab.node_run(host, ["rm", "-f", MARKER])
    run = _popen_playbook(lab, mu_vars(lab, str(tmp_path / "killed")), args=["--limit", "ctrl-1"])
    lock = os.path.join(lab.root("ctrl-1"), LOCK.lstrip("/"))
    wait_for(lock)
    dead = json.loads(open(lock, encoding="utf-8").read())
    os.killpg(run.pid, signal.SIGKILL)
    run.wait()
    refused = lab.playbook(MU_INSTALL, extra_vars=mu_vars(lab, str(tmp_path / "refused")))
    assert refused.rc != 0
    assert "env_1 is locked by ops (run %s)" % dead["run_id"] in refused.output
    assert "run by process %d on controller" % run.pid in refused.output
    assert "rerun with -e fuel_mu_break_lock=true" in refused.output
    assert json.loads(open(lock, encoding="utf-8").read()) == dead

    # broken on purpose: the report and the history say whose run it was
    pids_before = {host: pids(lab, host) for host in ["cmp-3"]}
    rerun = lab.playbook(MU_INSTALL, extra_vars=mu_vars(lab, str(tmp_path), fuel_mu_break_lock=True))
    assert rerun.rc == 0, rerun
    data, nodes = report(tmp_path / "mu-install.json")
    assert data["outcome"] == "completed" and data["lock"]["broken"]["run_id"] == dead["run_id"]
    events = json.loads(lab.read("ctrl-1", HISTORY))["events"]
    broken = [e for e in events if e["event"] == "broken"]
    assert broken[-1]["holder"]["run_id"] == dead["run_id"] and "never released the lock" in broken[-1]["note"]
    for host in ENV_HOSTS:
        real = packages(lab, host)
        assert real["libfuel-common"] == ("installed", "1.2-0mos3"), host
        assert real["fuel-lab-hook"] == ("installed", "1.0-0mos2"), host
        assert lab.node_run(host, ["dpkg", "--audit"]).stdout == "", host
        assert record(lab, host)["id"] == 2, host
        assert nodes[host]["outcome"] == "ok" and nodes[host]["mu_after"] == 2
    assert pids(lab, "cmp-3")["fuel-lab-libsvc"] != pids_before["cmp-3"]["fuel-lab-libsvc"]
    assert nodes["cmp-3"]["restarted"] == ["fuel-lab-libsvc"]
    assert json.loads(lab.read("cmp-1", "/etc/ansible/facts.d/fuel_mu.fact"))["installed"]["id"] == 2
    assert "fuel-lab-hook 1.0-0mos1" in lab.read("cmp-1", "/var/lib/fuel-lifecycle/mu/packages-before-mu2.txt")

    # every node on MU 2: a rerun changes nothing on any node, byte for byte
    digests = {host: upper_digest(lab, host) for host in ENV_HOSTS}
    again = lab.playbook(MU_INSTALL, extra_vars=mu_vars(lab, str(tmp_path / "again")))
    assert again.rc == 0, again
    assert set(again.changed_hosts()) <= {"ctrl-1"}, again.changed_hosts()  # ctrl-1: the reports, on localhost
    assert not [line for line in again.output.splitlines() if line.startswith("changed:")
                and "-> localhost]" not in line]
    for host in ENV_HOSTS:
        after = upper_digest(lab, host)
        differ = {k for k in set(digests[host]) | set(after) if digests[host].get(k) != after.get(k)}
        assert differ <= ({HISTORY.lstrip("/")} if host == "ctrl-1" else set()), (host, differ)


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
