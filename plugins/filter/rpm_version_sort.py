# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sort RPM versions, or dicts by an RPM version, in rpm's order."""

from __future__ import annotations

DOCUMENTATION = r"""
name: rpm_version_sort
short_description: Sort RPM versions, or dicts by an RPM version, in rpm's order
version_added: 0.1.0
description:
  - Returns O(_input) sorted oldest first (newest first with O(reverse)) in rpm's order
    (C(rpmvercmp) on C([epoch:]version[-release])), the order of P(fuel.lifecycle.rpm_version_compare#filter).
  - C(~) and C(^) have the meaning rpm 4.15 and later give them.
options:
  _input:
    description: The versions, or dicts holding a version under O(key).
    type: list
    elements: raw
    required: true
  key:
    description: When the items are dicts, the key holding the version.
    type: str
  reverse:
    description: Newest first.
    type: bool
    default: false
seealso:
  - plugin: fuel.lifecycle.rpm_version_compare
    plugin_type: filter
author:
  - fuel.lifecycle maintainers (@fuel-lifecycle)
"""

EXAMPLES = r"""
- name: Newest first
  ansible.builtin.debug:
    msg: "{{ ['1.0-1', '1:0.9-1', '1.0~rc1-1'] | fuel.lifecycle.rpm_version_sort(reverse=true) }}"

- name: Packages by version
  ansible.builtin.debug:
    msg: "{{ packages | fuel.lifecycle.rpm_version_sort(key='version') }}"
  vars:
    packages: [{name: a, version: 2.0-1}, {name: b, version: 1.10-1}]
"""

RETURN = r"""
_value:
  description: The sorted list.
  type: list
"""

from ansible_collections.fuel.lifecycle.plugins.filter.versions import rpm_version_sort


class FilterModule:  # pylint: disable=too-few-public-methods
    """fuel.lifecycle.rpm_version_sort"""

    def filters(self):
        return {"rpm_version_sort": rpm_version_sort}
