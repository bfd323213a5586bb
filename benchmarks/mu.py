# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Time mu_check and mu_install on 5, 10 and 20 lab nodes against their floors.

Floors on the same nodes: `ansible -m ping` for mu_check; for mu_install the
package transaction time alone (median over the nodes, as recorded by the role)
times the number of batches of the rolling order. Not a test: prints figures.
Usage: python benchmarks/mu.py [SIZES...]   (lab state in build/lab-bench-mu)
"""

from __future__ import annotations

import importlib
import json
import math
import os
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
Lab = importlib.import_module("labfixture").Lab

BIN = os.path.dirname(sys.executable)


def batches(controllers, others, serial=(1, 5, "20%")):
    """Batches of the rolling order: primary, other controllers one by one, others by serial."""
    count, left, index = controllers, others, 0
    while left > 0:
        step = serial[min(index, len(serial) - 1)]
        if isinstance(step, str):
            step = max(1, int(others * float(step.rstrip("%")) / 100.0))
        left -= step
        count += 1
        index += 1
    return count


def timed(argv, env):
    started = time.monotonic()
    proc = subprocess.run(argv, cwd=REPO, env=env, text=True, capture_output=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError("%s failed:\n%s" % (argv[0], proc.stdout[-3000:] + proc.stderr[-2000:]))
    return time.monotonic() - started


def measure(size):
    lab = Lab(os.path.join(REPO, "build", "lab-bench-mu"),
              topology=["--rpm", "0", "--controllers", "1", "--computes", str(size - 1)])
    lab.up()
    try:
        env = dict(lab.env, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_FORKS=str(max(size, 5)))
        url = lab.mirror_url
        extra = json.dumps({"fuel_mu_env": "1", "fuel_mu_mirror_url": url, "fuel_mu_apt_repos": [
            {"uri": url + "/deb/mu2", "suite": "mos9.0-mu2", "signed_by": "/etc/apt/keyrings/fuel-lab.gpg"}]})
        ping = timed([os.path.join(BIN, "ansible"), "-i", lab.inventory, "env_1", "-m", "ansible.builtin.ping"], env)
        check = timed([os.path.join(BIN, "ansible-playbook"), "-i", lab.inventory,
                       "playbooks/mu_check.yml", "-e", extra], env)
        install = timed([os.path.join(BIN, "ansible-playbook"), "-i", lab.inventory,
                         "playbooks/mu_install.yml", "-e", extra], env)
        tx = [float(json.loads(lab.read(host, "/var/lib/fuel-lifecycle/mu/last-run.json"))["transaction_seconds"])
              for host in lab.hosts()]
        count = batches(1, size - 1)
        floor = statistics.median(tx) * count
        return {"nodes": size, "ping": ping, "mu_check": check, "check_ratio": check / ping,
                "mu_install": install, "batches": count, "tx_median": statistics.median(tx),
                "install_floor": floor, "install_ratio": install / floor}
    finally:
        lab.down()


def main(argv):
    sizes = [int(arg) for arg in argv] or [5, 10, 20]
    rows = [measure(size) for size in sizes]
    print("%5s %8s %9s %6s | %10s %7s %8s %9s %6s" % (
        "nodes", "ping s", "check s", "ratio", "install s", "batches", "tx s", "floor s", "ratio"))
    for row in rows:
        print("%5d %8.1f %9.1f %6.1f | %10.1f %7d %8.2f %9.1f %6.1f" % (
            row["nodes"], row["ping"], row["mu_check"], row["check_ratio"], row["mu_install"], row["batches"],
            row["tx_median"], row["install_floor"], row["install_ratio"]))
    print(json.dumps(rows))
    return 0 if all(math.isfinite(row["install_ratio"]) for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
