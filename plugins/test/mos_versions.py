# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jinja test over the vendor versioning rules."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.fuel.lifecycle.plugins.module_utils import _mos_rules as mr

DOCUMENTATION = r"""
name: mos_version_valid
short_description: Whether a package version follows the vendor versioning rules of its category
version_added: 0.1.0
description:
  - True when O(_input) breaks none of the rules the C(fuel.lifecycle.mos_version_problems) filter checks.
options:
  _input:
    description: Full version C([epoch:]upstream[-revision]).
    type: str
    required: true
  category:
    description: The package category.
    type: str
    choices: [upstream, modified, specific, downgraded, upgraded, regressed]
    required: true
  series:
    description: Release series C(X.Y) the build targets.
    type: str
  channel:
    description: V(ga) before general availability, V(updates) for update channels and maintenance releases.
    type: str
    choices: [ga, updates]
    default: ga
author:
  - fuel.lifecycle maintainers (@fuel-lifecycle)
"""

EXAMPLES = r"""
- name: Only vendor builds of the 6.1 update channel
  ansible.builtin.assert:
    that: item is fuel.lifecycle.mos_version_valid('modified', series='6.1', channel='updates')
  loop: [1.2.3-0mos2+mos6.1+1]
"""

RETURN = r"""
_value:
  description: Whether the version follows the rules.
  type: bool
"""


def mos_version_valid(version, category, series=None, channel="ga"):
    try:
        return not mr.version_problems(version, category, series=series, channel=channel)
    except mr.RuleError as exc:
        raise AnsibleFilterError("mos_version_valid: %s" % exc) from exc


class TestModule:  # pylint: disable=too-few-public-methods
    """fuel.lifecycle vendor versioning test."""

    def tests(self):
        return {"mos_version_valid": mos_version_valid}
