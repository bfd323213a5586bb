# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Vendor version-string rules and the no-downgrade check along a release progression."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.fuel.lifecycle.plugins.module_utils import _mos_rules as mr

DOCUMENTATION = r"""
name: mos_version_problems
short_description: Which vendor versioning rules a package version breaks
version_added: 0.1.0
description:
  - Returns the list of rules O(_input) breaks for its package O(category) (an empty list when valid).
  - Vendor builds (every category but V(upstream)) carry a C(0mos) revision (deb) or release (rpm)
    C(0mosN) (N >= 1) before GA, C(0mosN+mosX.Y+M) in an update channel or maintenance release
    (O(channel=updates)); upgraded and regressed packages end their upstream version with C(~mosX.Y);
    no version names a base-OS vendor trademark.
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
    description: Release series C(X.Y) the build targets; the C(~mos) and C(+mos) parts must name it.
    type: str
  channel:
    description: V(ga) for builds before general availability, V(updates) for update channels and maintenance releases.
    type: str
    choices: [ga, updates]
    default: ga
  trademarks:
    description: Words no version may contain (case-insensitive).
    type: list
    elements: str
    default: [ubuntu, debian, centos, redhat, rhel, fedora, suse]
author:
  - fuel.lifecycle maintainers (@fuel-lifecycle)
"""

EXAMPLES = r"""
- name: Reject a badly versioned upgraded package
  ansible.builtin.assert:
    that: ('1.2.4~mos6.1-0mos0+mos6.1+1' | fuel.lifecycle.mos_version_problems('upgraded', series='6.1', channel='updates')) == []
"""

RETURN = r"""
_value:
  description: The broken rules, as sentences.
  type: list
  elements: str
"""


def mos_version_problems(version, category, series=None, channel="ga", trademarks=None):
    try:
        return mr.version_problems(version, category, series=series, channel=channel,
                                   trademarks=mr.DEFAULT_TRADEMARKS if trademarks is None else trademarks)
    except mr.RuleError as exc:
        raise AnsibleFilterError("mos_version_problems: %s" % exc) from exc


def mos_downgrades(releases, kind="deb"):
    if not isinstance(releases, list):
        raise AnsibleFilterError("mos_downgrades: expects a list of {release, packages} dicts")
    pairs = []
    for index, item in enumerate(releases):
        if not isinstance(item, dict) or "release" not in item or not isinstance(item.get("packages"), dict):
            raise AnsibleFilterError("mos_downgrades: item %d must be a dict with release and packages" % index)
        packages = {name: [versions] if isinstance(versions, str) else list(versions)
                    for name, versions in item["packages"].items()}
        pairs.append((str(item["release"]), packages))
    try:
        return mr.find_downgrades(pairs, kind)
    except mr.RuleError as exc:
        raise AnsibleFilterError("mos_downgrades: %s" % exc) from exc


class FilterModule:  # pylint: disable=too-few-public-methods
    """fuel.lifecycle vendor versioning filters."""

    def filters(self):
        # mos_downgrades is exposed by mos_downgrades.py (its own documentation); implemented here.
        return {"mos_version_problems": mos_version_problems}
