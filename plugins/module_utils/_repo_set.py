# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A declarative repository set: validation, rendering and planning.

Input is the ``repo_setup`` list (type, name, uri, suite, section, priority)
plus a ``class`` per repository whose preset priority applies when none is
given. The planner reads the host's current files (as text), and returns the
file changes that make the host match the set; nothing here writes anything.

Plain Python (no Ansible imports), so it is unit-tested directly.
"""

from __future__ import annotations

import os
import re
from urllib.parse import urlsplit

from ._repo_files import parse_apt_deb822, parse_apt_sources_list

CLASSES = ("upstream", "extra", "vendor", "holdback", "developer")
# yum/dnf: 1-99, the lower value wins.
DEFAULT_YUM_PRIORITIES = {"upstream": 70, "extra": 70, "vendor": 50, "holdback": 30, "developer": 10}
# APT pins: None writes no pin (the repository keeps APT's default 500).
DEFAULT_APT_PINS = {"upstream": None, "extra": None, "vendor": 1050, "holdback": 1200, "developer": 1300}

MARKER = "fuel.lifecycle.repo_priorities"
RPM_FIELDS = ("type", "name", "uri", "priority", "class", "enabled", "description", "gpgcheck", "gpgkey",
              "sslverify", "proxy", "username", "password", "suite", "section")
DEB_FIELDS = ("type", "name", "uri", "suite", "section", "priority", "class", "enabled", "line", "signed_by",
              "pin", "architectures", "format", "trusted")

_RPM_NAME = re.compile(r"^[A-Za-z0-9_.:-]+$")
# APT reads only files whose names consist of these characters.
_DEB_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
_SUITE = re.compile(r"^[A-Za-z0-9_.~+/-]+$")
_COMPONENT = re.compile(r"^[A-Za-z0-9_.~+/-]+$")
_DEB_LINE = re.compile(r"^(deb|deb-src)\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)(?:\s+(.*))?$")
_NET_SCHEMES = ("http", "https", "ftp")
_RPM_SCHEMES = _NET_SCHEMES + ("file",)
_DEB_SCHEMES = _NET_SCHEMES + ("file", "copy", "cdrom", "mirror", "mirror+http", "mirror+https", "mirror+file",
                               "tor+http", "tor+https")
_TRUE = ("1", "yes", "true", "on")

# Argument spec of one entry of the ``repos`` option (both modules).
REPO_OPTIONS = {
    "type": {"type": "str"},
    "name": {"type": "str", "required": True},
    "uri": {"type": "str"},
    "suite": {"type": "str"},
    "section": {"type": "raw"},
    "line": {"type": "str"},
    "priority": {"type": "raw"},
    "class": {"type": "str", "default": "extra"},
    "enabled": {"type": "bool", "default": True},
    "description": {"type": "str"},
    "gpgcheck": {"type": "bool", "default": True},
    "gpgkey": {"type": "str", "no_log": False},
    "sslverify": {"type": "bool"},
    "proxy": {"type": "str"},
    "username": {"type": "str"},
    "password": {"type": "str", "no_log": True},
    "signed_by": {"type": "path"},
    "architectures": {"type": "list", "elements": "str"},
    "trusted": {"type": "bool", "default": False},
    "pin": {"type": "str"},
    "format": {"type": "str", "choices": ["list", "deb822"], "default": "list"},
}


RPM_ONLY = ("description", "gpgcheck", "gpgkey", "sslverify", "proxy", "username", "password")
DEB_ONLY = ("suite", "section", "line", "signed_by", "architectures", "trusted", "pin", "format")


def entry_from_params(params):
    """Drop unset options and the defaults of the other kind's options."""
    kind = params.get("type") or ("deb" if params.get("line") else None)
    other = DEB_ONLY if kind == "rpm" else RPM_ONLY
    entry = {}
    for key, value in params.items():
        if value is None or (key in other and value == REPO_OPTIONS[key].get("default")):
            continue
        entry[key] = value
    return entry


class RepoSetError(ValueError):
    """Invalid input: the message names the entry and the field."""


def _where(index, entry):
    name = entry.get("name") if isinstance(entry, dict) else None
    return "repos[%d]%s" % (index, " (%s)" % name if name else "")


def _fail(index, entry, field, message):
    raise RepoSetError("%s: field '%s': %s" % (_where(index, entry), field, message))


def check_uri(uri, schemes):
    """Why ``uri`` is unusable, or None."""
    if not isinstance(uri, str) or not uri:
        return "a URI is required"
    if any(c.isspace() for c in uri):
        return "URI %r contains whitespace" % uri
    parts = urlsplit(uri)
    if parts.scheme not in schemes:
        return "URI %r: scheme must be one of %s" % (uri, ", ".join(schemes))
    if parts.scheme in _NET_SCHEMES or parts.scheme.endswith(("+http", "+https")):
        if not parts.hostname:
            return "URI %r has no host" % uri
        try:
            parts.port  # pylint: disable=pointless-statement
        except ValueError:
            return "URI %r has an invalid port" % uri
    elif not parts.path.startswith("/"):
        return "URI %r needs an absolute path" % uri
    return None


def parse_deb_line(line):
    """``deb [opts] uri suite [components]`` as a dict; ValueError when malformed."""
    match = _DEB_LINE.match((line or "").strip())
    if not match:
        raise ValueError("not a deb line: %r (expected 'deb [options] URI SUITE [COMPONENT...]')" % line)
    kind, opts, uri, suite, components = match.groups()
    options = {}
    for item in (opts or "").split():
        if "=" not in item:
            raise ValueError("option %r in %r is not key=value" % (item, line))
        key, value = item.split("=", 1)
        options[key] = value
    return {"type": kind, "uri": uri, "suite": suite, "section": (components or "").split(), "options": options}


def _as_int(value, index, entry, field):
    if isinstance(value, bool):
        _fail(index, entry, field, "%r is not an integer" % (value,))
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.match(r"^-?[0-9]+$", value.strip()):
        return int(value)
    return _fail(index, entry, field, "%r is not an integer" % (value,))


def _as_bool(value, index, entry, field):
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE + ("0", "no", "false", "off"):
        return value.strip().lower() in _TRUE
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    return _fail(index, entry, field, "%r is not a boolean" % (value,))


def _sections(value, index, entry):
    if value is None or value == "":
        return []
    items = value.split() if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        _fail(index, entry, "section", "must be a string or a list of strings")
    for item in items:
        if not _COMPONENT.match(item):
            _fail(index, entry, "section", "invalid component %r" % item)
    return list(items)


def _int_like(value):
    """Integers given as text (AWX surveys, extra vars) become integers; anything else is kept."""
    if isinstance(value, str) and re.match(r"^\s*-?[0-9]+\s*$", value):
        return int(value)
    return value


def _tables(yum_priorities, apt_pins):
    yum = dict(DEFAULT_YUM_PRIORITIES)
    yum.update({k: _int_like(v) for k, v in (yum_priorities or {}).items()})
    apt = dict(DEFAULT_APT_PINS)
    apt.update({k: _int_like(v) for k, v in (apt_pins or {}).items()})
    for cls, value in yum.items():
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 99:
            raise RepoSetError("yum_priorities.%s: %r is not an integer from 1 to 99" % (cls, value))
    for cls, value in apt.items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise RepoSetError("apt_pins.%s: %r is not an integer (or null for no pin)" % (cls, value))
    return yum, apt


def normalize(entries, yum_priorities=None, apt_pins=None):
    """Validate the whole set; return normalized entries or raise RepoSetError."""
    yum, apt = _tables(yum_priorities, apt_pins)
    if not isinstance(entries, list):
        raise RepoSetError("repos: must be a list")
    result, names = [], {}
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise RepoSetError("repos[%d]: must be a dict, got %r" % (index, entry))
        kind = entry.get("type")
        if kind == "rpm":
            norm = _normalize_rpm(index, entry, yum)
        elif kind in ("deb", "deb-src"):
            norm = _normalize_deb(index, entry, apt)
        elif kind is None and entry.get("line"):
            norm = _normalize_deb(index, entry, apt)
        else:
            _fail(index, entry, "type", "unknown type %r (expected deb, deb-src or rpm)" % (kind,))
        key = (norm["type"] == "rpm", norm["name"])
        if key in names:
            _fail(index, entry, "name", "duplicate name %r (also repos[%d])" % (norm["name"], names[key]))
        names[key] = index
        result.append(norm)
    _check_duplicate_sources(result)
    _check_pin_ambiguity(result)
    return result


def _common(index, entry, allowed, table, kind):
    unknown = sorted(set(entry) - set(allowed))
    if unknown:
        _fail(index, entry, unknown[0], "unknown field for a %s repository (allowed: %s)" % (kind, ", ".join(allowed)))
    cls = entry.get("class") or "extra"
    if cls not in table:
        _fail(index, entry, "class", "unknown class %r (expected one of %s)" % (cls, ", ".join(sorted(table))))
    enabled = _as_bool(entry.get("enabled", True), index, entry, "enabled")
    return cls, enabled


def _normalize_rpm(index, entry, yum):
    name = entry.get("name")
    if not isinstance(name, str) or not _RPM_NAME.match(name or ""):
        _fail(index, entry, "name", "%r is not a valid repository id (letters, digits, _ . : -)" % (name,))
    cls, enabled = _common(index, entry, RPM_FIELDS, yum, "rpm")
    for field in ("suite", "section"):
        if entry.get(field) not in (None, "", []):
            _fail(index, entry, field, "rpm repositories have no %s (only deb ones do)" % field)
    # No URI: the entry edits a repository of that id that already exists on the host.
    problem = None if entry.get("uri") is None else check_uri(entry.get("uri"), _RPM_SCHEMES)
    if problem:
        _fail(index, entry, "uri", problem)
    priority = entry.get("priority")
    priority = yum[cls] if priority in (None, "") else _as_int(priority, index, entry, "priority")
    if not 1 <= priority <= 99:
        _fail(index, entry, "priority", "%d is outside 1-99 (yum/dnf, the lower value wins)" % priority)
    norm = {"type": "rpm", "name": name, "uri": entry.get("uri"), "class": cls, "priority": priority,
            "enabled": enabled, "gpgcheck": _as_bool(entry.get("gpgcheck", True), index, entry, "gpgcheck")}
    for field in ("description", "gpgkey", "proxy", "username", "password"):
        value = entry.get(field)
        if value not in (None, ""):
            if not isinstance(value, str) or "\n" in value:
                _fail(index, entry, field, "must be a single-line string")
            norm[field] = value
    if "gpgkey" in norm:
        for key in norm["gpgkey"].split():
            problem = check_uri(key, _RPM_SCHEMES)
            if problem:
                _fail(index, entry, "gpgkey", problem)
    if "proxy" in norm and norm["proxy"] != "_none_":
        problem = check_uri(norm["proxy"], ("http", "https", "socks5", "socks5h", "socks4"))
        if problem:
            _fail(index, entry, "proxy", problem)
    if ("username" in norm) != ("password" in norm):
        _fail(index, entry, "password" if "username" in norm else "username", "username and password go together")
    if entry.get("sslverify") is not None:
        norm["sslverify"] = _as_bool(entry["sslverify"], index, entry, "sslverify")
    return norm


def _normalize_deb(index, entry, apt):
    entry = dict(entry)
    options = {}
    if entry.get("line"):
        for field in ("uri", "suite", "section"):
            if entry.get(field):
                _fail(index, entry, field, "give either 'line' or uri/suite/section, not both")
        try:
            parsed = parse_deb_line(entry["line"])
        except ValueError as exc:
            _fail(index, entry, "line", str(exc))
        if entry.get("type") not in (None, parsed["type"]):
            _fail(index, entry, "type", "type %r does not match the line's %r" % (entry["type"], parsed["type"]))
        entry.update(type=parsed["type"], uri=parsed["uri"], suite=parsed["suite"], section=parsed["section"])
        options = parsed["options"]
    name = entry.get("name")
    if not isinstance(name, str) or not _DEB_NAME.match(name or ""):
        _fail(index, entry, "name", "%r is not a valid name (APT only reads files named with letters, digits,"
              " _ . -)" % (name,))
    cls, enabled = _common(index, entry, DEB_FIELDS, apt, "deb")
    problem = check_uri(entry.get("uri"), _DEB_SCHEMES)
    if problem:
        _fail(index, entry, "uri", problem)
    if urlsplit(entry["uri"]).username:
        _fail(index, entry, "uri", "credentials in a deb URI are not accepted: put them in /etc/apt/auth.conf.d")
    suite = entry.get("suite")
    if not isinstance(suite, str) or not _SUITE.match(suite or ""):
        _fail(index, entry, "suite", "%r is not a valid suite" % (suite,))
    sections = _sections(entry.get("section"), index, entry)
    if suite.endswith("/") and sections:
        _fail(index, entry, "section", "a flat repository (suite ending in '/') has no sections")
    if not suite.endswith("/") and not sections:
        _fail(index, entry, "section", "at least one section (component) is required")
    priority = entry.get("priority")
    pin = apt[cls] if priority in (None, "") else _as_int(priority, index, entry, "priority")
    if pin is not None and not -32768 <= pin <= 32767:
        _fail(index, entry, "priority", "pin priority %d is out of range" % pin)
    signed_by = entry.get("signed_by") or options.pop("signed-by", None)
    if signed_by is not None and (not isinstance(signed_by, str) or not signed_by.startswith("/")):
        _fail(index, entry, "signed_by", "must be the absolute path of a keyring file")
    arch = entry.get("architectures") or options.pop("arch", None)
    if isinstance(arch, str):
        arch = arch.replace(",", " ").split()
    trusted = _as_bool(entry.get("trusted", options.pop("trusted", False)), index, entry, "trusted")
    if options:
        _fail(index, entry, "line", "unsupported option(s) %s" % ", ".join(sorted(options)))
    fmt = entry.get("format") or "list"
    if fmt not in ("list", "deb822"):
        _fail(index, entry, "format", "%r is not list or deb822" % (fmt,))
    pin_expr = entry.get("pin")
    if pin_expr is None:
        if suite.endswith("/") and pin is not None:
            _fail(index, entry, "pin", "a flat repository needs an explicit pin")
        pin_expr = None if suite.endswith("/") else "release a=%s" % suite
    elif not isinstance(pin_expr, str) or "\n" in pin_expr or not re.match(r"^(release|origin|version)\b", pin_expr):
        _fail(index, entry, "pin", "%r is not an APT pin (release ..., origin ..., version ...)" % (pin_expr,))
    return {"type": entry.get("type") or "deb", "name": name, "uri": entry["uri"], "suite": suite,
            "section": sections, "class": cls, "priority": pin, "enabled": enabled, "signed_by": signed_by,
            "architectures": arch or [], "trusted": trusted, "format": fmt, "pin": pin_expr}


def _check_duplicate_sources(entries):
    seen = {}
    for entry in entries:
        if entry["type"] == "rpm":
            continue
        key = (entry["type"], entry["uri"].rstrip("/"), entry["suite"].rstrip("/"))
        if key in seen:
            raise RepoSetError("repos (%s): field 'uri': %s %s %s is already in the set as %s"
                               % (entry["name"], entry["type"], entry["uri"], entry["suite"], seen[key]))
        seen[key] = entry["name"]


def _check_pin_ambiguity(entries):
    seen = {}
    for entry in entries:
        if entry["type"] == "rpm" or entry["priority"] is None:
            continue
        other = seen.get(entry["pin"])
        if other and other["priority"] != entry["priority"]:
            raise RepoSetError("repos (%s): field 'pin': %r also selects %s with another priority; give an explicit"
                               " pin" % (entry["name"], entry["pin"], other["name"]))
        seen[entry["pin"]] = entry


# --------------------------------------------------------------------------- yum


def _yum_sections(text):
    """[(name, first_line, end_line)] of an ini text, line indexes."""
    lines = text.splitlines()
    result, current = [], None
    for number, line in enumerate(lines):
        match = re.match(r"^\s*\[([^\]]+)\]\s*$", line)
        if match:
            if current:
                result.append((current[0], current[1], number))
            current = (match.group(1).strip(), number)
    if current:
        result.append((current[0], current[1], len(lines)))
    return result


def _set_key(lines, start, end, key, value):
    """Set ``key=value`` in the section lines[start:end]; return the new end."""
    pattern = re.compile(r"^\s*%s\s*=" % re.escape(key), re.IGNORECASE)
    new = "%s=%s" % (key, value)
    for number in range(start + 1, end):
        if pattern.match(lines[number]):
            lines[number] = new
            return end
    last = start
    for number in range(start + 1, end):
        if lines[number].strip():
            last = number
    lines.insert(last + 1, new)
    return end + 1


def _yum_values(entry, new=True):
    """Keys of a section; an existing section keeps its own name= unless a description is given."""
    values = [("name", entry.get("description") or entry["name"])] if new or entry.get("description") else []
    values += [("baseurl", entry["uri"])] if entry["uri"] else []
    values += [("enabled", int(entry["enabled"])), ("priority", entry["priority"]), ("gpgcheck", int(entry["gpgcheck"]))]
    for key in ("gpgkey", "proxy", "username", "password"):
        if key in entry:
            values.append((key, entry[key]))
    if "sslverify" in entry:
        values.append(("sslverify", int(entry["sslverify"])))
    return values


def render_yum_section(entry):
    lines = ["[%s]" % entry["name"]] + ["%s=%s" % item for item in _yum_values(entry)]
    return "\n".join(lines) + "\n"


def _join(lines, had_newline=True):
    return "\n".join(lines) + ("\n" if lines and had_newline else "")


def plan_yum(entries, files, repos_dir, exclusive=False):
    """Changes to the .repo files ``files`` ({path: text}) that apply the rpm ``entries``.

    Returns (changes, disabled): changes are dicts path/before/after/mode_hint; disabled
    lists the repository ids turned off because they are not in the set.
    """
    entries = [e for e in entries if e["type"] == "rpm"]
    texts = dict(files)
    wanted = {e["name"]: e for e in entries}
    placed = set()
    disabled = []
    for path in sorted(texts):
        lines = texts[path].splitlines()
        had_newline = texts[path].endswith("\n")
        offset = 0
        for name, start, end in _yum_sections(texts[path]):
            start, end = start + offset, end + offset
            if name in wanted and name not in placed:
                placed.add(name)
                new_end = end
                for key, value in _yum_values(wanted[name], new=False):
                    new_end = _set_key(lines, start, new_end, key, value)
                offset += new_end - end
            elif exclusive and name not in wanted:
                section_text = "\n".join(lines[start:end])
                if not re.search(r"^\s*enabled\s*=\s*(0|no|false|off)\s*$", section_text, re.I | re.M):
                    new_end = _set_key(lines, start, end, "enabled", 0)
                    offset += new_end - end
                    disabled.append(name)
        texts[path] = _join(lines, had_newline or bool(lines))
    for entry in entries:
        if entry["name"] in placed:
            continue
        if not entry["uri"]:
            raise RepoSetError("repos (%s): field 'uri': required, no repository %s exists in %s to edit"
                               % (entry["name"], entry["name"], repos_dir))
        path = os.path.join(repos_dir, entry["name"] + ".repo")
        current = texts.get(path, "")
        if current and not current.endswith("\n"):
            current += "\n"
        texts[path] = current + ("\n" if current.strip() else "") + render_yum_section(entry)
    changes = []
    for path in sorted(texts):
        before = files.get(path)
        if texts[path] != before:
            secret = bool(re.search(r"^\s*password\s*=", texts[path], re.I | re.M))
            changes.append({"path": path, "before": before, "after": texts[path], "secret": secret})
    return changes, disabled


# --------------------------------------------------------------------------- apt


def render_deb_list(entry):
    options = []
    if entry["architectures"]:
        options.append("arch=" + ",".join(entry["architectures"]))
    if entry["signed_by"]:
        options.append("signed-by=" + entry["signed_by"])
    if entry["trusted"]:
        options.append("trusted=yes")
    line = " ".join([entry["type"]] + (["[%s]" % " ".join(options)] if options else []) +
                    [entry["uri"], entry["suite"]] + entry["section"])
    return "# Managed by %s: %s (class %s)\n%s%s\n" % (MARKER, entry["name"], entry["class"],
                                                       "" if entry["enabled"] else "# ", line)


def render_deb822(entry):
    fields = [("Types", entry["type"]), ("URIs", entry["uri"]), ("Suites", entry["suite"])]
    if entry["section"]:
        fields.append(("Components", " ".join(entry["section"])))
    if entry["architectures"]:
        fields.append(("Architectures", " ".join(entry["architectures"])))
    if entry["signed_by"]:
        fields.append(("Signed-By", entry["signed_by"]))
    if entry["trusted"]:
        fields.append(("Trusted", "yes"))
    if not entry["enabled"]:
        fields.append(("Enabled", "no"))
    return "# Managed by %s: %s (class %s)\n%s" % (
        MARKER, entry["name"], entry["class"], "".join("%s: %s\n" % item for item in fields))


def render_pin(entry):
    return ("Explanation: Managed by %s: %s (class %s)\nPackage: *\nPin: %s\nPin-Priority: %d\n"
            % (MARKER, entry["name"], entry["class"], entry["pin"], entry["priority"]))


def source_path(entry, sources_dir):
    return os.path.join(sources_dir, entry["name"] + (".sources" if entry["format"] == "deb822" else ".list"))


def pin_path(entry, preferences_dir):
    return os.path.join(preferences_dir, entry["name"] + ".pref")


def _same_repo(uri_a, suite_a, uri_b, suite_b):
    return uri_a.rstrip("/") == uri_b.rstrip("/") and suite_a.rstrip("/") == suite_b.rstrip("/")


def _disable_list_lines(text, keys, exclusive, reason):
    out, disabled = [], []
    for line in text.splitlines():
        body = line.split("#", 1)[0].strip()
        parsed = parse_apt_sources_list(body) if body else []
        if parsed:
            uri, suite = _raw_uri_suite(body)
            dup = any(_same_repo(uri, suite, k[0], k[1]) for k in keys)
            if dup or exclusive:
                out.append("# %s: %s" % (reason(dup), line))
                disabled.append(body)
                continue
        out.append(line)
    return _join(out, text.endswith("\n") or not text), disabled


def _raw_uri_suite(line):
    match = _DEB_LINE.match(line)
    return match.group(3), match.group(4)


def _disable_deb822(text, keys, exclusive, reason):
    stanzas = re.split(r"(\n\s*\n)", text)
    disabled = []
    for number in range(0, len(stanzas), 2):
        stanza = stanzas[number]
        repos = [r for r in parse_apt_deb822(stanza) if r["enabled"]]
        if not repos:
            continue
        raw = re.findall(r"^URIs:\s*(.*)$", stanza, re.I | re.M)
        suites = re.findall(r"^Suites:\s*(.*)$", stanza, re.I | re.M)
        pairs = [(u, s) for u in " ".join(raw).split() for s in " ".join(suites).split()]
        dup = bool(pairs) and all(any(_same_repo(u, s, k[0], k[1]) for k in keys) for u, s in pairs)
        if dup or exclusive:
            lines = stanza.split("\n")
            lines = [line for line in lines if not re.match(r"^Enabled\s*:", line, re.I)]
            insert_at = len(lines)
            while insert_at > 0 and not lines[insert_at - 1].strip():
                insert_at -= 1
            lines[insert_at:insert_at] = ["# %s" % reason(dup), "Enabled: no"]
            stanzas[number] = "\n".join(lines)
            disabled.extend("%s %s" % pair for pair in pairs)
    return "".join(stanzas), disabled


def plan_apt(entries, files, pref_files, sources_dir, preferences_dir, exclusive=False):
    """Changes that apply the deb ``entries``.

    ``files``: {path: text} of sources.list and every sources.list.d/*.list|*.sources;
    ``pref_files``: {path: text} of preferences.d files. A change with after=None removes a
    pin file this module wrote earlier for a repository that no longer has a pin.
    """
    entries = [e for e in entries if e["type"] != "rpm"]
    texts = dict(files)
    targets = {}
    for entry in entries:
        path = source_path(entry, sources_dir)
        render = render_deb822 if entry["format"] == "deb822" else render_deb_list
        targets[path] = targets.get(path, "") + render(entry)
    keys = [(e["uri"], e["suite"]) for e in entries]
    disabled = []
    for path in sorted(texts):
        if path in targets:
            continue

        def reason(dup, path=path):
            return "disabled by %s (%s)" % (MARKER, "defined in the managed set" if dup else "not in the set")

        if path.endswith(".sources"):
            texts[path], lost = _disable_deb822(texts[path], keys, exclusive, reason)
        else:
            texts[path], lost = _disable_list_lines(texts[path], keys, exclusive, reason)
        disabled.extend(lost)
    texts.update(targets)
    changes = []
    for path in sorted(texts):
        if texts[path] != files.get(path):
            changes.append({"path": path, "before": files.get(path), "after": texts[path], "secret": False})
    for entry in entries:
        path = pin_path(entry, preferences_dir)
        before = pref_files.get(path)
        if entry["priority"] is None:
            if before is not None and MARKER in before:
                changes.append({"path": path, "before": before, "after": None, "secret": False})
            continue
        after = render_pin(entry)
        if after != before:
            changes.append({"path": path, "before": before, "after": after, "secret": False})
    return changes, disabled


# --------------------------------------------------------------------------- both


def redact(text):
    if text is None:
        return ""
    return re.sub(r"^(\s*password\s*=).*$", r"\1********", text, flags=re.I | re.M)


def diff_of(changes):
    return [{"before_header": c["path"] if c["before"] is not None else "%s (absent)" % c["path"],
             "after_header": c["path"] if c["after"] is not None else "%s (removed)" % c["path"],
             "before": redact(c["before"]), "after": redact(c["after"])} for c in changes]


def summary(entries):
    """What the set resolves to, safe to return (no passwords)."""
    return [{k: v for k, v in e.items() if k != "password"} for e in entries]
