#!/usr/bin/python
# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Record and guard the phases of the master node upgrade."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: upgrade_state
short_description: Phase state of the master node upgrade, with ordered transitions and a run lock
version_added: 0.1.0
description:
  - Keeps the state of the master node upgrade in a JSON file on the host
    the current phase and its result, one entry per phase (attempts, times,
    message), data the phases record (snapshot set, package list before the
    update, ...) and a history of every event, only ever appended to.
  - "Allowed order: C(prepare) -> C(update) -> C(commit) -> C(finalize), or
    C(prepare)|C(update) -> C(rollback) -> C(finalize); after C(finalize)
    a new cycle may start with C(prepare). Any other phase is refused with a
    message naming the current phase, before anything changes."
  - "C(recover) is the way forward when a rollback is impossible: it is
    allowed only when C(rollback) failed with C(rollback_impossible) recorded
    in the data (O(data)), and then it is the only phase allowed; after it a
    new cycle may start with C(prepare)."
  - A phase that failed (or whose run was interrupted) stays current and is
    resumed by beginning it again; C(prepare) and C(update) may also be left
    for C(rollback). Beginning a phase that is already complete changes
    nothing and returns O(state=begin) with RV(decision=already_complete).
  - C(begin) takes a lock file (created atomically) naming the run, its
    controller, the host, the pid and the time; C(complete) and C(failed)
    release it. A second run (another O(run_id)) is refused while the lock
    is held. O(state=unlock) breaks a lock left by a dead run.
author:
  - fuel.lifecycle maintainers (@fuel-lifecycle)
options:
  path:
    description: The state file.
    type: path
    default: /var/lib/fuel-lifecycle/master-upgrade.json
  lock_path:
    description: The lock file; defaults to O(path) with C(.lock) appended.
    type: path
  phase:
    description: The phase to begin, complete or mark failed. Required unless O(state) is V(query) or V(unlock).
    type: str
    choices: [prepare, update, commit, rollback, recover, finalize]
  state:
    description:
      - V(begin) starts the phase (or resumes it after a failure) and takes the lock.
      - V(complete) / V(failed) close the current phase and release the lock.
      - V(query) only reads the state; V(unlock) removes the lock whoever holds it.
      - V(restore) writes back O(record), a record saved with V(query) before a
        rollback reverted the volume holding the state file; only when the
        record on disk is an earlier state of it (its history a prefix), so no
        event is lost. It takes the lock for O(run_id).
    type: str
    choices: [begin, complete, failed, query, unlock, restore]
    default: query
  run_id:
    description:
      - Identity of the run (one C(ansible-playbook) or AWX job); the lock is
        held for it. Required with V(begin), V(complete) and V(failed).
    type: str
  controller:
    description: Free text stored in the lock to say where the run comes from (controller host, AWX job).
    type: str
  reason:
    description: Why the phase failed (or a note on completion), kept in the phase entry and the history.
    type: str
  data:
    description: Keys recorded in the state's C(data), replacing recorded values.
    type: dict
  record:
    description: With O(state=restore), the record to write back (RV(record) of an earlier V(query)).
    type: dict
  if_earlier:
    description:
      - With O(state=restore), write O(record) back only when the record on
        disk is an earlier state of it, and otherwise change nothing
        (RV(decision=kept)) instead of failing. A rollback resumed after its
        reboot uses it with the copy it kept on C(/boot).
    type: bool
    default: false
  data_once:
    description:
      - Keys recorded in the state's C(data) only when not recorded yet in
        this cycle, for "before" values that a resumed phase must not overwrite.
    type: dict
extends_documentation_fragment:
  - fuel.lifecycle._attributes
  - fuel.lifecycle._attributes.PLATFORM
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - The diff shows the state file before and after.
  platform:
    platforms: [debian, redhat]
"""

EXAMPLES = r"""
- name: Begin the update phase (refused unless prepare is complete)
  fuel.lifecycle.upgrade_state:
    phase: update
    state: begin
    run_id: "{{ awx_job_id | default('manual-1') }}"
  register: state

- name: Record the package list before the update, once per cycle
  fuel.lifecycle.upgrade_state:
    phase: prepare
    state: complete
    run_id: manual-1
    data_once:
      packages_before: "{{ packages }}"

- name: Show where the upgrade stands
  fuel.lifecycle.upgrade_state:
  register: upgrade

- name: Break the lock of a run that died
  fuel.lifecycle.upgrade_state:
    state: unlock
"""

RETURN = r"""
decision:
  description:
    - What the request meant; V(start), V(resume) (the phase was current and
      not complete), V(already_complete), V(complete), V(failed), V(restored), V(unchanged) or
      V(kept) (O(if_earlier) and the disk is not behind O(record)).
  returned: with state begin, complete, failed and restore
  type: str
  sample: start
phase:
  description: The current phase after the request (null when no upgrade ever ran).
  returned: always
  type: str
  sample: update
result:
  description: Result of the current phase, V(running), V(complete) or V(failed).
  returned: always
  type: str
  sample: running
cycle:
  description: Number of the upgrade cycle (each C(prepare) after a C(finalize) starts a new one).
  returned: always
  type: int
  sample: 1
phases:
  description: One entry per phase of the current cycle (result, attempts, started, finished, message).
  returned: always
  type: dict
  sample: {prepare: {result: complete, attempts: 1, started: "2026-11-22T13:50:00Z", finished: "2026-11-22T13:51:10Z"}}
data:
  description: Data the phases recorded in this cycle.
  returned: always
  type: dict
  sample: {snapshot_set: master-upgrade}
allowed_next:
  description: The phases C(begin) would accept now.
  returned: always
  type: list
  elements: str
  sample: [update, rollback]
history_length:
  description: Number of history events recorded in the state file.
  returned: always
  type: int
  sample: 4
lock:
  description: Owner of the lock after the request (run_id, controller, host, pid, time), null when free.
  returned: always
  type: dict
  sample: {run_id: "20261122T135000-4242", controller: awx, host: master, pid: 4242, time: "2026-11-22T13:50:00Z"}
broken_lock:
  description: Owner of the lock that O(state=unlock) removed (null when there was none).
  returned: with state unlock
  type: dict
record:
  description: The whole state record (null when there is none), for O(state=restore) after a rollback.
  returned: with state query
  type: dict
path:
  description: The state file.
  returned: always
  type: str
  sample: /var/lib/fuel-lifecycle/master-upgrade.json
lock_path:
  description: The lock file.
  returned: always
  type: str
  sample: /var/lib/fuel-lifecycle/master-upgrade.json.lock
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.fuel.lifecycle.plugins.module_utils._files import FileProblem
from ansible_collections.fuel.lifecycle.plugins.module_utils._upgrade_state import PHASES, StateError, execute


def main():
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "default": "/var/lib/fuel-lifecycle/master-upgrade.json"},
            "lock_path": {"type": "path"},
            "phase": {"type": "str", "choices": list(PHASES)},
            "state": {"type": "str", "default": "query",
                      "choices": ["begin", "complete", "failed", "query", "unlock", "restore"]},
            "run_id": {"type": "str"},
            "controller": {"type": "str"},
            "reason": {"type": "str"},
            "data": {"type": "dict"},
            "data_once": {"type": "dict"},
            "record": {"type": "dict"},
            "if_earlier": {"type": "bool", "default": False},
        },
        required_if=[("state", "begin", ("phase", "run_id")), ("state", "complete", ("phase", "run_id")),
                     ("state", "failed", ("phase", "run_id")), ("state", "restore", ("record", "run_id"))],
        supports_check_mode=True,
    )
    try:
        result = execute(module.params, module.check_mode)
    except (StateError, FileProblem) as exc:
        module.fail_json(msg=str(exc))
    except (OSError, IOError) as exc:
        module.fail_json(msg="cannot read or write the upgrade state %s: %s" % (module.params["path"], exc))
    # the module edge: never a traceback
    except Exception as exc:  # pylint: disable=broad-except
        module.fail_json(msg="upgrade state %s: unexpected error: %s: %s" % (module.params["path"],
                                                                             type(exc).__name__, exc))
    if not module._diff:
        result.pop("diff", None)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
