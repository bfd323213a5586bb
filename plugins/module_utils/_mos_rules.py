# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Vendor version-string rules and the no-downgrade check along a release progression.

Rules (deb revision or rpm release alike), for packages the vendor builds:

* the revision of a modified, vendor-specific, downgraded, upgraded or regressed
  package starts ``0mos``: ``0mosN`` (N >= 1) for a release before GA,
  ``0mosN+mosX.Y+M`` (N >= 0, M >= 1) for an update channel or maintenance
  release of series X.Y;
* upgraded and regressed packages carry ``~mosX.Y`` at the end of the upstream
  version; the other categories carry no suffix there;
* no base-OS vendor trademark anywhere in the string;
* upstream packages (taken as the OS publishes them) have no rules.

Every version must also be >= the versions of the same package in all earlier
releases of the progression (``find_downgrades``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ._versions import VersionError, deb_compare, rpm_compare

CATEGORIES = ("upstream", "modified", "specific", "downgraded", "upgraded", "regressed")
CHANNELS = ("ga", "updates")
DEFAULT_TRADEMARKS = ("ubuntu", "debian", "centos", "redhat", "rhel", "fedora", "suse")
DEFAULT_PROGRESSION = ("6.0", "6.0.1", "6.1", "6.1.1", "6.1-updates", "7.0")

_SERIES = re.compile(r"^[0-9]+\.[0-9]+$")
_GA_REVISION = re.compile(r"^0mos([1-9][0-9]*)$")
_UPDATES_REVISION = re.compile(r"^0mos([0-9]+)\+mos([0-9]+\.[0-9]+)\+([1-9][0-9]*)$")
_MOS_SUFFIX = re.compile(r"~mos([0-9]+\.[0-9]+)$")


class RuleError(ValueError):
    """Bad arguments to a rule check (unknown category, malformed series)."""


def split_version(version):
    """'[epoch:]upstream[-revision]' -> (epoch or '', upstream, revision or '')."""
    if not isinstance(version, str) or not version.strip():
        raise RuleError("version: must be a non-empty string, got %r" % (version,))
    epoch, rest = "", version.strip()
    if re.match(r"^[0-9]+:", rest):
        epoch, rest = rest.split(":", 1)
    upstream, sep, revision = rest.rpartition("-")
    if not sep:
        return epoch, rest, ""
    return epoch, upstream, revision


def version_problems(version, category, series=None, channel="ga", trademarks=DEFAULT_TRADEMARKS):
    """Every rule the version breaks for its category, as sentences (empty list: valid).

    ``series`` (``X.Y``) is the release series the build targets; when given,
    the ``~mosX.Y`` and ``+mosX.Y+N`` parts must name it. ``channel`` is ``ga``
    (builds before general availability) or ``updates`` (update channels and
    maintenance releases).
    """
    if category not in CATEGORIES:
        raise RuleError("category: %r is not one of %s" % (category, ", ".join(CATEGORIES)))
    if channel not in CHANNELS:
        raise RuleError("channel: %r is not one of %s" % (channel, ", ".join(CHANNELS)))
    if series is not None:
        series = str(series)
        if not _SERIES.match(series):
            raise RuleError("series: %r must look like X.Y (e.g. 6.1)" % series)
    dummy_epoch, upstream, revision = split_version(version)
    if category == "upstream":
        # Upstream packages are taken as the OS publishes them.
        return []
    problems = []
    lowered = version.lower()
    for mark in trademarks:
        if mark.lower() in lowered:
            problems.append("contains the OS vendor trademark %r" % mark)
    if "mos" not in lowered:
        problems.append("has no 'mos' keyword")
    if not revision:
        problems.append("has no revision; vendor builds need a '0mos' revision")
    elif channel == "ga":
        if not _GA_REVISION.match(revision):
            problems.append("revision %r: a build before GA has revision 0mosN (N >= 1)" % revision)
    else:
        match = _UPDATES_REVISION.match(revision)
        if not match:
            problems.append("revision %r: an update build has revision 0mosN+mosX.Y+M (M >= 1)" % revision)
        elif series and match.group(2) != series:
            problems.append("revision %r names series %s, the build targets %s" % (revision, match.group(2), series))
    suffix = _MOS_SUFFIX.search(upstream)
    if category in ("upgraded", "regressed"):
        if not suffix:
            problems.append("upstream version %r: a%s package ends with ~mosX.Y" % (
                upstream, "n upgraded" if category == "upgraded" else " regressed"))
        elif series and suffix.group(1) != series:
            problems.append("upstream version %r names series %s, the build targets %s" % (upstream, suffix.group(1), series))
    elif "~" in upstream or "mos" in upstream.lower():
        problems.append("upstream version %r: a %s package carries the software version without suffix" % (upstream, category))
    return problems


def _compare(kind):
    if kind == "deb":
        return deb_compare
    if kind == "rpm":
        return rpm_compare
    raise RuleError("kind: %r is not deb or rpm" % (kind,))


def highest(versions, kind):
    compare = _compare(kind)
    best = None
    for version in versions:
        if best is None:
            compare(version, version)  # validates the string
            best = version
        elif compare(version, best) > 0:
            best = version
    return best


def find_downgrades(releases, kind):
    """Downgrades along a progression.

    ``releases``: ordered list of ``(release name, {package: [versions]})``;
    a package's version in a release is the highest it offers. Each version must
    be >= every version of the package in all earlier releases. Returns dicts
    with package, version, release, previous_version, previous_release.
    """
    compare = _compare(kind)
    best = {}  # package -> (version, release) of the highest version seen so far
    downgrades = []
    for release, packages in releases:
        for package in sorted(packages):
            try:
                version = highest(packages[package], kind)
            except VersionError as exc:
                raise RuleError("%s: package %s: %s" % (release, package, exc))
            if version is None:
                continue
            seen = best.get(package)
            if seen and compare(version, seen[0]) < 0:
                downgrades.append({"package": package, "version": version, "release": release,
                                   "previous_version": seen[0], "previous_release": seen[1]})
                continue
            if not seen or compare(version, seen[0]) > 0:
                best[package] = (version, release)
    return downgrades
