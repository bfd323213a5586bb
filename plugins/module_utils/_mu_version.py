# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Maintenance-update records (mu-version.json): parsing, validation, comparison, fetching, recording.

* ``parse_record`` / ``validate_record``: a record that cannot be trusted is a
  ``RecordError`` naming the field (wrong JSON shapes, NaN, huge numbers,
  non-UTF-8, control characters).
* ``fetch``: one overall deadline per request (a server dripping one byte a
  second cannot hold the task beyond ``timeout``), a size cap, at most
  ``MAX_REDIRECTS`` redirects (http/https only), and ``file://`` read locally
  with the same checks.
* ``record``: the whole ``state=present`` run. The installed record is the
  source of truth and is written first; the fact file is derived from it and
  written second. A failure between the two leaves the old fact file, which the
  next ``state=present`` run rewrites from the record (``fact_repaired``);
  ``state=query`` reports the disagreement (``fact_in_sync``) without writing.

Node Python 2.7 and 3.6+.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import io
import math
import os
import re
import signal
import socket
import time

from ansible_collections.fuel.lifecycle.plugins.module_utils import _files
from ansible_collections.fuel.lifecycle.plugins.module_utils import _release_status

try:
    TEXT_TYPES = (str, unicode)  # noqa: F821 pylint: disable=undefined-variable
except NameError:
    TEXT_TYPES = (str,)

INT_TYPES = (int, type(2 ** 64))  # long on Python 2.7

MANDATORY = ("id", "title", "timestamp")
DEFAULT_MAX_BYTES = 65536
MAX_MAX_BYTES = 16 * 1024 * 1024
MAX_TIMEOUT = 3600
MAX_REDIRECTS = 5
MAX_INT = 2 ** 53 - 1
MAX_TITLE = 1024
MAX_URL = 2048
_URL = re.compile(r"\Ahttps?://[^\s/?#]+[^\s]*\Z")
_FETCH_URL = re.compile(r"\A(https?|file)://([^\s/?#]*)([^\s]*)\Z")
_RELEASE = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9._+~-]{0,63}\Z")
_FIELD_NAME = re.compile(r"\A[A-Za-z0-9_.-]{1,64}\Z")


class RecordError(ValueError):
    """A maintenance-update record that cannot be trusted; the message names the field or the file."""


# records ----------------------------------------------------------------------

def parse_record(text, source="record"):
    """Parse and validate a record; returns the dict (unknown fields kept)."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise RecordError("%s: not UTF-8 text (byte %d)" % (source, exc.start))
    try:
        data = _files.loads_json(text)
    except (ValueError, RuntimeError) as exc:
        raise RecordError("%s: malformed JSON (%s)" % (source, exc))
    return validate_record(data, source)


def _is_int(value):
    return isinstance(value, INT_TYPES) and not isinstance(value, bool)


def _check_value(value, where, depth=0):
    """Extra fields: JSON values only, finite, bounded depth, no control characters in text."""
    if depth > 16:
        raise RecordError("%s: nested too deeply" % where)
    if value is None or isinstance(value, bool):
        return
    if _is_int(value):
        if abs(value) > MAX_INT:
            raise RecordError("%s: number %d is out of range" % (where, value))
        return
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise RecordError("%s: %r is not a finite number" % (where, value))
        return
    if isinstance(value, TEXT_TYPES):
        try:
            _files.check_text(value, where, allow_newline=True)
        except ValueError as exc:
            raise RecordError(str(exc))
        return
    if isinstance(value, list):
        for index, item in enumerate(value):
            _check_value(item, "%s[%d]" % (where, index), depth + 1)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, TEXT_TYPES) or not _FIELD_NAME.match(key):
                raise RecordError("%s: invalid field name %r" % (where, key))
            _check_value(item, "%s.%s" % (where, key), depth + 1)
        return
    raise RecordError("%s: %s is not a JSON value" % (where, type(value).__name__))


def validate_record(data, source="record"):
    if not isinstance(data, dict):
        raise RecordError("%s: expected a JSON object, got %s" % (source, type(data).__name__))
    missing = [field for field in MANDATORY if field not in data]
    if missing:
        raise RecordError("%s: missing mandatory field(s) %s" % (source, ", ".join(missing)))
    if not _is_int(data["id"]) or data["id"] < 0 or data["id"] > MAX_INT:
        raise RecordError("%s: field 'id' must be an integer from 0 to %d, got %s"
                          % (source, MAX_INT, _short(data["id"])))
    title = data["title"]
    if not isinstance(title, TEXT_TYPES) or not title.strip():
        raise RecordError("%s: field 'title' must be a non-empty string, got %s" % (source, _short(title)))
    try:
        _files.check_text(title, "%s: field 'title'" % source, max_len=MAX_TITLE)
    except ValueError as exc:
        raise RecordError(str(exc))
    if not _is_int(data["timestamp"]) or data["timestamp"] < 0 or data["timestamp"] > MAX_INT:
        raise RecordError("%s: field 'timestamp' must be an integer epoch, got %s" % (source, _short(data["timestamp"])))
    if "doc_link" in data and data["doc_link"] is not None:
        link = data["doc_link"]
        if not isinstance(link, TEXT_TYPES) or len(link) > MAX_URL or not _URL.match(link):
            raise RecordError("%s: field 'doc_link' must be an http(s) URL, got %s" % (source, _short(link)))
    for key, value in data.items():
        if key in MANDATORY or key == "doc_link":
            continue
        if not isinstance(key, TEXT_TYPES) or not _FIELD_NAME.match(key):
            raise RecordError("%s: invalid field name %s" % (source, _short(key)))
        _check_value(value, "%s: field '%s'" % (source, key))
    return dict(data)


def _short(value, limit=80):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def check_size(body, max_bytes, source="record"):
    if len(body) > max_bytes:
        raise RecordError("%s: body larger than %d bytes (max_bytes)" % (source, max_bytes))
    return body


def available_url(mirror_url, release):
    """<mirror>/mcv/mos/<release>/mu-version.json"""
    if not mirror_url:
        raise RecordError("mirror_url: must not be empty")
    if not isinstance(mirror_url, TEXT_TYPES) or len(mirror_url) > MAX_URL or not _FETCH_URL.match(mirror_url):
        raise RecordError("mirror_url: must be an http(s) or file URL, got %s" % _short(mirror_url))
    if not isinstance(release, TEXT_TYPES) or not _RELEASE.match(release) or ".." in release:
        raise RecordError("release: must be a release name such as '9.0', got %s" % _short(release))
    return "%s/mcv/mos/%s/mu-version.json" % (mirror_url.rstrip("/"), release)


def check_url(url, field="url"):
    """http, https or file URL without whitespace or control characters; returns the scheme."""
    if not isinstance(url, TEXT_TYPES) or len(url) > MAX_URL:
        raise RecordError("%s: must be an http(s) or file URL of at most %d characters" % (field, MAX_URL))
    match = _FETCH_URL.match(url)
    if not match or _files.CONTROL_RE.search(url):
        raise RecordError("%s: must be an http(s) or file URL, got %s" % (field, _short(url)))
    scheme, host, path = match.groups()
    if scheme == "file":
        if host not in ("", "localhost") or not path.startswith("/"):
            raise RecordError("%s: a file URL names a local absolute path (file:///path), got %s" % (field, _short(url)))
    elif not host:
        raise RecordError("%s: %s URL without a host: %s" % (field, scheme, _short(url)))
    return scheme


def update_available(installed, available):
    """True when the available record is newer (by id) than the installed one."""
    if available is None:
        return False
    if installed is None:
        return True
    return available["id"] > installed["id"]


def status(installed, available):
    if available is None:
        return "unknown"
    if installed is None:
        return "not-installed"
    if available["id"] > installed["id"]:
        return "update-available"
    if available["id"] == installed["id"]:
        return "current"
    return "ahead"


def same_record(current, wanted):
    """Installed record equals the wanted one, ignoring the install time we add."""
    if current is None:
        return False
    strip = ("installed_at",)
    return (dict((k, v) for k, v in current.items() if k not in strip)
            == dict((k, v) for k, v in wanted.items() if k not in strip))


def render(record):
    return _files.dumps_json(record)


def render_fact(record):
    return _files.dumps_json({"installed": record})


# fetching ---------------------------------------------------------------------

class _Deadline(Exception):
    pass


class deadline(object):  # pylint: disable=invalid-name
    """``with deadline(seconds):`` raises _Deadline in the main thread when the time is up (SIGALRM timer).

    Outside the main thread (no signals) it only records the end time, which
    the chunked reads check between reads.
    """

    def __init__(self, seconds):
        self.seconds = seconds
        self.end = time.time() + seconds
        self.previous = None
        self.armed = False

    def _fire(self, _signum, _frame):
        raise _Deadline()

    def __enter__(self):
        try:
            self.previous = signal.signal(signal.SIGALRM, self._fire)
            signal.setitimer(signal.ITIMER_REAL, max(self.seconds, 0.001))
            self.armed = True
        except (ValueError, AttributeError):  # not the main thread
            self.armed = False
        return self

    def remaining(self):
        return self.end - time.time()

    def __exit__(self, *exc_info):
        if self.armed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.previous if self.previous is not None else signal.SIG_DFL)
        return False


def _read_capped(response, max_bytes, clock, source):
    chunks = []
    size = 0
    while True:
        if clock.remaining() <= 0:
            raise _Deadline()
        want = min(8192, max_bytes + 1 - size) or 1
        try:
            chunk = response.read1(want)
        except (AttributeError, io.UnsupportedOperation):
            chunk = response.read(want)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        if size > max_bytes:
            raise RecordError("%s: body larger than %d bytes (max_bytes)" % (source, max_bytes))
    return b"".join(chunks)


def _read_file_url(url, max_bytes, source):
    path = url.split("://", 1)[1]
    if path.startswith("localhost"):
        path = path[len("localhost"):]
    try:
        from urllib.parse import unquote  # novermin pylint: disable=import-outside-toplevel
    except ImportError:  # Python 2.7
        from urllib import unquote  # novermin pylint: disable=import-outside-toplevel,no-name-in-module
    path = unquote(path.split("?", 1)[0].split("#", 1)[0])
    try:
        body = _files.read_bytes(path, max_bytes)
    except _files.FileProblem as exc:
        if "more than" in exc.problem:
            raise RecordError("%s: body larger than %d bytes (max_bytes)" % (source, max_bytes))
        raise RecordError("%s: %s" % (source, exc))
    if body is None:
        raise RecordError("%s: %s does not exist" % (source, path))
    return body


def fetch(url, timeout, max_bytes, validate_certs=True, use_proxy=True, open_url=None, max_redirects=MAX_REDIRECTS):
    """Body of the available record at ``url`` (bytes), within ``timeout`` seconds overall.

    ``open_url`` is ansible's ``module_utils.urls.open_url``; redirects are
    followed here (at most ``max_redirects``, to http/https only) so each hop
    is checked and counted.
    """
    source = "available record %s" % url
    scheme = check_url(url)
    if scheme == "file":
        return _read_file_url(url, max_bytes, source)
    if open_url is None:
        from ansible.module_utils.urls import open_url  # pylint: disable=import-outside-toplevel
    clock = deadline(timeout)
    try:
        with clock:
            return _fetch_http(url, clock, max_bytes, validate_certs, use_proxy, open_url, max_redirects, source)
    except _Deadline:
        raise RecordError("%s: no complete answer within timeout=%s s" % (source, timeout))


def _fetch_http(url, clock, max_bytes, validate_certs, use_proxy, open_url, max_redirects, source):
    try:
        from urllib.parse import urljoin  # novermin pylint: disable=import-outside-toplevel
    except ImportError:  # Python 2.7
        from urlparse import urljoin  # novermin pylint: disable=import-outside-toplevel,import-error
    timeout = clock.seconds
    current = url
    response = None
    try:
        for _hop in range(max_redirects + 1):
            try:
                response = open_url(current, method="GET", timeout=max(clock.remaining(), 0.001),
                                    validate_certs=validate_certs, use_proxy=use_proxy,
                                    follow_redirects="none")
            except (IOError, OSError) as exc:
                # urllib's HTTPError (an IOError on 2.7, an OSError on 3) carries the status; others go on up.
                if getattr(exc, "code", None) is None:
                    raise
                headers = getattr(exc, "headers", None)
                location = headers.get("Location") if headers is not None and \
                    exc.code in (301, 302, 303, 307, 308) else None
                if not location:
                    raise RecordError("%s: HTTP %s %s" % (source, exc.code, exc.msg))
                current = urljoin(current, location)
                if check_url(current, "redirect from %s" % url) == "file":
                    raise RecordError("%s: redirected to %s; only http(s) redirects are followed" % (source, current))
                continue
            code = response.getcode() if hasattr(response, "getcode") else 200
            if code != 200:
                raise RecordError("%s: HTTP %s" % (source, code))
            headers = getattr(response, "headers", None)
            length = headers.get("Content-Length") if headers is not None else None
            if length and length.strip().isdigit() and int(length) > max_bytes:
                raise RecordError("%s: body larger than %d bytes (max_bytes; Content-Length %s)"
                                  % (source, max_bytes, length.strip()))
            return _read_capped(response, max_bytes, clock, source)
        raise RecordError("%s: more than %d redirects" % (source, max_redirects))
    except (_Deadline, RecordError):
        raise
    except (socket.error, socket.timeout, IOError, OSError) as exc:  # URLError is one of these
        if isinstance(exc, socket.timeout) or "timed out" in str(exc) or clock.remaining() <= 0:
            raise RecordError("%s: no complete answer within timeout=%s s" % (source, timeout))
        reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or exc
        raise RecordError("%s: cannot be read: %s" % (source, reason))
    except Exception as exc:  # pylint: disable=broad-except
        # http.client / ssl raise their own types (IncompleteRead, BadStatusLine, CertificateError...)
        raise RecordError("%s: cannot be read: %s: %s" % (source, type(exc).__name__, exc))
    finally:
        if response is not None:
            try:
                response.close()
            except Exception:  # pylint: disable=broad-except
                pass


# the module -------------------------------------------------------------------

def check_params(params):
    """Every option checked before anything is read or written; RecordError names the option."""
    if not isinstance(params.get("timeout"), INT_TYPES) or not 1 <= params["timeout"] <= MAX_TIMEOUT:
        raise RecordError("timeout: must be from 1 to %d seconds" % MAX_TIMEOUT)
    if not isinstance(params.get("max_bytes"), INT_TYPES) or not 1 <= params["max_bytes"] <= MAX_MAX_BYTES:
        raise RecordError("max_bytes: must be from 1 to %d" % MAX_MAX_BYTES)
    if not params.get("path"):
        raise RecordError("path: must not be empty")
    _check_path(params["path"], "path")
    if params.get("fact_path"):
        # Only state=present reads and writes the fact file; a query does not fail on it.
        _check_path(params["fact_path"], "fact_path", params.get("state") == "present")
    if params.get("release_status_path"):
        _check_path(params["release_status_path"], "release_status_path", check_file=False)
    if params.get("fact_path") and os.path.abspath(params["fact_path"]) == os.path.abspath(params["path"]):
        raise RecordError("fact_path: must not be the record path %s" % params["path"])
    wanted = None
    if params.get("record") is not None:
        wanted = validate_record(params["record"], "record")
    url = params.get("url") or ""
    if url:
        check_url(url)
    elif params.get("mirror_url"):
        url = available_url(params["mirror_url"], params.get("release"))
    if params.get("state") == "present" and wanted is None and not url:
        raise RecordError("record: state=present needs a record or a mirror_url/url to take it from")
    return wanted, url


def _check_path(path, field, check_file=True):
    if not isinstance(path, TEXT_TYPES) or "\x00" in path or _files.CONTROL_RE.search(_files.to_text(path)):
        raise RecordError("%s: %s is not a usable path" % (field, _short(path)))
    if not os.path.isabs(path):
        raise RecordError("%s: must be an absolute path, got %s" % (field, _short(path)))
    if len(path) > 4000 or any(len(part) > _files.NAME_MAX for part in path.split("/")):
        raise RecordError("%s: path or one of its names is too long" % field)
    if not check_file:
        return
    if os.path.isdir(path):
        raise RecordError("%s: %s is a directory where a file is expected" % (field, path))
    if os.path.lexists(path) and not os.path.isfile(path):
        raise RecordError("%s: %s is not a regular file" % (field, path))


def check_writable(path, field):
    """The file can be written: its directory is (or can be created as) a writable directory."""
    directory = os.path.dirname(path)
    probe = directory
    while probe and not os.path.lexists(probe):
        parent = os.path.dirname(probe)
        if parent == probe:
            break
        probe = parent
    if not os.path.isdir(probe):
        raise RecordError("%s: %s is in the way of the directory %s (not a directory)" % (field, probe, directory))
    if not os.access(probe, os.W_OK | os.X_OK):
        raise RecordError("%s: directory %s is not writable" % (field, probe))


def read_installed(path, field="path"):
    """(record or None, text or None) of the installed record file."""
    try:
        raw = _files.read_bytes(path, MAX_MAX_BYTES)
    except _files.FileProblem as exc:
        raise RecordError("%s: %s" % (field, exc))
    if raw is None:
        return None, None
    record = parse_record(raw, "installed record %s" % path)
    return record, raw.decode("utf-8")


def read_fact(path):
    """Text of the fact file, None when missing; a fact file that is not one is reported by name."""
    try:
        raw = _files.read_bytes(path, MAX_MAX_BYTES)
    except _files.FileProblem as exc:
        raise RecordError("fact_path: %s" % exc)
    if raw is None:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def flagged_installed(path, versions_of):
    """(flagged versions installed, problem) from the release status cached at ``path``: [] without a
    cached status; None and the reason when the status or the package database cannot be read (the
    MU records are still reported)."""
    try:
        status = _release_status.read_status(path)
        if status is None:
            return [], None
        names = sorted(set(name for name, _versions, _reason in _release_status.problems(status)))
        return _release_status.flagged(versions_of(names), status), None
    except _release_status.StatusError as exc:
        return None, "release_status_path: %s" % exc


def run(params, check_mode, fetcher, now=time.time, versions_of=None):
    """The whole module. ``fetcher(url) -> bytes``; ``versions_of(names) -> {name: [version]}`` reads the
    package database. Returns the result dict; raises RecordError."""
    wanted, url = check_params(params)
    state = params.get("state") or "query"
    fact_path = params.get("fact_path") or ""
    installed, before_text = read_installed(params["path"])
    fact_text = None
    if fact_path and state == "present":
        fact_text = read_fact(fact_path)
    elif fact_path:
        try:
            fact_text = read_fact(fact_path)
        except RecordError:
            fact_text = ""
    if state == "present":
        check_writable(params["path"], "path")
        if fact_path:
            check_writable(fact_path, "fact_path")
    available = None
    if url:
        available = parse_record(fetcher(url), "available record %s" % url)

    result = {"changed": False}
    diffs = []
    if state == "present":
        wanted = wanted if wanted is not None else available
        record_text = before_text
        if not same_record(installed, wanted):
            record = dict(wanted)
            record["installed_at"] = round(now(), 3)
            record_text = render(record)
            diffs.append({"before_header": params["path"], "after_header": params["path"],
                          "before": before_text or "", "after": record_text})
            installed = record
        new_fact = render_fact(installed) if fact_path else None
        fact_changes = fact_path and (fact_text != new_fact or _mode(fact_path) not in (None, 0o644))
        if fact_changes:
            diffs.append({"before_header": fact_path, "after_header": fact_path,
                          "before": fact_text or "", "after": new_fact})
            if record_text == before_text:
                result["fact_repaired"] = True
        if diffs:
            result["changed"] = True
        if diffs and not check_mode:
            # The record first: it is the truth, the fact file is derived from it.
            if record_text != before_text:
                try:
                    _files.makedirs(os.path.dirname(params["path"]))
                    _files.atomic_write(params["path"], record_text, 0o644)
                except _files.FileProblem as exc:
                    raise RecordError("path: %s; nothing was changed" % exc)
            if fact_changes:
                try:
                    _files.makedirs(os.path.dirname(fact_path))
                    _files.atomic_write(fact_path, new_fact, 0o644)
                except _files.FileProblem as exc:
                    raise RecordError("fact_path: %s; the record %s is written, the fact file is not: the next "
                                      "run with state=present rewrites it from the record" % (exc, params["path"]))
    elif fact_path and installed is not None and fact_text is not None:
        result["fact_in_sync"] = fact_text == render_fact(installed)
    if diffs:
        result["diff"] = diffs if len(diffs) > 1 else diffs[0]
    result.update(mu_installed=installed, mu_available=available,
                  mu_update_available=update_available(installed, available),
                  mu_status=status(installed, available))
    if url:
        result["url"] = url
    if params.get("release_status_path"):
        result["flagged_installed"], problem = flagged_installed(params["release_status_path"], versions_of)
        if problem:
            result["release_status_problem"] = problem
    result["ansible_facts"] = {"mu_installed": installed, "mu_available": available,
                               "mu_update_available": result["mu_update_available"]}
    return result


def _mode(path):
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        return None
