"""After the repos role each host's package manager prefers holdback, then vendor, then upstream.

The host class comes from the inventory (group ``rpm_hosts``), never from the
files the role wrote: an RPM host whose role run failed fails here, it is not
skipped. The idempotence run is judged by the digest of the managed
directories, recorded after each converge.
"""

from __future__ import annotations

import pytest


def is_rpm_host(host):
    return "rpm_hosts" in host.ansible.get_variables().get("group_names", [])


def test_inventory_names_one_rpm_and_one_apt_host(host):
    # Guards the class tests below against an inventory that would make them vacuous.
    assert host.ansible.get_variables()["inventory_hostname"] in ("master", "ctrl-1")
    assert is_rpm_host(host) == (host.ansible.get_variables()["inventory_hostname"] == "master")


def test_rerun_left_every_byte_and_mode(host):
    digests = host.file("/root/.fuel-repos-digests").content_string.split()
    assert len(digests) >= 2, "converge and idempotence each record a digest: %r" % digests
    assert len(set(digests[-2:])) == 1, "the idempotence run changed the managed files: %r" % digests


def test_rpm_host_priorities_and_nailgun_copy(host):
    if not is_rpm_host(host):
        pytest.skip("an APT host in the inventory")
    for name, priority in (("holdback", 30), ("vendor", 50), ("upstream", 70)):
        content = host.file("/etc/yum.repos.d/%s.repo" % name).content_string
        assert "priority=%d" % priority in content and "enabled=1" in content
    assert "enabled=0" in host.file("/etc/yum.repos.d/fuel-lab-mu1.repo").content_string
    assert "enabled=0" not in host.file("/etc/yum.repos.d.nailgun/fuel-lab-mu1.repo").content_string
    plan = host.run("dnf --releasever=12 --setopt=metadata_expire=0 --assumeno distro-sync libfuel-common")
    assert "Downgrading" in plan.stdout and "1.1-0mos1" in plan.stdout and "holdback" in plan.stdout


def test_apt_host_pins_pick_holdback(host):
    if is_rpm_host(host):
        pytest.skip("the RPM host in the inventory")
    policy = host.check_output("apt-cache policy libfuel-common")
    assert "Candidate: 1.1-0mos1" in policy
    assert "1200 http" in policy and "1050 http" in policy and "500 http" in policy
    assert host.file("/etc/apt/preferences.d/holdback.pref").mode == 0o644
    assert "Pin: release n=mos9.0-holdback" in host.file("/etc/apt/preferences.d/holdback.pref").content_string
