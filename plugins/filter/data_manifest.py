# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A data manifest (path -> type, checksum, size, mode, owner) from the files ansible.builtin.find returned."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

DOCUMENTATION = r"""
name: data_manifest
short_description: Manifest of data files from the result of ansible.builtin.find
version_added: 0.2.0
description:
  - Takes the C(files) list of M(ansible.builtin.find) (run with C(get_checksum=true),
    C(recurse=true), C(file_type=any)) and returns a mapping of each path to a line
    with its type, SHA-1 checksum (files), size (files), mode, owner and group, or
    link target. Times are left out, what counts is the content.
  - The manifest is what M(ansible.builtin.copy) saves before an upgrade and what
    P(fuel.lifecycle.data_manifest_changes#filter) compares after it.
options:
  _input:
    description: The C(files) of a M(ansible.builtin.find) result.
    type: list
    elements: dict
    required: true
author:
  - fuel.lifecycle maintainers (@fuel-lifecycle)
"""

EXAMPLES = r"""
- name: Save the manifest of the database directory
  ansible.builtin.copy:
    content: "{{ found.files | fuel.lifecycle.data_manifest | to_nice_json }}"
    dest: /var/lib/fuel-lifecycle/data-before.json
    mode: "0600"
"""

RETURN = r"""
_value:
  description: Path to C("<type> <checksum> <size> <mode> <uid>:<gid>") (C("link -> target") for links).
  type: dict
"""


def _kind(entry):
    if entry.get("islnk"):
        return "link"
    if entry.get("isdir"):
        return "dir"
    if entry.get("isreg"):
        return "file"
    return "other"


def data_manifest(found):
    if not isinstance(found, (list, tuple)):
        raise AnsibleFilterError("data_manifest: expects the 'files' list of ansible.builtin.find")
    manifest = {}
    for entry in found:
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
            raise AnsibleFilterError("data_manifest: entry %r has no path" % (entry,))
        kind = _kind(entry)
        if kind == "link":
            manifest[entry["path"]] = "link -> %s" % entry.get("lnk_target", entry.get("lnk_source", "?"))
            continue
        if kind == "file" and not entry.get("checksum"):
            raise AnsibleFilterError("data_manifest: %s has no checksum (run find with get_checksum: true)"
                                     % entry["path"])
        manifest[entry["path"]] = "%s %s %s %s %s:%s" % (
            kind, entry.get("checksum", "-") if kind == "file" else "-",
            entry.get("size", "-") if kind == "file" else "-", entry.get("mode", "?"),
            entry.get("uid", "?"), entry.get("gid", "?"))
    return manifest


class FilterModule:  # pylint: disable=too-few-public-methods
    """data_manifest."""

    def filters(self):
        return {"data_manifest": data_manifest}
