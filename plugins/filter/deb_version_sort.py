# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sort Debian versions, or dicts by a Debian version, in dpkg's order."""

from __future__ import annotations

DOCUMENTATION = r"""
name: deb_version_sort
short_description: Sort Debian versions, or dicts by a Debian version, in dpkg's order
version_added: 0.1.0
description:
  - Returns O(_input) sorted oldest first (newest first with O(reverse)) in dpkg's order
    (C([epoch:]upstream[-revision])), the order of P(fuel.lifecycle.deb_version_compare#filter).
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
  - plugin: fuel.lifecycle.deb_version_compare
    plugin_type: filter
author:
  - fuel.lifecycle maintainers (@fuel-lifecycle)
"""

EXAMPLES = r"""
- name: Newest first
  ansible.builtin.debug:
    msg: "{{ ['1.0-1', '1:0.9-1', '1.0~rc1-1'] | fuel.lifecycle.deb_version_sort(reverse=true) }}"
"""

RETURN = r"""
_value:
  description: The sorted list.
  type: list
"""

from ansible_collections.fuel.lifecycle.plugins.filter.versions import deb_version_sort


class FilterModule:  # pylint: disable=too-few-public-methods
    """fuel.lifecycle.deb_version_sort"""

    def filters(self):
        return {"deb_version_sort": deb_version_sort}
