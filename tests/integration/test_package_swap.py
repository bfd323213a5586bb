"""package_swap against real package databases: the RPM host (dnf API, and `yum shell` with dnf standing
in for yum, as EL7's yum 3 cannot run here) and an apt node, with the fixture repositories.

Every verdict is read from the node's own package database (`rpm -qa` / `rpm -q`, `dpkg-query -W`),
before and after; the module's report is compared with it, never used instead of it.
"""

from __future__ import annotations

import os

import pytest

SWAP = [{"remove": ["fuel-utils"], "install": ["fuel-tools"]}]
# (host, package_manager): dnf API and yum shell on the RPM host, apt on cmp-1
BACKENDS = [("master", "dnf"), ("master", "yum"), ("cmp-1", "apt")]


def package_db(lab, host):
    """The whole installed package set with versions, from the node's own tools."""
    if host == "master":
        argv = ["rpm", "-qa", "--qf", "%{NAME} %{EPOCHNUM}:%{VERSION}-%{RELEASE}.%{ARCH}\n"]
        return sorted(lab.node_run(host, argv).stdout.splitlines())
    argv = ["dpkg-query", "-W", "-f", "${Package} ${Version} ${db:Status-Abbrev}\n"]
    return sorted(lab.node_run(host, argv).stdout.splitlines())


def installed(lab, host, name):
    """Version of ``name`` per rpm -q / dpkg-query, None when not installed."""
    if host == "master":
        run = lab.node_run(host, ["rpm", "-q", "--qf", "%{VERSION}-%{RELEASE}", name], check=False)
        return run.stdout.strip() if run.returncode == 0 else None
    run = lab.node_run(host, ["dpkg-query", "-W", "-f", "${db:Status-Status} ${Version}", name], check=False)
    status, _sep, version = run.stdout.partition(" ")
    return version.strip() if run.returncode == 0 and status == "installed" else None


def prepare(lab, host, manager):
    """Fresh node, the fixture upstream repository configured (what the repo roles do in real runs)."""
    lab.reset(host)
    root = lab.root(host)
    if host == "master":
        with open(os.path.join(root, "etc/yum.repos.d/upstream.repo"), "w", encoding="utf-8") as handle:
            handle.write("[upstream]\nname=Upstream\nbaseurl=%s/rpm/upstream/\ngpgcheck=1\n"
                         "gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-fuel-lab\n" % lab.mirror_url)
        if manager == "yum":
            # dnf stands in for yum: `yum shell` scripts run through dnf's shell.
            os.makedirs(os.path.join(root, "usr/local/bin"), exist_ok=True)
            os.symlink("/usr/bin/dnf", os.path.join(root, "usr/local/bin/yum"))
    else:
        with open(os.path.join(root, "etc/apt/sources.list.d/upstream.list"), "w", encoding="utf-8") as handle:
            handle.write("deb [signed-by=/etc/apt/keyrings/fuel-lab.gpg] %s/deb/upstream upstream main\n"
                         % lab.mirror_url)
        lab.node_run(host, ["apt-get", "update", "-q"])


def swap_play(host, swaps, manager, **options):
    args = {"swaps": swaps, "package_manager": manager}
    args.update(options)
    return [{"hosts": host, "gather_facts": False,
             "tasks": [{"name": "swap", "fuel.lifecycle.package_swap": args, "register": "swap"}]}]


def refusal_play(host, swaps, manager, **options):
    """The swap with its registered result shown by a second task: the module's own ``failed`` is read from it
    (the task result a callback sees no longer carries the key)."""
    play = swap_play(host, swaps, manager, **options)
    play[0]["tasks"][0]["ignore_errors"] = True
    play[0]["tasks"].append({"name": "registered", "ansible.builtin.debug": {"var": "swap"}})
    return play


def refusal(run, host):
    """The registered result of a swap that must have failed by the module's own verdict."""
    assert module_result(run, host)["status"] == "ignored", run
    registered = run.task("registered", host)
    assert len(registered) == 1, run
    result = registered[0]["result"]["swap"]
    assert result["failed"] is True and result["changed"] is False, result
    return result


def module_result(run, host):
    found = run.task("swap", host)
    assert len(found) == 1, run
    return found[0]


@pytest.mark.parametrize("host, manager", BACKENDS)
def test_swap_plan_apply_and_idempotence(lab, host, manager):
    prepare(lab, host, manager)
    before = package_db(lab, host)
    assert installed(lab, host, "fuel-utils") and installed(lab, host, "fuel-tools") is None

    plan = lab.playbook(swap_play(host, SWAP, manager), check=True, diff=True)
    assert plan.rc == 0, plan
    result = module_result(plan, host)["result"]
    assert result["changed"] and result["package_manager"] == manager
    assert [p["name"] for p in result["plan"]["removed"]] == ["fuel-utils"]
    assert result["plan"]["installed"] == [{"name": "fuel-tools", "version": "2.1-1"}]
    assert "+fuel-tools 2.1-1" in plan.output
    assert package_db(lab, host) == before, "check mode changed the package database"

    applied = lab.playbook(swap_play(host, SWAP, manager))
    assert applied.rc == 0, applied
    assert applied.changed_hosts() == [host]
    after = package_db(lab, host)
    # the database itself: the new package in, the old one out, nothing else touched
    assert installed(lab, host, "fuel-tools") == "2.1-1" and installed(lab, host, "fuel-utils") is None
    assert sorted(set(before) - set(after)) == [line for line in before if line.startswith("fuel-utils ")]
    assert sorted(set(after) - set(before)) == [line for line in after if line.startswith("fuel-tools ")]
    assert "fuel-tools 2.1-1" in lab.node_run(host, ["fuel-util"]).stdout

    # rerun: decided by the package set read again, not by the module's "done"
    again = lab.playbook(swap_play(host, SWAP, manager))
    assert again.rc == 0 and again.changed_hosts() == [], again
    assert package_db(lab, host) == after
    assert module_result(again, host)["result"]["swaps"][0]["state"] == "done"


@pytest.mark.parametrize("check", [True, False], ids=["check", "run"])
@pytest.mark.parametrize("host, manager", BACKENDS)
def test_plan_missing_a_requested_package_is_refused(lab, host, manager, check):
    """#19: a swap whose new package exists nowhere is refused before the old one is removed."""
    prepare(lab, host, manager)
    before = package_db(lab, host)
    run = lab.playbook(refusal_play(host, [{"remove": ["fuel-utils"], "install": ["no-such-package"]}], manager),
                       check=check)
    failure = refusal(run, host)
    assert "no-such-package" in failure["msg"] and "nothing was changed" in failure["msg"], failure
    assert package_db(lab, host) == before
    assert installed(lab, host, "fuel-utils")


@pytest.mark.parametrize("host, manager", BACKENDS)
def test_unresolvable_dependency_changes_nothing(lab, host, manager):
    prepare(lab, host, manager)
    before = package_db(lab, host)
    run = lab.playbook(refusal_play(host, [{"remove": ["fuel-utils"], "install": ["fuel-tools",
                                                                                  "upstream-needs-missing"]}], manager))
    failure = refusal(run, host)
    assert "nothing was changed" in failure["msg"], failure
    assert "library-nobody-ships" in failure["msg"] or "upstream-needs-missing" in failure["msg"], failure
    assert package_db(lab, host) == before


def test_half_removed_swap_is_completed(lab):
    prepare(lab, "master", "dnf")
    lab.node_run("master", ["rpm", "-e", "fuel-utils"])
    before = package_db(lab, "master")
    run = lab.playbook(swap_play("master", SWAP, "rpm"))
    assert run.rc == 0, run
    swap = module_result(run, "master")["result"]["swaps"][0]
    assert swap["state"] == "half_removed" and swap["to_install"] == ["fuel-tools"]
    assert installed(lab, "master", "fuel-tools") == "2.1-1" and installed(lab, "master", "fuel-utils") is None
    assert sorted(set(package_db(lab, "master")) - set(before)) == \
        [line for line in package_db(lab, "master") if line.startswith("fuel-tools ")]


def test_bad_input_is_refused_before_anything_changes(lab):
    lab.reset("cmp-2")
    before = package_db(lab, "cmp-2")
    run = lab.playbook(refusal_play("cmp-2", [{"remove": ["fuel-utils;reboot"], "install": ["fuel-tools"]}], "apt"))
    failure = refusal(run, "cmp-2")
    assert "swaps[0].remove: invalid package" in failure["msg"]
    assert package_db(lab, "cmp-2") == before
