# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Time of the master upgrade's update phase vs the bare dnf transaction on the same host.

Run: make bench-master_update (or .venv/bin/python benchmarks/master_update.py --rounds N --packages N)
Starts (and takes down) a lab of one RPM host, ``master``, under
FUEL_LAB_STATE (default build/bench-master). The update is realistic: on top
of the lab's master packages, ``--packages`` (default 160) generated packages
(lab/master_bench.py: tens of MB, scriptlets, dependencies) are installed at
1.0 and offered at 1.1 by a local repository. Per round: a fresh master
(local vendor repository, its packages, the 1.0 builds), ``prepare``, then
the timed ``update`` phase (ansible-playbook wall time); then a fresh master
again with the very repository files and vendor base repository the phase
produced, and the timed bare ``dnf -y upgrade`` inside the host (chroot, no
Ansible). Prints the packages each run changed, both medians and the ratio.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
master_bench = importlib.import_module("lab.master_bench")
HOST = "master"
VARS = "@tests/integration/vars/master_upgrade_chroot.yml"
BASE = "/var/www/nailgun/mos9.0-base"
BENCH_DIR = "/srv/fuel-mbench"
EXTRA_REPO = {"type": "rpm", "name": "master-bench", "class": "upstream", "uri": "file://%s/repo/" % BENCH_DIR,
              "gpgcheck": False}


def phase(lab, name):
    start = time.perf_counter()
    extra = json.dumps({"phase": name, "master_upgrade_extra_repos": [EXTRA_REPO]})
    run = lab.playbook("playbooks/master_upgrade.yml", limit=HOST, args=("-e", VARS, "-e", extra))
    elapsed = time.perf_counter() - start
    if run.rc != 0:
        raise SystemExit("phase %s failed:\n%s" % (name, run.output[-3000:]))
    return elapsed


def lab_helpers():
    """The integration tests' lab helpers (tests/integration is not a package)."""
    for path in (os.path.join(REPO, "tests", "integration"), REPO):
        if path not in sys.path:
            sys.path.insert(0, path)
    return importlib.import_module("labfixture"), importlib.import_module("master_lab")


def package_set(root):
    out = subprocess.run(["chroot", root, "rpm", "-qa", "--qf", "%{NAME}-%{EPOCHNUM}:%{VERSION}-%{RELEASE}\\n"],
                         check=True, capture_output=True, text=True).stdout
    return set(out.split())


def with_bench_packages(make_master, built):
    """make_master, plus the benchmark's 1.0 packages installed and its 1.1 repository in the host."""
    installed, repo = built

    def make(lab):
        root = make_master(lab)
        shutil.copytree(installed, root + BENCH_DIR + "/in")
        shutil.copytree(repo, root + BENCH_DIR + "/repo")
        rpms = sorted(BENCH_DIR + "/in/" + name for name in os.listdir(installed))
        subprocess.run(["chroot", root, "rpm", "-U", "--quiet"] + rpms, check=True, capture_output=True,
                       env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"})
        return root
    return make


def one_round(lab, keep, make_master):
    make_master(lab)
    phase(lab, "prepare")
    before = package_set(lab.root(HOST))
    update = phase(lab, "update")
    root = lab.root(HOST)
    changed = len(package_set(root) - before)
    shutil.rmtree(keep, ignore_errors=True)
    shutil.copytree(root + "/etc/yum.repos.d", os.path.join(keep, "repos"))
    shutil.copytree(root + BASE, os.path.join(keep, "base"))
    root = make_master(lab)
    shutil.rmtree(root + "/etc/yum.repos.d")
    shutil.copytree(os.path.join(keep, "repos"), root + "/etc/yum.repos.d")
    shutil.copytree(os.path.join(keep, "base"), root + BASE)
    before = package_set(root)
    start = time.perf_counter()
    subprocess.run(["chroot", root, "dnf", "-y", "-q", "upgrade"], check=True, capture_output=True,
                   env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"})
    bare = time.perf_counter() - start
    return update, bare, changed, len(package_set(root) - before)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--packages", type=int, default=160, help="generated packages updated (default 160)")
    args = parser.parse_args()
    state = os.environ.get("FUEL_LAB_STATE", os.path.join(REPO, "build", "bench-master"))
    labfixture, master_lab = lab_helpers()
    built = master_bench.build(args.packages)
    lab = labfixture.Lab(state, topology=["--controllers", "0", "--computes", "0"]).up()
    keep = os.path.join(state, "bench-keep")
    try:
        make = with_bench_packages(master_lab.make_master, built)
        results = [one_round(lab, keep, make) for _round in range(args.rounds)]
    finally:
        lab.down()
    update = statistics.median(r[0] for r in results)
    bare = statistics.median(r[1] for r in results)
    print("packages changed: update phase %s, bare dnf %s (per round)" % (
        [r[2] for r in results], [r[3] for r in results]))
    print("update phase (ansible-playbook, %d rounds): median %.1f s" % (args.rounds, update))
    print("bare dnf upgrade, same repositories:        median %.1f s" % bare)
    print("ratio update phase / bare dnf: %.1f" % (update / bare))


if __name__ == "__main__":
    main()
