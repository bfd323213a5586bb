# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Release status of a vendor cloud: published next to the mirror, shown and enforced on every node.

Runs on the node's Python (2.7 or 3.6+), standard library only. Installed by
the ``fuel.lifecycle.release_status`` role as a library file
(``/usr/local/lib/fuel-release-status/fuel_release_status.py``, also imported
by the dnf plugin) with a ``/usr/local/sbin/fuel-release-status`` wrapper.

Commands:

* ``publish --input SPEC --out DIR``: validate a status document, write
  ``DIR/status.json`` (atomically), sign it (``status.json.asc``, detached,
  armoured) and render ``DIR/index.html``.
* ``refresh``: fetch the status (signature verified with gpgv against the
  site keyring, or over TLS), cache it, rewrite the MOTD fragment. Never
  fails: when the source is unreachable the MOTD says the status is unknown.
* ``motd``: print the MOTD fragment from the cache.
* ``apt-post-update``: ``refresh`` with a short timeout, then a warning for
  each flagged version APT would now install. Always exits 0.
* ``apt-check``: the ``DPkg::Pre-Install-Pkgs`` hook (protocol version 2 or
  3 on stdin): a warning per flagged version about to be unpacked; exit 1
  (APT stops before dpkg runs) only in strict mode and only for a flagged
  version. Reads the local cache only: an unreachable status source never
  blocks package management.
* ``check NAME=VERSION ...``: the same decision for any caller (yum plugin).
* ``installed``: the flagged versions installed on this node, as JSON.

The status document (``format: 1``)::

    {"format": 1, "release": "9.0", "updated": "2026-12-01T02:00:00Z",
     "problem_packages": [{"name": "libfuel-common", "versions": ["1.2-0mos3"],
                           "reason": "breaks fuel-agent restarts"}],
     "held_back": [{"name": "fuel-agent", "version": "1.0-0mos2", "reason": "..."}]}
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import errno
import json
import os
import re
import subprocess
import sys
import tempfile
import time

try:
    from urllib.request import urlopen
    from urllib.error import URLError
except ImportError:  # Python 2.7
    # Not a module: this runs from cron and package manager hooks, without ansible.module_utils.
    from urllib2 import urlopen, URLError  # novermin pylint: disable=import-error,ansible-bad-import-from

try:
    TEXT = unicode  # noqa: F821 pylint: disable=undefined-variable
except NameError:
    TEXT = str

FORMAT = 1
MAX_BYTES = 1024 * 1024
NAME_RE = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9.+_-]{0,127}\Z")
VERSION_RE = re.compile(r"\A[A-Za-z0-9.+~:_-]{1,128}\Z")
RELEASE_RE = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9._-]{0,31}\Z")
UPDATED_RE = re.compile(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z\Z")
CONTROL_RE = re.compile(u"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
DEFAULT_CONFIG = "/etc/fuel-release-status/config.json"
DEFAULTS = {
    "url": "",
    "keyring": "",
    "require_signature": True,
    "strict": False,
    "timeout": 5,
    "cache_dir": "/var/cache/fuel-release-status",
    "motd_path": "/etc/motd.d/fuel-release-status",
    "family": "deb",
}


class StatusError(Exception):
    """The status document, its signature or the configuration cannot be used."""


# ---------------------------------------------------------------- the document

def _text(value, field, pattern=None, max_len=512):
    if isinstance(value, bytes) or not isinstance(value, (str, TEXT)):
        raise StatusError("%s must be a string" % field)
    if not value or len(value) > max_len or CONTROL_RE.search(value):
        raise StatusError("%s must be 1-%d characters without control characters" % (field, max_len))
    if pattern is not None and not pattern.match(value):
        raise StatusError("%s: %r is not allowed" % (field, value))
    return TEXT(value)


def _reject_constant(name):
    raise ValueError("%s is not a number JSON allows" % name)


def _pairs(items):
    result = {}
    for key, value in items:
        if key in result:
            raise ValueError("duplicate key %r" % key)
        result[key] = value
    return result


def loads(text, what):
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise StatusError("%s: not UTF-8" % what)
    try:
        return json.loads(text, object_pairs_hook=_pairs, parse_constant=_reject_constant)
    except ValueError as exc:
        raise StatusError("%s: not valid JSON: %s" % (what, exc))


def validate(data, what="status"):
    """A status document checked field by field; returns a normalised copy."""
    if not isinstance(data, dict):
        raise StatusError("%s: must be a JSON object" % what)
    unknown = sorted(set(data) - set(["format", "release", "updated", "problem_packages", "held_back"]))
    if unknown:
        raise StatusError("%s: unknown fields %s" % (what, ", ".join(repr(k) for k in unknown)))
    if data.get("format") != FORMAT or isinstance(data.get("format"), bool):
        raise StatusError("%s.format must be %d" % (what, FORMAT))
    result = {"format": FORMAT,
              "release": _text(data.get("release"), what + ".release", RELEASE_RE),
              "updated": _text(data.get("updated"), what + ".updated", UPDATED_RE),
              "problem_packages": [], "held_back": []}
    problems = data.get("problem_packages", [])
    if not isinstance(problems, list) or len(problems) > 10000:
        raise StatusError("%s.problem_packages must be a list" % what)
    for index, entry in enumerate(problems):
        at = "%s.problem_packages[%d]" % (what, index)
        if not isinstance(entry, dict) or sorted(entry) != ["name", "reason", "versions"]:
            raise StatusError("%s must be an object with name, versions and reason" % at)
        versions = entry["versions"]
        if not isinstance(versions, list) or not versions or len(versions) > 1000:
            raise StatusError("%s.versions must be a non-empty list" % at)
        result["problem_packages"].append({
            "name": _text(entry["name"], at + ".name", NAME_RE),
            "versions": [_text(v, "%s.versions[%d]" % (at, i), VERSION_RE) for i, v in enumerate(versions)],
            "reason": _text(entry["reason"], at + ".reason"),
        })
    held = data.get("held_back", [])
    if not isinstance(held, list) or len(held) > 10000:
        raise StatusError("%s.held_back must be a list" % what)
    for index, entry in enumerate(held):
        at = "%s.held_back[%d]" % (what, index)
        if not isinstance(entry, dict) or sorted(entry) != ["name", "reason", "version"]:
            raise StatusError("%s must be an object with name, version and reason" % at)
        result["held_back"].append({
            "name": _text(entry["name"], at + ".name", NAME_RE),
            "version": _text(entry["version"], at + ".version", VERSION_RE),
            "reason": _text(entry["reason"], at + ".reason"),
        })
    return result


def normal_version(version):
    """Versions compared as strings, an explicit zero epoch ignored (``0:1.0-1`` is ``1.0-1``)."""
    version = TEXT(version).strip()
    return version[2:] if version.startswith("0:") else version


def flagged(status, name, version):
    """The problem entry flagging ``name`` at ``version``, or None."""
    if not status:
        return None
    wanted = normal_version(version)
    for entry in status.get("problem_packages", []):
        if entry["name"] == name and wanted in [normal_version(v) for v in entry["versions"]]:
            return entry
    return None


def warning_line(entry, name, version, strict):
    return "fuel-release-status: %s %s is flagged by the vendor: %s%s" % (
        name, version, entry["reason"], " (refused: strict mode)" if strict else "")


# ---------------------------------------------------------------- files

def makedirs(path):
    try:
        os.makedirs(path)
    except OSError as exc:
        if exc.errno != errno.EEXIST or not os.path.isdir(path):
            raise


def atomic_write(path, content, mode=0o644):
    if not isinstance(content, bytes):
        content = content.encode("utf-8")
    makedirs(os.path.dirname(path))
    try:
        with open(path, "rb") as handle:
            if handle.read() == content and (os.stat(path).st_mode & 0o7777) == mode:
                return False
    except (IOError, OSError):
        pass
    handle, tmp = tempfile.mkstemp(prefix=".tmp-", dir=os.path.dirname(path))
    try:
        os.write(handle, content)
        os.fsync(handle)
    finally:
        os.close(handle)
    os.chmod(tmp, mode)
    os.rename(tmp, path)
    return True


def read_json_file(path, what):
    try:
        with open(path, "rb") as handle:
            content = handle.read(MAX_BYTES + 1)
    except (IOError, OSError) as exc:
        if exc.errno == errno.ENOENT:
            return None
        raise StatusError("%s: %s cannot be read: %s" % (what, path, exc))
    if len(content) > MAX_BYTES:
        raise StatusError("%s: %s is larger than %d bytes" % (what, path, MAX_BYTES))
    return loads(content, "%s %s" % (what, path))


def load_config(path):
    data = read_json_file(path, "configuration")
    if data is None:
        raise StatusError("configuration %s is missing" % path)
    if not isinstance(data, dict):
        raise StatusError("configuration %s must be a JSON object" % path)
    config = dict(DEFAULTS)
    for key, value in data.items():
        if key not in DEFAULTS:
            raise StatusError("configuration %s: unknown field %r" % (path, key))
        if type(value) is not type(DEFAULTS[key]) and not (  # pylint: disable=unidiomatic-typecheck
                isinstance(value, (str, TEXT)) and isinstance(DEFAULTS[key], str)):
            raise StatusError("configuration %s: %s has the wrong type" % (path, key))
        config[key] = value
    if config["url"] and not re.match(r"\Ahttps?://[^\s]+\Z", config["url"]):
        raise StatusError("configuration %s: url must be http(s)://" % path)
    if config["url"] and not config["require_signature"] and not config["url"].startswith("https://"):
        raise StatusError("configuration %s: an unsigned status must be fetched over https://" % path)
    if config["require_signature"] and not config["keyring"]:
        raise StatusError("configuration %s: require_signature needs a keyring" % path)
    if config["family"] not in ("deb", "rpm"):
        raise StatusError("configuration %s: family must be deb or rpm" % path)
    return config


def cache_paths(config):
    return {"status": os.path.join(config["cache_dir"], "status.json"),
            "state": os.path.join(config["cache_dir"], "state.json")}


def cached_status(config):
    """The last verified status, or None; a damaged cache counts as none."""
    try:
        data = read_json_file(cache_paths(config)["status"], "cache")
        return validate(data) if data is not None else None
    except StatusError:
        return None


def cached_state(config):
    try:
        data = read_json_file(cache_paths(config)["state"], "cache")
    except StatusError:
        return {}
    return data if isinstance(data, dict) else {}


# ---------------------------------------------------------------- fetching

def fetch(url, timeout):
    try:
        response = urlopen(url, timeout=timeout)
        try:
            content = response.read(MAX_BYTES + 1)
        finally:
            response.close()
    except (URLError, IOError, OSError, ValueError) as exc:
        raise StatusError("%s: %s" % (url, getattr(exc, "reason", exc)))
    except Exception as exc:  # pylint: disable=broad-except
        raise StatusError("%s: %s" % (url, exc))
    if len(content) > MAX_BYTES:
        raise StatusError("%s: larger than %d bytes" % (url, MAX_BYTES))
    return content


def gpg_verify(keyring, content, signature):
    """gpgv over the downloaded bytes and their detached signature."""
    tmp = tempfile.mkdtemp(prefix="fuel-release-status-")
    try:
        data_path = os.path.join(tmp, "status.json")
        sig_path = data_path + ".asc"
        with open(data_path, "wb") as handle:
            handle.write(content)
        with open(sig_path, "wb") as handle:
            handle.write(signature)
        rc, _out, err = run(["gpgv", "--keyring", keyring, sig_path, data_path])
    finally:
        for name in os.listdir(tmp):
            os.unlink(os.path.join(tmp, name))
        os.rmdir(tmp)
    if rc != 0:
        raise StatusError("the signature of the status does not verify with %s: %s" % (
            keyring, err.strip().splitlines()[-1] if err.strip() else "gpgv exited %d" % rc))


def run(argv, data=None):
    env = dict(os.environ, LC_ALL="C", LANG="C", LANGUAGE="C")
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    except OSError as exc:
        return 127, "", str(exc)
    out, err = proc.communicate(data)
    return proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


def refresh(config, now=time.time):
    """Fetch, verify, cache; the MOTD rewritten either way. Returns the state written."""
    paths = cache_paths(config)
    state = cached_state(config)
    try:
        if not config["url"]:
            raise StatusError("no status URL configured")
        content = fetch(config["url"], config["timeout"])
        if config["require_signature"]:
            gpg_verify(config["keyring"], content, fetch(config["url"] + ".asc", config["timeout"]))
        status = validate(loads(content, config["url"]), config["url"])
        atomic_write(paths["status"], json.dumps(status, indent=2, sort_keys=True) + "\n")
        state = {"ok": True, "checked": int(now()), "fetched": int(now()), "error": ""}
    except StatusError as exc:
        state = {"ok": False, "checked": int(now()), "fetched": state.get("fetched"), "error": TEXT(exc)}
    atomic_write(paths["state"], json.dumps(state, indent=2, sort_keys=True) + "\n")
    write_motd(config)
    return state


# ---------------------------------------------------------------- node state

def installed_versions(family, names):
    """{name: version} of the named packages installed, read with dpkg-query or rpm."""
    if not names:
        return {}
    if family == "deb":
        rc, out, _err = run(["dpkg-query", "-W", "-f", "${Package} ${Version} ${db:Status-Abbrev}\n"] + list(names))
        result = {}
        for line in out.splitlines():
            parts = line.split()
            if len(parts) >= 3 and parts[2].startswith("i"):
                result[parts[0]] = parts[1]
        return result
    rc, out, _err = run(["rpm", "-q", "--qf", "%{NAME} %|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\n"] + list(names))
    result = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and "not installed" not in line:
            result[parts[0]] = parts[1]
    del rc
    return result


def installed_flagged(config, status):
    names = sorted(set(entry["name"] for entry in (status or {}).get("problem_packages", [])))
    found = []
    for name, version in sorted(installed_versions(config["family"], names).items()):
        entry = flagged(status, name, version)
        if entry:
            found.append({"name": name, "version": version, "reason": entry["reason"]})
    return found


def render_motd(status, state, installed):
    lines = []
    if not state.get("ok"):
        lines.append("Release status: UNKNOWN - the status source is unreachable (%s)." % (
            state.get("error") or "not fetched yet"))
        if status:
            lines.append("Last known status (release %s, updated %s):" % (status["release"], status["updated"]))
    elif status:
        lines.append("Release status: release %s, updated %s." % (status["release"], status["updated"]))
    if status:
        installed_keys = set((item["name"], normal_version(item["version"])) for item in installed)
        for entry in status["problem_packages"]:
            for version in entry["versions"]:
                mark = " [INSTALLED HERE]" if (entry["name"], normal_version(version)) in installed_keys else ""
                lines.append("  FLAGGED %s %s: %s%s" % (entry["name"], version, entry["reason"], mark))
        for entry in status["held_back"]:
            lines.append("  held back: %s %s: %s" % (entry["name"], entry["version"], entry["reason"]))
        if not status["problem_packages"] and not status["held_back"]:
            lines.append("  no flagged or held-back packages.")
    return "\n".join(lines) + "\n"


def write_motd(config):
    status = cached_status(config)
    state = cached_state(config)
    installed = installed_flagged(config, status) if status else []
    if config["motd_path"]:
        atomic_write(config["motd_path"], render_motd(status, state, installed))


# ---------------------------------------------------------------- hooks

def parse_pre_install(lines):
    """(name, new version) of every package a DPkg::Pre-Install-Pkgs list (protocol 2 or 3) installs."""
    lines = iter(lines)
    first = next(lines, "").strip()
    version = 1
    if first.startswith("VERSION "):
        try:
            version = int(first.split()[1])
        except (IndexError, ValueError):
            return []
        for line in lines:  # the configuration dump ends with an empty line
            if not line.strip():
                break
    else:
        return []  # version 1 lists .deb paths only: nothing to compare
    result = []
    for line in lines:
        parts = line.split()
        if version >= 3 and len(parts) >= 9:
            name, direction, new, action = parts[0], parts[4], parts[5], parts[8]
        elif version == 2 and len(parts) >= 5:
            name, direction, new, action = parts[0], parts[2], parts[3], parts[4]
        else:
            continue
        # Unpacks only (a .deb path): **CONFIGURE** and **REMOVE** lines bring no new version.
        if direction in ("<", ">", "=") and new != "-" and not action.startswith("**"):
            result.append((name, new))
    return result


def check_installs(config, pairs, out=sys.stderr):
    """Warn for each flagged (name, version); 1 in strict mode when any is flagged."""
    status = cached_status(config)
    hits = 0
    for name, version in pairs:
        entry = flagged(status, name, version)
        if entry:
            hits += 1
            out.write(warning_line(entry, name, version, config["strict"]) + "\n")
    return 1 if hits and config["strict"] else 0


def apt_available(names):
    """{name: [versions]} the configured repositories offer, from ``apt-cache madison``."""
    if not names:
        return {}
    _rc, out, _err = run(["apt-cache", "madison"] + list(names))
    result = {}
    for line in out.splitlines():
        parts = [part.strip() for part in line.split("|")]
        if len(parts) >= 3 and parts[0] and parts[1]:
            result.setdefault(parts[0], [])
            if parts[1] not in result[parts[0]]:
                result[parts[0]].append(parts[1])
    return result


def apt_post_update(config, out=sys.stderr):
    """After ``apt-get update``: refresh, then name each flagged version the repositories now offer."""
    refresh(config)
    status = cached_status(config)
    if not status:
        return 0
    names = sorted(set(entry["name"] for entry in status["problem_packages"]))
    installed = installed_versions("deb", names)
    for name, versions in sorted(apt_available(names).items()):
        for version in versions:
            entry = flagged(status, name, version)
            if entry and installed.get(name) != version:
                outcome = "is refused" if config["strict"] else "warns"
                out.write("fuel-release-status: the repositories offer %s %s, flagged by the vendor: %s "
                          "(an install of it %s)\n" % (name, version, entry["reason"], outcome))
    return 0


# ---------------------------------------------------------------- publishing

HTML = u"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Release status {release}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #999;padding:.3em .6em;text-align:left}}</style></head>
<body><h1>Release status {release}</h1><p>Updated {updated}.</p>
<h2>Problem packages</h2>{problems}
<h2>Held-back packages</h2>{held}
<p>Machine-readable: <a href="status.json">status.json</a> (signature:
<a href="status.json.asc">status.json.asc</a>).</p></body></html>
"""


def _escape(value):
    return (TEXT(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&#39;"))


def render_html(status):
    def table(header, rows):
        if not rows:
            return u"<p>None.</p>"
        head = u"".join(u"<th>%s</th>" % _escape(h) for h in header)
        body = u"".join(u"<tr>%s</tr>" % u"".join(u"<td>%s</td>" % _escape(c) for c in row) for row in rows)
        return u"<table><tr>%s</tr>%s</table>" % (head, body)
    problems = table(["package", "versions", "reason"],
                     [(e["name"], ", ".join(e["versions"]), e["reason"]) for e in status["problem_packages"]])
    held = table(["package", "version", "reason"],
                 [(e["name"], e["version"], e["reason"]) for e in status["held_back"]])
    return HTML.format(release=_escape(status["release"]), updated=_escape(status["updated"]),
                       problems=problems, held=held)


def publish(spec_path, out_dir, gpg_key, gnupg_home="", passphrase_file=""):
    """Validated status.json, its detached signature and index.html in out_dir; True when changed."""
    spec = read_json_file(spec_path, "input")
    if isinstance(spec, dict) and not spec.get("updated"):
        # No time given: the published one stays while nothing else changes, else now.
        spec = dict(spec)
        spec.pop("updated", None)
        try:
            previous = validate(read_json_file(os.path.join(out_dir, "status.json"), "published status"))
        except StatusError:
            previous = None
        spec["updated"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        if previous is not None:
            same = dict(previous)
            same["updated"] = spec["updated"]
            try:
                if validate(spec, "input") == same:
                    spec["updated"] = previous["updated"]
            except StatusError:
                pass
    status = validate(spec, "input")
    content = json.dumps(status, indent=2, sort_keys=True) + "\n"
    changed = atomic_write(os.path.join(out_dir, "status.json"), content)
    signature = os.path.join(out_dir, "status.json.asc")
    if gpg_key and (changed or not os.path.isfile(signature)):
        argv = ["gpg", "--batch", "--yes", "--armor", "--local-user", gpg_key, "--detach-sign"]
        if gnupg_home:
            argv[1:1] = ["--homedir", gnupg_home]
        if passphrase_file:
            argv += ["--pinentry-mode", "loopback", "--passphrase-file", passphrase_file]
        tmp = signature + ".new"
        rc, _out, err = run(argv + ["-o", tmp, os.path.join(out_dir, "status.json")])
        if rc != 0:
            raise StatusError("signing status.json with %s failed: %s" % (gpg_key, err.strip()))
        os.rename(tmp, signature)
        changed = True
    changed = atomic_write(os.path.join(out_dir, "index.html"), render_html(status)) or changed
    return changed


# ---------------------------------------------------------------- command line

def main(argv=None, stdin=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    config_path = DEFAULT_CONFIG
    if argv[:1] == ["--config"] and len(argv) >= 2:
        config_path, argv = argv[1], argv[2:]
    command = argv[0] if argv else ""
    if command == "publish":
        options = dict(zip(argv[1::2], argv[2::2]))
        try:
            changed = publish(options["--input"], options["--out"], options.get("--gpg-key", ""),
                              options.get("--gnupg-home", ""), options.get("--passphrase-file", ""))
        except (StatusError, KeyError, IOError, OSError) as exc:
            print(json.dumps({"changed": False, "error": "publish: %s" % exc}))
            return 1
        print(json.dumps({"changed": changed, "error": ""}))
        return 0
    try:
        config = load_config(config_path)
    except StatusError as exc:
        sys.stderr.write("fuel-release-status: %s\n" % exc)
        # Hooks must never block package management: a broken setup only warns.
        return 0 if command in ("apt-check", "apt-post-update", "check", "refresh", "motd") else 1
    try:
        if command == "refresh":
            print(json.dumps(refresh(config), sort_keys=True))
            return 0
        if command == "motd":
            status, state = cached_status(config), cached_state(config)
            sys.stdout.write(render_motd(status, state, installed_flagged(config, status) if status else []))
            return 0
        if command == "apt-post-update":
            return apt_post_update(config)
        if command == "apt-check":
            return check_installs(config, parse_pre_install((stdin or sys.stdin).read().splitlines()))
        if command == "check":
            pairs = [tuple(item.split("=", 1)) for item in argv[1:] if "=" in item]
            return check_installs(config, pairs)
        if command == "installed":
            print(json.dumps(installed_flagged(config, cached_status(config)), sort_keys=True))
            return 0
    except Exception as exc:  # pylint: disable=broad-except
        # Never block apt or dnf because of this tool; say what happened.
        sys.stderr.write("fuel-release-status: %s failed: %s\n" % (command, exc))
        return 0
    sys.stderr.write("usage: fuel-release-status [--config FILE] "
                     "publish|refresh|motd|apt-post-update|apt-check|check|installed\n")
    return 2


if __name__ == "__main__":
    sys.exit(main())
