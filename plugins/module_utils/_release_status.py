# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The release status's flagged package versions installed on a node.

One implementation for the node (``mu_version`` reads the status cached on the
node and the node's package database in the same module run) and the
controller (the ``release_status_flagged`` filter). Versions compare as
strings with an explicit zero epoch ignored (``0:1.0-1`` is ``1.0-1``), as
the node hooks compare them. Node Python 2.7 and 3.6+.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.fuel.lifecycle.plugins.module_utils import _files

try:
    TEXT_TYPES = (str, unicode)  # noqa: F821 pylint: disable=undefined-variable
except NameError:
    TEXT_TYPES = (str,)

MAX_STATUS_BYTES = 16 * 1024 * 1024
# package states in which dpkg has the package's files on disk
DPKG_PRESENT = ("installed", "half-configured", "unpacked", "half-installed", "triggers-awaited",
                "triggers-pending")


class StatusError(ValueError):
    """A status document or package database that cannot be read; the message names it."""


def normal(version):
    version = ("%s" % (version,)).strip()
    return version[2:] if version.startswith("0:") else version


def problems(status):
    """[(name, flagged versions, reason)] of a status document; StatusError names the bad entry."""
    if not isinstance(status, dict) or not isinstance(status.get("problem_packages", []), list):
        raise StatusError("status must be a status document with a problem_packages list")
    found = []
    for index, entry in enumerate(status.get("problem_packages", [])):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), TEXT_TYPES) \
                or not isinstance(entry.get("versions"), list):
            raise StatusError("problem_packages[%d] needs a name and a versions list" % index)
        found.append((entry["name"], set(normal(version) for version in entry["versions"]),
                      "%s" % (entry.get("reason", ""),)))
    return found


def flagged(installed, status):
    """Sorted ``{name, version, reason}`` of the installed versions (``{name: [version]}``) the status flags."""
    found = []
    for name, versions, reason in problems(status):
        for version in installed.get(name, []) or []:
            if normal(version) in versions:
                found.append({"name": name, "version": version, "reason": reason})
    return sorted(found, key=lambda item: (item["name"], item["version"]))


def read_status(path):
    """The status document cached at ``path``, None when there is none; StatusError when it is not one."""
    try:
        status = _files.read_json(path, dict, MAX_STATUS_BYTES)
    except _files.FileProblem as exc:
        raise StatusError(str(exc))
    if status is not None:
        problems(status)
    return status


def installed_versions(run_command, manager, names):
    """``{name: [version]}`` of ``names`` from the package database (``manager`` apt or rpm)."""
    if not names:
        return {}
    if manager == "apt":
        argv = ["dpkg-query", "-W", "-f", "${Package}\\t${Version}\\t${db:Status-Status}\\n"] + list(names)
    else:
        argv = ["rpm", "-q", "--qf", "%{NAME}\\t%|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\\tinstalled\\n"] \
            + list(names)
    rc, out, err = run_command(argv)
    # dpkg-query exits 1 when some names are unknown (printing nothing when all are); rpm exits with the
    # count of unknown names and prints a line for each, so an rpm failure with no output is the database's.
    failed = rc > 1 if manager == "apt" else (rc != 0 and not out.strip() and err.strip())
    if rc < 0 or failed:
        raise StatusError("%s failed (rc %d): %s" % (argv[0], rc, (err or out).strip()[:300]))
    versions = {}
    for line in out.splitlines():
        fields = line.split("\t")
        if len(fields) == 3 and fields[2] in DPKG_PRESENT and fields[0] in names:
            versions.setdefault(fields[0], []).append(normal(fields[1]))
    return versions
