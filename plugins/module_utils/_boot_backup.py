# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Back up, verify and restore the whole content of /boot with a SHA-256 manifest.

A backup is a directory holding ``boot.tar`` (every entry of the source tree:
files, directories, symlinks, with modes and owners, whatever file systems are
mounted below it, e.g. an EFI partition on ``/boot/efi``) and
``manifest.json`` (per entry: type, mode, owner, size, SHA-256 or link target,
plus the SHA-256 of the archive itself). When the backup directory lies inside
the source tree it is left out of the backup and never touched by a restore.

Before a restore changes anything, the whole backup is verified: the manifest's
shape, the archive's checksum, every member's checksum, and that every member
stays inside the target (relative names without ``..``, no member written
through a link, no link pointing out of the tree, only files, directories and
symlinks). Node Python 2.7 and 3.6+.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import hashlib
import os
import shutil
import stat
import tarfile
import tempfile
import time

from ansible_collections.fuel.lifecycle.plugins.module_utils._files import (
    FileProblem, atomic_write, confined, dumps_json, makedirs, read_json)

try:
    TEXT_TYPE = unicode  # noqa: F821 pylint: disable=undefined-variable
except NameError:
    TEXT_TYPE = str
STRING_TYPES = (str, TEXT_TYPE)
INT_TYPES = (int, type(2 ** 64))  # (int, long) on Python 2, (int, int) on 3

ARCHIVE = "boot.tar"
MANIFEST = "manifest.json"
FORMAT = 1
CHUNK = 1024 * 1024


class BackupError(Exception):
    """A failure reported to the user as it is."""

    def __init__(self, msg, **details):
        Exception.__init__(self, msg)
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


def _is_int(value):
    return isinstance(value, INT_TYPES) and not isinstance(value, bool)


def member_problem(rel, entry, entries, root="/boot"):
    """Why a manifest entry / archive member cannot be restored under the target, or None."""
    if not isinstance(rel, STRING_TYPES) or not rel or rel.startswith("/") or "\x00" in rel:
        return "%r is not a relative name" % (rel,)
    parts = rel.split("/")
    if ".." in parts or "" in parts or (rel != "." and "." in parts):
        return "%r is not a plain relative name (no '..', '.' or empty parts)" % (rel,)
    for depth in range(1, len(parts)):
        parent = entries.get("/".join(parts[:depth]))
        if parent is not None and parent.get("type") != "dir":
            return "%r lies under %s, which is a %s, not a directory" % (rel, "/".join(parts[:depth]),
                                                                         parent.get("type"))
    if entry.get("type") == "link":
        target = entry.get("target")
        if not isinstance(target, STRING_TYPES) or not target or "\x00" in target:
            return "link %r has no usable target" % (rel,)
        if target.startswith("/"):
            inside_root = os.path.normpath(target) == root or os.path.normpath(target).startswith(root + "/")
            if not inside_root:
                return "link %r points out of the tree (%r)" % (rel, target)
            return None
        resolved = os.path.normpath(os.path.join(os.path.dirname(rel), target))
        if resolved == ".." or resolved.startswith("../"):
            return "link %r points out of the tree (%r)" % (rel, target)
    return None


def check_manifest(path, manifest, root):
    """The manifest when it has the right shape; BackupError naming the file and the entry if not."""
    def bad(why):
        raise BackupError("backup manifest %s is not a usable manifest: %s; nothing was changed" % (path, why))

    if manifest.get("format") != FORMAT:
        bad("unknown format %r (expected %d)" % (manifest.get("format"), FORMAT))
    for key, kinds in (("entries", (dict,)), ("archive_sha256", STRING_TYPES), ("src", STRING_TYPES)):
        if not isinstance(manifest.get(key), kinds):
            bad("%s is missing or of the wrong type" % key)
    if not _is_int(manifest.get("created")):
        bad("created is missing or not an integer")
    entries = manifest["entries"]
    for rel in sorted(entries, key=str):
        entry = entries[rel]
        if not isinstance(entry, dict):
            bad("entry %r is not an object" % (rel,))
        kind = entry.get("type")
        if kind not in ("file", "dir", "link"):
            bad("entry %r has the unknown type %r" % (rel, kind))
        for key in ("mode", "uid", "gid"):
            if not _is_int(entry.get(key)) or entry[key] < 0:
                bad("entry %r: %s is missing or not a non-negative integer" % (rel, key))
        if kind == "file" and (not isinstance(entry.get("sha256"), STRING_TYPES) or not _is_int(entry.get("size"))):
            bad("entry %r: a file needs sha256 and size" % (rel,))
        problem = member_problem(rel, entry, entries, root)
        if problem:
            bad("entry %s" % problem)
    return manifest


def read_manifest(dest, root=None):
    path = os.path.join(dest, MANIFEST)
    try:
        manifest = read_json(path, shape=dict)
    except FileProblem as exc:
        raise BackupError("backup manifest %s; nothing was changed" % exc)
    if manifest is None:
        return None
    if root is None:
        root = manifest.get("src") if isinstance(manifest.get("src"), STRING_TYPES) else "/boot"
    return check_manifest(path, manifest, root)


def verify_archive(dest, manifest):
    """Problems with the stored backup: archive checksum, every file's checksum against the manifest."""
    archive = os.path.join(dest, ARCHIVE)
    if os.path.isdir(archive) or (os.path.lexists(archive) and not os.path.isfile(archive)):
        return ["archive %s is not a regular file" % archive]
    if not os.path.exists(archive):
        return ["archive %s is missing" % archive]
    if sha256_file(archive) != manifest["archive_sha256"]:
        return ["archive %s does not match its checksum in the manifest" % archive]
    problems = []
    seen = set()
    try:
        with tarfile.open(archive, "r:") as tar:
            for member in tar:
                problems.extend(_member_problems(tar, member, manifest["entries"], seen))
    except (tarfile.TarError, EOFError, IOError, OSError) as exc:
        return ["archive %s cannot be read: %s" % (archive, exc)]
    for rel in sorted(set(manifest["entries"]) - seen):
        problems.append("archive lacks %s" % rel)
    return problems


def _member_problems(tar, member, entries, seen):
    rel = member.name
    if rel != "." and rel.endswith("/"):
        rel = rel.rstrip("/")
    seen.add(rel)
    want = entries.get(rel)
    if want is None:
        return ["archive holds %r, which the manifest does not list" % (rel,)]
    kind = "file" if member.isfile() else "dir" if member.isdir() else "link" if member.issym() else None
    if kind is None:
        return ["archive member %r is neither a file, a directory nor a symlink" % (rel,)]
    if kind != want["type"]:
        return ["archive member %r is a %s, the manifest says %s" % (rel, kind, want["type"])]
    if kind == "link" and member.linkname != want.get("target"):
        return ["archive link %r points to %r, the manifest says %r" % (rel, member.linkname, want.get("target"))]
    if kind == "file" and sha256_stream(tar.extractfile(member)) != want.get("sha256"):
        return ["archive copy of %s does not match its checksum" % rel]
    return []


class BootBackup:
    """Backup of ``src`` kept in ``dest``; ``check_mode`` plans without writing."""

    def __init__(self, src, dest, check_mode=False):
        for field, value in (("src", src), ("dest", dest)):
            if not value or not os.path.isabs(value) or "\x00" in value:
                raise BackupError("%s: an absolute path is required, got %r" % (field, value))
            if any(len(part) > 255 for part in value.split("/")):
                raise BackupError("%s: a path component is longer than 255 characters" % field)
        if os.path.lexists(dest) and not os.path.isdir(dest):
            raise BackupError("dest: %s exists and is not a directory" % dest)
        self.src = os.path.normpath(src)
        self.dest = os.path.normpath(dest)
        self.check_mode = check_mode
        self.exclude = excluded_prefix(self.src, self.dest)

    def backed_up(self, force=False):
        try:
            manifest = read_manifest(self.dest, self.src)
        except BackupError:
            if not force:
                raise
            manifest = None  # force: a damaged manifest is replaced
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
        unsafe = [p for p in (member_problem(rel, live[rel], live, self.src) for rel in sorted(live)) if p]
        if unsafe:
            raise BackupError("%s cannot be backed up so that a restore stays inside it: %s; nothing was written"
                              % (self.src, "; ".join(unsafe[:10])), problems=unsafe)
        for name in (ARCHIVE, MANIFEST):
            path = os.path.join(self.dest, name)
            if os.path.lexists(path) and (os.path.islink(path) or not os.path.isfile(path)):
                raise BackupError("%s is not a regular file; the backup cannot replace it, nothing was written"
                                  % path)
        if self.check_mode:
            return {"changed": True, "manifest": {"src": self.src, "entries": len(live)},
                    "differences": compare({}, live), "matches_source": True}
        manifest = self._write(live)
        return {"changed": True, "manifest": self._summary(manifest),
                "differences": {"changed": [], "missing": [], "extra": []}, "matches_source": True}

    def _write(self, live):
        makedirs(self.dest, 0o700)
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
            os.rename(tmp_archive, os.path.join(self.dest, ARCHIVE))
        finally:
            if os.path.exists(tmp_archive):
                os.unlink(tmp_archive)
        atomic_write(os.path.join(self.dest, MANIFEST), dumps_json(manifest), 0o600)
        return manifest

    def _summary(self, manifest):
        return {"src": manifest["src"], "dest": self.dest, "created": manifest["created"],
                "entries": len(manifest["entries"]), "archive_sha256": manifest["archive_sha256"],
                "bytes": sum(e.get("size", 0) for e in manifest["entries"].values())}

    def _require(self):
        manifest = read_manifest(self.dest, self.src)
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
        # Everything was verified above (archive, checksums, names confined); now the tree changes.
        for rel in sorted(diff["extra"], key=len, reverse=True):
            path = os.path.join(self.src, rel)
            if os.path.isdir(path) and not os.path.islink(path):
                if is_mount(path):
                    continue
                shutil.rmtree(path)
            elif os.path.lexists(path):
                os.unlink(path)
        todo = set(diff["changed"]) | set(diff["missing"])
        with tarfile.open(os.path.join(self.dest, ARCHIVE), "r:") as tar:
            for member in tar:
                rel = member.name.rstrip("/") if member.name != "." else "."
                if rel in todo:
                    self._restore_member(tar, member, entries[rel])
        after = compare(entries, scan(self.src, self.exclude))
        if has_differences(after):
            raise BackupError("restore of %s incomplete, still different: %s" % (self.src, after), differences=after)
        result["matches_source"] = True
        return result

    def _restore_member(self, tar, member, entry):
        rel = member.name.rstrip("/") if member.name != "." else "."
        path = os.path.join(self.src, rel)
        parent = os.path.dirname(path)
        if rel != ".":
            # The parent directory must resolve inside the tree: nothing is written through a link.
            try:
                _files_confined(self.src, os.path.dirname(rel) or ".")
            except ValueError as exc:
                raise BackupError("restore of %s refused at %s: %s" % (self.src, rel, exc))
        if entry["type"] == "dir":
            if os.path.lexists(path) and (os.path.islink(path) or not os.path.isdir(path)):
                os.unlink(path)
            makedirs(path)
        else:
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            makedirs(parent)
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
            os.rename(tmp, path)
        if entry["type"] != "link":
            os.chmod(path, entry["mode"])
            os.utime(path, (member.mtime, member.mtime))
        try:
            os.lchown(path, entry["uid"], entry["gid"])
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.EACCES):
                raise

    def absent(self):
        present = [name for name in (ARCHIVE, MANIFEST) if os.path.exists(os.path.join(self.dest, name))]
        if present and not self.check_mode:
            for name in present:
                os.unlink(os.path.join(self.dest, name))
            if os.path.isdir(self.dest) and not os.listdir(self.dest):
                os.rmdir(self.dest)
        return {"changed": bool(present), "removed": [os.path.join(self.dest, n) for n in present]}


def is_mount(path):
    """``os.path.ismount`` for POSIX (a mount point: another device than its parent, or the root)."""
    try:
        here, parent = os.lstat(path), os.lstat(os.path.join(path, ".."))
    except OSError:
        return False
    if stat.S_ISLNK(here.st_mode):
        return False
    return here.st_dev != parent.st_dev or here.st_ino == parent.st_ino


def _files_confined(root, rel):
    if rel == ".":
        return os.path.realpath(root)
    return confined(root, rel)


def diff_text(differences, src):
    """Ansible diff: the differing paths of ``src`` before and after a restore."""
    lines = ["%s: %s" % (kind, rel) for kind in ("changed", "missing", "extra") for rel in differences[kind]]
    return {"before_header": "%s (now)" % src, "after_header": "%s (backup)" % src,
            "before": "".join("%s\n" % line for line in lines if not line.startswith("missing")),
            "after": "".join("%s\n" % line for line in lines if not line.startswith("extra"))}
