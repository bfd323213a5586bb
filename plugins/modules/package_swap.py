#!/usr/bin/python
# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Replace packages whose names differ upstream, every swap in one package-manager transaction."""

from __future__ import annotations

DOCUMENTATION = r"""
module: package_swap
short_description: Replace renamed packages in one transaction (dnf, yum shell, apt)
version_added: 0.1.0
description:
  - Removes and installs packages for a list of swaps (a package renamed upstream, a vendor build
    replaced by the upstream one) in B(one) transaction, so the host never sits between the two.
  - On dnf hosts through the dnf Python API (one resolve, one transaction); on EL6/EL7 yum hosts
    through a C(yum shell) script (C(remove), C(install), C(run)); on apt hosts as one
    C(apt-get install new old-) call.
  - Idempotent. A swap whose remove list is absent and whose install list is present is done.
    Half-applied swaps (old and new both installed, or neither) are completed and explained in RV(swaps).
  - A swap that cannot resolve (a package in no enabled repository, a missing dependency, a
    downgrade without O(allow_downgrade)) fails before the package database changes.
author:
  - fuel.lifecycle maintainers (@fuel-lifecycle)
options:
  swaps:
    description: The swaps, all applied in one transaction.
    type: list
    elements: dict
    required: true
    suboptions:
      remove:
        description: Package names to remove.
        type: list
        elements: str
        default: []
      install:
        description:
          - Packages to install, C(NAME) or with a version, C(NAME-VERSION[-RELEASE]) on rpm hosts,
            C(NAME=VERSION) on apt hosts.
          - A package already installed counts as present, whatever its version.
        type: list
        elements: str
        default: []
  package_manager:
    description:
      - Backend. V(auto) prefers dnf (Python bindings or binary), then yum, then apt-get;
        V(rpm) picks dnf or yum (for hosts whose facts say otherwise, such as an RPM database on
        another userland).
    type: str
    choices: [auto, rpm, dnf, yum, apt]
    default: auto
  enable_repos:
    description: dnf/yum repository ids (globs) enabled for this transaction only.
    type: list
    elements: str
    default: []
  disable_repos:
    description: dnf/yum repository ids (globs) disabled for this transaction only.
    type: list
    elements: str
    default: []
  allow_downgrade:
    description: Accept a transaction that downgrades a package.
    type: bool
    default: false
  update_cache:
    description: Run C(apt-get update) first (apt only; also in check mode, it changes only the cache).
    type: bool
    default: false
  disable_gpg_check:
    description: Do not check package signatures (dnf). Off by default.
    type: bool
    default: false
extends_documentation_fragment:
  - fuel.lifecycle._attributes
  - fuel.lifecycle._attributes.PLATFORM
attributes:
  check_mode:
    support: full
    details: Resolves the transaction and returns the plan without changing anything.
  diff_mode:
    support: full
    details: Before and after are the versions of the packages the swaps name.
  platform:
    platforms: [debian, redhat]
seealso:
  - module: fuel.lifecycle.repo_priorities
"""

EXAMPLES = r"""
- name: Swap vendor packages for their upstream names (list from the release's variables)
  fuel.lifecycle.package_swap:
    swaps: "{{ master_upgrade_swaps }}"
    package_manager: rpm
    enable_repos: [upstream-base]

- name: One swap on an apt host, shown first
  fuel.lifecycle.package_swap:
    swaps:
      - remove: [fuel-utils]
        install: [fuel-tools]
    update_cache: true
  check_mode: true
  register: swap_plan
"""

RETURN = r"""
package_manager:
  description: The backend used.
  returned: always
  type: str
  sample: dnf
swaps:
  description: Each swap with its state before the run and what the transaction does about it.
  returned: always
  type: list
  elements: dict
  sample:
    - {remove: [fuel-utils], install: [fuel-tools], state: pending, to_remove: [fuel-utils],
       to_install: [fuel-tools], explanation: "old packages installed, new ones not: swap"}
plan:
  description: The resolved transaction, dependencies included, with versions.
  returned: always
  type: dict
  sample:
    removed: [{name: fuel-utils, version: 2.0-0mos2}]
    installed: [{name: fuel-tools, version: 2.1-1}]
    upgraded: []
    downgraded: []
installed_before:
  description: Installed version of every package the swaps name (absent ones left out).
  returned: always
  type: dict
installed_after:
  description: The same after the transaction (equal to RV(installed_before) in check mode).
  returned: always
  type: dict
"""

import importlib.util

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.fuel.lifecycle.plugins.module_utils import _package_swap as ps

ENV = {"LANG": "C", "LC_ALL": "C", "LANGUAGE": "C", "DEBIAN_FRONTEND": "noninteractive"}


def installed_versions(module, manager, names):
    argv = ps.dpkg_query_argv(names) if manager == "apt" else ps.rpm_query_argv(names)
    dummy_rc, out, dummy_err = module.run_command(argv, environ_update=ENV)
    return ps.parse_installed(out, "apt" if manager == "apt" else "rpm")


def has_dnf_python():
    try:
        return importlib.util.find_spec("dnf") is not None
    except (ImportError, ValueError):
        return False


def run_apt(module, remove, install, params):
    if params["update_cache"]:
        rc, out, err = module.run_command(["apt-get", "update", "-q"], environ_update=ENV)
        if rc != 0:
            raise ps.SwapError("update_cache: apt-get update failed: %s" % (err or out).strip())
    rc, out, err = module.run_command(ps.apt_argv(remove, install, True, params["allow_downgrade"]), environ_update=ENV)
    if rc != 0:
        raise ps.SwapError("the swap does not resolve (apt-get --simulate): %s" % (err or out).strip())
    plan = ps.parse_apt_simulation(out)
    if plan["downgraded"] and not params["allow_downgrade"]:
        raise ps.SwapError("the swap would downgrade %s; set allow_downgrade to accept" % ", ".join(ps.plan_downgrades(plan)))
    if not module.check_mode:
        rc, out, err = module.run_command(ps.apt_argv(remove, install, False, params["allow_downgrade"]), environ_update=ENV)
        if rc != 0:
            raise ps.SwapError("apt-get failed: %s" % (err or out).strip())
    return plan


def run_yum(module, remove, install, params):
    script = ps.yum_shell_script(remove, install)
    argv = ps.yum_argv(params["enable_repos"], params["disable_repos"], assumeno=True)
    dummy_rc, out, err = module.run_command(argv, data=script, environ_update=ENV)
    plan = ps.parse_yum_transaction(out)
    if not any(plan.values()) or "Error:" in err:
        raise ps.SwapError("the swap does not resolve (yum shell): %s" % (err or out).strip())
    if plan["downgraded"] and not params["allow_downgrade"]:
        raise ps.SwapError("the swap would downgrade %s; set allow_downgrade to accept"
                           % ", ".join(d["name"] for d in plan["downgraded"]))
    if not module.check_mode:
        argv = ps.yum_argv(params["enable_repos"], params["disable_repos"], assumeno=False)
        rc, out, err = module.run_command(argv, data=script, environ_update=ENV)
        if rc != 0 or "Error:" in err:
            raise ps.SwapError("yum shell failed: %s" % (err or out).strip())
    return plan


def main():
    swap_spec = {"remove": {"type": "list", "elements": "str", "default": []},
                 "install": {"type": "list", "elements": "str", "default": []}}
    module = AnsibleModule(
        argument_spec={
            "swaps": {"type": "list", "elements": "dict", "required": True, "options": swap_spec},
            "package_manager": {"type": "str", "default": "auto", "choices": ["auto", "rpm", "dnf", "yum", "apt"]},
            "enable_repos": {"type": "list", "elements": "str", "default": []},
            "disable_repos": {"type": "list", "elements": "str", "default": []},
            "allow_downgrade": {"type": "bool", "default": False},
            "update_cache": {"type": "bool", "default": False},
            "disable_gpg_check": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    params = module.params
    try:
        manager = ps.detect_manager(params["package_manager"], lambda name: module.get_bin_path(name) is not None,
                                    has_dnf_python())
        swaps = ps.validate_swaps(params["swaps"], manager)
        if manager == "apt" and (params["enable_repos"] or params["disable_repos"]):
            raise ps.SwapError("enable_repos/disable_repos: only for dnf and yum hosts")
    except ps.SwapError as exc:
        module.fail_json(msg=str(exc))
    names = sorted({n for s in swaps for n in s["remove"]} | {ps.spec_name(i, manager) for s in swaps for i in s["install"]})
    before = installed_versions(module, manager, names)
    states = ps.swap_states(swaps, before, manager)
    for state in states:
        state["explanation"] = ps.explain(state)
    remove, install = ps.transaction_lists(states)
    result = {"changed": False, "package_manager": manager, "swaps": states, "plan": ps.empty_plan(),
              "installed_before": before, "installed_after": before}
    if not remove and not install:
        module.exit_json(**result)
    try:
        if manager == "dnf":
            plan = ps.dnf_transaction(remove, install, params["enable_repos"], params["disable_repos"],
                                      module.check_mode, params["allow_downgrade"], not params["disable_gpg_check"])
        elif manager == "yum":
            plan = run_yum(module, remove, install, params)
        else:
            plan = run_apt(module, remove, install, params)
    except ps.SwapError as exc:
        module.fail_json(msg=str(exc), **result)
    after = before if module.check_mode else installed_versions(module, manager, names)
    result.update(changed=True, plan=plan, installed_after=after)
    if module._diff:
        result["diff"] = {"before_header": "installed packages", "after_header": "installed packages",
                          "before": ps.state_lines(before, names),
                          "after": ps.state_lines(after, names) if not module.check_mode
                          else ps.state_lines(ps.planned_state(before, plan), names)}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
