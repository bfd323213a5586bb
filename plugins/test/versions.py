# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jinja tests over exact Debian and RPM version ordering."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.fuel.lifecycle.plugins.module_utils._versions import VersionError
from ansible_collections.fuel.lifecycle.plugins.module_utils._versions import deb_compare, rpm_compare

DOCUMENTATION = r"""
name: version_newer
short_description: Whether a package version is newer than another (dpkg or rpm order)
version_added: 0.1.0
description:
  - True when O(_input) sorts after O(other) in the order of O(kind)
    (V(deb) = dpkg, V(rpm) = rpmvercmp).
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
    description: Which ordering to use.
    type: str
    choices: [deb, rpm]
    default: deb
author:
  - fuel.lifecycle maintainers (@fuel-lifecycle)
"""

EXAMPLES = r"""
- name: Refuse a downgrade
  ansible.builtin.assert:
    that: new_version is fuel.lifecycle.version_newer(installed_version, kind='rpm')
    fail_msg: "{{ new_version }} is not newer than {{ installed_version }}"
"""

RETURN = r"""
_value:
  description: Whether the relation holds.
  type: bool
"""


def _compare(left, right, kind):
    if kind not in ("deb", "rpm"):
        raise AnsibleFilterError("version tests: kind must be 'deb' or 'rpm', got %r" % (kind,))
    try:
        return (deb_compare if kind == "deb" else rpm_compare)(left, right)
    except VersionError as exc:
        raise AnsibleFilterError("version tests: %s" % exc) from exc


def version_newer(left, right, kind="deb"):
    return _compare(left, right, kind) > 0


def version_older(left, right, kind="deb"):
    return _compare(left, right, kind) < 0


def version_same(left, right, kind="deb"):
    return _compare(left, right, kind) == 0


class TestModule:  # pylint: disable=too-few-public-methods
    """fuel.lifecycle version tests."""

    def tests(self):
        # version_older and version_same are exposed by the files of their own name; implemented here.
        return {"version_newer": version_newer}
