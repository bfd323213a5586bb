#!/usr/bin/python
# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Build a repository from the whitelisted packages of a local repository."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: whitelist_repo
short_description: Build an RPM repository holding exactly the whitelisted packages of a local repository
version_added: 0.1.0
description:
  - Reads the header of every C(*.rpm) under O(src) (recursively) with
    C(rpm -qp), keeps the packages whose name is in O(packages), and makes
    O(dest) hold exactly those files (hard links when O(src) and O(dest) share a
    file system, copies otherwise); other C(*.rpm) files in O(dest) are removed.
  - When O(dest) must change (or has no metadata yet), the new repository is
    built in a temporary directory next to O(dest), C(createrepo_c) runs there,
    and only then it replaces O(dest); a missing or failing C(createrepo_c)
    leaves O(dest) as it was. A second run with the same input changes nothing.
  - O(dest) equal to O(src), inside it, or holding it is refused before
    anything is read or written.
  - This is how the master upgrade builds the vendor C(*-base) repository
    from the local vendor (C(nailgun)) repository.
  - A whitelisted name that O(src) does not hold fails, naming it, before
    anything changes (unless O(allow_missing=true)).
author:
  - fuel.lifecycle maintainers (@fuel-lifecycle)
options:
  src:
    description: Directory of the local repository (its C(*.rpm) files, in any subdirectory).
    type: path
    required: true
  dest:
    description: Directory of the repository to build; created when missing.
    type: path
    required: true
  packages:
    description: Whitelisted package names.
    type: list
    elements: str
    required: true
  allow_missing:
    description: Accept whitelisted names that O(src) does not hold (they are reported in RV(missing)).
    type: bool
    default: false
  createrepo_command:
    description: The C(createrepo_c) command (argv); O(dest) is appended.
    type: list
    elements: str
    default: [createrepo_c, --quiet]
extends_documentation_fragment:
  - fuel.lifecycle._attributes
  - fuel.lifecycle._attributes.PLATFORM
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - The package files of O(dest) before and after.
  platform:
    platforms: [redhat]
requirements:
  - rpm and createrepo_c on the host
"""

EXAMPLES = r"""
- name: Build the vendor base repository from the whitelist
  fuel.lifecycle.whitelist_repo:
    src: /var/www/nailgun/centos/x86_64
    dest: /var/www/nailgun/mos9.0-base
    packages: [fuel-nailgun, fuelmenu, python-fuelclient]
"""

RETURN = r"""
packages:
  description: Name -> versions (C(epoch:version-release.arch)) the repository holds.
  returned: always
  type: dict
  sample: {fuel-nailgun: ["0:9.0-0mos1.noarch"]}
added:
  description: Package files linked or copied into O(dest).
  returned: always
  type: list
  elements: str
removed:
  description: Package files removed from O(dest).
  returned: always
  type: list
  elements: str
missing:
  description: Whitelisted names O(src) does not hold.
  returned: always
  type: list
  elements: str
metadata_updated:
  description: Whether C(createrepo_c) ran (or would run).
  returned: always
  type: bool
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.fuel.lifecycle.plugins.module_utils._runner import CommandRunner, MissingCommand
from ansible_collections.fuel.lifecycle.plugins.module_utils._whitelist_repo import WhitelistError, build


def main():
    module = AnsibleModule(
        argument_spec={
            "src": {"type": "path", "required": True},
            "dest": {"type": "path", "required": True},
            "packages": {"type": "list", "elements": "str", "required": True},
            "allow_missing": {"type": "bool", "default": False},
            "createrepo_command": {"type": "list", "elements": "str", "default": ["createrepo_c", "--quiet"]},
        },
        supports_check_mode=True,
    )
    try:
        result = build(module.params, CommandRunner(module), module.check_mode)
    except (WhitelistError, MissingCommand) as exc:
        module.fail_json(msg=str(exc))
    # the module edge: never a traceback
    except Exception as exc:  # pylint: disable=broad-except
        module.fail_json(msg="whitelist repository %s from %s: unexpected error: %s: %s" % (
            module.params["dest"], module.params["src"], type(exc).__name__, exc))
    if not module._diff:  # pylint: disable=protected-access
        result.pop("diff")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
