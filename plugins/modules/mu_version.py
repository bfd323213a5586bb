#!/usr/bin/python
# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Installed and available maintenance-update records of a node."""

from __future__ import annotations

DOCUMENTATION = r"""
module: mu_version
short_description: Read, compare and record maintenance-update (MU) records
version_added: 0.1.0
description:
  - Reads the installed MU record of a node (by default C(/etc/fuel/mu-version.json)).
  - When O(mirror_url) (or O(url)) is set, fetches the available record from
    C(<mirror_url>/mcv/mos/<release>/mu-version.json) and compares both by C(id).
  - Every record is validated; C(id) integer >= 0, C(title) non-empty string,
    C(timestamp) integer epoch, optional C(doc_link) http(s) URL; unknown fields are kept.
  - With O(state=present) records a new installed record atomically, adding
    C(installed_at), and writes a local fact file so fact caches (AWX) show it.
  - A malformed or oversized record, an HTTP error or an unreachable mirror fails
    the task before anything is written.
author:
  - fuel.lifecycle maintainers (@fuel-lifecycle)
options:
  path:
    description: Installed record on the node.
    type: path
    default: /etc/fuel/mu-version.json
  mirror_url:
    description:
      - Base URL of the mirror; the available record is read from
        C(<mirror_url>/mcv/mos/<release>/mu-version.json). Empty skips the fetch.
    type: str
    default: ""
  release:
    description: Release directory of the record on the mirror.
    type: str
    default: "9.0"
  url:
    description: Full URL of the available record; overrides O(mirror_url) and O(release).
    type: str
    default: ""
  validate_certs:
    description: Verify the TLS certificate of the mirror.
    type: bool
    default: true
  use_proxy:
    description: Use the proxy from the environment (C(https_proxy) etc.).
    type: bool
    default: true
  timeout:
    description: Seconds to wait for the mirror.
    type: int
    default: 10
  max_bytes:
    description: Largest accepted body of the available record.
    type: int
    default: 65536
  state:
    description:
      - V(query) only reads. V(present) records O(record), or the available
        record when O(record) is not given, as installed.
    type: str
    choices: [query, present]
    default: query
  record:
    description: Record to install with O(state=present); validated like a fetched one.
    type: dict
  fact_path:
    description: Local fact file written with O(state=present); empty writes none.
    type: path
    default: /etc/ansible/facts.d/fuel_mu.fact
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
notes:
  - Read-only unless O(state=present).
"""

EXAMPLES = r"""
- name: Compare the installed MU with the mirror's
  fuel.lifecycle.mu_version:
    mirror_url: http://mirror.example.com
    release: "9.0"
  register: mu

- name: Record the MU after a successful install
  fuel.lifecycle.mu_version:
    state: present
    record: "{{ mu.mu_available }}"
"""

RETURN = r"""
mu_installed:
  description: Installed record, or null when no MU is installed.
  returned: always
  type: dict
  sample: {id: 1, title: Maintenance update 1, timestamp: 1767225600, installed_at: 1767300000.123}
mu_available:
  description: Record published by the mirror, or null when no mirror was asked.
  returned: always
  type: dict
  sample: {id: 2, title: Maintenance update 2, timestamp: 1769904000, doc_link: "https://docs.example.com/mu/2"}
mu_update_available:
  description: Whether the available record has a higher C(id) than the installed one.
  returned: always
  type: bool
mu_status:
  description: One of V(current), V(update-available), V(not-installed), V(ahead), V(unknown) (no mirror asked).
  returned: always
  type: str
url:
  description: URL the available record was read from.
  returned: when a mirror was asked
  type: str
"""

import json
import os
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import fetch_url
from ansible_collections.fuel.lifecycle.plugins.module_utils import _mu_version as mu


def read_installed(module, path):
    if not os.path.exists(path):
        return None, None
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
        return mu.parse_record(raw, "installed record %s" % path), raw.decode("utf-8")
    except (OSError, mu.RecordError) as exc:
        module.fail_json(msg=str(exc), path=path)
    return None, None


def fetch_available(module, url):
    resp, info = fetch_url(module, url, timeout=module.params["timeout"], method="GET")
    status = info.get("status", -1)
    if resp is None or status != 200:
        module.fail_json(msg="available record %s: HTTP %s %s" % (url, status, info.get("msg", "")), url=url)
    limit = module.params["max_bytes"]
    body = resp.read(limit + 1)
    try:
        mu.check_size(body, limit, "available record %s" % url)
        return mu.parse_record(body, "available record %s" % url)
    except mu.RecordError as exc:
        module.fail_json(msg=str(exc), url=url)
    return None


def write_atomic(module, path, content, mode):
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".mu-version.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content)
        os.chmod(tmp, mode)
        module.atomic_move(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def main():
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "default": "/etc/fuel/mu-version.json"},
            "mirror_url": {"type": "str", "default": ""},
            "release": {"type": "str", "default": "9.0"},
            "url": {"type": "str", "default": ""},
            "validate_certs": {"type": "bool", "default": True},
            "use_proxy": {"type": "bool", "default": True},
            "timeout": {"type": "int", "default": 10},
            "max_bytes": {"type": "int", "default": mu.DEFAULT_MAX_BYTES},
            "state": {"type": "str", "choices": ["query", "present"], "default": "query"},
            "record": {"type": "dict"},
            "fact_path": {"type": "path", "default": "/etc/ansible/facts.d/fuel_mu.fact"},
        },
        supports_check_mode=True,
    )
    params = module.params
    if params["max_bytes"] < 1:
        module.fail_json(msg="max_bytes: must be at least 1")
    wanted = None
    if params["record"] is not None:
        try:
            wanted = mu.validate_record(params["record"], "record")
        except mu.RecordError as exc:
            module.fail_json(msg=str(exc))
    url = params["url"]
    if not url and params["mirror_url"]:
        try:
            url = mu.available_url(params["mirror_url"], params["release"])
        except mu.RecordError as exc:
            module.fail_json(msg=str(exc))
    if params["state"] == "present" and wanted is None and not url:
        module.fail_json(msg="record: state=present needs a record or a mirror_url/url to take it from")

    installed, before_text = read_installed(module, params["path"])
    available = fetch_available(module, url) if url else None

    result = {"changed": False}
    if params["state"] == "present":
        wanted = wanted if wanted is not None else available
        if not mu.same_record(installed, wanted):
            record = dict(wanted, installed_at=round(time.time(), 3))
            text = mu.render(record)
            result["changed"] = True
            result["diff"] = {"before_header": params["path"], "after_header": params["path"],
                              "before": before_text or "", "after": text}
            if not module.check_mode:
                write_atomic(module, params["path"], text, 0o644)
                if params["fact_path"]:
                    write_atomic(module, params["fact_path"], json.dumps({"installed": record}, indent=2) + "\n",
                                 0o644)
            installed = record
    result.update(mu_installed=installed, mu_available=available,
                  mu_update_available=mu.update_available(installed, available),
                  mu_status=mu.status(installed, available))
    if url:
        result["url"] = url
    result["ansible_facts"] = {"mu_installed": installed, "mu_available": available,
                               "mu_update_available": result["mu_update_available"]}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
