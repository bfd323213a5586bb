# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compare two RPM versions exactly as rpm does."""

from __future__ import annotations

DOCUMENTATION = r"""
name: rpm_version_compare
short_description: Compare two RPM versions exactly as rpm does
version_added: 0.1.0
description:
  - Returns V(-1), V(0) or V(1) when O(_input) sorts before, equal to or after O(other) in rpm's order
    (C(rpmvercmp) on C([epoch:]version[-release]); a missing epoch is 0; when one side has no release, the
    releases are not compared, as in rpm's dependency matching).
positional: other
options:
  _input:
    description: Left-hand version C([epoch:]version[-release]).
    type: str
    required: true
  other:
    description: Right-hand version.
    type: str
    required: true
  tilde:
    description:
      - Give C(~) its special meaning (sorts before everything, even the end of the string), as rpm 4.10 and later do.
      - Set V(false) to compare as the rpm of EL6 (rpm < 4.10), where C(~) is a separator like any other symbol.
    type: bool
    default: true
  caret:
    description:
      - Give C(^) its special meaning (sorts after the end of the string but before anything else), as rpm 4.15
        and later do.
      - Set V(false) to compare as rpm < 4.15 (EL6, EL7, EL8), where C(^) is a separator.
    type: bool
    default: true
seealso:
  - plugin: fuel.lifecycle.rpm_version_sort
    plugin_type: filter
  - plugin: fuel.lifecycle.deb_version_compare
    plugin_type: filter
author:
  - fuel.lifecycle maintainers (@fuel-lifecycle)
"""

EXAMPLES = r"""
- name: "1: a caret sorts after the base version on rpm >= 4.15"
  ansible.builtin.debug:
    msg: "{{ '1.0^git1-1' | fuel.lifecycle.rpm_version_compare('1.0-1') }}"

- name: "-1: a tilde sorts before the release"
  ansible.builtin.debug:
    msg: "{{ '1.0~rc1-1' | fuel.lifecycle.rpm_version_compare('1.0-1') }}"

- name: EL6 hosts (rpm < 4.10) do not treat ~ specially
  ansible.builtin.debug:
    msg: "{{ '1.0~rc1' | fuel.lifecycle.rpm_version_compare('1.0', tilde=false, caret=false) }}"
"""

RETURN = r"""
_value:
  description: V(-1), V(0) or V(1).
  type: int
"""

from ansible_collections.fuel.lifecycle.plugins.filter.versions import rpm_version_compare


class FilterModule:  # pylint: disable=too-few-public-methods
    """fuel.lifecycle.rpm_version_compare"""

    def filters(self):
        return {"rpm_version_compare": rpm_version_compare}
