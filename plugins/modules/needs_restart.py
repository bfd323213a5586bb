#!/usr/bin/python
# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""List the services that run deleted or replaced files, and whether a reboot is needed."""

from __future__ import annotations

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

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.fuel.lifecycle.plugins.module_utils import _needs_restart as nr

ENV = {"LANG": "C", "LC_ALL": "C", "LANGUAGE": "C"}


def tool_services(module, systemd):
    """Service names reported by needrestart / needs-restarting, when installed."""
    needrestart = module.get_bin_path("needrestart")
    if needrestart:
        rc, out, err = module.run_command([needrestart, "-b", "-r", "l"], environ_update=ENV)
        if rc == 0:
            return "needrestart", nr.parse_needrestart(out)
        module.warn("needrestart failed (rc %s): %s" % (rc, err.strip()))
    tool = module.get_bin_path("needs-restarting")
    if tool and systemd:
        rc, out, err = module.run_command([tool, "-s"], environ_update=ENV)
        if rc == 0:
            return "needs-restarting", nr.parse_needs_restarting(out)
        module.warn("needs-restarting failed (rc %s): %s" % (rc, err.strip()))
    return None, []


def main():
    module = AnsibleModule(
        argument_spec={
            "service_map": {"type": "dict", "default": {}},
            "ignore_prefixes": {"type": "list", "elements": "str"},
            "use_tools": {"type": "bool", "default": True},
        },
        supports_check_mode=True,
    )
    service_map = module.params["service_map"]
    for name, spec in service_map.items():
        if not isinstance(spec, dict) or not (spec.get("pidfile") or spec.get("cmdline")):
            module.fail_json(msg="service_map.%s: needs a pidfile and/or a cmdline pattern" % name)
    ignore = tuple(module.params["ignore_prefixes"] or nr.DEFAULT_IGNORE)
    processes, services, systemd = nr.scan(nr.ProcReader(), service_map, ignore)
    tool = None
    if module.params["use_tools"]:
        tool, names = tool_services(module, systemd)
        known = {entry["name"] for entry in services}
        for name in names:
            if name not in known:
                services.append({"name": name, "manager": "systemd" if systemd else "sysv", "pids": [],
                                 "files": [], "source": tool})
        services.sort(key=lambda entry: entry["name"])
    running = os.uname().release
    reboot, newest = nr.reboot_needed(running, nr.installed_kernels("/"))
    if os.path.exists("/run/reboot-required"):
        reboot = True
    module.exit_json(changed=False, services=services, processes=processes,
                     service_names=[entry["name"] for entry in services], systemd=systemd,
                     reboot_required=reboot, kernel_running=running, kernel_newest=newest, tool=tool)


if __name__ == "__main__":
    main()
