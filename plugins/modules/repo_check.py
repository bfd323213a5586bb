#!/usr/bin/python
# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check that every repository of a set answers, and that required packages can be resolved."""

from __future__ import annotations

DOCUMENTATION = r"""
module: repo_check
short_description: Check repository connectivity, signatures and required packages before a change
version_added: 0.1.0
description:
  - For each repository of a set (the C(repo_setup) format of M(fuel.lifecycle.repo_priorities)),
    fetches its metadata from the host this module runs on, the way the package manager would
    C(repodata/repomd.xml) for rpm; C(InRelease), or C(Release), for deb, and checks that the
    suite and every section are there).
  - Optionally checks the metadata signature with C(gpgv) (rpm C(repomd.xml.asc) against the
    O(repos[].gpgkey) keys; deb C(InRelease) against O(repos[].signed_by), or the APT trusted keyrings).
  - Resolves a list of required packages, optionally with version constraints, against the
    package indexes of the set and reports what is missing.
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
    description: Seconds to wait for each HTTP request.
    type: int
    default: 10
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
    description: Fail the task when a repository is unreachable, invalid or a package is missing.
    type: bool
    default: false
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
      O(packages) is given.
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
  description: Requirements no repository of the set satisfies.
  returned: always
  type: list
  elements: str
ok:
  description: No problem found.
  returned: always
  type: bool
"""

import http.client
import os
import tempfile
import urllib.error

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import ConnectionError as UrlConnectionError
from ansible.module_utils.urls import open_url
from ansible_collections.fuel.lifecycle.plugins.module_utils import _repo_check as rc
from ansible_collections.fuel.lifecycle.plugins.module_utils import _repo_files as rf
from ansible_collections.fuel.lifecycle.plugins.module_utils import _repo_set as rs

FETCH_ERRORS = (urllib.error.URLError, OSError, http.client.HTTPException, UrlConnectionError, ValueError)
APT_TRUSTED = ["/etc/apt/trusted.gpg"]
APT_TRUSTED_DIR = "/etc/apt/trusted.gpg.d"


class Fetcher:
    """HTTP(S)/file fetches with the module's timeout, TLS and proxy settings."""

    def __init__(self, module):
        self.module = module

    def get(self, url, entry=None):
        params = self.module.params
        proxy = (entry or {}).get("proxy") or params["proxy"]
        saved = {k: os.environ.get(k) for k in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY")}
        if proxy and proxy != "_none_":
            for key in saved:
                os.environ[key] = proxy
        try:
            response = open_url(url, timeout=params["timeout"], validate_certs=params["validate_certs"],
                                use_proxy=proxy != "_none_", url_username=(entry or {}).get("username"),
                                url_password=(entry or {}).get("password"),
                                force_basic_auth=bool((entry or {}).get("username")),
                                http_agent="fuel.lifecycle-repo_check")
            return response.read()
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def error_text(url, exc):
    reason = getattr(exc, "reason", None) or exc
    return "%s: %s" % (rf.redact_url(url), reason)


def gpgv(module, keyrings, signature, data=None):
    """'valid' or 'invalid: ...' from gpgv; None when gpgv is not installed."""
    binary = module.get_bin_path("gpgv")
    if not binary:
        return None
    argv = [binary, "--quiet"]
    for keyring in keyrings:
        argv += ["--keyring", keyring]
    argv.append(signature)
    if data:
        argv.append(data)
    rc_, out, err = module.run_command(argv, environ_update={"LANG": "C", "LC_ALL": "C"})
    lines = (err or out).strip().splitlines()
    return "valid" if rc_ == 0 else "invalid: %s" % (lines[-1] if lines else "gpgv exit code %d" % rc_)


def check_rpm(module, fetch, entry, tmp):
    result = {"metadata_url": rc.join(entry["uri"], "repodata/repomd.xml")}
    try:
        repomd = fetch.get(result["metadata_url"], entry)
    except FETCH_ERRORS as exc:
        return dict(result, reachable=False, problems=[error_text(result["metadata_url"], exc)]), {}
    result.update(reachable=True, problems=[])
    index = {}
    try:
        primary = rc.primary_location(repomd)
        if not module.params["packages"]:
            primary = None  # the package list is only read when packages are asked for
    except (rc.ET.ParseError, ValueError) as exc:
        result["problems"].append("repomd.xml: %s" % exc)
        primary = None
    try:
        if primary:
            index = rc.parse_primary(rc.decompress(primary, fetch.get(rc.join(entry["uri"], primary), entry)))
    except FETCH_ERRORS + (rc.ET.ParseError, EOFError, OSError) as exc:
        result["problems"].append("primary metadata: %s" % exc)
    if module.params["verify_signatures"] and entry.get("gpgkey"):
        try:
            signature = fetch.get(result["metadata_url"] + ".asc", entry)
            keyring = os.path.join(tmp, entry["name"] + ".gpg")
            with open(keyring, "wb") as handle:
                for key_url in entry["gpgkey"].split():
                    handle.write(rc.dearmor(fetch.get(key_url, entry).decode("utf-8", "replace")))
            paths = [os.path.join(tmp, entry["name"] + ".xml"), os.path.join(tmp, entry["name"] + ".xml.asc")]
            for path, data in zip(paths, (repomd, signature)):
                with open(path, "wb") as handle:
                    handle.write(data)
            result["signature"] = gpgv(module, [keyring], paths[1], paths[0]) or "not_checked: no gpgv"
        except urllib.error.HTTPError as exc:
            # dnf checks repomd.xml signatures only with repo_gpgcheck; many repositories sign packages only.
            result["signature"] = "not_checked: %s" % error_text(exc.url, exc) if exc.code == 404 else \
                "invalid: %s" % error_text(exc.url, exc)
        except FETCH_ERRORS + (ValueError,) as exc:
            result["signature"] = "invalid: %s" % exc
    return result, index


def check_deb(module, fetch, entry, tmp, arch):
    dists = rc.join(entry["uri"], entry["suite"]) if entry["suite"].endswith("/") else \
        rc.join(entry["uri"], "dists", entry["suite"])
    result, text, signed = {"problems": []}, None, False
    errors = []
    for name in ("InRelease", "Release"):
        url = rc.join(dists, name)
        try:
            data = fetch.get(url)
        except FETCH_ERRORS as exc:
            errors.append(error_text(url, exc))
            continue
        result["metadata_url"], text, signed = url, data.decode("utf-8", "replace"), name == "InRelease"
        break
    if text is None:
        return dict(result, reachable=False, metadata_url=rc.join(dists, "InRelease"), problems=errors), {}
    result["reachable"] = True
    fields = rc.parse_release(text)
    result["problems"] += rc.release_problems(fields, entry["suite"], entry["section"])
    if module.params["verify_signatures"]:
        keyrings = [entry["signed_by"]] if entry.get("signed_by") else [
            p for p in APT_TRUSTED + sorted(os.path.join(APT_TRUSTED_DIR, f) for f in (
                os.listdir(APT_TRUSTED_DIR) if os.path.isdir(APT_TRUSTED_DIR) else [])
                if f.endswith((".gpg", ".asc"))) if os.path.isfile(p)]
        if not signed:
            result["signature"] = "not_checked: no InRelease"
        elif not keyrings:
            result["signature"] = "not_checked: no keyring"
        else:
            path = os.path.join(tmp, entry["name"] + ".InRelease")
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(text)
            result["signature"] = gpgv(module, keyrings, path) or "not_checked: no gpgv"
    index = {}
    # The package indexes are only read when packages are asked for.
    sections = (entry["section"] or [""]) if module.params["packages"] and entry["type"] == "deb" else []
    last = ""
    for section in sections:
        names = rc.packages_index_names(fields, section, arch) if section else ["Packages.gz", "Packages"]
        for name in names:
            url = rc.join(dists, name)
            try:
                packages = rc.parse_packages(rc.decompress(name, fetch.get(url)).decode("utf-8", "replace"))
            except FETCH_ERRORS + (EOFError,) as exc:
                last = error_text(url, exc)
                continue
            for pkg, versions in packages.items():
                index.setdefault(pkg, []).extend(versions)
            break
        else:
            result["problems"].append("no package index for %s: %s" % (section or "flat repository", last))
    return result, index


def main():
    module = AnsibleModule(
        argument_spec={
            "repos": {"type": "list", "elements": "dict", "required": True, "options": rs.REPO_OPTIONS},
            "packages": {"type": "list", "elements": "str", "default": []},
            "package_manager": {"type": "str", "choices": ["auto", "rpm", "apt"], "default": "auto"},
            "verify_signatures": {"type": "bool", "default": True},
            "architecture": {"type": "str"},
            "timeout": {"type": "int", "default": 10},
            "validate_certs": {"type": "bool", "default": True},
            "proxy": {"type": "str"},
            "fail_on_problem": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    params = module.params
    try:
        entries = rs.normalize([rs.entry_from_params(p) for p in params["repos"]])
        for requirement in params["packages"]:
            rc.parse_requirement(requirement)
    except (rs.RepoSetError, ValueError) as exc:
        module.fail_json(msg=str(exc))
    manager = params["package_manager"]
    if manager != "auto":
        entries = [e for e in entries if (e["type"] == "rpm") == (manager == "rpm")]
    kinds = {"rpm" if e["type"] == "rpm" else "deb" for e in entries}
    if params["packages"] and len(kinds) > 1:
        module.fail_json(msg="package_manager: the set mixes rpm and deb entries; say which to resolve packages in")
    arch = params["architecture"]
    if not arch and "deb" in kinds:
        dpkg = module.get_bin_path("dpkg")
        arch = module.run_command([dpkg, "--print-architecture"])[1].strip() if dpkg else ""
        arch = arch or "amd64"

    known = rf.yum_baseurls() if any(e["type"] == "rpm" and not e["uri"] for e in entries) else {}
    for entry in entries:
        if entry["type"] == "rpm" and not entry["uri"]:
            entry["uri"] = known.get(entry["name"])
    fetch = Fetcher(module)
    results, indexes = [], {}
    with tempfile.TemporaryDirectory(prefix="repo_check.") as tmp:
        for entry in entries:
            if not entry["uri"]:
                result, index = {"reachable": False, "problems": [
                    "no uri given and no repository %s on this host" % entry["name"]]}, {}
            elif entry["type"] == "rpm":
                result, index = check_rpm(module, fetch, entry, tmp)
            else:
                result, index = check_deb(module, fetch, entry, tmp, arch)
            result = dict({"name": entry["name"], "type": entry["type"], "uri": rf.redact_url(entry["uri"] or ""),
                           "signature": "not_checked"}, **result)
            result["packages"] = sum(len(v) for v in index.values())
            results.append(result)
            if entry["enabled"]:
                indexes[entry["name"]] = index
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
            parts.append("missing packages: %s" % ", ".join(missing))
        module.fail_json(msg="repository check failed: " + "; ".join(parts), **outcome)
    module.exit_json(**outcome)


if __name__ == "__main__":
    main()
