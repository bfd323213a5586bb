# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Swap validation, swap states, the yum shell script and the parsing of package-manager output."""

from __future__ import annotations

import pytest

from ansible_collections.fuel.lifecycle.plugins.module_utils import _package_swap as ps


@pytest.mark.parametrize("swaps, message", [
    ([], "at least one swap"),
    (["fuel-utils"], r"swaps\[0\]: must be a dict"),
    ([{"remove": ["a"], "instal": ["b"]}], r"swaps\[0\]: unknown field\(s\) instal"),
    ([{"remove": [], "install": []}], r"swaps\[0\]: needs a remove or an install"),
    ([{"remove": ["a;rm -rf /"], "install": ["b"]}], r"swaps\[0\].remove: invalid package"),
    ([{"remove": ["a"], "install": ["b"]}, {"remove": ["a"], "install": ["c"]}], r"swaps\[1\].remove: package a"),
    ([{"remove": ["a"], "install": "b c"}], r"swaps\[0\].install: invalid package 'b c'"),
])
def test_bad_swaps_name_the_field(swaps, message):
    with pytest.raises(ps.SwapError, match=message):
        ps.validate_swaps(swaps, "dnf")


def test_install_specs_with_versions():
    assert ps.validate_swaps([{"remove": ["old"], "install": ["new=2.1-1"]}], "apt")[0]["install"] == ["new=2.1-1"]
    assert ps.spec_name("new=2.1-1", "apt") == "new"
    assert ps.spec_name("fuel-tools-2.1-1", "dnf") == "fuel-tools"
    assert ps.spec_name("fuel-tools", "dnf") == "fuel-tools"


@pytest.mark.parametrize("installed, state, to_remove, to_install", [
    ({"old": "1"}, "pending", ["old"], ["new"]),
    ({"new": "2"}, "done", [], []),
    ({"old": "1", "new": "2"}, "half_installed", ["old"], []),
    ({}, "half_removed", [], ["new"]),
])
def test_swap_states(installed, state, to_remove, to_install):
    result, = ps.swap_states([{"remove": ["old"], "install": ["new"]}], installed, "dnf")
    assert (result["state"], result["to_remove"], result["to_install"]) == (state, to_remove, to_install)
    assert ps.explain(result)


def test_yum_shell_script_is_one_transaction():
    assert ps.yum_shell_script(["fuel-utils", "a"], ["fuel-tools"]) == \
        "remove fuel-utils\nremove a\ninstall fuel-tools\nrun\n"
    assert ps.yum_argv("/tmp/s", ["base"], ["*"], assumeno=True) == \
        ["yum", "--assumeno", "--disablerepo=*", "--enablerepo=base", "shell", "/tmp/s"]


def test_apt_argv_marks_removals():
    argv = ps.apt_argv(["fuel-utils"], ["fuel-tools"], simulate=True, allow_downgrade=False)
    assert argv[-2:] == ["fuel-tools", "fuel-utils-"] and "--simulate" in argv


APT_SIMULATION = """Reading package lists...
The following packages will be REMOVED:
  fuel-utils
The following NEW packages will be installed:
  fuel-tools
Remv fuel-utils [2.0-0mos2]
Inst fuel-tools (2.1-1 upstream [all])
Inst libfuel-common [1.2-0mos2] (1.3-1 upstream [all])
Inst fuel-agent [1.0-0mos3] (1.0-0mos2 mos9.0-mu1 [all])
Conf fuel-tools (2.1-1 upstream [all])
"""


def test_parse_apt_simulation():
    assert ps.parse_apt_simulation(APT_SIMULATION) == {
        "removed": [{"name": "fuel-utils", "version": "2.0-0mos2"}],
        "installed": [{"name": "fuel-tools", "version": "2.1-1"}],
        "upgraded": [{"name": "libfuel-common", "from": "1.2-0mos2", "version": "1.3-1"}],
        "downgraded": [{"name": "fuel-agent", "from": "1.0-0mos3", "version": "1.0-0mos2"}],
    }


YUM_OUTPUT = """Setting up Yum Shell
--> Running transaction check
Dependencies Resolved

================================================================================
 Package             Arch        Version            Repository           Size
================================================================================
Installing:
 fuel-tools          noarch      2.1-1              upstream-base        3.1 k
Removing:
 fuel-utils          noarch      2.0-0mos2          @mos-updates         120
Updating for dependencies:
 libfuel-common      noarch      1.3-1              upstream-base        2.0 k
 python-fuel-very-long-package-name-for-wrapping
                     noarch      4.2-1              upstream-base        9.9 k

Transaction Summary
================================================================================
Install  1 Package
"""


def test_parse_yum_transaction():
    assert ps.parse_yum_transaction(YUM_OUTPUT) == {
        "installed": [{"name": "fuel-tools", "version": "2.1-1"}],
        "removed": [{"name": "fuel-utils", "version": "2.0-0mos2"}],
        "upgraded": [{"name": "libfuel-common", "version": "1.3-1"},
                     {"name": "python-fuel-very-long-package-name-for-wrapping", "version": "4.2-1"}],
        "downgraded": [],
    }


def test_parse_installed():
    rpm_out = "fuel-utils\t0:2.0-0mos2\nkernel\t1:5.14-1\npackage fuel-tools is not installed\n"
    assert ps.parse_installed(rpm_out, "dnf") == {"fuel-utils": "2.0-0mos2", "kernel": "1:5.14-1"}
    dpkg_out = "fuel-utils\t2.0-0mos2\tinstalled\nfuel-tools\t\tnot-installed\n"
    assert ps.parse_installed(dpkg_out, "apt") == {"fuel-utils": "2.0-0mos2"}
    assert ps.state_lines({"a": "1"}, ["b", "a"]) == "a 1\nb (not installed)\n"
