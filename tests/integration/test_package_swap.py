"""package_swap against real dnf/rpm (RPM host) and apt/dpkg (apt node) with the fixture repositories."""

from __future__ import annotations

import os

import pytest

SWAP = [{"remove": ["fuel-utils"], "install": ["fuel-tools"]}]


def package_db(lab, host):
    if host == "master":
        return sorted(lab.node_run(host, ["rpm", "-qa", "--qf", "%{NAME}-%{VERSION}-%{RELEASE}\n"]).stdout.split())
    return lab.node_run(host, ["dpkg-query", "-W", "-f", "${Package} ${Version} ${Status}\n"]).stdout.splitlines()


def add_upstream(lab, host):
    """Configure the fixture upstream repository on the node (what the repo module does in real runs)."""
    root = lab.root(host)
    if host == "master":
        with open(os.path.join(root, "etc/yum.repos.d/upstream.repo"), "w", encoding="utf-8") as handle:
            handle.write("[upstream]\nname=Upstream\nbaseurl=%s/rpm/upstream/\ngpgcheck=1\n"
                         "gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-fuel-lab\n" % lab.mirror_url)
    else:
        with open(os.path.join(root, "etc/apt/sources.list.d/upstream.list"), "w", encoding="utf-8") as handle:
            handle.write("deb [signed-by=/etc/apt/keyrings/fuel-lab.gpg] %s/deb/upstream upstream main\n"
                         % lab.mirror_url)


def swap_play(host, swaps, **options):
    args = {"swaps": swaps, "package_manager": "{{ fuel_lifecycle_package_manager | default('auto') }}",
            "update_cache": host != "master"}
    args.update(options)
    return [{"hosts": host, "gather_facts": False,
             "tasks": [{"name": "swap", "fuel.lifecycle.package_swap": args, "register": "swap"}]}]


@pytest.mark.parametrize("host", ["master", "cmp-1"])
def test_swap_plan_apply_and_idempotence(lab, host):
    lab.reset(host)
    add_upstream(lab, host)
    before = package_db(lab, host)

    plan = lab.playbook(swap_play(host, SWAP), check=True, diff=True)
    assert plan.rc == 0, plan
    result = plan.task("swap", host)[0]["result"]
    assert result["changed"] and result["swaps"][0]["state"] == "pending"
    assert [p["name"] for p in result["plan"]["removed"]] == ["fuel-utils"]
    assert result["plan"]["installed"] == [{"name": "fuel-tools", "version": "2.1-1"}]
    assert "+fuel-tools 2.1-1" in plan.output
    assert package_db(lab, host) == before, "check mode changed the package database"

    applied = lab.playbook(swap_play(host, SWAP))
    assert applied.rc == 0, applied
    assert applied.changed_hosts() == [host]
    assert "fuel-tools 2.1-1" in lab.node_run(host, ["fuel-util"]).stdout
    assert lab.read(host, "/usr/share/fuel-lab/fuel-tools.version").strip() == "2.1-1"
    assert not os.path.exists(os.path.join(lab.root(host), "usr/share/fuel-lab/fuel-utils.version"))

    again = lab.playbook(swap_play(host, SWAP))
    assert again.rc == 0 and again.changed_hosts() == [], again
    assert again.task("swap", host)[0]["result"]["swaps"][0]["state"] == "done"


@pytest.mark.parametrize("host", ["master", "cmp-1"])
@pytest.mark.parametrize("swaps, reason", [
    ([{"remove": ["fuel-utils"], "install": ["no-such-package"]}], "no-such-package"),
    ([{"remove": ["fuel-utils"], "install": ["fuel-tools", "upstream-needs-missing"]}], "library-nobody-ships"),
])
def test_unresolvable_swap_changes_nothing(lab, host, swaps, reason):
    lab.reset(host)
    add_upstream(lab, host)
    if host != "master":
        lab.node_run(host, ["apt-get", "update", "-q"])
    before = package_db(lab, host)
    run = lab.playbook(swap_play(host, swaps))
    assert run.rc != 0
    failure = run.task("swap", host)[0]
    assert failure["status"] == "failed" and "nothing was changed" in failure["result"]["msg"]
    assert reason in failure["result"]["msg"]
    assert package_db(lab, host) == before


def test_half_removed_swap_is_completed(lab):
    lab.reset("master")
    add_upstream(lab, "master")
    lab.node_run("master", ["rpm", "-e", "fuel-utils"])
    run = lab.playbook(swap_play("master", SWAP))
    assert run.rc == 0, run
    swap = run.task("swap", "master")[0]["result"]["swaps"][0]
    assert swap["state"] == "half_removed" and swap["to_install"] == ["fuel-tools"]
    assert "fuel-tools-2.1-1" in package_db(lab, "master")


def test_bad_input_is_refused_before_anything_changes(lab):
    lab.reset("cmp-2")
    before = package_db(lab, "cmp-2")
    run = lab.playbook(swap_play("cmp-2", [{"remove": ["fuel-utils;reboot"], "install": ["fuel-tools"]}]))
    assert run.rc != 0
    assert "swaps[0].remove: invalid package" in run.task("swap", "cmp-2")[0]["result"]["msg"]
    assert package_db(lab, "cmp-2") == before
