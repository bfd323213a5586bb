# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Exact Debian and RPM version comparison and sorting filters."""

from __future__ import annotations

import functools

from ansible.errors import AnsibleFilterError

from ansible_collections.fuel.lifecycle.plugins.module_utils._versions import VersionError
from ansible_collections.fuel.lifecycle.plugins.module_utils._versions import deb_compare, rpm_compare

DOCUMENTATION = r"""
name: deb_version_compare
short_description: Compare two Debian versions exactly as dpkg does
version_added: 0.1.0
description:
  - Returns V(-1), V(0) or V(1) when O(_input) sorts before, equal to or after
    O(other) in dpkg's order (C([epoch:]upstream[-revision]); epochs, C(~)
    before everything, letters before other symbols, a missing revision equal
    to V(0)).
positional: other
options:
  _input:
    description: Left-hand version.
    type: str
    required: true
  other:
    description: Right-hand version.
    type: str
    required: true
seealso:
  - plugin: fuel.lifecycle.deb_version_sort
    plugin_type: filter
  - plugin: fuel.lifecycle.rpm_version_compare
    plugin_type: filter
author:
  - fuel.lifecycle maintainers (@fuel-lifecycle)
"""

EXAMPLES = r"""
- name: "-1: a tilde sorts before the release"
  ansible.builtin.debug:
    msg: "{{ '1.0~rc1-1' | fuel.lifecycle.deb_version_compare('1.0-1') }}"

- name: Newest first
  ansible.builtin.debug:
    msg: "{{ ['1.0-1', '1:0.9-1', '1.0~rc1-1'] | fuel.lifecycle.deb_version_sort(reverse=true) }}"
"""

RETURN = r"""
_value:
  description: V(-1), V(0) or V(1).
  type: int
"""


def _wrap(name, compare, left, right, **options):
    try:
        return compare(left, right, **options)
    except VersionError as exc:
        raise AnsibleFilterError("%s: %s" % (name, exc)) from exc


def deb_version_compare(left, right):
    return _wrap("deb_version_compare", deb_compare, left, right)


def rpm_version_compare(left, right, tilde=True, caret=True):
    return _wrap("rpm_version_compare", rpm_compare, left, right, tilde=bool(tilde), caret=bool(caret))


def _sort(name, compare, items, key=None, reverse=False):
    if not isinstance(items, (list, tuple)):
        raise AnsibleFilterError("%s expects a list, got %s" % (name, type(items).__name__))

    def version_of(item):
        if key is None:
            return item
        try:
            return item[key]
        except (KeyError, TypeError) as exc:
            raise AnsibleFilterError("%s: item %r has no key %r" % (name, item, key)) from exc

    ordering = functools.cmp_to_key(lambda a, b: compare(version_of(a), version_of(b)))
    return sorted(items, key=ordering, reverse=bool(reverse))


def deb_version_sort(items, key=None, reverse=False):
    return _sort("deb_version_sort", deb_version_compare, items, key, reverse)


def rpm_version_sort(items, key=None, reverse=False):
    return _sort("rpm_version_sort", rpm_version_compare, items, key, reverse)


class FilterModule:  # pylint: disable=too-few-public-methods
    """fuel.lifecycle version filters."""

    def filters(self):
        # rpm_version_compare, deb_version_sort and rpm_version_sort are exposed by the files of
        # their own name (each with its own documentation); they are implemented here.
        return {"deb_version_compare": deb_version_compare}
