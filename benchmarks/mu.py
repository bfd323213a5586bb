# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Time the MU rollout and mu_check on 5, 10, 20 and 40 lab nodes against their floors.

The MU is the realistic benchmark fixture (lab/fixtures/mu_bench.yml: 64
packages, about 31 MB, daemons restarted, maintainer scripts) on top of the
lab's own MU 2. For each size:

* rollout: wall time of ``playbooks/mu_install.yml`` (1 controller, the rest
  computes: primary, then batches of ``fuel_mu_serial`` [1, 5, "20%"]);
* ideal: the sum over the rollout's batches of the slowest node's package
  transaction, each timed on the node in that same run (``transaction_seconds``
  of ``/var/lib/fuel-lifecycle/mu/last-run.json``); ratio = rollout / ideal;
* one at a time: the same rollout with ``fuel_mu_serial: [1]``, measured on
  fresh nodes up to ``--serial-max`` nodes (default 10) and, above, that
  measured per-node time times the size (marked ``est``);
* module runs per node: module executions on a node (loop items counted,
  controller-only actions such as set_fact/debug not), from the run's results;
* mu_check vs ``ansible -m ping`` on the same nodes;
* where the rest goes: the sum over batches of the slowest node's whole module
  run (rollout / it = Ansible's own share) and the mean seconds of each step.

Not a test: prints figures. Usage:
  python benchmarks/mu.py [--serial-max N] [--serial JSON] [--label before|after] [--mitogen DIR] [SIZES...]
(lab state in build/lab-bench-mu; results also appended to build/bench-mu.jsonl)
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
sys.path.insert(0, REPO)
Lab = importlib.import_module("labfixture").Lab
mu_bench = importlib.import_module("lab.mu_bench")

BIN = os.path.dirname(sys.executable)
CALLBACKS = os.path.join(REPO, "tests", "integration", "callback_plugins")
CONTROLLER_ACTIONS = {"set_fact", "debug", "group_by", "include_tasks", "include_role", "import_tasks",
                      "import_role", "assert", "meta", "set_stats", "fail", "add_host", "validate_argument_spec",
                      "include_vars", "end_play", "end_host"}
STATE = "/var/lib/fuel-lifecycle/mu/last-run.json"


def batches(hosts, controllers, serial):
    """The rollout's batches in order: primary, other controllers one by one, the others by serial."""
    out = [[controllers[0]]] + [[h] for h in controllers[1:]]
    others = sorted(h for h in hosts if h not in controllers)
    index, left = 0, list(others)
    while left:
        step = serial[min(index, len(serial) - 1)]
        if isinstance(step, str):
            step = max(1, int(len(others) * float(step.rstrip("%")) / 100.0))
        out.append(left[:step])
        left = left[step:]
        index += 1
    return out


def run(argv, env, record=None):
    env = dict(env)
    if record:
        env.update(FUEL_RECORD_RESULTS=record, ANSIBLE_CALLBACKS_ENABLED="record_results",
                   ANSIBLE_CALLBACK_PLUGINS=CALLBACKS)
    started = time.monotonic()
    proc = subprocess.run(argv, cwd=REPO, env=env, text=True, capture_output=True, check=False)
    elapsed = time.monotonic() - started
    if proc.returncode != 0:
        raise RuntimeError("%s failed:\n%s" % (" ".join(argv[:4]), proc.stdout[-4000:] + proc.stderr[-2000:]))
    return elapsed


def module_runs(record, hosts, ports=None):
    """Module executions per node from a record_results file (delegated runs counted on their target)."""
    ports = ports or {}
    with open(record, encoding="utf-8") as handle:
        results = json.load(handle)["results"]
    counts = dict.fromkeys(hosts, 0)
    for entry in results:
        action = entry["action"].rsplit(".", 1)[-1]
        if action in CONTROLLER_ACTIONS or entry["status"] == "skipped":
            continue
        items = entry["result"].get("results") if isinstance(entry["result"].get("results"), list) else None
        for item in items if items is not None else [entry["result"]]:
            if not isinstance(item, dict) or item.get("skipped"):
                continue
            delegated = item.get("_ansible_delegated_vars") or entry["result"].get("_ansible_delegated_vars")
            target = entry["host"]
            if delegated:
                target = (delegated.get("ansible_delegated_host") or delegated.get("inventory_hostname")
                          or ports.get(str(delegated.get("ansible_port"))) or "")
            if target in counts:
                counts[target] += 1
    return counts


def setup(lab, env):
    """Deployed state for the benchmark MU: the bench base packages installed, their daemons running."""
    url = lab.mirror_url
    line = "deb [signed-by=/etc/apt/keyrings/fuel-lab.gpg] %s/deb/bench-base mos9.0-bench main\n" % url
    play = [{"hosts": "env_1", "gather_facts": False, "tasks": [
        {"name": "bench base source", "ansible.builtin.copy": {
            "content": line, "dest": "/etc/apt/sources.list.d/fuel-bench-base.list", "mode": "0644"}},
        {"name": "bench base packages", "ansible.builtin.command": {"argv": [
            "sh", "-c", "apt-get -q update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get -q -y install "
            + " ".join(mu_bench.names()) + " fuel-lab-libsvc fuel-lab-idlesvc fuel-lab-hook >/dev/null && "
            "apt-get clean && for s in " + " ".join(mu_bench.services() + ["fuel-lab-libsvc", "fuel-lab-idlesvc"])
            + "; do /etc/init.d/$s start; done"]}}]}]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "setup.yml")
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(play, handle)
        run([os.path.join(BIN, "ansible-playbook"), "-i", lab.inventory, path], env)


def rollout(lab, env, extra, hosts, serial):
    with tempfile.TemporaryDirectory() as tmp:
        record = os.path.join(tmp, "record.json")
        data = dict(extra, fuel_mu_serial=serial)
        wall = run([os.path.join(BIN, "ansible-playbook"), "-i", lab.inventory, "playbooks/mu_install.yml",
                    "-e", json.dumps(data)], env, record)
        runs = module_runs(record, hosts, {str(n["port"]): n["name"] for n in lab.state["nodes"]})
    last = {host: json.loads(lab.read(host, STATE)) for host in hosts}
    return wall, last, runs


def measure(size, serial_max, serial):
    lab = Lab(os.path.join(REPO, "build", "lab-bench-mu"),
              topology=["--rpm", "0", "--controllers", "1", "--computes", str(size - 1)])
    lab.up()
    try:
        env = dict(lab.env, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_FORKS=str(max(size, 5)))
        url = lab.mirror_url
        hosts = sorted(lab.hosts())
        extra = {"fuel_mu_env": "1", "fuel_mu_mirror_url": url, "fuel_mu_apt_repos": [
            {"uri": url + "/deb/mu2", "suite": "mos9.0-mu2", "signed_by": "/etc/apt/keyrings/fuel-lab.gpg"},
            {"uri": url + "/deb/bench-mu", "suite": "mos9.0-bench-mu", "signed_by": "/etc/apt/keyrings/fuel-lab.gpg"}]}
        setup(lab, env)
        ping = run([os.path.join(BIN, "ansible"), "-i", lab.inventory, "env_1", "-m", "ansible.builtin.ping"], env)
        check = run([os.path.join(BIN, "ansible-playbook"), "-i", lab.inventory, "playbooks/mu_check.yml",
                     "-e", json.dumps({"fuel_mu_env": "1", "fuel_mu_mirror_url": url})], env)
        wall, last, runs = rollout(lab, env, extra, hosts, serial)
        plan = batches(hosts, ["ctrl-1"], serial)
        tx = {host: float(last[host]["transaction_seconds"]) for host in hosts}
        ideal = sum(max(tx[h] for h in batch) for batch in plan)
        # the node's whole module run (records, prechecks, plan, transaction, checks, restarts, record)
        work = {host: float(last[host]["finished_at"]) - float(last[host]["started_at"]) for host in hosts}
        steps = {}
        for host in hosts:
            for step in last[host]["steps"]:
                steps.setdefault(step["name"], []).append(float(step["seconds"]))
        row = {"nodes": size, "ping": ping, "mu_check": check, "check_ratio": check / ping, "rollout": wall,
               "batches": len(plan), "ideal": ideal, "ratio": wall / ideal, "serial": serial,
               "module_ideal": sum(max(work[h] for h in batch) for batch in plan),
               "step_mean_s": {name: round(sum(v) / len(v), 2) for name, v in steps.items()},
               "tx_max": max(tx.values()), "tx_sum": sum(tx.values()),
               "module_runs": max(runs.values()), "module_runs_min": min(runs.values())}
        if size <= serial_max:
            lab.reset()
            setup(lab, env)
            one, _last, _runs = rollout(lab, env, extra, hosts, [1])
            row.update(one_at_a_time=one, one_estimated=False)
        return row
    finally:
        lab.down()


def main(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("--serial-max", type=int, default=10)
    parser.add_argument("--label", default="")
    parser.add_argument("--serial", default='[1, 5, "20%"]', help="fuel_mu_serial of the rollout (JSON)")
    parser.add_argument("--mitogen", default="", help="directory holding ansible_mitogen (runs under mitogen_linear)")
    parser.add_argument("sizes", nargs="*", type=int)
    args = parser.parse_args(argv)
    if args.mitogen:
        os.environ.update(ANSIBLE_STRATEGY="mitogen_linear", PYTHONPATH=args.mitogen + os.pathsep
                          + os.environ.get("PYTHONPATH", ""),
                          ANSIBLE_STRATEGY_PLUGINS=os.path.join(args.mitogen, "ansible_mitogen", "plugins", "strategy"))
    rows = []
    for size in args.sizes or [5, 10, 20, 40]:
        rows.append(measure(size, args.serial_max, json.loads(args.serial)))
        print("measured: %s" % json.dumps(rows[-1]), flush=True)
    measured = [row for row in rows if "one_at_a_time" in row]
    per_node = (measured[-1]["one_at_a_time"] / measured[-1]["nodes"]) if measured else None
    for row in rows:
        if "one_at_a_time" not in row and per_node:
            row.update(one_at_a_time=per_node * row["nodes"], one_estimated=True)
    print("MU rollout benchmark %s (fixture: %d packages; ansible forks = nodes; fuel_mu_serial %s)" % (
        args.label, len(mu_bench.names()), args.serial))
    print("%5s %9s %8s %6s %7s %9s %8s %9s | %7s %8s %6s" % (
        "nodes", "rollout s", "ideal s", "ratio", "batches", "1-by-1 s", "speedup", "mod/node",
        "ping s", "check s", "ratio"))
    for row in rows:
        one = row.get("one_at_a_time")
        print("%5d %9.1f %8.1f %6.2f %7d %9s %8s %9d | %7.1f %8.1f %6.2f" % (
            row["nodes"], row["rollout"], row["ideal"], row["ratio"], row["batches"],
            ("%.0f%s" % (one, " est" if row.get("one_estimated") else "")) if one else "-",
            ("%.1fx" % (one / row["rollout"])) if one else "-", row["module_runs"],
            row["ping"], row["mu_check"], row["check_ratio"]))
    for row in rows:
        # with equal batches, one at a time can be at most nodes / batches times slower
        print("%d nodes: %d batches (speedup bound of this serial %.1fx); module runs' ideal %.1f s "
              "(rollout / it %.2f); mean step seconds: %s" % (
                  row["nodes"], row["batches"], row["nodes"] / float(row["batches"]), row["module_ideal"],
                  row["rollout"] / row["module_ideal"],
                  ", ".join("%s %.1f" % item for item in row["step_mean_s"].items())))
    os.makedirs(os.path.join(REPO, "build"), exist_ok=True)
    with open(os.path.join(REPO, "build", "bench-mu.jsonl"), "a", encoding="utf-8") as handle:
        handle.write(json.dumps({"label": args.label, "at": time.time(), "rows": rows}) + "\n")
    print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
