"""The repository module_utils under the node interpreters: Python 2.7 and 3.6 (pyenv), when installed."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "modules"))
from archive_fixture import build  # noqa: E402  pylint: disable=wrong-import-position

INTERPRETERS = ["/root/.pyenv/versions/2.7.18/bin/python", "/root/.pyenv/versions/3.6.15/bin/python"]


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    return build(str(tmp_path_factory.mktemp("node-archive")))


@pytest.mark.parametrize("python", INTERPRETERS, ids=["py27", "py36"])
def test_module_utils_run_on_node_python(python, archive):
    if not os.path.exists(python):
        pytest.skip("%s is not installed here" % python)
    proc = subprocess.run([python, os.path.join(HERE, "repo_node_smoke.py"), archive["root"]], capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "smoke ok" in proc.stdout
