"""package_swap: a renamed package swapped in one transaction with real dnf/rpm and apt/dpkg."""

from __future__ import annotations

import os

import pytest

RPM_HOST = "master"
APT_HOST = "ctrl-1"
SWAP = [{"remove": ["fuel-utils"], "install": ["fuel-tools"]}]
BROKEN = [{"remove": ["fuel-utils"], "install": ["fuel-tools"]},
          {"remove": ["libfuel-common"], "install": ["no-such-package"]}]


@pytest.fixture(scope="module", autouse=True)
def deployed_state_afterwards(lab):
    yield
    lab.reset(RPM_HOST, APT_HOST)


def write(lab, host, path, text):
    with open(os.path.join(lab.root(host), path.lstrip("/")), "w", encoding="utf-8") as handle:
        handle.write(text)


def play(host, steps):
    tasks = []
    for name, options, extra in steps:
        tasks.append(dict({"name": name, "fuel.lifecycle.package_swap": options, "register": "out"}, **extra))
    return [{"hosts": host, "gather_facts": False, "tasks": tasks}]


def result(run, name, host):
    return run.task(name, host)[0]["result"]


def rpm_qa(lab):
    return sorted(lab.node_run(RPM_HOST, ["rpm", "-qa"]).stdout.split())


def dpkg_l(lab):
    return lab.node_run(APT_HOST, ["dpkg", "-l"]).stdout


def test_rpm_swap_dnf_one_transaction(lab):
    lab.reset(RPM_HOST)
    # The upstream snapshot repo is known but disabled: the swap enables it for its transaction only.
    write(lab, RPM_HOST, "/etc/yum.repos.d/fuel-lab-upstream.repo",
          "[fuel-lab-upstream]\nname=Upstream snapshot\nbaseurl=%s/rpm/upstream/\nenabled=0\ngpgcheck=1\n"
          "gpgkey=%s/keys/RPM-GPG-KEY-fuel-lab\n" % (lab.mirror_url, lab.mirror_url))
    options = {"swaps": SWAP, "package_manager": "rpm", "enable_repos": ["fuel-lab-upstream"]}
    before = rpm_qa(lab)
    assert "fuel-utils-2.0-0mos2.noarch" in before

    # A swap that cannot resolve fails and leaves the RPM database as it was; so does check mode.
    run = lab.playbook(play(RPM_HOST, [
        ("broken", dict(options, swaps=BROKEN), {"failed_when": False}),
        ("plan", options, {"check_mode": True, "diff": True}),
    ]))
    assert run.rc == 0, run
    broken = result(run, "broken", RPM_HOST)
    assert broken["changed"] is False and "no-such-package" in broken.get("msg", ""), broken
    plan = result(run, "plan", RPM_HOST)
    assert plan["changed"] is True and plan["package_manager"] == "dnf"
    assert plan["plan"]["removed"] == [{"name": "fuel-utils", "version": "2.0-0mos2"}]
    assert plan["plan"]["installed"] == [{"name": "fuel-tools", "version": "2.1-1"}]
    assert plan["swaps"][0]["state"] == "pending"
    assert "fuel-tools 2.1-1" in plan["diff"]["after"] and "fuel-utils (not installed)" in plan["diff"]["after"]
    assert rpm_qa(lab) == before

    # For real, then again: nothing left to do.
    run = lab.playbook(play(RPM_HOST, [("swap", options, {}), ("again", options, {})]))
    assert run.rc == 0, run
    swap, again = result(run, "swap", RPM_HOST), result(run, "again", RPM_HOST)
    assert swap["changed"] is True and swap["installed_after"] == {
        "fuel-tools": "2.1-1"}, swap
    assert again["changed"] is False and again["swaps"][0]["state"] == "done"
    after = rpm_qa(lab)
    assert set(before) - set(after) == {"fuel-utils-2.0-0mos2.noarch"}
    assert set(after) - set(before) == {"fuel-tools-2.1-1.noarch"}
    assert lab.node_run(RPM_HOST, ["/usr/bin/fuel-util"]).stdout.strip() == "fuel-tools 2.1-1"


def test_rpm_half_removed_swap_is_completed(lab):
    lab.reset(RPM_HOST)
    write(lab, RPM_HOST, "/etc/yum.repos.d/fuel-lab-upstream.repo",
          "[fuel-lab-upstream]\nname=Upstream snapshot\nbaseurl=%s/rpm/upstream/\nenabled=1\ngpgcheck=1\n"
          "gpgkey=%s/keys/RPM-GPG-KEY-fuel-lab\n" % (lab.mirror_url, lab.mirror_url))
    # A previous attempt removed the old package and stopped.
    lab.node_run(RPM_HOST, ["rpm", "-e", "fuel-utils"])
    run = lab.playbook(play(RPM_HOST, [("swap", {"swaps": SWAP, "package_manager": "dnf"}, {})]))
    assert run.rc == 0, run
    swap = result(run, "swap", RPM_HOST)
    assert swap["swaps"][0]["state"] == "half_removed" and "install the new" in swap["swaps"][0]["explanation"]
    assert swap["plan"]["removed"] == [] and swap["plan"]["installed"][0]["name"] == "fuel-tools"
    assert "fuel-tools-2.1-1.noarch" in rpm_qa(lab)


def test_apt_swap_one_transaction(lab):
    lab.reset(APT_HOST)
    write(lab, APT_HOST, "/etc/apt/sources.list.d/fuel-lab-upstream.list",
          "deb [signed-by=/etc/apt/keyrings/fuel-lab.gpg] %s/deb/upstream upstream main\n" % lab.mirror_url)
    options = {"swaps": SWAP, "package_manager": "auto", "update_cache": True}
    before = dpkg_l(lab)
    assert "\nii  fuel-utils " in before and "\nii  fuel-tools " not in before

    run = lab.playbook(play(APT_HOST, [
        ("broken", dict(options, swaps=BROKEN), {"failed_when": False}),
        ("plan", options, {"check_mode": True, "diff": True}),
    ]))
    assert run.rc == 0, run
    broken = result(run, "broken", APT_HOST)
    assert broken["changed"] is False and "no-such-package" in broken.get("msg", ""), broken
    plan = result(run, "plan", APT_HOST)
    assert plan["package_manager"] == "apt" and plan["changed"] is True
    assert plan["plan"]["removed"] == [{"name": "fuel-utils", "version": "2.0-0mos2"}]
    assert plan["plan"]["installed"] == [{"name": "fuel-tools", "version": "2.1-1"}]
    assert dpkg_l(lab) == before

    run = lab.playbook(play(APT_HOST, [("swap", options, {}), ("again", options, {})]))
    assert run.rc == 0, run
    assert result(run, "swap", APT_HOST)["changed"] is True
    again = result(run, "again", APT_HOST)
    assert again["changed"] is False and again["swaps"][0]["state"] == "done"
    status = lab.node_run(APT_HOST, ["dpkg-query", "-W", "-f", "${Package} ${Version} ${db:Status-Status}\n",
                                     "fuel-tools", "fuel-utils"], check=False).stdout
    assert "fuel-tools 2.1-1 installed" in status and "fuel-utils 2.0-0mos2 installed" not in status
    assert lab.node_run(APT_HOST, ["/usr/bin/fuel-util"]).stdout.strip() == "fuel-tools 2.1-1"


def test_bad_input_names_the_field(lab):
    run = lab.playbook(play(APT_HOST, [
        ("bad", {"swaps": [{"remove": ["fuel-utils"], "install": ["Bad Name"]}], "package_manager": "apt"},
         {"failed_when": False}),
    ]))
    bad = result(run, "bad", APT_HOST)
    assert "swaps[0].install" in bad.get("msg", ""), bad
