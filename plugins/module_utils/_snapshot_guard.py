# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a command while a snapshot set is watched; stop it before a snapshot overflows.

An overflowed classic snapshot is invalid and can no longer be merged: the
rollback is lost. Stopping the package transaction first leaves the host
half-updated but rollback-able, which is the state an operator can act on.

The command runs in its own session (so its whole process group can be
signalled) with its output in temporary files (no pipe to fill while this
process sleeps between samples).
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time

from ansible_collections.fuel.lifecycle.plugins.module_utils._lvm import C_LOCALE, member_problem

OUTPUT_TAIL = 64 * 1024


def _tail(handle):
    handle.flush()
    size = handle.seek(0, os.SEEK_END)
    handle.seek(max(0, size - OUTPUT_TAIL))
    return handle.read().decode("utf-8", "replace")


def run_guarded(argv, read_views, threshold, interval=2.0, timeout=0, grace=30,
                popen=subprocess.Popen, clock=time.monotonic, sleep=time.sleep):
    """Run ``argv`` in the C locale; every ``interval`` seconds ``read_views()`` gives the set's members.

    Returns a dict: rc, stdout, stderr (tails), aborted (why, or None), peak_fill
    (highest fill seen per member), samples, seconds.
    """
    peak = {}
    samples = 0
    aborted = None
    started = clock()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=dict(os.environ, **C_LOCALE),
                     start_new_session=True)
        try:
            while True:
                views = read_views()
                samples += 1
                for view in views:
                    key = "%s/%s" % (view["vg"], view["name"])
                    peak[key] = max(peak.get(key, 0.0), view["fill_percent"] or 0.0)
                problems = [p for p in (member_problem(view, threshold) for view in views) if p]
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
        return {"rc": proc.returncode, "stdout": _tail(out), "stderr": _tail(err), "aborted": aborted,
                "peak_fill": peak, "samples": samples, "seconds": round(clock() - started, 1)}


def stop(proc, grace, clock=time.monotonic, sleep=time.sleep):
    """SIGTERM to the process group (rpm finishes the package it is writing), SIGKILL after ``grace`` s."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        deadline = clock() + wait
        while proc.poll() is None and clock() < deadline:
            sleep(0.2)
        if proc.poll() is not None:
            break
    proc.wait()
