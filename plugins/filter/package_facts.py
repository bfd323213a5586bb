# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters over the ``packages`` fact of ansible.builtin.package_facts."""

from __future__ import annotations

import re

from ansible.errors import AnsibleFilterError

DOCUMENTATION = r"""
name: packages_matching
short_description: Installed packages whose full version matches a pattern
version_added: 0.1.0
description:
  - Flattens the C(packages) fact of M(ansible.builtin.package_facts) into a
    sorted list of C({name, version}) where version is the full
    C([epoch:]version[-release]) string, keeping only packages whose full
    version matches O(pattern) (a Python regular expression, searched).
positional: pattern
options:
  _input:
    description: The C(packages) fact.
    type: dict
    required: true
  pattern:
    description: Regular expression searched in each full version; empty keeps all.
    type: str
    default: ""
author:
  - fuel.lifecycle maintainers (@fuel-lifecycle)
"""

EXAMPLES = r"""
- name: Vendor builds carry "mos" in their version
  ansible.builtin.debug:
    msg: "{{ ansible_facts.packages | fuel.lifecycle.packages_matching('mos') }}"
"""

RETURN = r"""
_value:
  description: Sorted list of C({name, version}) dicts.
  type: list
  elements: dict
"""


def full_version(entry):
    """'[epoch:]version[-release]' of one package_facts entry."""
    version = str(entry.get("version", ""))
    if entry.get("release"):
        version = "%s-%s" % (version, entry["release"])
    if str(entry.get("epoch")) not in ("None", "", "0"):
        version = "%s:%s" % (entry["epoch"], version)
    return version


def packages_matching(packages, pattern=""):
    if not isinstance(packages, dict):
        raise AnsibleFilterError("packages_matching expects the packages fact (a dict), got %s"
                                 % type(packages).__name__)
    try:
        regex = re.compile(pattern or "")
    except re.error as exc:
        raise AnsibleFilterError("packages_matching: invalid pattern %r: %s" % (pattern, exc)) from exc
    found = []
    for name, entries in packages.items():
        for entry in entries:
            version = full_version(entry)
            if regex.search(version):
                found.append({"name": name, "version": version})
    return sorted(found, key=lambda item: (item["name"], item["version"]))


class FilterModule:  # pylint: disable=too-few-public-methods
    """fuel.lifecycle package_facts filters."""

    def filters(self):
        return {"packages_matching": packages_matching}
