"""The test command's vermin step (node Python 2.7 and 3.6) catches what breaks those Pythons."""

import os
import re
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
VERMIN = os.path.join(os.path.dirname(sys.executable), "vermin")


def vermin_argv():
    """The vermin command line of scripts/run-tests.sh, without its paths."""
    with open(os.path.join(REPO, "scripts", "run-tests.sh"), encoding="utf-8") as handle:
        script = handle.read()
    line = re.search(r"^\s*vermin (.*?)\\?$", script, re.M).group(1)
    return [VERMIN] + [word for word in line.split() if word.startswith("-")]


HEADER = "from __future__ import absolute_import, division, print_function\n__metaclass__ = type\n"


@pytest.mark.parametrize("code", [
    "from __future__ import annotations\n",
    "x = 1\nprint(f'{x}')\n",
    "def f(a: int) -> int:\n    return a\n",
    "try:\n    pass\nexcept OSError as exc:\n    raise ValueError('x') from exc\n",
    "import os\nos.makedirs('/tmp/x', exist_ok=True)\n",
    "import subprocess\nsubprocess.run(['true'])\n",
    "import re\nre.fullmatch('a', 'a')\n",
    "import shutil\nshutil.which('ls')\n",
    "def f(a, *, b):\n    return a\n",
    "a = {}\nb = {**a}\n",
])
def test_flags_what_old_pythons_lack(tmp_path, code):
    path = tmp_path / "module.py"
    path.write_text(HEADER + code)
    proc = subprocess.run(vermin_argv() + [str(path)], capture_output=True, text=True, check=False)
    assert proc.returncode != 0, proc.stdout


def test_converted_helpers_are_clean():
    files = [os.path.join(REPO, "plugins", "module_utils", name) for name in ("_files.py", "_runner.py")]
    proc = subprocess.run(vermin_argv() + files, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout
