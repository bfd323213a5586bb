#!/usr/bin/python
# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Replace packages whose names differ upstream, all swaps in one transaction."""

from __future__ import annotations

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
  - In check mode the resolved plan is returned (removed, installed, upgraded,
    downgraded, with versions) and nothing changes.
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

import importlib.util
import os
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.fuel.lifecycle.plugins.module_utils import _package_swap as ps

C_ENV = {"LANG": "C", "LC_ALL": "C", "LANGUAGE": "C", "DEBIAN_FRONTEND": "noninteractive"}
EMPTY_PLAN = {"removed": [], "installed": [], "upgraded": [], "downgraded": []}


def detect_manager(module, wanted):
    if wanted == "rpm":
        wanted = "auto" if module.get_bin_path("dnf") or module.get_bin_path("yum") else "rpm"
    if wanted != "auto":
        return wanted
    if importlib.util.find_spec("dnf") is not None:
        return "dnf"
    if module.get_bin_path("yum"):
        return "yum"
    if module.get_bin_path("apt-get"):
        return "apt"
    module.fail_json(msg="package_manager: none of dnf (Python bindings), yum or apt-get found on the host")
    return None


def installed_versions(module, manager, names):
    argv = ps.dpkg_query_argv(names) if manager == "apt" else ps.rpm_query_argv(names)
    rc, out, err = module.run_command(argv, environ_update=C_ENV)
    # rpm -q exits with the number of packages not installed, dpkg-query with 1 for unknown names.
    if rc < 0 or rc > len(names) or (manager != "apt" and err.strip()):
        module.fail_json(msg="cannot read the package database: %s" % err.strip(), cmd=argv)
    return ps.parse_installed(out, manager)


def run_apt(module, remove, install, check):
    params = module.params
    # Refreshing the lists changes no package, so check mode refreshes too: the plan must see the repositories.
    if params["update_cache"]:
        rc, _out, err = module.run_command(["apt-get", "update", "-q"], environ_update=C_ENV)
        if rc != 0:
            module.fail_json(msg="apt-get update failed: %s" % err.strip())
    argv = ps.apt_argv(remove, install, simulate=True, allow_downgrade=True)
    rc, out, err = module.run_command(argv, environ_update=C_ENV)
    if rc != 0:
        module.fail_json(msg="the swap does not resolve; nothing was changed: %s" % ps.apt_problem(out, err),
                         cmd=argv)
    plan = ps.parse_apt_simulation(out)
    refuse_downgrades(module, plan)
    if check:
        return plan
    argv = ps.apt_argv(remove, install, simulate=False, allow_downgrade=params["allow_downgrade"])
    rc, out, err = module.run_command(argv, environ_update=C_ENV)
    if rc != 0:
        module.fail_json(msg="apt-get failed during the swap: %s" % ps.apt_problem(out, err), cmd=argv,
                         plan=plan)
    return plan


def run_yum(module, remove, install, check):
    params = module.params
    fd, script = tempfile.mkstemp(prefix="package-swap-", suffix=".yumshell")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(ps.yum_shell_script(remove, install))
        # --assumeno resolves and prints the transaction, then stops: the plan, nothing changed.
        argv = ps.yum_argv(script, params["enable_repos"], params["disable_repos"], assumeno=True)
        _rc, out, err = module.run_command(argv, environ_update=C_ENV)
        plan = ps.parse_yum_transaction(out)
        if not any(plan.values()):
            module.fail_json(msg="the swap does not resolve; nothing was changed: %s" % (err.strip() or out.strip()),
                             cmd=argv)
        refuse_downgrades(module, plan)
        if check:
            return plan
        argv = ps.yum_argv(script, params["enable_repos"], params["disable_repos"], assumeno=False)
        rc, out, err = module.run_command(argv, environ_update=C_ENV)
        if rc != 0:
            module.fail_json(msg="yum shell failed during the swap: %s" % (err.strip() or out.strip()), cmd=argv,
                             plan=plan)
        return plan
    finally:
        os.unlink(script)


def run_dnf(module, remove, install, check):
    import dnf  # pylint: disable=import-outside-toplevel
    import dnf.exceptions  # pylint: disable=import-outside-toplevel
    import dnf.rpm  # pylint: disable=import-outside-toplevel
    params = module.params
    base = dnf.Base()
    try:
        base.conf.read()
        base.conf.assumeyes = True
        base.conf.substitutions.update_from_etc(base.conf.installroot)
        releasever = dnf.rpm.detect_releasever(base.conf.installroot)
        if releasever:
            base.conf.releasever = releasever
        elif base.conf.substitutions.get("releasever") is None:
            # No release package (dnf on a foreign userland): repositories must not use $releasever.
            del base.conf.substitutions["releasever"]
        base.read_all_repos()
        for pattern in params["disable_repos"]:
            for repo in base.repos.get_matching(pattern):
                repo.disable()
        for pattern in params["enable_repos"]:
            matching = base.repos.get_matching(pattern)
            if not matching:
                module.fail_json(msg="enable_repos: no repository matches %r" % pattern)
            for repo in matching:
                repo.enable()
        base.fill_sack(load_system_repo=True, load_available_repos=True)
        for name in remove:
            base.remove(name)
        for spec in install:
            try:
                base.install(spec)
            except dnf.exceptions.MarkingError:
                module.fail_json(msg="swaps: package %s is in no enabled repository; nothing was changed" % spec)
        base.resolve(allow_erasing=True)
        plan = dnf_plan(base)
        refuse_downgrades(module, plan)
        if check:
            return plan
        packages = list(base.transaction.install_set)
        base.download_packages(packages)
        for package in packages:
            code, message = base.package_signature_check(package)
            if code == 1:
                base.package_import_key(package, askcb=lambda *_args: True)
            elif code != 0:
                module.fail_json(msg="signature check failed for %s: %s; nothing was changed" % (package, message))
        base.do_transaction()
        return plan
    except dnf.exceptions.DepsolveError as exc:
        module.fail_json(msg="the swap does not resolve; nothing was changed: %s" % exc)
    except dnf.exceptions.Error as exc:
        module.fail_json(msg="dnf failed during the swap: %s" % exc)
    finally:
        base.close()
    return None


def dnf_plan(base):
    plan = {key: [] for key in EMPTY_PLAN}
    kinds = {"Install": "installed", "Upgrade": "upgraded", "Downgrade": "downgraded", "Removed": "removed",
             "Erase": "removed", "Remove": "removed", "Obsoleted": "removed", "Reinstall": "installed"}
    for item in base.transaction:
        kind = kinds.get(item.action_name)
        if kind:
            plan[kind].append({"name": item.pkg.name, "version": item.pkg.evr})
    return plan


def refuse_downgrades(module, plan):
    if plan["downgraded"] and not module.params["allow_downgrade"]:
        module.fail_json(msg="the swap would downgrade %s; set allow_downgrade=true to allow it; nothing was changed"
                         % ", ".join("%s to %s" % (p["name"], p["version"]) for p in plan["downgraded"]), plan=plan)


BACKENDS = {"apt": run_apt, "yum": run_yum, "dnf": run_dnf}


def main():
    module = AnsibleModule(
        argument_spec={
            "swaps": {"type": "list", "elements": "dict", "required": True, "options": {
                "remove": {"type": "list", "elements": "str", "default": []},
                "install": {"type": "list", "elements": "str", "default": []},
            }},
            "enable_repos": {"type": "list", "elements": "str", "default": []},
            "disable_repos": {"type": "list", "elements": "str", "default": []},
            "allow_downgrade": {"type": "bool", "default": False},
            "update_cache": {"type": "bool", "default": False},
            "package_manager": {"type": "str", "default": "auto", "choices": ["auto", "dnf", "yum", "apt", "rpm"]},
        },
        supports_check_mode=True,
    )
    manager = detect_manager(module, module.params["package_manager"])
    try:
        swaps = ps.validate_swaps(module.params["swaps"], manager)
    except ps.SwapError as exc:
        module.fail_json(msg=str(exc))
    names = sorted({n for s in swaps for n in s["remove"]} | {ps.spec_name(i, manager) for s in swaps for i in s["install"]})
    before = installed_versions(module, manager, names)
    states = ps.swap_states(swaps, before, manager)
    for state in states:
        state["reason"] = ps.explain(state)
    remove, install = ps.transaction_lists(states)
    result = {"changed": False, "package_manager": manager, "swaps": states, "plan": dict(EMPTY_PLAN)}
    if not remove and not install:
        module.exit_json(**result)
    result["plan"] = BACKENDS[manager](module, remove, install, module.check_mode)
    result["changed"] = True
    after = before if module.check_mode else installed_versions(module, manager, names)
    if not module.check_mode:
        unfinished = ps.swap_states(swaps, after, manager)
        left = [s for s in unfinished if s["state"] != "done"]
        if left:
            module.fail_json(msg="the transaction ran but swaps are not complete: %s" % left, **result)
    if module._diff:
        planned = dict(before)
        for entry in result["plan"]["removed"]:
            planned.pop(entry["name"], None)
        for kind in ("installed", "upgraded", "downgraded"):
            for entry in result["plan"][kind]:
                planned[entry["name"]] = entry["version"]
        shown = after if not module.check_mode else planned
        result["diff"] = {"before_header": "packages", "after_header": "packages",
                          "before": ps.state_lines(before, names), "after": ps.state_lines(shown, names)}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
