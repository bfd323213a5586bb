#!/usr/bin/python
# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check that every repository of a set answers, and that required packages can be resolved."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: repo_check
short_description: Check repository connectivity, signatures and required packages before a change
version_added: 0.1.0
description:
  - For each repository of a set (the C(repo_setup) format of M(fuel.lifecycle.repo_priorities)),
    fetches its metadata from the host this module runs on, the way the package manager would
    C(repodata/repomd.xml) for rpm; C(InRelease), or C(Release), for deb, and checks that the
    suite and every section are there).
  - Optionally checks the metadata signature with C(gpgv), with APT's semantics (rpm
    C(repomd.xml.asc) against the O(repos[].gpgkey) keys; deb C(InRelease), or C(Release) with
    C(Release.gpg), against O(repos[].signed_by), or without it the keyrings APT trusts,
    C(/etc/apt/trusted.gpg) and C(/etc/apt/trusted.gpg.d/*.gpg|*.asc)). The metadata is valid
    when at least one of its signatures verifies with the keyring (gpgv's status output is read,
    not its exit code); armoured C(.asc) keyrings are dearmoured into a temporary keyring.
  - Every package index it reads is checked against the size and SHA256 hash of the signed
    C(InRelease) (fetched C(by-hash) when the Release says C(Acquire-By-Hash)) or against the
    checksum C(repomd.xml) gives for the primary metadata; a mismatch makes the repository invalid
    and its index is not used. Indexes are decompressed and parsed as they arrive, keeping only
    the packages asked for, so memory stays bounded.
  - For deb entries with a pin, reports when the pin (the one M(fuel.lifecycle.repo_priorities)
    writes, C(release n=<suite>) by default) would not match the repository's Release file, so
    the class's priority would silently not apply.
  - A suite or repository the server answers with 404 (or another 4xx) is C(invalid); a server
    that cannot be reached, or answers 5xx, is C(unreachable).
  - Resolves a list of required packages, optionally with version constraints, against the
    package indexes of the set and reports what is missing, with the versions the set has.
  - Read-only; always returns C(changed=false). Reports problems; fails only with O(fail_on_problem=true).
author:
  - fuel.lifecycle maintainers (@fuel-lifecycle)
options:
  packages:
    description:
      - Required packages, each C(NAME) or C(NAME OP VERSION) with OP one of C(=), C(>=), C(<=), C(>>), C(<<), C(>), C(<).
      - Versions are compared in rpm's or dpkg's order, depending on the kind of the repositories.
    type: list
    elements: str
    default: []
  package_manager:
    description:
      - Which entries to check. V(auto) checks every entry and resolves packages against the kind
        the entries share (an error when O(packages) is given and the set mixes rpm and deb).
    type: str
    choices: [auto, rpm, apt]
    default: auto
  verify_signatures:
    description: Check the signature of the repository metadata when a key is known.
    type: bool
    default: true
  architecture:
    description: APT architecture whose package index is read; default is the host's (C(dpkg --print-architecture)).
    type: str
  timeout:
    description:
      - Seconds one request may take in all, from connecting to the last byte (not per read).
    type: int
    default: 10
  verify_indexes:
    description:
      - Also download and verify the package indexes when O(packages) is empty (they are always
        verified when they are read).
    type: bool
    default: false
  validate_certs:
    description: Verify TLS certificates.
    type: bool
    default: true
  proxy:
    description:
      - Proxy URL for every request (rpm entries with their own O(repos[].proxy) use theirs).
      - Unset uses the C(http_proxy)/C(https_proxy) environment of the host.
    type: str
  fail_on_problem:
    description:
      - Fail the task when a repository is unreachable, invalid or a package is missing.
    type: bool
    default: false
notes:
  - Fetches C(http), C(https), C(file) and C(copy) URIs; an entry with another scheme is refused.
  - Redirects are followed up to urllib's bound (10); metadata files are capped at 16 MiB,
    an index at the size its signed metadata gives.
extends_documentation_fragment:
  - fuel.lifecycle._repo_set
  - fuel.lifecycle._attributes
  - fuel.lifecycle._attributes.INFO_MODULE
  - fuel.lifecycle._attributes.PLATFORM
attributes:
  platform:
    platforms: [debian, redhat]
seealso:
  - module: fuel.lifecycle.repo_priorities
"""

EXAMPLES = r"""
- name: Check the set before applying it; stop if anything is wrong
  fuel.lifecycle.repo_check:
    repos: "{{ repos_set }}"
    packages: [fuel-agent, "libfuel-common >= 1.2"]
    timeout: 5
    fail_on_problem: true

- name: Report only
  fuel.lifecycle.repo_check:
    repos:
      - {type: deb, name: vendor, uri: "http://mirror/deb/vendor", suite: mos9.0, section: main,
         signed_by: /etc/apt/keyrings/vendor.gpg}
  register: check

- name: Show what is missing
  ansible.builtin.debug:
    msg: "{{ check.unreachable_repos }} {{ check.missing_packages }}"
"""

RETURN = r"""
repos:
  description:
    - One result per checked repository. C(packages) counts the packages of its index, read only when
      O(packages) is given (or O(verify_indexes)). Deb entries also give C(release) (C(origin),
      C(label), C(suite), C(codename) of the Release file) and C(pin) (the pin checked against it).
  returned: always
  type: list
  elements: dict
  sample:
    - {name: vendor, type: deb, uri: "http://mirror/deb/vendor", reachable: true, metadata_url:
       "http://mirror/deb/vendor/dists/mos9.0/InRelease", signature: valid, packages: 3, problems: []}
    - {name: upstream, type: rpm, uri: "http://127.0.0.1:9/rpm/", reachable: false, signature: not_checked,
       packages: 0, problems: ["http://127.0.0.1:9/rpm/repodata/repomd.xml: Connection refused"]}
packages:
  description: Each required package with the versions and repositories that satisfy it.
  returned: always
  type: list
  elements: dict
  sample:
    - {requirement: "libfuel-common >= 1.2", name: libfuel-common, satisfied: true,
       found: [{repo: vendor, version: 1.2-0mos1}]}
unreachable_repos:
  description:
    - Names of the repositories whose metadata could not be fetched.
    - (Not called C(unreachable), a key Ansible reserves for hosts.)
  returned: always
  type: list
  elements: str
invalid_repos:
  description: Names of the repositories that answered but are wrong (suite, section, signature, metadata).
  returned: always
  type: list
  elements: str
missing_packages:
  description:
    - Requirements no repository of the set satisfies. The matching entry of RV(packages) lists under
      C(available) the versions of that name the set does have.
  returned: always
  type: list
  elements: str
ok:
  description: No problem found.
  returned: always
  type: bool
"""

import os
import traceback

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import open_url
from ansible_collections.fuel.lifecycle.plugins.module_utils import _repo_check as rc
from ansible_collections.fuel.lifecycle.plugins.module_utils import _repo_files as rf
from ansible_collections.fuel.lifecycle.plugins.module_utils import _repo_set as rs
from ansible_collections.fuel.lifecycle.plugins.module_utils._files import FileProblem
from ansible_collections.fuel.lifecycle.plugins.module_utils._runner import CommandRunner

PROXY_VARS = ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY")


def make_opener(module):
    """open_url with the module's TLS and proxy settings (an entry's own proxy and credentials first)."""
    params = module.params

    def opener(url, timeout, entry):
        entry = entry or {}
        proxy = entry.get("proxy") or params["proxy"]
        saved = dict((k, os.environ.get(k)) for k in PROXY_VARS)
        if proxy and proxy != "_none_":
            for key in PROXY_VARS:
                os.environ[key] = proxy
        try:
            return open_url(url, timeout=timeout, validate_certs=params["validate_certs"],
                            use_proxy=proxy != "_none_", url_username=entry.get("username"),
                            url_password=entry.get("password"), force_basic_auth=bool(entry.get("username")),
                            http_agent="fuel.lifecycle-repo_check", follow_redirects="safe")
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
    return opener


def run(module):
    params = module.params
    try:
        entries = rs.normalize([rs.entry_from_params(p) for p in params["repos"]])
    except rs.RepoSetError as exc:
        module.fail_json(msg=str(exc))
    for number, requirement in enumerate(params["packages"]):
        try:
            rc.parse_requirement(requirement)
        except ValueError as exc:
            module.fail_json(msg="packages[%d]: %s" % (number, exc))
    if params["timeout"] < 1 or params["timeout"] > 3600:
        module.fail_json(msg="timeout: %d is not between 1 and 3600 seconds" % params["timeout"])
    if params["architecture"] is not None and not rs._ARCH.match(params["architecture"]):  # pylint: disable=protected-access
        module.fail_json(msg="architecture: %r is not an architecture name" % params["architecture"])
    for entry in entries:
        scheme = (entry.get("uri") or "").split(":", 1)[0]
        if entry.get("uri") and scheme not in rc.FETCHED_SCHEMES:
            module.fail_json(msg="repos (%s): field 'uri': scheme %s is not fetched by repo_check (%s are)"
                             % (entry["name"], scheme, ", ".join(rc.FETCHED_SCHEMES)))
    manager = params["package_manager"]
    if manager != "auto":
        entries = [e for e in entries if (e["type"] == "rpm") == (manager == "rpm")]
    kinds = set("rpm" if e["type"] == "rpm" else "deb" for e in entries)
    if params["packages"] and len(kinds) > 1:
        module.fail_json(msg="package_manager: the set mixes rpm and deb entries; say which to resolve packages in")
    runner = CommandRunner(module)
    arch = params["architecture"]
    if not arch and "deb" in kinds:
        dpkg = runner.binary("dpkg", required=False)
        arch = runner([dpkg, "--print-architecture"])[1].strip() if dpkg else ""
        arch = arch if rs._ARCH.match(arch or "") else "amd64"  # pylint: disable=protected-access

    try:
        known = rf.yum_baseurls() if any(e["type"] == "rpm" and not e["uri"] for e in entries) else {}
    except FileProblem as exc:
        module.fail_json(msg=str(exc), path=exc.path)
    for entry in entries:
        if entry["type"] == "rpm" and not entry["uri"]:
            entry["uri"] = known.get(entry["name"])
    tmp = rc.make_tmp()
    try:
        checker = rc.Checker(rc.Fetcher(make_opener(module), params["timeout"]), runner, tmp,
                             packages=params["packages"], verify_signatures=params["verify_signatures"],
                             verify_indexes=params["verify_indexes"], arch=arch or "amd64")
        results, indexes = checker.run(entries)
    finally:
        rc.remove_tmp(tmp)
    packages = rc.resolve(params["packages"], indexes, kinds.pop() if kinds else "deb")
    unreachable = [r["name"] for r in results if not r["reachable"]]
    invalid = [r["name"] for r in results if r["reachable"] and (r["problems"] or r["signature"].startswith("invalid"))]
    missing = [p["requirement"] for p in packages if not p["satisfied"]]
    outcome = {"changed": False, "repos": results, "packages": packages, "unreachable_repos": unreachable,
               "invalid_repos": invalid, "missing_packages": missing, "ok": not (unreachable or invalid or missing)}
    if params["fail_on_problem"] and not outcome["ok"]:
        parts = []
        if unreachable:
            parts.append("unreachable: %s" % ", ".join(unreachable))
        if invalid:
            parts.append("invalid: %s" % ", ".join(invalid))
        if missing:
            unmet = [rc.describe_missing(p) for p in packages if not p["satisfied"]]
            parts.append("missing packages: %s" % "; ".join(unmet))
        module.fail_json(msg="repository check failed: " + "; ".join(parts), **outcome)
    module.exit_json(**outcome)


def main():
    module = AnsibleModule(
        argument_spec={
            "repos": {"type": "list", "elements": "dict", "required": True, "options": rs.REPO_OPTIONS},
            "packages": {"type": "list", "elements": "str", "default": []},
            "package_manager": {"type": "str", "choices": ["auto", "rpm", "apt"], "default": "auto"},
            "verify_signatures": {"type": "bool", "default": True},
            "verify_indexes": {"type": "bool", "default": False},
            "architecture": {"type": "str"},
            "timeout": {"type": "int", "default": 10},
            "validate_certs": {"type": "bool", "default": True},
            "proxy": {"type": "str"},
            "fail_on_problem": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    try:
        run(module)
    except Exception as exc:  # pylint: disable=broad-except
        module.fail_json(msg="repo_check: unexpected error: %s" % exc, exception=traceback.format_exc())


if __name__ == "__main__":
    main()
