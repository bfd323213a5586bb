"""The report written on the controller says what each node really has installed and configured.

The host class (RPM or APT) comes from the inventory (group ``rpm_hosts``), never
from what the role wrote; every comparison reads the node with its own tools.
"""

from __future__ import annotations

import json
import os
import re

import pytest

REPORT = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "node_report.json")


@pytest.fixture(scope="module", name="report")
def report_fixture():
    with open(REPORT, encoding="utf-8") as handle:
        return json.load(handle)


def is_rpm_host(host):
    return "rpm_hosts" in host.ansible.get_variables().get("group_names", [])


def installed_versions(host, names):
    """name -> full version, read with the node's own package database."""
    args = " ".join(["%s"] * len(names))
    if is_rpm_host(host):
        query = host.check_output("rpm -q --qf '%%{NAME} %%{VERSION}-%%{RELEASE}\\n' " + args, *names)
    else:
        query = host.check_output("dpkg-query -W -f '${Package} ${Version}\\n' " + args, *names)
    return dict(line.split() for line in query.splitlines())


def test_report_covers_the_host(host, report):
    assert host.backend.get_hostname() in report


def test_vendor_packages_match_the_package_database(host, report):
    entry = report[host.backend.get_hostname()]
    reported = {p["name"]: p["version"] for p in entry["vendor_packages"]}
    assert reported, "no vendor package reported"
    assert installed_versions(host, sorted(reported)) == reported


def test_enabled_repositories_match_the_files(host, report):
    entry = report[host.backend.get_hostname()]
    enabled = [r for r in entry["repositories"] if r["enabled"]]
    assert enabled, "no enabled repository reported"
    for repo in entry["repositories"]:
        content = host.file(repo["file"]).content_string
        # The whole URI as one token of the file (exact for file:// URIs too, which have no host part).
        assert re.search(r"(^|[\s=])%s(\s|$)" % re.escape(repo["uri"]), content, re.M), (repo, content)
    if is_rpm_host(host):
        ids = host.check_output("dnf -q --releasever=12 repolist --enabled 2>/dev/null | awk 'NR>1 {print $1}'")
        assert sorted(ids.split()) == sorted(r["name"] for r in enabled)
    else:
        sources = host.check_output("apt-get indextargets --no-release-info --format '$(REPO_URI) $(RELEASE)' "
                                    "'Created-By: Packages' | sort -u")
        listed = {tuple(line.split()) for line in sources.splitlines() if line.strip()}
        assert listed == {(r["uri"].rstrip("/") + "/", r["suite"]) for r in enabled}, (listed, enabled)
