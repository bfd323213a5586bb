# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The flagged versions installed: parsing of dpkg-query / rpm output (replayed) and the comparison."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.fuel.lifecycle.plugins.module_utils import _release_status as rs

STATUS = {"problem_packages": [
    {"name": "fuel-utils", "versions": ["2.0-0mos2"], "reason": "CLI regression"},
    {"name": "libfuel-common", "versions": ["0:1.2-0mos3", "1:1.3-1"], "reason": "breaks restarts"}]}


def replay(rc, out, err=""):
    calls = []

    def run_command(argv):
        calls.append(argv)
        return rc, out, err
    return run_command, calls


def test_dpkg_output_keeps_packages_with_files_on_disk():
    out = ("fuel-utils\t2.0-0mos2\tinstalled\n"
           "libfuel-common\t1:1.3-1\thalf-configured\n"
           "old-tool\t1.0\tconfig-files\n"
           "gone\t\tnot-installed\n")
    run_command, calls = replay(1, out, "dpkg-query: no packages found matching nothere\n")
    names = ["fuel-utils", "libfuel-common", "old-tool", "gone", "nothere"]
    versions = rs.installed_versions(run_command, "apt", names)
    assert versions == {"fuel-utils": ["2.0-0mos2"], "libfuel-common": ["1:1.3-1"]}
    assert calls[0][:3] == ["dpkg-query", "-W", "-f"] and calls[0][-1] == "nothere"


def test_rpm_output_with_epochs_and_several_versions():
    out = ("kernel\t3.10.0-1160.el7\tinstalled\nkernel\t3.10.0-1160.2.el7\tinstalled\n"
           "libfuel-common\t1:1.3-1\tinstalled\npackage nothere is not installed\n")
    run_command, _calls = replay(1, out)
    versions = rs.installed_versions(run_command, "rpm", ["kernel", "libfuel-common", "nothere"])
    assert versions == {"kernel": ["3.10.0-1160.el7", "3.10.0-1160.2.el7"], "libfuel-common": ["1:1.3-1"]}


@pytest.mark.parametrize("manager, rc, out, err", [
    ("apt", 2, "", "dpkg-query: error: parsing file '/var/lib/dpkg/status'"),
    ("rpm", 1, "", "error: rpmdb: BDB0113 Thread/process failed"),
    ("rpm", -9, "", ""),
])
def test_a_broken_package_database_is_an_error_naming_the_tool(manager, rc, out, err):
    run_command, _calls = replay(rc, out, err)
    with pytest.raises(rs.StatusError, match="dpkg-query|rpm"):
        rs.installed_versions(run_command, manager, ["fuel-utils"])


@pytest.mark.parametrize("manager, rc, out, err", [
    ("apt", 1, "", "dpkg-query: no packages found matching fuel-utils\n"),
    ("rpm", 1, "package fuel-utils is not installed\n", ""),
])
def test_none_of_the_names_installed_is_no_error(manager, rc, out, err):
    run_command, _calls = replay(rc, out, err)
    assert rs.installed_versions(run_command, manager, ["fuel-utils"]) == {}


def test_no_names_runs_nothing():
    run_command, calls = replay(0, "")
    assert rs.installed_versions(run_command, "apt", []) == {} and not calls


def test_flagged_ignores_a_zero_epoch_and_sorts():
    installed = {"libfuel-common": ["1.2-0mos3"], "fuel-utils": ["2.0-0mos2", "2.1-0mos1"], "other": ["1"]}
    assert rs.flagged(installed, STATUS) == [
        {"name": "fuel-utils", "version": "2.0-0mos2", "reason": "CLI regression"},
        {"name": "libfuel-common", "version": "1.2-0mos3", "reason": "breaks restarts"}]
    assert rs.flagged({}, STATUS) == [] and rs.flagged(installed, {}) == []


@pytest.mark.parametrize("status, words", [
    ([], "status document"),
    ({"problem_packages": {}}, "status document"),
    ({"problem_packages": ["x"]}, "problem_packages[0]"),
    ({"problem_packages": [{"name": "a", "versions": ["1"]}, {"name": 3, "versions": []}]}, "problem_packages[1]"),
    ({"problem_packages": [{"name": "a", "versions": "1"}]}, "problem_packages[0]"),
])
def test_wrong_shapes_name_the_entry(status, words):
    with pytest.raises(rs.StatusError) as info:
        rs.flagged({}, status)
    assert words in str(info.value)


def test_read_status_missing_directory_and_corrupt(tmp_path):
    assert rs.read_status(str(tmp_path / "none.json")) is None
    with pytest.raises(rs.StatusError, match="is a directory"):
        rs.read_status(str(tmp_path))
    bad = tmp_path / "bad.json"
    bad.write_text('{"problem_packages": [NaN]}')
    with pytest.raises(rs.StatusError, match="bad.json"):
        rs.read_status(str(bad))
    good = tmp_path / "good.json"
    good.write_text(json.dumps(STATUS))
    assert rs.read_status(str(good)) == STATUS


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                    max_leaves=20)
ENTRY = st.fixed_dictionaries({}, optional={"name": JSON | st.text(max_size=12), "versions": JSON | st.lists(JSON),
                                            "reason": JSON})


@settings(max_examples=300, deadline=None)
@given(status=JSON | st.fixed_dictionaries({"problem_packages": st.lists(ENTRY | JSON, max_size=4)}),
       installed=st.dictionaries(st.text(max_size=12), st.lists(st.text(max_size=12), max_size=3), max_size=4))
def test_any_document_is_an_answer_or_a_status_error(status, installed):
    try:
        found = rs.flagged(installed, status)
    except rs.StatusError as exc:
        assert str(exc)
        return
    assert all(item["name"] in installed and item["version"] in installed[item["name"]] for item in found)


@settings(max_examples=200, deadline=None)
@given(out=st.text(), rc=st.integers(min_value=-64, max_value=300), err=st.text(max_size=40),
       manager=st.sampled_from(["apt", "rpm"]))
def test_any_tool_output_is_versions_or_a_status_error(out, rc, err, manager):
    run_command, _calls = replay(rc, out, err)
    try:
        versions = rs.installed_versions(run_command, manager, ["a", "b"])
    except rs.StatusError:
        return
    assert set(versions) <= {"a", "b"} and all(isinstance(v, str) for listed in versions.values() for v in listed)
