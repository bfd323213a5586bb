# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Print the running processes named like a package manager, one "pid name command" line each.

Only processes under the same root directory as this one count (a chroot
does not see the host's transactions as its own). Python 2.7 and 3.6+.
Usage: transactions.py NAME...
"""
from __future__ import absolute_import, division, print_function

import os
import sys


def main(names):
    mine = os.stat("/")
    me = os.getpid()
    for pid in sorted((int(p) for p in os.listdir("/proc") if p.isdigit())):
        if pid == me:
            continue
        try:
            with open("/proc/%d/comm" % pid) as handle:
                name = handle.read().strip()
            if name not in names:
                with open("/proc/%d/cmdline" % pid, "rb") as handle:
                    argv = handle.read().split(b"\0")
                name = os.path.basename(argv[1].decode("utf-8", "replace")) if len(argv) > 1 and \
                    os.path.basename(argv[0].decode("utf-8", "replace")).startswith("python") else name
                if name not in names:
                    continue
            root = os.stat("/proc/%d/root" % pid)
            if (root.st_dev, root.st_ino) != (mine.st_dev, mine.st_ino):
                continue
            with open("/proc/%d/cmdline" % pid, "rb") as handle:
                command = handle.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
        except (IOError, OSError):
            continue
        print("%d %s %s" % (pid, name, command))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
