# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plan a repository holding exactly the whitelisted packages of a source repository.

``plan`` decides, from the package headers of the source (name and file of
every RPM, read with ``rpm -qp``) and the files already in the destination,
what the destination must hold. ``build`` is the whole module: it checks every
input before anything changes (``dest`` never equal to, inside, or holding
``src``; names by full-string match; the createrepo command present), builds the
new repository in a temporary directory next to ``dest``, runs createrepo there
and only then swaps it in, so a missing or failing createrepo leaves ``dest``
as it was. Node Python 2.7 and 3.6+.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import shutil
import tempfile

from ansible_collections.fuel.lifecycle.plugins.module_utils._files import inside
from ansible_collections.fuel.lifecycle.plugins.module_utils._runner import tail

NAME_RE = re.compile(r"\A[A-Za-z0-9_.+-]{1,200}\Z")
QUERY_FORMAT = "%{NAME}\\t%{EPOCHNUM}:%{VERSION}-%{RELEASE}.%{ARCH}\\n"


class WhitelistError(Exception):
    """Bad input, named by field."""


def validate_names(names):
    clean = []
    for index, name in enumerate(names or []):
        if not isinstance(name, (str, type(u""))) or not NAME_RE.match(name.strip()):
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
    wanted = sorted(set(h["file"] for h in headers if h["name"] in whitelist))
    found = set(h["name"] for h in headers)
    packages = {}
    for header in headers:
        if header["name"] in whitelist:
            packages.setdefault(header["name"], []).append(header["evra"])
    return {
        "wanted": wanted,
        "add": sorted(set(wanted) - set(present)),
        "remove": sorted(set(present) - set(wanted)),
        "missing": sorted(set(whitelist) - found),
        "packages": dict((name, sorted(versions)) for name, versions in sorted(packages.items())),
    }


def rpm_files(directory, recursive=True):
    """RPM files under ``directory`` (repodata left out), in a stable order."""
    found = []
    for top, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if d != "repodata") if recursive else []
        found += [os.path.join(top, f) for f in sorted(files) if f.endswith(".rpm")]
    return found


def check_paths(src, dest):
    """Refuse, before anything, a destination that is, lies in, or holds the source."""
    for field, value in (("src", src), ("dest", dest)):
        if not value or not os.path.isabs(value) or "\x00" in value:
            raise WhitelistError("%s: an absolute path is required, got %r" % (field, value))
        if any(len(part) > 200 for part in value.split("/")):
            raise WhitelistError("%s: a path component is longer than 200 characters" % field)
    if not os.path.isdir(src):
        raise WhitelistError("src: %s is not a directory" % src)
    if inside(dest, src):
        raise WhitelistError("dest: %s is %s %s; it would delete packages of the source repository"
                             % (dest, "the same directory as" if os.path.realpath(dest) == os.path.realpath(src)
                                else "inside src", src))
    if inside(src, dest):
        raise WhitelistError("dest: %s holds src %s; rebuilding it would remove the source" % (dest, src))
    if os.path.lexists(dest) and (os.path.islink(dest) or not os.path.isdir(dest)):
        raise WhitelistError("dest: %s exists and is not a directory" % dest)
    parent = os.path.dirname(os.path.abspath(dest).rstrip("/")) or "/"
    if not os.path.isdir(parent):
        raise WhitelistError("dest: its parent directory %s does not exist" % parent)


def _place(src, dest):
    try:
        os.link(src, dest)
    except OSError:
        shutil.copy2(src, dest)


def _rmtree(path):
    if os.path.lexists(path):
        shutil.rmtree(path, ignore_errors=True)


def build(params, runner, check_mode):
    """The module's whole work; returns its result. WhitelistError / MissingCommand when refused."""
    src, dest = params["src"], params["dest"]
    whitelist = validate_names(params["packages"])
    command = params.get("createrepo_command") or []
    if not command or not all(isinstance(a, (str, type(u""))) and a and "\x00" not in a for a in command):
        raise WhitelistError("createrepo_command: a non-empty argv list of non-empty strings is required")
    check_paths(src, dest)
    dest = os.path.abspath(dest).rstrip("/")
    files = rpm_files(src)
    headers = []
    if files:
        rpm = runner.binary("rpm", purpose="read the package headers")
        rc, out, err = runner.run([rpm, "-qp", "--nosignature", "--nodigest", "--qf", QUERY_FORMAT] + files)
        if rc != 0:
            raise WhitelistError("rpm could not read the packages of %s: %s" % (src, tail(err or out)))
        headers = parse_query(out, files)
    by_file = dict((os.path.basename(f), f) for f in files)
    present = [os.path.basename(f) for f in rpm_files(dest, recursive=False)] if os.path.isdir(dest) else []
    result = plan(whitelist, headers, present)
    if result["missing"] and not params.get("allow_missing"):
        raise WhitelistError("packages: %s not found in %s" % (", ".join(result["missing"]), src))
    has_metadata = os.path.isfile(os.path.join(dest, "repodata", "repomd.xml"))
    changed = bool(result["add"] or result["remove"] or not has_metadata)
    argv = [runner.binary(command[0], purpose="write the repository metadata")] + list(command[1:])
    if changed and not check_mode:
        _swap_in(dest, result["wanted"], by_file, argv, runner)
    diff = {"before": "".join("%s\n" % n for n in sorted(present)),
            "after": "".join("%s\n" % n for n in result["wanted"]),
            "before_header": dest, "after_header": dest}
    return {"changed": changed, "packages": result["packages"], "added": result["add"],
            "removed": result["remove"], "missing": result["missing"], "metadata_updated": changed, "diff": diff}


def _swap_in(dest, wanted, by_file, argv, runner):
    """Build the repository next to ``dest`` and swap it in; on any failure ``dest`` is untouched."""
    parent, base = os.path.split(dest)
    try:
        new = tempfile.mkdtemp(prefix=".%s.new-" % base[:64], dir=parent)
    except OSError as exc:
        raise WhitelistError("dest: cannot create a directory next to %s: %s" % (dest, exc.strerror or exc))
    old = None
    try:
        os.chmod(new, os.stat(dest).st_mode & 0o7777 if os.path.isdir(dest) else 0o755)
        if os.path.isdir(dest):
            # whatever else dest holds (keys, notes) is carried over; packages and metadata are rebuilt
            for name in sorted(os.listdir(dest)):
                path = os.path.join(dest, name)
                if name == "repodata" or (name.endswith(".rpm") and not os.path.isdir(path)):
                    continue
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.copytree(path, os.path.join(new, name), symlinks=True)
                elif os.path.islink(path):
                    os.symlink(os.readlink(path), os.path.join(new, name))
                else:
                    _place(path, os.path.join(new, name))
        for name in wanted:
            _place(by_file[name], os.path.join(new, name))
        rc, out, err = runner.run(argv + [new], changes=True)
        if rc != 0:
            raise WhitelistError("%s failed (rc %d), %s was left as it was: %s" % (
                argv[0], rc, dest, tail(err or out)))
        if os.path.isdir(dest):
            old = tempfile.mkdtemp(prefix=".%s.old-" % base[:64], dir=parent)
            os.rename(dest, os.path.join(old, base))
        os.rename(new, dest)
        new = None
    except (OSError, IOError, shutil.Error) as exc:
        if old is not None and not os.path.exists(dest) and os.path.isdir(os.path.join(old, base)):
            os.rename(os.path.join(old, base), dest)
        raise WhitelistError("dest: building the repository next to %s failed, %s was left as it was: %s"
                             % (dest, dest, exc))
    finally:
        if new is not None:
            _rmtree(new)
        if old is not None:
            _rmtree(old)
