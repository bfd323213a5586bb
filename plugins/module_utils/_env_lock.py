# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An exclusive lock file with its holder: created atomically, released by the run that took it.

A lock's identity is the run (``run_id``, generated once per playbook run),
not the human ``owner``: two runs with the same owner never share a lock. The
holder names the controller host and the process of the run that took it, so
an operator can tell whether that run is still alive. Breaking a lock left by
a dead run is recorded, with the dead run, in an optional history file.

Node Python 2.7 and 3.6+.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import re
import time

from ansible_collections.fuel.lifecycle.plugins.module_utils import _files as files

RUN_ID_RE = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9_.:+@-]{0,127}\Z")
HISTORY_KEEP = 200
DEFAULT_BREAK_HINT = "force=true"


class LockHeld(Exception):
    """The lock belongs to another run; ``holder`` says which."""

    def __init__(self, path, holder, break_hint=DEFAULT_BREAK_HINT):
        self.path = path
        self.holder = holder
        Exception.__init__(self, describe(path, holder, break_hint))


def _when(since):
    if isinstance(since, (int, float)) and not isinstance(since, bool) and 0 <= since < 1e11:
        return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(since))
    return "an unknown time"


def describe(path, holder, break_hint=DEFAULT_BREAK_HINT):
    """The refusal: who holds the lock, where its run lives, and how to break it when that run is dead."""
    controller = holder.get("controller") if isinstance(holder.get("controller"), dict) else {}
    where = ""
    if controller.get("host") or controller.get("pid"):
        where = ", run by process %s on controller %s" % (controller.get("pid", "?"), controller.get("host", "?"))
    run = holder.get("run_id")
    who = "%s (run %s)" % (holder.get("owner", "an unknown owner"), run) if run else \
        holder.get("owner", "an unknown owner")
    return ("%s is locked by %s (purpose: %s, since %s%s, lock file %s); wait for that run to end; if it is "
            "known to be dead (that process gone, the job cancelled), rerun with %s to break the lock"
            % (holder.get("scope") or "the environment", who, holder.get("purpose") or "?",
               _when(holder.get("since")), where, path, break_hint))


def read_holder(path):
    """The holder recorded in the lock file, None when there is no lock.

    A lock file that cannot be parsed still locks: it is reported as such.
    """
    try:
        data = files.read_json(path, shape=dict, max_bytes=65536)
    except files.FileProblem as exc:
        if os.path.isdir(path):
            raise
        return {"owner": "an unreadable lock file (%s)" % exc.problem}
    return data


def same_run(holder, owner, run_id):
    return holder.get("owner") == owner and holder.get("run_id") == run_id


def validate(params):
    """Refuse bad input before anything is read or written; returns the cleaned values."""
    path = params["path"]
    if not path or not os.path.isabs(path):
        raise ValueError("path: must be an absolute path, got %r" % (path,))
    files.check_text(path, "path", max_len=4096)
    if len(os.path.basename(path)) > files.NAME_MAX:
        raise ValueError("path: file name longer than %d characters" % files.NAME_MAX)
    owner = params.get("owner") or ""
    files.check_text(owner, "owner", max_len=256)
    if not owner.strip():
        raise ValueError("owner: must not be empty")
    run_id = params.get("run_id") or ""
    if run_id and not RUN_ID_RE.match(run_id):
        raise ValueError("run_id: %r is not a run id (letters, digits and _ . : + @ -, at most 128)" % (run_id,))
    if params.get("state", "present") == "present" and not run_id:
        raise ValueError("run_id: required to take a lock (one generated id per run)")
    for field in ("scope", "purpose", "controller_host", "break_hint"):
        files.check_text(params.get(field) or "", field, max_len=512)
    pid = params.get("controller_pid")
    if pid is not None and (isinstance(pid, bool) or not isinstance(pid, int) or pid < 0 or pid > 2 ** 22):
        raise ValueError("controller_pid: must be a process id, got %r" % (pid,))
    history = params.get("history_path") or ""
    if history:
        if not os.path.isabs(history):
            raise ValueError("history_path: must be an absolute path, got %r" % (history,))
        files.check_text(history, "history_path", max_len=4096)
        if os.path.abspath(history) == os.path.abspath(path):
            raise ValueError("history_path: must not be the lock file itself")
    return owner, run_id


def make_holder(params, owner, run_id, now):
    holder = {"owner": owner, "run_id": run_id, "scope": params.get("scope") or "",
              "purpose": params.get("purpose") or "", "since": round(now, 3)}
    if params.get("controller_host") or params.get("controller_pid") is not None:
        holder["controller"] = {"host": params.get("controller_host") or "",
                                "pid": params.get("controller_pid")}
    return holder


def read_history(path):
    if not path:
        return None
    data = files.read_json(path, shape=dict)
    if data is None:
        return {"events": []}
    if not isinstance(data.get("events"), list):
        raise files.FileProblem(path, "holds no 'events' list")
    return data


def append_history(path, history, event):
    history["events"] = (history["events"] + [event])[-HISTORY_KEEP:]
    files.makedirs(os.path.dirname(path))
    files.atomic_write(path, files.dumps_json(history), 0o644)


def apply(params, check_mode=False, now=None):
    """Take or release the lock as ``params`` say. Returns the module result (without ``failed``).

    Raises ValueError (bad input), FileProblem (a file at fault) or LockHeld.
    """
    now = time.time() if now is None else now
    owner, run_id = validate(params)
    path = params["path"]
    hint = params.get("break_hint") or DEFAULT_BREAK_HINT
    force = bool(params.get("force"))
    history_path = params.get("history_path") or ""
    if os.path.isdir(path):
        raise files.FileProblem(path, "is a directory where the lock file is expected")
    history = read_history(history_path)
    holder = read_holder(path)
    result = {"changed": False, "holder": holder, "broken": None, "event": None}
    if params.get("state", "present") == "absent":
        if holder is None:
            return result
        if not same_run(holder, owner, run_id) and not force:
            raise LockHeld(path, holder, hint)
        event = "released" if same_run(holder, owner, run_id) else "broken"
        result.update(changed=True, event=event, broken=holder if event == "broken" else None)
        if not check_mode:
            _unlink(path)
            if history is not None:
                append_history(history_path, history, _event(event, holder, owner, run_id, now))
        return result
    mine = make_holder(params, owner, run_id, now)
    if holder is not None:
        if same_run(holder, owner, run_id):
            return result
        if not force:
            raise LockHeld(path, holder, hint)
        result["broken"] = holder
    result.update(changed=True, holder=mine, event="acquired")
    if check_mode:
        return result
    files.makedirs(os.path.dirname(path))
    if result["broken"] is not None:
        _unlink(path)
        if history is not None:
            history["events"].append(_event("broken", result["broken"], owner, run_id, now))
    if not files.create_exclusive(path, files.dumps_json(mine), 0o644):
        raise LockHeld(path, read_holder(path) or {}, hint)
    if history is not None:
        append_history(history_path, history, _event("acquired", mine, owner, run_id, now))
    return result


def _event(kind, holder, owner, run_id, now):
    event = {"event": kind, "at": round(now, 3), "by": {"owner": owner, "run_id": run_id}, "holder": holder}
    if kind == "broken":
        event["note"] = ("the run %s of %s never released the lock (killed or lost); broken by run %s"
                         % (holder.get("run_id", "?"), holder.get("owner", "?"), run_id or "?"))
    return event


def _unlink(path):
    try:
        os.unlink(path)
    except OSError as exc:
        if exc.errno != errno.ENOENT:
            raise files.FileProblem(path, "cannot be removed: %s" % (exc.strerror or exc))
