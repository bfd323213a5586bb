"""Offline stand-in for the pip bootstrap script ansible-test downloads.

ansible-test creates its sanity venvs without pip and fetches a get-pip
script from a host this network cannot reach. This script takes its place in
ansible-test's cache: it installs pip from the interpreter's own ensurepip,
then lets that pip install the requested packages (pip==<version>, ...) from
the package index, as the original would.
"""

import ensurepip
import importlib
import os
import runpy
import sys

ARGS = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
ensurepip.bootstrap(upgrade=True)
# ensurepip points PIP_CONFIG_FILE at /dev/null for itself; the real install
# must see the machine's pip configuration (index, certificates).
os.environ.pop("PIP_CONFIG_FILE", None)
importlib.invalidate_caches()
sys.argv = ["pip", "install"] + ARGS
runpy.run_module("pip", run_name="__main__", alter_sys=True)
