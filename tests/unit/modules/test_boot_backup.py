"""boot_backup: whole-module cases as data (boot_backup.yaml), plus restore round trips and crafted archives."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile

import pytest

from ansible_collections.fuel.lifecycle.plugins.modules import boot_backup
from .master_cases import load, run_case
from module_harness import run_module, tree_digest

CASES = load(os.path.join(os.path.dirname(__file__), "boot_backup.yaml"))


@pytest.mark.parametrize("case", [case for _id, case in CASES], ids=[case_id for case_id, _case in CASES])
def test_case(case, tmp_path):
    run_case(boot_backup.main, case, tmp_path)


def make_boot(root):
    os.makedirs(os.path.join(root, "grub"))
    for rel, text in (("vmlinuz-1", "kernel-1"), ("grub/grub.cfg", "menu 1")):
        with open(os.path.join(root, rel), "w", encoding="utf-8") as handle:
            handle.write(text)


def test_restore_round_trip_check_diff_and_second_run(tmp_path):
    boot, dest = str(tmp_path / "boot"), str(tmp_path / "backup")
    make_boot(boot)
    assert run_module(boot_backup.main, {"src": boot, "dest": dest})["changed"]
    original = tree_digest(boot)
    with open(os.path.join(boot, "grub/grub.cfg"), "w", encoding="utf-8") as handle:
        handle.write("menu 2")
    with open(os.path.join(boot, "vmlinuz-2"), "w", encoding="utf-8") as handle:
        handle.write("kernel-2")
    changed = tree_digest(boot)
    params = {"src": boot, "dest": dest, "state": "restored"}
    planned = run_module(boot_backup.main, params, check_mode=True, diff=True)
    assert planned["changed"] and tree_digest(boot) == changed
    assert planned["differences"] == {"changed": ["grub/grub.cfg"], "missing": [], "extra": ["vmlinuz-2"]}
    assert "extra: vmlinuz-2" in planned["diff"]["before"]
    done = run_module(boot_backup.main, params, diff=True)
    assert done["changed"] and tree_digest(boot) == original
    again = run_module(boot_backup.main, params)
    assert again["changed"] is False and tree_digest(boot) == original
    assert run_module(boot_backup.main, dict(params, state="verified"))["matches_source"] is True


def craft(dest, src, members):
    """A backup whose archive and manifest agree (checksums consistent) but hold ``members``."""
    os.makedirs(dest, exist_ok=True)
    archive = os.path.join(dest, "boot.tar")
    entries = {}
    with tarfile.open(archive, "w", format=tarfile.PAX_FORMAT) as tar:
        for name, kind, payload in members:
            info = tarfile.TarInfo(name)
            info.mode, info.uid, info.gid = 0o644, os.getuid(), os.getgid()
            if kind == "file":
                data = payload.encode()
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
                entries[name] = {"type": "file", "mode": 0o644, "uid": info.uid, "gid": info.gid, "size": len(data),
                                 "sha256": hashlib.sha256(data).hexdigest()}
            elif kind == "link":
                info.type, info.linkname = tarfile.SYMTYPE, payload
                tar.addfile(info)
                entries[name] = {"type": "link", "mode": 0o644, "uid": info.uid, "gid": info.gid, "target": payload}
            elif kind == "dir":
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
                entries[name] = {"type": "dir", "mode": 0o755, "uid": info.uid, "gid": info.gid}
    with open(archive, "rb") as handle:
        digest = hashlib.sha256(handle.read()).hexdigest()
    with open(os.path.join(dest, "manifest.json"), "w", encoding="utf-8") as handle:
        json.dump({"format": 1, "src": src, "created": 1, "archive_sha256": digest, "entries": entries}, handle)


HOSTILE = [
    ("dotdot", [("vmlinuz-1", "file", "k"), ("../x", "file", "outside")], "'../x'"),
    ("absolute", [("/tmp/x", "file", "outside")], "'/tmp/x' is not a relative name"),
    ("through-a-link", [("l", "link", "grub"), ("l/x", "file", "written through")], "lies under l, which is a link"),
    ("link-escaping", [("l", "link", "../../../etc/passwd")], "points out of the tree"),
    ("absolute-link-outside", [("l", "link", "/etc/passwd")], "points out of the tree"),
    ("dot-part", [("./a/../b", "file", "x")], "not a plain relative name"),
]


@pytest.mark.parametrize("name,members,message", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_crafted_archive_refused_before_anything_changes(tmp_path, name, members, message):
    boot, dest = str(tmp_path / "boot"), str(tmp_path / "backup")
    make_boot(boot)
    craft(dest, boot, members)
    before = tree_digest(str(tmp_path))
    for state in ("restored", "verified"):
        result = run_module(boot_backup.main, {"src": boot, "dest": dest, "state": state})
        assert result["failed"] and message in result["msg"], result["msg"]
        assert "manifest.json" in result["msg"]
        assert tree_digest(str(tmp_path)) == before


def test_archive_member_not_in_manifest_refused(tmp_path):
    boot, dest = str(tmp_path / "boot"), str(tmp_path / "backup")
    make_boot(boot)
    assert run_module(boot_backup.main, {"src": boot, "dest": dest})["changed"]
    manifest = os.path.join(dest, "manifest.json")
    with open(manifest, encoding="utf-8") as handle:
        data = json.load(handle)
    del data["entries"]["vmlinuz-1"]
    with open(manifest, "w", encoding="utf-8") as handle:
        json.dump(data, handle)
    with open(os.path.join(boot, "grub/grub.cfg"), "w", encoding="utf-8") as handle:
        handle.write("changed")
    before = tree_digest(str(tmp_path))
    result = run_module(boot_backup.main, {"src": boot, "dest": dest, "state": "restored"})
    assert result["failed"] and "which the manifest does not list" in result["msg"]
    assert tree_digest(str(tmp_path)) == before


def test_truncated_archive_refused(tmp_path):
    boot, dest = str(tmp_path / "boot"), str(tmp_path / "backup")
    make_boot(boot)
    assert run_module(boot_backup.main, {"src": boot, "dest": dest})["changed"]
    with open(os.path.join(dest, "boot.tar"), "r+b") as handle:
        handle.truncate(700)
    before = tree_digest(str(tmp_path))
    result = run_module(boot_backup.main, {"src": boot, "dest": dest, "state": "restored"})
    assert result["failed"] and "does not match its checksum" in result["msg"]
    assert tree_digest(str(tmp_path)) == before
