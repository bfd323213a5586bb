# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Upgrade state of one environment, kept in one JSON record on its lock host.

The record says whether the environment is in ``upgrade`` (and to which
release), which run currently drives it, every node's upgrade status
(``pending``, ``upgrading``, ``done``, ``failed``) and a history that is only
ever appended to. While the status is ``upgrade`` other operations on the
environment (maintenance updates, repository changes, a second upgrade) are
refused by ``guard``; ``finish`` ends it once every node is done, ``abort``
ends it without that.

Every request is decided on the record read before anything is written: a
refusal leaves the host as it was. A write takes an ``flock`` next to the
record, reads it again, decides again and replaces it atomically.

Plain Python for node Python 2.7 and 3.6+; no Ansible imports.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import os
import time

from ansible_collections.fuel.lifecycle.plugins.module_utils import _files as files

FORMAT = 1
ACTIONS = ("query", "guard", "begin", "node", "release", "finish", "abort")
ENV_STATUSES = ("upgrade", "finished", "aborted")
NODE_STATUSES = ("pending", "upgrading", "done", "failed")
# node status -> statuses a ``node`` request may move it to
NODE_NEXT = {
    "pending": ("upgrading",),
    "upgrading": ("upgrading", "done", "failed"),
    "failed": ("upgrading", "failed"),
    "done": ("done",),
}
MAX_NODES = 10000
MAX_HISTORY = 5000
READ_LIMIT = 8 * 1024 * 1024


class Refused(Exception):
    """A request the state does not allow (HTTP 409 style); the message names the state and holder."""


class BadInput(Exception):
    """An option value that cannot be used; the message names the option."""


def now():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


# ---------------------------------------------------------------- validation

def _name(value, field):
    try:
        return files.check_name(value, field)
    except ValueError as exc:
        raise BadInput(str(exc))


def _text(value, field, max_len=1024):
    try:
        return files.check_text(value, field, max_len=max_len)
    except ValueError as exc:
        raise BadInput(str(exc))


def check_nodes(nodes):
    """The ``nodes`` option: a list of {name, group, status, busy, release}; returns it normalised."""
    if not isinstance(nodes, list):
        raise BadInput("nodes: must be a list")
    if len(nodes) > MAX_NODES:
        raise BadInput("nodes: %d entries, at most %d" % (len(nodes), MAX_NODES))
    seen = set()
    result = []
    for index, item in enumerate(nodes):
        field = "nodes[%d]" % index
        if not isinstance(item, dict):
            raise BadInput("%s: must be a dict with at least a name" % field)
        unknown = sorted(set(item) - set(("name", "group", "status", "busy", "release")))
        if unknown:
            raise BadInput("%s: unknown key(s) %s" % (field, ", ".join(str(k) for k in unknown)))
        name = _name(item.get("name"), field + ".name")
        if name in seen:
            raise BadInput("%s.name: node %s is listed twice" % (field, name))
        seen.add(name)
        entry = {"name": name, "group": _name(item.get("group") or "other", field + ".group"),
                 "status": _name(item.get("status") or "ready", field + ".status"),
                 "busy": check_busy(item.get("busy"), field + ".busy")}
        release = item.get("release")
        entry["release"] = None if release in (None, "") else _name(release, field + ".release")
        result.append(entry)
    return result


def check_busy(busy, field):
    if busy is None:
        return []
    if not isinstance(busy, list):
        raise BadInput("%s: must be a list of running tasks" % field)
    return [_text(task, "%s[%d]" % (field, index), 256) for index, task in enumerate(busy)]


def check_record(record, path):
    """A record read from disk must have the shape this code writes; FileProblem otherwise."""
    def bad(what):
        raise files.FileProblem(path, "holds an invalid upgrade record: %s" % what)

    if record.get("format") != FORMAT:
        bad("format %r, expected %d" % (record.get("format"), FORMAT))
    if record.get("status") not in ENV_STATUSES:
        bad("status %r" % (record.get("status"),))
    for key in ("env", "target_release", "since", "begun_by"):
        if not isinstance(record.get(key), (str, files.TEXT_TYPE)):
            bad("%s is not a string" % key)
    if record.get("release") is not None and not isinstance(record.get("release"), (str, files.TEXT_TYPE)):
        bad("release is not a string")
    run = record.get("run")
    if run is not None and not (isinstance(run, dict) and isinstance(run.get("owner"), (str, files.TEXT_TYPE))
                                and isinstance(run.get("since"), (str, files.TEXT_TYPE))):
        bad("run is not null or {owner, since}")
    nodes = record.get("nodes")
    if not isinstance(nodes, dict):
        bad("nodes is not a mapping")
    for name, node in nodes.items():
        if not isinstance(node, dict) or node.get("status") not in NODE_STATUSES:
            bad("node %s has no valid status" % name)
        if not isinstance(node.get("order"), int) or isinstance(node.get("order"), bool):
            bad("node %s has no order" % name)
    if not isinstance(record.get("history"), list):
        bad("history is not a list")
    return record


def load(path):
    """The record at ``path`` (validated), or None when there is none."""
    record = files.read_json(path, shape=dict, max_bytes=READ_LIMIT)
    if record is None:
        return None
    return check_record(record, path)


# ---------------------------------------------------------------- reading

def holder(record):
    """Who holds the environment: the active run, else who began the upgrade."""
    if record.get("run"):
        return "%s (run active since %s)" % (record["run"]["owner"], record["run"]["since"])
    return "%s (no run active)" % record["begun_by"]


def describe(record):
    return "environment %s is in state 'upgrade' to release %s since %s, held by %s" % (
        record["env"], record["target_release"], record["since"], holder(record))


def ordered(record, statuses=NODE_STATUSES):
    nodes = record.get("nodes") or {}
    return [name for name in sorted(nodes, key=lambda n: (nodes[n]["order"], n)) if nodes[name]["status"] in statuses]


def summary(record):
    """What every request returns about the record."""
    if record is None:
        return {"status": None, "upgrading": False, "env": None, "target_release": None, "release": None,
                "since": None, "run": None, "holder": None, "nodes": {}, "todo": [], "counts": {},
                "history_length": 0}
    counts = dict((status, 0) for status in NODE_STATUSES)
    for node in record["nodes"].values():
        counts[node["status"]] += 1
    return {
        "status": record["status"], "upgrading": record["status"] == "upgrade", "env": record["env"],
        "target_release": record["target_release"], "release": record.get("release"),
        "since": record["since"], "run": record.get("run"),
        "holder": holder(record) if record["status"] == "upgrade" else None,
        "nodes": record["nodes"], "todo": ordered(record, ("pending", "upgrading", "failed")),
        "counts": counts, "history_length": len(record["history"]),
    }


# ---------------------------------------------------------------- deciding

def _event(record, event, owner, **extra):
    entry = {"time": now(), "event": event, "owner": owner}
    entry.update(dict((k, v) for k, v in extra.items() if v not in (None, "")))
    record["history"].append(entry)
    if len(record["history"]) > MAX_HISTORY:
        del record["history"][:len(record["history"]) - MAX_HISTORY]


def _not_ready(nodes, record=None):
    problems = []
    for node in nodes:
        if record is not None and record["nodes"].get(node["name"], {}).get("status") == "done":
            continue
        accepted = ("ready",)
        if record is not None and record["nodes"].get(node["name"], {}).get("status") in ("failed", "upgrading"):
            accepted = ("ready", "error")
        if node["status"] not in accepted:
            problems.append("node %s is '%s', not ready" % (node["name"], node["status"]))
        if node["busy"]:
            problems.append("node %s has running tasks: %s" % (node["name"], ", ".join(node["busy"])))
    return problems


def _check_run(record, owner, force, what):
    run = record.get("run")
    if run and run["owner"] != owner and not force:
        raise Refused("%s refused: %s" % (what, describe(record)))


def decide(record, params):
    """(new record or None when unchanged, message) for a request; Refused/BadInput when not allowed.

    ``record`` is not modified.
    """
    action = params["state"]
    if action not in ACTIONS:
        raise BadInput("state: must be one of %s" % ", ".join(ACTIONS))
    if action == "query":
        return None, "read only"
    env = _name(params.get("env"), "env") if params.get("env") not in (None, "") else None
    if record is not None and env is not None and record["env"] != env:
        raise Refused("the record holds environment %s, not %s" % (record["env"], env))
    if action == "guard":
        operation = _text(params.get("operation") or "this operation", "operation", 256)
        if record is not None and record["status"] == "upgrade":
            raise Refused("%s refused: %s" % (operation, describe(record)))
        return None, "environment not in upgrade: %s allowed" % operation
    owner = _text(params.get("owner") or "", "owner", 256)
    if not owner.strip():
        raise BadInput("owner: must not be empty for state %s" % action)
    force = bool(params.get("force"))
    message = _text(params.get("reason") or "", "reason", 2048)
    if action == "begin":
        return _begin(record, params, env, owner, force)
    if record is None or record["status"] != "upgrade":
        if action == "release" or (record is not None and (action, record["status"]) in (
                ("finish", "finished"), ("abort", "aborted"))):
            return None, "environment not in upgrade (%s)" % (record["status"] if record else "no record")
        state = "no upgrade record" if record is None else "status '%s'" % record["status"]
        raise Refused("%s refused: environment has %s, not 'upgrade'" % (action, state))
    new = copy.deepcopy(record)
    if action == "node":
        return _node(record, new, params, owner, message)
    if action == "release":
        if not record.get("run"):
            return None, "no run active"
        _check_run(record, owner, force, "release")
        new["run"] = None
        _event(new, "release", owner, message=message, previous=record["run"]["owner"])
        return new, "run released"
    if action == "finish":
        _check_run(record, owner, force, "finish")
        left = ["%s (%s)" % (n, record["nodes"][n]["status"]) for n in ordered(record, ("pending", "upgrading",
                                                                                        "failed"))]
        if left:
            raise Refused("finish refused: not every node is done: %s" % ", ".join(left))
        new.update(status="finished", release=record["target_release"], run=None, finished_at=now())
        _event(new, "finish", owner, message=message, release=record["target_release"])
        return new, "environment on release %s" % record["target_release"]
    # abort
    _check_run(record, owner, force, "abort")
    new.update(status="aborted", run=None, aborted_at=now())
    _event(new, "abort", owner, message=message,
           done=",".join(ordered(record, ("done",))) or None)
    return new, "upgrade aborted; nodes done stay on release %s" % record["target_release"]


def _begin(record, params, env, owner, force):
    target = params.get("target_release")
    if target in (None, ""):
        raise Refused("begin refused: the target release is not set (target_release)")
    target = _name(target, "target_release")
    nodes = check_nodes(params.get("nodes") or [])
    if record is not None and record["status"] == "upgrade":
        if record["target_release"] != target:
            raise Refused("begin of an upgrade to %s refused: %s" % (target, describe(record)))
        run = record.get("run")
        if run and run["owner"] == owner:
            return None, "run already holds the upgrade"
        _check_run(record, owner, force, "begin")
        new_nodes = [node["name"] for node in nodes if node["name"] not in record["nodes"]]
        if new_nodes:
            raise Refused("begin refused: node(s) %s are not part of the upgrade begun %s; no new nodes join an "
                          "environment in upgrade" % (", ".join(new_nodes), record["since"]))
        problems = _not_ready(nodes, record)
        if problems:
            raise Refused("begin refused: %s" % "; ".join(problems))
        new = copy.deepcopy(record)
        new["run"] = {"owner": owner, "since": now()}
        _event(new, "resume", owner, previous=(run or {}).get("owner"),
               todo=",".join(ordered(record, ("pending", "upgrading", "failed"))))
        return new, "upgrade resumed"
    if env is None:
        raise BadInput("env: required to begin an upgrade")
    if not nodes:
        raise BadInput("nodes: at least one node is needed to begin an upgrade")
    if record is not None and record["status"] == "finished" and record.get("release") == target:
        raise Refused("begin refused: environment %s is already on release %s (finished %s)"
                      % (env, target, record.get("finished_at")))
    problems = _not_ready(nodes)
    if problems:
        raise Refused("begin refused: %s" % "; ".join(problems))
    stamp = now()
    new = {
        "format": FORMAT, "env": env, "status": "upgrade", "target_release": target, "since": stamp,
        "begun_by": owner, "release": record.get("release") if record else None,
        "run": {"owner": owner, "since": stamp},
        "nodes": dict((node["name"], {"order": index, "group": node["group"], "status": "pending",
                                      "release": node["release"], "since": stamp})
                      for index, node in enumerate(nodes)),
        "history": list(record["history"]) if record else [],
    }
    sources = sorted(set(node["release"] for node in nodes if node["release"]))
    if len(sources) == 1 and not new["release"]:
        new["release"] = sources[0]
    _event(new, "begin", owner, target_release=target, nodes=len(nodes))
    return new, "upgrade to %s begun" % target


def _node(record, new, params, owner, message):
    name = _name(params.get("node"), "node")
    status = params.get("node_status")
    if status not in ("upgrading", "done", "failed"):
        raise BadInput("node_status: must be upgrading, done or failed")
    run = record.get("run")
    if not run or run["owner"] != owner:
        raise Refused("node %s refused: the run %s does not hold the upgrade; %s" % (name, owner, describe(record)))
    if name not in record["nodes"]:
        raise Refused("node %s refused: not part of the upgrade of environment %s" % (name, record["env"]))
    current = record["nodes"][name]
    if status not in NODE_NEXT[current["status"]]:
        raise Refused("node %s refused: it is '%s' since %s; it may become %s" % (
            name, current["status"], current["since"], ", ".join(NODE_NEXT[current["status"]])))
    if status == "upgrading":
        busy = check_busy(params.get("busy"), "busy")
        ready = _name(params.get("node_ready") or "ready", "node_ready")
        problems = _not_ready([{"name": name, "status": ready, "busy": busy}], record)
        if problems:
            raise Refused("node %s refused: %s" % (name, "; ".join(problems)))
    release = params.get("release")
    release = None if release in (None, "") else _name(release, "release")
    entry = new["nodes"][name]
    if current["status"] == status and status != "upgrading" and (release in (None, current.get("release"))) \
            and (status == "done" or (message or "failed") == current.get("message")):
        return None, "node %s already %s" % (name, status)
    entry["status"] = status
    entry["since"] = now()
    if release is not None:
        entry["release"] = release
    if status == "failed":
        entry["message"] = message or "failed"
    else:
        entry.pop("message", None)
    _event(new, "node", owner, node=name, status=status, previous=current["status"], message=message,
           release=release)
    return new, "node %s %s" % (name, status)


# ---------------------------------------------------------------- applying

def execute(params, check_mode=False):
    """Decide, then (unless check mode) write under the lock; returns the module result."""
    path = params["path"]
    if not path or not os.path.isabs(path):
        raise BadInput("path: must be an absolute path")
    before = load(path)
    new, message = decide(before, params)
    result = {"changed": new is not None, "path": path, "message": message}
    if new is not None and not check_mode:
        files.makedirs(os.path.dirname(path))
        with files.FileLock(path + ".lock", timeout=float(params.get("lock_timeout") or 60)):
            before = load(path)  # decided again on what the lock protects
            new, message = decide(before, params)
            if new is not None:
                files.atomic_write(path, files.dumps_json(new), 0o644)
            result.update(changed=new is not None, message=message)
    after = new if new is not None else before
    result.update(summary(after))
    result["diff"] = {"before": files.dumps_json(before) if before is not None else "",
                      "after": files.dumps_json(after) if after is not None else "",
                      "before_header": path, "after_header": path}
    if params["state"] == "query":
        result["record"] = before
    return result
