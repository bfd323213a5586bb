# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compare two package lists (before and after an update)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

DOCUMENTATION = r"""
name: package_changes
short_description: What changed between two package lists
version_added: 0.1.0
description:
  - Takes two lists of C("NAME VERSION") lines (for example the output of
    C(rpm -qa --qf '%{NAME} %{EPOCHNUM}:%{VERSION}-%{RELEASE}.%{ARCH}\n'))
    and returns the packages installed, removed and changed.
positional: after
options:
  _input:
    description: The list before.
    type: list
    elements: str
    required: true
  after:
    description: The list after.
    type: list
    elements: str
    required: true
author:
  - fuel.lifecycle maintainers (@fuel-lifecycle)
"""

EXAMPLES = r"""
- name: Packages the update changed
  ansible.builtin.debug:
    msg: "{{ before_lines | fuel.lifecycle.package_changes(after_lines) }}"
"""

RETURN = r"""
_value:
  description:
    - C(installed) and C(removed) (lists of C({name, version})), C(changed)
      (list of C({name, before, after})) and C(count), the number of packages concerned.
  type: dict
"""


def _index(lines, which):
    if not isinstance(lines, (list, tuple)):
        raise AnsibleFilterError("package_changes: the %s list must be a list of 'NAME VERSION' lines" % which)
    index = {}
    for line in lines:
        parts = str(line).split()
        if not parts:
            continue
        if len(parts) != 2:
            raise AnsibleFilterError("package_changes: %s line %r is not 'NAME VERSION'" % (which, line))
        index.setdefault(parts[0], []).append(parts[1])
    return {name: " ".join(sorted(versions)) for name, versions in index.items()}


def package_changes(before, after):
    old, new = _index(before, "before"), _index(after, "after")
    installed = [{"name": n, "version": new[n]} for n in sorted(set(new) - set(old))]
    removed = [{"name": n, "version": old[n]} for n in sorted(set(old) - set(new))]
    changed = [{"name": n, "before": old[n], "after": new[n]} for n in sorted(set(old) & set(new))
               if old[n] != new[n]]
    return {"installed": installed, "removed": removed, "changed": changed,
            "count": len(installed) + len(removed) + len(changed)}


class FilterModule:  # pylint: disable=too-few-public-methods
    """package_changes."""

    def filters(self):
        return {"package_changes": package_changes}
