# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Swap planning: validation, swap states, argv and scripts, parsing of apt/yum/dnf plans."""

from __future__ import annotations

import pytest

from ansible_collections.fuel.lifecycle.plugins.module_utils import _package_swap as ps

SWAP = [{"remove": ["fuel-utils"], "install": ["fuel-tools"]}]

APT_SIMULATION = """NOTE: This is only a simulation!
      apt-get needs root privileges for real execution.
Reading package lists...
Building dependency tree...
The following packages will be REMOVED:
  fuel-utils
The following NEW packages will be installed:
  fuel-tools
0 upgraded, 1 newly installed, 1 to remove and 0 not upgraded.
Remv fuel-utils [2.0-0mos2]
Inst fuel-tools (2.1-1 Upstream snapshot:upstream [all])
Inst libfuel-common [1.2-0mos2] (1.3-1 Upstream snapshot:upstream [all])
Inst fuel-agent [1:1.0-0mos3] (1.0-0mos9 local:local [all])
Conf fuel-tools (2.1-1 Upstream snapshot:upstream [all])
"""

# yum 3.4 (EL7) shell output for a swap, with a long name wrapped onto a second line.
YUM_OUTPUT = """Setting up Remove Process
Setting up Install Process
--> Running transaction check
---> Package fuel-tools.noarch 0:2.1-1 will be installed
---> Package fuel-utils.noarch 0:2.0-0mos2 will be erased
--> Finished Dependency Resolution

Dependencies Resolved

================================================================================
 Package                      Arch      Version         Repository        Size
================================================================================
Installing:
 fuel-tools                   noarch    2.1-1           upstream         2.9 k
Removing:
 fuel-utils                   noarch    2.0-0mos2       @mu1               52
Installing for dependencies:
 python-fuel-tools-very-long-library-name
                              noarch    1:0.9-3.el7     upstream          10 k
Updating for dependencies:
 libfuel-common               noarch    1.3-1           upstream         2.1 k

Transaction Summary
================================================================================
Install  1 Package (+1 Dependent package)
Upgrade             ( 1 Dependent package)
Remove   1 Package
Exiting on user command
"""


def test_validate_names_the_field():
    assert ps.validate_swaps(SWAP, "dnf") == SWAP
    assert ps.validate_swaps([{"remove": "a", "install": ["b-1.0-1"]}], "dnf") == [{"remove": ["a"], "install": ["b-1.0-1"]}]
    for swaps, message in [
        ([], "swaps: give at least one swap"),
        (["x"], "swaps[0]: must be a dict"),
        ([{"remove": ["a"], "instal": ["b"]}], "swaps[0]: unknown field(s) instal"),
        ([{"remove": [], "install": []}], "swaps[0]: needs a remove or an install"),
        ([{"remove": ["a b"]}], "swaps[0].remove: invalid package 'a b'"),
        ([{"install": ["b;rm"]}], "swaps[0].install: invalid package"),
        ([SWAP[0], {"remove": ["fuel-tools"]}], "swaps[1].remove: package fuel-tools already appears in swaps[0].install"),
    ]:
        with pytest.raises(ps.SwapError, match=r"^" + message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[").replace("]", r"\]")):
            ps.validate_swaps(swaps, "dnf")
    assert ps.validate_swaps([{"install": ["fuel-tools=2.1-1"]}], "apt")[0]["install"] == ["fuel-tools=2.1-1"]
    with pytest.raises(ps.SwapError, match=r"swaps\[0\].install"):
        ps.validate_swaps([{"install": ["Fuel-Tools"]}], "apt")


def test_spec_name():
    assert ps.spec_name("fuel-tools-2.1-1", "dnf") == "fuel-tools"
    assert ps.spec_name("fuel-tools-2.1", "dnf") == "fuel-tools"
    assert ps.spec_name("python3-dnf", "dnf") == "python3-dnf"
    assert ps.spec_name("fuel-tools=2.1-1", "apt") == "fuel-tools"


@pytest.mark.parametrize("installed, state, remove, install", [
    ({"fuel-utils": "2.0-0mos2"}, "pending", ["fuel-utils"], ["fuel-tools"]),
    ({"fuel-tools": "2.1-1"}, "done", [], []),
    ({"fuel-utils": "2.0-0mos2", "fuel-tools": "2.1-1"}, "half_installed", ["fuel-utils"], []),
    ({}, "half_removed", [], ["fuel-tools"]),
])
def test_swap_states(installed, state, remove, install):
    states = ps.swap_states(SWAP, installed, "dnf")
    assert states[0]["state"] == state and ps.explain(states[0])
    assert ps.transaction_lists(states) == (remove, install)


def test_apt_argv_is_one_transaction():
    argv = ps.apt_argv(["fuel-utils"], ["fuel-tools"], simulate=True, allow_downgrade=False)
    assert argv[:3] == ["apt-get", "install", "-y"] and "--simulate" in argv
    assert argv[-2:] == ["fuel-tools", "fuel-utils-"] and "--allow-downgrades" not in argv
    assert "--allow-downgrades" in ps.apt_argv([], ["a=1"], simulate=False, allow_downgrade=True)


def test_parse_apt_simulation():
    plan = ps.parse_apt_simulation(APT_SIMULATION)
    assert plan == {
        "removed": [{"name": "fuel-utils", "version": "2.0-0mos2"}],
        "installed": [{"name": "fuel-tools", "version": "2.1-1"}],
        "upgraded": [{"name": "libfuel-common", "from": "1.2-0mos2", "version": "1.3-1"}],
        "downgraded": [{"name": "fuel-agent", "from": "1:1.0-0mos3", "version": "1.0-0mos9"}],
    }
    assert ps.plan_downgrades(plan) == ["fuel-agent 1:1.0-0mos3 -> 1.0-0mos9"]


def test_yum_shell_script_and_argv():
    assert ps.yum_shell_script(["fuel-utils", "old-lib"], ["fuel-tools", "new-lib-1.0"]) == (
        "remove fuel-utils\nremove old-lib\ninstall fuel-tools\ninstall new-lib-1.0\nrun\n")
    assert ps.yum_argv(["up*"], ["nailgun"], assumeno=True) == [
        "yum", "--assumeno", "--disablerepo=nailgun", "--enablerepo=up*", "shell"]
    assert ps.yum_argv([], [], assumeno=False) == ["yum", "-y", "shell"]


def test_parse_yum_transaction():
    assert ps.parse_yum_transaction(YUM_OUTPUT) == {
        "installed": [{"name": "fuel-tools", "version": "2.1-1"},
                      {"name": "python-fuel-tools-very-long-library-name", "version": "1:0.9-3.el7"}],
        "removed": [{"name": "fuel-utils", "version": "2.0-0mos2"}],
        "upgraded": [{"name": "libfuel-common", "version": "1.3-1"}],
        "downgraded": [],
    }
    assert ps.parse_yum_transaction("Error: Nothing to do\n") == ps.empty_plan()


def test_dnf_plan_pairs_old_versions():
    plan = ps.dnf_plan([("removed", "fuel-utils", "2.0-0mos2"), ("install", "fuel-tools", "2.1-1"),
                        ("upgrade", "libfuel-common", "1.3-1"), ("upgraded", "libfuel-common", "1.2-0mos2"),
                        ("downgrade", "fuel-agent", "1.0-0mos1"), ("downgraded", "fuel-agent", "1.0-0mos2"),
                        ("obsoleted", "old-name", "1-1"), ("reason change", "x", "1-1")])
    assert plan == {
        "removed": [{"name": "fuel-utils", "version": "2.0-0mos2"}, {"name": "old-name", "version": "1-1"}],
        "installed": [{"name": "fuel-tools", "version": "2.1-1"}],
        "upgraded": [{"name": "libfuel-common", "version": "1.3-1", "from": "1.2-0mos2"}],
        "downgraded": [{"name": "fuel-agent", "version": "1.0-0mos1", "from": "1.0-0mos2"}],
    }


def test_detect_manager():
    def binaries(*names):
        return lambda name: name in names
    assert ps.detect_manager("apt", binaries(), False) == "apt"
    assert ps.detect_manager("auto", binaries("apt-get", "dnf"), True) == "dnf"
    assert ps.detect_manager("auto", binaries("apt-get"), False) == "apt"
    assert ps.detect_manager("rpm", binaries("yum", "apt-get"), False) == "yum"
    assert ps.detect_manager("auto", binaries("yum", "dnf"), False) == "dnf"
    with pytest.raises(ps.SwapError, match="package_manager: no dnf or yum"):
        ps.detect_manager("rpm", binaries("apt-get"), False)


def test_installed_parsing_and_planned_state():
    rpm = "fuel-utils\t0:2.0-0mos2\nlibfuel-common\t1:1.2-0mos2\npackage fuel-tools is not installed\n"
    installed = ps.parse_installed(rpm, "rpm")
    assert installed == {"fuel-utils": "2.0-0mos2", "libfuel-common": "1:1.2-0mos2"}
    deb = "fuel-utils\t2.0-0mos2\tinstalled\nfuel-tools\t2.1-1\tconfig-files\n"
    assert ps.parse_installed(deb, "apt") == {"fuel-utils": "2.0-0mos2"}
    after = ps.planned_state(installed, ps.parse_apt_simulation(APT_SIMULATION))
    assert after == {"fuel-tools": "2.1-1", "libfuel-common": "1.3-1", "fuel-agent": "1.0-0mos9"}
    assert ps.state_lines(after, ["fuel-utils", "fuel-tools"]) == "fuel-tools 2.1-1\nfuel-utils (not installed)\n"
