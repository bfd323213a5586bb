#!/usr/bin/python
# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Apply a declarative set of package repositories with priorities (yum/dnf) or pins (APT)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: repo_priorities
short_description: Declarative set of package repositories with yum priorities or APT pins
version_added: 0.1.0
description:
  - Makes the repositories of a host match a set given in the C(repo_setup)
    format (V(type), V(name), V(uri), V(suite), V(section), V(priority)) plus a
    O(repos[].class) whose preset priority applies when no priority is given.
  - "yum/dnf hosts: one section per repository. A section of that id found in any
    C(.repo) file of O(yum_repos_dir) is edited in place (only the keys the entry
    sets), also in files this module did not create; otherwise C(<name>.repo) is
    written. Priorities run from 1 to 99, the lower value wins."
  - "APT hosts: C(<name>.list) (or C(<name>.sources)) in O(apt_sources_dir) and a
    pin C(<name>.pref) in O(apt_preferences_dir). A pin above 1000 makes APT
    install the repository's version even when that is a downgrade. A source line of
    another file that names the same URI and suite is commented out (never deleted),
    so APT never sees a repository twice."
  - "With O(exclusive=true) every other repository is disabled (yum C(enabled=0),
    APT lines commented out, deb822 stanzas C(Enabled: no)); files are never deleted."
  - The whole set is validated before anything on the host changes; an error names
    the entry and the field.
  - Files are written atomically, mode 0644, or 0600 when they hold credentials.
author:
  - fuel.lifecycle maintainers (@fuel-lifecycle)
options:
  exclusive:
    description: Disable (never delete) every repository of the host that is not in the set.
    type: bool
    default: false
  backup_dir:
    description:
      - rpm hosts; before the first change, copy O(yum_repos_dir) here when this
        directory does not exist yet (for example C(/etc/yum.repos.d.nailgun)), so the
        original repository set stays available. An existing copy is left as it is.
    type: path
  package_manager:
    description:
      - Which entries to apply. V(auto) takes the type of the entries (they must all be rpm or all deb).
      - With V(rpm) or V(apt), entries of the other kind are skipped, so one mixed list serves every host.
    type: str
    choices: [auto, rpm, apt]
    default: auto
  yum_priorities:
    description: yum/dnf priority per class (1-99); merged over the presets.
    type: dict
    default: {upstream: 70, extra: 70, vendor: 50, holdback: 30, developer: 10}
  apt_pins:
    description: APT pin priority per class, V(null) for no pin; merged over the presets.
    type: dict
    default: {upstream: null, extra: null, vendor: 1050, holdback: 1200, developer: 1300}
  yum_repos_dir:
    description: Directory of the C(.repo) files.
    type: path
    default: /etc/yum.repos.d
  apt_sources_dir:
    description: Directory of the APT sources.
    type: path
    default: /etc/apt/sources.list.d
  apt_sources_list:
    description: The main APT sources file (read and, with O(exclusive), edited).
    type: path
    default: /etc/apt/sources.list
  apt_preferences_dir:
    description: Directory of the APT pin files.
    type: path
    default: /etc/apt/preferences.d
extends_documentation_fragment:
  - fuel.lifecycle._repo_set
  - fuel.lifecycle._attributes
  - fuel.lifecycle._attributes.PLATFORM
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: [debian, redhat]
notes:
  - After a change run C(apt-get update) (or let the package task do it); dnf reads the files on its next run.
seealso:
  - module: fuel.lifecycle.repo_check
  - module: fuel.lifecycle.repo_info
"""

EXAMPLES = r"""
- name: Vendor over a newer upstream, holdback over both, nothing else (rpm)
  fuel.lifecycle.repo_priorities:
    repos:
      - {type: rpm, name: vendor, class: vendor, uri: "http://mirror/rpm/vendor/",
         gpgkey: "http://mirror/keys/RPM-GPG-KEY-vendor"}
      - {type: rpm, name: upstream, class: upstream, uri: "http://mirror/rpm/upstream/"}
      - {type: rpm, name: holdback, class: holdback, uri: "http://mirror/rpm/holdback/"}
    exclusive: true
    backup_dir: /etc/yum.repos.d.nailgun

- name: Same set for APT, pins 1050/1200
  fuel.lifecycle.repo_priorities:
    repos:
      - {type: deb, name: vendor, class: vendor, uri: "http://mirror/deb/vendor", suite: mos9.0,
         section: main, signed_by: /etc/apt/keyrings/vendor.gpg}
      - {name: holdback, class: holdback,
         line: "deb [signed-by=/etc/apt/keyrings/vendor.gpg] http://mirror/deb/holdback mos9.0-holdback main"}
      - {type: deb, name: os, class: upstream, uri: "http://deb.debian.org/debian", suite: bookworm,
         section: [main], signed_by: /usr/share/keyrings/debian-archive-keyring.gpg}

- name: Lower the priority of a repository another tool wrote, disable another (no URI - edit in place)
  fuel.lifecycle.repo_priorities:
    repos:
      - {type: rpm, name: epel, priority: 90}
      - {type: rpm, name: nailgun, enabled: false, gpgcheck: false}
"""

RETURN = r"""
repos:
  description: The set as applied, with the effective priority (credentials removed).
  returned: always
  type: list
  elements: dict
  sample:
    - {type: rpm, name: vendor, uri: "http://mirror/rpm/vendor/", class: vendor, priority: 50,
       enabled: true, gpgcheck: true}
files:
  description: Paths written (or that would be written in check mode).
  returned: always
  type: list
  elements: str
  sample: [/etc/yum.repos.d/vendor.repo]
removed:
  description: Pin files this module wrote earlier and removed because the repository has no pin now.
  returned: always
  type: list
  elements: str
disabled:
  description: Repositories (yum ids or APT lines) disabled because they are not in the set or are defined by it.
  returned: always
  type: list
  elements: str
  sample: [nailgun]
other_entries:
  description: Names of the entries for the other package manager, not applied on this host.
  returned: always
  type: list
  elements: str
backup_dir:
  description: The copy of the repository directory made by this run, if any.
  returned: when a copy was made (or would be, in check mode)
  type: str
  sample: /etc/yum.repos.d.nailgun
"""

import os
import traceback

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.fuel.lifecycle.plugins.module_utils import _repo_files as rf
from ansible_collections.fuel.lifecycle.plugins.module_utils import _repo_set as rs
from ansible_collections.fuel.lifecycle.plugins.module_utils._files import FileProblem


def _package_manager(module, entries):
    wanted = module.params["package_manager"]
    if wanted != "auto":
        return wanted
    kinds = set("rpm" if e["type"] == "rpm" else "apt" for e in entries)
    if len(kinds) != 1:
        module.fail_json(msg="package_manager: the set mixes rpm and deb entries (or is empty); say which to apply")
    return kinds.pop()


def run(module):
    params = module.params
    try:
        entries = rs.normalize([rs.entry_from_params(p) for p in params["repos"]], params["yum_priorities"],
                               params["apt_pins"])
    except rs.RepoSetError as exc:
        module.fail_json(msg=str(exc))
    manager = _package_manager(module, entries)
    mine = [e for e in entries if (e["type"] == "rpm") == (manager == "rpm")]
    other = [e["name"] for e in entries if e not in mine]
    try:
        changes, disabled, dirs = rs.plan_host(mine, manager, params)
    except (rs.RepoSetError, rs.HostProblem) as exc:
        module.fail_json(msg=str(exc))
    except FileProblem as exc:
        module.fail_json(msg="%s (nothing was changed)" % exc, path=exc.path)
    except ValueError as exc:
        module.fail_json(msg="the rendered files do not read back as the set (nothing was changed): %s" % exc)

    result = {"changed": bool(changes), "repos": rs.summary(mine), "other_entries": other, "disabled": disabled,
              "files": [c["path"] for c in changes if c["after"] is not None],
              "removed": [c["path"] for c in changes if c["after"] is None]}
    if module._diff:  # pylint: disable=protected-access
        result["diff"] = rs.diff_of(changes)
    backup = params["backup_dir"]
    if changes and manager == "rpm" and backup and not os.path.lexists(backup):
        result["backup_dir"] = backup
    if module.check_mode or not changes:
        module.exit_json(**result)
    try:
        rs.apply_changes(changes, dirs, result.get("backup_dir"), params["yum_repos_dir"])
    except (FileProblem, OSError, IOError) as exc:
        module.fail_json(msg="%s; files are replaced one by one (pins and managed sources first), so the next run "
                         "finishes what this one started" % exc, **result)
    module.exit_json(**result)


def main():
    module = AnsibleModule(
        argument_spec={
            "repos": {"type": "list", "elements": "dict", "required": True, "options": rs.REPO_OPTIONS},
            "exclusive": {"type": "bool", "default": False},
            "backup_dir": {"type": "path"},
            "package_manager": {"type": "str", "choices": ["auto", "rpm", "apt"], "default": "auto"},
            "yum_priorities": {"type": "dict", "default": dict(rs.DEFAULT_YUM_PRIORITIES)},
            "apt_pins": {"type": "dict", "default": dict(rs.DEFAULT_APT_PINS)},
            "yum_repos_dir": {"type": "path", "default": rf.YUM_REPOS_DIR},
            "apt_sources_dir": {"type": "path", "default": rf.APT_SOURCES_DIR},
            "apt_sources_list": {"type": "path", "default": rf.APT_SOURCES_LIST},
            "apt_preferences_dir": {"type": "path", "default": rf.APT_PREFERENCES_DIR},
        },
        supports_check_mode=True,
    )
    try:
        run(module)
    except Exception as exc:  # pylint: disable=broad-except
        module.fail_json(msg="repo_priorities: unexpected error: %s" % exc, exception=traceback.format_exc())


if __name__ == "__main__":
    main()
