# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The release status's flagged package versions installed on a node."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.fuel.lifecycle.plugins.filter.package_facts import full_version

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


def _normal(version):
    version = str(version).strip()
    return version[2:] if version.startswith("0:") else version


def release_status_flagged(packages, status):
    if not isinstance(packages, dict):
        raise AnsibleFilterError("release_status_flagged expects the packages fact (a dict), got %s"
                                 % type(packages).__name__)
    if not isinstance(status, dict) or not isinstance(status.get("problem_packages", []), list):
        raise AnsibleFilterError("release_status_flagged: status must be a status document with a "
                                 "problem_packages list")
    found = []
    for index, entry in enumerate(status.get("problem_packages", [])):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) \
                or not isinstance(entry.get("versions"), list):
            raise AnsibleFilterError("release_status_flagged: problem_packages[%d] needs a name and a "
                                     "versions list" % index)
        flagged = {_normal(version) for version in entry["versions"]}
        for installed in packages.get(entry["name"], []) or []:
            version = full_version(installed)
            if _normal(version) in flagged:
                found.append({"name": entry["name"], "version": version, "reason": str(entry.get("reason", ""))})
    return sorted(found, key=lambda item: (item["name"], item["version"]))


class FilterModule:  # pylint: disable=too-few-public-methods
    """fuel.lifecycle release status filters."""

    def filters(self):
        return {"release_status_flagged": release_status_flagged}
