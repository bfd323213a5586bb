# Copyright: fuel.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The environment lock: exclusive, names its holder, released by its owner only."""

from __future__ import annotations

import pytest

from ansible_collections.fuel.lifecycle.plugins.module_utils import _env_lock as lock


def test_acquire_refuse_release(tmp_path):
    path = str(tmp_path / "sub" / "env.lock")
    assert lock.acquire(path, "run-a", "env_1", "mu_install")[0] is True
    assert lock.acquire(path, "run-a")[0] is False
    with pytest.raises(lock.LockHeld) as err:
        lock.acquire(path, "run-b")
    assert "env_1 is locked by run-a (purpose: mu_install" in str(err.value)
    assert path in str(err.value)
    with pytest.raises(lock.LockHeld):
        lock.release(path, "run-b")
    assert lock.release(path, "run-a")[0] is True
    assert lock.release(path, "run-a") == (False, None)


def test_check_mode_and_force(tmp_path):
    path = str(tmp_path / "env.lock")
    assert lock.acquire(path, "run-a", check_mode=True)[0] is True
    assert not (tmp_path / "env.lock").exists()
    lock.acquire(path, "run-a")
    assert lock.release(path, "run-b", force=True)[1]["owner"] == "run-a"
    assert not (tmp_path / "env.lock").exists()


def test_unreadable_lock_is_still_a_lock(tmp_path):
    path = tmp_path / "env.lock"
    path.write_text("garbage")
    with pytest.raises(lock.LockHeld, match="unreadable lock file"):
        lock.acquire(str(path), "run-a")
