#!/usr/bin/python
# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Back up, verify and restore /boot with checksums."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: boot_backup
short_description: Back up the whole of /boot with a SHA-256 manifest, verify and restore it
version_added: 0.1.0
description:
  - Archives every entry under O(src) (kernels, initramfs, boot loader
    configuration, C(grubenv), loader entries, an EFI tree mounted below it,
    whatever its vendor folder) into C(boot.tar) in O(dest), with
    C(manifest.json) holding each entry's type, mode, owner, size and SHA-256
    and the archive's own SHA-256.
  - C(state=backed_up) takes the backup. An existing intact backup is kept
    (C(changed=false)) even when O(src) changed since, so a rerun after a
    kernel update never overwrites the good copy; O(force=true) takes a new one.
  - C(state=verified) checks the archive against the manifest and compares
    O(src) with it; it fails when the archive is damaged or O(src) differs.
  - C(state=restored) verifies the archive first (a damaged backup changes
    nothing), then rewrites changed and missing entries and removes extra
    ones, so O(src) matches the backup exactly, and verifies again.
  - C(state=absent) removes the backup.
  - When O(dest) lies inside O(src) it is left out of the backup and never
    touched by a restore.
author:
  - fuel.lifecycle maintainers (@fuel-lifecycle)
options:
  state:
    description: What to do with the backup.
    type: str
    choices: [backed_up, restored, verified, absent]
    default: backed_up
  src:
    description: The tree to back up.
    type: path
    default: /boot
  dest:
    description:
      - Directory holding the backup. Take the backup B(before) the LVM
        snapshot set (M(fuel.lifecycle.lvm_snapshot)); then the backup is in
        the origin and in the snapshot alike and survives both a commit and
        a merge of the root volume.
    type: path
    default: /var/lib/fuel-lifecycle/boot-backup
  force:
    description: With O(state=backed_up), replace an existing backup.
    type: bool
    default: false
extends_documentation_fragment:
  - fuel.lifecycle._attributes
  - fuel.lifecycle._attributes.PLATFORM
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - With O(state=restored), the paths that differ from the backup.
  platform:
    platforms: [debian, redhat]
"""

EXAMPLES = r"""
- name: Back up /boot before the snapshots are taken
  fuel.lifecycle.boot_backup:
    state: backed_up

- name: Roll back /boot before the reboot that completes the LVM merge
  fuel.lifecycle.boot_backup:
    state: restored

- name: After the reboot, prove /boot is what was backed up
  fuel.lifecycle.boot_backup:
    state: verified
"""

RETURN = r"""
manifest:
  description: Summary of the backup.
  returned: unless state is absent
  type: dict
  sample: {src: /boot, dest: /var/lib/fuel-lifecycle/boot-backup, created: 1790000000, entries: 312,
           bytes: 71234567, archive_sha256: 3f0c...}
differences:
  description: Paths of O(src) that differ from the backup (before a restore, what it fixes).
  returned: unless state is absent
  type: dict
  sample: {changed: [vmlinuz-6.1.0-27-cloud-amd64], missing: [], extra: [vmlinuz-9.9.9]}
matches_source:
  description: Whether O(src) matches the backup (after the operation).
  returned: unless state is absent
  type: bool
removed:
  description: Files removed (state=absent).
  returned: when state is absent
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.fuel.lifecycle.plugins.module_utils._boot_backup import BackupError, BootBackup, diff_text
from ansible_collections.fuel.lifecycle.plugins.module_utils._files import FileProblem


def main():
    module = AnsibleModule(
        argument_spec={
            "state": {"type": "str", "default": "backed_up", "choices": ["backed_up", "restored", "verified", "absent"]},
            "src": {"type": "path", "default": "/boot"},
            "dest": {"type": "path", "default": "/var/lib/fuel-lifecycle/boot-backup"},
            "force": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    params = module.params
    try:
        backup = BootBackup(params["src"], params["dest"], check_mode=module.check_mode)
        state = params["state"]
        if state == "backed_up":
            result = backup.backed_up(force=params["force"])
        elif state == "restored":
            result = backup.restored()
            if module._diff and result["changed"]:  # pylint: disable=protected-access
                result["diff"] = diff_text(result["differences"], params["src"])
        elif state == "verified":
            result = backup.verified()
            if not result["matches_source"]:
                module.fail_json(msg="%s differs from its backup in %s" % (params["src"], params["dest"]), **result)
        else:
            result = backup.absent()
    except BackupError as exc:
        module.fail_json(msg=str(exc), **exc.details)
    except FileProblem as exc:
        module.fail_json(msg=str(exc), path=exc.path)
    except (OSError, IOError) as exc:
        module.fail_json(msg="%s (src %s, dest %s): %s" % (params["state"], params["src"], params["dest"], exc))
    # the module edge: never a traceback
    except Exception as exc:  # pylint: disable=broad-except
        module.fail_json(msg="%s (src %s, dest %s): unexpected error: %s: %s" % (
            params["state"], params["src"], params["dest"], type(exc).__name__, exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
