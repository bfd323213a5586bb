# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""package_swap / mu_version / needs_restart module_utils under real CPython 2.7 and 3.6 (when installed)."""

from __future__ import annotations

import os
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
CHECKOUT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
INTERPRETERS = [os.environ.get("FUEL_PYTHON27", "/root/.pyenv/versions/2.7.18/bin/python"),
                os.environ.get("FUEL_PYTHON36", "/root/.pyenv/versions/3.6.15/bin/python")]


@pytest.mark.parametrize("python", INTERPRETERS, ids=["2.7", "3.6"])
def test_module_utils_run_on_old_node_pythons(python):
    if not os.path.exists(python):
        pytest.skip("%s is not installed on this machine" % python)
    run = subprocess.run([python, os.path.join(HERE, "node_python", "smoke_mu_swap_restart.py"), CHECKOUT],
                         capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0 and run.stdout.strip().splitlines()[-1].startswith("ok "), run.stdout + run.stderr
