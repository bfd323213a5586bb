# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read the repository configuration of a host: yum/dnf .repo files, APT sources and pins.

Plain Python (no Ansible imports), so it is unit-tested directly.
"""

from __future__ import annotations

import configparser
import glob
import os
import re

YUM_REPOS_DIR = "/etc/yum.repos.d"
APT_SOURCES_LIST = "/etc/apt/sources.list"
APT_SOURCES_DIR = "/etc/apt/sources.list.d"
APT_PREFERENCES_DIR = "/etc/apt/preferences.d"

_CREDENTIALS = re.compile(r"^([a-z][a-z0-9+.-]*://)[^/@]+@", re.IGNORECASE)
_TRUE = ("1", "yes", "true", "on")


def redact_url(url):
    """Drop user:password from a URL before it is reported."""
    return _CREDENTIALS.sub(r"\1***@", url or "")


def parse_yum_repo_text(text, path=""):
    """Sections of one .repo file as dicts (priority is yum's default 99 when unset)."""
    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    parser.read_string(text, source=path)
    repos = []
    for section in parser.sections():
        values = dict(parser.items(section))
        urls = (values.get("baseurl") or values.get("mirrorlist") or values.get("metalink") or "").split()
        repos.append({
            "type": "rpm",
            "name": section,
            "file": path,
            "enabled": values.get("enabled", "1").strip().lower() in _TRUE,
            "uri": redact_url(urls[0]) if urls else "",
            "priority": int(values.get("priority", "99")),
            "gpgcheck": values.get("gpgcheck", "1").strip().lower() in _TRUE,
        })
    return repos


def _deb_options(text):
    options = {}
    for item in text.split():
        if "=" in item:
            key, value = item.split("=", 1)
            options[key] = value
    return options


def parse_apt_sources_list(text, path=""):
    """One-line ``deb [opts] uri suite [components]`` entries (commented lines are skipped)."""
    repos = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.match(r"^(deb|deb-src)\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)\s*(.*)$", line)
        if not match:
            continue
        kind, opts, uri, suite, components = match.groups()
        options = _deb_options(opts or "")
        repos.append({
            "type": kind, "name": os.path.basename(path), "file": path, "enabled": True,
            "uri": redact_url(uri), "suite": suite, "section": components.strip(),
            "signed_by": options.get("signed-by", ""),
        })
    return repos


def parse_apt_deb822(text, path=""):
    """``.sources`` (deb822) stanzas, one entry per type, URI and suite."""
    repos = []
    for stanza in re.split(r"\n\s*\n", text.strip()):
        fields, key = {}, None
        for line in stanza.splitlines():
            if line.startswith("#"):
                continue
            if line[:1] in (" ", "\t") and key:
                fields[key] += "\n" + line.strip()
            elif ":" in line:
                key, value = line.split(":", 1)
                key = key.strip().lower()
                fields[key] = value.strip()
        if "uris" not in fields:
            continue
        enabled = fields.get("enabled", "yes").lower() in _TRUE
        for kind in fields.get("types", "deb").split():
            for uri in fields["uris"].split():
                for suite in fields.get("suites", "").split():
                    repos.append({
                        "type": kind, "name": os.path.basename(path), "file": path, "enabled": enabled,
                        "uri": redact_url(uri), "suite": suite, "section": fields.get("components", ""),
                        "signed_by": "" if "\n" in fields.get("signed-by", "") else fields.get("signed-by", ""),
                    })
    return repos


def parse_apt_preferences(text, path=""):
    """Pin stanzas: package pattern, pin expression and priority."""
    pins = []
    for stanza in re.split(r"\n\s*\n", text.strip()):
        fields = {}
        for line in stanza.splitlines():
            if ":" in line and not line.startswith("#"):
                key, value = line.split(":", 1)
                fields[key.strip().lower()] = value.strip()
        if "pin" in fields and "pin-priority" in fields:
            pins.append({"file": path, "package": fields.get("package", "*"), "pin": fields["pin"],
                         "priority": int(fields["pin-priority"])})
    return pins


def _read(path):
    with open(path, encoding="utf-8", errors="replace") as handle:
        return handle.read()


def read_host_repositories(root="/"):
    """Every repository and pin configured under ``root``."""
    def under(path):
        return os.path.join(root, path.lstrip("/"))

    repos, pins = [], []
    for path in sorted(glob.glob(under(YUM_REPOS_DIR) + "/*.repo")):
        repos += parse_yum_repo_text(_read(path), path)
    if os.path.isfile(under(APT_SOURCES_LIST)):
        repos += parse_apt_sources_list(_read(under(APT_SOURCES_LIST)), under(APT_SOURCES_LIST))
    for path in sorted(glob.glob(under(APT_SOURCES_DIR) + "/*.list")):
        repos += parse_apt_sources_list(_read(path), path)
    for path in sorted(glob.glob(under(APT_SOURCES_DIR) + "/*.sources")):
        repos += parse_apt_deb822(_read(path), path)
    for path in sorted(glob.glob(under(APT_PREFERENCES_DIR) + "/*")):
        if os.path.isfile(path):
            pins += parse_apt_preferences(_read(path), path)
    return repos, pins


def yum_baseurls(root="/"):
    """{repository id: first base URL, credentials kept} of every .repo file under ``root``."""
    urls = {}
    for path in sorted(glob.glob(os.path.join(root, YUM_REPOS_DIR.lstrip("/")) + "/*.repo")):
        parser = configparser.RawConfigParser(strict=False, interpolation=None)
        parser.read_string(_read(path), source=path)
        for section in parser.sections():
            found = (parser.get(section, "baseurl", fallback="") or "").split()
            if found and section not in urls:
                urls[section] = found[0]
    return urls
