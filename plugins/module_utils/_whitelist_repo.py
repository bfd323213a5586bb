# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plan a repository holding exactly the whitelisted packages of a source repository.

Plain Python: the module gives it the package headers (name and file of every
RPM in the source directory, read with ``rpm -qp``) and the files already in
the destination; this decides what to link, what to remove and what is missing.
"""

from __future__ import annotations

import os
import re

NAME_RE = re.compile(r"^[A-Za-z0-9_.+-]+$")
QUERY_FORMAT = "%{NAME}\\t%{EPOCHNUM}:%{VERSION}-%{RELEASE}.%{ARCH}\\n"


class WhitelistError(Exception):
    """Bad input, named by field."""


def validate_names(names):
    clean = []
    for index, name in enumerate(names or []):
        if not isinstance(name, str) or not NAME_RE.match(name.strip()):
            raise WhitelistError("packages[%d]: %r is not a package name" % (index, name))
        clean.append(name.strip())
    if not clean:
        raise WhitelistError("packages: the whitelist is empty")
    return sorted(set(clean))


def parse_query(output, files):
    """Lines 'NAME\\tEPOCH:VERSION-RELEASE.ARCH', one per file in ``files`` order -> list of dicts."""
    lines = [line for line in output.splitlines() if line.strip()]
    if len(lines) != len(files):
        raise WhitelistError("rpm returned %d headers for %d files" % (len(lines), len(files)))
    result = []
    for path, line in zip(files, lines):
        name, _tab, evra = line.partition("\t")
        result.append({"name": name, "evra": evra, "file": os.path.basename(path)})
    return result


def plan(whitelist, headers, present):
    """What the destination must hold.

    ``headers``: packages of the source; ``present``: RPM file names already in
    the destination. Returns dict with ``wanted`` (file names), ``add``,
    ``remove``, ``missing`` (whitelisted names the source lacks) and
    ``packages`` (name -> sorted versions in the result).
    """
    wanted = sorted({h["file"] for h in headers if h["name"] in whitelist})
    found = {h["name"] for h in headers}
    packages = {}
    for header in headers:
        if header["name"] in whitelist:
            packages.setdefault(header["name"], []).append(header["evra"])
    return {
        "wanted": wanted,
        "add": sorted(set(wanted) - set(present)),
        "remove": sorted(set(present) - set(wanted)),
        "missing": sorted(set(whitelist) - found),
        "packages": {name: sorted(versions) for name, versions in sorted(packages.items())},
    }
