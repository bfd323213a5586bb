# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An exclusive lock file with its holder: created atomically (O_EXCL), released by its owner."""

from __future__ import annotations

import json
import os
import time


class LockHeld(Exception):
    """The lock belongs to someone else; ``holder`` says who."""

    def __init__(self, path, holder):
        self.path = path
        self.holder = holder
        super().__init__(describe(path, holder))


def describe(path, holder):
    since = holder.get("since")
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(since)) if isinstance(since, (int, float)) else "?"
    return ("%s is locked by %s (purpose: %s, since %s, lock file %s); wait for that run to end, or remove "
            "the lock when it is known to be dead" % (holder.get("scope", "the environment"),
                                                      holder.get("owner", "an unknown owner"),
                                                      holder.get("purpose", "?"), when, path))


def read_holder(path):
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
        return data if isinstance(data, dict) else {"owner": repr(data)}
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {"owner": "an unreadable lock file"}


def acquire(path, owner, scope="", purpose="", check_mode=False, now=time.time):
    """Take the lock; returns (changed, holder). Re-taking one's own lock changes nothing."""
    holder = read_holder(path)
    if holder is not None:
        if holder.get("owner") == owner:
            return False, holder
        raise LockHeld(path, holder)
    mine = {"owner": owner, "scope": scope, "purpose": purpose, "since": round(now(), 3), "pid": os.getpid()}
    if check_mode:
        return True, mine
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError as exc:
        raise LockHeld(path, read_holder(path) or {}) from exc
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(mine, handle)
        handle.write("\n")
    return True, mine


def release(path, owner, force=False, check_mode=False):
    """Drop the lock if we own it (or force); returns (changed, previous holder)."""
    holder = read_holder(path)
    if holder is None:
        return False, None
    if holder.get("owner") != owner and not force:
        raise LockHeld(path, holder)
    if not check_mode:
        os.unlink(path)
    return True, holder
