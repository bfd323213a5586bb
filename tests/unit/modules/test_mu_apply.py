# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""mu_apply's real main() with recorded apt/dpkg output (mu_apply.yaml) on scratch directories."""

from __future__ import annotations

import json
import os
from unittest import mock

import pytest
import yaml

from ansible_collections.fuel.lifecycle.plugins.module_utils import _mu_apply
from ansible_collections.fuel.lifecycle.plugins.modules import mu_apply
from module_harness import Commands, run_module, tree_digest

CASES = yaml.safe_load(open(os.path.join(os.path.dirname(__file__), "mu_apply.yaml"), encoding="utf-8"))
RECORD2 = {"id": 2, "title": "MU 2", "timestamp": 2}


def base_params(tmp):
    return {"record": RECORD2, "package_manager": "apt", "record_path": tmp + "/etc/fuel-mu-version.json",
            "fact_path": tmp + "/etc/fuel_mu.fact", "state_dir": tmp + "/state",
            "apt_sources_file": tmp + "/etc/fuel-mu.list", "apt_pin_file": tmp + "/etc/fuel-mu.pref",
            "apt_repos": [{"uri": "http://m/deb/mu2", "suite": "mos9.0-mu2", "signed_by": "/k.gpg"}],
            "free_space_paths": [tmp], "min_free_mb": 1, "lock_timeout": 60, "health_retries": 1,
            "owner": "ops", "run_id": "r1"}


class Sandboxed(Commands):
    """Commands whose sandbox path (a fresh temp dir) is compared as SANDBOX."""

    def __call__(self, argv, *args, **kwargs):  # patched on the class as a plain callable: no module argument
        argv = [a.replace(_sandbox(a), "SANDBOX") if "fuel-mu-plan." in a else a for a in argv]
        return Commands.__call__(self, None, argv, *args, **kwargs)


def _sandbox(arg):
    start = arg.index("/", arg.index("="))
    end = arg.index("fuel-mu-plan.") + len("fuel-mu-plan.") + 8
    return arg[start:end]


def prepare(case, tmp_path):
    tmp = str(tmp_path)
    os.makedirs(tmp + "/etc")
    with open(tmp + "/etc/fuel-mu-version.json", "w", encoding="utf-8") as handle:
        json.dump(case["installed"], handle)
    params = base_params(tmp)
    params.update(case["params"])
    params.setdefault("apt_pin_priority", 1050)
    if case.get("preexisting_repo_files"):  # what the first run left: repository files, the node lock file
        os.makedirs(tmp + "/state")
        open(tmp + "/state/node.lock", "w", encoding="utf-8").close()
        os.chmod(tmp + "/state/node.lock", 0o600)
        wanted = _mu_apply.repo_files(params, "apt")
        for path, content in wanted.items():
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(content)
            os.chmod(path, 0o644)
    return tmp, params


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_case(case, tmp_path):
    tmp, params = prepare(case, tmp_path)
    before = tree_digest(tmp)
    commands = Sandboxed([(argv, tuple(result)) for argv, result in case["commands"]])
    with commands.patched(), mock.patch.object(_mu_apply, "stale_services", return_value=[]), \
            mock.patch.object(_mu_apply, "services_using", return_value=[]), \
            mock.patch.object(_mu_apply.MuRun, "_reboot_required", return_value=False), \
            mock.patch.object(_mu_apply, "APT_LOCKS", (str(tmp_path / "no-lock"),)):
        result = run_module(mu_apply.main, params, check_mode=case.get("check_mode", False),
                            diff=case.get("diff", False))
    for key, value in case["expect"].items():
        assert result.get(key) == value, (key, result)
    for words in case.get("msg", []):
        assert words in result["msg"], result["msg"]
    if "record_after" in case:
        with open(tmp + "/etc/fuel-mu-version.json", encoding="utf-8") as handle:
            assert json.load(handle)["id"] == case["record_after"]
    after = tree_digest(tmp)
    if case.get("unchanged") or case.get("check_mode"):
        assert after == before
    if "files_after" in case:
        assert sorted(k for k, v in after.items() if v[0] == "file" and k != "state/node.lock") == \
            sorted(case["files_after"])
    for words in case.get("diff_contains", []):
        assert any(words in d["after"] for d in result["diff"]), result["diff"]


def test_busy_package_manager_is_waited_for_then_refused(tmp_path):
    """A held dpkg-style lock (fcntl, as apt takes it): waited for, then a failure naming the holder."""
    import fcntl  # pylint: disable=import-outside-toplevel
    import subprocess  # pylint: disable=import-outside-toplevel
    import sys  # pylint: disable=import-outside-toplevel
    lock = tmp_path / "lock-frontend"
    lock.write_text("")
    holder = subprocess.Popen([sys.executable, "-c", "import fcntl, sys, time\nf = open(sys.argv[1], 'w')\n"
                               "fcntl.lockf(f, fcntl.LOCK_EX)\nprint('held', flush=True)\ntime.sleep(60)\n",
                               str(lock)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        clock = iter(range(0, 100))
        with mock.patch.object(_mu_apply, "APT_LOCKS", (str(lock),)):
            with pytest.raises(_mu_apply.StepFailed) as err:
                _mu_apply.wait_for_package_manager("apt", 3, sleep=lambda s: None, clock=lambda: next(clock))
        assert "%s is held by process %d" % (lock, holder.pid) in err.value.reason
        assert "waited 3 s" in err.value.reason and "nothing was changed" in err.value.reason
    finally:
        holder.kill()
        holder.wait()
    with mock.patch.object(_mu_apply, "APT_LOCKS", (str(lock),)):
        assert _mu_apply.wait_for_package_manager("apt", 3) == 0
    assert fcntl  # the lock type apt uses is the one tested
