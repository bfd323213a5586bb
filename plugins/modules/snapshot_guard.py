#!/usr/bin/python
# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a command while an LVM snapshot set is watched, and stop it before a snapshot fills."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: snapshot_guard
short_description: Run a command while watching an LVM snapshot set, stopping it before a snapshot fills
version_added: 0.1.0
description:
  - Runs O(argv) (a package transaction, typically) and samples the fill of every
    member of the snapshot set O(name) (see M(fuel.lifecycle.lvm_snapshot)) every
    O(interval) seconds while it runs.
  - When a member is filled above O(fill_threshold) percent, or is invalid, the
    command's process group gets C(SIGTERM), then C(SIGKILL) after O(grace)
    seconds, and the module fails with RV(aborted) saying which member. When
    every member is still valid, the message says so (the host is half-changed
    and a rollback restores it). When a member overflowed (RV(overflowed)), the
    message says a rollback is impossible and names the way forward (the
    master upgrade's C(recover) phase); it never says both.
  - "The guard is the last line of protection: size the set from the
    transaction and let LVM autoextend it (M(fuel.lifecycle.lvm_snapshot)
    O(fuel.lifecycle.lvm_snapshot#module:transaction_output),
    O(fuel.lifecycle.lvm_snapshot#module:require_autoextend)); a write burst
    between two samples can still overflow a member."
  - The set is checked before the command starts; nothing runs when it is already
    unsound (missing, incomplete, invalid or above the threshold).
  - The command runs without a shell, in its own session, with C(LC_ALL=C).
author:
  - fuel.lifecycle maintainers (@fuel-lifecycle)
options:
  argv:
    description: The command and its arguments.
    type: list
    elements: str
    required: true
  name:
    description: Name of the snapshot set to watch.
    type: str
    required: true
  fill_threshold:
    description: Fill percentage of a member above which the command is stopped.
    type: float
    default: 80
  interval:
    description: Seconds between two samples of the set.
    type: float
    default: 2
  timeout:
    description: Seconds after which the command is stopped; C(0) waits as long as it runs.
    type: int
    default: 0
  grace:
    description: Seconds between C(SIGTERM) and C(SIGKILL) when the command is stopped.
    type: int
    default: 30
  changed_unless:
    description:
      - A text which, found in the command's standard output, means nothing changed
        (for instance C(Nothing to do.) for dnf). Without it a successful run is a change.
    type: str
extends_documentation_fragment:
  - fuel.lifecycle._attributes
  - fuel.lifecycle._attributes.PLATFORM
attributes:
  check_mode:
    support: partial
    details:
      - The set is checked, the command does not run; the result is reported as changed.
  diff_mode:
    support: none
  platform:
    platforms: [debian, redhat]
notes:
  - Size the snapshots for the transaction; the guard turns an overflow into a
    stopped transaction that can be rolled back, it does not make room.
"""

EXAMPLES = r"""
- name: Update every package, stopping before a snapshot of the set passes 80 %
  fuel.lifecycle.snapshot_guard:
    name: master-upgrade
    argv: [dnf, --assumeyes, upgrade]
    fill_threshold: 80
    changed_unless: Nothing to do.
  register: update
"""

RETURN = r"""
rc:
  description: Exit status of the command (negative when a signal ended it).
  returned: when the command ran
  type: int
stdout:
  description: Standard output of the command (its last 64 KiB).
  returned: when the command ran
  type: str
stderr:
  description: Standard error of the command (its last 64 KiB).
  returned: when the command ran
  type: str
aborted:
  description: Why the command was stopped (the member and its fill, or the timeout); null when it was not.
  returned: when the command ran
  type: str
overflowed:
  description:
    - Members seen invalid (overflowed) while or after the command ran; when
      not empty a rollback is impossible and the message says so (never
      "still valid" at the same time).
  returned: when the command ran or the set was refused
  type: list
  elements: str
pid:
  description: Process id of the command (the leader of its own process group).
  returned: when the command ran
  type: int
peak_fill:
  description: Highest fill percentage seen per member while the command ran.
  returned: always
  type: dict
  sample: {"os/root_master-upgrade_snap": 41.2, "os/var_master-upgrade_snap": 12.5}
samples:
  description: How many times the set was sampled.
  returned: when the command ran
  type: int
seconds:
  description: How long the command ran.
  returned: when the command ran
  type: float
cmd:
  description: The command.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.fuel.lifecycle.plugins.module_utils._lvm import LvmError, SnapshotSet, module_runner
from ansible_collections.fuel.lifecycle.plugins.module_utils._runner import MissingCommand
from ansible_collections.fuel.lifecycle.plugins.module_utils._snapshot_guard import (
    run_guarded, stopped_message, verdict)


def main():
    module = None
    try:
        module = _module()
        guard(module)
    # the module edge: never a traceback
    except Exception as exc:  # pylint: disable=broad-except
        if module is None:
            raise
        module.fail_json(msg="snapshot_guard %r: unexpected error: %s: %s"
                         % (module.params["name"], type(exc).__name__, exc))


def _module():
    return AnsibleModule(
        argument_spec={
            "argv": {"type": "list", "elements": "str", "required": True},
            "name": {"type": "str", "required": True},
            "fill_threshold": {"type": "float", "default": 80},
            "interval": {"type": "float", "default": 2},
            "timeout": {"type": "int", "default": 0},
            "grace": {"type": "int", "default": 30},
            "changed_unless": {"type": "str"},
        },
        supports_check_mode=True,
    )


def guard(module):
    params = module.params
    argv = params["argv"]
    if not argv or not argv[0]:
        module.fail_json(msg="argv: the command is empty")
    for field, low in (("fill_threshold", 0), ("interval", 0.1), ("timeout", 0), ("grace", 0)):
        if not params[field] >= low:  # NaN fails too
            module.fail_json(msg="%s: must be at least %s, got %s" % (field, low, params[field]))
    if not params["fill_threshold"] < 100:
        module.fail_json(msg="fill_threshold: must be below 100 (a full snapshot is already lost), got %s"
                         % params["fill_threshold"])

    try:
        SnapshotSet(None, params["name"])
    except LvmError as exc:
        module.fail_json(msg=str(exc), cmd=argv)
    runner = module_runner(module)
    snapset = SnapshotSet(runner, params["name"])

    def read_views():
        return snapset.members()[1]

    try:
        executable = runner.binary(argv[0], purpose="run the guarded command")
        state = snapset.status(params["fill_threshold"])
    except MissingCommand as exc:
        module.fail_json(msg="argv: %s" % exc, cmd=argv)
    except LvmError as exc:
        module.fail_json(msg=str(exc), cmd=argv, **exc.details)
    peak = dict(("%s/%s" % (v["vg"], v["name"]), v["fill_percent"] or 0.0) for v in state["snapshots"])
    if state["problems"]:
        overflowed = verdict(state["snapshots"], params["fill_threshold"])[1]
        module.fail_json(msg="not running %s: snapshot set %r is not sound: %s%s" % (
            argv[0], params["name"], "; ".join(state["problems"]),
            " (overflowed: a rollback is impossible, see phase=recover)" if overflowed else ""),
            cmd=argv, peak_fill=peak, overflowed=overflowed)
    if module.check_mode:
        module.exit_json(changed=True, cmd=argv, peak_fill=peak, msg="check mode: the command did not run")

    try:
        result = run_guarded([executable] + list(argv[1:]), read_views, params["fill_threshold"],
                             interval=params["interval"], timeout=params["timeout"], grace=params["grace"])
    except LvmError as exc:
        module.fail_json(msg="reading the snapshot set failed while %s ran (it was stopped): %s" % (argv[0], exc),
                         cmd=argv)
    result["cmd"] = argv
    if result["aborted"]:
        module.fail_json(msg=stopped_message(argv[0], result["aborted"], result["overflowed"]), changed=True,
                         **result)
    if result["rc"] != 0:
        module.fail_json(msg="%s failed with rc %d" % (argv[0], result["rc"]), changed=True, **result)
    unless = params["changed_unless"]
    result["changed"] = not (unless and unless in result["stdout"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
