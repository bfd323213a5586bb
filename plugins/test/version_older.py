# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether a package version is older than another (dpkg or rpm order)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: version_older
short_description: Whether a package version is older than another (dpkg or rpm order)
version_added: 0.1.0
description:
  - True when O(_input) sorts before O(other) in the order of O(kind) (V(deb) = dpkg, V(rpm) = rpmvercmp).
positional: other
options:
  _input:
    description: Version to test.
    type: str
    required: true
  other:
    description: Version to compare with.
    type: str
    required: true
  kind:
    description: Which ordering to use, V(deb) (dpkg) or V(rpm) (rpmvercmp).
    type: str
    choices: [deb, rpm]
    default: deb
seealso:
  - plugin: fuel.lifecycle.version_newer
    plugin_type: test
author:
  - fuel.lifecycle maintainers (@fuel-lifecycle)
"""

EXAMPLES = r"""
- name: An update is available
  ansible.builtin.assert:
    that: installed_version is fuel.lifecycle.version_older(available_version, kind='rpm')
"""

RETURN = r"""
_value:
  description: Whether the relation holds.
  type: bool
"""

from ansible_collections.fuel.lifecycle.plugins.test.versions import version_older


class TestModule:  # pylint: disable=too-few-public-methods
    """fuel.lifecycle.version_older"""

    def tests(self):
        return {"version_older": version_older}
