"""In-place upgrade of a 6-node environment (1 primary + 2 controllers + 3 computes) from
9.0 to 10.0: the plan in check mode, a failure on one compute that stops the roll before
the next batch, the guards (a second upgrade, mu_install) while the environment is in
'upgrade', and the rerun that resumes from the failed node and finishes.

Everything is decided by what the nodes hold: dpkg-query, sha256sum of the data, the
release records and hook stamps written on the nodes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time

import pytest

from labfixture import REPO, Lab

CONTROLLERS = ["ctrl-1", "ctrl-2", "ctrl-3"]
COMPUTES = ["cmp-1", "cmp-2", "cmp-3"]
ENV_HOSTS = CONTROLLERS + COMPUTES
STATE = "/var/lib/fuel-lifecycle/env-upgrade.json"
MARKER = "/etc/fuel-lab/fail-postinst"
PLAYBOOK = os.path.join(REPO, "playbooks", "env_upgrade.yml")
MU_INSTALL = os.path.join(REPO, "playbooks", "mu_install.yml")
DATA = "/var/lib/fuel-lab/data"
STAMPS = "/var/lib/fuel-lab/hooks"
OLD = {"fuel-agent": "1.0-0mos2", "libfuel-common": "1.2-0mos2", "fuel-utils": "2.0-0mos2",
       "fuel-lab-hook": "1.0-0mos1"}
NEW = {"fuel-agent": "2.0-0mos1", "libfuel-common": "1.9-0mos3", "fuel-cli": "3.0-0mos1",
       "fuel-lab-hook": "2.0-0mos1", "fuel-release": "10.0-0mos1"}
TIMINGS = {}
SAVED = {}


def stamp_hook(name):
    return ["sh", "-c", "mkdir -p %s && date +%%s.%%N > %s/%s" % (STAMPS, STAMPS, name)]


@pytest.fixture(scope="module")
def uplab():
    lab = Lab(os.path.join(REPO, "build", "lab-envup"),
              topology=["--rpm", "0", "--controllers", "3", "--computes", "3"])
    lab.up()
    try:
        for host in ENV_HOSTS:
            lab.reset(host)
        setup = lab.playbook([{"hosts": "env_1", "gather_facts": False, "tasks": [
            {"name": "install the daemon and the hook package of 9.0", "ansible.builtin.apt": {
                "name": ["fuel-lab-libsvc", "fuel-lab-hook"], "update_cache": True}}]}])
        assert setup.rc == 0, setup
        for host in ENV_HOSTS:
            lab.node_run(host, ["/etc/init.d/fuel-lab-libsvc", "start"])
            # data partitions: a database and images, different on every node
            lab.node_run(host, ["mkdir", "-p", DATA + "/db", DATA + "/images/.snap"])
            lab.node_run(host, ["dd", "if=/dev/urandom", "of=%s/db/records.db" % DATA, "bs=64k", "count=4"])
            lab.node_run(host, ["dd", "if=/dev/urandom", "of=%s/images/cirros.img" % DATA, "bs=64k", "count=8"])
            lab.node_run(host, ["sh", "-c", "echo %s > %s/images/.snap/owner" % (host, DATA)])
        yield lab
    finally:
        lab.down()
        if TIMINGS:
            print("\nenv upgrade timings: %s" % ", ".join("%s %.1f s" % item for item in TIMINGS.items()))


def upgrade_vars(lab, report_dir, **extra):
    url = lab.mirror_url
    key = "/etc/apt/keyrings/fuel-lab.gpg"
    data = {
        "env_upgrade_env": "1", "env_upgrade_target_release": "10.0", "env_upgrade_source_release": "9.0",
        "env_upgrade_report_dir": report_dir,
        "env_upgrade_repos": [
            {"type": "deb", "name": "release-10-vendor", "class": "vendor", "uri": url + "/deb/r10-vendor",
             "suite": "mos10.0", "section": "main", "signed_by": key},
            {"type": "deb", "name": "release-10-upstream", "class": "upstream", "uri": url + "/deb/r10-upstream",
             "suite": "upstream10.0", "section": "main", "signed_by": key},
            {"type": "deb", "name": "release-10-holdback", "class": "holdback", "uri": url + "/deb/r10-holdback",
             "suite": "mos10.0-holdback", "section": "main", "signed_by": key}],
        "env_upgrade_swaps": [{"remove": ["fuel-utils"], "install": ["fuel-cli"]}],
        "env_upgrade_packages": ["fuel-release"],
        "env_upgrade_data_paths": [DATA],
        "env_upgrade_isolate_commands": [stamp_hook("isolated")],
        "env_upgrade_isolation_check_commands": [["test", "-s", STAMPS + "/isolated"], stamp_hook("checked")],
        "env_upgrade_switch_commands": [stamp_hook("switched")],
        "env_upgrade_serial": 2,
    }
    data.update(extra)
    return data


def versions(lab, host):
    out = lab.node_run(host, ["dpkg-query", "-W", "-f=${Package} ${Version} ${db:Status-Status}\n"]).stdout
    return {line.split()[0]: line.split()[1] for line in out.splitlines() if line.endswith(" installed")}


def data_sums(lab, host):
    out = lab.node_run(host, ["sh", "-c", "cd %s && find . -type f -print0 | sort -z | xargs -0 sha256sum" % DATA])
    return out.stdout


def release_record(lab, host):
    path = os.path.join(lab.root(host), "etc/fuel/release.json")
    if not os.path.exists(path):
        return None
    return json.loads(lab.read(host, "/etc/fuel/release.json"))


def stamp(lab, host, name):
    return float(lab.read(host, "%s/%s" % (STAMPS, name)))


def state(lab):
    return json.loads(lab.read("ctrl-1", STATE))


def libsvc_pid(lab, host):
    return int(lab.read(host, "/run/fuel-lab-libsvc.pid"))


def test_check_mode_shows_the_plan_and_changes_nothing(uplab, tmp_path):
    lab = uplab
    before = {host: versions(lab, host) for host in ENV_HOSTS}
    sources = lab.read("cmp-1", "/etc/apt/sources.list.d/fuel-lab.list")
    started = time.monotonic()
    run = lab.playbook(PLAYBOOK, extra_vars=upgrade_vars(lab, str(tmp_path)), check=True, diff=True)
    TIMINGS["check mode plan"] = time.monotonic() - started
    assert run.rc == 0, run
    plans = run.task("Plan of the node")
    assert sorted(r["host"] for r in plans) == sorted(ENV_HOSTS)
    for result in plans:
        assert result["result"]["msg"]["release"].split() == ["9.0", "->", "10.0"], result
        assert "/etc/apt/sources.list.d/release-10-vendor.list" in result["result"]["msg"]["repositories_written"]
    assert "primary: ctrl-1" in run.output and "controllers: ctrl-2" in run.output and "others: cmp-3" in run.output
    assert not os.path.exists(os.path.join(lab.root("ctrl-1"), STATE.lstrip("/")))
    assert {host: versions(lab, host) for host in ENV_HOSTS} == before
    assert lab.read("cmp-1", "/etc/apt/sources.list.d/fuel-lab.list") == sources


def test_failed_compute_stops_the_roll_and_the_environment_refuses_other_work(uplab, tmp_path):
    lab = uplab
    for host in ENV_HOSTS:
        assert {k: versions(lab, host).get(k) for k in OLD} == OLD, host
    lab.node_run("cmp-2", ["touch", MARKER])
    sums = {host: data_sums(lab, host) for host in ENV_HOSTS}
    SAVED["sums"] = sums
    pids = {host: libsvc_pid(lab, host) for host in ENV_HOSTS}
    first = {}

    def upgrade():
        started = time.monotonic()
        first["run"] = lab.playbook(PLAYBOOK, extra_vars=upgrade_vars(lab, str(tmp_path / "first")))
        TIMINGS["first run (stops at cmp-2)"] = time.monotonic() - started

    worker = threading.Thread(target=upgrade)
    worker.start()
    record = os.path.join(lab.root("ctrl-1"), STATE.lstrip("/"))
    deadline = time.monotonic() + 120
    while not os.path.exists(record) and time.monotonic() < deadline:
        time.sleep(0.1)
    held = state(lab)
    # A second upgrade of the environment while the first runs: refused by the state module, nothing changed.
    second = lab.playbook(PLAYBOOK, extra_vars=upgrade_vars(lab, str(tmp_path / "second")))
    worker.join()
    run = first["run"]
    begin = second.task("Begin or resume the upgrade")
    assert second.rc != 0 and begin and begin[0]["status"] == "failed" and begin[0]["result"]["refused"], second
    message = begin[0]["result"]["msg"]
    assert "environment 1 is in state 'upgrade' to release 10.0 since %s" % held["since"] in message, message
    assert "held by %s (run active since" % held["run"]["owner"] in message, message
    assert not second.changed_hosts(), second.changed_hosts()

    # The first run stopped after the batch of cmp-2: cmp-1 done, cmp-3 untouched.
    assert run.rc != 0, run
    assert "environment upgrade stopped on cmp-2" in run.output, run
    record_now = state(lab)
    assert record_now["status"] == "upgrade" and record_now["run"] is None
    assert {n: record_now["nodes"][n]["status"] for n in ENV_HOSTS} == {
        "ctrl-1": "done", "ctrl-2": "done", "ctrl-3": "done", "cmp-1": "done", "cmp-2": "failed",
        "cmp-3": "pending"}
    assert "fuel-lab-hook" in record_now["nodes"]["cmp-2"]["message"]
    for host in CONTROLLERS + ["cmp-1"]:
        assert {k: versions(lab, host).get(k) for k in NEW} == NEW, host
        assert "fuel-utils" not in versions(lab, host)
        assert release_record(lab, host)["release"] == "10.0"
    assert {k: versions(lab, "cmp-3").get(k) for k in OLD} == OLD
    assert release_record(lab, "cmp-3") is None
    assert not os.path.exists(os.path.join(lab.root("cmp-3"), "etc/apt/sources.list.d/release-10-vendor.list"))
    assert libsvc_pid(lab, "cmp-3") == pids["cmp-3"]
    assert libsvc_pid(lab, "cmp-1") != pids["cmp-1"]  # libfuel-common replaced: its daemon restarted
    report = json.loads((tmp_path / "first" / "env-upgrade.json").read_text())
    assert report["outcome"] == "stopped: cmp-2 failed" and report["status"] == "upgrade"
    assert {n: (v["release"], v["status"]) for n, v in report["nodes"].items()} == {
        "ctrl-1": ("10.0", "done"), "ctrl-2": ("10.0", "done"), "ctrl-3": ("10.0", "done"),
        "cmp-1": ("10.0", "done"), "cmp-2": ("9.0", "failed"), "cmp-3": ("9.0", "pending")}
    assert "| cmp-3 | 9.0 | pending |" in (tmp_path / "first" / "env-upgrade.md").read_text()

    # A maintenance update of the environment is refused while it is in 'upgrade'.
    mu_before = {host: lab.read(host, "/etc/fuel/mu-version.json") for host in ENV_HOSTS}
    mu = lab.playbook(MU_INSTALL, extra_vars={
        "fuel_mu_env": "1", "fuel_mu_mirror_url": lab.mirror_url, "fuel_mu_release": "9.0",
        "fuel_mu_report_dir": str(tmp_path / "mu"),
        "fuel_mu_apt_repos": [{"uri": lab.mirror_url + "/deb/mu2", "suite": "mos9.0-mu2", "section": "main",
                               "signed_by": "/etc/apt/keyrings/fuel-lab.gpg"}]})
    guard = mu.task("Env_upgrade | Refuse while the environment is upgraded")
    assert mu.rc != 0 and guard and guard[0]["status"] == "failed" and guard[0]["result"]["refused"], mu
    assert guard[0]["result"]["msg"].startswith(
        "mu_install refused: environment 1 is in state 'upgrade' to release 10.0 since %s, held by %s (no run active)"
        % (held["since"], held["begun_by"])), guard[0]["result"]["msg"]
    assert not mu.changed_hosts()
    assert {host: lab.read(host, "/etc/fuel/mu-version.json") for host in ENV_HOSTS} == mu_before

    # So is a change of the repositories of one of its nodes (the record is on its primary controller).
    sources = lab.read("cmp-3", "/etc/apt/sources.list.d/fuel-lab.list")
    repos = lab.playbook(os.path.join(REPO, "playbooks", "repos.yml"), extra_vars={
        "fuel_repos_hosts": "cmp-3", "repos_check": False, "repos_exclusive": True,
        "repos_list": [{"type": "deb", "name": "mu2", "class": "vendor", "uri": lab.mirror_url + "/deb/mu2",
                        "suite": "mos9.0-mu2", "section": "main", "signed_by": "/etc/apt/keyrings/fuel-lab.gpg"}]})
    guard = repos.task("Env_upgrade | Refuse while the environment is upgraded", "cmp-3")
    assert repos.rc != 0 and guard and guard[0]["status"] == "failed" and guard[0]["result"]["refused"], repos
    assert guard[0]["result"]["msg"].startswith("repos refused: environment 1 is in state 'upgrade'")
    assert lab.read("cmp-3", "/etc/apt/sources.list.d/fuel-lab.list") == sources
    assert not os.path.exists(os.path.join(lab.root("cmp-3"), "etc/apt/sources.list.d/mu2.list"))


def test_rerun_resumes_from_the_failed_node_and_finishes(uplab, tmp_path):
    lab = uplab
    lab.node_run("cmp-2", ["rm", "-f", MARKER])
    cmp1_record = lab.read("cmp-1", "/etc/fuel/release.json")
    started = time.monotonic()
    run = lab.playbook(PLAYBOOK, extra_vars=upgrade_vars(lab, str(tmp_path)))
    TIMINGS["rerun (cmp-2, cmp-3)"] = time.monotonic() - started
    assert run.rc == 0, run
    # Only the failed node and the untouched one were upgraded by the rerun.
    upgraded = sorted(r["host"] for r in run.task("Record the node done"))
    assert upgraded == ["cmp-2", "cmp-3"], upgraded
    assert lab.read("cmp-1", "/etc/fuel/release.json") == cmp1_record
    for host in ENV_HOSTS:
        installed = versions(lab, host)
        assert {k: installed.get(k) for k in NEW} == NEW, (host, installed)
        assert "fuel-utils" not in installed, host
        assert lab.node_run(host, ["dpkg", "--audit"]).stdout == "", host
        assert lab.node_run(host, ["/usr/bin/fuel-util"]).stdout.strip() == "fuel-cli 3.0-0mos1"
        assert release_record(lab, host)["release"] == "10.0"
        assert release_record(lab, host)["previous_release"] == "9.0"
    sums = SAVED["sums"]  # taken before the first run
    for host in ENV_HOSTS:
        assert data_sums(lab, host) == sums[host] and sums[host].count("\n") == 3, host
    # Order, from the times recorded on the nodes: primary isolated, upgraded, checked, switch; then the
    # controllers one by one; then the computes (cmp-1 and cmp-2 in one batch of the first run, cmp-2 again
    # and cmp-3 in the rerun).
    rec = {host: release_record(lab, host) for host in ENV_HOSTS}
    primary = rec["ctrl-1"]
    assert primary["started_at"] < stamp(lab, "ctrl-1", "isolated") < stamp(lab, "ctrl-1", "checked") \
        < stamp(lab, "ctrl-1", "switched") < primary["finished_at"]
    order = ["ctrl-1", "ctrl-2", "ctrl-3", "cmp-1"]
    for earlier, later in zip(order, order[1:]):
        assert rec[earlier]["finished_at"] < rec[later]["started_at"], (earlier, later, rec)
    assert stamp(lab, "ctrl-1", "switched") < rec["ctrl-2"]["started_at"]
    assert rec["cmp-2"]["finished_at"] > rec["cmp-1"]["finished_at"]
    # cmp-2 and cmp-3 formed one batch of the rerun: each started before the other finished.
    assert rec["cmp-2"]["started_at"] < rec["cmp-3"]["finished_at"]
    assert rec["cmp-3"]["started_at"] < rec["cmp-2"]["finished_at"]
    # The environment left 'upgrade': finished on 10.0, the history tells the story.
    final = state(lab)
    assert final["status"] == "finished" and final["release"] == "10.0" and final["run"] is None
    events = [(e["event"], e.get("node"), e.get("status")) for e in final["history"]]
    assert events.count(("begin", None, None)) == 1 and ("resume", None, None) in events
    assert ("node", "cmp-2", "failed") in events and events[-1] == ("finish", None, None)
    report = json.loads((tmp_path / "env-upgrade.json").read_text())
    assert report["outcome"] == "completed" and report["status"] == "finished"
    assert {n: (v["release"], v["status"]) for n, v in report["nodes"].items()} == {
        n: ("10.0", "done") for n in ENV_HOSTS}
    # Finished: the guard lets other operations run again; a second upgrade to 10.0 is refused.
    again = lab.playbook(PLAYBOOK, extra_vars=upgrade_vars(lab, str(tmp_path / "again")))
    begin = again.task("Begin or resume the upgrade")
    assert again.rc != 0 and begin[0]["status"] == "failed" and begin[0]["result"]["refused"]
    assert "already on release 10.0" in begin[0]["result"]["msg"]
    guard = lab.playbook([{"hosts": "env_1", "gather_facts": False, "tasks": [{
        "name": "guard", "ansible.builtin.include_role": {"name": "fuel.lifecycle.env_upgrade",
                                                          "tasks_from": "refuse_during_upgrade"},
        "vars": {"env_upgrade_lock_host": "ctrl-1", "env_upgrade_guard_operation": "mu_install"}}]}])
    assert guard.rc == 0, guard


def test_busy_node_refuses_to_start_and_changed_data_fails_the_node(uplab, tmp_path):
    """A second environment made of cmp-3 alone (its own record on cmp-3): a task running on
    the node refuses the begin; then a hook that writes into a data path fails the node."""
    lab = uplab
    record = "/var/lib/fuel-lifecycle/env-upgrade-env2.json"
    busy = "/var/lib/fuel-lifecycle/mu/node.lock"
    lab.node_run("cmp-3", ["mkdir", "-p", os.path.dirname(busy)])
    # a maintenance update working on the node holds its node lock (flock)
    holder = subprocess.Popen(["chroot", lab.root("cmp-3"), "flock", busy, "sleep", "600"],  # pylint: disable=consider-using-with
                              start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        while lab.node_run("cmp-3", ["flock", "-n", busy, "true"], check=False).returncode == 0:
            assert time.monotonic() < deadline, "the lock holder did not start"
            time.sleep(0.1)
        extra = {"env_upgrade_env": "2", "env_upgrade_hosts": "cmp-3", "env_upgrade_state_path": record}
        refused = lab.playbook(PLAYBOOK, extra_vars=upgrade_vars(lab, str(tmp_path / "busy"), **extra))
    finally:
        os.killpg(holder.pid, signal.SIGKILL)  # flock and the sleep holding the lock
        holder.wait()
    begin = refused.task("Begin or resume the upgrade")
    assert refused.rc != 0 and begin[0]["status"] == "failed" and begin[0]["result"]["refused"], refused
    assert "node cmp-3 has running tasks: held: %s" % busy in begin[0]["result"]["msg"]
    assert not os.path.exists(os.path.join(lab.root("cmp-3"), record.lstrip("/")))
    # the lock file stays once its holder is gone: no longer busy (the run below starts)
    assert os.path.exists(os.path.join(lab.root("cmp-3"), busy.lstrip("/")))

    before = data_sums(lab, "cmp-3")
    writer = ["sh", "-c", "echo tampered >> %s/db/records.db" % DATA]
    run = lab.playbook(PLAYBOOK, extra_vars=upgrade_vars(lab, str(tmp_path / "data"), env_upgrade_other_post_commands=[
        writer], **extra))
    assert run.rc != 0, run
    assert "environment upgrade stopped on cmp-3" in run.output
    assert data_sums(lab, "cmp-3") != before  # the hook really wrote
    node = json.loads(lab.read("cmp-3", record))["nodes"]["cmp-3"]
    assert node["status"] == "failed", node
    assert "data changed on cmp-3 during the upgrade: changed %s/db/records.db" % DATA in node["message"], node
