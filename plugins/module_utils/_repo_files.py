# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read the repository configuration of a host: yum/dnf .repo files, APT sources and pins.

Every file is read with the bounded, validating readers of ``_files``: a
directory where a file is expected, an unreadable or non-UTF-8 file is a
``FileProblem`` naming it, never a traceback. The ini parser is our own (the
same on Python 2.7 and 3), so a file reads the same on every node.

Node Python 2.7 and 3.6+; no Ansible imports, so it is unit-tested directly.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import os
import re

from ._files import FileProblem, read_text

YUM_REPOS_DIR = "/etc/yum.repos.d"
APT_SOURCES_LIST = "/etc/apt/sources.list"
APT_SOURCES_DIR = "/etc/apt/sources.list.d"
APT_PREFERENCES_DIR = "/etc/apt/preferences.d"

_CREDENTIALS = re.compile(r"\A([a-z][a-z0-9+.-]*://)[^/@]+@", re.IGNORECASE)
_TRUE = ("1", "yes", "true", "on")
_SECTION = re.compile(r"\A\s*\[([^\]]+)\]\s*\Z")
_KEY_VALUE = re.compile(r"\A([^=:\s][^=:]*?)\s*[=:]\s*(.*?)\s*\Z")
DEB_LINE = re.compile(r"\A(deb|deb-src)\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)(?:\s+(.*?))?\s*\Z")

__all__ = ["FileProblem"]


def redact_url(url):
    """Drop user:password from a URL before it is reported."""
    return _CREDENTIALS.sub(r"\1***@", url or "")


def parse_ini(text):
    """[(section, {key: value})] of an ini text (keys lower-cased, continuation lines joined)."""
    sections, current, key = [], None, None
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped[0] in "#;":
            continue
        match = _SECTION.match(line)
        if match:
            current = (match.group(1).strip(), {})
            sections.append(current)
            key = None
            continue
        if current is None:
            continue
        if line[:1] in (" ", "\t") and key is not None:
            current[1][key] = (current[1][key] + "\n" + stripped).strip()
            continue
        match = _KEY_VALUE.match(line)
        if match:
            key = match.group(1).strip().lower()
            current[1][key] = match.group(2)
    return sections


def _int(value, default):
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return default


def parse_yum_repo_text(text, path=""):
    """Sections of one .repo file as dicts (priority is yum's default 99 when unset or unreadable)."""
    repos = []
    for section, values in parse_ini(text):
        urls = (values.get("baseurl") or values.get("mirrorlist") or values.get("metalink") or "").split()
        repos.append({
            "type": "rpm",
            "name": section,
            "file": path,
            "enabled": values.get("enabled", "1").strip().lower() in _TRUE,
            "uri": redact_url(urls[0]) if urls else "",
            "priority": _int(values.get("priority", "99"), 99),
            "gpgcheck": values.get("gpgcheck", "1").strip().lower() in _TRUE,
        })
    return repos


def deb_options(text):
    """``key=value`` items of a one-line source's ``[...]``."""
    options = {}
    for item in (text or "").split():
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
        match = DEB_LINE.match(line)
        if not match:
            continue
        kind, opts, uri, suite, components = match.groups()
        options = deb_options(opts)
        repos.append({
            "type": kind, "name": os.path.basename(path), "file": path, "enabled": True,
            "uri": redact_url(uri), "suite": suite, "section": (components or "").strip(),
            "signed_by": options.get("signed-by", ""),
            "architectures": [a for a in options.get("arch", "").split(",") if a],
        })
    return repos


def deb822_fields(stanza):
    """{lower-case field: value} of one deb822 stanza (comments skipped, folded lines joined)."""
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
    return fields


def split_stanzas(text):
    """deb822 stanzas of a text (separated by blank lines)."""
    return [s for s in re.split(r"\n[ \t]*\n", text.strip()) if s.strip()]


def parse_apt_deb822(text, path=""):
    """``.sources`` (deb822) stanzas, one entry per type, URI and suite."""
    repos = []
    for stanza in split_stanzas(text):
        fields = deb822_fields(stanza)
        if "uris" not in fields:
            continue
        enabled = fields.get("enabled", "yes").strip().lower() in _TRUE
        for kind in fields.get("types", "deb").split():
            for uri in fields["uris"].split():
                for suite in fields.get("suites", "").split():
                    repos.append({
                        "type": kind, "name": os.path.basename(path), "file": path, "enabled": enabled,
                        "uri": redact_url(uri), "suite": suite, "section": fields.get("components", ""),
                        "signed_by": "" if "\n" in fields.get("signed-by", "") else fields.get("signed-by", ""),
                        "architectures": fields.get("architectures", "").split(),
                    })
    return repos


def parse_apt_preferences(text, path=""):
    """Pin stanzas: package pattern, pin expression and priority (unreadable priorities skipped)."""
    pins = []
    for stanza in split_stanzas(text):
        fields = {}
        for line in stanza.splitlines():
            if ":" in line and not line.startswith("#"):
                key, value = line.split(":", 1)
                fields[key.strip().lower()] = value.strip()
        if "pin" in fields and "pin-priority" in fields:
            priority = _int(fields["pin-priority"], None)
            if priority is None:
                continue
            pins.append({"file": path, "package": fields.get("package", "*"), "pin": fields["pin"],
                         "priority": priority})
    return pins


def read_host_repositories(root="/"):
    """Every repository and pin configured under ``root``; FileProblem names a file that cannot be read."""
    def under(path):
        return os.path.join(root, path.lstrip("/"))

    repos, pins = [], []
    for path in sorted(glob.glob(under(YUM_REPOS_DIR) + "/*.repo")):
        repos += parse_yum_repo_text(read_text(path), path)
    main_list = read_text(under(APT_SOURCES_LIST))
    if main_list is not None:
        repos += parse_apt_sources_list(main_list, under(APT_SOURCES_LIST))
    for path in sorted(glob.glob(under(APT_SOURCES_DIR) + "/*.list")):
        repos += parse_apt_sources_list(read_text(path), path)
    for path in sorted(glob.glob(under(APT_SOURCES_DIR) + "/*.sources")):
        repos += parse_apt_deb822(read_text(path), path)
    for path in sorted(glob.glob(under(APT_PREFERENCES_DIR) + "/*")):
        if os.path.isdir(path):
            continue  # APT itself skips what it cannot read as a file here
        pins += parse_apt_preferences(read_text(path), path)
    return repos, pins


def yum_baseurls(root="/"):
    """{repository id: first base URL, credentials kept} of every .repo file under ``root``."""
    urls = {}
    for path in sorted(glob.glob(os.path.join(root, YUM_REPOS_DIR.lstrip("/")) + "/*.repo")):
        for section, values in parse_ini(read_text(path)):
            found = (values.get("baseurl") or "").split()
            if found and section not in urls:
                urls[section] = found[0]
    return urls
