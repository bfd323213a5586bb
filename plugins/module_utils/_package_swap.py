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


# yum shell (EL6/EL7) --------------------------------------------------------

def yum_shell_script(remove, install):
    """The script fed to ``yum shell``: every removal and install, then one ``run``."""
    lines = ["remove %s" % name for name in remove] + ["install %s" % spec for spec in install]
    return "\n".join(lines + ["run", ""])


def yum_argv(enable_repos, disable_repos, assumeno):
    """``yum shell`` reading its script on stdin; --assumeno resolves and prints the plan only."""
    argv = ["yum", "--assumeno" if assumeno else "-y"]
    argv += ["--disablerepo=%s" % repo for repo in disable_repos]
    argv += ["--enablerepo=%s" % repo for repo in enable_repos]
    return argv + ["shell"]


_YUM_LINE = re.compile(r"^ (\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+\S+")
_YUM_WRAPPED = re.compile(r"^ (\S+)$")
_YUM_SECTIONS = {"Installing": "installed", "Removing": "removed", "Erasing": "removed",
                 "Updating": "upgraded", "Upgrading": "upgraded", "Downgrading": "downgraded",
                 "Reinstalling": "installed", "Installing for dependencies": "installed",
                 "Removing for dependencies": "removed", "Updating for dependencies": "upgraded",
                 "Upgrading for dependencies": "upgraded"}


def parse_yum_transaction(text):
    """Plan from yum's 'Dependencies Resolved' table (long names wrap onto the next line)."""
    plan = empty_plan()
    section = None
    wrapped = None
    for line in text.splitlines():
        header = line.strip().rstrip(":")
        if line.endswith(":") and header in _YUM_SECTIONS:
            section = _YUM_SECTIONS[header]
            continue
        if line.startswith("Transaction Summary"):
            section = None
            continue
        if not section:
            continue
        if wrapped is not None:
            line = " " + wrapped + " " + line.strip()
            wrapped = None
        match = _YUM_LINE.match(line)
        if match:
            name, dummy_arch, version, dummy_repo = match.groups()
            plan[section].append({"name": name, "version": version})
            continue
        match = _YUM_WRAPPED.match(line)
        if match:
            wrapped = match.group(1)
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


# planning shared by every backend ------------------------------------------

def empty_plan():
    return {"removed": [], "installed": [], "upgraded": [], "downgraded": []}


def plan_downgrades(plan):
    return ["%s %s -> %s" % (item["name"], item.get("from", "?"), item["version"]) for item in plan["downgraded"]]


def detect_manager(wanted, has_binary, has_dnf_python):
    """Pick the backend: an explicit choice wins; rpm = dnf or yum; auto prefers dnf, yum, then apt."""
    if wanted in ("dnf", "yum", "apt"):
        return wanted
    order = ["dnf", "yum"] if wanted == "rpm" else ["dnf", "yum", "apt"]
    for name in order:
        if name == "dnf" and (has_dnf_python or has_binary("dnf")):
            return "dnf"
        if name == "yum" and has_binary("yum") and not has_binary("dnf"):
            return "yum"
        if name == "apt" and has_binary("apt-get"):
            return "apt"
    raise SwapError("package_manager: no %s found on the host" % ("dnf or yum" if wanted == "rpm" else "dnf, yum or apt-get"))


# dnf (Python API, one resolve + one transaction) ---------------------------

# libdnf's action names: the new package's action maps to a plan section, the
# replaced one's (Upgraded, Downgraded, Reinstalled) carries the old version.
_DNF_ACTIONS = {"install": "installed", "removed": "removed", "remove": "removed", "upgrade": "upgraded",
                "downgrade": "downgraded", "reinstall": "installed", "obsolete": "installed",
                "obsoleted": "removed"}
_DNF_REPLACED = ("upgraded", "downgraded", "reinstalled")


def _nevr(pkg):
    evr = "%s-%s" % (pkg.version, pkg.release)
    return ("%s:%s" % (pkg.epoch, evr)) if pkg.epoch else evr


def dnf_transaction(remove, install, enable_repos, disable_repos, check, allow_downgrade, gpgcheck=True):
    """Remove and install in ONE dnf transaction through the dnf Python API.

    Returns the plan; in check mode resolves only. Raises SwapError before
    anything changes when a package is in no repository or the set does not resolve.
    """
    import dnf  # pylint: disable=import-error,import-outside-toplevel
    import dnf.exceptions  # pylint: disable=import-error,import-outside-toplevel

    base = dnf.Base()
    try:
        base.conf.read()
        if base.conf.substitutions.get("releasever") is None:
            # No release package to detect it from (as dnf's command line does: leave $releasever as is).
            base.conf.substitutions.pop("releasever", None)
        base.conf.assumeyes = True
        base.conf.best = True
        base.read_all_repos()
        for pattern in disable_repos:
            base.repos.get_matching(pattern).disable()
        for pattern in enable_repos:
            matching = base.repos.get_matching(pattern)
            if not matching:
                raise SwapError("enable_repos: no repository matches %r" % pattern)
            matching.enable()
        try:
            base.fill_sack(load_system_repo=True, load_available_repos=True)
        except dnf.exceptions.Error as exc:
            raise SwapError("repositories: cannot load metadata: %s" % exc) from exc
        for name in remove:
            try:
                base.remove(name)
            except dnf.exceptions.Error as exc:
                raise SwapError("remove %s: %s" % (name, exc)) from exc
        for spec in install:
            try:
                if allow_downgrade and base.sack.query().installed().filter(name=spec_name(spec, "dnf")):
                    base.downgrade_to(spec)
                else:
                    base.install(spec, strict=True)
            except dnf.exceptions.Error as exc:
                raise SwapError("install %s: no package matches in the enabled repositories (%s)" % (spec, exc)) from exc
        try:
            base.resolve(allow_erasing=False)
        except dnf.exceptions.Error as exc:
            raise SwapError("the swap does not resolve: %s" % exc) from exc
        plan = dnf_plan([(str(item.action_name).lower(), item.pkg.name, _nevr(item.pkg))
                         for item in base.transaction])
        if plan["downgraded"] and not allow_downgrade:
            raise SwapError("the swap would downgrade %s; set allow_downgrade to accept" %
                            ", ".join(d["name"] for d in plan["downgraded"]))
        if check:
            return plan
        if base.transaction.install_set:
            base.download_packages(list(base.transaction.install_set))
            if gpgcheck:
                for pkg in base.transaction.install_set:
                    _dnf_verify(base, pkg)
        base.do_transaction()
        return plan
    finally:
        base.close()


def dnf_plan(items):
    """Plan from (action name, package name, version) triples of a resolved dnf transaction."""
    plan = empty_plan()
    old = {name: version for action, name, version in items if action in _DNF_REPLACED}
    for action, name, version in items:
        kind = _DNF_ACTIONS.get(action)
        if kind:
            entry = {"name": name, "version": version}
            if kind in ("upgraded", "downgraded") and name in old:
                entry["from"] = old[name]
            plan[kind].append(entry)
    return plan


def _dnf_verify(base, pkg):
    code, message = base.package_signature_check(pkg)
    if code == 1:
        # Key not imported yet: import the repository's gpgkey (as dnf -y does), then check again.
        base.package_import_key(pkg, askcb=lambda *args: True, fullaskcb=lambda *args: True)
        code, message = base.package_signature_check(pkg)
    if code != 0:
        raise SwapError("signature check failed for %s: %s" % (pkg, message))


def planned_state(installed, plan):
    """Installed name -> version after a plan (for the check-mode diff)."""
    state = dict(installed)
    for item in plan["removed"]:
        state.pop(item["name"], None)
    for kind in ("installed", "upgraded", "downgraded"):
        for item in plan[kind]:
            state[item["name"]] = item["version"]
    return state
