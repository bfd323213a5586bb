# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""package_swap's real main() driven by package_swap.yaml: recorded commands in, the result out."""

from __future__ import annotations

import functools
import os
import re
import sys
import types
from unittest import mock

import pytest
import yaml

from module_harness import Commands, run_module

from ansible_collections.fuel.lifecycle.plugins.modules import package_swap

CASES = yaml.safe_load(open(os.path.join(os.path.dirname(__file__), "package_swap.yaml"), encoding="utf-8"))["cases"]
SCRIPT = re.compile(r".*/package-swap-[^/]*\.yumshell\Z")


class ScriptCommands(Commands):
    """Commands whose yum shell script path is replaced by "<script>"; the script's content is kept."""

    def __init__(self, expected):
        Commands.__init__(self, expected)
        self.scripts = []

    def __call__(self, module_self, argv, *args, **kwargs):
        shown = []
        for arg in argv:
            if SCRIPT.match(str(arg)):
                with open(arg, encoding="utf-8") as handle:
                    self.scripts.append(handle.read())
                arg = "<script>"
            shown.append(arg)
        return Commands.__call__(self, module_self, shown, *args, **kwargs)

    def __get__(self, instance, owner=None):
        # Patched onto AnsibleModule as a class attribute: bind like a method, so
        # module.run_command(argv) arrives here as (module, argv).
        if instance is None:
            return self
        return functools.partial(self.__call__, instance)


def fake_dnf(scenario, calls):
    """A ``dnf`` package with the API's shape, replaying one resolve scenario."""
    dnf = types.ModuleType("dnf")
    exceptions = types.ModuleType("dnf.exceptions")
    rpm = types.ModuleType("dnf.rpm")

    class Error(Exception):
        pass

    class MarkingError(Error):
        pass

    class DepsolveError(Error):
        pass

    exceptions.Error, exceptions.MarkingError, exceptions.DepsolveError = Error, MarkingError, DepsolveError
    rpm.detect_releasever = lambda root: "8"

    class Repo:
        def __init__(self, name):
            self.name = name

        def enable(self):
            calls.append(("enable", self.name))

        def disable(self):
            calls.append(("disable", self.name))

    class Repos:
        names = ["base", "upstream", "mos"]

        def get_matching(self, pattern):
            return [Repo(n) for n in self.names if n == pattern or pattern == "*"]

    class Conf:
        installroot = "/"

        def __init__(self):
            self.substitutions = mock.MagicMock()

        def read(self):
            calls.append(("conf.read",))

    class Item:
        def __init__(self, action, name, evr):
            self.action_name = action
            self.pkg = types.SimpleNamespace(name=name, evr=evr)

    class Transaction(list):
        @property
        def install_set(self):
            return [i.pkg.name for i in self if i.action_name in ("Install", "Upgrade", "Downgrade")]

    class Base:
        def __init__(self):
            self.conf = Conf()
            self.repos = Repos()
            self.transaction = Transaction()

        def read_all_repos(self):
            pass

        def fill_sack(self, **kwargs):
            calls.append(("fill_sack",))

        def remove(self, name):
            if name not in scenario.get("installed", {}):
                raise MarkingError("No match for argument: %s" % name)

        def install(self, spec):
            if spec.split("-")[0] and spec not in scenario.get("available", {}):
                raise MarkingError("No match for argument: %s" % spec)

        def resolve(self, allow_erasing=False):
            if scenario.get("depsolve_error"):
                raise DepsolveError(scenario["depsolve_error"])
            self.transaction = Transaction(Item(*entry) for entry in scenario.get("transaction", []))

        def download_packages(self, packages):
            calls.append(("download", list(packages)))

        def package_signature_check(self, package):
            return tuple(scenario.get("signature", (0, "")))

        def package_import_key(self, package, askcb=None):
            calls.append(("import_key", package))

        def do_transaction(self):
            calls.append(("do_transaction",))

        def close(self):
            calls.append(("close",))

    dnf.Base, dnf.exceptions, dnf.rpm = Base, exceptions, rpm
    return {"dnf": dnf, "dnf.exceptions": exceptions, "dnf.rpm": rpm}


def run_case(case, tmp_path):
    calls = []
    modules = fake_dnf(case["dnf"], calls) if case.get("dnf") else {"dnf": None}
    commands = ScriptCommands([(argv, (result["rc"], result["out"], result["err"]))
                               for argv, result in case.get("commands", [])])
    with mock.patch.dict(sys.modules, modules), commands.patched(bins=case.get("bins")):
        result = run_module(package_swap.main, case["params"], check_mode=case.get("check_mode", False),
                            diff=case.get("diff", False), tmpdir=str(tmp_path))
    return result, commands, calls


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_case(case, tmp_path):
    result, commands, calls = run_case(case, tmp_path)
    expect = case["expect"]
    assert bool(result.get("failed")) is bool(expect.get("failed", False)), result
    for words in expect.get("msg", []):
        assert words in result["msg"], result["msg"]
    if "changed" in expect:
        assert result["changed"] is expect["changed"], result
    elif expect.get("failed"):
        assert result.get("changed", False) is False, result  # a refusal changed nothing
    if "packages_after" in expect:
        assert result["packages_after"] == expect["packages_after"]
    if "states" in expect:
        assert [s["state"] for s in result["swaps"]] == expect["states"]
    if "plan" in expect:
        assert result["plan"] == expect["plan"]
    if "package_manager" in expect:
        assert result["package_manager"] == expect["package_manager"]
    if "diff" in expect:
        assert {k: result["diff"][k] for k in ("before", "after")} == expect["diff"]
    elif not case.get("diff"):
        assert "diff" not in result
    if "dnf_transaction" in expect:
        assert (("do_transaction",) in calls) is expect["dnf_transaction"], calls
    if expect.get("dnf_transaction"):
        assert ("close",) in calls
    if "script" in case:
        assert commands.scripts and set(commands.scripts) == {case["script"]}
    if case.get("check_mode"):
        changing = [argv for argv in commands.seen if argv[:2] == ["yum", "-y"] or
                    (argv[:2] == ["apt-get", "install"] and "--simulate" not in argv)]
        assert not changing, "check mode ran %r" % changing
    # the yum script lives in the module's temp directory and is removed
    assert not [n for n in os.listdir(tmp_path) if n.endswith(".yumshell")]
