# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a command while a snapshot set is watched; stop it before a snapshot overflows.

An overflowed classic snapshot is invalid and can no longer be merged: the
rollback is lost. Stopping the package transaction first leaves the host
half-updated but rollback-able, which is the state an operator can act on.

The command runs in its own session (so its whole process group can be
signalled) with its output in temporary files (no pipe to fill while this
process sleeps between samples).

The guard is the last line: the set is sized from the transaction and LVM's
autoextension (``_lvm``) come first. Its messages say exactly one of two
things: a member is above the threshold but every member is still valid (roll
back), or a member overflowed and is invalid (a rollback is impossible: the
way forward is the ``recover`` phase).

Node Python 2.7 and 3.6+ (``preexec_fn=os.setsid`` for the new session,
``time.time`` for the clock).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import signal
import subprocess
import tempfile
import time

from ansible_collections.fuel.lifecycle.plugins.module_utils._lvm import C_LOCALE, member_problem

OUTPUT_TAIL = 64 * 1024


def _tail(handle):
    handle.flush()
    handle.seek(0, os.SEEK_END)
    size = handle.tell()
    handle.seek(max(0, size - OUTPUT_TAIL))
    return handle.read().decode("utf-8", "replace")


def verdict(views, threshold):
    """(problems, overflowed): what is wrong with the set now, and whether any member is invalid."""
    problems = [p for p in (member_problem(view, threshold) for view in views) if p]
    overflowed = sorted("%s/%s" % (v["vg"], v["name"]) for v in views if not v["valid"])
    return problems, overflowed


def stopped_message(command, aborted, overflowed):
    """The failure message of a stopped command: never "valid" and "overflowed" together."""
    if overflowed:
        return ("%s was stopped: %s. The snapshot set can no longer be merged (overflowed: %s): a rollback is "
                "impossible. Do not retry the update under this set; run phase=rollback to have this confirmed "
                "and recorded, then phase=recover (finish the transaction, verify, commit)" % (
                    command, aborted, ", ".join(overflowed)))
    return ("%s was stopped: %s. Every member of the snapshot set is still valid: roll back, or make room and "
            "run again" % (command, aborted))


def run_guarded(argv, read_views, threshold, interval=2.0, timeout=0, grace=30,
                popen=subprocess.Popen, clock=time.time, sleep=time.sleep):
    """Run ``argv`` in the C locale; every ``interval`` seconds ``read_views()`` gives the set's members.

    Returns a dict: rc, stdout, stderr (tails), aborted (why, or None), overflowed
    (invalid members seen), peak_fill (highest fill seen per member), samples,
    seconds, pid (of the command, the leader of its process group).
    """
    peak = {}
    samples = 0
    aborted = None
    overflowed = []
    started = clock()
    env = dict(os.environ)
    env.update(C_LOCALE)
    devnull = open(os.devnull, "rb")
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        try:
            # run_command waits for the end of the command; the guard must sample the set while it runs
            # and stop its whole process group, hence its own Popen in a new session
            proc = popen(argv, stdout=out, stderr=err, stdin=devnull, env=env,  # pylint: disable=ansible-bad-function
                         preexec_fn=os.setsid, close_fds=True)
        finally:
            devnull.close()
        try:
            while True:
                views = read_views()
                samples += 1
                for view in views:
                    key = "%s/%s" % (view["vg"], view["name"])
                    peak[key] = max(peak.get(key, 0.0), view["fill_percent"] or 0.0)
                problems, overflowed = verdict(views, threshold)
                if problems:
                    aborted = "; ".join(problems)
                    break
                if proc.poll() is not None:
                    break
                if timeout and clock() - started > timeout:
                    aborted = "still running after %d s (timeout)" % timeout
                    break
                sleep(interval)
        finally:
            if proc.poll() is None:
                stop(proc, grace, clock, sleep)
        if aborted:
            # The set as it is after the stop: a member may have overflowed while the command was stopping.
            try:
                overflowed = sorted(set(overflowed) | set(verdict(read_views(), threshold)[1]))
            # best effort, the first verdict stands
            except Exception:  # pylint: disable=broad-except
                pass
        return {"rc": proc.returncode, "stdout": _tail(out), "stderr": _tail(err), "aborted": aborted,
                "overflowed": overflowed, "peak_fill": peak, "samples": samples,
                "seconds": round(clock() - started, 1), "pid": proc.pid}


def stop(proc, grace, clock=time.time, sleep=time.sleep):
    """SIGTERM to the process group (rpm finishes the package it is writing), SIGKILL after ``grace`` s."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except OSError as exc:
            if exc.errno == errno.ESRCH:
                break
            raise
        deadline = clock() + wait
        while proc.poll() is None and clock() < deadline:
            sleep(0.2)
        if proc.poll() is not None:
            break
    proc.wait()
