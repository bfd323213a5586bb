#!/usr/bin/python
# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Report the repositories and APT pins configured on a host."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: repo_info
short_description: Report the package repositories and APT pins of a host
version_added: 0.1.0
description:
  - Reads yum/dnf C(.repo) files, APT one-line and deb822 sources, and APT
    preferences, and reports every repository with its priority or pin.
  - Credentials embedded in repository URLs are masked in the result.
  - Read-only; always returns C(changed=false).
author:
  - fuel.lifecycle maintainers (@fuel-lifecycle)
options:
  root:
    description:
      - Directory the configuration paths are read under, for inspecting a
        mounted or chrooted system.
    type: path
    default: /
extends_documentation_fragment:
  - fuel.lifecycle._attributes
  - fuel.lifecycle._attributes.INFO_MODULE
  - fuel.lifecycle._attributes.PLATFORM
attributes:
  platform:
    platforms: [debian, redhat]
"""

EXAMPLES = r"""
- name: Read the repositories of every node
  fuel.lifecycle.repo_info:
  register: repos

- name: Show enabled repositories
  ansible.builtin.debug:
    msg: "{{ repos.repositories | selectattr('enabled') | map(attribute='name') | list }}"
"""

RETURN = r"""
repositories:
  description: Every repository found, in file order.
  returned: always
  type: list
  elements: dict
  sample:
    - {type: rpm, name: vendor, file: /etc/yum.repos.d/vendor.repo, enabled: true,
       uri: "http://mirror/vendor/", priority: 50, gpgcheck: true}
    - {type: deb, name: vendor.list, file: /etc/apt/sources.list.d/vendor.list, enabled: true,
       uri: "http://mirror/vendor", suite: mos9.0, section: main, signed_by: /etc/apt/keyrings/vendor.gpg}
pins:
  description: APT pin stanzas from C(/etc/apt/preferences.d).
  returned: always
  type: list
  elements: dict
  sample:
    - {file: /etc/apt/preferences.d/vendor.pref, package: "*", pin: "release o=vendor", priority: 1050}
"""

import traceback

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.fuel.lifecycle.plugins.module_utils._files import FileProblem
from ansible_collections.fuel.lifecycle.plugins.module_utils._repo_files import read_host_repositories


def main():
    module = AnsibleModule(argument_spec={"root": {"type": "path", "default": "/"}}, supports_check_mode=True)
    try:
        repositories, pins = read_host_repositories(module.params["root"])
    except FileProblem as exc:
        module.fail_json(msg="cannot read the repository configuration: %s" % exc, path=exc.path)
    except Exception as exc:  # pylint: disable=broad-except
        module.fail_json(msg="repo_info: unexpected error: %s" % exc, exception=traceback.format_exc())
    module.exit_json(changed=False, repositories=repositories, pins=pins)


if __name__ == "__main__":
    main()
