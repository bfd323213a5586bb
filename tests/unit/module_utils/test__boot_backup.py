# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""/boot backup on a scratch tree: manifest, self-exclusion, damage detection, exact restore."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.fuel.lifecycle.plugins.module_utils import _boot_backup as bb


def make_boot(root):
    os.makedirs(os.path.join(root, "grub", "i386-pc"))
    os.makedirs(os.path.join(root, "efi", "EFI", "vendor"))
    files = {"vmlinuz-1": b"kernel one" * 100, "initrd.img-1": b"initrd" * 1000,
             "grub/grub.cfg": b"menuentry 1\n", "grub/grubenv": b"# GRUB Environment Block\n",
             "grub/i386-pc/normal.mod": b"\x7fELF", "efi/EFI/vendor/shimx64.efi": b"MZ"}
    for rel, data in files.items():
        with open(os.path.join(root, rel), "wb") as handle:
            handle.write(data)
    os.symlink("vmlinuz-1", os.path.join(root, "vmlinuz"))
    return files


@pytest.fixture(name="boot")
def boot_fixture(tmp_path):
    src = tmp_path / "boot"
    src.mkdir()
    make_boot(str(src))
    return str(src)


def test_backup_manifest_lists_every_entry_with_checksums(boot, tmp_path):
    dest = str(tmp_path / "backup")
    result = bb.BootBackup(boot, dest).backed_up()
    assert result["changed"] is True and result["matches_source"] is True
    with open(os.path.join(dest, bb.MANIFEST), encoding="utf-8") as handle:
        manifest = json.load(handle)
    entries = manifest["entries"]
    assert entries["vmlinuz"] == dict(entries["vmlinuz"], type="link", target="vmlinuz-1")
    assert entries["efi/EFI/vendor/shimx64.efi"]["sha256"] == bb.sha256_file(os.path.join(boot, "efi/EFI/vendor/shimx64.efi"))
    assert entries["grub"]["type"] == "dir"
    assert manifest["archive_sha256"] == bb.sha256_file(os.path.join(dest, bb.ARCHIVE))
    again = bb.BootBackup(boot, dest).backed_up()
    assert again["changed"] is False


def test_existing_backup_is_kept_when_boot_changed(boot, tmp_path):
    dest = str(tmp_path / "backup")
    bb.BootBackup(boot, dest).backed_up()
    with open(os.path.join(boot, "vmlinuz-1"), "wb") as handle:
        handle.write(b"new kernel")
    result = bb.BootBackup(boot, dest).backed_up()
    assert result["changed"] is False and result["matches_source"] is False
    assert result["differences"]["changed"] == ["vmlinuz-1"]
    assert bb.BootBackup(boot, dest).backed_up(force=True)["changed"] is True
    assert bb.BootBackup(boot, dest).verified()["matches_source"] is True


def test_restore_is_exact_and_check_mode_changes_nothing(boot, tmp_path):
    dest = str(tmp_path / "backup")
    bb.BootBackup(boot, dest).backed_up()
    before = bb.scan(boot)
    with open(os.path.join(boot, "vmlinuz-1"), "wb") as handle:
        handle.write(b"replaced")
    os.unlink(os.path.join(boot, "initrd.img-1"))
    os.makedirs(os.path.join(boot, "loader", "entries"))
    with open(os.path.join(boot, "loader", "entries", "new.conf"), "w", encoding="ascii") as handle:
        handle.write("title new\n")
    os.chmod(os.path.join(boot, "grub", "grub.cfg"), 0o600)
    planned = bb.BootBackup(boot, dest, check_mode=True).restored()
    assert planned["changed"] is True
    assert planned["differences"] == {"changed": ["grub/grub.cfg", "vmlinuz-1"], "missing": ["initrd.img-1"],
                                      "extra": ["loader", "loader/entries", "loader/entries/new.conf"]}
    assert os.path.exists(os.path.join(boot, "loader"))
    result = bb.BootBackup(boot, dest).restored()
    assert result["changed"] is True and result["matches_source"] is True
    assert bb.scan(boot) == before
    assert bb.BootBackup(boot, dest).restored()["changed"] is False


def test_damaged_archive_refuses_restore_and_fails_verify(boot, tmp_path):
    dest = str(tmp_path / "backup")
    bb.BootBackup(boot, dest).backed_up()
    with open(os.path.join(dest, bb.ARCHIVE), "r+b") as handle:
        handle.seek(1024)
        handle.write(b"XXXX")
    with open(os.path.join(boot, "vmlinuz-1"), "wb") as handle:
        handle.write(b"replaced")
    with pytest.raises(bb.BackupError, match="damaged, nothing was changed"):
        bb.BootBackup(boot, dest).restored()
    with open(os.path.join(boot, "vmlinuz-1"), "rb") as handle:
        assert handle.read() == b"replaced"
    with pytest.raises(bb.BackupError, match="damaged"):
        bb.BootBackup(boot, dest).verified()


def test_backup_inside_boot_excludes_itself_and_survives_restore(boot):
    dest = os.path.join(boot, "fuel-backup")
    bb.BootBackup(boot, dest).backed_up()
    manifest = bb.read_manifest(dest)
    assert not any(rel.startswith("fuel-backup") for rel in manifest["entries"])
    with open(os.path.join(boot, "extra"), "w", encoding="ascii") as handle:
        handle.write("x")
    assert bb.BootBackup(boot, dest).restored()["differences"]["extra"] == ["extra"]
    assert os.path.exists(os.path.join(dest, bb.ARCHIVE))


def test_missing_backup_and_bad_paths_are_clear_errors(boot, tmp_path):
    with pytest.raises(bb.BackupError, match="no backup of"):
        bb.BootBackup(boot, str(tmp_path / "none")).restored()
    with pytest.raises(bb.BackupError, match="dest: an absolute path"):
        bb.BootBackup(boot, "relative")
    with pytest.raises(bb.BackupError, match="src: .* is not a directory"):
        bb.BootBackup(str(tmp_path / "nope"), str(tmp_path / "b")).backed_up()
    result = bb.BootBackup(boot, str(tmp_path / "none")).absent()
    assert result["changed"] is False
