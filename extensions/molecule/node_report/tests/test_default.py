"""The report written on the controller says what each node really has installed and configured."""

from __future__ import annotations

import json
import os

import pytest

REPORT = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "node_report.json")


@pytest.fixture(scope="module", name="report")
def report_fixture():
    with open(REPORT, encoding="utf-8") as handle:
        return json.load(handle)


def installed_versions(host, names):
    """name -> full version, read with the node's own package database."""
    args = " ".join(["%s"] * len(names))
    if host.exists("rpm") and host.run("rpm -q fuel-agent").rc == 0:
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
    for repo in entry["repositories"]:
        assert host.file(repo["file"]).exists
        assert repo["uri"].split("//", 1)[1].split("/", 1)[0] in host.file(repo["file"]).content_string
