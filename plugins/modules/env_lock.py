#!/usr/bin/python
# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Take or release an environment-wide lock file that names the run holding it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: env_lock
short_description: Take or release an exclusive lock file naming the run that holds it
version_added: 0.1.0
description:
  - Creates the lock file atomically (written aside, then linked into place, so
    it is never seen half-written) with the owner, the run id, scope, purpose,
    time and the controller host and process of the run, so two concurrent runs
    against one environment cannot both hold it; the second fails with a message
    naming the holder and how to break a dead run's lock.
  - The lock belongs to a run (O(run_id)), not to a person; two runs with the same
    O(owner) never share it. Taking a lock the same run already holds changes nothing.
  - Releasing a lock held by another run fails unless O(force=true). With
    O(force=true), V(present) breaks a lock left by a dead run and takes it.
  - Every taken, released and broken lock is appended to O(history_path) when set,
    with the holder a broken lock had (a killed run leaves its trace there).
  - The action plugin fills O(controller_host) and O(controller_pid) with the
    controller's host name and the process id of the C(ansible-playbook) run.
author:
  - fuel.lifecycle maintainers (@fuel-lifecycle)
options:
  path:
    description: Lock file (absolute path).
    type: path
    required: true
  owner:
    description: Who runs (for instance an AWX job or a user name); shown to whoever is refused.
    type: str
    required: true
  run_id:
    description:
      - Identity of this run, generated once per playbook run; required with O(state=present).
      - The lock is re-entrant for the same O(owner) and O(run_id) only.
    type: str
    default: ""
  state:
    description: V(present) takes the lock, V(absent) releases it.
    type: str
    choices: [present, absent]
    default: present
  scope:
    description: What is locked, shown to whoever is refused (for instance C(env_1)).
    type: str
    default: ""
  purpose:
    description: Why, shown to whoever is refused (for instance C(mu_install)).
    type: str
    default: ""
  force:
    description:
      - Break a lock held by another run (a run known to be dead). With V(absent) the
        lock is removed; with V(present) it is taken over. Either is recorded in O(history_path).
    type: bool
    default: false
  controller_host:
    description: Host name of the controller running this run (filled by the action plugin).
    type: str
    default: ""
  controller_pid:
    description: Process id of this run's C(ansible-playbook) on the controller (filled by the action plugin).
    type: int
  break_hint:
    description: How the operator breaks a dead run's lock, quoted in the refusal (for instance a role variable).
    type: str
    default: force=true
  history_path:
    description: JSON file keeping the last 200 lock events (taken, released, broken); empty keeps none.
    type: path
    default: ""
extends_documentation_fragment:
  - fuel.lifecycle._attributes
  - fuel.lifecycle._attributes.PLATFORM
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: [posix]
"""

EXAMPLES = r"""
- name: Lock the environment
  fuel.lifecycle.env_lock:
    path: /var/lib/fuel-lifecycle/mu-env.lock
    owner: "awx-job-{{ awx_job_id }}"
    run_id: "{{ fuel_mu_run_id }}"
    scope: env_1
    purpose: mu_install
    break_hint: "-e fuel_mu_break_lock=true"
    history_path: /var/lib/fuel-lifecycle/mu-env.history.json
"""

RETURN = r"""
holder:
  description: The lock's holder after the call (before it for V(absent)), or null.
  returned: always
  type: dict
  sample: {owner: awx-job-42, run_id: 20260101T101500-3f2a, scope: env_1, purpose: mu_install,
           since: 1767300000.5, controller: {host: awx-ee-1, pid: 1234}}
broken:
  description: The holder of a lock this call broke (O(force=true)), or null.
  returned: always
  type: dict
event:
  description: V(acquired), V(released), V(broken) or null when nothing changed.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.fuel.lifecycle.plugins.module_utils import _env_lock as lock
from ansible_collections.fuel.lifecycle.plugins.module_utils import _files as files


def main():
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "owner": {"type": "str", "required": True},
            "run_id": {"type": "str", "default": ""},
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
            "scope": {"type": "str", "default": ""},
            "purpose": {"type": "str", "default": ""},
            "force": {"type": "bool", "default": False},
            "controller_host": {"type": "str", "default": ""},
            "controller_pid": {"type": "int"},
            "break_hint": {"type": "str", "default": "force=true"},
            "history_path": {"type": "path", "default": ""},
        },
        supports_check_mode=True,
    )
    try:
        result = lock.apply(module.params, module.check_mode)
    except lock.LockHeld as exc:
        module.fail_json(msg=str(exc), holder=exc.holder)
    except files.FileProblem as exc:
        module.fail_json(msg=str(exc), path=exc.path)
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    except Exception as exc:  # pylint: disable=broad-except
        module.fail_json(msg="lock file %s: unexpected error: %s" % (module.params["path"], exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
