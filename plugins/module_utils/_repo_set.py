# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A declarative repository set: validation, rendering and planning.

Input is the ``repo_setup`` list (type, name, uri, suite, section, priority)
plus a ``class`` per repository whose preset priority applies when none is
given. The planner reads the host's current files (as text), and returns the
file changes that make the host match the set; nothing here writes anything.

Every text that ends up in a file is validated by a full-string match, with
control characters (newline and carriage return included) refused, and names
checked for length before anything is written; what is rendered is parsed back
and compared with the set (``verify_changes``) before it replaces a file.

Node Python 2.7 and 3.6+; no Ansible imports, so it is unit-tested directly.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import importlib
import os
import re
import shutil
import stat

from ._files import CONTROL_NO_NEWLINE_RE, NAME_MAX, TEXT_TYPE, FileProblem, atomic_write, makedirs, read_text
from ._repo_files import (DEB_LINE, deb822_fields, parse_apt_deb822, parse_apt_preferences, parse_apt_sources_list,
                          parse_ini)

STRING_TYPES = (str, TEXT_TYPE)


def _url_module():
    """urllib.parse (Python 3) or urlparse (2.7), without importing Ansible."""
    try:
        return importlib.import_module("urllib.parse")
    except ImportError:
        return importlib.import_module("urlparse")


urlsplit = _url_module().urlsplit

CLASSES = ("upstream", "extra", "vendor", "holdback", "developer")
# yum/dnf: 1-99, the lower value wins.
DEFAULT_YUM_PRIORITIES = {"upstream": 70, "extra": 70, "vendor": 50, "holdback": 30, "developer": 10}
# APT pins: None writes no pin (the repository keeps APT's default 500).
DEFAULT_APT_PINS = {"upstream": None, "extra": None, "vendor": 1050, "holdback": 1200, "developer": 1300}

MARKER = "fuel.lifecycle.repo_priorities"
RPM_FIELDS = ("type", "name", "uri", "priority", "class", "enabled", "description", "gpgcheck", "gpgkey",
              "sslverify", "proxy", "username", "password", "suite", "section")
DEB_FIELDS = ("type", "name", "uri", "suite", "section", "priority", "class", "enabled", "line", "signed_by",
              "pin", "architectures", "format", "trusted", "origin", "label")

# A name is part of a file name (<name>.repo, .list, .sources, .pref): bounded so the
# longest of them stays within NAME_MAX, checked before anything is written.
NAME_MAX_LEN = NAME_MAX - len(".sources") - 1
_RPM_NAME = re.compile(r"\A[A-Za-z0-9_.:-]+\Z")
# APT reads only files whose names consist of these characters.
_DEB_NAME = re.compile(r"\A[A-Za-z0-9_.-]+\Z")
_SUITE = re.compile(r"\A[A-Za-z0-9_.~+/-]+\Z")
_COMPONENT = re.compile(r"\A[A-Za-z0-9_.~+/-]+\Z")
_ARCH = re.compile(r"\A[a-z0-9][a-z0-9-]*\Z")
_KEYRING = re.compile(r"\A/[A-Za-z0-9_.+/@:-]+\Z")
# A value of an APT pin's release/origin field: printable, no comma (the field separator).
_PIN_VALUE = re.compile(r"\A[^\s,=\x00-\x1f\x7f]([^,=\x00-\x1f\x7f]*[^\s,=\x00-\x1f\x7f])?\Z")
_PIN_RELEASE_KEYS = ("a", "n", "v", "o", "l", "c", "b")
_INT = re.compile(r"\A\s*-?[0-9]+\s*\Z")
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
    "origin": {"type": "str"},
    "label": {"type": "str"},
    "format": {"type": "str", "choices": ["list", "deb822"], "default": "list"},
}


RPM_ONLY = ("description", "gpgcheck", "gpgkey", "sslverify", "proxy", "username", "password")
DEB_ONLY = ("suite", "section", "line", "signed_by", "architectures", "trusted", "pin", "format", "origin", "label")


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


def _is_text(value):
    return isinstance(value, STRING_TYPES)


def _where(index, entry):
    name = entry.get("name") if isinstance(entry, dict) else None
    if not _is_text(name) or CONTROL_NO_NEWLINE_RE.search(name) or len(name) > 80:
        name = None
    return "repos[%d]%s" % (index, " (%s)" % name if name else "")


def _fail(index, entry, field, message):
    raise RepoSetError("%s: field '%s': %s" % (_where(index, entry), field, message))


def _shown(value):
    """A value as shown in a message: repr, cut when long."""
    text = repr(value)
    return text if len(text) <= 120 else text[:100] + "...(%d characters)" % len(value if _is_text(value) else text)


def _text_field(index, entry, field, value, max_len=4096):
    """A single-line string field: no control character (newline, CR included), bounded length."""
    if not _is_text(value):
        _fail(index, entry, field, "must be a string, not %s" % type(value).__name__)
    match = CONTROL_NO_NEWLINE_RE.search(value)
    if match:
        _fail(index, entry, field, "control character %r is not allowed" % match.group(0))
    if len(value) > max_len:
        _fail(index, entry, field, "%d characters, at most %d are allowed" % (len(value), max_len))
    return value


def check_uri(uri, schemes):
    """Why ``uri`` is unusable, or None."""
    if not _is_text(uri) or not uri:
        return "a URI is required"
    if CONTROL_NO_NEWLINE_RE.search(uri) or any(c.isspace() for c in uri):
        return "URI %s contains whitespace or a control character" % _shown(uri)
    if len(uri) > 2048:
        return "URI is %d characters, at most 2048 are allowed" % len(uri)
    if any(c in uri for c in "[]\"'#") and not uri.startswith("http://["):
        return "URI %s contains a character APT or yum would read as syntax" % _shown(uri)
    try:
        parts = urlsplit(uri)
    except ValueError as exc:
        return "URI %s: %s" % (_shown(uri), exc)
    if parts.scheme not in schemes:
        return "URI %s: scheme must be one of %s" % (_shown(uri), ", ".join(schemes))
    if parts.scheme in _NET_SCHEMES or parts.scheme.endswith(("+http", "+https")):
        if not parts.hostname:
            return "URI %s has no host" % _shown(uri)
        try:
            parts.port  # pylint: disable=pointless-statement
        except ValueError:
            return "URI %s has an invalid port" % _shown(uri)
    elif not parts.path.startswith("/"):
        return "URI %s needs an absolute path" % _shown(uri)
    return None


def parse_deb_line(line):
    """``deb [opts] uri suite [components]`` as a dict; ValueError when malformed."""
    if not _is_text(line) or CONTROL_NO_NEWLINE_RE.search(line):
        raise ValueError("not a single-line deb line: %s" % _shown(line))
    match = DEB_LINE.match(line.strip())
    if not match:
        raise ValueError("not a deb line: %s (expected 'deb [options] URI SUITE [COMPONENT...]')" % _shown(line))
    kind, opts, uri, suite, components = match.groups()
    options = {}
    for item in (opts or "").split():
        if "=" not in item:
            raise ValueError("option %r in %s is not key=value" % (item, _shown(line)))
        key, value = item.split("=", 1)
        options[key] = value
    return {"type": kind, "uri": uri, "suite": suite, "section": (components or "").split(), "options": options}


def _as_int(value, index, entry, field):
    if isinstance(value, bool):
        _fail(index, entry, field, "%r is not an integer" % (value,))
    if isinstance(value, int):
        return value
    if _is_text(value) and _INT.match(value) and len(value) < 12:
        return int(value)
    return _fail(index, entry, field, "%s is not an integer" % _shown(value))


def _as_bool(value, index, entry, field):
    if isinstance(value, bool):
        return value
    if _is_text(value) and value.strip().lower() in _TRUE + ("0", "no", "false", "off"):
        return value.strip().lower() in _TRUE
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    return _fail(index, entry, field, "%s is not a boolean" % _shown(value))


def _sections(value, index, entry):
    if value is None or value == "":
        return []
    if _is_text(value):
        _text_field(index, entry, "section", value)
        items = value.split()
    else:
        items = value
    if not isinstance(items, list) or not all(_is_text(i) for i in items):
        _fail(index, entry, "section", "must be a string or a list of strings")
    for item in items:
        if not _COMPONENT.match(item) or len(item) > 200:
            _fail(index, entry, "section", "invalid component %s" % _shown(item))
    return list(items)


def _architectures(value, index, entry):
    if value is None or value == "" or value == []:
        return []
    items = value.replace(",", " ").split() if _is_text(value) else value
    if not isinstance(items, list) or not all(_is_text(i) for i in items):
        _fail(index, entry, "architectures", "must be a list of architecture names")
    for item in items:
        if not _ARCH.match(item) or len(item) > 64:
            _fail(index, entry, "architectures", "%s is not an architecture name (lower-case letters, digits, -)"
                  % _shown(item))
    return list(items)


def _int_like(value):
    """Integers given as text (AWX surveys, extra vars) become integers; anything else is kept."""
    if _is_text(value) and _INT.match(value) and len(value) < 12:
        return int(value)
    return value


def _tables(yum_priorities, apt_pins):
    yum = dict(DEFAULT_YUM_PRIORITIES)
    if not isinstance(yum_priorities or {}, dict):
        raise RepoSetError("yum_priorities: must be a dict of class: priority")
    if not isinstance(apt_pins or {}, dict):
        raise RepoSetError("apt_pins: must be a dict of class: pin priority")
    yum.update(dict((k, _int_like(v)) for k, v in (yum_priorities or {}).items()))
    apt = dict(DEFAULT_APT_PINS)
    apt.update(dict((k, _int_like(v)) for k, v in (apt_pins or {}).items()))
    for table, name in ((yum, "yum_priorities"), (apt, "apt_pins")):
        for cls in table:
            if not _is_text(cls) or cls not in CLASSES:
                raise RepoSetError("%s: %s is not a class (%s)" % (name, _shown(cls), ", ".join(CLASSES)))
    for cls, value in yum.items():
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 99:
            raise RepoSetError("yum_priorities.%s: %s is not an integer from 1 to 99" % (cls, _shown(value)))
    for cls, value in apt.items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or not -32768 <= value <= 32767):
            raise RepoSetError("apt_pins.%s: %s is not an integer from -32768 to 32767 (or null for no pin)"
                               % (cls, _shown(value)))
    return yum, apt


def normalize(entries, yum_priorities=None, apt_pins=None):
    """Validate the whole set; return normalized entries or raise RepoSetError."""
    yum, apt = _tables(yum_priorities, apt_pins)
    if not isinstance(entries, list):
        raise RepoSetError("repos: must be a list")
    result, names = [], {}
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise RepoSetError("repos[%d]: must be a dict, got %s" % (index, _shown(entry)))
        kind = entry.get("type")
        if kind == "rpm":
            norm = _normalize_rpm(index, entry, yum)
        elif kind in ("deb", "deb-src"):
            norm = _normalize_deb(index, entry, apt)
        elif kind is None and entry.get("line"):
            norm = _normalize_deb(index, entry, apt)
        else:
            _fail(index, entry, "type", "unknown type %s (expected deb, deb-src or rpm)" % _shown(kind))
        key = (norm["type"] == "rpm", norm["name"])
        if key in names:
            _fail(index, entry, "name", "duplicate name %r (also repos[%d])" % (norm["name"], names[key]))
        names[key] = index
        result.append(norm)
    _check_duplicate_sources(result)
    _check_pin_ambiguity(result)
    return result


def _name(index, entry, pattern, what):
    name = entry.get("name")
    if not _is_text(name) or not pattern.match(name):
        _fail(index, entry, "name", "%s is not a valid %s" % (_shown(name), what))
    if len(name) > NAME_MAX_LEN:
        _fail(index, entry, "name", "%d characters, at most %d are allowed (it is part of a file name)"
              % (len(name), NAME_MAX_LEN))
    if name in (".", "..") or name.startswith("."):
        _fail(index, entry, "name", "%r must not start with a dot" % name)
    return name


def _common(index, entry, allowed, table, kind):
    unknown = sorted(str(k) for k in set(entry) - set(allowed))
    if unknown:
        _fail(index, entry, unknown[0][:60], "unknown field for a %s repository (allowed: %s)"
              % (kind, ", ".join(allowed)))
    cls = entry.get("class") or "extra"
    if not _is_text(cls) or cls not in table:
        _fail(index, entry, "class", "unknown class %s (expected one of %s)" % (_shown(cls), ", ".join(sorted(table))))
    enabled = _as_bool(entry.get("enabled", True), index, entry, "enabled")
    return cls, enabled


def _normalize_rpm(index, entry, yum):
    name = _name(index, entry, _RPM_NAME, "repository id (letters, digits, _ . : -)")
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
            _text_field(index, entry, field, value)
            if value != value.strip():
                _fail(index, entry, field, "leading or trailing blanks would be lost in the .repo file")
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


def _pin_value(index, entry, field, value):
    _text_field(index, entry, field, value, 256)
    if not _PIN_VALUE.match(value):
        _fail(index, entry, field, "%s cannot be written into an APT pin (no comma, '=' or blanks at the ends)"
              % _shown(value))
    return value


def check_pin_expression(expression):
    """Why ``expression`` is not an APT pin this module writes, or None."""
    if not _is_text(expression) or CONTROL_NO_NEWLINE_RE.search(expression) or len(expression) > 512:
        return "%s is not a single-line APT pin" % _shown(expression)
    match = re.match(r"\A(release|origin|version)\s+(\S.*?)\Z", expression)
    if not match:
        return "%s is not an APT pin (release ..., origin ..., version ...)" % _shown(expression)
    kind, rest = match.groups()
    if kind == "release" and "=" in rest:
        for part in rest.split(","):
            item = re.match(r"\A\s*([a-z])\s*=\s*(\S(?:.*\S)?)\s*\Z", part)
            if not item or item.group(1) not in _PIN_RELEASE_KEYS:
                return "%s: %r is not key=value with key one of %s" % (_shown(expression), part,
                                                                       ", ".join(_PIN_RELEASE_KEYS))
    return None


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
            _fail(index, entry, "type", "type %s does not match the line's %r" % (_shown(entry["type"]), parsed["type"]))
        entry.update(type=parsed["type"], uri=parsed["uri"], suite=parsed["suite"], section=parsed["section"])
        options = parsed["options"]
    name = _name(index, entry, _DEB_NAME, "name (APT only reads files named with letters, digits, _ . -)")
    cls, enabled = _common(index, entry, DEB_FIELDS, apt, "deb")
    problem = check_uri(entry.get("uri"), _DEB_SCHEMES)
    if problem:
        _fail(index, entry, "uri", problem)
    if urlsplit(entry["uri"]).username:
        _fail(index, entry, "uri", "credentials in a deb URI are not accepted: put them in /etc/apt/auth.conf.d")
    suite = entry.get("suite")
    if not _is_text(suite) or not _SUITE.match(suite) or len(suite) > 200:
        _fail(index, entry, "suite", "%s is not a valid suite" % _shown(suite))
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
    if signed_by is not None and (not _is_text(signed_by) or not _KEYRING.match(signed_by)
                                  or "/../" in signed_by + "/" or len(signed_by) > 1024):
        _fail(index, entry, "signed_by", "must be the absolute path of a keyring file (no blanks, no '..'), not %s"
              % _shown(signed_by))
    arch = _architectures(entry.get("architectures") or options.pop("arch", None), index, entry)
    trusted = _as_bool(entry.get("trusted", options.pop("trusted", False)), index, entry, "trusted")
    if options:
        _fail(index, entry, "line", "unsupported option(s) %s" % ", ".join(sorted(options)))
    fmt = entry.get("format") or "list"
    if fmt not in ("list", "deb822"):
        _fail(index, entry, "format", "%s is not list or deb822" % _shown(fmt))
    origin = entry.get("origin")
    label = entry.get("label")
    if origin not in (None, ""):
        _pin_value(index, entry, "origin", origin)
    if label not in (None, ""):
        _pin_value(index, entry, "label", label)
    pin_expr = entry.get("pin")
    if pin_expr is None:
        if origin or label:
            # APT's o= and l= are the Origin and Label of the Release file.
            pin_expr = "release " + ",".join(
                "%s=%s" % item for item in (("o", origin), ("l", label)) if item[1])
        elif suite.endswith("/"):
            if pin is not None:
                _fail(index, entry, "pin", "a flat repository needs an explicit pin (or origin/label)")
            pin_expr = None
        else:
            # APT's n= is the Codename of the Release file, the name sources lines carry
            # (a= would be the Suite: 'stable', 'oldstable-updates', which a set rarely names).
            pin_expr = "release n=%s" % suite
    else:
        problem = check_pin_expression(pin_expr)
        if problem:
            _fail(index, entry, "pin", problem)
    return {"type": entry.get("type") or "deb", "name": name, "uri": entry["uri"], "suite": suite,
            "section": sections, "class": cls, "priority": pin, "enabled": enabled, "signed_by": signed_by,
            "architectures": arch, "trusted": trusted, "format": fmt, "pin": pin_expr,
            "origin": origin or None, "label": label or None}


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


def _lines(text):
    """Lines of a text split on newline only (a foreign file's other bytes are kept as they are)."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _yum_sections(text):
    """[(name, first_line, end_line)] of an ini text, line indexes."""
    lines = _lines(text)
    result, current = [], None
    for number, line in enumerate(lines):
        match = re.match(r"\A\s*\[([^\]]+)\]\s*\Z", line)
        if match:
            if current:
                result.append((current[0], current[1], number))
            current = (match.group(1).strip(), number)
    if current:
        result.append((current[0], current[1], len(lines)))
    return result


def _set_key(lines, start, end, key, value):
    """Set ``key=value`` in the section lines[start:end]; return the new end."""
    pattern = re.compile(r"\A\s*%s\s*[=:]" % re.escape(key), re.IGNORECASE)
    new = "%s=%s" % (key, value)
    for number in range(start + 1, end):
        if pattern.match(lines[number]):
            lines[number] = new
            # A continuation of the old value would be read as part of the new one.
            while number + 1 < end and lines[number + 1][:1] in (" ", "\t") and lines[number + 1].strip():
                del lines[number + 1]
                end -= 1
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

    Returns (changes, disabled): changes are dicts path/before/after/secret/kind; disabled
    lists the repository ids turned off because they are not in the set.
    """
    entries = [e for e in entries if e["type"] == "rpm"]
    texts = dict(files)
    wanted = dict((e["name"], e) for e in entries)
    placed = {}
    disabled = []
    for path in sorted(texts):
        lines = _lines(texts[path])
        had_newline = texts[path].endswith("\n")
        offset = 0
        for name, start, end in _yum_sections(texts[path]):
            start, end = start + offset, end + offset
            if name in wanted and name not in placed:
                placed[name] = path
                new_end = end
                for key, value in _yum_values(wanted[name], new=False):
                    new_end = _set_key(lines, start, new_end, key, value)
                offset += new_end - end
            elif exclusive and name not in wanted:
                section_text = "\n".join(lines[start:end])
                if not re.search(r"^\s*enabled\s*[=:]\s*(0|no|false|off)\s*$", section_text, re.I | re.M):
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
        placed[entry["name"]] = path
        current = texts.get(path, "")
        if current and not current.endswith("\n"):
            current += "\n"
        texts[path] = current + ("\n" if current.strip() else "") + render_yum_section(entry)
    changes = []
    for path in sorted(texts):
        before = files.get(path)
        secret = bool(re.search(r"^\s*password\s*[=:]", texts[path], re.I | re.M))
        if texts[path] != before:
            changes.append({"path": path, "before": before, "after": texts[path], "secret": secret,
                            "entries": [wanted[n] for n in sorted(placed) if placed[n] == path]})
        elif secret:
            # Same text, but a file holding a password must be 0600: the module compares the mode.
            changes.append({"path": path, "before": before, "after": before, "secret": True, "mode_only": True,
                            "entries": [wanted[n] for n in sorted(placed) if placed[n] == path]})
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


def _covered(uri, suite, keys):
    return any(_same_repo(uri, suite, k[0], k[1]) for k in keys)


def _disable_list_lines(text, keys, exclusive, reason):
    out, disabled = [], []
    for line in _lines(text):
        body = line.split("#", 1)[0].strip()
        match = DEB_LINE.match(body) if body else None
        if match:
            dup = _covered(match.group(3), match.group(4), keys)
            if dup or exclusive:
                out.append("# %s: %s" % (reason(dup), line))
                disabled.append(body)
                continue
        out.append(line)
    return _join(out, text.endswith("\n") or not text), disabled


def _carry_over(stanza, remaining):
    """Copies of a stanza for the (uri, suite) pairs the set does not manage."""
    uris = []
    for uri, _suite in remaining:
        if uri not in uris:
            uris.append(uri)
    groups = {}
    for uri in uris:
        groups.setdefault(tuple(s for u, s in remaining if u == uri), []).append(uri)
    kept, skip = [], False
    for line in stanza.split("\n"):
        if skip and line[:1] in (" ", "\t") and line.strip():
            continue
        skip = bool(re.match(r"\A(URIs|Suites|Enabled)\s*:", line, re.I))
        if not skip:
            kept.append(line)
    copies = []
    for suites, group in sorted(groups.items()):
        lines = ["# carried over by %s: the suites of the stanza above that are not in the set" % MARKER]
        body = [line for line in kept if line.strip()]
        # Fields in their usual order: Types first if present, then URIs and Suites.
        insert_at = 1 if body and re.match(r"\ATypes\s*:", body[0], re.I) else 0
        body[insert_at:insert_at] = ["URIs: %s" % " ".join(group), "Suites: %s" % " ".join(suites)]
        copies.append("\n".join(lines + body))
    return copies


def _disable_deb822(text, keys, exclusive, reason):
    """Disable stanzas that the set defines (or all, with exclusive); split multi-suite stanzas.

    A stanza some of whose suites are in the set is disabled and its other suites are
    carried over, unchanged otherwise, into a stanza of their own right after it: APT
    never sees one source twice (nor with two Signed-By), the rest stays enabled.
    """
    stanzas = re.split(r"(\n[ \t]*\n)", text)
    disabled = []
    for number in range(0, len(stanzas), 2):
        stanza = stanzas[number]
        fields = deb822_fields(stanza)
        if "uris" not in fields or fields.get("enabled", "yes").strip().lower() not in _TRUE:
            continue
        pairs = [(u, s) for u in fields["uris"].split() for s in fields.get("suites", "").split()]
        covered = [p for p in pairs if _covered(p[0], p[1], keys)]
        if not (covered or exclusive):
            continue
        remaining = [] if exclusive else [p for p in pairs if p not in covered]
        dup = bool(covered) and not remaining
        lines = stanza.split("\n")
        lines = [line for line in lines if not re.match(r"\AEnabled\s*:", line, re.I)]
        insert_at = len(lines)
        while insert_at > 0 and not lines[insert_at - 1].strip():
            insert_at -= 1
        note = reason(dup) if not remaining else reason(True) + ", other suites carried over below"
        lines[insert_at:insert_at] = ["# %s" % note, "Enabled: no"]
        for copy in _carry_over(stanza, remaining) if remaining else []:
            lines[insert_at + 2:insert_at + 2] = ["", copy]
            insert_at += 2
        stanzas[number] = "\n".join(lines)
        disabled.extend("%s %s" % pair for pair in (covered if not exclusive else pairs))
    return "".join(stanzas), disabled


def plan_apt(entries, files, pref_files, sources_dir, preferences_dir, exclusive=False):
    """Changes that apply the deb ``entries``.

    ``files``: {path: text} of sources.list and every sources.list.d/*.list|*.sources;
    ``pref_files``: {path: text} of preferences.d files. A change with after=None removes a
    pin file this module wrote earlier for a repository that no longer has a pin.
    """
    entries = [e for e in entries if e["type"] != "rpm"]
    texts = dict(files)
    targets, owners = {}, {}
    for entry in entries:
        path = source_path(entry, sources_dir)
        render = render_deb822 if entry["format"] == "deb822" else render_deb_list
        targets[path] = targets.get(path, "") + render(entry)
        owners.setdefault(path, []).append(entry)
    keys = [(e["uri"], e["suite"]) for e in entries]
    disabled = []
    for path in sorted(texts):
        if path in targets:
            continue

        def reason(dup):
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
            changes.append({"path": path, "before": files.get(path), "after": texts[path], "secret": False,
                            "kind": "sources", "entries": owners.get(path, [])})
    for entry in entries:
        path = pin_path(entry, preferences_dir)
        before = pref_files.get(path)
        if entry["priority"] is None:
            if before is not None and MARKER in before:
                changes.append({"path": path, "before": before, "after": None, "secret": False, "kind": "pin",
                                "entries": []})
            continue
        after = render_pin(entry)
        if after != before:
            changes.append({"path": path, "before": before, "after": after, "secret": False, "kind": "pin",
                            "entries": [entry]})
    return changes, disabled


# --------------------------------------------------------------------------- read back


def _enabled_sources(text, path):
    parse = parse_apt_deb822 if path.endswith(".sources") else parse_apt_sources_list
    return sorted((r["type"], r["uri"], r["suite"], r["section"], r["signed_by"], tuple(r["architectures"]))
                  for r in parse(text, path) if r["enabled"])


def _expected_source(entry):
    return (entry["type"], entry["uri"], entry["suite"], " ".join(entry["section"]), entry["signed_by"] or "",
            tuple(entry["architectures"]))


def verify_change(change):
    """Parse what would be written back and compare it with what the set asks; ValueError when not."""
    path, after, before = change["path"], change["after"], change["before"]
    if after is None or change.get("mode_only"):
        return
    if "\r" in after.replace("\r\n", "") and (before is None or "\r" not in before):
        raise ValueError("%s: the rendered file holds a carriage return" % path)
    if path.endswith(".repo"):
        sections = parse_ini(after)
        names = [s for s, _values in sections]
        expected = set(s for s, _values in parse_ini(before or "")) | set(e["name"] for e in change["entries"])
        if set(names) != expected:
            raise ValueError("%s: reads back as sections %s, not %s" % (path, sorted(set(names)), sorted(expected)))
        values = {}
        for section, items in sections:
            values.setdefault(section, items)
        for entry in change["entries"]:
            for key, value in _yum_values(entry, new=False):
                got = values[entry["name"]].get(key)
                if got != (value if isinstance(value, STRING_TYPES) else str(value)):
                    raise ValueError("%s: [%s] %s reads back as %r" % (path, entry["name"], key, got))
        return
    if change.get("kind") == "pin":
        entry = change["entries"][0]
        pins = parse_apt_preferences(after, path)
        if [(p["package"], p["pin"], p["priority"]) for p in pins] != [("*", entry["pin"], entry["priority"])]:
            raise ValueError("%s: reads back as pins %r, not %r" % (path, pins, entry["pin"]))
        return
    got = _enabled_sources(after, path)
    if change["entries"]:
        wanted = sorted(_expected_source(e) for e in change["entries"] if e["enabled"])
        if got != wanted:
            raise ValueError("%s: reads back as sources %r, not %r" % (path, got, wanted))
        return
    # A file of another tool: this module only disables sources or carries them over.
    old = set((s[0], s[1], s[2]) for s in _enabled_sources(before or "", path))
    new = [(s[0], s[1], s[2]) for s in got]
    if not set(new) <= old or len(new) != len(set(new)):
        raise ValueError("%s: the edit would enable %r" % (path, sorted(set(new) - old) or new))


def verify_changes(changes):
    for change in changes:
        verify_change(change)


# --------------------------------------------------------------------------- both


def redact(text):
    if text is None:
        return ""
    return re.sub(r"^(\s*password\s*[=:]).*$", r"\1********", text, flags=re.I | re.M)


def diff_of(changes):
    return [{"before_header": c["path"] if c["before"] is not None else "%s (absent)" % c["path"],
             "after_header": c["path"] if c["after"] is not None else "%s (removed)" % c["path"],
             "before": redact(c["before"]), "after": redact(c["after"])} for c in changes if not c.get("mode_only")]


def summary(entries):
    """What the set resolves to, safe to return (no passwords)."""
    return [dict((k, v) for k, v in e.items() if k != "password") for e in entries]


# --------------------------------------------------------------------------- on the host


class HostProblem(Exception):
    """A file or directory of the host stops the run before anything is written."""


def _read_all(paths):
    """{path: text} of the files that exist; FileProblem (non-UTF-8, directory, unreadable) names one."""
    texts = {}
    for path in paths:
        text = read_text(path)
        if text is not None:
            texts[path] = text
    return texts


def _listing(directory, suffixes):
    try:
        names = os.listdir(directory)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR) and not os.path.lexists(directory):
            return []
        raise FileProblem(directory, "cannot be listed: %s" % (exc.strerror or exc))
    return [os.path.join(directory, n) for n in sorted(names) if n.endswith(suffixes)]


def plan_host(entries, manager, params):
    """Read every file the run would touch, plan the changes, parse them back: nothing written.

    ``params``: exclusive, yum_repos_dir, apt_sources_dir, apt_sources_list, apt_preferences_dir.
    Returns (changes, disabled, dirs). Raises RepoSetError, FileProblem or HostProblem.
    """
    if manager == "rpm":
        directory = params["yum_repos_dir"]
        if not os.path.isdir(directory):
            raise HostProblem("yum_repos_dir: %s is not a directory on this host" % directory)
        files = _read_all(_listing(directory, (".repo",)))
        changes, disabled = plan_yum(entries, files, directory, params["exclusive"])
        dirs = [directory]
    else:
        for entry in entries:
            if entry["signed_by"] and not os.path.isfile(entry["signed_by"]):
                raise HostProblem("repos (%s): field 'signed_by': keyring %s does not exist on this host"
                                  % (entry["name"], entry["signed_by"]))
        sources_dir, prefs_dir = params["apt_sources_dir"], params["apt_preferences_dir"]
        for directory, field in ((sources_dir, "apt_sources_dir"), (prefs_dir, "apt_preferences_dir")):
            if os.path.lexists(directory) and not os.path.isdir(directory):
                raise HostProblem("%s: %s exists and is not a directory" % (field, directory))
        files = _read_all([params["apt_sources_list"]] + _listing(sources_dir, (".list", ".sources")))
        paths = [pin_path(e, prefs_dir) for e in entries]
        # A file the set is to write must be a file (or absent): a directory in its place is refused now.
        paths += [source_path(e, sources_dir) for e in entries]
        prefs = _read_all([p for p in paths if p.startswith(prefs_dir.rstrip("/") + "/")])
        _read_all([p for p in paths if p not in prefs and p not in files])
        changes, disabled = plan_apt(entries, files, prefs, sources_dir, prefs_dir, params["exclusive"])
        dirs = [sources_dir, prefs_dir]
    for change in changes:
        info = _mode_of(change["path"])
        change["mode"] = 0o600 if change["secret"] else (info if info is not None else 0o644)
        if change.get("mode_only") and info == change["mode"]:
            change["skip"] = True
    changes = [c for c in changes if not c.get("skip")]
    verify_changes(changes)
    return changes, disabled, dirs


def _mode_of(path):
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return None


def _order(change):
    """Write order: new pins and managed sources first, edits of other files next, removals last.

    A failure part-way leaves at worst a source listed twice or a pin for a source
    not yet disabled elsewhere, both of which the next run finishes.
    """
    if change["after"] is None:
        return 3
    if change.get("kind") == "pin":
        return 0
    return 1 if change["entries"] else 2


def apply_changes(changes, dirs, backup=None, source_dir=None):
    """Write the planned changes, one atomic replacement per file."""
    if backup:
        shutil.copytree(source_dir, backup, symlinks=True)
    for directory in dirs:
        makedirs(directory)
    for change in sorted(changes, key=_order):
        if change["after"] is None:
            try:
                os.remove(change["path"])
            except OSError as exc:
                if exc.errno != errno.ENOENT:
                    raise FileProblem(change["path"], "cannot be removed: %s" % (exc.strerror or exc))
        else:
            atomic_write(change["path"], change["after"], change["mode"])
