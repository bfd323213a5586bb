# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The environment lock: exclusive per run, names its holder and how to break it."""

from __future__ import annotations

import pytest

from ansible_collections.fuel.lifecycle.plugins.module_utils import _env_lock as lock


def params(path, **extra):
    base = {"path": path, "owner": "ops", "run_id": "r1", "state": "present", "scope": "env_1",
            "purpose": "mu_install"}
    base.update(extra)
    return base


def test_two_runs_of_one_owner_never_share(tmp_path):
    path = str(tmp_path / "sub" / "env.lock")
    assert lock.apply(params(path), now=100.0)["changed"] is True
    assert lock.apply(params(path))["changed"] is False
    with pytest.raises(lock.LockHeld) as err:
        lock.apply(params(path, run_id="r2", break_hint="-e fuel_mu_break_lock=true"))
    assert "env_1 is locked by ops (run r1) (purpose: mu_install, since 1970-01-01 00:01:40 UTC" in str(err.value)
    assert "rerun with -e fuel_mu_break_lock=true" in str(err.value)
    with pytest.raises(lock.LockHeld):
        lock.apply(params(path, run_id="r2", state="absent"))
    assert lock.apply(params(path, state="absent"))["event"] == "released"


def test_describe_survives_odd_holders():
    assert "an unknown owner" in lock.describe("/l", {})
    assert "an unknown time" in lock.describe("/l", {"since": float("inf") if False else 1e300})
    assert "process ? on controller x" in lock.describe("/l", {"controller": {"host": "x"}})
