# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Time of the master upgrade's update phase vs the bare dnf transaction, in the qemu VM.

Run: make bench-master_update_vm (or .venv/bin/python benchmarks/master_update_vm.py --rounds N)
Starts (and takes down) the lab mirror and the VM under FUEL_LAB_STATE
(default build/bench-master-vm). Per round: a fresh VM (new overlay of the
cached image) made a deployed master, ``prepare`` (snapshot set, /boot
backup), then the timed ``update`` phase (ansible-playbook wall time: base
repository, repository set, swap, the full update under the snapshot guard,
checks); then another fresh VM given the very repository files and vendor
base repository the phase produced, and the timed bare
``dnf --assumeyes upgrade`` over SSH (no Ansible, no snapshot watch). Prints
both medians and the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HOST = "master-vm"
VARS = ["-e", "@tests/integration/vars/master_upgrade_chroot.yml", "-e", "@tests/integration/vars/master_upgrade_vm.yml"]
KEPT = ["etc/yum.repos.d", "var/www/nailgun/mos9.0-base"]


class Bench:
    def __init__(self, state):
        self.state = state
        self.env = dict(os.environ, FUEL_LAB_STATE=state)

    def lab(self, *args):
        subprocess.run([sys.executable, "-m", "lab"] + list(args), cwd=REPO, env=self.env, check=True,
                       capture_output=True, text=True)

    def fresh_master(self):
        self.lab("vm-down")
        self.lab("vm-up")
        self.lab("vm-master")
        with open(os.path.join(self.state, "vm", "vm.json"), encoding="utf-8") as handle:
            info = json.load(handle)
        return ["ssh", "-i", info["key"], "-p", str(info["port"]), "-o", "StrictHostKeyChecking=no",
                "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "BatchMode=yes",
                "root@127.0.0.1"]

    def phase(self, name):
        argv = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i",
                os.path.join(self.state, "vm-inventory.yml"), "playbooks/master_upgrade.yml",
                "-e", "phase=%s" % name, "-e", "fuel_master_hosts=%s" % HOST] + VARS
        start = time.perf_counter()
        proc = subprocess.run(argv, cwd=REPO, env=self.env, capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit("phase %s failed:\n%s" % (name, proc.stdout[-3000:]))
        return elapsed

    def one_round(self):
        ssh = self.fresh_master()
        self.phase("prepare")
        update = self.phase("update")
        kept = subprocess.run(ssh + ["tar", "-C", "/", "-cf", "-"] + KEPT, capture_output=True, check=True).stdout
        ssh = self.fresh_master()
        subprocess.run(ssh + ["rm -rf /etc/yum.repos.d && tar -C / -xf -"], input=kept, capture_output=True,
                       check=True)
        start = time.perf_counter()
        subprocess.run(ssh + ["dnf", "--assumeyes", "--quiet", "upgrade"], check=True, capture_output=True)
        bare = time.perf_counter() - start
        print("round: update phase %.1f s, bare dnf %.1f s" % (update, bare), flush=True)
        return update, bare


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    bench = Bench(os.environ.get("FUEL_LAB_STATE", os.path.join(REPO, "build", "bench-master-vm")))
    bench.lab("up", "--controllers", "0", "--computes", "0")
    try:
        results = [bench.one_round() for _round in range(args.rounds)]
    finally:
        bench.lab("down")
    update = statistics.median(r[0] for r in results)
    bare = statistics.median(r[1] for r in results)
    print("update phase in the VM (ansible-playbook, %d rounds): median %.1f s" % (args.rounds, update))
    print("bare dnf upgrade, same VM image and repositories:   median %.1f s" % bare)
    print("ratio update phase / bare dnf: %.1f" % (update / bare))


if __name__ == "__main__":
    main()
