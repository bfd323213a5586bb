"""Playbooks run unchanged under ansible-runner (what AWX uses), with per-host results in its artifacts."""

from __future__ import annotations

import glob
import json
import os
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
