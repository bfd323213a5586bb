# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The module_utils of env_lock and mu_apply under a real old interpreter.

Run as ``python2.7 smoke_rollout.py CHECKOUT`` (or python3.6): builds an
importable package tree (as smoke_mu_swap_restart.py does), then takes,
refuses, breaks and releases a lock with its history, and drives mu_apply's
input checks, repository files, apt plan and dpkg failure parsing, a held
fcntl lock waited for and refused, and a whole apt run with recorded output.
Prints "ok" and exits 0, or fails with an assertion.
"""

from __future__ import absolute_import, division, print_function

import json
import os
import shutil
import subprocess
import sys
import tempfile

from smoke_mu_swap_restart import tree  # pylint: disable=import-error


def lock_checks(lock, scratch):
    path = os.path.join(scratch, "locks", "env.lock")
    history = os.path.join(scratch, "locks", "history.json")
    base = {"path": path, "owner": u"ops", "run_id": u"r1", "state": "present", "history_path": history,
            "controller_host": u"ctl", "controller_pid": 42, "scope": u"env_1", "purpose": u"mu_install"}
    assert lock.apply(base)["event"] == "acquired"
    assert lock.apply(base)["changed"] is False
    try:
        lock.apply(dict(base, run_id=u"r2", break_hint=u"-e fuel_mu_break_lock=true"))
        raise AssertionError("a second run shared the lock")
    except lock.LockHeld as exc:
        assert "process 42 on controller ctl" in str(exc) and "fuel_mu_break_lock" in str(exc)
    assert lock.apply(dict(base, run_id=u"r2", force=True))["broken"]["run_id"] == u"r1"
    assert lock.apply(dict(base, run_id=u"r2", state="absent"))["event"] == "released"
    with open(history) as handle:
        assert [e["event"] for e in json.load(handle)["events"]] == ["acquired", "broken", "acquired", "released"]


class Runner(object):
    """Recorded commands in order: (argv prefix, (rc, out, err))."""

    def __init__(self, script):
        self.script = list(script)

    def binary(self, name, required=True, purpose=""):
        return "/usr/bin/" + name

    def run(self, argv, data=None, changes=False, environ=None, cwd=None):
        want, result = self.script.pop(0)
        assert list(argv[:len(want)]) == want, (argv, want)
        return result


def apply_checks(mua, scratch):
    try:
        mua.validate({"apt_repos": [{"uri": u"http://m/\u00e9 x", "suite": u"s"}]})
        raise AssertionError("a URL with a space passed")
    except ValueError as exc:
        assert "apt_repos[0].uri" in str(exc)
    plan = mua.parse_apt_plan(u"Inst libfoo [1.0] (1.1 mos9.0-mu2 [all])\nRemv old [2]\n")
    assert plan["upgrade"] == [{"name": u"libfoo", "from": u"1.0", "to": u"1.1"}] and plan["remove"][0]["name"] == "old"
    cause = mua.dpkg_cause(u"", u"hook: failing on purpose\ndpkg: error processing package hook (--configure):\n"
                           u" installed hook package post-installation script subprocess returned error exit status 1\n")
    assert "dpkg: error processing package hook" in cause and "failing on purpose" in cause
    held = os.path.join(scratch, "lock-frontend")
    open(held, "w").close()
    holder = subprocess.Popen([sys.executable, "-c", "import fcntl, sys, time\nf = open(sys.argv[1], 'w')\n"
                               "fcntl.lockf(f, fcntl.LOCK_EX)\nsys.stdout.write('held\\n')\nsys.stdout.flush()\n"
                               "time.sleep(30)\n", held], stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline().strip() == b"held"
        mua.APT_LOCKS = (held,)
        ticks = iter(range(100))
        try:
            mua.wait_for_package_manager("apt", 2, sleep=lambda s: None, clock=lambda: next(ticks))
            raise AssertionError("a held lock was not seen")
        except mua.StepFailed as exc:
            assert "is held by process %d" % holder.pid in exc.reason, exc.reason
    finally:
        holder.kill()
        holder.wait()
    mua.APT_LOCKS = (os.path.join(scratch, "absent"),)
    record = os.path.join(scratch, "etc", "mu.json")
    os.makedirs(os.path.dirname(record))
    with open(record, "w") as handle:
        json.dump({"id": 1, "title": "MU 1", "timestamp": 1}, handle)
    params = {"phase": "apply", "package_manager": "apt", "record_path": record, "fact_path": "",
              "state_dir": os.path.join(scratch, "state"), "apt_repos": [{"uri": u"http://m/mu2", "suite": u"s"}],
              "apt_sources_file": os.path.join(scratch, "etc", "mu.list"),
              "apt_pin_file": os.path.join(scratch, "etc", "mu.pref"), "apt_pin_priority": 1050,
              "free_space_paths": [scratch], "min_free_mb": 1, "lock_timeout": 1, "allow_removals": False,
              "restart_order": [], "health_checks": {}, "health_retries": 1, "health_delay": 0, "service_map": {}}
    status = (0, u"libfoo ii install ok installed 1.0\n", u"")
    runner = Runner([(["dpkg-query"], status), (["dpkg", "--audit"], (0, u"", u"")),
                     (["apt-get", "-q", "update"], (0, u"", u"")),
                     (["apt-get", "-s"], (0, u"Inst libfoo [1.0] (1.1 s [all])\n", u"")),
                     (["dpkg", "--verify", "libfoo"], (0, u"", u"")),
                     (["apt-get", "-y"], (0, u"", u"")),
                     (["dpkg-query"], (0, u"libfoo ii install ok installed 1.1\n", u""))])
    mua.stale_services = lambda service_map: []
    run = mua.MuRun(params, runner, False, lambda: ({"id": 1, "title": u"MU 1", "timestamp": 1},
                                                    {"id": 2, "title": u"MU 2", "timestamp": 2}))
    result = run.run()
    assert result["mu_after"] == 2 and result["changed"] and not runner.script, result
    with open(record) as handle:
        assert json.load(handle)["id"] == 2


def main():
    checkout = os.path.abspath(sys.argv[1])
    root = tree(checkout)
    scratch = tempfile.mkdtemp(prefix="node-python-scratch-")
    try:
        sys.path.insert(0, root)
        from ansible_collections.fuel.lifecycle.plugins.module_utils import _env_lock as lock  # noqa: E402
        from ansible_collections.fuel.lifecycle.plugins.module_utils import _mu_apply as mua  # noqa: E402
        lock_checks(lock, scratch)
        apply_checks(mua, scratch)
    finally:
        shutil.rmtree(root)
        shutil.rmtree(scratch)
    print("ok %s" % sys.version.split()[0])


if __name__ == "__main__":
    main()
