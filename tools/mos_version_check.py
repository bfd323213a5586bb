# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Vendor versioning checks for repository maintainers.

Run from the collection root (a checkout, or ansible_collections/fuel/lifecycle):

  python -m tools.mos_version_check rules --category upgraded --series 6.1 --channel updates \\
      1.2.4~mos6.1-0mos0+mos6.1+1
  python -m tools.mos_version_check downgrades --kind deb \\
      6.0=http://mirror/mos/6.0/dists/mos6.0/main/binary-amd64/Packages.gz \\
      6.1=http://mirror/mos/6.1/dists/mos6.1/main/binary-amd64/Packages.gz,http://...

A release is NAME=SOURCE[,SOURCE...]; a SOURCE is an APT Packages index
(``Packages``, ``Packages.gz``, ``.xz``) or an rpm repository root (its
``repodata/repomd.xml`` names the primary metadata), as a URL or a local path.
Exit status: 0 when everything is valid, 1 when a rule is broken or a
downgrade is found, 2 on bad input or unreadable metadata.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import json
import os
import re
import sys
import urllib.parse
import urllib.request


@functools.lru_cache(maxsize=None)
def _libs():
    """The collection's rule and metadata code, imported from the collection root this file lives in."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if root not in sys.path:
        sys.path.insert(0, root)
    return (importlib.import_module("plugins.module_utils._mos_rules"),
            importlib.import_module("plugins.module_utils._repo_check"))


def fetch(source, timeout=30):
    """Bytes of a URL or a local path."""
    if urllib.parse.urlparse(source).scheme in ("http", "https", "file"):
        with urllib.request.urlopen(source, timeout=timeout) as response:  # nosec - operator-given URL
            return response.read()
    with open(source, "rb") as handle:
        return handle.read()


def read_source(source):
    """{package: [versions]} and the kind ('deb' or 'rpm') of one metadata source."""
    rc = _libs()[1]
    base = source.split("?", 1)[0].rstrip("/")
    if re.search(r"Packages(\.(gz|xz|bz2))?$", os.path.basename(base)):
        return "deb", rc.parse_packages(rc.decompress(base, fetch(source)).decode("utf-8", "replace"))
    repomd = fetch(rc.join(source, "repodata/repomd.xml"))
    href = rc.primary_location(repomd)
    return "rpm", rc.parse_primary(rc.decompress(href, fetch(rc.join(source, href))))


class SourceError(ValueError):
    """One metadata source of a release could not be read; the message names the release and the source."""


def read_release(spec):
    name, sep, sources = spec.partition("=")
    if not sep or not name or not sources:
        raise ValueError("release %r: give NAME=SOURCE[,SOURCE...]" % spec)
    kinds, packages = set(), {}
    for source in sources.split(","):
        try:
            kind, found = read_source(source)
        except Exception as exc:  # pylint: disable=broad-except  # any failure is reported with its source
            raise SourceError("release %s: source %s: %s" % (name, source, exc))
        kinds.add(kind)
        for package, versions in found.items():
            packages.setdefault(package, []).extend(versions)
    return name, kinds, packages


def cmd_rules(args):
    mr = _libs()[0]
    bad = 0
    for version in args.versions:
        problems = mr.version_problems(version, args.category, series=args.series, channel=args.channel)
        bad += bool(problems)
        print("%s: %s" % (version, "; ".join(problems) if problems else "ok"))
    return 1 if bad else 0


def cmd_downgrades(args):
    mr = _libs()[0]
    releases, kinds = [], set()
    for spec in args.releases:
        name, found_kinds, packages = read_release(spec)
        kinds |= found_kinds
        releases.append((name, packages))
    kind = args.kind or (kinds.pop() if len(kinds) == 1 else None)
    if kind is None:
        raise ValueError("--kind: the sources mix deb and rpm metadata; give --kind")
    downgrades = mr.find_downgrades(releases, kind)
    if args.json:
        print(json.dumps({"kind": kind, "releases": [r[0] for r in releases], "downgrades": downgrades}, indent=2))
    else:
        print("%s progression: %s (%d packages)" % (
            kind, " -> ".join(r[0] for r in releases), len({p for r in releases for p in r[1]})))
        for item in downgrades:
            print("DOWNGRADE %(package)s: %(previous_version)s in %(previous_release)s -> %(version)s in %(release)s" % item)
        print("%d downgrade(s)" % len(downgrades))
    return 1 if downgrades else 0


def main(argv=None):
    mr = _libs()[0]
    parser = argparse.ArgumentParser(prog="python -m tools.mos_version_check", description=__doc__.split("\n\n", maxsplit=1)[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rules = sub.add_parser("rules", help="check version strings against the rules of their category")
    rules.add_argument("--category", required=True, choices=mr.CATEGORIES)
    rules.add_argument("--series", help="release series X.Y the builds target")
    rules.add_argument("--channel", default="ga", choices=mr.CHANNELS)
    rules.add_argument("versions", nargs="+")
    down = sub.add_parser("downgrades", help="no-downgrade check along a release progression")
    down.add_argument("--kind", choices=["deb", "rpm"], help="version order (default: from the metadata)")
    down.add_argument("--json", action="store_true", help="machine-readable report")
    down.add_argument("releases", nargs="+", metavar="NAME=SOURCE[,SOURCE...]", help="releases, oldest first")
    args = parser.parse_args(argv)
    try:
        return cmd_rules(args) if args.command == "rules" else cmd_downgrades(args)
    except (ValueError, OSError) as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
