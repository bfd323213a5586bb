"""Smoke run of the repository module_utils under a node interpreter (Python 2.7, 3.6+).

    <python> tests/unit/module_utils/repo_node_smoke.py ARCHIVE_ROOT

ARCHIVE_ROOT is a scratch archive built by tests/unit/modules/archive_fixture.py.
Imports the module_utils files as a plain package (no Ansible needed), runs the
planners, a real write on a scratch tree, and the checker against the archive
with the real gpgv. Prints "smoke ok <version>" or exits non-zero.
"""

from __future__ import absolute_import, division, print_function

import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
UTILS = os.path.join(HERE, "..", "..", "..", "..", "plugins", "module_utils")


def package():
    tmp = tempfile.mkdtemp(prefix="smoke.")
    pkg = os.path.join(tmp, "nodeutils")
    os.mkdir(pkg)
    open(os.path.join(pkg, "__init__.py"), "w").close()
    for name in ("_files.py", "_versions.py", "_repo_files.py", "_repo_set.py", "_repo_check.py", "_mos_rules.py"):
        shutil.copy(os.path.join(UTILS, name), pkg)
    sys.path.insert(0, tmp)
    return tmp


class Runner(object):
    def binary(self, name, required=True, purpose=""):
        for directory in os.environ.get("PATH", "/usr/bin").split(os.pathsep):
            path = os.path.join(directory, name)
            if os.access(path, os.X_OK):
                return path
        return None

    def __call__(self, argv):
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = proc.communicate()
        return proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


def main(archive):
    tmp = package()
    from nodeutils import _repo_check as rc  # pylint: disable=import-error
    from nodeutils import _repo_set as rs  # pylint: disable=import-error

    # Validation refuses what #12 lists; codename pins.
    for bad in ({"architectures": [u"amd64] http://o/ x main #"]}, {"suite": u"s\n"}, {"name": u"n" * 250}):
        entry = dict({"type": "deb", "name": u"a", "uri": u"http://m/deb", "suite": u"s", "section": u"main"}, **bad)
        try:
            rs.normalize([entry])
        except rs.RepoSetError:
            pass
        else:
            raise AssertionError("accepted %r" % bad)
    entries = rs.normalize([{"type": "deb", "name": u"upd", "uri": u"http://d/debian", "suite": u"bookworm-updates",
                             "section": u"main", "class": u"vendor"}])
    assert entries[0]["pin"] == "release n=bookworm-updates", entries

    # Plan and apply on a scratch tree; the multi-suite stanza is split; a second plan is empty.
    root = os.path.join(tmp, "etc")
    for sub in ("sources.list.d", "preferences.d"):
        os.makedirs(os.path.join(root, sub))
    with open(os.path.join(root, "sources.list.d", "debian.sources"), "w") as handle:
        handle.write("Types: deb\nURIs: http://d/debian\nSuites: bookworm bookworm-updates\nComponents: main\n")
    params = {"exclusive": False, "apt_sources_dir": os.path.join(root, "sources.list.d"),
              "apt_sources_list": os.path.join(root, "sources.list"),
              "apt_preferences_dir": os.path.join(root, "preferences.d")}
    changes, disabled, dirs = rs.plan_host(entries, "apt", params)
    assert disabled == ["http://d/debian bookworm-updates"], disabled
    rs.apply_changes(changes, dirs)
    assert rs.plan_host(entries, "apt", params)[0] == [], "second run changes"

    # The checker against the archive: one key of two, armoured keyring, by-hash index verified.
    checker = rc.Checker(rc.Fetcher(None, 10), Runner(), tempfile.mkdtemp(prefix="smoke-check."),
                         packages=["libfuel-common >= 1.2"], arch="amd64")
    deb = rs.normalize([{"type": "deb", "name": u"arch", "uri": u"file://%s/deb" % archive, "suite": u"bookworm",
                         "section": [u"main", u"contrib"], "signed_by": u"%s/keys/b.asc" % archive,
                         "class": u"vendor"}])
    rpm = rs.normalize([{"type": "rpm", "name": u"r", "uri": u"file://%s/rpm" % archive,
                         "gpgkey": u"file://%s/keys/a.gpg" % archive}])
    results, indexes = checker.run(deb)
    assert results[0]["signature"] == "valid" and not results[0]["problems"], results
    assert indexes["arch"]["libfuel-common"] == ["1.2-0mos1", "1.1-0mos1"], indexes
    # Requirements arrive as unicode on Python 2.7 (module parameters): the version order must still apply.
    assert [r["satisfied"] for r in rc.resolve([u"libfuel-common >= 1.2", u"libfuel-common << 1.2",
                                                u"libfuel-common >= 2"], indexes, "deb")] == [True, True, False]
    results, indexes = checker.run(rpm)
    assert results[0]["signature"] == "valid" and not results[0]["problems"], results
    assert indexes["r"]["libfuel-common"] == ["1.2-0mos1"], indexes
    assert [r["satisfied"] for r in rc.resolve([u"libfuel-common >= 1.1", u"libfuel-common = 1.2"], indexes, "rpm")] \
        == [True, True], indexes
    shutil.rmtree(tmp)
    print("smoke ok %s" % sys.version.split()[0])


if __name__ == "__main__":
    main(sys.argv[1])
