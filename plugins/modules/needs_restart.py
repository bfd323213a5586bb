#!/usr/bin/python
# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""List the services that run deleted or replaced files, and whether a reboot is needed."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: needs_restart
short_description: Services running deleted or replaced files, and reboot need
version_added: 0.1.0
description:
  - Reads C(/proc/*/maps) and C(/proc/*/exe) of every process sharing the
    module's root directory and reports those that still use a file that was
    deleted or replaced (new inode), for instance by a package update.
  - Maps processes to systemd service units (from C(/proc/PID/cgroup)) when
    systemd runs, otherwise to init scripts (C(/run/<name>.pid) with
    C(/etc/init.d/<name>)), or to the services named in O(service_map).
  - Reports whether a reboot is needed, that is whether a kernel newer than the
    running one is installed.
  - Needs neither needrestart nor needs-restarting; when one of them is installed
    its service list is merged into the result.
  - Read-only; always returns C(changed=false).
  - Invalid O(service_map) or O(ignore_prefixes) entries (unknown fields, relative
    or control-character paths, a directory as pid file, a pattern that is not a
    regular expression) fail the task naming the field.
  - Runs on node Python 2.7 and 3.6+.
author:
  - fuel.lifecycle maintainers (@fuel-lifecycle)
options:
  service_map:
    description:
      - Extra services to recognise, by name. Each value has C(pidfile) (path of
        the service's pid file) and/or C(cmdline) (regular expression searched in
        the process name and executable path).
    type: dict
    default: {}
  ignore_prefixes:
    description: File path prefixes never counted (temporary and runtime files).
    type: list
    elements: str
  use_tools:
    description: Merge the findings of C(needrestart) / C(needs-restarting) when installed.
    type: bool
    default: true
extends_documentation_fragment:
  - fuel.lifecycle._attributes
  - fuel.lifecycle._attributes.INFO_MODULE
  - fuel.lifecycle._attributes.PLATFORM
attributes:
  platform:
    platforms: [debian, redhat]
"""

EXAMPLES = r"""
- name: Find the services to restart after an update
  fuel.lifecycle.needs_restart:
  register: restart

- name: Restart them
  ansible.builtin.service:
    name: "{{ item.name }}"
    state: restarted
  loop: "{{ restart.services }}"
"""

RETURN = r"""
services:
  description: Services with at least one process using a deleted or replaced file, by name.
  returned: always
  type: list
  elements: dict
  sample:
    - {name: nova-compute.service, manager: systemd, pids: [812], files: [/usr/lib/libssl.so.3]}
    - {name: fuel-lab-libsvc, manager: sysv, pids: [4242], files: [/usr/share/fuel-lab/libfuel-common.version]}
processes:
  description: Every process with stale files, with its service or null.
  returned: always
  type: list
  elements: dict
  sample:
    - {pid: 4242, comm: fuel-lab-libsvc, service: fuel-lab-libsvc, files: [/usr/share/fuel-lab/libfuel-common.version]}
service_names:
  description: Names of RV(services), sorted.
  returned: always
  type: list
  elements: str
systemd:
  description: Whether systemd runs on the host (services are then units).
  returned: always
  type: bool
reboot_required:
  description: Whether an installed kernel is newer than the running one.
  returned: always
  type: bool
kernel_running:
  description: Release of the running kernel.
  returned: always
  type: str
kernel_newest:
  description: Newest installed kernel release, or null when none is found.
  returned: always
  type: str
tool:
  description: External tool whose service list was merged, or null.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.fuel.lifecycle.plugins.module_utils import _needs_restart as nr
from ansible_collections.fuel.lifecycle.plugins.module_utils._runner import CommandRunner

ARGUMENT_SPEC = {
    "service_map": {"type": "dict", "default": {}},
    "ignore_prefixes": {"type": "list", "elements": "str"},
    "use_tools": {"type": "bool", "default": True},
}


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    runner = CommandRunner(module)

    def has_binary(name):
        return runner.binary(name, required=False) is not None

    try:
        result = nr.run(module.params, runner.run, has_binary, module.warn)
    except nr.NeedsRestartError as exc:
        module.fail_json(msg=str(exc))
    except Exception as exc:  # pylint: disable=broad-except
        module.fail_json(msg="needs_restart failed unexpectedly: %s: %s" % (type(exc).__name__, exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
