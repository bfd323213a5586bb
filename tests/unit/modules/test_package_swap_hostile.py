# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hostile input for package_swap: generated options and hostile package-manager output.

Every run of the real main() must end in exit_json/fail_json, a failure must
name the field or the package, and a command that changes packages (``yum -y
shell``, ``apt-get install`` without ``--simulate``) may only run when the plan
printed before it installs every requested package and removes every package
to remove.
"""

from __future__ import annotations

import os
import tempfile
from unittest import mock

from hypothesis import example, given, settings
from hypothesis import strategies as st

from ansible.module_utils import basic
from module_harness import run_module

from ansible_collections.fuel.lifecycle.plugins.module_utils import _package_swap as ps
from ansible_collections.fuel.lifecycle.plugins.modules import package_swap

names = st.one_of(st.sampled_from(["fuel-utils", "fuel-tools", "a", "python3-x", "pkg=1.0", "pkg-1.0-1", "-y",
                                   "--allow-unauthenticated", "a b", "a;reboot", "x" * 300, "a\n", "é", "",
                                   "../x", "*", "libfoo=1:2.0~rc1-1"]),
                  st.text(max_size=12))
values = st.one_of(names, st.integers(), st.none(), st.lists(names, max_size=3))
outputs = st.one_of(st.text(max_size=200), st.sampled_from([
    "", "Remv fuel-utils [2.0]\n", "Inst fuel-tools (2.1-1 up [all])\nRemv fuel-utils [2.0]\n",
    "Inst fuel-tools [3.0] (2.1-1 up [all])\n", "Installing:\n fuel-tools noarch 2.1-1 up 1 k\n",
    "Removing:\n fuel-utils noarch 2.0 @mos 1 k\nInstalling:\n fuel-tools noarch 2.1-1 up 1 k\n",
    "Installing:\n very-long-name\n", "No package fuel-tools available.\nRemoving:\n fuel-utils noarch 2 @m 1\n",
    "fuel-utils\t0:2.0\n", "fuel-utils\t2.0\tinstalled\nfuel-tools\t2.1-1\tinstalled\n", "\t\t\t\n",
    "fuel-tools\t0:2.1-1\n"]))


@st.composite
def hostile_params(draw):
    swaps = draw(st.one_of(
        st.lists(st.fixed_dictionaries({}, optional={"remove": values, "install": values}), max_size=3),
        st.just([{"remove": ["fuel-utils"], "install": ["fuel-tools"]}])))
    params = {"swaps": swaps, "package_manager": draw(st.sampled_from(["apt", "yum", "rpm"]))}
    for field in ("enable_repos", "disable_repos"):
        if draw(st.booleans()):
            params[field] = draw(st.lists(names, max_size=2))
    return params


class Replay:
    def __init__(self, draw_output, rcs):
        self.outputs = draw_output
        self.rcs = rcs
        self.calls = []

    def __call__(self, argv, *args, **kwargs):
        argv = [os.path.basename(argv[0])] + list(argv[1:])
        index = len(self.calls)
        script = None
        if argv[-1].endswith(".yumshell"):
            with open(argv[-1], encoding="utf-8") as handle:
                script = handle.read()
        self.calls.append((argv, script))
        out = self.outputs[index % len(self.outputs)]
        return self.rcs[index % len(self.rcs)], out, ""


def changing(argv):
    return argv[:2] == ["yum", "-y"] or (argv[:2] == ["apt-get", "install"] and "--simulate" not in argv)


@settings(max_examples=150, deadline=None)
@given(params=hostile_params(), outs=st.lists(outputs, min_size=1, max_size=4),
       rcs=st.lists(st.sampled_from([0, 0, 1, 2, 100, -9]), min_size=1, max_size=3), check=st.booleans())
@example(params={"swaps": [{"remove": ["fuel-utils"], "install": ["fuel-tools"]}], "package_manager": "yum"},
         outs=["fuel-utils\t0:2.0\n", "Removing:\n fuel-utils noarch 2.0 @mos 1 k\n"], rcs=[0], check=False)
@example(params={"swaps": [{"remove": ["fuel-utils"], "install": ["fuel-tools"]}], "package_manager": "apt"},
         outs=["fuel-utils\t2.0\tinstalled\n", "Remv fuel-utils [2.0]\n"], rcs=[0], check=False)
def test_hostile_params_and_outputs(params, outs, rcs, check):
    replay = Replay(outs, rcs)

    def run_command(_self, argv, *_args, **_kwargs):
        return replay(argv)

    with tempfile.TemporaryDirectory() as tmp, mock.patch.object(basic.AnsibleModule, "run_command", run_command), \
            mock.patch.object(basic.AnsibleModule, "get_bin_path", lambda self, name, *a, **k: "/usr/bin/" + name), \
            mock.patch.dict("sys.modules", {"dnf": None}):
        result = run_module(package_swap.main, params, check_mode=check, tmpdir=tmp)
        assert not [n for n in os.listdir(tmp) if n.endswith(".yumshell")]
    if result.get("failed"):
        # ansible-core itself refuses a NUL in any option before main() runs ("Failed to log to syslog")
        own = "Failed to log to syslog" in result["msg"] and "\\x00" in repr(params)
        fields = ("swaps", "enable_repos", "disable_repos", "package_manager", "allow_downgrade", "update_cache",
                  "package database", "during the swap", "not complete", "elements", "swap")
        assert own or any(word in result["msg"] for word in fields), result["msg"]
    for index, (argv, script) in enumerate(replay.calls):
        if changing(argv):
            assert not check, "check mode ran %r" % argv
            plan_out = outs[(index - 1) % len(outs)]
            manager = "apt" if argv[0] == "apt-get" else "yum"
            plan = ps.parse_apt_simulation(plan_out) if manager == "apt" else ps.parse_yum_transaction(plan_out)
            words = [a for i, a in enumerate(argv) if not (i and argv[i - 1] == "-o")]  # -o VALUE is an option
            installs = [a for a in words if not a.startswith("-") and a not in ("install", "apt-get", "yum", "shell")
                        and not a.endswith("-") and not a.endswith(".yumshell")]
            if manager == "apt":
                removes = [a[:-1] for a in argv[1:] if a.endswith("-") and not a.startswith("-")]
                assert ps.plan_problem(plan, removes, installs, "apt") is None, (argv, plan_out)
            else:
                lines = [line.split(" ", 1) for line in script.splitlines() if " " in line]
                removes = [name for verb, name in lines if verb == "remove"]
                installs = [name for verb, name in lines if verb == "install"]
                assert ps.plan_problem(plan, removes, installs, "yum") is None, (script, plan_out)
