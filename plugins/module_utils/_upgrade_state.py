# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Phase state of the master node upgrade: transitions, record, history and lock.

The record is one JSON document on the host. It holds the current phase and
its result, one entry per phase of the current upgrade cycle, free data the
phases record (snapshot set, package list before the update, ...) and a
history that is only ever appended to. The lock is a separate file created
with O_CREAT|O_EXCL, naming the run that holds it.

Plain Python (no Ansible imports), so the transition table is unit-tested
directly; the files go through ``_files`` (bounded, validated reads, atomic
writes, an exclusive create for the lock). Node Python 2.7 and 3.6+.

``recover`` is the way forward when a rollback is impossible: it is allowed
only after a ``rollback`` that failed with ``rollback_impossible`` recorded in
the data (a member of the snapshot set overflowed, so nothing can be merged).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import errno
import os
import socket
import time

from ansible_collections.fuel.lifecycle.plugins.module_utils._files import (
    FileProblem, atomic_write, check_text, create_exclusive, dumps_json, loads_json, makedirs, read_json, read_text)

PHASES = ("prepare", "update", "commit", "rollback", "recover", "finalize")
STATES = ("begin", "complete", "failed", "query", "unlock", "restore")
RESULTS = ("running", "complete", "failed")
FORMAT = 1

# phase -> phases that may follow it once it is complete.
NEXT = {
    None: ("prepare",),
    "prepare": ("update", "rollback"),
    "update": ("commit", "rollback"),
    "commit": ("finalize",),
    "rollback": ("finalize",),
    "recover": ("prepare",),
    "finalize": ("prepare",),
}
# Phases a failed (or interrupted) phase may be left for, besides resuming it.
ESCAPE = {
    "prepare": ("rollback",),
    "update": ("rollback",),
}

# Decisions of ``decide``.
START = "start"          # a new phase begins
RESUME = "resume"        # the current phase is begun again after a failure/interruption
DONE = "already_complete"  # the phase is the current one and complete: nothing to do


class StateError(Exception):
    """A refused request; the message names the phase and what is allowed."""


def now():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def empty_record():
    return {"format": FORMAT, "cycle": 0, "phase": None, "result": None, "phases": {}, "data": {}, "history": []}


def current(record):
    """(phase, result) of a record, (None, None) when no upgrade ever ran."""
    if not record:
        return None, None
    return record.get("phase"), record.get("result")


def rollback_impossible(record):
    """Why a rollback cannot be done (recorded by a refused rollback), or None."""
    if not record:
        return None
    phase, result = current(record)
    if phase != "rollback" or result != "failed":
        return None
    reason = (record.get("data") or {}).get("rollback_impossible")
    return reason or None


def allowed_next(record):
    """Phases that ``begin`` accepts now (resume of the current phase included)."""
    phase, result = current(record)
    if phase is None:
        return list(NEXT[None])
    if result == "complete":
        return [phase] + list(NEXT[phase])
    if rollback_impossible(record):
        return ["recover"]
    return [phase] + list(ESCAPE.get(phase, ()))


def describe(record):
    phase, result = current(record)
    if phase is None:
        return "no upgrade has run on this host"
    return "current phase is '%s' (%s)" % (phase, result)


def decide(record, phase):
    """What ``begin`` of ``phase`` means for ``record``: START, RESUME or DONE; StateError if refused."""
    if phase not in PHASES:
        raise StateError("phase must be one of %s, got '%s'" % (", ".join(PHASES), phase))
    cur, result = current(record)
    impossible = rollback_impossible(record)
    if impossible:
        if phase == "recover":
            return START
        raise StateError("phase '%s' refused: %s and a rollback is impossible (%s); allowed now: recover "
                         "(finish the update, verify, commit)" % (phase, describe(record), impossible))
    if cur == phase:
        return DONE if result == "complete" else RESUME
    if cur is None or result == "complete":
        if phase in NEXT[cur]:
            return START
    elif phase in ESCAPE.get(cur, ()):
        return START
    allowed = allowed_next(record)
    raise StateError("phase '%s' refused: %s; allowed now: %s" % (phase, describe(record), ", ".join(allowed)))


def _event(record, phase, event, run_id, message=None):
    entry = {"time": now(), "cycle": record["cycle"], "phase": phase, "event": event, "run_id": run_id}
    if message:
        entry["message"] = message
    record["history"].append(entry)


def _merge_data(record, data, data_once):
    for key, value in (data or {}).items():
        record["data"][key] = value
    for key, value in (data_once or {}).items():
        record["data"].setdefault(key, value)


def apply(record, phase, state, run_id, message=None, data=None, data_once=None):
    """Return (new_record, decision) for a state change; ``record`` is not modified.

    ``begin`` starts or resumes ``phase``; ``complete`` and ``failed`` close the
    current phase, which must be ``phase`` and running (``complete`` of an
    already complete phase changes nothing). ``data`` replaces keys of the
    recorded data, ``data_once`` sets only keys not recorded yet (for "before"
    values a resumed phase must not overwrite).
    """
    new = copy.deepcopy(record) if record else empty_record()
    new.setdefault("history", [])
    new.setdefault("data", {})
    new.setdefault("phases", {})
    if state == "begin":
        decision = decide(record, phase)
        if decision == DONE:
            return new, decision
        if decision == START and phase == "prepare":
            new["cycle"] = new.get("cycle", 0) + 1
            new["phases"] = {}
            new["data"] = {}
        entry = new["phases"].setdefault(phase, {"attempts": 0, "started": now()})
        entry["attempts"] += 1
        entry["result"] = "running"
        entry["last_started"] = now()
        entry.pop("finished", None)
        entry.pop("message", None)
        new["phase"], new["result"] = phase, "running"
        _merge_data(new, data, data_once)
        _event(new, phase, "begin" if decision == START else "resume", run_id)
        return new, decision
    if state in ("complete", "failed"):
        cur, result = current(record)
        if cur != phase:
            raise StateError("cannot mark phase '%s' %s: %s" % (phase, state, describe(record)))
        if result == state:
            return new, DONE
        if result != "running":
            raise StateError("cannot mark phase '%s' %s: it is %s, begin it first" % (phase, state, result))
        entry = new["phases"][phase]
        entry["result"] = state
        entry["finished"] = now()
        if message:
            entry["message"] = message
        new["result"] = state
        _merge_data(new, data, data_once)
        _event(new, phase, state, run_id, message)
        return new, state
    raise StateError("state must be one of begin, complete, failed (got '%s')" % state)


# ----------------------------------------------------------------- files ---

def read_record(path):
    """The record at ``path``, or None when the file does not exist."""
    try:
        record = read_json(path, shape=dict)
    except FileProblem as exc:
        raise StateError("state file %s; it is left as it is" % exc)
    if record is None:
        return None
    return check_record(record, "state file %s" % path, "; it is left as it is")


def check_record(record, where, suffix=""):
    """``record`` when it has the shape of an upgrade state record; StateError naming ``where`` if not."""
    if not isinstance(record, dict) or "history" not in record or "phase" not in record:
        raise StateError("%s: not an upgrade state record (no phase or history)%s" % (where, suffix))
    phase, result = record.get("phase"), record.get("result")
    if phase not in (None,) + PHASES or result not in (None,) + RESULTS:
        raise StateError("%s: names an unknown phase or result (%r, %r)%s" % (where, phase, result, suffix))
    problems = []
    for key, kind in (("history", list), ("phases", dict), ("data", dict)):
        if key in record and not isinstance(record[key], kind):
            problems.append("%s is a %s, not a %s" % (key, type(record[key]).__name__, kind.__name__))
    if not isinstance(record.get("cycle", 0), int) or isinstance(record.get("cycle", 0), bool):
        problems.append("cycle is not an integer")
    if isinstance(record.get("phases"), dict):
        for name, entry in record["phases"].items():
            if not isinstance(entry, dict) or not isinstance(entry.get("attempts", 0), int):
                problems.append("phases.%s is not a phase entry" % name)
    if isinstance(record.get("history"), list) and not all(isinstance(e, dict) for e in record["history"]):
        problems.append("history holds entries that are not objects")
    if problems:
        raise StateError("%s: not an upgrade state record (%s)%s" % (where, "; ".join(problems), suffix))
    return record


def dumps(record):
    return dumps_json(record)


def write_record(path, record):
    """Write atomically (temp file in the same directory, fsync, rename)."""
    makedirs(os.path.dirname(path) or ".")
    atomic_write(path, dumps(record), 0o644)


def read_lock(lock_path):
    """The owner recorded in the lock, None when free; an unreadable lock is reported, not ignored."""
    try:
        text = read_text(lock_path, max_bytes=64 * 1024)
    except FileProblem as exc:
        raise StateError("lock file %s" % exc)
    if text is None:
        return None
    try:
        owner = loads_json(text)
    except ValueError:
        owner = None
    if not isinstance(owner, dict):
        owner = {"run_id": None, "unreadable": text[:200]}
    return owner


def lock_owner(run_id, controller=None):
    return {"run_id": run_id, "pid": os.getpid(), "host": socket.gethostname(), "controller": controller,
            "time": now()}


def describe_lock(owner):
    return "run %s (controller %s, taken on %s by pid %s at %s)" % (
        owner.get("run_id"), owner.get("controller") or "unknown", owner.get("host"), owner.get("pid"),
        owner.get("time"))


def acquire_lock(lock_path, owner):
    """Take the lock for ``owner['run_id']``; True when taken now, False when this run already holds it."""
    held = read_lock(lock_path)
    if held is not None:
        if held.get("run_id") == owner["run_id"]:
            return False
        raise StateError("another upgrade run holds the lock %s: %s; if that run is dead, break the lock "
                         "(state=unlock)" % (lock_path, describe_lock(held)))
    makedirs(os.path.dirname(lock_path) or ".")
    if not create_exclusive(lock_path, dumps_json(owner), 0o644):
        held = read_lock(lock_path) or {}
        raise StateError("another upgrade run took the lock %s just now: %s" % (lock_path, describe_lock(held)))
    return True


def remove_lock(lock_path):
    try:
        os.unlink(lock_path)
    except OSError as exc:
        if exc.errno != errno.ENOENT:
            raise StateError("lock file %s: cannot be removed: %s" % (lock_path, exc.strerror or exc))


def release_lock(lock_path, run_id):
    """Remove the lock when ``run_id`` holds it; True when removed."""
    held = read_lock(lock_path)
    if held is None:
        return False
    if held.get("run_id") != run_id:
        raise StateError("the lock %s is held by another run: %s" % (lock_path, describe_lock(held)))
    remove_lock(lock_path)
    return True


def summary(record):
    """The parts of a record a caller needs to decide what to do."""
    phase, result = current(record)
    record = record or empty_record()
    return {"phase": phase, "result": result, "cycle": record.get("cycle", 0),
            "phases": record.get("phases", {}), "data": record.get("data", {}),
            "allowed_next": allowed_next(record if phase else None), "history_length": len(record["history"])}


def execute(params, check_mode):
    """Do what the module's parameters ask; returns the module result (raises StateError when refused)."""
    path, state, phase, run_id = params["path"], params["state"], params.get("phase"), params.get("run_id")
    lock_path = params.get("lock_path") or path + ".lock"
    for field in ("run_id", "controller", "reason"):
        if params.get(field) is not None:
            try:
                check_text(params[field], field, allow_newline=(field == "reason"))
            except ValueError as exc:
                raise StateError(str(exc))
    for field, value in (("path", path), ("lock_path", lock_path)):
        if not value or "\x00" in value or len(os.path.basename(value)) > 240:
            raise StateError("%s: %r is not a usable file name" % (field, value))
    if os.path.realpath(path) == os.path.realpath(lock_path):
        raise StateError("lock_path: must differ from path (%s)" % path)
    for field in ("data", "data_once", "record"):
        if params.get(field) is not None:
            try:
                dumps_json(params[field])
            except (TypeError, ValueError) as exc:
                raise StateError("%s: cannot be stored as JSON: %s" % (field, exc))
    record = read_record(path)
    lock = read_lock(lock_path)
    result = {"changed": False, "path": path, "lock_path": lock_path}
    if state == "query":
        result.update(summary(record), lock=lock, record=record)
        return result
    if state == "unlock":
        result["changed"] = lock is not None
        result["broken_lock"] = lock
        if lock is not None and not check_mode:
            remove_lock(lock_path)
        result.update(summary(record), lock=None)
        return result
    if state == "restore":
        return _restore(params, check_mode, record, lock, result)
    if not phase:
        raise StateError("phase is required with state=%s" % state)
    if not run_id:
        raise StateError("run_id is required with state=%s" % state)
    if lock is not None and lock.get("run_id") != run_id:
        raise StateError("phase '%s' refused: another upgrade run holds the lock %s: %s; if that run is dead, "
                         "break the lock (state=unlock)" % (phase, lock_path, describe_lock(lock)))
    new, decision = apply(record, phase, state, run_id, params.get("reason"), params.get("data"),
                          params.get("data_once"))
    result["decision"] = decision
    wants_lock = state == "begin" and decision != DONE
    changed = decision != DONE or (state in ("complete", "failed") and lock is not None)
    if decision != DONE:
        before = dumps(record) if record else ""
        result["diff"] = {"before": before, "after": dumps(new), "before_header": path, "after_header": path}
    if not check_mode:
        if wants_lock:
            acquire_lock(lock_path, lock_owner(run_id, params.get("controller")))
        try:
            if decision != DONE:
                write_record(path, new)
        except (StateError, FileProblem, OSError, IOError):
            if wants_lock:
                release_lock(lock_path, run_id)
            raise
        if state in ("complete", "failed"):
            release_lock(lock_path, run_id)
    result["changed"] = changed
    result.update(summary(new if decision != DONE else record), lock=read_lock(lock_path) if not check_mode else lock)
    return result


def is_ancestor(older, newer):
    """Whether ``older`` is an earlier state of ``newer`` (its history is a prefix of newer's)."""
    if older is None:
        return True
    old_history, new_history = older.get("history", []), newer.get("history", [])
    return len(old_history) <= len(new_history) and new_history[:len(old_history)] == old_history


def _restore(params, check_mode, record, lock, result):
    """Write back a record saved before a rollback reverted the file system under the state file.

    Only forward: the record on disk must be an earlier state of the saved one,
    so no history is ever lost. The lock is taken for ``run_id``.
    """
    saved, run_id = params.get("record"), params.get("run_id")
    if not isinstance(saved, dict) or "history" not in saved or saved.get("phase") not in PHASES:
        raise StateError("record: a state record (as returned by state=query) is required with state=restore")
    check_record(saved, "record")
    if not run_id:
        raise StateError("run_id is required with state=restore")
    if record == saved:
        result.update(summary(record), lock=lock, decision="unchanged")
        if lock is None or lock.get("run_id") == run_id or params.get("if_earlier"):
            return result
    if not is_ancestor(record, saved) and params.get("if_earlier"):
        # the saved copy is not ahead of the disk (the normal case): nothing to write back
        result.update(summary(record), lock=lock, decision="kept")
        return result
    if not is_ancestor(record, saved):
        raise StateError("record: the state on disk (%s) is not an earlier state of the given record; "
                         "refusing to replace it" % describe(record))
    new = copy.deepcopy(saved)
    _event(new, new["phase"], "restored", run_id,
           "state written back after the file system was reverted (disk had: %s)" % describe(record))
    result["diff"] = {"before": dumps(record) if record else "", "after": dumps(new),
                      "before_header": params["path"], "after_header": params["path"]}
    result["changed"] = True
    result["decision"] = "restored"
    lock_path = result["lock_path"]
    if not check_mode:
        if lock is not None and lock.get("run_id") != run_id:
            remove_lock(lock_path)
        acquire_lock(lock_path, lock_owner(run_id, params.get("controller")))
        write_record(path=params["path"], record=new)
    result.update(summary(new), lock=read_lock(lock_path) if not check_mode else lock)
    return result
