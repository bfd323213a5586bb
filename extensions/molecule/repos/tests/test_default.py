"""After the repos role each host's package manager prefers holdback, then vendor, then upstream."""

from __future__ import annotations

import pytest


def is_rpm_host(host):
    return host.file("/etc/yum.repos.d/holdback.repo").exists


def test_rpm_host_priorities_and_nailgun_copy(host):
    if not is_rpm_host(host):
        pytest.skip("not the RPM host")
    for name, priority in (("holdback", 30), ("vendor", 50), ("upstream", 70)):
        content = host.file("/etc/yum.repos.d/%s.repo" % name).content_string
        assert "priority=%d" % priority in content and "enabled=1" in content
    assert "enabled=0" in host.file("/etc/yum.repos.d/fuel-lab-mu1.repo").content_string
    assert "enabled=0" not in host.file("/etc/yum.repos.d.nailgun/fuel-lab-mu1.repo").content_string
    plan = host.run("dnf --releasever=12 --setopt=metadata_expire=0 --assumeno distro-sync libfuel-common")
    assert "Downgrading" in plan.stdout and "1.1-0mos1" in plan.stdout and "holdback" in plan.stdout


def test_apt_host_pins_pick_holdback(host):
    if is_rpm_host(host):
        pytest.skip("not an APT host")
    policy = host.check_output("apt-cache policy libfuel-common")
    assert "Candidate: 1.1-0mos1" in policy
    assert "1200 http" in policy and "1050 http" in policy and "500 http" in policy
    assert host.file("/etc/apt/preferences.d/holdback.pref").mode == 0o644
