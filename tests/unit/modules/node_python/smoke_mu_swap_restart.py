# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The module_utils of package_swap, mu_version and needs_restart under a real old interpreter.

Run as ``python2.7 smoke_mu_swap_restart.py CHECKOUT`` (or python3.6): builds a
package tree Python 2.7 can import (``__init__.py`` files, symlinks to the
checkout's module_utils), then drives the yum shell path (yum 3 output), the
dnf API path (a replay of the API), mu_version's record/fact writes, file://
and HTTP fetches (a one-byte drip cut at the deadline) and needs_restart's
option checks. Prints "ok" and exits 0, or fails with an assertion.
"""

from __future__ import absolute_import, division, print_function

import json
import os
import shutil
import sys
import tempfile
import threading
import time
import types

try:
    from http.server import BaseHTTPRequestHandler, HTTPServer
except ImportError:  # Python 2.7
    from BaseHTTPServer import BaseHTTPRequestHandler, HTTPServer  # novermin pylint: disable=import-error

try:
    from urllib.request import urlopen
except ImportError:  # Python 2.7
    from urllib2 import urlopen  # novermin pylint: disable=import-error,ansible-bad-import-from

YUM3_PLAN = """Setting up Yum Shell
Dependencies Resolved
================================================================================
 Package            Arch           Version           Repository            Size
================================================================================
Installing:
 fuel-tools         noarch         2.1-1             upstream             5.2 k
Removing:
 fuel-utils         noarch         2.0-0mos2         @mos                 1.1 k

Transaction Summary
"""
YUM3_MISSING = """Setting up Yum Shell
No package no-such available.
Dependencies Resolved
Removing:
 fuel-utils         noarch         2.0-0mos2         @mos                 1.1 k

Transaction Summary
"""


def tree(checkout):
    root = tempfile.mkdtemp(prefix="node-python-")
    package = os.path.join(root, "ansible_collections", "fuel", "lifecycle", "plugins", "module_utils")
    os.makedirs(package)
    for depth in range(5):
        open(os.path.join(root, *(["ansible_collections", "fuel", "lifecycle", "plugins", "module_utils"][:depth + 1]
                                  + ["__init__.py"])), "w").close()
    source = os.path.join(checkout, "plugins", "module_utils")
    for name in os.listdir(source):
        if name.endswith(".py"):
            os.symlink(os.path.join(source, name), os.path.join(package, name))
    return root


def swap_checks(ps):
    calls = []

    def run(argv, changes=False):
        calls.append(argv)
        if argv[0] == "rpm":
            rpm_calls = len([c for c in calls if c[0] == "rpm"])
            if rpm_calls == 1:
                return 1, "fuel-utils\t0:2.0-0mos2\npackage fuel-tools is not installed\n", ""
            return 1, "fuel-tools\t0:2.1-1\npackage fuel-utils is not installed\n", ""
        return 0, YUM3_PLAN, ""
    params = {"swaps": [{"remove": ["fuel-utils"], "install": ["fuel-tools"]}], "package_manager": "yum"}
    result = ps.swap(params, run, False, True, lambda name: True, dnf_importable=lambda: False)
    assert result["changed"] and result["diff"]["after"] == "fuel-tools 2.1-1\nfuel-utils (not installed)\n", result
    assert [c[:2] for c in calls] == [["rpm", "-q"], ["yum", "--assumeno"], ["yum", "-y"], ["rpm", "-q"]], calls

    def run_missing(argv, changes=False):
        if argv[0] == "rpm":
            return 1, "fuel-utils\t0:2.0-0mos2\n", ""
        assert "-y" not in argv, "a changing yum ran after an incomplete plan"
        return 1, YUM3_MISSING, ""
    params["swaps"][0]["install"] = ["no-such"]
    for check in (True, False):
        try:
            ps.swap(params, run_missing, check, False, lambda name: True, dnf_importable=lambda: False)
        except ps.SwapError as exc:
            assert "no-such is requested" in str(exc) and "nothing was changed" in str(exc), exc
        else:
            raise AssertionError("incomplete yum plan not refused")

    done = []

    class Error(Exception):
        pass

    class MarkingError(Error):
        pass

    class Item(object):
        def __init__(self, action, name, evr):
            self.action_name = action
            self.pkg = types.ModuleType("pkg")
            self.pkg.name, self.pkg.evr = name, evr

    class Transaction(list):
        install_set = property(lambda self: [i.pkg for i in self if i.action_name == "Install"])

    class Substitutions(dict):
        def update_from_etc(self, root):
            pass

    class Conf(object):
        installroot = "/"

        def __init__(self):
            self.substitutions = Substitutions()

        def read(self):
            pass

    class Base(object):
        def __init__(self):
            self.conf, self.transaction = Conf(), Transaction()

        def read_all_repos(self):
            pass

        def fill_sack(self, **kwargs):
            pass

        def remove(self, name):
            pass

        def install(self, spec):
            if spec == "no-such":
                raise MarkingError("No match for argument: no-such")

        def resolve(self, allow_erasing=False):
            self.transaction = Transaction([Item("Install", "fuel-tools", "2.1-1"),
                                            Item("Removed", "fuel-utils", "2.0-0mos2")])

        def download_packages(self, packages):
            pass

        def package_signature_check(self, package):
            return 0, ""

        def do_transaction(self):
            done.append(True)

        def close(self):
            pass

    dnf = types.ModuleType("dnf")
    dnf.Base = Base
    dnf.exceptions = types.ModuleType("dnf.exceptions")
    dnf.exceptions.Error, dnf.exceptions.MarkingError, dnf.exceptions.DepsolveError = Error, MarkingError, Error
    dnf.rpm = types.ModuleType("dnf.rpm")
    dnf.rpm.detect_releasever = lambda root: "8"
    plan = ps.run_dnf(["fuel-utils"], ["fuel-tools"], False, dnf=dnf)
    assert plan["installed"] == [{"name": "fuel-tools", "version": "2.1-1"}] and done == [True], plan
    try:
        ps.run_dnf(["fuel-utils"], ["no-such"], True, dnf=dnf)
    except ps.SwapError as exc:
        assert "no-such is in no enabled repository" in str(exc)
    else:
        raise AssertionError("dnf marking error not refused")


class Drip(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Length", "100")
        self.end_headers()
        for _count in range(100):
            try:
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(0.2)
            except Exception:  # pylint: disable=broad-except
                return

    def log_message(self, *args):
        pass


def mu_checks(mu, scratch):
    record = {"id": 2, "title": u"MU 2", "timestamp": 1769904000}
    params = {"path": scratch + "/etc/fuel/mu.json", "fact_path": scratch + "/facts.d/fuel_mu.fact",
              "state": "present", "record": record, "timeout": 2, "max_bytes": 65536}
    assert mu.run(params, False, None)["changed"]
    with open(params["fact_path"]) as handle:
        assert json.load(handle)["installed"]["id"] == 2
    assert not mu.run(params, False, None)["changed"]
    with open(scratch + "/avail.json", "w") as handle:
        handle.write(json.dumps(dict(record, id=3)))
    query = dict(params, state="query", record=None, url="file://" + scratch + "/avail.json")
    assert mu.run(query, False, lambda url: mu.fetch(url, 2, 65536))["mu_status"] == "update-available"
    for body in ('{"id": NaN, "title": "x", "timestamp": 1}', "[1]", '{"id": 1e999, "title": "x", "timestamp": 1}',
                 '{"id": 100000000000000000000, "title": "x", "timestamp": 1}'):
        with open(scratch + "/avail.json", "w") as handle:
            handle.write(body)
        try:
            mu.run(query, False, lambda url: mu.fetch(url, 2, 65536))
        except mu.RecordError as exc:
            assert "available record" in str(exc), exc
        else:
            raise AssertionError("record %s not refused" % body)
    server = HTTPServer(("127.0.0.1", 0), Drip)
    thread = threading.Thread(target=server.serve_forever)
    thread.daemon = True
    thread.start()

    def open_url(url, **kwargs):
        return urlopen(url, timeout=kwargs["timeout"])
    start = time.time()
    try:
        mu.fetch("http://127.0.0.1:%d/x" % server.server_address[1], 1, 65536, open_url=open_url)
    except mu.RecordError as exc:
        assert "no complete answer within timeout=1 s" in str(exc), exc
    else:
        raise AssertionError("drip not cut")
    assert time.time() - start < 2.5, time.time() - start
    server.shutdown()


def restart_checks(nr, scratch):
    for service_map, words in (({"x": {"pidfile": "rel"}}, "service_map.x.pidfile"),
                               ({"a b": {"cmdline": "x"}}, "not a service name"),
                               ({"x": {"cmdline": "("}}, "service_map.x.cmdline"),
                               ({"x": {"pidfile": scratch}}, "is a directory")):
        try:
            nr.check_options(service_map, None)
        except nr.NeedsRestartError as exc:
            assert words in str(exc), exc
        else:
            raise AssertionError("service_map %r not refused" % service_map)
    result = nr.run({"use_tools": False}, None, None, lambda text: None)
    assert result["changed"] is False and result["kernel_running"]


def main():
    checkout = os.path.abspath(sys.argv[1])
    root = tree(checkout)
    scratch = tempfile.mkdtemp(prefix="node-python-scratch-")
    try:
        sys.path.insert(0, root)
        from ansible_collections.fuel.lifecycle.plugins.module_utils import _mu_version as mu  # noqa: E402
        from ansible_collections.fuel.lifecycle.plugins.module_utils import _needs_restart as nr  # noqa: E402
        from ansible_collections.fuel.lifecycle.plugins.module_utils import _package_swap as ps  # noqa: E402
        swap_checks(ps)
        mu_checks(mu, scratch)
        restart_checks(nr, scratch)
    finally:
        shutil.rmtree(root)
        shutil.rmtree(scratch)
    print("ok %s" % sys.version.split()[0])


if __name__ == "__main__":
    main()
