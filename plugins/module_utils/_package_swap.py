# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Package swaps: replace packages whose names differ upstream, all in one transaction.

Plain Python: validation, the state of each swap, the yum shell script, and
the parsing of apt-get / yum output. The package-manager calls themselves
live in the backends below, each taking argv lists only.
"""

from __future__ import annotations

import re

from ansible_collections.fuel.lifecycle.plugins.module_utils._versions import VersionError, deb_compare

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9+._-]*$")
_APT_SPEC = re.compile(r"^([a-z0-9][a-z0-9+.-]+)(?:=([A-Za-z0-9.+~:_-]+))?$")
_RPM_SPEC = re.compile(r"^[A-Za-z0-9][A-Za-z0-9+._-]*(?:-[0-9][A-Za-z0-9.+~^_:-]*)?$")


class SwapError(ValueError):
    """Invalid input or an unresolvable swap; the message names the field."""


def validate_swaps(swaps, manager):
    """Normalise the swap list; raise SwapError naming swaps[i].field on bad input."""
    if not isinstance(swaps, list) or not swaps:
        raise SwapError("swaps: give at least one swap ({remove: [...], install: [...]})")
    spec = _APT_SPEC if manager == "apt" else _RPM_SPEC
    seen = {}
    result = []
    for index, swap in enumerate(swaps):
        where = "swaps[%d]" % index
        if not isinstance(swap, dict):
            raise SwapError("%s: must be a dict with remove and install lists" % where)
        unknown = sorted(set(swap) - {"remove", "install"})
        if unknown:
            raise SwapError("%s: unknown field(s) %s (use remove, install)" % (where, ", ".join(unknown)))
        clean = {}
        for field in ("remove", "install"):
            items = swap.get(field) or []
            if isinstance(items, str):
                items = [items]
            if not isinstance(items, list):
                raise SwapError("%s.%s: must be a list of package names" % (where, field))
            for item in items:
                if not isinstance(item, str) or not (spec if field == "install" else _NAME).match(item):
                    raise SwapError("%s.%s: invalid package %r" % (where, field, item))
                name = spec_name(item, manager) if field == "install" else item
                if name in seen:
                    raise SwapError("%s.%s: package %s already appears in %s" % (where, field, name, seen[name]))
                seen[name] = "%s.%s" % (where, field)
            clean[field] = list(items)
        if not clean["remove"] and not clean["install"]:
            raise SwapError("%s: needs a remove or an install list" % where)
        result.append(clean)
    return result


def spec_name(spec, manager):
    """Package name of an install spec (apt ``name=version``; rpm ``name`` or ``name-version``)."""
    if manager == "apt":
        return spec.split("=", 1)[0]
    match = re.match(r"^(.*?)-([0-9][^-]*(?:-[^-]+)?)$", spec)
    return match.group(1) if match else spec


def swap_states(swaps, installed, manager):
    """Classify each swap from the installed set (name -> version).

    done: nothing to remove is installed and everything to install is;
    pending: everything to remove is installed, nothing to install is;
    half_installed: both old and new are installed (a previous run stopped between steps);
    half_removed: neither is (the old was removed, the new never came).
    """
    states = []
    for swap in swaps:
        old = [n for n in swap["remove"] if n in installed]
        new = [s for s in swap["install"] if spec_name(s, manager) in installed]
        missing_new = [s for s in swap["install"] if spec_name(s, manager) not in installed]
        if not old and not missing_new:
            state = "done"
        elif old and not new:
            state = "pending"
        elif old and new:
            state = "half_installed"
        else:
            state = "half_removed"
        states.append({"remove": swap["remove"], "install": swap["install"], "state": state,
                       "to_remove": old, "to_install": missing_new})
    return states


def explain(state):
    return {
        "done": "already swapped",
        "pending": "old packages installed, new ones not: swap",
        "half_installed": "old and new packages both installed: remove the old ones",
        "half_removed": "neither old nor new packages installed: install the new ones",
    }[state["state"]]


def transaction_lists(states):
    remove, install = [], []
    for state in states:
        remove += state["to_remove"]
        install += state["to_install"]
    return remove, install


# apt ------------------------------------------------------------------------

_APT_INST = re.compile(r"^Inst (\S+) (?:\[(\S+)\] )?\((\S+)")
_APT_REMV = re.compile(r"^(?:Remv|Purg) (\S+)(?: \[(\S+)\])?")


def apt_argv(remove, install, simulate, allow_downgrade):
    argv = ["apt-get", "install", "-y", "-q", "--no-install-recommends",
            "-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold"]
    if simulate:
        argv.append("--simulate")
    if allow_downgrade:
        argv.append("--allow-downgrades")
    return argv + list(install) + ["%s-" % name for name in remove]


def parse_apt_simulation(text):
    """Plan from ``apt-get --simulate``: removed / installed / upgraded / downgraded with versions."""
    plan = {"removed": [], "installed": [], "upgraded": [], "downgraded": []}
    for line in text.splitlines():
        match = _APT_INST.match(line)
        if match:
            name, old, new = match.groups()
            if old is None:
                plan["installed"].append({"name": name, "version": new})
            else:
                try:
                    kind = "downgraded" if deb_compare(new, old) < 0 else "upgraded"
                except VersionError:
                    kind = "upgraded"
                plan[kind].append({"name": name, "from": old, "version": new})
            continue
        match = _APT_REMV.match(line)
        if match:
            plan["removed"].append({"name": match.group(1), "version": match.group(2)})
    return plan


def apt_problem(out, err):
    """apt-get's reason for refusing: the dependency lines of stdout plus the E: lines."""
    noise = ("Reading ", "Building ", "Calculating ", "Some packages could not", "requested an impossible",
             "or been moved out", "distribution that some", "The following information", "0 upgraded")
    lines = [line.strip() for line in (out + "\n" + err).splitlines() if line.strip()]
    return " ".join(line for line in lines if not line.startswith(noise))


# yum shell (EL6/EL7) --------------------------------------------------------

def yum_shell_script(remove, install):
    """The script fed to ``yum shell``: every removal and install, then one ``run``."""
    lines = ["remove %s" % name for name in remove] + ["install %s" % spec for spec in install]
    return "\n".join(lines + ["run", ""])


def yum_argv(script_path, enable_repos, disable_repos, assumeno):
    argv = ["yum", "-y" if not assumeno else "--assumeno"]
    argv += ["--disablerepo=%s" % repo for repo in disable_repos]
    argv += ["--enablerepo=%s" % repo for repo in enable_repos]
    return argv + ["shell", script_path]


_YUM_LINE = re.compile(r"^ (\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+\S+")
_YUM_NAME_ONLY = re.compile(r"^ (\S+)$")
_YUM_WRAPPED = re.compile(r"^\s+(\S+)\s+(\S+)\s+(\S+)\s+\S+")
_YUM_SECTIONS = {"Installing": "installed", "Removing": "removed", "Updating": "upgraded",
                 "Downgrading": "downgraded", "Installing for dependencies": "installed",
                 "Removing for dependencies": "removed", "Updating for dependencies": "upgraded"}


def parse_yum_transaction(text):
    """Plan from yum's 'Dependencies Resolved' table."""
    plan = {"removed": [], "installed": [], "upgraded": [], "downgraded": []}
    section = None
    wrapped = None
    for line in text.splitlines():
        header = line.strip().rstrip(":")
        if header in _YUM_SECTIONS:
            section = _YUM_SECTIONS[header]
            continue
        if section and line.startswith("Transaction Summary"):
            break
        if section and wrapped:
            # A long name is printed alone; its columns follow on the next line.
            match = _YUM_WRAPPED.match(line)
            if match:
                plan[section].append({"name": wrapped, "version": match.group(2)})
            wrapped = None
            continue
        match = _YUM_LINE.match(line)
        if section and match:
            name, _arch, version, _repo = match.groups()
            plan[section].append({"name": name, "version": version})
        elif section and _YUM_NAME_ONLY.match(line):
            wrapped = line.strip()
    return plan


# installed state ------------------------------------------------------------

def rpm_query_argv(names):
    return ["rpm", "-q", "--qf", "%{NAME}\t%{EPOCHNUM}:%{VERSION}-%{RELEASE}\n"] + list(names)


def dpkg_query_argv(names):
    return ["dpkg-query", "-W", "-f", "${Package}\t${Version}\t${db:Status-Status}\n"] + list(names)


def parse_installed(text, manager):
    """name -> version from rpm -q / dpkg-query output (lines of not-installed packages are ignored)."""
    installed = {}
    for line in text.splitlines():
        fields = line.split("\t")
        if manager == "apt":
            if len(fields) == 3 and fields[2] == "installed":
                installed[fields[0]] = fields[1]
        elif len(fields) == 2:
            version = fields[1][2:] if fields[1].startswith("0:") else fields[1]
            installed[fields[0]] = version
    return installed


def state_lines(installed, names):
    """Diff text: one 'name version' line per involved package, absent ones marked."""
    return "".join("%s %s\n" % (name, installed.get(name, "(not installed)")) for name in sorted(set(names)))
