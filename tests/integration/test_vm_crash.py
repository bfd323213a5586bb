"""Crash points of the master upgrade in the qemu VM (#19): kill the run, then the documented next step.

For the ``update`` and ``rollback`` phases the run is killed with SIGKILL of the whole
ansible-playbook process group (controller, workers, SSH) at every task boundary (a test
callback kills it when the named task starts) and once inside the package transaction (when
dnf is seen running in the VM). After each kill the documented next step is taken: the same
phase again with ``master_upgrade_break_lock=true`` (a killed run leaves its lock). Each rerun
is itself killed at the next boundary, so one chain covers every boundary on one VM boot;
every rerun must pass the point where the run before it died, and the last one completes:

* update chain, then ``commit`` and ``finalize``: the host is fully updated and committed
  (every package of the scenario at its new build exactly once, ``dnf check`` clean, no
  snapshot member in ``lvs``, no /boot backup, services running);
* rollback chain (after a complete update): the host is byte-identical to before ``prepare``
  (rpm database, /etc, /boot fingerprints).

The matrix (kill point x next step x outcome) is written to ``<vm state>/crash-matrix.json``.
Slow (dozens of phase runs under TCG): ``make test-crash`` runs it; the test command does not.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import yaml

from labfixture import REPO
from test_vm_master_upgrade import (FINGERPRINT, PLAYBOOK, RECOVER_PACKAGES, SET, VARS_FILE, VM_VARS_FILE,
                                    phase, recover_repo, recover_versions, service)
from vmfixture import HOST, members

pytestmark = [pytest.mark.vm, pytest.mark.crash,
              pytest.mark.skipif(not os.environ.get("FUEL_CRASH_TEST"), reason="slow crash-point matrix: make test-crash")]

CALLBACKS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "crash_callbacks")
ROLE_TASKS = os.path.join(REPO, "roles", "master_upgrade", "tasks")
VOLUMES = [{"vg": "os", "lv": "root", "size": "300M", "receives": ["installed"]},
           {"vg": "os", "lv": "var", "size": "200M", "receives": ["download"]},
           {"vg": "os", "lv": "varlog", "size": "64M"}]


def task_names(path, phase_name):
    """Names of the tasks of ``path`` in the order they start, include_tasks expanded."""
    names = []
    with open(path, encoding="utf-8") as handle:
        tasks = yaml.safe_load(handle) or []
    for task in tasks:
        if "block" in task:
            for inner in task["block"]:
                names += _expand(inner, phase_name)
            continue
        names += _expand(task, phase_name)
    return names


def _expand(task, phase_name):
    name = task.get("name")
    include = task.get("ansible.builtin.include_tasks")
    if include is None:
        return [name]
    target = include.replace("{{ master_upgrade_phase }}", phase_name)
    return [name] + task_names(os.path.join(ROLE_TASKS, target), phase_name)


def boundaries(phase_name):
    """Every task boundary of a phase run up to its completion (the rescue and report left out)."""
    names = [n for n in task_names(os.path.join(ROLE_TASKS, "main.yml"), phase_name) if n]
    return names[:names.index("Master_upgrade | Record the phase as complete") + 1]


class Run:
    def __init__(self, rc, tasks, output):
        self.rc, self.tasks, self.output = rc, tasks, output


def run_phase(vm, name, tmp_path, crash_at=None, in_transaction=False, **extra):
    """One phase run that may be killed: at the start of ``crash_at``, or while dnf runs in the VM."""
    log = tmp_path / ("tasks-%d.log" % time.monotonic_ns())
    extra_vars = dict({"phase": name, "fuel_master_hosts": HOST, "master_upgrade_break_lock": True,
                       "master_upgrade_snapshot_volumes": VOLUMES,
                       "master_upgrade_report_dir": os.path.join(vm.state_dir, "reports")}, **extra)
    argv = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", vm.inventory, PLAYBOOK,
            "-e", "@" + os.path.join(REPO, VARS_FILE), "-e", "@" + os.path.join(REPO, VM_VARS_FILE),
            "-e", json.dumps(extra_vars)]
    env = dict(vm.env, ANSIBLE_CALLBACK_PLUGINS=CALLBACKS, ANSIBLE_CALLBACKS_ENABLED="crash_at",
               FUEL_CRASH_LOG=str(log), FUEL_CRASH_AT=crash_at or "", ANSIBLE_NOCOLOR="1")
    proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    if in_transaction:
        while proc.poll() is None:
            seen = vm.run(["sh", "-c", "ps -eo pid=,sid=,args= | grep '[d]nf .*upgrade' || true"], check=False)
            if any(line.split()[0] == line.split()[1] for line in seen.stdout.splitlines() if line.strip()):
                os.killpg(proc.pid, signal.SIGKILL)
                break
            time.sleep(1)
    output = proc.communicate()[0]
    tasks = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    return Run(proc.returncode, tasks, output)


def wait_no_transaction(vm, timeout=900):
    """A killed run's dnf goes on in its own session: wait for it (the documented step)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if vm.run(["pgrep", "-x", "dnf"], check=False).returncode == 1:
            return
        time.sleep(5)
    raise AssertionError("dnf still running %d s after the kill" % timeout)


def chain(vm, name, tmp_path, matrix, extra):
    """Kill ``name`` at every boundary in turn (each rerun passing the previous kill point), then complete it."""
    points = boundaries(name)
    for point in points:
        run = run_phase(vm, name, tmp_path, crash_at=point, **extra)
        assert run.rc == -signal.SIGKILL and run.tasks[-1:] == [point], (point, run.rc, run.output[-3000:])
        matrix.append({"phase": name, "kill": "start of '%s'" % point, "next": "%s again (break_lock)" % name,
                       "outcome": "rerun passed the kill point"})
    if name == "update":
        run = run_phase(vm, name, tmp_path, in_transaction=True, **extra)
        assert run.rc == -signal.SIGKILL, run.output[-3000:]
        wait_no_transaction(vm)
        matrix.append({"phase": name, "kill": "inside the package transaction (dnf running)",
                       "next": "wait for dnf, update again (break_lock)", "outcome": "rerun passed the kill point"})
    final = run_phase(vm, name, tmp_path, **extra)
    assert final.rc == 0, final.output[-5000:]
    return final


def test_crash_points_update_then_rollback(master_vm, tmp_path):
    vm = master_vm
    matrix = []
    extra_repo = recover_repo(vm, tmp_path, slow_post={"master-ab-small": "sleep 30"})
    vm.run(["sh", "-c", "mkdir -p /var/lib/fuel-lab && touch /var/lib/fuel-lab/bulk"])  # no overflow here
    extra = {"master_upgrade_extra_repos": [extra_repo]}

    # -- update: every kill, rerun; then commit and finalize: fully updated and committed
    assert run_phase(vm, "prepare", tmp_path, **extra).rc == 0
    chain(vm, "update", tmp_path, matrix, extra)
    for step in ("commit", "finalize"):
        assert run_phase(vm, step, tmp_path, **extra).rc == 0
    assert recover_versions(vm) == {name: ["1.1-1"] for name in RECOVER_PACKAGES}
    assert vm.run(["dnf", "--quiet", "check"], check=False).returncode == 0
    assert members(vm, SET) == []
    assert vm.run(["test", "-e", "/var/lib/fuel-lifecycle/boot-backup/boot.tar"], check=False).returncode != 0
    assert service(vm, "rsyslog") == "running"
    for row in matrix:
        row["final"] = "fully updated and committed"

    # -- rollback: back to 1.0, prepare, update, then every kill of rollback: byte-identical to before
    vm.script("rpm -U --oldpackage $(find /srv/fuel-lab/recover/in -name '*-1.0-1.*.rpm')")
    before = vm.script(FINGERPRINT).stdout
    for step in ("prepare", "update"):
        assert run_phase(vm, step, tmp_path, **extra).rc == 0
    assert vm.script(FINGERPRINT).stdout != before
    start = len(matrix)
    chain(vm, "rollback", tmp_path, matrix, extra)
    assert vm.script(FINGERPRINT).stdout == before
    assert members(vm, SET) == []
    for row in matrix[start:]:
        row["final"] = "byte-identical to before prepare (rpm database, /etc, /boot)"
    assert phase(vm, "finalize").rc == 0

    path = os.path.join(vm.state_dir, "crash-matrix.json")
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(matrix, handle, indent=1)
    print("\ncrash matrix (%d kill points): %s" % (len(matrix), path))
