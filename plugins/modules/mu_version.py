#!/usr/bin/python
# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Installed and available maintenance-update records of a node."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: mu_version
short_description: Read, compare and record maintenance-update (MU) records
version_added: 0.1.0
description:
  - Reads the installed MU record of a node (by default C(/etc/fuel/mu-version.json)).
  - When O(mirror_url) (or O(url)) is set, fetches the available record from
    C(<mirror_url>/mcv/mos/<release>/mu-version.json) and compares both by C(id).
  - Every record is validated; C(id) integer >= 0, C(title) non-empty string,
    C(timestamp) integer epoch, optional C(doc_link) http(s) URL; unknown fields are kept.
  - With O(state=present) records a new installed record atomically, adding
    C(installed_at), and writes a local fact file so fact caches (AWX) show it.
    The record is written first and the fact file, derived from it, second; if
    the fact file cannot be written the task fails saying so, and the next run
    with O(state=present) rewrites the fact file from the record (RV(fact_repaired)).
  - Every option, the installed record, the fact file and the available record
    are validated before anything is written. A malformed or oversized record
    (wrong JSON shape, NaN, numbers beyond 2^53, non-UTF-8, control characters),
    a directory where a file belongs, an HTTP error or an unreachable mirror fails
    the task naming the field or file, with nothing written.
  - The fetch has one overall deadline (O(timeout) for the whole request, not
    per read), a size cap (O(max_bytes)), and follows at most 5 redirects, to
    http(s) only. C(http), C(https) and C(file) URLs are accepted.
  - Runs on node Python 2.7 and 3.6+.
author:
  - fuel.lifecycle maintainers (@fuel-lifecycle)
options:
  path:
    description: Installed record on the node.
    type: path
    default: /etc/fuel/mu-version.json
  mirror_url:
    description:
      - Base URL of the mirror; the available record is read from
        C(<mirror_url>/mcv/mos/<release>/mu-version.json). Empty skips the fetch.
    type: str
    default: ""
  release:
    description: Release directory of the record on the mirror.
    type: str
    default: "9.0"
  url:
    description: Full URL of the available record; overrides O(mirror_url) and O(release).
    type: str
    default: ""
  validate_certs:
    description: Verify the TLS certificate of the mirror.
    type: bool
    default: true
  use_proxy:
    description: Use the proxy from the environment (C(https_proxy) etc.).
    type: bool
    default: true
  timeout:
    description: Seconds the whole request to the mirror may take (connect, redirects and body), 1 to 3600.
    type: int
    default: 10
  max_bytes:
    description: Largest accepted body of the available record (1 to 16 MiB).
    type: int
    default: 65536
  state:
    description:
      - V(query) only reads. V(present) records O(record), or the available
        record when O(record) is not given, as installed.
    type: str
    choices: [query, present]
    default: query
  record:
    description: Record to install with O(state=present); validated like a fetched one.
    type: dict
  fact_path:
    description: Local fact file written with O(state=present); empty writes none.
    type: path
    default: /etc/ansible/facts.d/fuel_mu.fact
  release_status_path:
    description:
      - Release status cached on the node by the C(fuel.lifecycle.release_status) role. When set, the
        package versions it flags that the node has installed are read from the node's package database
        and returned as RV(flagged_installed). Empty skips it.
    type: path
    default: ""
  package_manager:
    description:
      - Package database read for O(release_status_path). V(auto) reads every one the node has (dpkg,
        rpm).
    type: str
    choices: [auto, apt, rpm]
    default: auto
extends_documentation_fragment:
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
  - Read-only unless O(state=present).
"""

EXAMPLES = r"""
- name: Compare the installed MU with the mirror's
  fuel.lifecycle.mu_version:
    mirror_url: http://mirror.example.com
    release: "9.0"
  register: mu

- name: Record the MU after a successful install
  fuel.lifecycle.mu_version:
    state: present
    record: "{{ mu.mu_available }}"
"""

RETURN = r"""
mu_installed:
  description: Installed record, or null when no MU is installed.
  returned: always
  type: dict
  sample: {id: 1, title: Maintenance update 1, timestamp: 1767225600, installed_at: 1767300000.123}
mu_available:
  description: Record published by the mirror, or null when no mirror was asked.
  returned: always
  type: dict
  sample: {id: 2, title: Maintenance update 2, timestamp: 1769904000, doc_link: "https://docs.example.com/mu/2"}
mu_update_available:
  description: Whether the available record has a higher C(id) than the installed one.
  returned: always
  type: bool
mu_status:
  description: One of V(current), V(update-available), V(not-installed), V(ahead), V(unknown) (no mirror asked).
  returned: always
  type: str
fact_repaired:
  description: The record was already installed and the fact file disagreed with it (a previous run failed
    between the two writes); the fact file was rewritten from the record.
  returned: when the fact file was repaired
  type: bool
fact_in_sync:
  description: With O(state=query), whether the fact file holds the installed record.
  returned: with O(state=query) when both the record and the fact file exist
  type: bool
flagged_installed:
  description:
    - Installed package versions the cached release status flags, sorted by name and version; empty when
      no status is cached. Null when the status or the package database could not be read
      (RV(release_status_problem) says why); the MU records are reported all the same.
  returned: when O(release_status_path) is set
  type: list
  elements: dict
  sample: [{name: fuel-utils, version: 2.0-0mos2, reason: CLI regression}]
release_status_problem:
  description: Why RV(flagged_installed) is null, naming the file or command.
  returned: when the cached release status or the package database could not be read
  type: str
url:
  description: URL the available record was read from.
  returned: when a mirror was asked
  type: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import open_url
from ansible_collections.fuel.lifecycle.plugins.module_utils import _mu_version as mu
from ansible_collections.fuel.lifecycle.plugins.module_utils import _release_status as release_status

ARGUMENT_SPEC = {
    "path": {"type": "path", "default": "/etc/fuel/mu-version.json"},
    "mirror_url": {"type": "str", "default": ""},
    "release": {"type": "str", "default": "9.0"},
    "url": {"type": "str", "default": ""},
    "validate_certs": {"type": "bool", "default": True},
    "use_proxy": {"type": "bool", "default": True},
    "timeout": {"type": "int", "default": 10},
    "max_bytes": {"type": "int", "default": mu.DEFAULT_MAX_BYTES},
    "state": {"type": "str", "choices": ["query", "present"], "default": "query"},
    "record": {"type": "dict"},
    "release_status_path": {"type": "path", "default": ""},
    "package_manager": {"type": "str", "choices": ["auto", "apt", "rpm"], "default": "auto"},
    "fact_path": {"type": "path", "default": "/etc/ansible/facts.d/fuel_mu.fact"},
}


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    params = module.params

    def fetcher(url):
        return mu.fetch(url, params["timeout"], params["max_bytes"], params["validate_certs"], params["use_proxy"],
                        open_url=open_url)

    def versions_of(names):
        tools = {"apt": "dpkg-query", "rpm": "rpm"}
        wanted = ["apt", "rpm"] if params["package_manager"] == "auto" else [params["package_manager"]]
        found = [(manager, module.get_bin_path(tools[manager])) for manager in wanted]
        found = [(manager, binary) for manager, binary in found if binary]
        if not found:
            raise release_status.StatusError("package_manager: %s not found on the node"
                                             % " or ".join(tools[manager] for manager in wanted))
        versions = {}
        for manager, binary in found:
            def run_command(argv, binary=binary):
                return module.run_command([binary] + argv[1:], environ_update={"LC_ALL": "C"})
            for name, listed in release_status.installed_versions(run_command, manager, names).items():
                versions.setdefault(name, []).extend(listed)
        return versions

    try:
        result = mu.run(params, module.check_mode, fetcher, versions_of=versions_of)
    except mu.RecordError as exc:
        module.fail_json(msg=str(exc))
    except Exception as exc:  # pylint: disable=broad-except
        module.fail_json(msg="mu_version failed unexpectedly: %s: %s" % (type(exc).__name__, exc))
    if not module._diff:
        result.pop("diff", None)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
