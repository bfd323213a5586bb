"""Every module runs on the oldest node Pythons: 2.7 and 3.6, driven by ansible-core 2.16.

Each module runs on localhost, as ``ansible localhost -m fuel.lifecycle.<module>``
would run it, with ``ansible_python_interpreter`` set to a real Python 2.7 / 3.6
(pyenv's, linked into build/node-pythons by ``make setup``), harmless arguments
on scratch paths, check mode where the module would write: one ansible-playbook
run per interpreter with one task per module (one start of the controller
instead of one per module). A module whose code does not parse or import on that
Python ends in "MODULE FAILURE" (no result of its own): the test fails. Each
case also reads the scratch tree after the run: check mode leaves it unchanged.
Modules that need LVM get an ``lvs`` on PATH that reports no LVs, so they run
their own logic to its end (lvm_snapshot lists an empty set, snapshot_guard
refuses an empty set: the refusal is the module's own).
"""

import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, REPO)
from lab import fixtures  # noqa: E402  pylint: disable=wrong-import-position
LEGACY_BIN = os.path.join(REPO, ".venv-legacy", "bin")
NODE_PYTHONS = os.path.join(REPO, "build", "node-pythons")
CALLBACKS = os.path.join(REPO, "tests", "integration", "callback_plugins")
MODULES = sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(REPO, "plugins", "modules", "*.py"))
                 if not os.path.basename(p).startswith("_"))
DEAD_REPO = {"type": "deb", "name": "vendor", "uri": "http://127.0.0.1:9/deb/vendor", "suite": "mos9.0",
             "section": "main"}
LVS_EMPTY = '#!/bin/sh\necho \'{"report": [{"lv": []}]}\'\n'
# mu_version reads the flagged versions installed from the package database: it flags this host's dpkg.
DPKG_VERSION = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "dpkg"], capture_output=True, text=True,
                              check=True).stdout
FLAGGED = {"name": "dpkg", "version": DPKG_VERSION, "reason": "flagged for the node Python test"}


def options(module):
    """The module's documented options (its interface as this checkout has it)."""
    with open(os.path.join(REPO, "plugins", "modules", module + ".py"), encoding="utf-8") as handle:
        doc = re.search(r'DOCUMENTATION = r?("""|\'\'\')(.*?)\1', handle.read(), re.S).group(2)
    return yaml.safe_load(doc).get("options") or {}


def case(tmp):
    """Per module: (arguments, check mode, expected failure message or None, files to create)."""
    lock = {"path": tmp + "/env.lock", "owner": "nodepython"}
    if "run_id" in options("env_lock"):
        lock["run_id"] = "nodepython-run"
    return {
        "boot_backup": ({"src": tmp + "/boot", "dest": tmp + "/backup", "state": "backed_up"}, True, None,
                        {"boot/vmlinuz-1": "kernel\n", "boot/grub/grub.cfg": "menuentry\n"}),
        "env_lock": (lock, True, None, {}),
        "env_upgrade_state": ({"path": tmp + "/env-upgrade.json", "state": "query"}, True, None, {}),
        "lvm_snapshot": ({"name": "nodepython", "state": "listed"}, True, None, {}),
        # Out-of-range input: the module's own refusal, before it touches the host's package manager.
        "mu_apply": ({"timeout": 0, "record_path": tmp + "/mu-version.json", "state_dir": tmp + "/mu",
                      "fact_path": tmp + "/fuel_mu.fact"}, True, "timeout: must be between", {}),
        "mu_version": ({"path": tmp + "/mu-version.json", "state": "query", "fact_path": tmp + "/fuel_mu.fact",
                        "release_status_path": tmp + "/status.json", "package_manager": "apt"}, True, None,
                       {"status.json": json.dumps({"problem_packages": [dict(FLAGGED, versions=[DPKG_VERSION])]})}),
        "needs_restart": ({"use_tools": False}, True, None, {}),
        "package_swap": ({"swaps": [{"remove": ["fuel-lab-not-installed"], "install": []}],
                          "package_manager": "apt"}, True, None, {}),
        # A repository nobody serves: reported unreachable (fail_on_problem is off), nothing fetched.
        "repo_check": ({"repos": [dict(DEAD_REPO)], "packages": [], "package_manager": "apt", "timeout": 2},
                       True, None, {}),
        "repo_info": ({"root": tmp + "/root"}, True, None, {"root/etc/apt/sources.list": ""}),
        "repo_priorities": ({"repos": [dict(DEAD_REPO)], "package_manager": "apt",
                             "apt_sources_dir": tmp + "/sources.list.d",
                             "apt_sources_list": tmp + "/sources.list",
                             "apt_preferences_dir": tmp + "/preferences.d"}, True, None,
                            {"sources.list": "deb http://127.0.0.1:9/deb/vendor mos9.0 main\n"}),
        "snapshot_guard": ({"name": "nodepython", "argv": ["true"]}, True, "has no members", {}),
        "upgrade_state": ({"path": tmp + "/state.json", "lock_path": tmp + "/state.lock", "state": "query"},
                          True, None, {}),
        "whitelist_repo": ({"src": tmp + "/src", "dest": tmp + "/dest", "packages": ["fuel-agent"]},
                           True, None, {}),
    }


def tree(root):
    """Path -> (mode, sha256) of everything under ``root``."""
    found = {}
    for base, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(base, name)
            st = os.lstat(path)
            digest = None
            if os.path.isfile(path) and not os.path.islink(path):
                with open(path, "rb") as handle:
                    digest = hashlib.sha256(handle.read()).hexdigest()
            found[os.path.relpath(path, root)] = (st.st_mode, digest)
    return found


def test_every_module_has_a_case(tmp_path):
    assert MODULES and sorted(case(str(tmp_path))) == MODULES


@pytest.mark.parametrize("version", ["2.7", "3.6"])
def test_interpreter_is_the_old_python(version):
    python = os.path.join(NODE_PYTHONS, "python" + version)
    out = subprocess.run([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                         capture_output=True, text=True, check=True).stdout.strip()
    assert out == version


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Per interpreter: one ansible-playbook run (ansible-core 2.16) with one task per module.

    Returns {version: (results by module, scratch dir and tree before the run by module, output)}.
    """
    found = {}
    for version in ("2.7", "3.6"):
        top = tmp_path_factory.mktemp("py" + version)
        stubs = top / "bin"
        stubs.mkdir()
        (stubs / "lvs").write_text(LVS_EMPTY)
        (stubs / "lvs").chmod(0o755)
        tasks, scratches = [], {}
        for module in MODULES:
            scratch = top / module
            scratch.mkdir()
            args, check, _refusal, files = case(str(scratch))[module]
            for rel, content in files.items():
                path = scratch / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(content)
            if module == "whitelist_repo":  # the lab's signed vendor RPM repository (built once, cached)
                shutil.copytree(os.path.join(fixtures.build_www(), "rpm", "vendor"), str(scratch / "src"))
            scratches[module] = (scratch, tree(str(scratch)))
            tasks.append({"name": module, "fuel.lifecycle." + module: args, "check_mode": check,
                          "ignore_errors": True})
        playbook = top / "play.yml"
        playbook.write_text(yaml.safe_dump([{
            "hosts": "localhost", "gather_facts": False, "tasks": tasks,
            "environment": {"PATH": "%s:%s" % (stubs, os.environ["PATH"])},
            "vars": {"ansible_python_interpreter": os.path.join(NODE_PYTHONS, "python" + version)}}]))
        record = top / "record.json"
        env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
                   FUEL_RECORD_RESULTS=str(record), ANSIBLE_CALLBACKS_ENABLED="record_results",
                   ANSIBLE_CALLBACK_PLUGINS=CALLBACKS)
        proc = subprocess.run([os.path.join(LEGACY_BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local",
                               str(playbook)], cwd=REPO, env=env, capture_output=True, text=True, check=False)
        results = {}
        if record.exists():
            for entry in json.loads(record.read_text())["results"]:
                results[entry["task"]] = entry
        found[version] = (results, scratches, proc.stdout[-4000:] + proc.stderr[-2000:])
    return found


@pytest.mark.parametrize("version", ["2.7", "3.6"])
@pytest.mark.parametrize("module", MODULES)
def test_module_runs_on_old_python(runs, module, version, tmp_path):
    results, scratches, output = runs[version]
    assert module in results, output
    entry = results[module]
    result = entry["result"]
    detail = json.dumps(result, indent=1)[-3000:]
    assert "MODULE FAILURE" not in result.get("msg", ""), detail
    assert "module_stderr" not in result and "exception" not in result, detail
    _args, _check, refusal, _files = case(str(tmp_path))[module]
    if refusal:  # the module's own refusal: a failed task whose message is the module's
        assert entry["status"] == "ignored" and refusal in result["msg"], detail
    else:
        assert entry["status"] == "ok" and not result.get("failed"), detail
    if module == "mu_version":
        assert result["flagged_installed"] == [FLAGGED], detail
    scratch, before = scratches[module]
    assert tree(str(scratch)) == before, "check mode changed the scratch tree"


@pytest.mark.parametrize("version", ["2.7", "3.6"])
def test_ad_hoc_command_on_old_python(version, tmp_path):
    """The operator's own form: ``ansible localhost -m fuel.lifecycle.repo_info``."""
    (tmp_path / "etc" / "apt").mkdir(parents=True)
    (tmp_path / "etc" / "apt" / "sources.list").write_text("deb http://127.0.0.1:9/deb/vendor mos9.0 main\n")
    argv = [os.path.join(LEGACY_BIN, "ansible"), "localhost", "-i", "localhost,", "-c", "local",
            "-m", "fuel.lifecycle.repo_info", "-a", json.dumps({"root": str(tmp_path)}), "-t", str(tmp_path / "out"),
            "-e", "ansible_python_interpreter=" + os.path.join(NODE_PYTHONS, "python" + version)]
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    proc = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads((tmp_path / "out" / "localhost").read_text())
    assert [r["uri"].rstrip("/") for r in result["repositories"]] == ["http://127.0.0.1:9/deb/vendor"], result
