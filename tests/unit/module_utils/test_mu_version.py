# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validation and comparison of maintenance-update records."""

from __future__ import annotations

import json

import pytest

from ansible_collections.fuel.lifecycle.plugins.module_utils import _mu_version as mu

GOOD = {"id": 2, "title": "Maintenance update 2", "timestamp": 1769904000, "doc_link": "https://docs.example/mu/2"}


def test_valid_record_keeps_unknown_fields():
    data = dict(GOOD, vendor_note="kept")
    assert mu.parse_record(json.dumps(data)) == data


@pytest.mark.parametrize("body,words", [
    ('{"id": 2, ', "malformed JSON"),
    ("[1, 2]", "expected a JSON object"),
    (json.dumps({"title": "x", "timestamp": 1}), "missing mandatory field(s) id"),
    (json.dumps({"id": 1}), "missing mandatory field(s) title, timestamp"),
    (json.dumps(dict(GOOD, id="2")), "field 'id'"),
    (json.dumps(dict(GOOD, id=-1)), "field 'id'"),
    (json.dumps(dict(GOOD, id=True)), "field 'id'"),
    (json.dumps(dict(GOOD, title="  ")), "field 'title'"),
    (json.dumps(dict(GOOD, title=3)), "field 'title'"),
    (json.dumps(dict(GOOD, timestamp=1.5)), "field 'timestamp'"),
    (json.dumps(dict(GOOD, timestamp="2026-01-01")), "field 'timestamp'"),
    (json.dumps(dict(GOOD, doc_link="ftp://x/y")), "field 'doc_link'"),
    (json.dumps(dict(GOOD, doc_link="not a url")), "field 'doc_link'"),
    (b"\xff\xfe", "not UTF-8"),
])
def test_invalid_records_name_the_problem(body, words):
    with pytest.raises(mu.RecordError) as err:
        mu.parse_record(body, "available record")
    assert words in str(err.value)
    assert str(err.value).startswith("available record")


def test_size_cap():
    mu.check_size(b"x" * 10, 10)
    with pytest.raises(mu.RecordError, match="larger than 10 bytes"):
        mu.check_size(b"x" * 11, 10)


def test_available_url():
    assert mu.available_url("http://m:8080/", "9.0") == "http://m:8080/mcv/mos/9.0/mu-version.json"
    for mirror, release, field in (("", "9.0", "mirror_url"), ("mirror", "9.0", "mirror_url"),
                                   ("http://m", "../x", "release"), ("http://m", "", "release")):
        with pytest.raises(mu.RecordError, match=field):
            mu.available_url(mirror, release)


@pytest.mark.parametrize("installed,available,update,status", [
    (None, None, False, "unknown"),
    (None, GOOD, True, "not-installed"),
    (dict(GOOD, id=1), GOOD, True, "update-available"),
    (GOOD, GOOD, False, "current"),
    (dict(GOOD, id=3), GOOD, False, "ahead"),
])
def test_compare_by_id(installed, available, update, status):
    assert mu.update_available(installed, available) is update
    assert mu.status(installed, available) == status


def test_same_record_ignores_install_time():
    assert mu.same_record(dict(GOOD, installed_at=5.0), GOOD)
    assert not mu.same_record(dict(GOOD, title="other"), GOOD)
    assert not mu.same_record(None, GOOD)
