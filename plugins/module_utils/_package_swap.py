# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Package swaps: replace packages whose names differ upstream, all in one transaction.

Validation, the state of each swap, the three backends and the parsing of
their output:

* apt: ``apt-get --simulate install new old-`` for the plan, then the same call
  for real;
* yum (EL6/EL7, yum 3 on Python 2.7): a ``yum shell`` script (``remove``,
  ``install``, ``run``); ``--assumeno`` resolves and prints the plan;
* dnf (EL8+, platform-python 3.6+): the dnf Python API, one resolve, one
  transaction.

Every backend resolves first and refuses, before any change and in check mode
too, a plan that does not install every requested package or does not remove
every package it must remove (``plan_problem``): ``yum shell`` and ``dnf shell``
skip an ``install`` of a package no repository has and still run the removals.

Commands go through a callable ``run(argv, changes=False) -> (rc, out, err)``
(``_runner.CommandRunner.run`` on the node, recorded output in unit tests).

Node Python 2.7 and 3.6+.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import tempfile

try:
    TEXT_TYPES = (str, unicode)  # noqa: F821 pylint: disable=undefined-variable
except NameError:
    TEXT_TYPES = (str,)

MAX_NAME = 200
_NAME = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9+._-]*\Z")
_APT_SPEC = re.compile(r"\A([a-z0-9][a-z0-9+.-]+)(?:=([A-Za-z0-9.+~:_-]+))?\Z")
_RPM_SPEC = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9+._-]*(?:-[0-9][A-Za-z0-9.+~^_:-]*)?\Z")
_REPO_ID = re.compile(r"\A[A-Za-z0-9*?_.:@+\[\]-]+\Z")
EMPTY_PLAN = {"removed": [], "installed": [], "upgraded": [], "downgraded": []}
INSTALL_KINDS = ("installed", "upgraded", "downgraded")


class SwapError(ValueError):
    """Invalid input or an unresolvable swap; the message names the field or the package."""

    def __init__(self, message, plan=None, cmd=None, applied=False):
        ValueError.__init__(self, message)
        self.plan = plan
        self.cmd = cmd
        # raised once the transaction ran (or was running): the package database may have changed
        self.applied = applied
        self.changed = False
        self.packages = None


def empty_plan():
    return dict((key, []) for key in EMPTY_PLAN)


# input ------------------------------------------------------------------------

def _check_item(item, pattern, where):
    if not isinstance(item, TEXT_TYPES) or len(item) > MAX_NAME or not pattern.match(item):
        raise SwapError("%s: invalid package %r" % (where, item if isinstance(item, TEXT_TYPES) else
                                                    type(item).__name__))
    return item


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
        unknown = sorted("%s" % (key,) for key in swap if key not in ("remove", "install"))
        if unknown:
            raise SwapError("%s: unknown field(s) %s (use remove, install)" % (where, ", ".join(unknown)))
        clean = {}
        for field in ("remove", "install"):
            items = swap.get(field) or []
            if isinstance(items, TEXT_TYPES):
                items = [items]
            if not isinstance(items, list):
                raise SwapError("%s.%s: must be a list of package names" % (where, field))
            for item in items:
                _check_item(item, spec if field == "install" else _NAME, "%s.%s" % (where, field))
                name = spec_name(item, manager) if field == "install" else item
                if name in seen:
                    raise SwapError("%s.%s: package %s already appears in %s" % (where, field, name, seen[name]))
                seen[name] = "%s.%s" % (where, field)
            clean[field] = [str(item) for item in items]
        if not clean["remove"] and not clean["install"]:
            raise SwapError("%s: needs a remove or an install list" % where)
        result.append(clean)
    return result


def validate_repos(repos, field):
    """Repository ids (globs allowed) for --enablerepo/--disablerepo: no option injection, no spaces."""
    if not isinstance(repos, list):
        raise SwapError("%s: must be a list of repository ids" % field)
    for index, repo in enumerate(repos):
        if not isinstance(repo, TEXT_TYPES) or len(repo) > MAX_NAME or not _REPO_ID.match(repo):
            raise SwapError("%s[%d]: invalid repository id %r" % (field, index, repo))
    return [str(repo) for repo in repos]


def spec_name(spec, manager):
    """Package name of an install spec (apt ``name=version``; rpm ``name`` or ``name-version``)."""
    if manager == "apt":
        return spec.split("=", 1)[0]
    match = re.match(r"\A(.*?)-([0-9][^-]*(?:-[^-]+)?)\Z", spec)
    return match.group(1) if match else spec


def spec_version(spec, manager):
    """Version asked by an install spec, or None."""
    if manager == "apt":
        return spec.split("=", 1)[1] if "=" in spec else None
    match = re.match(r"\A(.*?)-([0-9][^-]*(?:-[^-]+)?)\Z", spec)
    return match.group(2) if match else None


def involved_names(swaps, manager):
    names = set()
    for swap in swaps:
        names.update(swap["remove"])
        names.update(spec_name(item, manager) for item in swap["install"])
    return sorted(names)


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


def _version_matches(wanted, version):
    if wanted is None:
        return True
    version = version or ""
    bare = version.split(":", 1)[1] if re.match(r"\A[0-9]+:", version) else version
    for candidate in (version, bare):
        if candidate == wanted or candidate.startswith(wanted + "-"):
            return True
    return False


def plan_problem(plan, remove, install, manager):
    """Why a resolved plan does not do the swap (a requested package not installed or not removed), or None."""
    installs = {}
    for kind in INSTALL_KINDS:
        for entry in plan.get(kind, []):
            installs[entry["name"]] = entry.get("version")
    removed = set(entry["name"] for entry in plan.get("removed", []))
    problems = []
    for spec in install:
        name = spec_name(spec, manager)
        if name not in installs:
            problems.append("%s is requested but the resolved transaction does not install it" % spec)
        elif not _version_matches(spec_version(spec, manager), installs[name]):
            problems.append("%s is requested but the resolved transaction installs %s %s"
                            % (spec, name, installs[name]))
    for name in remove:
        if name not in removed:
            problems.append("%s is to be removed but the resolved transaction does not remove it" % name)
    if problems:
        return "; ".join(problems)
    return None


def refuse_incomplete(plan, remove, install, manager, argv=None, detail=""):
    problem = plan_problem(plan, remove, install, manager)
    if problem:
        raise SwapError("swaps: the swap does not resolve; nothing was changed: %s%s"
                        % (problem, (" (%s)" % detail) if detail else ""), plan=plan, cmd=argv)


def refuse_downgrades(plan, allow_downgrade):
    if plan["downgraded"] and not allow_downgrade:
        raise SwapError("allow_downgrade: the swap would downgrade %s; set allow_downgrade=true to allow it; "
                        "nothing was changed"
                        % ", ".join("%s to %s" % (p["name"], p["version"]) for p in plan["downgraded"]), plan=plan)


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


def installed_versions(run, manager, names):
    """name -> version of the installed ones among ``names``, read from rpm / dpkg-query."""
    argv = dpkg_query_argv(names) if manager == "apt" else rpm_query_argv(names)
    rc, out, err = run(argv)
    # rpm -q exits with the number of packages not installed, dpkg-query with 1 for unknown names.
    if rc < 0 or rc > len(names) or (manager != "apt" and err.strip()):
        raise SwapError("cannot read the package database (%s, rc %s): %s" % (argv[0], rc, err.strip()),
                        cmd=argv)
    return parse_installed(out, manager)


def state_lines(installed, names):
    """Diff text: one 'name version' line per involved package, absent ones marked."""
    return "".join("%s %s\n" % (name, installed.get(name, "(not installed)")) for name in sorted(set(names)))


def planned_state(before, plan):
    planned = dict(before)
    for entry in plan["removed"]:
        planned.pop(entry["name"], None)
    for kind in INSTALL_KINDS:
        for entry in plan[kind]:
            planned[entry["name"]] = entry["version"]
    return planned


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
    # Imported here: only the apt path needs Debian version comparison.
    from ansible_collections.fuel.lifecycle.plugins.module_utils._versions import (  # pylint: disable=import-outside-toplevel
        VersionError, deb_compare)
    plan = empty_plan()
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


def run_apt(run, remove, install, check_mode, allow_downgrade=False, update_cache=False):
    """Plan with --simulate, refuse an incomplete or downgrading plan, then one real apt-get call."""
    # Refreshing the lists changes no package, so check mode refreshes too: the plan must see the repositories.
    if update_cache:
        argv = ["apt-get", "update", "-q"]
        rc, out, err = run(argv)
        if rc != 0:
            raise SwapError("update_cache: apt-get update failed; nothing was changed: %s" % apt_problem(out, err),
                            cmd=argv)
    argv = apt_argv(remove, install, simulate=True, allow_downgrade=True)
    rc, out, err = run(argv)
    if rc != 0:
        raise SwapError("swaps: the swap does not resolve; nothing was changed: %s" % apt_problem(out, err), cmd=argv)
    plan = parse_apt_simulation(out)
    refuse_incomplete(plan, remove, install, "apt", argv)
    refuse_downgrades(plan, allow_downgrade)
    if check_mode:
        return plan
    argv = apt_argv(remove, install, simulate=False, allow_downgrade=allow_downgrade)
    rc, out, err = run(argv, changes=True)
    if rc != 0:
        raise SwapError("apt-get failed during the swap: %s" % apt_problem(out, err), plan=plan, cmd=argv,
                        applied=True)
    return plan


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
                 "Upgrading": "upgraded", "Downgrading": "downgraded", "Installing for dependencies": "installed",
                 "Installing dependencies": "installed", "Removing for dependencies": "removed",
                 "Removing dependent packages": "removed", "Removing unused dependencies": "removed",
                 "Updating for dependencies": "upgraded", "Installing weak dependencies": "installed"}
_YUM_MISSING = re.compile(r"^(?:No package (\S+) available\.|No match for argument:? (\S+))")


def parse_yum_transaction(text):
    """Plan from the transaction table of yum 3 (and of dnf, which prints the same table)."""
    plan = empty_plan()
    section = None
    wrapped = None
    for line in text.splitlines():
        header = line.strip().rstrip(":")
        if header in _YUM_SECTIONS:
            section = _YUM_SECTIONS[header]
            continue
        if line.strip() and not line.startswith(" ") and line.rstrip().endswith(":"):
            # Another table section ("Skipping packages with broken dependencies:", "Installing
            # weak dependencies:" of a newer tool...): its rows are not part of the plan we know.
            section = None
            wrapped = None
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


def yum_missing(text):
    """Packages yum/dnf shell said it could not find ('No package X available.', 'No match for argument: X')."""
    found = []
    for line in text.splitlines():
        match = _YUM_MISSING.match(line.strip())
        if match:
            found.append(match.group(1) or match.group(2))
    return found


def run_yum(run, remove, install, check_mode, enable_repos=(), disable_repos=(), allow_downgrade=False,
            tmpdir=None):
    """``yum --assumeno shell`` for the plan, refusal of an incomplete plan, then ``yum -y shell``."""
    fd, script = tempfile.mkstemp(prefix="package-swap-", suffix=".yumshell", dir=tmpdir)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(yum_shell_script(remove, install))
        # --assumeno resolves and prints the transaction, then stops: the plan, nothing changed.
        argv = yum_argv(script, enable_repos, disable_repos, assumeno=True)
        _rc, out, err = run(argv)
        plan = parse_yum_transaction(out)
        missing = yum_missing(out + "\n" + err)
        if not any(plan.values()) and not missing:
            raise SwapError("swaps: the swap does not resolve; nothing was changed: %s"
                            % (err.strip() or out.strip() or "yum printed no transaction"), plan=plan, cmd=argv)
        refuse_incomplete(plan, remove, install, "yum", argv,
                          ("yum: no package %s available" % ", ".join(missing)) if missing else "")
        refuse_downgrades(plan, allow_downgrade)
        if check_mode:
            return plan
        argv = yum_argv(script, enable_repos, disable_repos, assumeno=False)
        rc, out, err = run(argv, changes=True)
        if rc != 0:
            raise SwapError("yum shell failed during the swap: %s" % (err.strip() or out.strip()), plan=plan,
                            cmd=argv, applied=True)
        return plan
    finally:
        os.unlink(script)


# dnf API (EL8+: platform-python 3.6) ---------------------------------------

_DNF_KINDS = {"Install": "installed", "Upgrade": "upgraded", "Downgrade": "downgraded", "Removed": "removed",
              "Erase": "removed", "Remove": "removed", "Obsoleted": "removed", "Reinstall": "installed"}


def dnf_plan(base):
    plan = empty_plan()
    for item in base.transaction:
        kind = _DNF_KINDS.get(item.action_name)
        if kind:
            plan[kind].append({"name": item.pkg.name, "version": item.pkg.evr})
    return plan


def dnf_available():
    """Whether the dnf Python bindings import on this interpreter."""
    try:
        import dnf  # noqa: F401 pylint: disable=import-outside-toplevel,unused-import
    except ImportError:
        return False
    return True


def run_dnf(remove, install, check_mode, enable_repos=(), disable_repos=(), allow_downgrade=False, dnf=None):
    """One dnf Base: mark removals and installs, one resolve, refusal of an incomplete plan, one transaction."""
    if dnf is None:
        import dnf  # pylint: disable=import-outside-toplevel,redefined-outer-name
        import dnf.exceptions  # noqa: F401 pylint: disable=import-outside-toplevel
        import dnf.rpm  # noqa: F401 pylint: disable=import-outside-toplevel
    base = dnf.Base()
    try:
        base.conf.read()
        base.conf.assumeyes = True
        base.conf.substitutions.update_from_etc(base.conf.installroot)
        releasever = dnf.rpm.detect_releasever(base.conf.installroot)
        if releasever:
            base.conf.releasever = releasever
        elif base.conf.substitutions.get("releasever") is None:
            # No release package (dnf on a foreign userland): repositories must not use $releasever.
            base.conf.substitutions.pop("releasever", None)
        base.read_all_repos()
        for pattern in disable_repos:
            for repo in base.repos.get_matching(pattern):
                repo.disable()
        for pattern in enable_repos:
            matching = base.repos.get_matching(pattern)
            if not matching:
                raise SwapError("enable_repos: no repository matches %r" % pattern)
            for repo in matching:
                repo.enable()
        base.fill_sack(load_system_repo=True, load_available_repos=True)
        for name in remove:
            try:
                base.remove(name)
            except dnf.exceptions.MarkingError:
                raise SwapError("swaps: package %s is not installed; nothing was changed" % name)
        for spec in install:
            try:
                base.install(spec)
            except dnf.exceptions.MarkingError:
                raise SwapError("swaps: package %s is in no enabled repository; nothing was changed" % spec)
        base.resolve(allow_erasing=True)
        plan = dnf_plan(base)
        refuse_incomplete(plan, remove, install, "dnf")
        refuse_downgrades(plan, allow_downgrade)
        if check_mode:
            return plan
        packages = list(base.transaction.install_set)
        base.download_packages(packages)
        for package in packages:
            code, message = base.package_signature_check(package)
            if code == 1:
                base.package_import_key(package, askcb=lambda *_args: True)
            elif code != 0:
                raise SwapError("signature check failed for %s: %s; nothing was changed" % (package, message),
                                plan=plan)
        base.do_transaction()
        return plan
    except dnf.exceptions.DepsolveError as exc:
        raise SwapError("swaps: the swap does not resolve; nothing was changed: %s" % exc)
    except dnf.exceptions.Error as exc:
        raise SwapError("dnf failed during the swap: %s" % exc, applied=True)
    finally:
        base.close()


# the module -------------------------------------------------------------------

def detect_manager(wanted, has_binary, dnf_importable=dnf_available):
    """Backend name: ``wanted`` unless auto/rpm; ``has_binary(name)`` tells whether a command exists."""
    if wanted == "rpm":
        wanted = "auto" if has_binary("dnf") or has_binary("yum") else "rpm"
    if wanted == "rpm":
        raise SwapError("package_manager: rpm hosts need dnf or yum to swap packages; neither is installed")
    if wanted != "auto":
        return wanted
    if dnf_importable():
        return "dnf"
    if has_binary("yum"):
        return "yum"
    if has_binary("apt-get"):
        return "apt"
    raise SwapError("package_manager: none of dnf (Python bindings), yum or apt-get found on the host")


def swap(params, run, check_mode, diff, has_binary, dnf_module=None, dnf_importable=dnf_available, tmpdir=None):
    """The whole module: validate, read the package database, plan, refuse, apply, re-read, verify.

    Returns the result dict; raises SwapError (with .plan / .cmd when known) on refusal or failure.
    """
    manager = detect_manager(params["package_manager"], has_binary, dnf_importable)
    swaps = validate_swaps(params["swaps"], manager)
    enable_repos = validate_repos(params.get("enable_repos") or [], "enable_repos")
    disable_repos = validate_repos(params.get("disable_repos") or [], "disable_repos")
    names = involved_names(swaps, manager)
    before = installed_versions(run, manager, names)
    states = swap_states(swaps, before, manager)
    for state in states:
        state["reason"] = explain(state)
    remove, install = transaction_lists(states)
    result = {"changed": False, "package_manager": manager, "swaps": states, "plan": empty_plan()}
    if not remove and not install:
        return result
    try:
        return _apply(params, run, check_mode, diff, result, swaps, before, names, manager, remove, install,
                      enable_repos, disable_repos, dnf_module, tmpdir)
    except SwapError as exc:
        _backend_failed(exc, run, manager, names, before)
        raise


def _apply(params, run, check_mode, diff, result, swaps, before, names, manager, remove, install, enable_repos,
           disable_repos, dnf_module, tmpdir):
    if manager == "apt":
        plan = run_apt(run, remove, install, check_mode, params.get("allow_downgrade", False),
                       params.get("update_cache", False))
    elif manager == "yum":
        plan = run_yum(run, remove, install, check_mode, enable_repos, disable_repos,
                       params.get("allow_downgrade", False), tmpdir)
    else:
        plan = run_dnf(remove, install, check_mode, enable_repos, disable_repos, params.get("allow_downgrade", False),
                       dnf_module)
    return _finish(result, plan, swaps, before, names, manager, run, check_mode, diff)


def _backend_failed(exc, run, manager, names, before):
    """A backend failed once the transaction ran: read the database again to tell what changed."""
    if exc.applied and exc.packages is None:
        try:
            after = installed_versions(run, manager, names)
        except SwapError:
            return
        exc.changed = after != before
        exc.packages = state_lines(after, names)


def _finish(result, plan, swaps, before, names, manager, run, check_mode, diff):
    result["plan"] = plan
    result["changed"] = True
    if check_mode:
        after = planned_state(before, plan)
    else:
        after = installed_versions(run, manager, names)
        left = [s for s in swap_states(swaps, after, manager) if s["state"] != "done"]
        if left:
            error = SwapError("the transaction ran but swaps are not complete (package database re-read): %s"
                              % "; ".join("remove %s install %s: %s" % (s["remove"], s["install"], s["state"])
                                          for s in left), plan=plan, applied=True)
            error.changed = after != before
            error.packages = state_lines(after, names)
            raise error
    if diff:
        result["diff"] = {"before_header": "packages", "after_header": "packages",
                          "before": state_lines(before, names), "after": state_lines(after, names)}
    return result
