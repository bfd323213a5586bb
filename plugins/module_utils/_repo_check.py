# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parsing and evaluation for repository checks: repomd.xml, primary.xml, Release, Packages.

Fetching is the module's job; this file turns what was fetched into facts and
decides which required packages the repositories can provide. Plain Python.
"""

from __future__ import annotations

import base64
import bz2
import gzip
import lzma
import re
import xml.etree.ElementTree as ET

from ._versions import VersionError, deb_compare, parse_rpm, rpm_compare

_REPO_NS = "{http://linux.duke.edu/metadata/repo}"
_COMMON_NS = "{http://linux.duke.edu/metadata/common}"
_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9+._:-]*)\s*(?:(<<|>>|<=|>=|==|=|<|>)\s*([A-Za-z0-9.+~:^_-]+))?\s*$")


def join(base, *parts):
    return "/".join([base.rstrip("/")] + [p.strip("/") for p in parts])


def decompress(name, data):
    if name.endswith(".gz"):
        return gzip.decompress(data)
    if name.endswith(".xz"):
        return lzma.decompress(data)
    if name.endswith(".bz2"):
        return bz2.decompress(data)
    if name.endswith(".zst"):
        raise ValueError("%s: zstd metadata is not supported" % name)
    return data


# --------------------------------------------------------------------------- rpm


def primary_location(repomd):
    """href of the primary metadata named by repomd.xml (bytes or str)."""
    root = ET.fromstring(repomd)
    for data in root.findall(_REPO_NS + "data"):
        if data.get("type") == "primary":
            location = data.find(_REPO_NS + "location")
            if location is not None and location.get("href"):
                return location.get("href")
    raise ValueError("repomd.xml names no primary metadata")


def parse_primary(xml):
    """{name: [version]} of primary.xml; versions are ``[epoch:]version-release``."""
    packages = {}
    root = ET.fromstring(xml)
    for pkg in root.findall(_COMMON_NS + "package"):
        name = pkg.findtext(_COMMON_NS + "name")
        ver = pkg.find(_COMMON_NS + "version")
        if not name or ver is None:
            continue
        epoch = ver.get("epoch") or "0"
        full = "%s%s-%s" % ("" if epoch == "0" else epoch + ":", ver.get("ver"), ver.get("rel"))
        packages.setdefault(name, []).append(full)
    return packages


# --------------------------------------------------------------------------- deb


def clearsigned_body(text):
    """The signed text of an InRelease file (or the text itself when not clearsigned)."""
    if "-----BEGIN PGP SIGNED MESSAGE-----" not in text:
        return text
    body = text.split("-----BEGIN PGP SIGNED MESSAGE-----", 1)[1]
    body = body.split("\n\n", 1)[1] if "\n\n" in body else body
    body = body.split("-----BEGIN PGP SIGNATURE-----", 1)[0]
    return "\n".join(line[2:] if line.startswith("- ") else line for line in body.splitlines())


def parse_release(text):
    """Fields of a Release / InRelease file (lower-case keys, folded fields kept as text)."""
    fields, key = {}, None
    for line in clearsigned_body(text).splitlines():
        if line[:1] in (" ", "\t") and key:
            fields[key] += "\n" + line.strip()
        elif ":" in line:
            key, value = line.split(":", 1)
            key = key.strip().lower()
            fields[key] = value.strip()
    return fields


def release_problems(fields, suite, sections):
    """What a Release file lacks for ``suite`` and ``sections``."""
    problems = []
    names = {fields.get("suite"), fields.get("codename")}
    if suite.rstrip("/") not in names and not suite.endswith("/"):
        problems.append("Release names suite %s / codename %s, not %s"
                        % (fields.get("suite"), fields.get("codename"), suite))
    components = fields.get("components", "").split()
    for section in sections:
        # A Release may list "updates/main" for "main" and the other way round.
        if section not in components and section.split("/")[-1] not in [c.split("/")[-1] for c in components]:
            problems.append("section %s is not among the components (%s)" % (section, " ".join(components) or "none"))
    return problems


def packages_index_names(fields, section, arch):
    """Candidate Packages files for a section/arch, best compression first, listed in Release."""
    listed = set()
    for key in ("sha256", "sha1", "md5sum"):
        for line in fields.get(key, "").splitlines():
            parts = line.split()
            if len(parts) == 3:
                listed.add(parts[2])
    stem = "%s/binary-%s/Packages" % (section, arch)
    candidates = [stem + ext for ext in (".xz", ".gz", ".bz2", "")]
    return [c for c in candidates if c in listed] or [stem + ".gz", stem]


def parse_packages(text):
    """{name: [version]} of an APT Packages index."""
    packages = {}
    for stanza in re.split(r"\n\s*\n", text):
        name = re.search(r"^Package:\s*(\S+)", stanza, re.M)
        version = re.search(r"^Version:\s*(\S+)", stanza, re.M)
        if name and version:
            packages.setdefault(name.group(1), []).append(version.group(1))
    return packages


# --------------------------------------------------------------------------- keys


def dearmor(text):
    """Binary OpenPGP data of an ASCII-armored key block."""
    blocks = re.findall(r"-----BEGIN PGP [A-Z ]+-----\r?\n(.*?)-----END PGP", text, re.S)
    if not blocks:
        raise ValueError("no ASCII-armored OpenPGP block")
    data = b""
    for block in blocks:
        # Armor headers end at the first empty line; a line starting with '=' is the checksum.
        body = block.split("\n\n", 1)[1] if re.match(r"^[A-Za-z-]+: ", block) else block
        lines = [line.strip() for line in body.splitlines() if line.strip() and not line.startswith("=")]
        data += base64.b64decode("".join(lines))
    return data


# --------------------------------------------------------------------------- requirements


def parse_requirement(text):
    """``name``, ``name >= 1.2``, ``name=1.2-0mos1`` as (name, op, version)."""
    match = _REQUIREMENT.match(text or "")
    if not match:
        raise ValueError("%r is not a requirement (NAME [OP VERSION], OP one of = == >= <= >> << > <)" % text)
    name, op, version = match.groups()
    if op == "==":
        op = "="
    return name, op, version


def compare_for_requirement(kind, candidate, wanted):
    """Order of ``candidate`` against a requirement's version.

    rpm: like rpm's dependency matching, a requirement without a release compares
    epoch and version only. deb: dpkg's order of the full versions.
    """
    if kind != "rpm":
        return deb_compare(candidate, wanted)
    if parse_rpm(wanted)[2] is None:
        epoch, version = parse_rpm(candidate)[:2]
        return rpm_compare("%d:%s" % (epoch, version), wanted if ":" in wanted else "0:" + wanted)
    return rpm_compare(candidate, wanted)


_OPS = {"=": lambda c: c == 0, ">=": lambda c: c >= 0, "<=": lambda c: c <= 0, ">>": lambda c: c > 0,
        ">": lambda c: c > 0, "<<": lambda c: c < 0, "<": lambda c: c < 0}


def resolve(requirements, indexes, kind):
    """Each requirement with the versions (and repositories) that satisfy it.

    ``indexes``: {repo name: {package: [versions]}}; ``kind``: rpm or deb (version order).
    """
    results = []
    for text in requirements:
        name, op, version = parse_requirement(text)
        found = []
        for repo in sorted(indexes):
            for candidate in indexes[repo].get(name, []):
                try:
                    if op is None or _OPS[op](compare_for_requirement(kind, candidate, version)):
                        found.append({"repo": repo, "version": candidate})
                except VersionError:
                    continue
        results.append({"requirement": text, "name": name, "satisfied": bool(found), "found": found})
    return results
