#!/usr/bin/python
# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Build a repository from the whitelisted packages of a local repository."""

from __future__ import annotations

DOCUMENTATION = r"""
module: whitelist_repo
short_description: Build an RPM repository holding exactly the whitelisted packages of a local repository
version_added: 0.1.0
description:
  - Reads the header of every C(*.rpm) under O(src) (recursively) with
    C(rpm -qp), keeps the packages whose name is in O(packages), and makes
    O(dest) hold exactly those files (hard links when O(src) and O(dest) share a
    file system, copies otherwise); other C(*.rpm) files in O(dest) are removed.
  - Runs C(createrepo_c) on O(dest) when its content changed or it has no
    metadata yet. A second run with the same input changes nothing.
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

import os
import shutil

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.fuel.lifecycle.plugins.module_utils._whitelist_repo import (
    QUERY_FORMAT, WhitelistError, parse_query, plan, validate_names)

ENV = {"LANG": "C", "LC_ALL": "C", "LANGUAGE": "C"}


def rpm_files(directory, recursive=True):
    found = []
    for top, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if d != "repodata") if recursive else []
        found += [os.path.join(top, f) for f in sorted(files) if f.endswith(".rpm")]
    return found


def place(src, dest):
    try:
        os.link(src, dest)
    except OSError:
        shutil.copy2(src, dest)


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
    src, dest = module.params["src"], module.params["dest"]
    try:
        whitelist = validate_names(module.params["packages"])
    except WhitelistError as exc:
        module.fail_json(msg=str(exc))
    if not os.path.isdir(src):
        module.fail_json(msg="src: %s is not a directory" % src)
    files = rpm_files(src)
    headers = []
    if files:
        rpm = module.get_bin_path("rpm", required=True)
        rc, out, err = module.run_command([rpm, "-qp", "--nosignature", "--nodigest", "--qf", QUERY_FORMAT] + files,
                                          environ_update=ENV, check_rc=False)
        if rc != 0:
            module.fail_json(msg="rpm could not read the packages of %s: %s" % (src, err.strip()), rc=rc)
        try:
            headers = parse_query(out, files)
        except WhitelistError as exc:
            module.fail_json(msg=str(exc))
    by_file = {os.path.basename(f): f for f in files}
    present = [os.path.basename(f) for f in rpm_files(dest, recursive=False)] if os.path.isdir(dest) else []
    result = plan(whitelist, headers, present)
    if result["missing"] and not module.params["allow_missing"]:
        module.fail_json(msg="packages: %s not found in %s" % (", ".join(result["missing"]), src),
                         missing=result["missing"])
    has_metadata = os.path.isfile(os.path.join(dest, "repodata", "repomd.xml"))
    update_metadata = bool(result["add"] or result["remove"] or not has_metadata)
    changed = update_metadata
    if changed and not module.check_mode:
        os.makedirs(dest, mode=0o755, exist_ok=True)
        for name in result["remove"]:
            os.unlink(os.path.join(dest, name))
        for name in result["add"]:
            place(by_file[name], os.path.join(dest, name))
        argv = list(module.params["createrepo_command"]) + [dest]
        rc, out, err = module.run_command(argv, environ_update=ENV, check_rc=False)
        if rc != 0:
            module.fail_json(msg="%s failed: %s" % (argv[0], (err or out).strip()), rc=rc)
    diff = {"before": "\n".join(sorted(present)) + "\n", "after": "\n".join(result["wanted"]) + "\n",
            "before_header": dest, "after_header": dest}
    module.exit_json(changed=changed, packages=result["packages"], added=result["add"], removed=result["remove"],
                     missing=result["missing"], metadata_updated=update_metadata, diff=diff)


if __name__ == "__main__":
    main()
