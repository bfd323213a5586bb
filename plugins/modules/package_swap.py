#!/usr/bin/python
# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Replace packages whose names differ upstream, all swaps in one transaction."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: package_swap
short_description: Replace packages renamed upstream, every swap in one transaction
version_added: 0.1.0
description:
  - Each swap removes the packages of O(swaps[].remove) and installs those of
    O(swaps[].install); all swaps run in B(one) package transaction, so a host
    never sits between an old package removed and its new name not yet installed.
  - dnf hosts use the dnf Python API (one resolve, one transaction); EL6/EL7 yum
    hosts a C(yum shell) script (C(remove), C(install), C(run)); APT hosts one
    C(apt-get install new old-) call.
  - Idempotent. A swap whose old packages are absent and new ones present is
    done. Half-applied swaps are completed and reported in RV(swaps), both old and
    new installed (the old ones are removed) or neither installed (the new ones are
    installed).
  - The transaction is resolved before anything changes. A swap that cannot
    resolve (a package in no enabled repository, a missing dependency, a
    conflict) fails with the package manager's reason and leaves the package
    database as it was.
  - Every backend refuses, before any change and in check mode too, a resolved
    plan that does not install every requested package or does not remove every
    package to remove (C(yum shell) and C(dnf shell) skip an C(install) of a
    package no repository has and would still run the removals); the message
    names the package.
  - After the transaction the package database is read again (C(rpm -q),
    C(dpkg-query)); a swap that is not complete there fails the task.
  - In check mode the resolved plan is returned (removed, installed, upgraded,
    downgraded, with versions) and nothing changes.
  - Runs on node Python 2.7 (EL7, yum 3) and 3.6+ (EL8 platform-python with the
    dnf bindings).
author:
  - fuel.lifecycle maintainers (@fuel-lifecycle)
options:
  swaps:
    description: The swaps, applied together.
    type: list
    elements: dict
    required: true
    suboptions:
      remove:
        description: Names of the packages to remove.
        type: list
        elements: str
        default: []
      install:
        description:
          - Packages to install, by name or with a version (APT C(name=version),
            rpm C(name-version[-release])).
        type: list
        elements: str
        default: []
  enable_repos:
    description: dnf/yum repository ids enabled for this transaction only.
    type: list
    elements: str
    default: []
  disable_repos:
    description: dnf/yum repository ids disabled for this transaction only (V(*) for all).
    type: list
    elements: str
    default: []
  allow_downgrade:
    description:
      - Let the transaction downgrade packages (APT C(--allow-downgrades)). Without it a
        plan that downgrades anything fails before changing the host.
    type: bool
    default: false
  update_cache:
    description: APT hosts; run C(apt-get update) first (also in check mode, so the plan sees current lists).
    type: bool
    default: false
  package_manager:
    description:
      - V(auto) picks dnf when its Python bindings import, else yum when C(yum) exists, else apt.
      - Hosts whose facts misreport their package manager set it, for example through the
        inventory variable C(fuel_lifecycle_package_manager).
    type: str
    choices: [auto, dnf, yum, apt, rpm]
    default: auto
extends_documentation_fragment:
  - fuel.lifecycle._attributes
  - fuel.lifecycle._attributes.PLATFORM
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - The diff shows the involved packages with their versions before and after.
  platform:
    platforms: [debian, redhat]
"""

EXAMPLES = r"""
- name: Swap vendor packages for their upstream names (plan only)
  fuel.lifecycle.package_swap:
    swaps:
      - remove: [fuel-utils]
        install: [fuel-tools]
      - remove: [python-fuelclient-old]
        install: [python3-fuelclient]
    enable_repos: [upstream-base]
  check_mode: true
  register: plan

- name: Apply the same swaps from a per-release variable
  fuel.lifecycle.package_swap:
    swaps: "{{ master_upgrade_swaps[release] }}"
    package_manager: "{{ fuel_lifecycle_package_manager | default('auto') }}"
"""

RETURN = r"""
package_manager:
  description: The backend used.
  returned: always
  type: str
  sample: dnf
swaps:
  description: Each swap with its state before the run and what it needed.
  returned: always
  type: list
  elements: dict
  sample:
    - {remove: [fuel-utils], install: [fuel-tools], state: pending, to_remove: [fuel-utils],
       to_install: [fuel-tools], reason: "old packages installed, new ones not: swap"}
packages_after:
  description:
    - On a failure after the transaction ran, the involved packages as the package database shows them
      (one C(name version) line each); C(changed) then tells whether the database differs from before.
  returned: on failure after the transaction started
  type: str
plan:
  description: The resolved transaction.
  returned: always
  type: dict
  sample:
    removed: [{name: fuel-utils, version: 2.0-0mos2}]
    installed: [{name: fuel-tools, version: 2.1-1}]
    upgraded: []
    downgraded: []
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.fuel.lifecycle.plugins.module_utils import _package_swap as ps
from ansible_collections.fuel.lifecycle.plugins.module_utils._runner import CommandRunner, MissingCommand

ARGUMENT_SPEC = {
    "swaps": {"type": "list", "elements": "dict", "required": True, "options": {
        "remove": {"type": "list", "elements": "str", "default": []},
        "install": {"type": "list", "elements": "str", "default": []},
    }},
    "enable_repos": {"type": "list", "elements": "str", "default": []},
    "disable_repos": {"type": "list", "elements": "str", "default": []},
    "allow_downgrade": {"type": "bool", "default": False},
    "update_cache": {"type": "bool", "default": False},
    "package_manager": {"type": "str", "default": "auto", "choices": ["auto", "dnf", "yum", "apt", "rpm"]},
}


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    runner = CommandRunner(module, environ={"DEBIAN_FRONTEND": "noninteractive"})

    def has_binary(name):
        return runner.binary(name, required=False) is not None

    try:
        result = ps.swap(module.params, runner.run, module.check_mode, module._diff, has_binary,
                         tmpdir=module.tmpdir)
    except ps.SwapError as exc:
        extra = {}
        if exc.plan is not None:
            extra["plan"] = exc.plan
        if exc.cmd is not None:
            extra["cmd"] = exc.cmd
        if exc.packages is not None:
            extra["packages_after"] = exc.packages
        module.fail_json(msg=str(exc), changed=exc.changed, **extra)
    except MissingCommand as exc:
        module.fail_json(msg="package_manager: %s" % exc)
    except Exception as exc:  # pylint: disable=broad-except
        module.fail_json(msg="package_swap failed unexpectedly: %s: %s" % (type(exc).__name__, exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
