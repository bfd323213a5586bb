# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hostile input for needs_restart: generated options and hostile /proc and pid-file contents.

The module is read-only: every run must end in exit_json/fail_json, a failure
must name the field, and nothing on disk may change.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from unittest import mock

from hypothesis import example, given, settings
from hypothesis import strategies as st

from module_harness import run_module, tree_digest

from ansible_collections.fuel.lifecycle.plugins.module_utils import _needs_restart as nr
from ansible_collections.fuel.lifecycle.plugins.modules import needs_restart

texts = st.one_of(st.text(max_size=30), st.sampled_from(["", "/", "..", "/run/../etc/passwd", "x" * 600, "a\nb",
                                                         "(", "[z-a]", "(?P<", "a{99999999999}", "\\", "/dev/zero",
                                                         "{root}/run/dir.pid", "{root}/run/garbage.pid"]))
values = st.one_of(texts, st.integers(), st.none(), st.booleans(), st.lists(texts, max_size=3),
                   st.dictionaries(texts, texts, max_size=3))


@st.composite
def hostile_params(draw):
    params = {"use_tools": False}
    if draw(st.booleans()):
        specs = st.fixed_dictionaries({}, optional={"pidfile": values, "cmdline": values, "extra": values})
        params["service_map"] = draw(st.dictionaries(texts, st.one_of(values, specs), max_size=3))
    if draw(st.booleans()):
        params["ignore_prefixes"] = draw(st.lists(texts, max_size=3))
    return params


proc_bytes = st.one_of(st.binary(max_size=200), st.sampled_from([
    b"", b"garbage", b"7f-7f r-xp 00000000 fe:01 notanumber /usr/lib/x.so\n",
    b"7f-7f r-xp 00000000 fe:01 12 /usr/lib/\xff\xfe.so (deleted)\n", b"1 (a) b) S\n", b")\n",
    b"0::/system.slice/a\n.service\n"]))


@settings(max_examples=80, deadline=None)
@given(params=hostile_params(), maps=proc_bytes, stat=proc_bytes, cgroup=proc_bytes, pidfile=proc_bytes)
@example(params={"use_tools": False, "service_map": {"a": {"cmdline": "a{99999999999}"}}}, maps=b"", stat=b"",
         cgroup=b"", pidfile=b"")
@example(params={"use_tools": False, "service_map": {"a": {"pidfile": "{root}/run/dir.pid"}}}, maps=b"", stat=b"",
         cgroup=b"", pidfile=b"")
@example(params={"use_tools": False}, maps=b"7f-7f r-xp 0 fe:01 1 /usr/lib/x.so (deleted)\n", stat=b"1 (a) b) S\n",
         cgroup=b"", pidfile=b"")
def test_hostile_options_and_proc(params, maps, stat, cgroup, pidfile):
    tmp = tempfile.mkdtemp(prefix="nr-hostile-")
    try:
        root, proc = os.path.join(tmp, "root"), os.path.join(tmp, "proc")
        os.makedirs(os.path.join(root, "run", "dir.pid"))
        os.makedirs(os.path.join(root, "etc", "init.d"))
        with open(os.path.join(root, "run", "garbage.pid"), "wb") as handle:
            handle.write(pidfile)
        with open(os.path.join(root, "etc", "init.d", "garbage"), "w", encoding="utf-8") as handle:
            handle.write("#!/bin/sh\n")
        directory = os.path.join(proc, "4242")
        os.makedirs(directory)
        for name, data in (("maps", maps), ("stat", stat), ("cgroup", cgroup)):
            with open(os.path.join(directory, name), "wb") as handle:
                handle.write(data)
        os.symlink(root, os.path.join(directory, "root"))
        os.symlink("/usr/bin/x (deleted)", os.path.join(directory, "exe"))

        def fix(value):
            if isinstance(value, str):
                return value.replace("{root}", root)
            if isinstance(value, dict):
                return {fix(k): fix(v) for k, v in value.items()}
            if isinstance(value, list):
                return [fix(v) for v in value]
            return value
        params = fix(params)
        before = tree_digest(tmp)
        with mock.patch.object(nr, "PROC", proc), mock.patch.object(nr, "ROOT", root):
            result = run_module(needs_restart.main, params)
        assert tree_digest(tmp) == before
        if result.get("failed"):
            # ansible-core itself refuses a NUL in any option before main() runs ("Failed to log to syslog")
            own = "Failed to log to syslog" in result["msg"] and "\\x00" in repr(params)
            assert own or any(field in result["msg"] for field in ("service_map", "ignore_prefixes", "use_tools")), \
                result["msg"]
    finally:
        shutil.rmtree(tmp)
