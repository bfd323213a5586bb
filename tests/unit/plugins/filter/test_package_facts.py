# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""packages_matching over the packages fact of both package managers."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.fuel.lifecycle.plugins.filter.package_facts import packages_matching

PACKAGES = {
    "fuel-agent": [{"name": "fuel-agent", "version": "1.0-0mos2", "source": "apt"}],
    "bash": [{"name": "bash", "version": "5.2.15-2+b7", "source": "apt"}],
    "libfuel-common": [{"name": "libfuel-common", "version": "1.2", "release": "0mos2", "epoch": None,
                        "source": "rpm"}],
    "kernel": [{"name": "kernel", "version": "5.14.0", "release": "1.el9", "epoch": 1, "source": "rpm"},
               {"name": "kernel", "version": "5.14.0", "release": "2.mos9", "epoch": 1, "source": "rpm"}],
}


def test_filters_by_full_version_and_sorts():
    assert packages_matching(PACKAGES, "mos") == [
        {"name": "fuel-agent", "version": "1.0-0mos2"},
        {"name": "kernel", "version": "1:5.14.0-2.mos9"},
        {"name": "libfuel-common", "version": "1.2-0mos2"},
    ]


def test_empty_pattern_keeps_everything():
    assert len(packages_matching(PACKAGES)) == 5


@pytest.mark.parametrize("packages, pattern", [([], "mos"), (PACKAGES, "(")])
def test_bad_input_is_a_clear_error(packages, pattern):
    with pytest.raises(AnsibleFilterError, match="packages_matching"):
        packages_matching(packages, pattern)
