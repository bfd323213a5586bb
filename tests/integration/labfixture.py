"""The lab as the integration tests see it: start it once, run playbooks, look inside nodes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# The legacy controller (ansible-core 2.16, `make setup`): the only one that
# drives the Python 2.7 node.
LEGACY_BIN = os.path.join(REPO, ".venv-legacy", "bin")
CALLBACKS = os.path.join(REPO, "tests", "integration", "callback_plugins")


class PlaybookRun:
    """Outcome of one ansible-playbook run: rc, output, per-task results and stats."""

    def __init__(self, proc, record):
        self.rc = proc.returncode
        self.output = proc.stdout
        self.results = record.get("results", [])
        self.stats = record.get("stats", {})

    def task(self, name, host=None):
        """Results of tasks whose name contains ``name`` (optionally for one host)."""
        return [r for r in self.results if name in r["task"] and (host is None or r["host"] == host)]

    def changed_hosts(self):
        return sorted(h for h, s in self.stats.items() if s.get("changed"))

    def failed_hosts(self):
        return sorted(h for h, s in self.stats.items() if s.get("failures") or s.get("unreachable"))

    def __repr__(self):
        return "PlaybookRun(rc=%s)\n%s" % (self.rc, self.output[-6000:])


class Lab:
    """A running lab (``python -m lab up``) under its own state directory."""

    def __init__(self, state_dir, topology=None):
        self.state_dir = state_dir
        self.topology = topology or []
        self.env = dict(os.environ, FUEL_LAB_STATE=state_dir)

    def lab(self, *args):
        return subprocess.run([sys.executable, "-m", "lab"] + list(args), cwd=REPO, env=self.env,
                              check=True, text=True, capture_output=True)

    def up(self):
        self.lab("up", *self.topology)
        return self

    def down(self):
        self.lab("down")

    def reset(self, *names):
        self.lab("reset", *names)

    @property
    def state(self):
        with open(os.path.join(self.state_dir, "state.json"), encoding="utf-8") as handle:
            return json.load(handle)

    @property
    def inventory(self):
        return os.path.join(self.state_dir, "inventory.yml")

    @property
    def mirror_url(self):
        return self.state["mirror_url"]

    @property
    def legacy_inventory(self):
        """The ansible-core 2.16 inventory: the legacy node with the modern ones."""
        return os.path.join(self.state_dir, "legacy-inventory.yml")

    def hosts(self, flavor=None):
        """Nodes of the main inventory (``flavor="legacy"``: the Python 2.7 nodes)."""
        return [n["name"] for n in self.state["nodes"]
                if flavor == n["flavor"] or (flavor is None and n["flavor"] != "legacy")]

    def root(self, name):
        return os.path.join(self.state_dir, "nodes", name, "root")

    def node_run(self, name, argv, check=True):
        """Run argv inside a node (chroot), for assertions independent of Ansible."""
        return subprocess.run(["chroot", self.root(name)] + list(argv), check=check, text=True,
                              capture_output=True, env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"})

    def read(self, name, path):
        with open(os.path.join(self.root(name), path.lstrip("/")), encoding="utf-8") as handle:
            return handle.read()

    def playbook(self, playbook, extra_vars=None, limit=None, check=False, diff=False, args=(), legacy=False):
        """Run a playbook file, or a play list given as Python data, against the lab.

        ``legacy=True``: with ansible-core 2.16 (.venv-legacy) on the legacy inventory.
        """
        with tempfile.TemporaryDirectory() as tmp:
            if not isinstance(playbook, str):
                path = os.path.join(tmp, "play.yml")
                with open(path, "w", encoding="utf-8") as handle:
                    yaml.safe_dump(playbook, handle)
                playbook = path
            record = os.path.join(tmp, "record.json")
            bindir = LEGACY_BIN if legacy else os.path.dirname(sys.executable)
            argv = [os.path.join(bindir, "ansible-playbook"), "-i",
                    self.legacy_inventory if legacy else self.inventory, playbook]
            if extra_vars:
                argv += ["-e", json.dumps(extra_vars)]
            if limit:
                argv += ["--limit", limit]
            if check:
                argv.append("--check")
            if diff:
                argv.append("--diff")
            argv += list(args)
            env = dict(self.env, FUEL_RECORD_RESULTS=record, ANSIBLE_CALLBACKS_ENABLED="record_results",
                       ANSIBLE_CALLBACK_PLUGINS=CALLBACKS, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
            proc = subprocess.run(argv, cwd=REPO, env=env, text=True, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, check=False)
            data = {}
            if os.path.exists(record):
                with open(record, encoding="utf-8") as handle:
                    data = json.load(handle)
            return PlaybookRun(proc, data)
