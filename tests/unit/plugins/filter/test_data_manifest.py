# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""data_manifest and data_manifest_changes: a find result to a manifest, two manifests compared."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.fuel.lifecycle.plugins.filter.data_manifest import data_manifest
from ansible_collections.fuel.lifecycle.plugins.filter.data_manifest_changes import data_manifest_changes

FOUND = [
    {"path": "/data/db", "isdir": True, "isreg": False, "islnk": False, "mode": "0755", "uid": 0, "gid": 0,
     "mtime": 1.0},
    {"path": "/data/db/a", "isdir": False, "isreg": True, "islnk": False, "mode": "0640", "uid": 0, "gid": 0,
     "size": 3, "checksum": "aaa", "mtime": 2.0},
    {"path": "/data/db/l", "isdir": False, "isreg": False, "islnk": True, "lnk_target": "a", "mode": "0777"},
]


def test_manifest_leaves_times_out():
    manifest = data_manifest(FOUND)
    assert manifest == {"/data/db": "dir - - 0755 0:0", "/data/db/a": "file aaa 3 0640 0:0", "/data/db/l": "link -> a"}
    touched = [dict(entry, mtime=99.0) for entry in FOUND]
    assert data_manifest(touched) == manifest


def test_changes_name_changed_missing_and_new_paths():
    before = data_manifest(FOUND)
    after = dict(before)
    after["/data/db/a"] = "file bbb 3 0640 0:0"
    del after["/data/db/l"]
    after["/data/db/new"] = "file ccc 1 0644 0:0"
    assert data_manifest_changes(before, after) == [
        "changed /data/db/a (file aaa 3 0640 0:0 -> file bbb 3 0640 0:0)", "missing /data/db/l", "new /data/db/new"]
    assert data_manifest_changes(before, dict(before)) == []


@pytest.mark.parametrize("bad", [None, "x", [{"nopath": 1}], [{"path": "/f", "isreg": True}]])
def test_bad_input_is_a_filter_error(bad):
    with pytest.raises(AnsibleFilterError):
        data_manifest(bad)
    with pytest.raises(AnsibleFilterError):
        data_manifest_changes(bad if not isinstance(bad, dict) else [], {})
