#!/usr/bin/python
# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Apply a maintenance update to one node in one module run."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: mu_apply
short_description: Apply a maintenance update (MU) to one node, start to end, in one run
version_added: 0.2.0
description:
  - "Does, in order: node lock (an C(flock) released when the process ends), the
    installed and available MU records read and validated, prechecks (free space,
    the package manager's lock waited for up to O(lock_timeout) seconds, interrupted
    package work, every repository readable), the plan from the package manager's
    own simulation (C(apt-get -s dist-upgrade), C(dnf --assumeno upgrade)), the
    package list and locally modified packaged files saved once per target MU, the
    MU repository files, the transaction, its verification against the package
    database (no half-configured package, every package at its planned version),
    restarts of exactly the services running replaced files (O(restart_order)
    first) each followed by its status and health checks, the MU record with a
    local fact, and the node's last run."
  - Returns one structured result; a failure names the step and carries the
    package manager's own message (dpkg's cause included) and the packages left
    half-configured.
  - In check mode the simulation runs against a throwaway copy of the package
    manager's configuration with the MU repositories added, and the services that
    would restart are those whose processes map files of the packages to be
    upgraded; nothing on the node changes.
author:
  - fuel.lifecycle maintainers (@fuel-lifecycle)
options:
  phase:
    description:
      - V(apply) runs every step. V(restarts) only restarts the services running replaced
        files (with their health checks), for an operator finishing restarts on their own.
    type: str
    choices: [apply, restarts]
    default: apply
  mirror_url:
    description: Mirror publishing C(<mirror_url>/mcv/mos/<release>/mu-version.json), the record installed at the end.
    type: str
    default: ""
  release:
    description: Release directory of the record on the mirror.
    type: str
    default: "9.0"
  record:
    description: The available record itself (instead of fetching it from O(mirror_url)).
    type: dict
  validate_certs:
    description: Verify the mirror's TLS certificate.
    type: bool
    default: true
  timeout:
    description: Overall seconds allowed for fetching the record.
    type: int
    default: 10
  record_path:
    description: Installed record on the node.
    type: path
    default: /etc/fuel/mu-version.json
  fact_path:
    description: Local fact file written with the record; empty writes none.
    type: path
    default: /etc/ansible/facts.d/fuel_mu.fact
  package_manager:
    description: V(auto) finds apt/dpkg, else dnf or yum.
    type: str
    choices: [auto, apt, rpm]
    default: auto
  apt_repos:
    description: APT repositories of the update (C(uri), C(suite), C(section), C(signed_by)).
    type: list
    elements: dict
    default: []
  apt_pin_priority:
    description: APT pin priority of the MU suites.
    type: int
    default: 1050
  apt_sources_file:
    description: APT sources file written for the MU repositories.
    type: path
    default: /etc/apt/sources.list.d/fuel-mu.list
  apt_pin_file:
    description: APT preferences file pinning the MU suites.
    type: path
    default: /etc/apt/preferences.d/fuel-mu.pref
  yum_repos:
    description: yum/dnf repositories of the update (C(name), C(baseurl), C(gpgkey)).
    type: list
    elements: dict
    default: []
  yum_priority:
    description: yum/dnf priority of the MU repositories (lower wins).
    type: int
    default: 40
  yum_repo_file:
    description: Repository file written for the MU repositories.
    type: path
    default: /etc/yum.repos.d/fuel-mu.repo
  min_free_mb:
    description: Free MiB required on each of O(free_space_paths).
    type: int
    default: 200
  free_space_paths:
    description: Paths whose file systems need O(min_free_mb) free.
    type: list
    elements: path
    default: [/, /var]
  lock_timeout:
    description: Seconds to wait for another apt/dpkg/dnf/yum to release its lock before failing (nothing changed).
    type: int
    default: 60
  allow_removals:
    description: Accept a plan that removes packages.
    type: bool
    default: false
  restart_order:
    description: Services restarted first, in this order; the other affected services follow by name.
    type: list
    elements: str
    default: []
  health_checks:
    description: "Checks after a service's restart, by service name: C({command: [argv]}) or C({url: URL, status: 200})."
    type: dict
    default: {}
  health_retries:
    description: Attempts of each status and health check.
    type: int
    default: 5
  health_delay:
    description: Seconds between attempts.
    type: int
    default: 1
  service_map:
    description: "Extra services: C({name: {pidfile: PATH, cmdline: REGEX}})."
    type: dict
    default: {}
  state_dir:
    description: Node directory for the saved state, the node lock and C(last-run.json).
    type: path
    default: /var/lib/fuel-lifecycle/mu
  owner:
    description: Who runs (recorded in C(last-run.json)).
    type: str
    default: ""
  run_id:
    description: The run's id (recorded in C(last-run.json)).
    type: str
    default: ""
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
"""

EXAMPLES = r"""
- name: Apply MU 2
  fuel.lifecycle.mu_apply:
    mirror_url: http://mirror.example.com
    apt_repos:
      - {uri: http://mirror.example.com/deb/mu2, suite: mos9.0-mu2, signed_by: /etc/apt/keyrings/vendor.gpg}
    restart_order: [keystone]
    health_checks:
      keystone:
        - {url: "http://127.0.0.1:5000/v3", status: 200}
  register: mu
"""

RETURN = r"""
mu_before:
  description: MU id installed before the run, or null.
  returned: always
  type: int
mu_after:
  description: MU id installed after the run (the one it would install in check mode).
  returned: always
  type: int
plan:
  description: The package manager's plan; C(upgrade) and C(install) items with C(name), C(from), C(to); C(remove).
  returned: always
  type: dict
would_restart:
  description: Check mode; services whose processes use files of the packages to be upgraded.
  returned: always
  type: list
restarted:
  description: Services restarted, in order (each passed its status and health checks).
  returned: always
  type: list
transaction_seconds:
  description: Duration of the package transaction alone, or null when none ran.
  returned: always
  type: float
steps:
  description: Each step done, with its seconds.
  returned: always
  type: list
failed_step:
  description: The step that failed, or null.
  returned: always
  type: str
reason:
  description: Why it failed (the package manager's own message, dpkg's cause included), or null.
  returned: always
  type: str
half_configured:
  description: Packages the package database shows half-configured/unpacked after a failure.
  returned: always
  type: list
last_run:
  description: What the node recorded in C(last-run.json).
  returned: always
  type: dict
"""

import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import fetch_url
from ansible_collections.fuel.lifecycle.plugins.module_utils import _files as files
from ansible_collections.fuel.lifecycle.plugins.module_utils import _mu_apply as mua
from ansible_collections.fuel.lifecycle.plugins.module_utils import _mu_version as mu
from ansible_collections.fuel.lifecycle.plugins.module_utils._runner import CommandRunner, MissingCommand

MAX_RECORD = 65536


def _read_body(module, url, deadline):
    resp, info = fetch_url(module, url, timeout=max(1, int(deadline - time.time())), method="GET")
    status = info.get("status", -1)
    if resp is None or status != 200:
        raise mu.RecordError("available record %s: HTTP %s %s" % (url, status, info.get("msg", "")))
    chunks, size = [], 0
    while True:
        if time.time() > deadline:
            raise mu.RecordError("available record %s: not read within %d s (timeout)" % (url, module.params["timeout"]))
        chunk = resp.read(8192)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_RECORD:
            raise mu.RecordError("available record %s: larger than %d bytes" % (url, MAX_RECORD))
    return b"".join(chunks)


def records(module):
    params = module.params

    def read():
        try:
            data = files.read_json(params["record_path"], shape=None)
        except files.FileProblem as exc:
            raise mu.RecordError("installed record %s" % exc)
        installed = mu.validate_record(data, "installed record %s" % params["record_path"]) if data is not None \
            else None
        if params["record"] is not None:
            return installed, mu.validate_record(params["record"], "record")
        if not params["mirror_url"]:
            return installed, None
        url = mu.available_url(params["mirror_url"], params["release"])
        body = _read_body(module, url, time.time() + params["timeout"])
        return installed, mu.parse_record(body, "available record %s" % url)
    return read


def url_check(module):
    def check(url, code):
        resp, info = fetch_url(module, url, timeout=10, method="GET")
        status = info.get("status", -1)
        return None if status == code else "HTTP %s, expected %s" % (status, code)
    return check


def main():
    module = AnsibleModule(
        argument_spec={
            "phase": {"type": "str", "choices": ["apply", "restarts"], "default": "apply"},
            "mirror_url": {"type": "str", "default": ""},
            "release": {"type": "str", "default": "9.0"},
            "record": {"type": "dict"},
            "validate_certs": {"type": "bool", "default": True},
            "timeout": {"type": "int", "default": 10},
            "record_path": {"type": "path", "default": "/etc/fuel/mu-version.json"},
            "fact_path": {"type": "path", "default": "/etc/ansible/facts.d/fuel_mu.fact"},
            "package_manager": {"type": "str", "choices": ["auto", "apt", "rpm"], "default": "auto"},
            "apt_repos": {"type": "list", "elements": "dict", "default": []},
            "apt_pin_priority": {"type": "int", "default": 1050},
            "apt_sources_file": {"type": "path", "default": "/etc/apt/sources.list.d/fuel-mu.list"},
            "apt_pin_file": {"type": "path", "default": "/etc/apt/preferences.d/fuel-mu.pref"},
            "yum_repos": {"type": "list", "elements": "dict", "default": []},
            "yum_priority": {"type": "int", "default": 40},
            "yum_repo_file": {"type": "path", "default": "/etc/yum.repos.d/fuel-mu.repo"},
            "min_free_mb": {"type": "int", "default": 200},
            "free_space_paths": {"type": "list", "elements": "path", "default": ["/", "/var"]},
            "lock_timeout": {"type": "int", "default": 60},
            "allow_removals": {"type": "bool", "default": False},
            "restart_order": {"type": "list", "elements": "str", "default": []},
            "health_checks": {"type": "dict", "default": {}},
            "health_retries": {"type": "int", "default": 5},
            "health_delay": {"type": "int", "default": 1},
            "service_map": {"type": "dict", "default": {}},
            "state_dir": {"type": "path", "default": "/var/lib/fuel-lifecycle/mu"},
            "owner": {"type": "str", "default": ""},
            "run_id": {"type": "str", "default": ""},
        },
        supports_check_mode=True,
    )
    params = module.params
    try:
        mua.validate(params)
        if params["timeout"] < 1 or params["timeout"] > 3600:
            raise ValueError("timeout: must be between 1 and 3600 seconds")
    except ValueError as exc:
        module.fail_json(msg=str(exc), failed_step="input")
    runner = CommandRunner(module)
    work = mua.MuRun(params, runner, module.check_mode, records(module), url_check(module))
    result = work.result
    try:
        work.run()
    except mua.StepFailed as exc:
        result.update(failed_step=exc.step, reason=exc.reason)
        result.update(exc.details)
    except (mu.RecordError, ValueError) as exc:
        result.update(failed_step="records", reason=str(exc))
    except files.FileProblem as exc:
        result.update(failed_step=result["steps"][-1]["name"] if result["steps"] else "records",
                      reason=str(exc), path=exc.path)
    except MissingCommand as exc:
        result.update(failed_step="prechecks", reason=str(exc))
    except Exception as exc:  # pylint: disable=broad-except
        result.update(failed_step="unexpected", reason="%s: %s" % (type(exc).__name__, exc))
    result.setdefault("finished_at", round(time.time(), 3))
    result["last_run"] = mua.last_run(result, params["owner"], params["run_id"])
    if not module.check_mode and (result["changed"] or result["failed_step"]):
        try:
            files.makedirs(params["state_dir"])
            files.atomic_write(params["state_dir"] + "/last-run.json", files.dumps_json(result["last_run"]), 0o644)
        except files.FileProblem as exc:
            module.warn("could not write the last run: %s" % exc)
    diff = result.pop("diff")
    if module._diff:  # pylint: disable=protected-access
        plan = result.get("plan") or {}
        lines = ["%s %s -> %s" % (e["name"], e.get("from", "-"), e["to"]) for e in plan.get("upgrade", [])]
        lines += ["%s (new) %s" % (e["name"], e["to"]) for e in plan.get("install", [])]
        lines += ["%s %s (removed)" % (e["name"], e.get("from", "")) for e in plan.get("remove", [])]
        diff = diff + [{"before_header": "MU %s" % result.get("mu_before"),
                        "after_header": "MU %s" % result.get("mu_after"),
                        "before": "", "after": "".join(line + "\n" for line in lines)}]
        result["diff"] = diff
    if result["failed_step"]:
        module.fail_json(msg="MU on this node failed at %s: %s" % (result["failed_step"], result["reason"]),
                         **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
