# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Maintenance-update records (mu-version.json): parsing, validation, comparison, rendering.

Plain Python, no Ansible imports: the module fetches and writes, this file decides.
"""

from __future__ import annotations

import json
import re

MANDATORY = ("id", "title", "timestamp")
DEFAULT_MAX_BYTES = 65536
_URL = re.compile(r"^https?://[^\s/?#]+[^\s]*$")


class RecordError(ValueError):
    """A maintenance-update record that cannot be trusted; the message names the field."""


def parse_record(text, source="record"):
    """Parse and validate a record; returns the dict (unknown fields kept)."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise RecordError("%s: not UTF-8 text (%s)" % (source, exc)) from exc
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise RecordError("%s: malformed JSON (%s)" % (source, exc)) from exc
    return validate_record(data, source)


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def validate_record(data, source="record"):
    if not isinstance(data, dict):
        raise RecordError("%s: expected a JSON object, got %s" % (source, type(data).__name__))
    missing = [field for field in MANDATORY if field not in data]
    if missing:
        raise RecordError("%s: missing mandatory field(s) %s" % (source, ", ".join(missing)))
    if not _is_int(data["id"]) or data["id"] < 0:
        raise RecordError("%s: field 'id' must be an integer >= 0, got %r" % (source, data["id"]))
    if not isinstance(data["title"], str) or not data["title"].strip():
        raise RecordError("%s: field 'title' must be a non-empty string, got %r" % (source, data["title"]))
    if not _is_int(data["timestamp"]) or data["timestamp"] < 0:
        raise RecordError("%s: field 'timestamp' must be an integer epoch, got %r" % (source, data["timestamp"]))
    if "doc_link" in data and data["doc_link"] is not None:
        if not isinstance(data["doc_link"], str) or not _URL.match(data["doc_link"]):
            raise RecordError("%s: field 'doc_link' must be an http(s) URL, got %r" % (source, data["doc_link"]))
    return dict(data)


def check_size(body, max_bytes, source="record"):
    if len(body) > max_bytes:
        raise RecordError("%s: body larger than %d bytes (max_bytes)" % (source, max_bytes))
    return body


def available_url(mirror_url, release):
    """<mirror>/mcv/mos/<release>/mu-version.json"""
    if not mirror_url:
        raise RecordError("mirror_url: must not be empty")
    if not re.match(r"^(https?|file)://", mirror_url):
        raise RecordError("mirror_url: must be an http(s) or file URL, got %r" % mirror_url)
    if not release or "/" in release or release in (".", ".."):
        raise RecordError("release: must be a release name such as '9.0', got %r" % release)
    return "%s/mcv/mos/%s/mu-version.json" % (mirror_url.rstrip("/"), release)


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
    return ({k: v for k, v in current.items() if k not in strip}
            == {k: v for k, v in wanted.items() if k not in strip})


def render(record):
    return json.dumps(record, indent=2, sort_keys=True) + "\n"
