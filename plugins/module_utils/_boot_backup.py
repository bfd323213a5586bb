# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Back up, verify and restore the whole content of /boot with a SHA-256 manifest.

A backup is a directory holding ``boot.tar`` (every entry of the source tree:
files, directories, symlinks, with modes and owners, whatever file systems are
mounted below it, e.g. an EFI partition on ``/boot/efi``) and
``manifest.json`` (per entry: type, mode, owner, size, SHA-256 or link target,
plus the SHA-256 of the archive itself). When the backup directory lies inside
the source tree it is left out of the backup and never touched by a restore.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import tarfile
import tempfile
import time

ARCHIVE = "boot.tar"
MANIFEST = "manifest.json"
FORMAT = 1
CHUNK = 1024 * 1024


class BackupError(Exception):
    """A failure reported to the user as it is."""

    def __init__(self, msg, **details):
        super().__init__(msg)
        self.details = details


def sha256_file(path):
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            sha.update(block)
    return sha.hexdigest()


def sha256_stream(stream):
    sha = hashlib.sha256()
    for block in iter(lambda: stream.read(CHUNK), b""):
        sha.update(block)
    return sha.hexdigest()


def _inside(path, parent):
    path, parent = os.path.realpath(path), os.path.realpath(parent)
    return path == parent or path.startswith(parent.rstrip("/") + "/")


def excluded_prefix(src, dest):
    """Relative path of ``dest`` inside ``src`` (left out of backup and restore), or None."""
    if _inside(dest, src):
        rel = os.path.relpath(os.path.realpath(dest), os.path.realpath(src))
        if rel == ".":
            raise BackupError("dest: %s is the source directory itself" % dest)
        return rel
    return None


def _skip(rel, exclude):
    return exclude is not None and (rel == exclude or rel.startswith(exclude + "/"))


def scan(src, exclude=None):
    """Manifest entries of the tree under ``src``, keyed by relative path ('.' is the top)."""
    if not os.path.isdir(src):
        raise BackupError("src: %s is not a directory" % src)
    entries = {}
    for base, dirs, files in os.walk(src):
        dirs.sort()
        for name in sorted(dirs + files):
            path = os.path.join(base, name)
            rel = os.path.relpath(path, src)
            if _skip(rel, exclude):
                continue
            info = os.lstat(path)
            entry = {"mode": stat.S_IMODE(info.st_mode), "uid": info.st_uid, "gid": info.st_gid}
            if stat.S_ISLNK(info.st_mode):
                entry.update(type="link", target=os.readlink(path))
            elif stat.S_ISDIR(info.st_mode):
                entry["type"] = "dir"
            elif stat.S_ISREG(info.st_mode):
                entry.update(type="file", size=info.st_size, sha256=sha256_file(path))
            else:
                continue
            entries[rel] = entry
        dirs[:] = [d for d in dirs if not _skip(os.path.relpath(os.path.join(base, d), src), exclude)
                   and not os.path.islink(os.path.join(base, d))]
    return entries


def compare(expected, actual, check_owner=True):
    """Differences between the manifest and the live tree: changed, missing, extra paths."""
    changed, missing = [], []
    for rel, want in sorted(expected.items()):
        have = actual.get(rel)
        if have is None:
            missing.append(rel)
            continue
        keys = ["type", "mode", "sha256", "size", "target"] + (["uid", "gid"] if check_owner else [])
        if any(want.get(k) != have.get(k) for k in keys):
            changed.append(rel)
    extra = sorted(rel for rel in actual if rel not in expected)
    return {"changed": changed, "missing": missing, "extra": extra}


def has_differences(diff):
    return any(diff[key] for key in ("changed", "missing", "extra"))


def read_manifest(dest):
    path = os.path.join(dest, MANIFEST)
    if not os.path.exists(path):
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            manifest = json.load(handle)
    except ValueError as exc:
        raise BackupError("backup manifest %s is not valid JSON: %s" % (path, exc)) from exc
    if manifest.get("format") != FORMAT or "entries" not in manifest:
        raise BackupError("backup manifest %s has an unknown format" % path)
    return manifest


def verify_archive(dest, manifest):
    """Problems with the stored backup: archive checksum, every file's checksum against the manifest."""
    archive = os.path.join(dest, ARCHIVE)
    if not os.path.exists(archive):
        return ["archive %s is missing" % archive]
    if sha256_file(archive) != manifest["archive_sha256"]:
        return ["archive %s does not match its checksum in the manifest" % archive]
    problems = []
    seen = set()
    with tarfile.open(archive, "r:") as tar:
        for member in tar:
            rel = os.path.normpath(member.name)
            seen.add(rel)
            want = manifest["entries"].get(rel)
            if want is None:
                problems.append("archive holds %s, which the manifest does not list" % rel)
            elif member.isfile():
                if sha256_stream(tar.extractfile(member)) != want.get("sha256"):
                    problems.append("archive copy of %s does not match its checksum" % rel)
    for rel in sorted(set(manifest["entries"]) - seen):
        problems.append("archive lacks %s" % rel)
    return problems


class BootBackup:
    """Backup of ``src`` kept in ``dest``; ``check_mode`` plans without writing."""

    def __init__(self, src, dest, check_mode=False):
        if not src or not os.path.isabs(src):
            raise BackupError("src: an absolute path is required")
        if not dest or not os.path.isabs(dest):
            raise BackupError("dest: an absolute path is required")
        self.src = os.path.normpath(src)
        self.dest = os.path.normpath(dest)
        self.check_mode = check_mode
        self.exclude = excluded_prefix(self.src, self.dest)

    def backed_up(self, force=False):
        manifest = read_manifest(self.dest)
        live = scan(self.src, self.exclude)
        if manifest is not None and not force:
            problems = verify_archive(self.dest, manifest)
            diff = compare(manifest["entries"], live)
            if not problems:
                return {"changed": False, "manifest": self._summary(manifest), "differences": diff,
                        "matches_source": not has_differences(diff)}
            if not force:
                raise BackupError("the backup in %s is damaged (%s); use force=true to take a new one"
                                  % (self.dest, "; ".join(problems)), problems=problems)
        if self.check_mode:
            return {"changed": True, "manifest": {"src": self.src, "entries": len(live)},
                    "differences": compare({}, live), "matches_source": True}
        manifest = self._write(live)
        return {"changed": True, "manifest": self._summary(manifest),
                "differences": {"changed": [], "missing": [], "extra": []}, "matches_source": True}

    def _write(self, live):
        os.makedirs(self.dest, mode=0o700, exist_ok=True)
        handle, tmp_archive = tempfile.mkstemp(prefix=".boot.", suffix=".tar", dir=self.dest)
        os.close(handle)
        try:
            with tarfile.open(tmp_archive, "w", format=tarfile.PAX_FORMAT) as tar:
                for rel in sorted(live):
                    tar.add(os.path.join(self.src, rel), arcname=rel, recursive=False)
            # The tree may have changed while it was read: the manifest follows the archive.
            entries = {}
            with tarfile.open(tmp_archive, "r:") as tar:
                for member in tar:
                    rel = os.path.normpath(member.name)
                    entry = {"mode": member.mode, "uid": member.uid, "gid": member.gid}
                    if member.issym():
                        entry.update(type="link", target=member.linkname)
                    elif member.isdir():
                        entry["type"] = "dir"
                    else:
                        entry.update(type="file", size=member.size, sha256=sha256_stream(tar.extractfile(member)))
                    entries[rel] = entry
            manifest = {"format": FORMAT, "src": self.src, "created": int(time.time()),
                        "archive_sha256": sha256_file(tmp_archive), "entries": entries}
            os.chmod(tmp_archive, 0o600)
            os.replace(tmp_archive, os.path.join(self.dest, ARCHIVE))
        finally:
            if os.path.exists(tmp_archive):
                os.unlink(tmp_archive)
        tmp_manifest = os.path.join(self.dest, "." + MANIFEST + ".tmp")
        with open(tmp_manifest, "w", encoding="utf-8") as handle:
            json.dump(manifest, handle, indent=1, sort_keys=True)
        os.chmod(tmp_manifest, 0o600)
        os.replace(tmp_manifest, os.path.join(self.dest, MANIFEST))
        return manifest

    def _summary(self, manifest):
        return {"src": manifest["src"], "dest": self.dest, "created": manifest["created"],
                "entries": len(manifest["entries"]), "archive_sha256": manifest["archive_sha256"],
                "bytes": sum(e.get("size", 0) for e in manifest["entries"].values())}

    def _require(self):
        manifest = read_manifest(self.dest)
        if manifest is None:
            raise BackupError("no backup of %s in %s" % (self.src, self.dest))
        problems = verify_archive(self.dest, manifest)
        if problems:
            raise BackupError("the backup in %s is damaged, nothing was changed: %s" % (
                self.dest, "; ".join(problems)), problems=problems)
        return manifest

    def verified(self):
        manifest = self._require()
        diff = compare(manifest["entries"], scan(self.src, self.exclude))
        return {"changed": False, "manifest": self._summary(manifest), "differences": diff,
                "matches_source": not has_differences(diff)}

    def restored(self):
        manifest = self._require()
        diff = compare(manifest["entries"], scan(self.src, self.exclude))
        result = {"changed": has_differences(diff), "manifest": self._summary(manifest), "differences": diff}
        if self.check_mode or not result["changed"]:
            result["matches_source"] = not result["changed"]
            return result
        entries = manifest["entries"]
        for rel in sorted(diff["extra"], key=len, reverse=True):
            path = os.path.join(self.src, rel)
            if os.path.isdir(path) and not os.path.islink(path):
                if os.path.ismount(path):
                    continue
                shutil.rmtree(path)
            elif os.path.lexists(path):
                os.unlink(path)
        todo = set(diff["changed"]) | set(diff["missing"])
        with tarfile.open(os.path.join(self.dest, ARCHIVE), "r:") as tar:
            for member in tar:
                rel = os.path.normpath(member.name)
                if rel in todo:
                    self._restore_member(tar, member, entries[rel])
        after = compare(entries, scan(self.src, self.exclude))
        if has_differences(after):
            raise BackupError("restore of %s incomplete, still different: %s" % (self.src, after), differences=after)
        result["matches_source"] = True
        return result

    def _restore_member(self, tar, member, entry):
        path = os.path.join(self.src, os.path.normpath(member.name))
        if entry["type"] == "dir":
            if os.path.lexists(path) and not os.path.isdir(path):
                os.unlink(path)
            os.makedirs(path, exist_ok=True)
        else:
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            parent = os.path.dirname(path)
            os.makedirs(parent, exist_ok=True)
            tmp = os.path.join(parent, ".%s.fuel-restore" % os.path.basename(path))
            if os.path.lexists(tmp):
                os.unlink(tmp)
            if entry["type"] == "link":
                os.symlink(entry["target"], tmp)
            else:
                source = tar.extractfile(member)
                with open(tmp, "wb") as out:
                    shutil.copyfileobj(source, out, CHUNK)
                    out.flush()
                    os.fsync(out.fileno())
            os.replace(tmp, path)
        if entry["type"] != "link":
            os.chmod(path, entry["mode"])
            os.utime(path, (member.mtime, member.mtime))
        try:
            os.lchown(path, entry["uid"], entry["gid"])
        except PermissionError:
            pass

    def absent(self):
        present = [name for name in (ARCHIVE, MANIFEST) if os.path.exists(os.path.join(self.dest, name))]
        if present and not self.check_mode:
            for name in present:
                os.unlink(os.path.join(self.dest, name))
            if os.path.isdir(self.dest) and not os.listdir(self.dest):
                os.rmdir(self.dest)
        return {"changed": bool(present), "removed": [os.path.join(self.dest, n) for n in present]}


def diff_text(differences, src):
    """Ansible diff: the differing paths of ``src`` before and after a restore."""
    lines = ["%s: %s" % (kind, rel) for kind in ("changed", "missing", "extra") for rel in differences[kind]]
    return {"before_header": "%s (now)" % src, "after_header": "%s (backup)" % src,
            "before": "".join("%s\n" % line for line in lines if not line.startswith("missing")),
            "after": "".join("%s\n" % line for line in lines if not line.startswith("extra"))}
