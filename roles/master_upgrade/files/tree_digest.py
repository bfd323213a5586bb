# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Print a JSON digest of a directory tree: every entry's path, type, mode, owner and content.

Used by the master upgrade to prove that a rollback brought /etc back byte for
byte. Read-only. Usage: tree_digest.py DIRECTORY
"""

from __future__ import absolute_import, division, print_function

import hashlib
import json
import os
import stat
import sys


def entry_line(path, top):
    info = os.lstat(path)
    rel = os.path.relpath(path, top)
    head = "%s %o %d:%d" % (rel, info.st_mode, info.st_uid, info.st_gid)
    if stat.S_ISLNK(info.st_mode):
        return head + " -> " + os.readlink(path)
    if stat.S_ISREG(info.st_mode):
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        return head + " " + digest.hexdigest()
    return head


def tree_digest(top, excluded=()):
    lines = []
    for root, dirs, files in os.walk(top):
        dirs[:] = sorted(d for d in dirs if os.path.relpath(os.path.join(root, d), top) not in excluded)
        for name in dirs + sorted(files):
            path = os.path.join(root, name)
            if os.path.relpath(path, top) not in excluded:
                lines.append(entry_line(path, top))
    total = hashlib.sha256("\n".join(lines).encode("utf-8", "surrogateescape")).hexdigest()
    return {"path": top, "entries": len(lines), "sha256": total, "lines": lines}


def main():
    if len(sys.argv) < 2 or not os.path.isdir(sys.argv[1]):
        sys.stderr.write("usage: tree_digest.py DIRECTORY [EXCLUDED_RELATIVE_PATH...]\n")
        return 2
    print(json.dumps(tree_digest(sys.argv[1], set(sys.argv[2:]))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
