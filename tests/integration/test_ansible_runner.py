"""Playbooks run unchanged under ansible-runner (what AWX uses), with per-host results in its artifacts."""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import subprocess
import sys

from labfixture import REPO


def test_node_report_under_ansible_runner(lab, tmp_path):
    data = tmp_path / "runner"
    (data / "inventory").mkdir(parents=True)
    shutil.copy(lab.inventory, data / "inventory" / "hosts.yml")
    (data / "env").mkdir()
    (data / "env" / "envvars").write_text(json.dumps({
        "ANSIBLE_CONFIG": os.path.join(REPO, "ansible.cfg"),
        "ANSIBLE_COLLECTIONS_PATH": os.path.join(REPO, "build", "collections"),
    }))
    proc = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "ansible-runner"), "run", str(data),
         "--playbook", os.path.join(REPO, "playbooks", "node_report.yml"), "--ident", "report"],
        text=True, capture_output=True, check=False,
        env=dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    artifacts = data / "artifacts" / "report"
    assert (artifacts / "rc").read_text().strip() == "0"
    events = []
    for path in glob.glob(str(artifacts / "job_events" / "*.json")):
        with open(path, encoding="utf-8") as handle:
            events.append(json.load(handle))
    ok_hosts = {e["event_data"]["host"] for e in events
                if e.get("event") == "runner_on_ok" and e["event_data"].get("task_action", "").endswith("repo_info")}
    assert ok_hosts == set(lab.hosts())
    final = [e for e in events if e.get("event") == "playbook_on_stats"][0]["event_data"]
    assert set(final["ok"]) == set(lab.hosts()) and not final["failures"]
    assert set(final["artifact_data"]["node_report"]) == set(lab.hosts())


# --- The AWX path over the Nailgun inventory ------------------------------------------------------------
# AWX runs a job template's playbook (awx/playbooks/*.yml, which imports the collection's playbook) with
# ansible-runner, the inventory coming from the fuel.lifecycle.nailgun source and its credential injected as
# environment variables. The recorded Nailgun API describes the lab's real nodes (generated from the lab's
# state at test time): their admin address is 127.0.0.1 and compose gives each its sshd port.

NAILGUN_PASSWORD = "lab-secret-pw"


def nailgun_source(lab, directory, api_url, jump_port=None, extra_nodes=()):
    """A fuel.nailgun.yml for the lab; the credential is left to the environment, as AWX injects it."""
    ports = {n["name"]: n["port"] for n in lab.state["nodes"]}
    master = [n for n in lab.state["nodes"] if "fuel_master" in n.get("groups", [])][0]
    ports["fuel-master"] = master["port"]
    ports.update({name: 1 for name in extra_nodes})  # nothing listens on port 1
    key = os.path.join(lab.state_dir, "ssh", "id_ed25519")
    config = {
        "plugin": "fuel.lifecycle.nailgun",
        "compose": {
            "ansible_port": "%r[inventory_hostname]" % ports,
            "ansible_user": "'root'",
            "ansible_ssh_private_key_file": repr(key),
            "ansible_python_interpreter": "'/usr/bin/python3'",
        },
        "jump_through_master": True,
        "jump_port": jump_port or master["port"],
        "jump_private_key_file": key,
        "jump_ssh_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR",
    }
    path = os.path.join(str(directory), "fuel.nailgun.yml")
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(config, handle)
    return path, {"FUEL_NAILGUN_URL": api_url, "FUEL_KEYSTONE_URL": api_url + "/v2.0", "FUEL_USERNAME": "admin",
                  "FUEL_PASSWORD": NAILGUN_PASSWORD}


def lab_api_fixture(lab, offline=()):
    from lab.nailgun_api import lab_fixture, node_record  # pylint: disable=import-outside-toplevel
    fixture = lab_fixture(lab.state)
    for index, name in enumerate(offline):
        record = node_record(100 + index, int(lab.state.get("env_id") or 1), ["compute"], "127.0.0.1", online=False)
        record["hostname"] = name
        fixture["nodes"].append(record)
    return fixture


def env_hosts(lab):
    return sorted(n["name"] for n in lab.state["nodes"]
                  if "fuel_master" not in n.get("groups", []) and n.get("flavor") != "legacy")


def read_events(artifacts):
    events = []
    for path in glob.glob(os.path.join(str(artifacts), "job_events", "*.json")):
        with open(path, encoding="utf-8") as handle:
            events.append(json.load(handle))
    return events


def test_mu_check_job_over_the_nailgun_inventory(lab, tmp_path):
    """The "Fuel | MU check" job template as AWX runs it: wrapper playbook, Nailgun inventory, survey answers
    as extra vars; per-host events and the set_stats data in the runner artifacts; offline nodes untouched."""
    from lab.nailgun_api import RecordedNailgun  # pylint: disable=import-outside-toplevel
    data = tmp_path / "runner"
    (data / "inventory").mkdir(parents=True)
    (data / "env").mkdir()
    with RecordedNailgun(lab_api_fixture(lab, offline=["cmp-offline"])) as api:
        source, credential_env = nailgun_source(lab, data / "inventory", api.url, extra_nodes=["cmp-offline"])
        (data / "env" / "envvars").write_text(json.dumps(dict(
            credential_env, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"),
            # Fresh ssh control sockets: no connection of an earlier test is reused, every node is reached
            # through the master.
            ANSIBLE_SSH_CONTROL_PATH_DIR=str(tmp_path / "cp"),
            ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, "build", "collections"))))
        # Survey answers, typed as AWX sends them.
        (data / "env" / "extravars").write_text(json.dumps({
            "fuel_mu_env": "1", "fuel_mu_mirror_url": lab.mirror_url, "fuel_mu_release": lab.state["release"],
            "fuel_mu_validate_certs": "true", "awx_job_id": 4242}))
        proc = subprocess.run(
            [os.path.join(os.path.dirname(sys.executable), "ansible-runner"), "run", str(data),
             "--playbook", os.path.join(REPO, "awx", "playbooks", "mu_check.yml"), "--ident", "mu_check"],
            text=True, capture_output=True, check=False,
            env=dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]))
        served = dict(api.served)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert served.get("nodes") and served.get("clusters")
    artifacts = data / "artifacts" / "mu_check"
    assert (artifacts / "rc").read_text().strip() == "0"
    events = read_events(artifacts)
    read_ok = {e["event_data"]["host"]: e["event_data"]["res"] for e in events
               if e.get("event") == "runner_on_ok" and e["event_data"].get("task_action", "").endswith("mu_version")}
    assert sorted(read_ok) == env_hosts(lab)
    touched = {e["event_data"].get("host") for e in events if e.get("event", "").startswith("runner_on_")}
    assert "cmp-offline" not in touched and "fuel-master" not in touched
    final = [e for e in events if e.get("event") == "playbook_on_stats"][0]["event_data"]
    assert sorted(final["ok"]) == env_hosts(lab) and not final["failures"] and not final["dark"]
    published = final["artifact_data"]["mu_check"]
    assert sorted(published) == env_hosts(lab)
    for host in env_hosts(lab):
        # What the job reports is what the node holds (read from the node's root, not from Ansible).
        on_node = json.loads(lab.read(host, "/etc/fuel/mu-version.json"))
        assert published[host]["installed"]["id"] == on_node["id"] == read_ok[host]["mu_installed"]["id"]
    # Neither the password nor a token in the output or the events. (ansible-runner's own `command` file
    # records the environment it was given, credential included; AWX keeps and redacts that itself.)
    everything = proc.stdout + proc.stderr + (artifacts / "stdout").read_text() + json.dumps(events)
    assert NAILGUN_PASSWORD not in everything and "gAAAA" not in everything


def test_jump_through_the_master_is_the_path(lab, tmp_path):
    """With the master's port closed, the nodes are unreachable: the connection really goes through it."""
    from lab.nailgun_api import RecordedNailgun  # pylint: disable=import-outside-toplevel
    with RecordedNailgun(lab_api_fixture(lab)) as api:
        source, credential_env = nailgun_source(lab, tmp_path, api.url, jump_port=1)
        proc = subprocess.run(
            [os.path.join(os.path.dirname(sys.executable), "ansible"), "-i", source, "env_1", "-m", "ansible.builtin.ping",
             "-o"], text=True, capture_output=True, check=False,
            env=dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_TIMEOUT="10",
                     ANSIBLE_SSH_CONTROL_PATH_DIR=str(tmp_path / "cp"),
                     ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, "build", "collections"), **credential_env))
    assert proc.returncode != 0
    assert sorted(set(re.findall(r"^(\S+) \| UNREACHABLE", proc.stdout, flags=re.M))) == env_hosts(lab), proc.stdout


def test_navigator_runs_the_node_report_job(lab, tmp_path):
    """ansible-navigator (no execution environment) runs the AWX wrapper over the Nailgun inventory; its
    playbook artifact holds each host's result and the published stats."""
    from lab.nailgun_api import RecordedNailgun  # pylint: disable=import-outside-toplevel
    artifact = tmp_path / "node_report-artifact.json"
    with RecordedNailgun(lab_api_fixture(lab)) as api:
        source, credential_env = nailgun_source(lab, tmp_path, api.url)
        proc = subprocess.run(
            [os.path.join(os.path.dirname(sys.executable), "ansible-navigator"), "run",
             os.path.join(REPO, "awx", "playbooks", "node_report.yml"), "-i", source, "--ee", "false",
             "-e", "fuel_report_hosts=env_1",
             "--mode", "stdout", "--pae", "true", "--pas", str(artifact), "--lf", str(tmp_path / "navigator.log")],
            text=True, capture_output=True, check=False, cwd=str(tmp_path),
            env=dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"),
                     ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, "build", "collections"),
                     ANSIBLE_SSH_CONTROL_PATH_DIR=str(tmp_path / "cp"), ANSIBLE_SHOW_CUSTOM_STATS="true",
                     PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"], **credential_env))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    with open(artifact, encoding="utf-8") as handle:
        record = json.load(handle)
    assert record["status"] == "successful"
    results = [task for play in record["plays"] for task in play["tasks"]
               if task.get("task_action", "").endswith("repo_info")]
    assert sorted(r["host"] for r in results if r["__result"] == "Ok") == env_hosts(lab)
    # The stats: the recap per host, and the published set_stats data (shown with show_custom_stats).
    stdout = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(record["stdout"]))
    recap = dict(re.findall(r"^(\S+)\s+: ok=\d+\s+changed=0\s+unreachable=0\s+(failed=0)", stdout, flags=re.M))
    assert sorted(recap) == env_hosts(lab), stdout[-3000:]
    assert "CUSTOM STATS:" in stdout, stdout[-3000:]
    custom = stdout.split("CUSTOM STATS:", 1)[1]
    assert "node_report" in custom and all(host in custom for host in env_hosts(lab)), custom[:3000]
