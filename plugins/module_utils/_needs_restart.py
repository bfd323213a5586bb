# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which processes run deleted or replaced files, which services they belong to, reboot need.

Reads /proc directly (no needrestart / needs-restarting required); plain Python.
``run(params, run_command, has_binary)`` is the whole read-only module: the
options are checked first (``NeedsRestartError`` names the field).

Node Python 2.7 and 3.6+.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import io
import os
import re

from ansible_collections.fuel.lifecycle.plugins.module_utils import _files

try:
    TEXT_TYPES = (str, unicode)  # noqa: F821 pylint: disable=undefined-variable
except NameError:
    TEXT_TYPES = (str,)

PROC = "/proc"
ROOT = "/"
MAX_PATTERN = 512
_SERVICE_NAME = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9@_.:+-]{0,199}\Z")

DELETED = " (deleted)"
DEFAULT_IGNORE = ("/dev/", "/memfd:", "/SYSV", "/tmp/", "/var/tmp/", "/run/", "/proc/", "/sys/",
                  "/var/log/", "/var/lib/", "/home/", "/root/", "/[", "/anon_hugepage", "/drm")
_UNIT = re.compile(r"/([^/]+\.service)(?:/|$)")
_TOKEN = re.compile(r"\d+|[A-Za-z]+")


def parse_maps(text):
    """File-backed mappings of /proc/PID/maps: list of (path, inode, deleted)."""
    found = []
    for line in text.splitlines():
        fields = line.split(None, 5)
        if len(fields) < 6 or not fields[5].startswith("/"):
            continue
        path = fields[5]
        deleted = path.endswith(DELETED)
        if deleted:
            path = path[:-len(DELETED)]
        try:
            inode = int(fields[4])
        except ValueError:
            continue
        found.append((path, inode, deleted))
    return found


def ignored(path, ignore):
    return any(path.startswith(prefix) for prefix in ignore)


def stale_files(mappings, exe, ignore=DEFAULT_IGNORE, stat=os.stat):
    """Paths a process still uses although they were deleted or replaced (new inode)."""
    stale = set()
    for path, inode, deleted in mappings:
        if ignored(path, ignore):
            continue
        if deleted:
            stale.add(path)
            continue
        try:
            if inode and stat(path).st_ino != inode:
                stale.add(path)
        except OSError:
            stale.add(path)
    if exe and exe.endswith(DELETED):
        path = exe[:-len(DELETED)]
        if not ignored(path, ignore):
            stale.add(path)
    return sorted(stale)


def unit_from_cgroup(text):
    """systemd service unit of a process from /proc/PID/cgroup, or None (scopes, slices)."""
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        hierarchy, controllers, path = parts
        if hierarchy == "0" or controllers == "name=systemd":
            match = None
            for match in _UNIT.finditer(path):
                pass
            if match:
                return match.group(1)
    return None


def parse_needrestart(text):
    """Service names from `needrestart -b` batch output."""
    return sorted({line.split(":", 1)[1].strip() for line in text.splitlines()
                   if line.startswith("NEEDRESTART-SVC:") and line.split(":", 1)[1].strip()})


def parse_needs_restarting(text):
    """Service names from `needs-restarting -s` output (one unit a line)."""
    return sorted({line.strip() for line in text.splitlines() if line.strip().endswith(".service")})


def version_key(release):
    """Sort key for kernel releases such as 6.1.0-13-amd64 or 4.18.0-477.el8.x86_64."""
    return [(0, int(tok), "") if tok.isdigit() else (1, 0, tok) for tok in _TOKEN.findall(release)]


def installed_kernels(root="/"):
    """Kernel releases installed on the host (images in /boot, module trees in /lib/modules)."""
    found = set()
    for image in glob.glob(os.path.join(root, "boot", "vmlinuz-*")):
        found.add(os.path.basename(image)[len("vmlinuz-"):])
    for tree in glob.glob(os.path.join(root, "lib", "modules", "*", "modules.dep")):
        found.add(os.path.basename(os.path.dirname(tree)))
    return sorted(found, key=version_key)


def reboot_needed(running, installed):
    """(needed, newest): a newer kernel than the running one is installed."""
    if not installed:
        return False, None
    newest = max(installed, key=version_key)
    return version_key(newest) > version_key(running), newest


class NeedsRestartError(ValueError):
    """Invalid options; the message names the field."""


class ProcReader(object):
    """Reads the process table; only processes sharing our root directory are seen."""

    def __init__(self, proc="/proc", root="/"):
        self.proc = proc
        self.root = root
        try:
            st = os.stat(root)
            self.root_id = (st.st_dev, st.st_ino)
        except OSError:
            self.root_id = None

    def pids(self):
        own = os.getpid()
        for entry in os.listdir(self.proc):
            if entry.isdigit() and int(entry) != own:
                yield int(entry)

    def _read(self, pid, name):
        with io.open(os.path.join(self.proc, str(pid), name), encoding="utf-8", errors="replace") as handle:
            return handle.read()

    def same_root(self, pid):
        try:
            st = os.stat(os.path.join(self.proc, str(pid), "root"))
        except OSError:
            return False
        return (st.st_dev, st.st_ino) == self.root_id

    def process(self, pid):
        """dict(pid, ppid, comm, exe, maps, cgroup) or None when gone or not ours."""
        if not self.same_root(pid):
            return None
        try:
            maps = self._read(pid, "maps")
            stat = self._read(pid, "stat")
        except OSError:
            return None
        if not maps:
            return None  # kernel thread
        try:
            exe = os.readlink(os.path.join(self.proc, str(pid), "exe"))
        except OSError:
            exe = ""
        try:
            cgroup = self._read(pid, "cgroup")
        except OSError:
            cgroup = ""
        comm = stat[stat.find("(") + 1:stat.rfind(")")]
        try:
            ppid = int(stat[stat.rfind(")") + 2:].split()[1])
        except (ValueError, IndexError):
            ppid = 0
        return {"pid": pid, "ppid": ppid, "comm": comm, "exe": exe, "maps": maps, "cgroup": cgroup}


def read_pidfile(path):
    """The pid in a pid file, None when it is missing, empty, not a pid, or not a small regular file."""
    try:
        data = _files.read_bytes(path, 4096)
        return int(data.split()[0]) if data else None
    except (_files.FileProblem, ValueError, IndexError):
        return None


def sysv_pidfiles(root="/"):
    """{pid: init script name} from /run/<name>.pid and /run/<name>/*.pid with /etc/init.d/<name>."""
    owners = {}
    candidates = glob.glob(os.path.join(root, "run", "*.pid")) + glob.glob(os.path.join(root, "run", "*", "*.pid"))
    for pidfile in candidates:
        base = os.path.basename(pidfile)[:-4]
        parent = os.path.basename(os.path.dirname(pidfile))
        for name in (base, parent):
            if os.path.isfile(os.path.join(root, "etc", "init.d", name)):
                pid = read_pidfile(pidfile)
                if pid:
                    owners[pid] = name
                break
    return owners


def service_of(proc_info, table, owners, service_map, systemd):
    """Service a process belongs to: (name, manager) or (None, None)."""
    if systemd:
        unit = unit_from_cgroup(proc_info["cgroup"])
        if unit:
            return unit, "systemd"
    for name, spec in service_map.items():
        pattern = spec.get("cmdline")
        if pattern and (re.search(pattern, proc_info["comm"]) or re.search(pattern, proc_info["exe"])):
            return name, "map"
    pid, seen = proc_info["pid"], set()
    while pid and pid not in seen:
        seen.add(pid)
        if pid in owners:
            return owners[pid], owners.get(("manager", pid), "sysv")
        parent = table.get(pid)
        pid = parent["ppid"] if parent else None
    return None, None


def scan(reader, service_map=None, ignore=DEFAULT_IGNORE, systemd=None, root="/"):
    """Processes with stale files, grouped into services."""
    service_map = service_map or {}
    if systemd is None:
        systemd = os.path.isdir(os.path.join(root, "run", "systemd", "system"))
    owners = sysv_pidfiles(root)
    for name, spec in service_map.items():
        pid = read_pidfile(spec["pidfile"]) if spec.get("pidfile") else None
        if pid:
            owners[pid] = name
            owners[("manager", pid)] = "map"
    table = {}
    for pid in reader.pids():
        info = reader.process(pid)
        if info:
            table[pid] = info
    processes, services = [], {}
    for pid in sorted(table):
        info = table[pid]
        stale = stale_files(parse_maps(info["maps"]), info["exe"], ignore)
        if not stale:
            continue
        name, manager = service_of(info, table, owners, service_map, systemd)
        processes.append({"pid": pid, "comm": info["comm"], "service": name, "files": stale})
        if name:
            entry = services.setdefault(name, {"name": name, "manager": manager, "pids": [], "files": []})
            entry["pids"].append(pid)
            entry["files"] = sorted(set(entry["files"]) | set(stale))
    return processes, [services[name] for name in sorted(services)], systemd


def check_options(service_map, ignore_prefixes):
    """service_map and ignore_prefixes checked in full; NeedsRestartError names the field."""
    if not isinstance(service_map, dict):
        raise NeedsRestartError("service_map: must be a dict of service name -> {pidfile, cmdline}")
    clean = {}
    for name in sorted(service_map, key=lambda key: "%s" % (key,)):
        spec = service_map[name]
        where = "service_map.%s" % (name,)
        if not isinstance(name, TEXT_TYPES) or not _SERVICE_NAME.match(name):
            raise NeedsRestartError("service_map: %r is not a service name" % (name,))
        if not isinstance(spec, dict) or not (spec.get("pidfile") or spec.get("cmdline")):
            raise NeedsRestartError("%s: needs a pidfile and/or a cmdline pattern" % where)
        unknown = sorted("%s" % (key,) for key in spec if key not in ("pidfile", "cmdline"))
        if unknown:
            raise NeedsRestartError("%s: unknown field(s) %s (use pidfile, cmdline)" % (where, ", ".join(unknown)))
        entry = {}
        pidfile = spec.get("pidfile")
        if pidfile:
            if not isinstance(pidfile, TEXT_TYPES) or not pidfile.startswith("/") or len(pidfile) > 4096 \
                    or _files.CONTROL_RE.search(_files.to_text(pidfile)):
                raise NeedsRestartError("%s.pidfile: must be an absolute path, got %r" % (where, pidfile))
            if os.path.isdir(pidfile):
                raise NeedsRestartError("%s.pidfile: %s is a directory where a pid file is expected"
                                        % (where, pidfile))
            entry["pidfile"] = pidfile
        pattern = spec.get("cmdline")
        if pattern:
            if not isinstance(pattern, TEXT_TYPES) or len(pattern) > MAX_PATTERN:
                raise NeedsRestartError("%s.cmdline: must be a regular expression of at most %d characters"
                                        % (where, MAX_PATTERN))
            try:
                re.compile(pattern)
            except (re.error, RuntimeError, OverflowError) as exc:
                raise NeedsRestartError("%s.cmdline: not a regular expression: %s" % (where, exc))
            entry["cmdline"] = pattern
        clean[name] = entry
    if ignore_prefixes is None:
        return clean, DEFAULT_IGNORE
    if not isinstance(ignore_prefixes, list):
        raise NeedsRestartError("ignore_prefixes: must be a list of path prefixes")
    for index, prefix in enumerate(ignore_prefixes):
        if not isinstance(prefix, TEXT_TYPES) or not prefix.startswith("/") or len(prefix) > 4096 \
                or _files.CONTROL_RE.search(_files.to_text(prefix)):
            raise NeedsRestartError("ignore_prefixes[%d]: must be an absolute path prefix, got %r" % (index, prefix))
    return clean, tuple(ignore_prefixes)


def tool_services(run_command, has_binary, systemd, warn):
    """(tool, service names) reported by needrestart / needs-restarting when installed."""
    if has_binary("needrestart"):
        rc, out, err = run_command(["needrestart", "-b", "-r", "l"])
        if rc == 0:
            return "needrestart", parse_needrestart(out)
        warn("needrestart failed (rc %s): %s" % (rc, err.strip()))
    if systemd and has_binary("needs-restarting"):
        rc, out, err = run_command(["needs-restarting", "-s"])
        if rc == 0:
            return "needs-restarting", parse_needs_restarting(out)
        warn("needs-restarting failed (rc %s): %s" % (rc, err.strip()))
    return None, []


def running_kernel():
    return os.uname()[2]


def run(params, run_command, has_binary, warn, proc=None, root=None):
    """The whole module (read-only): the result dict, or NeedsRestartError naming the field."""
    proc = proc or PROC
    root = root or ROOT
    service_map, ignore = check_options(params.get("service_map") or {}, params.get("ignore_prefixes"))
    processes, services, systemd = scan(ProcReader(proc, root), service_map, ignore, root=root)
    tool = None
    if params.get("use_tools", True):
        tool, names = tool_services(run_command, has_binary, systemd, warn)
        known = set(entry["name"] for entry in services)
        for name in names:
            if name not in known:
                services.append({"name": name, "manager": "systemd" if systemd else "sysv", "pids": [],
                                 "files": [], "source": tool})
        services.sort(key=lambda entry: entry["name"])
    running = running_kernel()
    reboot, newest = reboot_needed(running, installed_kernels(root))
    if os.path.exists(os.path.join(root, "run", "reboot-required")):
        reboot = True
    return {"changed": False, "services": services, "processes": processes,
            "service_names": [entry["name"] for entry in services], "systemd": systemd,
            "reboot_required": reboot, "kernel_running": running, "kernel_newest": newest, "tool": tool}
