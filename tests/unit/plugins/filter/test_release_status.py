"""release_status_flagged: installed versions (package_facts) the release status flags."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.fuel.lifecycle.plugins.filter.release_status import release_status_flagged

STATUS = {"problem_packages": [{"name": "libfuel-common", "versions": ["1.2-0mos3", "0:1.2-0mos4"], "reason": "r"},
                               {"name": "kernel", "versions": ["1:5.0-1"], "reason": "k"}]}


def test_flags_installed_versions_only():
    packages = {"libfuel-common": [{"version": "1.2", "release": "0mos3", "epoch": None}],
                "kernel": [{"version": "5.0", "release": "1", "epoch": 1}, {"version": "4.0", "release": "1"}],
                "other": [{"version": "1.2-0mos3"}]}
    assert release_status_flagged(packages, STATUS) == [
        {"name": "kernel", "version": "1:5.0-1", "reason": "k"},
        {"name": "libfuel-common", "version": "1.2-0mos3", "reason": "r"}]
    # A zero epoch on either side is ignored; deb facts carry the whole version in "version".
    assert release_status_flagged({"libfuel-common": [{"version": "1.2-0mos4"}]}, STATUS)[0]["version"] == "1.2-0mos4"
    assert release_status_flagged({}, STATUS) == []


@pytest.mark.parametrize("packages, status", [
    ([], STATUS), ({}, None), ({}, {"problem_packages": "x"}), ({}, {"problem_packages": [{"name": 1}]}),
])
def test_bad_input_is_a_clear_error(packages, status):
    with pytest.raises(AnsibleFilterError, match="release_status_flagged"):
        release_status_flagged(packages, status)
