# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The guard's decisions over a real child process and replayed snapshot samples (LVM is proven in the VM)."""

from __future__ import annotations

import os
import sys

from ansible_collections.fuel.lifecycle.plugins.module_utils import _snapshot_guard


def view(fill, valid=True, name="var_up_snap"):
    return {"vg": "os", "name": name, "origin": name.split("_")[0], "fill_percent": fill, "valid": valid}


class Samples:
    """Successive readings of the set; the last one repeats."""

    def __init__(self, *fills):
        self.fills = list(fills)
        self.reads = 0

    def __call__(self):
        self.reads += 1
        fill = self.fills[min(self.reads, len(self.fills)) - 1]
        return [view(fill) if not isinstance(fill, dict) else fill]


def test_command_that_finishes_reports_peak_and_output():
    samples = Samples(1.0, 30.5, 12.0)
    result = _snapshot_guard.run_guarded([sys.executable, "-c", "import time; print('done'); time.sleep(0.5)"],
                                         samples, 80, interval=0.1)
    assert result["rc"] == 0 and result["aborted"] is None
    assert result["stdout"].strip() == "done"
    assert result["peak_fill"] == {"os/var_up_snap": 30.5} and result["samples"] == samples.reads >= 3


def test_filling_snapshot_stops_the_whole_process_group(tmp_path):
    marker = tmp_path / "grandchild.pid"
    # the child starts a grandchild (like dnf running rpm scriptlets) and both would run for a minute
    code = ("import subprocess, sys, time; p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']);"
            " open(%r, 'w').write(str(p.pid)); time.sleep(60)" % str(marker))
    samples = Samples(10.0, 10.0, 10.0, 85.0)
    result = _snapshot_guard.run_guarded([sys.executable, "-c", code], samples, 80, interval=0.3, grace=5)
    assert result["aborted"] == "os/var_up_snap (snapshot of var) is 85.0% full, above the 80% threshold"
    assert result["rc"] < 0 and result["seconds"] < 30 and result["peak_fill"]["os/var_up_snap"] == 85.0
    grandchild = int(marker.read_text())
    try:
        os.kill(grandchild, 0)
        alive = open("/proc/%d/stat" % grandchild, encoding="ascii").read().split()[2] != "Z"
    except ProcessLookupError:
        alive = False
    assert not alive, "the grandchild survived the stop"


def test_invalid_member_stops_and_says_so():
    samples = Samples(view(100.0, valid=False))
    result = _snapshot_guard.run_guarded([sys.executable, "-c", "import time; time.sleep(60)"], samples, 80,
                                         interval=0.1, grace=5)
    assert result["aborted"] == "os/var_up_snap (snapshot of var) is invalid: it overflowed" and result["rc"] < 0


def test_term_ignored_gets_killed_after_grace():
    code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('x', flush=True); time.sleep(60)"
    samples = Samples(0.0, 0.0, 0.0, 0.0, 0.0, 90.0)
    result = _snapshot_guard.run_guarded([sys.executable, "-c", code], samples, 80, interval=0.2, grace=1)
    assert result["aborted"] and result["rc"] == -9


def test_timeout_stops_the_command():
    ticks = iter(range(0, 10 ** 6, 7))
    result = _snapshot_guard.run_guarded([sys.executable, "-c", "import time; time.sleep(60)"], Samples(0.0), 80,
                                         interval=0.01, timeout=20, grace=5, clock=lambda: next(ticks))
    assert result["aborted"] == "still running after 20 s (timeout)"


def test_output_is_kept_to_its_tail():
    code = "import sys; sys.stdout.write('a' * 200000 + 'END')"
    result = _snapshot_guard.run_guarded([sys.executable, "-c", code], Samples(0.0), 80, interval=0.05)
    assert len(result["stdout"]) == _snapshot_guard.OUTPUT_TAIL and result["stdout"].endswith("END")
