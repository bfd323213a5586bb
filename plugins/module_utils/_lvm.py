# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""LVM snapshot sets: parse ``lvs``/``vgs`` JSON reports, plan, preflight and apply.

A snapshot set is a group of classic (copy-on-write) LVM snapshots taken
together. Membership is an LVM tag on each snapshot, ``fuel_snapset_<name>``,
plus ``fuel_snapset_<name>_n<count>`` recording how many members the set was
created with, so an incomplete set is recognised without trusting names.

Everything here is plain Python; commands run through a ``runner`` callable
``runner(argv) -> (rc, stdout, stderr)`` so the planning is testable by
replaying recorded command output.

Two protections besides the guard (``snapshot_guard``): the set is sized from
the planned transaction (``parse_transaction``: the download and installed
sizes the package manager reports; a member smaller than what it receives is
refused before anything is created) and LVM's own autoextension is read from
``lvmconfig`` and the members' monitoring from ``lvs`` (``autoextend``).

Node Python 2.7 and 3.6+.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import math
import re
import time

from ansible_collections.fuel.lifecycle.plugins.module_utils._runner import CommandRunner, MissingCommand

try:
    TEXT_TYPE = unicode  # noqa: F821 pylint: disable=undefined-variable
except NameError:
    TEXT_TYPE = str

LV_FIELDS = ("lv_name,vg_name,lv_attr,lv_size,origin,origin_size,data_percent,lv_tags,"
             "lv_device_open,lv_merging,lv_path")
VG_FIELDS = "vg_name,vg_size,vg_free,vg_extent_size,vg_free_count"
NAME_RE = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9_+.-]{0,63}\Z")
LV_NAME_RE = re.compile(r"\A[A-Za-z0-9+_.-]{1,127}\Z")
SIZE_RE = re.compile(r"\A\s*(\d{1,15}(?:\.\d{1,6})?)\s*([bBsSkKmMgGtTpP]?)\s*\Z")
PERCENT_RE = re.compile(r"\A\s*(\d{1,3}(?:\.\d{1,6})?)\s*%\s*(ORIGIN|FREE)\s*\Z", re.IGNORECASE)
# "Total download size: 12 M", "Installed size: 40 M" (dnf and yum), "Total size: 12 M" (all cached).
TRANSACTION_RE = re.compile(r"^\s*(Total download size|Total size|Installed size)\s*:\s*([0-9.]+)\s*([kKMGT]?)\s*$",
                            re.MULTILINE)
RECEIVES = ("installed", "download")
C_LOCALE = {"LANG": "C", "LC_ALL": "C", "LANGUAGE": "C"}
UNITS = {"": 1024 ** 2, "b": 1, "s": 512, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3, "t": 1024 ** 4,
         "p": 1024 ** 5}


class LvmError(Exception):
    """A failure to report to the user as it is (no traceback)."""

    def __init__(self, msg, **details):
        Exception.__init__(self, msg)
        self.details = details


def set_tag(name):
    return "fuel_snapset_%s" % name


def reverted_tag(name):
    """Tag put on the origins just before their merge starts: after the merge the members are gone,
    and this says the set was merged (a rollback resumed after its reboot), not that it never existed."""
    return "fuel_snapset_%s_reverted" % name


def count_tag(name, count):
    return "fuel_snapset_%s_n%d" % (name, count)


def snapshot_name(origin, name):
    """Cosmetic name of a member; membership is decided by the tag, never by this name."""
    return "%s_%s_snap" % (origin, name)


def dm_path(vg, lv):
    """Device-mapper path of an LV (hyphens inside the names are doubled)."""
    return "/dev/mapper/%s-%s" % (vg.replace("-", "--"), lv.replace("-", "--"))


def validate_name(name):
    if not isinstance(name, (str, TEXT_TYPE)) or not NAME_RE.match(name):
        raise LvmError("name: %r is not a valid set name (letters, digits, _ + . -, at most 64 characters)"
                       % (name,))
    return name


def parse_size(text, field="size"):
    """Absolute size in bytes (LVM units, 1024-based; a bare number is MiB like lvcreate -L)."""
    match = SIZE_RE.match(str(text))
    if not match:
        raise LvmError("%s: %r is not a size (use e.g. 512M, 2G, 10%%ORIGIN or 50%%FREE)" % (field, text))
    value = float(match.group(1)) * UNITS[match.group(2).lower()]
    if value <= 0:
        raise LvmError("%s: %r must be greater than zero" % (field, text))
    return int(math.ceil(value))


def round_up(size, extent):
    return int(math.ceil(size / float(extent))) * extent


def _report(runner, argv, key):
    rc, out, err = runner(argv)
    if rc != 0:
        raise LvmError("%s failed (rc=%d): %s" % (" ".join(argv[:1]), rc, (err or out).strip()),
                       cmd=argv, rc=rc, stderr=err)
    try:
        data = json.loads(out)
        rows = []
        for report in data.get("report", []):
            rows.extend(report.get(key, []))
        return rows
    except (ValueError, AttributeError, TypeError, KeyError) as exc:
        raise LvmError("cannot parse the output of %s: %s" % (argv[0], exc), cmd=argv, stdout=out)


def _int(value):
    value = (value or "").strip()
    return int(float(value)) if value else 0


def _float(value):
    value = (value or "").strip()
    return float(value) if value else None


def _bool(value):
    """Binary report fields come as "1"/"0" or as the field name / "" depending on settings."""
    value = (value or "").strip().lower()
    return value not in ("", "0", "no", "false", "-1")


def parse_vgs(rows):
    vgs = {}
    for row in rows:
        vgs[row["vg_name"]] = {
            "vg": row["vg_name"], "size_bytes": _int(row.get("vg_size")), "free_bytes": _int(row.get("vg_free")),
            "extent_bytes": _int(row.get("vg_extent_size")), "free_extents": _int(row.get("vg_free_count")),
        }
    return vgs


def parse_lvs(rows):
    lvs = []
    for row in rows:
        attr = row.get("lv_attr", "")
        tags = [t for t in (row.get("lv_tags") or "").split(",") if t]
        lvs.append({
            "name": row["lv_name"].strip("[]"), "vg": row["vg_name"], "attr": attr,
            "size_bytes": _int(row.get("lv_size")), "origin": (row.get("origin") or "").strip("[]") or None,
            "origin_size_bytes": _int(row.get("origin_size")),
            "fill_percent": _float(row.get("data_percent")),
            "tags": tags,
            "open": _bool(row.get("lv_device_open")) or (len(attr) > 5 and attr[5] == "o"),
            "merging": _bool(row.get("lv_merging")) or attr[:1] == "S",
            "path": row.get("lv_path") or "/dev/%s/%s" % (row["vg_name"], row["lv_name"]),
        })
    return lvs


def read_vgs(runner):
    argv = ["vgs", "--reportformat", "json", "--units", "b", "--nosuffix", "-o", VG_FIELDS]
    return parse_vgs(_report(runner, argv, "vg"))


def read_lvs(runner):
    # -a: a snapshot whose merge waits for the next activation is hidden ("[name]") without it.
    argv = ["lvs", "-a", "--reportformat", "json", "--units", "b", "--nosuffix", "-o", LV_FIELDS]
    return parse_lvs(_report(runner, argv, "lv"))


def member_view(lv, threshold=None):
    """What list/check report for one member."""
    attr = lv["attr"]
    invalid = len(attr) > 4 and attr[4] in ("I", "S") or (lv["fill_percent"] or 0) >= 100.0
    view = {
        "name": lv["name"], "vg": lv["vg"], "origin": lv["origin"], "size_bytes": lv["size_bytes"],
        "fill_percent": lv["fill_percent"], "valid": not invalid, "merging": lv["merging"],
        "origin_open": None, "path": lv["path"], "tags": lv["tags"],
    }
    if threshold is not None:
        view["above_threshold"] = (lv["fill_percent"] or 0) > threshold
    return view


def member_problem(view, threshold=None):
    """Why one member fails a check: invalid, or filled above ``threshold`` (None: not checked)."""
    where = "%s/%s (snapshot of %s)" % (view["vg"], view["name"], view["origin"])
    if not view["valid"]:
        return "%s is invalid: it overflowed" % where
    if threshold is not None and (view["fill_percent"] or 0) > threshold:
        return "%s is %.1f%% full, above the %s%% threshold" % (where, view["fill_percent"] or 0, threshold)
    return None


def module_runner(module):
    """The shared ``CommandRunner`` over an AnsibleModule: binaries from PATH, C locale, rc not checked."""
    return CommandRunner(module)


def parse_transaction(text):
    """(download_bytes, installed_bytes) from the plan the package manager printed, None when it shows none."""
    found = {}
    for match in TRANSACTION_RE.finditer(text or ""):
        unit = {"": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3, "t": 1024 ** 4}[match.group(3).lower()]
        try:
            found[match.group(1)] = int(float(match.group(2)) * unit)
        except ValueError:
            continue
    if not found:
        return None
    download = found.get("Total download size", found.get("Total size", 0))
    return {"download_bytes": download, "installed_bytes": found.get("Installed size", 0)}


def transaction_problems(planned, transaction, factor):
    """Members too small for what they receive of the transaction (``receives``), with the numbers."""
    problems = []
    needs = []
    for index, item in enumerate(planned):
        received = item.get("receives") or []
        if not received or not transaction:
            continue
        need = int(math.ceil(factor * sum(transaction["%s_bytes" % kind] for kind in received)))
        entry = {"vg": item["vg"], "lv": item["lv"], "bytes": item["bytes"], "needs_bytes": need,
                 "receives": received}
        needs.append(entry)
        if item["bytes"] < need:
            problems.append("volumes[%d]: the snapshot of %s/%s would be %s; the planned transaction writes %s "
                            "there (%s x %s), so it needs at least %s" % (
                                index, item["vg"], item["lv"], human(item["bytes"]),
                                " + ".join("%s %s" % (kind, human(transaction["%s_bytes" % kind]))
                                           for kind in received),
                                "1" if len(received) == 1 else "their sum", factor, human(need)))
    return problems, needs


def read_autoextend(runner):
    """LVM's own protection: dmeventd monitoring and snapshot autoextension as ``lvmconfig`` reports them."""
    keys = ("activation/monitoring", "activation/snapshot_autoextend_threshold",
            "activation/snapshot_autoextend_percent")
    try:
        rc, out, err = runner(["lvmconfig", "--type", "full"] + list(keys))
    except MissingCommand as exc:
        rc, out, err = 127, "", str(exc)
    if rc != 0:
        return {"available": False, "reason": "lvmconfig failed: %s" % (err or out).strip()[-300:],
                "effective": False}
    values = {}
    for line in out.splitlines():
        key, _sep, value = line.strip().partition("=")
        try:
            values[key.strip()] = int(value.strip())
        except ValueError:
            continue
    monitoring = values.get("monitoring", 1)
    threshold = values.get("snapshot_autoextend_threshold", 100)
    percent = values.get("snapshot_autoextend_percent", 0)
    effective = monitoring == 1 and threshold < 100 and percent > 0
    reason = None
    if not effective:
        reason = ("dmeventd monitoring is off (activation/monitoring=0)" if monitoring != 1 else
                  "snapshot_autoextend_threshold is %d (100 disables autoextension)" % threshold if threshold >= 100
                  else "snapshot_autoextend_percent is %d" % percent)
    return {"available": True, "monitoring": monitoring == 1, "threshold": threshold, "percent": percent,
            "effective": effective, "reason": reason}


def read_monitored(runner):
    """{(vg, lv): seg_monitor} for every LV ("monitored", "not monitored", "" when not applicable)."""
    try:
        rc, out, _err = runner(["lvs", "-a", "--reportformat", "json", "-o", "lv_name,vg_name,seg_monitor"])
    except MissingCommand:
        return {}
    if rc != 0:
        return {}
    try:
        rows = []
        for report in json.loads(out).get("report", []):
            rows.extend(report.get("lv", []))
        return dict(((row["vg_name"], row["lv_name"].strip("[]")), row.get("seg_monitor") or "") for row in rows)
    except (ValueError, AttributeError, TypeError, KeyError):
        return {}


def find_leftovers(lvs, name):
    """Tagged LVs that are no longer snapshots: what a merge interrupted at boot can leave behind."""
    tag = set_tag(name)
    return [lv for lv in lvs if tag in lv["tags"] and not lv["origin"]]


def find_set(lvs, name):
    """Members (snapshot LVs carrying the set's tag) and the member count the set was created with."""
    tag = set_tag(name)
    members = [lv for lv in lvs if tag in lv["tags"] and lv["origin"]]
    counts = set()
    prefix = tag + "_n"
    for lv in members:
        for item in lv["tags"]:
            if item.startswith(prefix) and item[len(prefix):].isdigit():
                counts.add(int(item[len(prefix):]))
    return members, counts


def normalise_volumes(volumes):
    """Validate the ``volumes`` option; return a list of {vg, lv, size} with strings."""
    if not isinstance(volumes, list) or not volumes:
        raise LvmError("volumes: a non-empty list of {vg, lv, size} is required")
    seen = set()
    result = []
    for index, item in enumerate(volumes):
        where = "volumes[%d]" % index
        if not isinstance(item, dict):
            raise LvmError("%s: must be a dict with vg, lv and size" % where)
        for key in ("vg", "lv", "size"):
            if item.get(key) in (None, ""):
                raise LvmError("%s.%s: is required" % (where, key))
        for key in ("vg", "lv", "size"):
            if not isinstance(item[key], (str, TEXT_TYPE, int)) or isinstance(item[key], bool):
                raise LvmError("%s.%s: must be a string" % (where, key))
        vg, lv, size = TEXT_TYPE(item["vg"]), TEXT_TYPE(item["lv"]), TEXT_TYPE(item["size"])
        for key, value in (("vg", vg), ("lv", lv)):
            if not LV_NAME_RE.match(value):
                raise LvmError("%s.%s: %r is not a valid LVM name" % (where, key, value))
        receives = item.get("receives") or []
        if not isinstance(receives, list) or any(kind not in RECEIVES for kind in receives):
            raise LvmError("%s.receives: a list of %s is expected, got %r"
                           % (where, " and ".join(RECEIVES), receives))
        if (vg, lv) in seen:
            raise LvmError("%s: %s/%s is listed twice" % (where, vg, lv))
        seen.add((vg, lv))
        if not PERCENT_RE.match(size):
            parse_size(size, "%s.size" % where)
        result.append({"vg": vg, "lv": lv, "size": size, "receives": sorted(set(receives))})
    return result


def plan_sizes(volumes, vgs, lvs):
    """Bytes per wanted snapshot, rounded up to the VG's extents; errors name the field."""
    by_key = {(lv["vg"], lv["name"]): lv for lv in lvs}
    planned = []
    for index, vol in enumerate(volumes):
        where = "volumes[%d]" % index
        vg = vgs.get(vol["vg"])
        if vg is None:
            raise LvmError("%s.vg: volume group %r does not exist" % (where, vol["vg"]))
        origin = by_key.get((vol["vg"], vol["lv"]))
        if origin is None:
            raise LvmError("%s.lv: logical volume %s/%s does not exist" % (where, vol["vg"], vol["lv"]))
        if origin["origin"]:
            raise LvmError("%s.lv: %s/%s is itself a snapshot" % (where, vol["vg"], vol["lv"]))
        match = PERCENT_RE.match(vol["size"])
        if match:
            base = origin["size_bytes"] if match.group(2).upper() == "ORIGIN" else vg["free_bytes"]
            wanted = float(match.group(1)) * base / 100.0
            if wanted <= 0:
                raise LvmError("%s.size: %r gives an empty snapshot" % (where, vol["size"]))
        else:
            wanted = parse_size(vol["size"], "%s.size" % where)
        extent = vg["extent_bytes"] or 4 * 1024 ** 2
        planned.append(dict(vol, bytes=round_up(int(math.ceil(wanted)), extent), extent_bytes=extent,
                            origin_size_bytes=origin["size_bytes"]))
    return planned


def preflight(planned, vgs):
    """Per-VG sums against free space: (ok, report)."""
    report = {}
    for item in planned:
        entry = report.setdefault(item["vg"], {
            "vg": item["vg"], "free_bytes": vgs[item["vg"]]["free_bytes"],
            "extent_bytes": vgs[item["vg"]]["extent_bytes"], "required_bytes": 0, "volumes": []})
        entry["required_bytes"] += item["bytes"]
        entry["volumes"].append({"lv": item["lv"], "size": item["size"], "bytes": item["bytes"]})
    for entry in report.values():
        entry["ok"] = entry["required_bytes"] <= entry["free_bytes"]
        entry["short_bytes"] = max(0, entry["required_bytes"] - entry["free_bytes"])
    ordered = [report[key] for key in sorted(report)]
    return all(entry["ok"] for entry in ordered), ordered


def human(size):
    for unit, factor in (("MiB", 1024 ** 2), ("KiB", 1024)):
        if size >= factor:
            return "%.1f %s" % (size / float(factor), unit)
    return "%d B" % size


def preflight_message(report):
    parts = ["VG %s needs %s, has %s free (short by %s)" % (
        e["vg"], human(e["required_bytes"]), human(e["free_bytes"]), human(e["short_bytes"]))
        for e in report if not e["ok"]]
    return "not enough free space for the snapshot set, nothing was created: " + "; ".join(parts)


def describe_merges(views):
    return ", ".join("%s/%s (%s%% left)" % (v["vg"], v["name"], "?" if v["fill_percent"] is None else v["fill_percent"])
                     for v in views)


class SnapshotSet:
    """Operations on one named set; ``check_mode`` computes without running changing commands."""

    def __init__(self, runner, name, check_mode=False):
        self.runner = runner
        self.name = validate_name(name)
        self.check_mode = check_mode
        self.commands = []

    def _change(self, argv):
        self.commands.append(argv)
        if self.check_mode:
            return
        rc, out, err = self.runner(argv)
        if rc != 0:
            raise LvmError("%s failed (rc=%d): %s" % (" ".join(argv), rc, (err or out).strip()),
                           cmd=argv, rc=rc, stderr=err, commands=self.commands)

    def members(self, threshold=None):
        lvs = read_lvs(self.runner)
        members, counts = find_set(lvs, self.name)
        open_by_key = {(lv["vg"], lv["name"]): lv["open"] for lv in lvs}
        views = []
        for lv in sorted(members, key=lambda item: (item["vg"], item["origin"] or "", item["name"])):
            view = member_view(lv, threshold)
            view["origin_open"] = open_by_key.get((lv["vg"], lv["origin"]))
            views.append(view)
        return lvs, views, counts

    def status(self, threshold=None):
        """The list/check view: members and whether the set is complete, valid, under threshold."""
        lvs, views, counts = self.members(threshold)
        leftovers = ["%s/%s" % (lv["vg"], lv["name"]) for lv in find_leftovers(lvs, self.name)]
        expected = max(counts) if counts else len(views)
        problems = []
        if not views:
            problems.append("snapshot set %r has no members" % self.name)
        if leftovers:
            problems.append("tagged LVs left behind by a finished merge: %s (state=absent removes them)"
                            % ", ".join(leftovers))
        if len(counts) > 1:
            problems.append("members disagree about the set size: %s" % sorted(counts))
        if views and len(views) != expected:
            problems.append("snapshot set %r is incomplete: %d of %d members" % (self.name, len(views), expected))
        problems.extend(p for p in (member_problem(view, threshold) for view in views) if p)
        return {"snapshots": views, "leftovers": leftovers, "expected_members": expected, "complete": bool(views) and len(views) == expected
                and len(counts) <= 1, "valid": all(v["valid"] for v in views), "problems": problems}

    def present(self, volumes, transaction_output=None, transaction_factor=1.5, require_autoextend=False):
        volumes = normalise_volumes(volumes)
        if transaction_factor is None or not 1.0 <= float(transaction_factor) <= 100.0:
            raise LvmError("transaction_factor: must be between 1 and 100, got %r" % (transaction_factor,))
        transaction = None
        if transaction_output is not None:
            transaction = parse_transaction(transaction_output)
            if transaction is None and "Nothing to do" not in transaction_output \
                    and "No packages marked for update" not in transaction_output:
                raise LvmError("transaction_output: no download or installed size found in the package manager's "
                               "plan (expected lines like 'Installed size: 40 M'); nothing was created")
        vgs = read_vgs(self.runner)
        lvs, views, counts = self.members()
        planned = plan_sizes(volumes, vgs, lvs)
        wanted = {(v["vg"], v["lv"]) for v in volumes}
        have = {(v["vg"], v["origin"]): v for v in views}
        strangers = sorted("%s/%s" % key for key in have if key not in wanted)
        if strangers:
            raise LvmError("snapshot set %r already has members for %s, which volumes does not list; "
                           "remove the set (state=absent) or list the same volumes" % (self.name, ", ".join(strangers)))
        if counts and counts != {len(volumes)}:
            raise LvmError("snapshot set %r was created with %s members, volumes lists %d" % (
                self.name, "/".join(str(c) for c in sorted(counts)), len(volumes)))
        invalid = sorted("%s/%s" % (v["vg"], v["name"]) for v in views if not v["valid"])
        if invalid:
            raise LvmError("snapshot set %r has invalid (overflowed) members: %s; remove the set and take it again"
                           % (self.name, ", ".join(invalid)))
        too_small, needs = transaction_problems(planned, transaction, float(transaction_factor))
        if too_small:
            raise LvmError("the snapshot set %r is too small for the planned transaction (download %s, installed "
                           "%s), nothing was created: %s" % (
                               self.name, human(transaction["download_bytes"]), human(transaction["installed_bytes"]),
                               "; ".join(too_small)), transaction=transaction, transaction_needs=needs)
        autoextend = read_autoextend(self.runner)
        if require_autoextend and not autoextend["effective"]:
            raise LvmError("require_autoextend: LVM will not extend the snapshots by itself (%s); set "
                           "activation/snapshot_autoextend_threshold below 100 and snapshot_autoextend_percent in "
                           "lvm.conf, with dmeventd monitoring; nothing was created" % (
                               autoextend.get("reason") or "lvmconfig unavailable"), autoextend=autoextend)
        missing = [item for item in planned if (item["vg"], item["lv"]) not in have]
        ok, report = preflight(missing, vgs)
        if not ok:
            raise LvmError(preflight_message(report), preflight=report)
        # The reverted tags of an earlier rollback outlive its set (a killed rollback resumes by
        # them); a new set of the same name starts without them.
        stale = self.merged_origins(lvs) if not views else []
        for origin in stale:
            self._change(["lvchange", "--deltag", reverted_tag(self.name), origin])
        for item in missing:
            self._change(["lvcreate", "--yes", "--snapshot", "--size", "%db" % item["bytes"],
                          "--name", snapshot_name(item["lv"], self.name),
                          "--addtag", set_tag(self.name), "--addtag", count_tag(self.name, len(volumes)),
                          "%s/%s" % (item["vg"], item["lv"])])
        created = ["%s/%s" % (i["vg"], snapshot_name(i["lv"], self.name)) for i in missing]
        result = {"changed": bool(missing or stale), "created": created,
                  "preflight": report, "commands": self.commands, "transaction": transaction,
                  "transaction_needs": needs, "autoextend": autoextend}
        result["snapshots"] = self.members()[1]
        monitored = read_monitored(self.runner) if not self.check_mode else {}
        for view in result["snapshots"]:
            view["monitor"] = monitored.get((view["vg"], view["name"]))
        if require_autoextend and not self.check_mode:
            unwatched = ["%s/%s" % (v["vg"], v["name"]) for v in result["snapshots"] if v["monitor"] != "monitored"]
            if unwatched:
                raise LvmError("require_autoextend: dmeventd does not monitor %s, so LVM will not extend them"
                               % ", ".join(unwatched), **result)
        return result

    def merge_running(self, view):
        """Whether the kernel is merging this member now (the origin's table became ``snapshot-merge``
        at its activation), as opposed to a merge that waits for the origin's next activation."""
        rc, out, _err = self.runner(["dmsetup", "table", dm_path(view["vg"], view["origin"])])
        return rc == 0 and " snapshot-merge " in " %s " % out

    def absent(self, merge_timeout=0, interval=5, sleep=time.sleep, clock=time.time):
        """Remove the set. Merges running in the kernel (a rollback after its reboot) are polled and
        waited for up to ``merge_timeout`` seconds: LVM drops a merged snapshot only when it polls,
        which the early-boot activation of the root and /var volumes does not do. The origins keep
        the set's reverted tags, so a rollback killed after this step still finds its set merged
        (``reverted`` answers already_merged); ``present`` clears them when it takes a new set."""
        lvs, views, _counts = self.members()
        merging = [v for v in views if v["merging"]]
        waiting = sorted("%s/%s" % (v["vg"], v["name"]) for v in merging if not self.merge_running(v))
        if waiting:
            raise LvmError("snapshot set %r is being merged back (a rollback waits for a reboot): %s; "
                           "reboot to complete it" % (self.name, ", ".join(waiting)))
        finished = sorted("%s/%s" % (v["vg"], v["name"]) for v in merging)
        if merging:
            if merge_timeout <= 0 and not self.check_mode:
                raise LvmError("the merge of %s into its origin is running; state=absent waits for it when "
                               "merge_timeout is above 0" % describe_merges(merging), snapshots=views)
            for vg in sorted({v["vg"] for v in merging}):
                self._change(["vgchange", "--poll", "y", vg])
            if self.check_mode:
                return {"changed": True, "removed": [], "merges_finished": finished, "commands": self.commands,
                        "snapshots": views}
            deadline = clock() + merge_timeout
            while merging:
                if clock() >= deadline:
                    raise LvmError("the merge of %s into its origin is still running after %d s; run state=absent "
                                   "again later (merge_timeout sets the wait)" % (
                                       describe_merges(merging), merge_timeout), snapshots=views)
                sleep(interval)
                lvs, views, _counts = self.members()
                merging = [v for v in views if v["merging"]]
        removed = []
        for lv in [v for v in views if not v["merging"]] + find_leftovers(lvs, self.name):
            self._change(["lvremove", "--yes", "%s/%s" % (lv["vg"], lv["name"])])
            removed.append("%s/%s" % (lv["vg"], lv["name"]))
        return {"changed": bool(removed or finished), "removed": removed, "merges_finished": finished,
                "commands": self.commands, "snapshots": [] if not self.check_mode else views}

    def reverted(self, volumes=None):
        """Merge every member into its origin, or nothing at all when the set is not sound."""
        state = self.status()
        views = state["snapshots"]
        if volumes:
            wanted = {(v["vg"], v["lv"]) for v in normalise_volumes(volumes)}
            have = {(v["vg"], v["origin"]) for v in views}
            lacking = sorted("%s/%s" % key for key in wanted - have)
            if lacking:
                state["problems"].append("no member for %s" % ", ".join(lacking))
        merged_origins = self.merged_origins()
        if not views and not state["leftovers"] and merged_origins:
            return {"changed": False, "merged": [], "reboot_required": False, "snapshots": [],
                    "already_merged": merged_origins, "commands": self.commands}
        if state["problems"]:
            raise LvmError("refusing to revert snapshot set %r, nothing was merged: %s" % (
                self.name, "; ".join(state["problems"])), snapshots=views)
        pending = [v for v in views if not v["merging"]]
        started = []
        for origin in sorted(set("%s/%s" % (v["vg"], v["origin"]) for v in pending)):
            if origin not in merged_origins:
                self._change(["lvchange", "--addtag", reverted_tag(self.name), origin])
        for view in pending:
            try:
                self._change(["lvconvert", "--merge", "--yes", "%s/%s" % (view["vg"], view["name"])])
            except LvmError as exc:
                raise LvmError("merge of %s/%s failed after the merge of [%s] had started; the set is now "
                               "partly merged, fix the cause and run state=reverted again: %s" % (
                                   view["vg"], view["name"], ", ".join(started), exc), merged=started)
            started.append("%s/%s" % (view["vg"], view["name"]))
        after = views if self.check_mode else self.members()[1]
        if self.check_mode:
            reboot = any(v["origin_open"] for v in views)
        else:
            reboot = any(v["merging"] for v in after)
        return {"changed": bool(pending), "merged": ["%s/%s" % (v["vg"], v["name"]) for v in pending],
                "reboot_required": reboot, "snapshots": after, "already_merged": [], "commands": self.commands}

    def merged_origins(self, lvs=None):
        """Origins carrying the set's reverted tag (their merge was started by ``reverted``)."""
        tag = reverted_tag(self.name)
        return sorted("%s/%s" % (lv["vg"], lv["name"]) for lv in (lvs or read_lvs(self.runner)) if tag in lv["tags"])
