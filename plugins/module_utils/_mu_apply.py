# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A maintenance update on one node, start to end, in one module run.

Steps, in order, each recorded in the result: node lock (an ``flock``, gone
with the process), records read and validated, prechecks (free space, package
manager lock waited for, interrupted package work, repositories answer), the
package manager's own simulation (the plan), the state saved once per target
MU, the repository files, the transaction, its verification with the package
database, restarts of exactly the affected services with their health checks,
the MU record and the node's last run. Check mode stops after the plan: the
simulation runs against a throwaway copy of the package manager's
configuration, so nothing on the node changes.

Node Python 2.7 and 3.6+. Commands go through ``_runner.CommandRunner``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fcntl
import os
import re
import shutil
import tempfile
import time

from ansible_collections.fuel.lifecycle.plugins.module_utils import _files as files
from ansible_collections.fuel.lifecycle.plugins.module_utils import _needs_restart as nr
from ansible_collections.fuel.lifecycle.plugins.module_utils._runner import tail

APT_LOCKS = ("/var/lib/dpkg/lock-frontend", "/var/lib/dpkg/lock", "/var/lib/apt/lists/lock",
             "/var/cache/apt/archives/lock")
RPM_LOCKS = ("/var/lib/rpm/.rpm.lock",)
RPM_PIDFILES = ("/var/run/yum.pid", "/var/cache/dnf/metadata_lock.pid", "/var/lib/dnf/rpmdb_lock.pid")
APT_ENV = {"DEBIAN_FRONTEND": "noninteractive", "APT_LISTCHANGES_FRONTEND": "none"}
APT_OPTS = ["-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold"]
_INST = re.compile(r"\AInst (\S+) (?:\[([^\]]+)\] )?\((\S+)")
_REMV = re.compile(r"\ARemv (\S+)(?: \[([^\]]+)\])?")
_APT_ERR = re.compile(r"\A(?:Err:\d+ |E: |W: Failed to fetch|W: Some index files failed)")
_DPKG_LINE = re.compile(r"\A(?:dpkg: |dpkg-deb: |Errors were encountered|E: Sub-process|\s+(?:installed|new|old) )")
_HALF = ("half-configured", "half-installed", "unpacked", "triggers-awaited", "triggers-pending")
_DNF_ROW = re.compile(r"\A ([A-Za-z0-9_.+-]+)\s+(\S+)\s+(\S+)\s+(\S+)\s+\S+(?:\s+\S+)?\s*\Z")


class StepFailed(Exception):
    """A step failed; ``step`` names it, ``details`` go into the result."""

    def __init__(self, step, reason, **details):
        self.step = step
        self.reason = reason
        self.details = details
        Exception.__init__(self, "%s: %s" % (step, reason))


# ---------------------------------------------------------------- input

def _check_path(value, field):
    if not isinstance(value, str) and not hasattr(value, "encode"):
        raise ValueError("%s: must be a path" % field)
    if not value or not os.path.isabs(value):
        raise ValueError("%s: must be an absolute path, got %r" % (field, value))
    files.check_text(value, field, max_len=1024)
    for part in value.split("/"):
        if part == "..":
            raise ValueError("%s: must not contain '..'" % field)
        if len(part) > files.NAME_MAX:
            raise ValueError("%s: a path component is longer than %d characters" % (field, files.NAME_MAX))
    return value


_URI = re.compile(r"\A(?:https?|file)://[^\s\[\]]+\Z")
_SUITE = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9_.+~/-]*\Z")
_REPO_NAME = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9_.:-]*\Z")
_SERVICE = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9_.@:+-]*\Z")


def _text(value):
    """A value as text for matching, on Python 2 too (unicode kept as is)."""
    return value if isinstance(value, (files.TEXT_TYPE, str)) else "%r" % (value,)


def validate(params):
    """Every option checked before anything is read or written (ValueError names the field)."""
    for field in ("record_path", "fact_path", "state_dir", "apt_sources_file", "apt_pin_file", "yum_repo_file"):
        if params.get(field):
            _check_path(params[field], field)
    for index, path in enumerate(params.get("free_space_paths") or []):
        _check_path(path, "free_space_paths[%d]" % index)
    for index, repo in enumerate(params.get("apt_repos") or []):
        where = "apt_repos[%d]" % index
        if not isinstance(repo, dict):
            raise ValueError("%s: must be a dict" % where)
        for key in ("uri", "suite", "section", "signed_by"):
            files.check_text(_text(repo.get(key) or ""), "%s.%s" % (where, key), max_len=1024)
        if not _URI.match(_text(repo.get("uri", ""))):
            raise ValueError("%s.uri: must be an http(s) or file URL without spaces" % where)
        if not _SUITE.match(_text(repo.get("suite", ""))):
            raise ValueError("%s.suite: %r is not a suite name" % (where, repo.get("suite")))
        if not _SUITE.match(_text(repo.get("section") or "main")):
            raise ValueError("%s.section: %r is not a section name" % (where, repo.get("section")))
        if repo.get("signed_by"):
            _check_path(repo["signed_by"], where + ".signed_by")
    for index, repo in enumerate(params.get("yum_repos") or []):
        where = "yum_repos[%d]" % index
        if not isinstance(repo, dict):
            raise ValueError("%s: must be a dict" % where)
        for key in ("name", "baseurl", "gpgkey"):
            files.check_text(_text(repo.get(key) or ""), "%s.%s" % (where, key), max_len=1024)
        if not _REPO_NAME.match(_text(repo.get("name", ""))) or len(_text(repo.get("name"))) > 100:
            raise ValueError("%s.name: %r is not a repository id" % (where, repo.get("name")))
        if not _URI.match(_text(repo.get("baseurl", ""))):
            raise ValueError("%s.baseurl: must be an http(s) or file URL without spaces" % where)
        if repo.get("gpgkey") and not _URI.match(_text(repo["gpgkey"])):
            raise ValueError("%s.gpgkey: must be an http(s) or file URL without spaces" % where)
    for name in params.get("restart_order") or []:
        if not _SERVICE.match(_text(name)):
            raise ValueError("restart_order: %r is not a service name" % (name,))
    checks = params.get("health_checks") or {}
    for name, items in checks.items():
        if not _SERVICE.match(_text(name)):
            raise ValueError("health_checks: %r is not a service name" % (name,))
        if not isinstance(items, list):
            raise ValueError("health_checks.%s: must be a list" % name)
        for index, item in enumerate(items):
            where = "health_checks.%s[%d]" % (name, index)
            if not isinstance(item, dict) or not (item.get("command") or item.get("url")):
                raise ValueError("%s: needs a command (argv list) or a url" % where)
            if item.get("command") is not None and (not isinstance(item["command"], list) or not item["command"]
                                                    or not all(isinstance(a, str) or hasattr(a, "encode")
                                                               for a in item["command"])):
                raise ValueError("%s.command: must be a non-empty argv list of strings" % where)
            if item.get("url") is not None and not re.match(r"\Ahttps?://\S+\Z", _text(item["url"])):
                raise ValueError("%s.url: must be an http(s) URL" % where)
    for field, low, high in (("min_free_mb", 0, 10 ** 7), ("lock_timeout", 0, 86400), ("health_retries", 1, 1000),
                             ("health_delay", 0, 3600), ("apt_pin_priority", -32768, 32767),
                             ("yum_priority", 1, 99)):
        value = params.get(field)
        if value is not None and not (low <= value <= high):
            raise ValueError("%s: must be between %d and %d, got %r" % (field, low, high, value))
    for name, spec in (params.get("service_map") or {}).items():
        if not isinstance(spec, dict) or not (spec.get("pidfile") or spec.get("cmdline")):
            raise ValueError("service_map.%s: needs a pidfile and/or a cmdline pattern" % name)
        if spec.get("cmdline"):
            try:
                re.compile(spec["cmdline"])
            except re.error as exc:
                raise ValueError("service_map.%s.cmdline: not a regular expression (%s)" % (name, exc))
    owner = params.get("owner") or ""
    files.check_text(owner, "owner", max_len=256)
    run_id = params.get("run_id") or ""
    files.check_text(run_id, "run_id", max_len=128)


# ---------------------------------------------------------------- repository files

def apt_sources(repos):
    lines = ["# fuel.lifecycle maintenance update (managed)"]
    for repo in repos:
        opts = " [signed-by=%s]" % repo["signed_by"] if repo.get("signed_by") else ""
        lines.append("deb%s %s %s %s" % (opts, repo["uri"], repo["suite"], repo.get("section") or "main"))
    return "\n".join(lines) + "\n"


def apt_pins(repos, priority):
    out = ["# fuel.lifecycle maintenance update (managed)", ""]
    seen = []
    for repo in repos:
        if repo["suite"] not in seen:
            seen.append(repo["suite"])
            out += ["Package: *", "Pin: release n=%s" % repo["suite"], "Pin-Priority: %d" % priority, ""]
    return "\n".join(out)


def yum_repo(repos, priority):
    out = ["# fuel.lifecycle maintenance update (managed)"]
    for repo in repos:
        out += ["[%s]" % repo["name"], "name=%s" % repo["name"], "baseurl=%s" % repo["baseurl"], "enabled=1",
                "priority=%d" % priority, "gpgcheck=1"]
        if repo.get("gpgkey"):
            out.append("gpgkey=%s" % repo["gpgkey"])
        out.append("")
    return "\n".join(out) + "\n"


def repo_files(params, manager):
    """{path: content} of the MU repository files for this package manager."""
    if manager == "apt":
        if not params.get("apt_repos"):
            return {}
        return {params["apt_sources_file"]: apt_sources(params["apt_repos"]),
                params["apt_pin_file"]: apt_pins(params["apt_repos"], params["apt_pin_priority"])}
    if not params.get("yum_repos"):
        return {}
    return {params["yum_repo_file"]: yum_repo(params["yum_repos"], params["yum_priority"])}


# ---------------------------------------------------------------- package manager lock

def _lock_holder(path):
    """(pid, command) holding a POSIX lock on ``path``, from /proc/locks; (None, '') when unknown."""
    try:
        inode = os.stat(path).st_ino
        text = files.read_text("/proc/locks") or ""
    except (OSError, files.FileProblem):
        return None, ""
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 6 and fields[5].rsplit(":", 1)[-1] == str(inode):
            try:
                pid = int(fields[4])
            except ValueError:
                continue
            try:
                comm = (files.read_text("/proc/%d/comm" % pid) or "").strip()
            except files.FileProblem:
                comm = ""
            return pid, comm
    return None, ""


def lock_busy(path):
    """None when ``path`` can be locked now (or does not exist), else a text naming the holder."""
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return None
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            return None
        raise
    try:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except (IOError, OSError) as exc:
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                pid, comm = _lock_holder(path)
                return "%s is held by %s" % (path, ("process %s (%s)" % (pid, comm or "?")) if pid else
                                             "another process")
            raise
        fcntl.lockf(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def pidfile_busy(path):
    try:
        text = files.read_text(path, max_bytes=4096)
    except files.FileProblem:
        return None
    if not text or not text.strip().isdigit():
        return None
    pid = int(text.strip())
    if pid == os.getpid():
        return None
    try:
        os.kill(pid, 0)
    except OSError as exc:
        if exc.errno == errno.ESRCH:
            return None
    return "%s names the running process %d" % (path, pid)


def wait_for_package_manager(manager, timeout, sleep=time.sleep, clock=time.time):
    """Wait until no other apt/dpkg/dnf/yum holds its lock; StepFailed after ``timeout`` seconds."""
    deadline = clock() + timeout
    waited = 0.0
    start = clock()
    while True:
        if manager == "apt":
            busy = [b for b in (lock_busy(p) for p in APT_LOCKS) if b]
        else:
            busy = [b for b in (lock_busy(p) for p in RPM_LOCKS) if b]
            busy += [b for b in (pidfile_busy(p) for p in RPM_PIDFILES) if b]
        if not busy:
            return round(waited, 1)
        if clock() >= deadline:
            raise StepFailed("package manager lock", "the package manager is busy: %s; waited %d s (lock_timeout), "
                             "nothing was changed" % ("; ".join(busy), timeout), busy=busy)
        sleep(1.0)
        waited = clock() - start


# ---------------------------------------------------------------- apt

def parse_apt_plan(text):
    plan = {"upgrade": [], "install": [], "remove": []}
    for line in text.splitlines():
        match = _INST.match(line)
        if match:
            name, old, new = match.groups()
            if old:
                plan["upgrade"].append({"name": name, "from": old, "to": new})
            else:
                plan["install"].append({"name": name, "to": new})
            continue
        match = _REMV.match(line)
        if match:
            plan["remove"].append({"name": match.group(1), "from": match.group(2)})
    return plan


def apt_fetch_errors(out, err):
    """Lines of ``apt-get update`` saying a repository could not be read."""
    lines = []
    for line in (out + "\n" + err).splitlines():
        line = line.strip()
        if _APT_ERR.match(line) and line not in lines:
            lines.append(line)
    return lines


def dpkg_cause(out, err):
    """dpkg's own explanation of a failed transaction (its error lines and the script's messages)."""
    lines = [line.rstrip() for line in (out + "\n" + err).splitlines() if line.strip()]
    keep = []
    for index, line in enumerate(lines):
        if _DPKG_LINE.match(line) or "returned error exit status" in line or "failing" in line.lower():
            if index and lines[index - 1] not in keep and not lines[index - 1].startswith(
                    ("Setting up", "Unpacking", "Preparing", "Selecting", "(Reading", "Get:", "Fetched")):
                keep.append(lines[index - 1])
            if line not in keep:
                keep.append(line)
    return "\n".join(keep[-30:]) or tail(out + "\n" + err, 15)


def parse_dpkg_status(text):
    """{name: (status word, version)} from ``dpkg-query -W -f '${Package} ${Status} ${Version}\\n'``."""
    result = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 4:
            result[fields[0]] = (fields[3], fields[4] if len(fields) > 4 else "")
    return result


class Apt(object):
    """apt/dpkg backend."""

    name = "apt"

    def __init__(self, runner, lock_timeout):
        self.runner = runner
        self.lock_timeout = lock_timeout

    def installed(self):
        rc, out, err = self.runner.run(["dpkg-query", "-W", "-f=${Package} ${db:Status-Abbrev} ${Status} ${Version}\n"])
        if rc != 0:
            raise StepFailed("package database", "dpkg-query failed: %s" % tail(err, 5))
        status = {}
        for line in out.splitlines():
            fields = line.split()
            if len(fields) >= 5:
                status[fields[0]] = {"status": fields[4], "version": fields[5] if len(fields) > 5 else ""}
        return status

    def half_configured(self, status=None):
        status = status if status is not None else self.installed()
        return sorted("%s (%s)" % (name, info["status"]) for name, info in status.items() if info["status"] in _HALF)

    def audit(self):
        rc, out, err = self.runner.run(["dpkg", "--audit"])
        return (out + err).strip() if rc != 0 or out.strip() else ""

    def verify(self, names=None):
        rc, out, _err = self.runner.run(["dpkg", "--verify"] + list(names or []))
        if rc not in (0, 1):
            return []
        return [re.sub(r"\A\S+\s+(?:c\s+)?", "", line) for line in out.splitlines() if line.strip()]

    def package_list(self, status):
        return "".join("%s %s\n" % (name, status[name]["version"]) for name in sorted(status)
                       if status[name]["status"] == "installed")

    def _opts(self, sandbox):
        opts = ["-o", "DPkg::Lock::Timeout=%d" % self.lock_timeout]
        if sandbox:
            opts += ["-o", "Dir::Etc::SourceParts=%s/sources.list.d" % sandbox,
                     "-o", "Dir::Etc::PreferencesParts=%s/preferences.d" % sandbox,
                     "-o", "Dir::State::Lists=%s/lists" % sandbox,
                     "-o", "Dir::Cache=%s/cache" % sandbox, "-o", "Debug::NoLocking=1"]
        return opts

    def sandbox(self, wanted):
        """A throwaway copy of APT's sources and preferences with the MU files in place."""
        top = tempfile.mkdtemp(prefix="fuel-mu-plan.")
        for part, source in (("sources.list.d", "/etc/apt/sources.list.d"),
                             ("preferences.d", "/etc/apt/preferences.d")):
            target = os.path.join(top, part)
            os.makedirs(target)
            if os.path.isdir(source):
                for name in os.listdir(source):
                    path = os.path.join(source, name)
                    if os.path.isfile(path):
                        shutil.copy(path, target)
        for path, content in wanted.items():
            part = "preferences.d" if "/preferences.d/" in path else "sources.list.d"
            with open(os.path.join(top, part, os.path.basename(path)), "wb") as handle:
                handle.write(content.encode("utf-8"))
        os.makedirs(os.path.join(top, "lists", "partial"))
        os.makedirs(os.path.join(top, "cache", "archives", "partial"))
        return top

    def refresh(self, sandbox=None):
        rc, out, err = self.runner.run(["apt-get", "-q", "update"] + self._opts(sandbox), environ=APT_ENV)
        problems = apt_fetch_errors(out, err)
        if rc != 0 or problems:
            raise StepFailed("repositories", "apt-get update could not read every repository (nothing was "
                             "installed): %s" % ("; ".join(problems[:6]) or tail(err, 5)), errors=problems)

    def plan(self, sandbox=None):
        rc, out, err = self.runner.run(["apt-get", "-s", "-q", "dist-upgrade"] + APT_OPTS + self._opts(sandbox),
                                       environ=APT_ENV)
        if rc != 0:
            raise StepFailed("simulation", "apt-get -s dist-upgrade refused: %s" % tail(out + "\n" + err, 10))
        return parse_apt_plan(out)

    def finish_interrupted(self):
        rc, out, err = self.runner.run(["dpkg", "--configure", "-a"], environ=APT_ENV, changes=True)
        if rc != 0:
            raise StepFailed("interrupted package work", "dpkg --configure -a failed: %s" % dpkg_cause(out, err),
                             half_configured=self.half_configured())

    def transaction(self):
        rc, out, err = self.runner.run(["apt-get", "-y", "-q", "dist-upgrade"] + APT_OPTS + self._opts(None),
                                       environ=APT_ENV, changes=True)
        if rc != 0:
            half = self.half_configured()
            raise StepFailed("transaction", "apt-get dist-upgrade failed (rc %d): %s" % (rc, dpkg_cause(out, err)),
                             half_configured=half)
        return out


# ---------------------------------------------------------------- dnf / yum

def parse_dnf_plan(text):
    """Plan from ``dnf/yum --assumeno upgrade`` (the transaction table)."""
    plan = {"upgrade": [], "install": [], "remove": []}
    section = None
    for line in text.splitlines():
        head = line.strip().rstrip(":").lower()
        if head in ("upgrading", "updating", "upgrading dependencies", "updating for dependencies"):
            section = "upgrade"
            continue
        if head in ("installing", "installing dependencies", "installing for dependencies", "installing weak "
                    "dependencies"):
            section = "install"
            continue
        if head in ("removing", "removing dependent packages", "removing for dependencies"):
            section = "remove"
            continue
        if head.startswith("transaction summary"):
            section = None
            continue
        match = _DNF_ROW.match(line)
        if section and match:
            name, _arch, version, _repo = match.groups()
            entry = {"name": name, "to" if section != "remove" else "from": version}
            plan[section].append(entry)
    return plan


class Rpm(object):
    """dnf (or yum) backend."""

    name = "rpm"

    def __init__(self, runner, lock_timeout):
        self.runner = runner
        self.lock_timeout = lock_timeout
        self.tool = "dnf" if runner.binary("dnf", required=False) else "yum"

    def installed(self):
        rc, out, err = self.runner.run(["rpm", "-qa", "--qf", "%{NAME} %{EPOCHNUM}:%{VERSION}-%{RELEASE}.%{ARCH}\n"])
        if rc != 0:
            raise StepFailed("package database", "rpm -qa failed: %s" % tail(err, 5))
        return dict((line.split()[0], {"status": "installed", "version": line.split()[1]})
                    for line in out.splitlines() if len(line.split()) == 2)

    def half_configured(self, status=None):
        return []

    def audit(self):
        return ""

    def verify(self, names=None):
        argv = ["rpm", "-V", "--nodeps", "--nomtime"] + list(names) if names else ["rpm", "-Va", "--nodeps", "--nomtime"]
        rc, out, _err = self.runner.run(argv)
        if rc not in (0, 1):
            return []
        return [re.sub(r"\A\S+\s+(?:c\s+)?", "", line) for line in out.splitlines() if line.strip()]

    def package_list(self, status):
        return "".join("%s %s\n" % (name, status[name]["version"]) for name in sorted(status))

    def sandbox(self, wanted):
        top = tempfile.mkdtemp(prefix="fuel-mu-plan.")
        target = os.path.join(top, "repos")
        os.makedirs(target)
        if os.path.isdir("/etc/yum.repos.d"):
            for name in os.listdir("/etc/yum.repos.d"):
                path = os.path.join("/etc/yum.repos.d", name)
                if os.path.isfile(path) and name.endswith(".repo"):
                    shutil.copy(path, target)
        for path, content in wanted.items():
            with open(os.path.join(target, os.path.basename(path)), "wb") as handle:
                handle.write(content.encode("utf-8"))
        os.makedirs(os.path.join(top, "cache"))
        return top

    def _opts(self, sandbox):
        if not sandbox:
            return []
        return ["--setopt=reposdir=%s/repos" % sandbox, "--setopt=cachedir=%s/cache" % sandbox]

    def refresh(self, sandbox=None):
        rc, out, err = self.runner.run([self.tool, "-q", "makecache"] + self._opts(sandbox))
        if rc != 0:
            raise StepFailed("repositories", "%s makecache could not read every repository (nothing was "
                             "installed): %s" % (self.tool, tail(out + "\n" + err, 8)))

    def plan(self, sandbox=None):
        rc, out, err = self.runner.run([self.tool, "--assumeno", "upgrade"] + self._opts(sandbox))
        if rc not in (0, 1):
            raise StepFailed("simulation", "%s --assumeno upgrade failed: %s" % (self.tool, tail(out + err, 10)))
        if rc == 1 and "Operation aborted" not in (out + err) and "Exiting on user command" not in (out + err):
            raise StepFailed("simulation", "%s --assumeno upgrade failed: %s" % (self.tool, tail(out + err, 10)))
        return parse_dnf_plan(out)

    def finish_interrupted(self):
        return None

    def transaction(self):
        rc, out, err = self.runner.run([self.tool, "-y", "upgrade"], changes=True)
        if rc != 0:
            reason = "%s upgrade failed (rc %d): %s" % (self.tool, rc, tail(out + "\n" + err, 15))
            raise StepFailed("transaction", reason)
        return out


# ---------------------------------------------------------------- services

def _service_table(service_map):
    reader = nr.ProcReader()
    systemd = os.path.isdir("/run/systemd/system")
    owners = nr.sysv_pidfiles("/")
    for name, spec in service_map.items():
        pid = nr.read_pidfile(spec["pidfile"]) if spec.get("pidfile") else None
        if pid:
            owners[pid] = name
            owners[("manager", pid)] = "map"
    table = {}
    for pid in reader.pids():
        info = reader.process(pid)
        if info:
            table[pid] = info
    return table, owners, systemd


def services_using(paths, service_map):
    """Services whose processes map one of ``paths`` now: what a transaction replacing them would restart."""
    paths = set(paths)
    table, owners, systemd = _service_table(service_map)
    found = {}
    for pid in sorted(table):
        info = table[pid]
        mapped = set(path for path, _inode, _deleted in nr.parse_maps(info["maps"]))
        exe = info["exe"][:-len(nr.DELETED)] if info["exe"].endswith(nr.DELETED) else info["exe"]
        if exe:
            mapped.add(exe)
        if not mapped & paths:
            continue
        name, manager = nr.service_of(info, table, owners, service_map, systemd)
        if name:
            found.setdefault(name, {"name": name, "manager": manager, "pids": []})["pids"].append(pid)
    return [found[name] for name in sorted(found)]


def stale_services(service_map):
    """Services running deleted or replaced files (after the transaction)."""
    _processes, services, _systemd = nr.scan(nr.ProcReader(), service_map)
    return services


def order_restarts(services, order):
    names = [entry["name"] for entry in services]
    return [name for name in order if name in names] + [name for name in names if name not in order]


def restart_argv(entry, action):
    if entry["manager"] == "systemd":
        return ["systemctl", "is-active" if action == "status" else action, entry["name"]]
    return ["/etc/init.d/%s" % entry["name"], action]


# ---------------------------------------------------------------- the run

class MuRun(object):
    """One node's MU. ``fetch(url)`` returns a validated record; ``check_url(url, status)`` an error text or None."""

    def __init__(self, params, runner, check_mode, records, fetch_url_check=None, sleep=time.sleep,
                 clock=time.time):
        self.p = params
        self.runner = runner
        self.check_mode = check_mode
        self.records = records
        self.url_check = fetch_url_check
        self.sleep = sleep
        self.clock = clock
        self.result = {"changed": False, "steps": [], "plan": None, "restarted": [], "would_restart": [],
                       "half_configured": [], "modified_files": [], "mu_before": None, "mu_after": None,
                       "transaction_seconds": None, "reboot_required": False, "failed_step": None,
                       "reason": None, "diff": []}

    def step(self, name, started):
        self.result["steps"].append({"name": name, "seconds": round(self.clock() - started, 2)})

    def backend(self):
        manager = self.p["package_manager"]
        if manager == "auto":
            manager = "apt" if self.runner.binary("apt-get", required=False) and \
                self.runner.binary("dpkg", required=False) else "rpm"
        backend = Apt if manager == "apt" else Rpm
        return backend(self.runner, self.p["lock_timeout"])

    def run(self):
        started = self.clock()
        self.result["started_at"] = round(started, 3)
        state_dir = self.p["state_dir"]
        lock = None
        if not self.check_mode:
            files.makedirs(state_dir)
            lock = files.FileLock(os.path.join(state_dir, "node.lock"), timeout=max(5, self.p["lock_timeout"]))
            try:
                lock.__enter__()
            except files.FileProblem as exc:
                raise StepFailed("node lock", "another MU run is working on this node (%s)" % exc.problem)
        try:
            self._run(started)
        finally:
            if lock is not None:
                lock.__exit__(None, None, None)
        self.result["finished_at"] = round(self.clock(), 3)
        return self.result

    def _run(self, started):
        p = self.p
        installed, available = self.records()
        self.result["mu_before"] = installed.get("id") if installed else None
        self.result["mu_target"] = available.get("id") if available else None
        backend = self.backend()
        self.result["package_manager"] = backend.name
        self.step("records", started)
        if p.get("phase") == "restarts":
            self._restarts()
            self.result["mu_after"] = self.result["mu_before"]
            return

        # prechecks: nothing has changed yet
        t = self.clock()
        for path in p["free_space_paths"]:
            try:
                st = os.statvfs(path)
            except OSError as exc:
                raise StepFailed("free space", "%s: %s" % (path, exc.strerror or exc))
            free = st.f_bavail * st.f_frsize // (1024 * 1024)
            if free < p["min_free_mb"]:
                raise StepFailed("free space", "%s: %d MiB free, %d MiB needed (min_free_mb)"
                                 % (path, free, p["min_free_mb"]))
        self.result["lock_waited_seconds"] = wait_for_package_manager(backend.name, p["lock_timeout"],
                                                                      self.sleep, self.clock)
        status = backend.installed()
        half = backend.half_configured(status)
        audit = backend.audit()
        self.result["interrupted_before"] = half
        self.step("prechecks", t)

        # plan with the package manager's own simulation
        t = self.clock()
        wanted = repo_files(p, backend.name)
        changed_files = [path for path, content in sorted(wanted.items()) if files.needs_write(path, content)]
        for path in changed_files:
            before = files.read_text(path) or ""
            self.result["diff"].append({"before_header": path, "after_header": path, "before": before,
                                        "after": wanted[path]})
        interrupted = bool(half or audit)
        target = self.result["mu_target"] if self.result["mu_target"] is not None else "x"
        mu_done = installed is not None and available is not None and installed.get("id") == available.get("id")
        if self.check_mode:
            sandbox = backend.sandbox(wanted)
            try:
                backend.refresh(sandbox)
                plan = backend.plan(sandbox)
            finally:
                shutil.rmtree(sandbox, ignore_errors=True)
            self._refuse_removals(plan)
            pending = bool(plan.get("upgrade") or plan.get("install"))
            self.result["plan"] = plan
            self.step("plan", t)
            self.result["would_restart"] = [s["name"] for s in services_using(self._plan_paths(plan),
                                                                              p["service_map"])]
            self.result["mu_after"] = self.result["mu_target"] if available else self.result["mu_before"]
            self.result["changed"] = bool(changed_files or pending or interrupted or
                                          (available is not None and not mu_done))
            return
        if mu_done and not changed_files and not interrupted:
            # already on this MU: look for pending updates without touching the package manager's state
            sandbox = backend.sandbox(wanted)
            try:
                backend.refresh(sandbox)
                plan = backend.plan(sandbox)
            finally:
                shutil.rmtree(sandbox, ignore_errors=True)
            if not (plan.get("upgrade") or plan.get("install") or plan.get("remove")):
                self.result["plan"] = plan
                self.step("plan", t)
                self._restarts()
                self.result["mu_after"] = self.result["mu_before"]
                self.result["reboot_required"] = self._reboot_required()
                return
        originals = dict((path, files.file_state(path)) for path in changed_files)
        try:
            for path in changed_files:
                files.makedirs(os.path.dirname(path))
                files.atomic_write(path, wanted[path], 0o644)
            backend.refresh()
            if interrupted:
                self.save_state(backend, status, target)
                backend.finish_interrupted()
                self.result["finished_interrupted"] = True
            plan = backend.plan()
            self.result["plan"] = plan
            self._refuse_removals(plan)
        except Exception:
            if not self.result.get("finished_interrupted"):
                # nothing was installed: the repository files go back to what they were
                for path, (data, mode) in originals.items():
                    if data is None:
                        if os.path.lexists(path):
                            os.unlink(path)
                    else:
                        files.atomic_write(path, data, mode)
            raise
        if changed_files:
            self.result["changed"] = True
        pending = bool(plan.get("upgrade") or plan.get("install"))
        self.step("plan", t)

        if pending:
            t = self.clock()
            self.save_state(backend, status, target, plan)
            self.step("save state", t)
            t = self.clock()
            tx_start = self.clock()
            backend.transaction()
            self.result["transaction_seconds"] = round(self.clock() - tx_start, 2)
            self.result["changed"] = True
            self.step("transaction", t)
        if pending or interrupted:
            # verification with the package database itself
            t = self.clock()
            after = backend.installed()
            half = backend.half_configured(after)
            if half:
                raise StepFailed("verification", "packages left half-configured: %s" % ", ".join(half),
                                 half_configured=half)
            wrong = ["%s (%s, expected %s)" % (e["name"], after.get(e["name"], {}).get("version", "missing"),
                                               e["to"])
                     for e in plan["upgrade"] + plan["install"]
                     if backend.name == "apt" and after.get(e["name"], {}).get("version") != e["to"]]
            if wrong:
                raise StepFailed("verification", "packages not at the planned version: %s" % ", ".join(wrong))
            self.step("verification", t)

        self._restarts()

        # the record, then the node's last run
        t = self.clock()
        if available is not None and not mu_done:
            record = dict(available, installed_at=round(self.clock(), 3))
            files.makedirs(os.path.dirname(p["record_path"]))
            files.atomic_write(p["record_path"], files.dumps_json(record), 0o644)
            if p["fact_path"]:
                files.makedirs(os.path.dirname(p["fact_path"]))
                files.atomic_write(p["fact_path"], files.dumps_json({"installed": record}), 0o644)
            self.result["changed"] = True
            self.result["mu_after"] = record["id"]
        else:
            self.result["mu_after"] = self.result["mu_before"]
        self.result["reboot_required"] = self._reboot_required()
        self.step("record", t)

    def _restarts(self):
        """Exactly the services running replaced files, in order, each with its status and health checks."""
        t = self.clock()
        services = stale_services(self.p["service_map"])
        by_name = dict((s["name"], s) for s in services)
        for name in order_restarts(services, self.p["restart_order"]):
            if self.check_mode:
                self.result["would_restart"].append(name)
                continue
            self.restart(by_name[name])
            self.result["restarted"].append(name)
            self.result["changed"] = True
        self.step("restarts", t)

    def _refuse_removals(self, plan):
        if plan.get("remove") and not self.p["allow_removals"]:
            raise StepFailed("simulation", "the update would remove %s; refused (allow_removals: false)%s"
                             % (", ".join(r["name"] for r in plan["remove"]),
                                "" if self.check_mode else "; no package changed, the repository files were "
                                "put back"))

    def save_state(self, backend, status, target, plan=None):
        """The package list and the modified packaged files before the first attempt at this MU (kept once).

        With a plan, only the packages the update replaces are verified: their locally modified files are
        the ones the update could touch (a whole-system verify hashes every installed file).
        """
        listing = os.path.join(self.p["state_dir"], "packages-before-mu%s.txt" % target)
        if os.path.exists(listing):
            return
        names = sorted(e["name"] for e in plan.get("upgrade", []) + plan.get("remove", [])) if plan else None
        modified = backend.verify(names)
        self.result["modified_files"] = modified
        files.create_exclusive(os.path.join(self.p["state_dir"], "modified-before-mu%s.txt" % target),
                               "".join(m + "\n" for m in modified), 0o644)
        files.create_exclusive(listing, backend.package_list(status), 0o644)

    def _plan_paths(self, plan):
        names = [e["name"] for e in plan.get("upgrade", []) + plan.get("remove", [])]
        if not names:
            return []
        if self.p["package_manager"] != "rpm" and self.runner.binary("dpkg-query", required=False):
            rc, out, _err = self.runner.run(["dpkg-query", "-L"] + names)
        else:
            rc, out, _err = self.runner.run(["rpm", "-ql"] + names)
        return [line.strip() for line in out.splitlines() if line.startswith("/")] if rc in (0, 1) else []

    def _retry(self, what, attempt):
        problem = None
        for number in range(self.p["health_retries"]):
            problem = attempt()
            if problem is None:
                return
            if number + 1 < self.p["health_retries"]:
                self.sleep(self.p["health_delay"])
        raise StepFailed("health check", "%s: %s (after %d attempts)" % (what, problem, self.p["health_retries"]))

    def restart(self, entry):
        name = entry["name"]
        if entry["manager"] == "map":
            entry = dict(entry, manager="systemd" if os.path.isdir("/run/systemd/system") else "sysv")
        rc, out, err = self.runner.run(restart_argv(entry, "restart"), changes=True)
        if rc != 0:
            raise StepFailed("restart", "%s: restart failed (rc %d): %s" % (name, rc, tail(out + "\n" + err, 5)),
                             service=name)

        def status():
            rc, out, err = self.runner.run(restart_argv(entry, "status"))
            return None if rc == 0 else "not running after the restart (rc %d) %s" % (rc, tail(out + err, 3))
        self._retry(name, status)
        for check in self.p["health_checks"].get(name, []):
            if check.get("command"):
                self._retry("%s health command" % name, self._command_check(list(check["command"])))
            if check.get("url"):
                url, code = check["url"], int(check.get("status", 200))
                self._retry("%s health URL %s" % (name, url), lambda url=url, code=code: self.url_check(url, code))

    def _command_check(self, argv):
        def command():
            rc, out, err = self.runner.run(argv)
            return None if rc == 0 else "%s exited %d: %s" % (" ".join(argv), rc, tail(out + err, 3))
        return command

    def _reboot_required(self):
        running = os.uname()[2]
        needed, _newest = nr.reboot_needed(running, nr.installed_kernels("/"))
        return bool(needed or os.path.exists("/run/reboot-required"))


def last_run(result, owner, run_id):
    """What /var/lib/fuel-lifecycle/mu/last-run.json keeps of a run."""
    keep = ("mu_before", "mu_after", "mu_target", "started_at", "finished_at", "transaction_seconds", "restarted",
            "reboot_required", "modified_files", "plan", "steps", "failed_step", "reason", "half_configured",
            "package_manager", "lock_waited_seconds")
    data = dict((key, result.get(key)) for key in keep)
    data["outcome"] = "failed" if result.get("failed_step") else "ok"
    data["owner"] = owner
    data["run_id"] = run_id
    return data
