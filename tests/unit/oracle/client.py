# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Batch calls to the reference libraries and the real version strings of this machine."""

from __future__ import annotations

import json
import os
import subprocess

SYSTEM_PYTHON = "/usr/bin/python3"
SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "oracle.py")


def oracle(kind, pairs):
    proc = subprocess.run([SYSTEM_PYTHON, SCRIPT], input=json.dumps({"kind": kind, "pairs": pairs}),
                          text=True, capture_output=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError("oracle failed (python3-apt / python3-rpm installed?): %s" % proc.stderr)
    return json.loads(proc.stdout)


def machine_versions():
    """Distinct Version: fields of every APT package list on this machine (lists may be compressed)."""
    dump = subprocess.run(["apt-cache", "dumpavail"], text=True, capture_output=True, check=True,
                          env=dict(os.environ, LC_ALL="C")).stdout
    return sorted({line[9:].strip() for line in dump.splitlines() if line.startswith("Version: ")})
