"""The legacy node: Debian 11 whose only Python is 2.7, driven by ansible-core 2.16 over SSH.

Every run here goes through .venv-legacy's ansible-playbook on the legacy
inventory (the legacy node together with the modern env_1 nodes). Outcomes are
read from the node itself: dpkg-query, apt-cache policy, /proc, file bytes and
modes; the modules' reports are only compared with that state.
"""

import hashlib
import json
import os
import re
import signal
import subprocess
import time

import pytest
import yaml

from labfixture import REPO

NODE = "legacy-1"
KEYRING = "/etc/apt/keyrings/fuel-lab.gpg"
MU_INSTALL = "playbooks/mu_install.yml"
MU_CHECK = "playbooks/mu_check.yml"


@pytest.fixture(scope="module", autouse=True)
def deployed_state_afterwards(lab):
    """Every node these tests touch is left as deployed for the tests that follow."""
    lab.reset(NODE)
    yield
    lab.reset(*([NODE] + lab.hosts("apt")))


def module_options(module):
    """The module's documented options (its interface as this checkout has it)."""
    with open(os.path.join(REPO, "plugins", "modules", module + ".py"), encoding="utf-8") as handle:
        doc = re.search(r'DOCUMENTATION = r?("""|\'\'\')(.*?)\1', handle.read(), re.S).group(2)
    return yaml.safe_load(doc).get("options") or {}


def play(tasks, hosts=NODE):
    return [{"hosts": hosts, "gather_facts": False, "tasks": tasks}]


def run_on_node(lab, tasks, **kwargs):
    run = lab.playbook(play(tasks), legacy=True, **kwargs)
    return run


def result(run, name, host=NODE):
    found = run.task(name, host)
    assert found, run
    return found[0]["result"]


def packages(lab, host=NODE):
    """Package -> version of every installed package, from dpkg's database."""
    out = lab.node_run(host, ["dpkg-query", "-W", "-f", "${Package} ${Version} ${db:Status-Abbrev}\n"]).stdout
    return {line.split()[0]: line.split()[1] for line in out.splitlines() if line.split()[2:3] == ["ii"]}


def tree_digest(lab, host, *paths):
    """sha256 over path, mode and content of every file under ``paths`` of a node (missing: noted)."""
    digest = hashlib.sha256()
    for top in paths:
        full = os.path.join(lab.root(host), top.lstrip("/"))
        if os.path.isfile(full):
            walk = [(os.path.dirname(full), [], [os.path.basename(full)])]
        elif os.path.isdir(full):
            walk = sorted(os.walk(full))
        else:
            digest.update(("absent %s\n" % top).encode())
            continue
        for base, dirs, files in walk:
            dirs.sort()
            for name in sorted(files):
                path = os.path.join(base, name)
                digest.update(("%s %o\n" % (os.path.relpath(path, lab.root(host)), os.lstat(path).st_mode)).encode())
                if os.path.islink(path):
                    digest.update(os.readlink(path).encode())
                else:
                    with open(path, "rb") as handle:
                        digest.update(handle.read())
    return digest.hexdigest()


def deb_repo(lab, repo, suite, **extra):
    return dict({"type": "deb", "name": repo, "uri": "%s/deb/%s" % (lab.mirror_url, repo), "suite": suite,
                 "section": "main", "signed_by": KEYRING}, **extra)


def candidate(lab, package="libfuel-common"):
    lab.node_run(NODE, ["apt-get", "update", "-q"])
    policy = lab.node_run(NODE, ["apt-cache", "policy", package]).stdout
    return [line.split()[1] for line in policy.splitlines() if line.strip().startswith("Candidate:")][0]


def test_node_has_python27_only_and_the_main_controller_never_sees_it(lab):
    installed = packages(lab)
    assert "python2.7" in installed
    assert not [name for name in installed if name.startswith(("python3", "libpython3"))], installed
    root = lab.root(NODE)
    assert not [name for name in os.listdir(os.path.join(root, "usr/bin")) if name.startswith("python3")]
    assert lab.node_run(NODE, ["/usr/bin/python2.7", "-c", "import sys; print(sys.version_info[:2])"]).stdout \
        .strip() == "(2, 7)"
    assert lab.read(NODE, "/etc/debian_version").startswith("11.")
    with open(lab.inventory, encoding="utf-8") as handle:
        assert NODE not in handle.read()
    run = lab.playbook(play([{"name": "ping", "ansible.builtin.ping": {}}], hosts="all"), legacy=True)
    assert run.rc == 0, run
    assert NODE in run.stats and "ctrl-1" in run.stats, run.stats
    version = lab.playbook(play([{"name": "version", "ansible.builtin.debug": {"var": "ansible_version.full"}}],
                                hosts="localhost"), legacy=True)
    assert result(version, "version", "localhost")["ansible_version.full"].startswith("2.16."), version


def test_repo_info_lists_the_node_sources(lab):
    run = run_on_node(lab, [{"name": "info", "fuel.lifecycle.repo_info": {}, "register": "out"}])
    assert run.rc == 0, run
    repos = result(run, "info")["repositories"]
    lines = [line.split() for line in lab.read(NODE, "/etc/apt/sources.list.d/fuel-lab.list").splitlines()
             if line.startswith("deb ")]
    on_node = sorted((words[2], words[3]) for words in lines)  # deb [signed-by=..] URI SUITE SECTION
    assert len(on_node) == 2
    assert sorted((r["uri"].rstrip("/"), r["suite"]) for r in repos if r["file"].endswith("fuel-lab.list")) \
        == on_node, repos


def test_repo_priorities_pins_flip_the_apt_candidate_and_rerun_keeps_bytes(lab):
    lab.reset(NODE)
    repos = [deb_repo(lab, "vendor", "mos9.0", **{"class": "vendor"}),
             deb_repo(lab, "mu1", "mos9.0-mu1", **{"class": "vendor"}),
             deb_repo(lab, "upstream", "upstream", **{"class": "upstream"})]
    managed = ("/etc/apt/sources.list.d", "/etc/apt/preferences.d", "/etc/apt/sources.list")
    task = {"name": "pins", "fuel.lifecycle.repo_priorities": {"repos": repos, "package_manager": "apt"}}
    nopins = {"name": "nopins", "fuel.lifecycle.repo_priorities": {"repos": repos, "package_manager": "apt",
                                                                   "apt_pins": {"vendor": None}}}
    run = run_on_node(lab, [nopins])
    assert run.rc == 0, run
    assert candidate(lab) == "1.3-1"  # upstream's newer version wins without pins
    before = tree_digest(lab, NODE, *managed)
    preview = run_on_node(lab, [task], check=True)
    assert preview.rc == 0 and result(preview, "pins")["changed"] is True, preview
    assert tree_digest(lab, NODE, *managed) == before, "check mode wrote files"
    run = run_on_node(lab, [task])
    assert run.rc == 0, run
    assert candidate(lab) == "1.2-0mos2"  # the vendor pin (1050) wins now
    after = tree_digest(lab, NODE, *managed)
    assert after != before
    again = run_on_node(lab, [task])
    assert again.rc == 0 and result(again, "pins")["changed"] is False, again
    assert tree_digest(lab, NODE, *managed) == after, "rerun changed bytes or modes"


def test_repo_check_names_the_dead_repo_and_the_missing_package(lab):
    dead = dict(deb_repo(lab, "dead", "mos9.0"), uri="http://127.0.0.1:9/deb")
    before = tree_digest(lab, NODE, "/etc/apt")
    run = run_on_node(lab, [{"name": "check", "fuel.lifecycle.repo_check": {
        "repos": [deb_repo(lab, "vendor", "mos9.0"), dead], "packages": ["fuel-agent", "fuel-nonexistent"],
        "timeout": 3}}])
    assert run.rc == 0, run
    found = result(run, "check")
    assert found["unreachable_repos"] == ["dead"], found
    assert found["missing_packages"] == ["fuel-nonexistent"], found
    vendor = {r["name"]: r for r in found["repos"]}["vendor"]
    assert vendor["reachable"] and vendor["signature"] == "valid", vendor
    assert tree_digest(lab, NODE, "/etc/apt") == before


def test_package_swap_apt_plan_apply_and_rerun(lab):
    lab.reset(NODE)
    with open(os.path.join(lab.root(NODE), "etc/apt/sources.list.d/upstream.list"), "w", encoding="utf-8") as out:
        out.write("deb [signed-by=%s] %s/deb/upstream upstream main\n" % (KEYRING, lab.mirror_url))
    swap = {"name": "swap", "fuel.lifecycle.package_swap": {
        "swaps": [{"remove": ["fuel-utils"], "install": ["fuel-tools"]}], "package_manager": "apt",
        "update_cache": True}}
    before = packages(lab)
    assert "fuel-utils" in before and "fuel-tools" not in before
    plan = run_on_node(lab, [swap], check=True)
    assert plan.rc == 0 and result(plan, "swap")["changed"], plan
    assert packages(lab) == before, "check mode changed the package database"
    run = run_on_node(lab, [swap])
    assert run.rc == 0, run
    after = packages(lab)
    assert after.get("fuel-tools") == "2.1-1" and "fuel-utils" not in after, after
    assert lab.read(NODE, "/usr/share/fuel-lab/fuel-tools.version").strip() == "2.1-1"
    digest = tree_digest(lab, NODE, "/var/lib/dpkg/status", "/etc/apt")
    again = run_on_node(lab, [swap])
    assert again.rc == 0 and not again.changed_hosts(), again
    assert packages(lab) == after
    assert tree_digest(lab, NODE, "/var/lib/dpkg/status", "/etc/apt") == digest


def test_mu_version_query_then_record_from_the_mirror(lab):
    lab.reset(NODE)
    path = "/etc/fuel/mu-version.json"
    on_node = json.loads(lab.read(NODE, path))
    run = run_on_node(lab, [{"name": "query", "fuel.lifecycle.mu_version": {
        "mirror_url": lab.mirror_url, "release": "9.0"}}])
    assert run.rc == 0, run
    query = result(run, "query")
    assert query["mu_installed"]["id"] == on_node["id"] == 1 and query["mu_available"]["id"] == 2, query
    assert query["mu_status"] == "update-available"
    record = json.loads(lab.node_run(NODE, ["cat", path]).stdout)
    assert record == on_node, "a query wrote the record"

    mirror = {"id": 2, "title": "Maintenance update 2", "timestamp": 1769904000,
              "doc_link": "https://docs.example.invalid/mu/2"}
    task = {"name": "record", "fuel.lifecycle.mu_version": {"state": "present", "record": mirror}}
    run = run_on_node(lab, [task])
    assert run.rc == 0, run
    written = json.loads(lab.read(NODE, path))
    assert {k: written[k] for k in mirror} == mirror, written
    digest = tree_digest(lab, NODE, path, "/etc/ansible/facts.d")
    again = run_on_node(lab, [task])
    assert again.rc == 0 and not again.changed_hosts(), again
    assert tree_digest(lab, NODE, path, "/etc/ansible/facts.d") == digest, "rerun rewrote the record"


def test_needs_restart_finds_the_process_holding_a_replaced_file(lab):
    lab.reset(NODE)
    data = "/usr/share/fuel-lab/libfuel-common.version"
    holder = subprocess.Popen(  # pylint: disable=consider-using-with
        ["chroot", lab.root(NODE), "/usr/bin/python2.7", "-c",
         "import mmap, time\nf = open(%r, 'rb')\nm = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)\n"
         "time.sleep(600)\n" % data], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and data not in open("/proc/%d/maps" % holder.pid).read():
            time.sleep(0.1)
        clean = run_on_node(lab, [{"name": "before", "fuel.lifecycle.needs_restart": {}}])
        assert clean.rc == 0, clean
        assert holder.pid not in [p["pid"] for p in result(clean, "before")["processes"]]
        # The MU replaces libfuel-common's file under the running process.
        with open(os.path.join(lab.root(NODE), "etc/apt/sources.list.d/mu2.list"), "w", encoding="utf-8") as out:
            out.write("deb [signed-by=%s] %s/deb/mu2 mos9.0-mu2 main\n" % (KEYRING, lab.mirror_url))
        lab.node_run(NODE, ["apt-get", "update", "-q"])
        lab.node_run(NODE, ["apt-get", "install", "-y", "-q", "libfuel-common"])
        assert packages(lab)["libfuel-common"] == "1.2-0mos3"
        with open("/proc/%d/maps" % holder.pid, encoding="utf-8") as maps:
            assert "%s (deleted)" % data in maps.read()  # the node's own view: the old file is still mapped
        run = run_on_node(lab, [{"name": "after", "fuel.lifecycle.needs_restart": {}}])
        assert run.rc == 0, run
        stale = {p["pid"]: p for p in result(run, "after")["processes"]}
        assert holder.pid in stale, stale
        assert data in stale[holder.pid]["files"]
    finally:
        os.killpg(holder.pid, signal.SIGKILL)
        holder.wait()


def test_env_lock_acquire_refuse_release(lab):
    lock = "/var/lib/fuel-lifecycle/legacy-test.lock"
    full = os.path.join(lab.root(NODE), lock.lstrip("/"))

    def lock_task(name, owner, state="present"):
        args = {"path": lock, "owner": owner, "state": state, "scope": "env_1", "purpose": "legacy test"}
        if "run_id" in module_options("env_lock"):  # the lock belongs to one run: taking, re-entering, releasing
            args["run_id"] = owner + "-run"
        return {"name": name, "fuel.lifecycle.env_lock": args, "ignore_errors": True}

    run = run_on_node(lab, [lock_task("take", "job-a")])
    assert run.rc == 0 and result(run, "take")["changed"], run
    with open(full, "rb") as handle:
        held = handle.read()
    assert json.loads(held.decode())["owner"] == "job-a"
    mode = os.stat(full).st_mode
    run = run_on_node(lab, [lock_task("steal", "job-b")])
    # the module's own failure: the callback saw the task fail (ignored only by ignore_errors)
    refused = run.task("steal", NODE)[0]
    assert refused["status"] == "ignored" and "job-a" in refused["result"]["msg"], refused
    with open(full, "rb") as handle:
        assert handle.read() == held and os.stat(full).st_mode == mode, "a refused lock rewrote the file"
    run = run_on_node(lab, [lock_task("again", "job-a")])
    assert run.rc == 0 and not result(run, "again")["changed"], run
    with open(full, "rb") as handle:
        assert handle.read() == held
    run = run_on_node(lab, [lock_task("release", "job-a", "absent")])
    assert run.rc == 0 and result(run, "release")["changed"], run
    assert not os.path.exists(full)


def test_mu_check_and_install_roll_over_legacy_and_modern_nodes(lab, tmp_path):
    env = sorted(lab.hosts("apt") + [NODE])
    lab.reset(*env)
    url = lab.mirror_url
    check = lab.playbook(MU_CHECK, legacy=True, extra_vars={
        "fuel_mu_env": "1", "fuel_mu_mirror_url": url, "fuel_mu_report_dir": str(tmp_path / "check")})
    assert check.rc == 0, check
    report = json.loads((tmp_path / "check" / "mu-check.json").read_text())
    assert sorted(row["host"] for row in report) == env
    assert {row["host"]: row["status"] for row in report} == {host: "update-available" for host in env}
    before = {host: packages(lab, host) for host in env}
    assert {host: before[host]["libfuel-common"] for host in env} == {host: "1.2-0mos2" for host in env}

    run = lab.playbook(MU_INSTALL, legacy=True, extra_vars={
        "fuel_mu_env": "1", "fuel_mu_mirror_url": url, "fuel_mu_release": "9.0",
        "fuel_mu_report_dir": str(tmp_path / "install"),
        "fuel_mu_apt_repos": [{"uri": url + "/deb/mu2", "suite": "mos9.0-mu2", "section": "main",
                               "signed_by": KEYRING}]})
    assert run.rc == 0, run
    for host in env:
        after = packages(lab, host)
        assert after["libfuel-common"] == "1.2-0mos3" and after["fuel-agent"] == "1.0-0mos3", (host, after)
        assert json.loads(lab.read(host, "/etc/fuel/mu-version.json"))["id"] == 2, host
        assert lab.node_run(host, ["dpkg", "--audit"]).stdout == "", host
    assert not os.path.exists(os.path.join(lab.root("ctrl-1"), "var/lib/fuel-lifecycle/mu-env.lock"))
    summary = json.loads((tmp_path / "install" / "mu-install.json").read_text())
    assert summary["outcome"] == "completed", summary
