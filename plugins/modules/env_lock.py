#!/usr/bin/python
# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Take or release an environment-wide lock file that names its holder."""

from __future__ import annotations

DOCUMENTATION = r"""
module: env_lock
short_description: Take or release an exclusive lock file naming its holder
version_added: 0.1.0
description:
  - Creates the lock file atomically (C(O_CREAT|O_EXCL)) with the owner, scope,
    purpose and time, so two concurrent runs against one environment cannot both
    hold it; the second fails with a message naming the holder.
  - Taking a lock one already holds (same O(owner)) changes nothing.
  - Releasing a lock held by another owner fails unless O(force=true).
author:
  - fuel.lifecycle maintainers (@fuel-lifecycle)
options:
  path:
    description: Lock file.
    type: path
    required: true
  owner:
    description: Identity of this run (for instance an AWX job id or a user and run id).
    type: str
    required: true
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
    description: Release the lock even when another owner holds it (a run known to be dead).
    type: bool
    default: false
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
    path: /var/lib/fuel-lifecycle/env.lock
    owner: "awx-job-{{ awx_job_id }}"
    scope: env_1
    purpose: mu_install
"""

RETURN = r"""
holder:
  description: The lock's holder after the call (before it for V(absent)), or null.
  returned: always
  type: dict
  sample: {owner: awx-job-42, scope: env_1, purpose: mu_install, since: 1767300000.5, pid: 1234}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.fuel.lifecycle.plugins.module_utils import _env_lock as lock


def main():
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "owner": {"type": "str", "required": True},
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
            "scope": {"type": "str", "default": ""},
            "purpose": {"type": "str", "default": ""},
            "force": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    params = module.params
    if not params["owner"].strip():
        module.fail_json(msg="owner: must not be empty")
    try:
        if params["state"] == "present":
            changed, holder = lock.acquire(params["path"], params["owner"], params["scope"], params["purpose"],
                                           module.check_mode)
        else:
            changed, holder = lock.release(params["path"], params["owner"], params["force"], module.check_mode)
    except lock.LockHeld as exc:
        module.fail_json(msg=str(exc), holder=exc.holder)
    except OSError as exc:
        module.fail_json(msg="lock file %s: %s" % (params["path"], exc))
    module.exit_json(changed=changed, holder=holder)


if __name__ == "__main__":
    main()
