# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Readers of yum .repo files, APT sources and pins."""

from __future__ import annotations

import pytest

from ansible_collections.fuel.lifecycle.plugins.module_utils import _repo_files as rf

YUM = """
[vendor]
name=Vendor
baseurl=http://user:secret@mirror.example/vendor/
priority=50
gpgcheck=1

[nailgun]
name=Local
baseurl=file:///var/www/nailgun/centos/x86_64
enabled=0
gpgcheck=0
"""


def test_yum_sections_priorities_and_defaults():
    vendor, nailgun = rf.parse_yum_repo_text(YUM, "/etc/yum.repos.d/x.repo")
    assert vendor == {"type": "rpm", "name": "vendor", "file": "/etc/yum.repos.d/x.repo", "enabled": True,
                      "uri": "http://***@mirror.example/vendor/", "priority": 50, "gpgcheck": True}
    assert nailgun["enabled"] is False and nailgun["priority"] == 99 and nailgun["gpgcheck"] is False


@pytest.mark.parametrize("url, expected", [
    ("https://u:p@host/path", "https://***@host/path"),
    ("http://host/a@b", "http://host/a@b"),
    ("file:///srv/repo", "file:///srv/repo"),
])
def test_credentials_are_masked(url, expected):
    assert rf.redact_url(url) == expected


def test_apt_one_line_sources():
    text = ("# comment\n"
            "deb [arch=amd64 signed-by=/etc/apt/keyrings/v.gpg] http://m/vendor mos9.0 main restricted\n"
            "deb-src http://m/vendor mos9.0 main\n"
            "not a source line\n")
    repos = rf.parse_apt_sources_list(text, "/etc/apt/sources.list.d/v.list")
    assert [r["type"] for r in repos] == ["deb", "deb-src"]
    assert repos[0]["signed_by"] == "/etc/apt/keyrings/v.gpg"
    assert repos[0]["suite"] == "mos9.0" and repos[0]["section"] == "main restricted"


def test_apt_deb822_expands_uris_and_suites():
    text = ("Types: deb\nURIs: http://a/debian http://b/debian\nSuites: bookworm bookworm-updates\n"
            "Components: main\nSigned-By: /usr/share/keyrings/debian.gpg\n\n"
            "Types: deb\nURIs: http://c/x\nSuites: s\nComponents: main\nEnabled: no\n")
    repos = rf.parse_apt_deb822(text, "/etc/apt/sources.list.d/debian.sources")
    assert len(repos) == 5
    assert {(r["uri"], r["suite"]) for r in repos[:4]} == {
        ("http://a/debian", "bookworm"), ("http://a/debian", "bookworm-updates"),
        ("http://b/debian", "bookworm"), ("http://b/debian", "bookworm-updates")}
    assert repos[4]["enabled"] is False


def test_apt_preferences_pins():
    text = ("Package: *\nPin: release a=mos9.0\nPin-Priority: 1050\n\n"
            "Explanation: no pin here\nPackage: foo\n")
    assert rf.parse_apt_preferences(text, "/p") == [
        {"file": "/p", "package": "*", "pin": "release a=mos9.0", "priority": 1050}]


def test_read_host_repositories_under_a_root(tmp_path):
    (tmp_path / "etc/yum.repos.d").mkdir(parents=True)
    (tmp_path / "etc/yum.repos.d/v.repo").write_text(YUM)
    (tmp_path / "etc/apt/sources.list.d").mkdir(parents=True)
    (tmp_path / "etc/apt/sources.list.d/v.list").write_text("deb http://m/v s main\n")
    (tmp_path / "etc/apt/preferences.d").mkdir(parents=True)
    (tmp_path / "etc/apt/preferences.d/v").write_text("Package: *\nPin: origin m\nPin-Priority: 900\n")
    repos, pins = rf.read_host_repositories(str(tmp_path))
    assert [r["name"] for r in repos] == ["vendor", "nailgun", "v.list"]
    assert pins[0]["priority"] == 900


def test_yum_baseurls_keep_credentials_first_definition_wins(tmp_path):
    repos = tmp_path / "etc" / "yum.repos.d"
    repos.mkdir(parents=True)
    (repos / "a.repo").write_text(YUM)
    (repos / "b.repo").write_text("[vendor]\nbaseurl=http://other/\n[nourl]\nmirrorlist=http://m/\n")
    assert rf.yum_baseurls(str(tmp_path)) == {"vendor": "http://user:secret@mirror.example/vendor/",
                                              "nailgun": "file:///var/www/nailgun/centos/x86_64"}
