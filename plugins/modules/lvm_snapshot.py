#!/usr/bin/python
# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Create, inspect, commit and roll back LVM snapshot sets."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: lvm_snapshot
short_description: LVM snapshot sets identified by a tag (create, list, check, commit, revert)
version_added: 0.1.0
description:
  - Manages a I(snapshot set), classic copy-on-write LVM snapshots of several
    logical volumes taken together before a risky change, so that the change
    can be committed (snapshots removed) or rolled back (snapshots merged).
  - Set membership is the LVM tag C(fuel_snapset_<name>) on every member,
    plus C(fuel_snapset_<name>_n<count>) recording the member count; snapshot
    names are cosmetic (C(<origin>_<name>_snap)).
  - C(state=present) computes every size (absolute, C(N%ORIGIN) or C(N%FREE),
    rounded up to whole extents), sums the sizes per volume group and fails
    with a per-VG report B(before creating anything) when a VG lacks free space.
    A complete set gives C(changed=false); a partial set is completed. A new
    set first clears the C(fuel_snapset_<name>_reverted) tags an earlier
    rollback of the same name left on its origins.
  - C(state=listed) reports every member with origin, size, fill percentage and
    validity; C(state=checked) reports the same and fails when the set is
    empty, incomplete, has an invalid (overflowed) member or a member above
    O(fill_threshold).
  - C(state=absent) commits the change by removing every member, and after a rollback removes
    tagged volumes the merge left behind; idempotent.
  - C(state=reverted) rolls back by merging every member into its origin. It
    refuses, merging nothing, when the set is empty, incomplete or has an
    invalid member. When an origin is in use (C(/), C(/var)) LVM delays the
    merge to the next activation; RV(reboot_required) is then true.
  - Each origin whose merge C(state=reverted) started carries the tag
    C(fuel_snapset_<name>_reverted) until a new set of that name is taken, so
    a rollback interrupted after C(state=absent) removed the merged set runs
    again as RV(already_merged) instead of refusing an empty set.
  - Commands run as C(lvs)/C(vgs --reportformat json --units b) with C(LC_ALL=C).
author:
  - fuel.lifecycle maintainers (@fuel-lifecycle)
options:
  name:
    description:
      - Name of the snapshot set (letters, digits, C(_ + . -)); it becomes part of the member tag.
    type: str
    required: true
  state:
    description:
      - C(present) creates (or completes) the set, C(absent) removes it (commit),
        C(reverted) merges it back (rollback), C(listed) and C(checked) only read
        (C(checked) fails when the set is not sound).
    type: str
    choices: [present, absent, reverted, listed, checked]
    default: present
  volumes:
    description:
      - The origins to snapshot. Required with O(state=present); with
        O(state=reverted) it is optional and, when given, every listed origin
        must have a member.
    type: list
    elements: dict
    suboptions:
      vg:
        description: Volume group of the origin.
        type: str
        required: true
      lv:
        description: Origin logical volume.
        type: str
        required: true
      size:
        description:
          - Snapshot size, rounded up to whole extents. An absolute LVM size
            (C(512M), C(2G), C(1073741824b); 1024-based, a bare number is MiB),
            C(N%ORIGIN) (of the origin's size) or C(N%FREE) (of the VG's free
            space before the set is created).
        type: str
        required: true
      receives:
        description:
          - What of the planned transaction (O(transaction_output)) lands on
            this volume, C(installed) (the packages' installed size, the root
            volume) and/or C(download) (the downloaded packages, the volume of
            C(/var/cache)). The member must hold O(transaction_factor) times
            that, or the set is refused.
        type: list
        elements: str
        choices: [installed, download]
        default: []
  transaction_output:
    description:
      - With O(state=present), the output of the package manager's plan for
        the update (for instance C(dnf --assumeno upgrade)). Its C(Total
        download size) and C(Installed size) size the members that receive
        them (O(volumes[].receives)); a member too small is refused with the
        numbers, before anything is created.
    type: str
  transaction_factor:
    description: Margin over the transaction's sizes a receiving member must hold (1 to 100).
    type: float
    default: 1.5
  require_autoextend:
    description:
      - With O(state=present), refuse unless LVM itself extends the snapshots
        (C(lvmconfig) shows C(activation/monitoring=1),
        C(snapshot_autoextend_threshold) below 100 and
        C(snapshot_autoextend_percent) above 0) and, after creation, dmeventd
        monitors every member. Without it the state is only reported in
        RV(autoextend).
    type: bool
    default: false
  fill_threshold:
    description:
      - With O(state=checked), a member filled above this percentage fails the check.
    type: float
    default: 80
  merge_timeout:
    description:
      - With O(state=absent), seconds to wait for merges the kernel is running (a
        rollback after its reboot). LVM is asked to poll them (C(vgchange --poll y)),
        because it removes a merged snapshot only when it polls and the early-boot
        activation of the root and /var volumes does not. C(0) fails at once while
        a merge runs. A merge still waiting for its origin's next activation always
        fails (reboot first).
    type: int
    default: 300
extends_documentation_fragment:
  - fuel.lifecycle._attributes
  - fuel.lifecycle._attributes.PLATFORM
attributes:
  check_mode:
    support: full
    details:
      - Computes sizes, preflight and the commands that would run (RV(commands)) without running them.
  diff_mode:
    support: none
  platform:
    platforms: [debian, redhat]
notes:
  - Take the /boot backup (M(fuel.lifecycle.boot_backup)) B(before) the snapshots, so the backup
    exists in the snapshotted file systems too and survives a merge.
  - Classic snapshots fill up as the origin changes; an overflowed snapshot is invalid and cannot be
    merged. Size them for the change you expect and watch them with O(state=checked).
"""

EXAMPLES = r"""
- name: Take the snapshot set before the upgrade
  fuel.lifecycle.lvm_snapshot:
    name: upgrade
    volumes:
      - {vg: os, lv: root, size: 50%ORIGIN}
      - {vg: os, lv: var, size: 512M}
      - {vg: os, lv: varlog, size: 10%FREE}

- name: Fail when a snapshot is invalid or more than 70 % full
  fuel.lifecycle.lvm_snapshot:
    name: upgrade
    state: checked
    fill_threshold: 70

- name: Commit the upgrade
  fuel.lifecycle.lvm_snapshot:
    name: upgrade
    state: absent

- name: After the rollback's reboot, wait for the merges and remove what is left of the set
  fuel.lifecycle.lvm_snapshot:
    name: upgrade
    state: absent
    merge_timeout: 900

- name: Roll back
  fuel.lifecycle.lvm_snapshot:
    name: upgrade
    state: reverted
  register: revert

- name: Reboot to complete the merge of origins in use
  ansible.builtin.reboot:
  when: revert.reboot_required
"""

RETURN = r"""
transaction:
  description: Download and installed size of the planned transaction read from O(transaction_output) (null without it).
  returned: when state is present
  type: dict
  sample: {download_bytes: 125829120, installed_bytes: 419430400}
transaction_needs:
  description: Per receiving member, its planned size and what it needs for the transaction.
  returned: when state is present
  type: list
  elements: dict
autoextend:
  description:
    - LVM's own protection read with C(lvmconfig) (monitoring, threshold,
      percent, effective, and why not when it is not).
  returned: when state is present
  type: dict
  sample: {available: true, monitoring: true, threshold: 70, percent: 20, effective: true, reason: null}
snapshots:
  description: Members of the set after the operation (for C(absent), none).
  returned: always
  type: list
  elements: dict
  sample:
    - {name: root_upgrade_snap, vg: os, origin: root, size_bytes: 943718400, fill_percent: 3.2,
       valid: true, merging: false, origin_open: true, path: /dev/os/root_upgrade_snap,
       tags: [fuel_snapset_upgrade, fuel_snapset_upgrade_n3]}
preflight:
  description: Per volume group, the free space and what the missing members need (state=present).
  returned: when state is present
  type: list
  elements: dict
  sample:
    - {vg: os, free_bytes: 1098907648, extent_bytes: 4194304, required_bytes: 1262485504,
       short_bytes: 163577856, ok: false, volumes: [{lv: root, size: 50%ORIGIN, bytes: 943718400}]}
created:
  description: Snapshots created (or that would be, in check mode).
  returned: when state is present
  type: list
  elements: str
removed:
  description: Snapshots removed (state=absent).
  returned: when state is absent
  type: list
  elements: str
merges_finished:
  description: Members whose running merge was polled and waited for until it finished (state=absent).
  returned: when state is absent
  type: list
  elements: str
merged:
  description: Snapshots whose merge was started (state=reverted).
  returned: when state is reverted
  type: list
  elements: str
already_merged:
  description: >-
    Origins whose merge an earlier run of O(state=reverted) started and which no longer have members
    (the rollback ran to its end or was interrupted after O(state=absent)); nothing was merged again.
  returned: when state is reverted
  type: list
  elements: str
reboot_required:
  description: True when a merge waits for the origin's next activation (origin in use).
  returned: when state is reverted
  type: bool
complete:
  description: Whether the set has every member it was created with (listed/checked).
  returned: when state is listed or checked
  type: bool
valid:
  description: Whether no member is invalid (listed/checked).
  returned: when state is listed or checked
  type: bool
problems:
  description: Why the set would fail O(state=check) (listed/checked).
  returned: when state is listed or checked
  type: list
  elements: str
commands:
  description: The changing LVM commands run (or planned in check mode), as argv lists.
  returned: when state is present, absent or reverted
  type: list
  elements: list
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.fuel.lifecycle.plugins.module_utils._lvm import LvmError, SnapshotSet, module_runner
from ansible_collections.fuel.lifecycle.plugins.module_utils._runner import MissingCommand


def main():
    module = AnsibleModule(
        argument_spec={
            "name": {"type": "str", "required": True},
            "state": {"type": "str", "default": "present", "choices": ["present", "absent", "reverted", "listed", "checked"]},
            "volumes": {"type": "list", "elements": "dict", "options": {
                "vg": {"type": "str", "required": True},
                "lv": {"type": "str", "required": True},
                "size": {"type": "str", "required": True},
                "receives": {"type": "list", "elements": "str", "default": [], "choices": ["installed", "download"]},
            }},
            "transaction_output": {"type": "str"},
            "transaction_factor": {"type": "float", "default": 1.5},
            "require_autoextend": {"type": "bool", "default": False},
            "fill_threshold": {"type": "float", "default": 80},
            "merge_timeout": {"type": "int", "default": 300},
        },
        required_if=[("state", "present", ["volumes"])],
        supports_check_mode=True,
    )

    params = module.params
    try:
        snapset = SnapshotSet(module_runner(module), params["name"], check_mode=module.check_mode)
        state = params["state"]
        if state == "present":
            result = snapset.present(params["volumes"], params["transaction_output"], params["transaction_factor"],
                                     params["require_autoextend"])
        elif state == "absent":
            if params["merge_timeout"] < 0:
                module.fail_json(msg="merge_timeout: must be 0 or more seconds, got %d" % params["merge_timeout"])
            result = snapset.absent(params["merge_timeout"])
        elif state == "reverted":
            result = snapset.reverted(params["volumes"])
        else:
            result = snapset.status(params["fill_threshold"] if state == "checked" else None)
            result["changed"] = False
            if state == "checked" and result["problems"]:
                module.fail_json(msg="snapshot set %r failed the check: %s" % (
                    params["name"], "; ".join(result["problems"])), **result)
    except LvmError as exc:
        module.fail_json(msg=str(exc), **exc.details)
    except MissingCommand as exc:
        module.fail_json(msg=str(exc))
    # the module edge: never a traceback
    except Exception as exc:  # pylint: disable=broad-except
        module.fail_json(msg="snapshot set %r (state %s): unexpected error: %s: %s" % (
            params["name"], params["state"], type(exc).__name__, exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
