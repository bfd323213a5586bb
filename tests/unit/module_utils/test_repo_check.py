# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parsing of repository metadata and resolution of required packages."""

from __future__ import annotations

import base64
import gzip

import pytest

from ansible_collections.fuel.lifecycle.plugins.module_utils import _repo_check as rc

REPOMD = b"""<?xml version="1.0" encoding="UTF-8"?>
<repomd xmlns="http://linux.duke.edu/metadata/repo" xmlns:rpm="http://linux.duke.edu/metadata/rpm">
  <data type="filelists"><location href="repodata/abc-filelists.xml.gz"/></data>
  <data type="primary"><location href="repodata/def-primary.xml.gz"/></data>
</repomd>"""

PRIMARY = b"""<?xml version="1.0" encoding="UTF-8"?>
<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="2">
<package type="rpm"><name>libfuel-common</name><arch>noarch</arch>
  <version epoch="0" ver="1.2" rel="0mos1"/></package>
<package type="rpm"><name>fuel-agent</name><arch>noarch</arch>
  <version epoch="2" ver="1.0" rel="0mos1"/></package>
</metadata>"""

INRELEASE = """-----BEGIN PGP SIGNED MESSAGE-----
Hash: SHA512

Origin: fuel-lab
Label: Vendor packages
Suite: mos9.0
Codename: mos9.0
Components: main
SHA256:
 0123 561 main/binary-amd64/Packages
 4567 403 main/binary-amd64/Packages.gz
-----BEGIN PGP SIGNATURE-----

iQ==
-----END PGP SIGNATURE-----
"""


def test_repomd_and_primary():
    assert rc.primary_location(REPOMD) == "repodata/def-primary.xml.gz"
    data = rc.decompress("x.xml.gz", gzip.compress(PRIMARY))
    assert rc.parse_primary(data) == {"libfuel-common": ["1.2-0mos1"], "fuel-agent": ["2:1.0-0mos1"]}
    with pytest.raises(ValueError, match="no primary"):
        rc.primary_location(b'<repomd xmlns="http://linux.duke.edu/metadata/repo"/>')


def test_release_fields_and_problems():
    fields = rc.parse_release(INRELEASE)
    assert fields["suite"] == "mos9.0" and fields["components"] == "main"
    assert rc.release_problems(fields, "mos9.0", ["main"]) == []
    assert rc.release_problems(fields, "mos9.0", ["main", "universe"]) == [
        "section universe is not among the components (main)"]
    assert "not mos8.0" in rc.release_problems(fields, "mos8.0", ["main"])[0]
    assert rc.packages_index_names(fields, "main", "amd64") == [
        "main/binary-amd64/Packages.gz", "main/binary-amd64/Packages"]


def test_packages_index():
    text = "Package: a\nVersion: 1.0-1\n\nPackage: b\nArchitecture: all\nVersion: 2:3\n\nPackage: a\nVersion: 1.1\n"
    assert rc.parse_packages(text) == {"a": ["1.0-1", "1.1"], "b": ["2:3"]}


def test_rpm_requirement_without_release_compares_version_only():
    assert rc.compare_for_requirement("rpm", "1.2-0mos1", "1.2") == 0
    assert rc.compare_for_requirement("rpm", "1.2-0mos1", "1.2-0mos2") == -1
    assert rc.compare_for_requirement("rpm", "2:1.0-1", "1.5") == 1
    assert rc.compare_for_requirement("deb", "1.2-0mos1", "1.2") == 1
    indexes = {"vendor": {"lib": ["1.2-0mos1", "bad:version"]}}
    assert [f["version"] for f in rc.resolve(["lib = 1.2"], indexes, "rpm")[0]["found"]] == ["1.2-0mos1"]


def test_requirements_and_resolution():
    assert rc.parse_requirement("libfuel-common >= 1.2") == ("libfuel-common", ">=", "1.2")
    assert rc.parse_requirement("fuel-agent==1.0-0mos3") == ("fuel-agent", "=", "1.0-0mos3")
    assert rc.parse_requirement("fuel-agent") == ("fuel-agent", None, None)
    with pytest.raises(ValueError, match="is not a requirement"):
        rc.parse_requirement("fuel-agent >= ")
    indexes = {"vendor": {"lib": ["1.2-0mos1"]}, "upstream": {"lib": ["1.3-1"]}, "holdback": {"lib": ["1.1-0mos1"]}}
    result = {r["requirement"]: r for r in rc.resolve(["lib >= 1.2", "lib << 1.2", "lib = 1.3-1", "gone"],
                                                      indexes, "deb")}
    assert [f["repo"] for f in result["lib >= 1.2"]["found"]] == ["upstream", "vendor"]
    assert [f["version"] for f in result["lib << 1.2"]["found"]] == ["1.1-0mos1"]
    assert result["lib = 1.3-1"]["satisfied"] and not result["gone"]["satisfied"]


def test_dearmor_and_clearsigned_body():
    payload = b"\x99\x01\x0dkeydata"
    armored = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n%s\n=abcd\n-----END PGP PUBLIC KEY BLOCK-----\n" % (
        base64.b64encode(payload).decode())
    assert rc.dearmor(armored) == payload
    with pytest.raises(ValueError):
        rc.dearmor("not armored")
    assert rc.clearsigned_body(INRELEASE).startswith("Origin: fuel-lab\n")
    assert rc.join("http://m/rpm/", "/repodata/repomd.xml") == "http://m/rpm/repodata/repomd.xml"
