# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Differences between two data manifests."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

DOCUMENTATION = r"""
name: data_manifest_changes
short_description: What changed between two data manifests
version_added: 0.2.0
description:
  - Compares the manifest saved before an upgrade with the one taken after it
    (both from P(fuel.lifecycle.data_manifest#filter)) and returns one line per
    path that changed, disappeared or appeared, sorted by path. An empty list
    means the data is intact.
positional: after
options:
  _input:
    description: The manifest before.
    type: dict
    required: true
  after:
    description: The manifest after.
    type: dict
    required: true
author:
  - fuel.lifecycle maintainers (@fuel-lifecycle)
"""

EXAMPLES = r"""
- name: Fail when the data changed
  ansible.builtin.assert:
    that: before | fuel.lifecycle.data_manifest_changes(after) | length == 0
"""

RETURN = r"""
_value:
  description: C("changed PATH (BEFORE -> AFTER)"), C("missing PATH") or C("new PATH") lines.
  type: list
  elements: str
"""


def data_manifest_changes(before, after):
    for which, value in (("before", before), ("after", after)):
        if not isinstance(value, dict):
            raise AnsibleFilterError("data_manifest_changes: the %s manifest must be a mapping" % which)
    lines = []
    for path in sorted(set(before) | set(after)):
        if path not in after:
            lines.append("missing %s" % path)
        elif path not in before:
            lines.append("new %s" % path)
        elif before[path] != after[path]:
            lines.append("changed %s (%s -> %s)" % (path, before[path], after[path]))
    return lines


class FilterModule:  # pylint: disable=too-few-public-methods
    """data_manifest_changes."""

    def filters(self):
        return {"data_manifest_changes": data_manifest_changes}
