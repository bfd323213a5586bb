# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every package downgrade along a progression of vendor releases."""

from __future__ import annotations

DOCUMENTATION = r"""
name: mos_downgrades
short_description: Every package downgrade along a progression of vendor releases
version_added: 0.1.0
description:
  - Takes a release progression, oldest first, and returns every package whose newest version in a release
    is older than its newest version in an earlier release.
options:
  _input:
    description:
      - The releases, oldest first, each a dict with C(release) (its name) and C(packages) (a package name
        mapped to a version or a list of versions).
    type: list
    elements: dict
    required: true
  kind:
    description: Version order to compare in, V(deb) (dpkg) or V(rpm) (rpmvercmp).
    type: str
    choices: [deb, rpm]
    default: deb
seealso:
  - plugin: fuel.lifecycle.mos_version_problems
    plugin_type: filter
author:
  - fuel.lifecycle maintainers (@fuel-lifecycle)
"""

EXAMPLES = r"""
- name: Downgrades between two releases
  ansible.builtin.debug:
    msg: "{{ [{'release': '6.0', 'packages': {'nova': ['2014.2-0mos2']}},
              {'release': '6.1', 'packages': {'nova': ['2014.2-0mos1']}}] | fuel.lifecycle.mos_downgrades(kind='deb') }}"
"""

RETURN = r"""
_value:
  description: The downgrades, one dict each.
  type: list
  elements: dict
  contains:
    package:
      description: Package name.
      type: str
    version:
      description: Its version in O(_input[].release).
      type: str
    release:
      description: The release that downgrades it.
      type: str
    previous_version:
      description: The newer version of the earlier release.
      type: str
    previous_release:
      description: The earlier release.
      type: str
"""

from ansible_collections.fuel.lifecycle.plugins.filter.mos_versions import mos_downgrades


class FilterModule:  # pylint: disable=too-few-public-methods
    """fuel.lifecycle.mos_downgrades"""

    def filters(self):
        return {"mos_downgrades": mos_downgrades}
