# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The release status's flagged package versions installed on a node."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.fuel.lifecycle.plugins.filter.package_facts import full_version
from ansible_collections.fuel.lifecycle.plugins.module_utils import _release_status as release_status

DOCUMENTATION = r"""
name: release_status_flagged
short_description: Installed packages whose version the release status flags
version_added: 0.1.0
description:
  - Compares the C(packages) fact of M(ansible.builtin.package_facts) with a release status document
    (the C(status.json) the C(fuel.lifecycle.release_status) role publishes and caches on each node,
    see C(docs/release-status.md)) and returns the installed package versions it flags.
  - Versions compare as strings with an explicit zero epoch ignored (C(0:1.0-1) is C(1.0-1)), as the
    node hooks compare them.
positional: status
options:
  _input:
    description: The C(packages) fact.
    type: dict
    required: true
  status:
    description: The status document (a dict with C(problem_packages)).
    type: dict
    required: true
author:
  - fuel.lifecycle maintainers (@fuel-lifecycle)
"""

EXAMPLES = r"""
- name: Flagged versions installed here
  ansible.builtin.debug:
    msg: "{{ ansible_facts.packages | fuel.lifecycle.release_status_flagged(status) }}"
"""

RETURN = r"""
_value:
  description: Sorted list of C({name, version, reason}).
  type: list
  elements: dict
"""


def release_status_flagged(packages, status):
    if not isinstance(packages, dict):
        raise AnsibleFilterError("release_status_flagged expects the packages fact (a dict), got %s"
                                 % type(packages).__name__)
    installed = {name: [full_version(entry) for entry in entries or [] if isinstance(entry, dict)]
                 for name, entries in packages.items()}
    try:
        return release_status.flagged(installed, status)
    except release_status.StatusError as exc:
        raise AnsibleFilterError("release_status_flagged: %s" % exc) from exc


class FilterModule:  # pylint: disable=too-few-public-methods
    """fuel.lifecycle release status filters."""

    def filters(self):
        return {"release_status_flagged": release_status_flagged}
