"""Session fixtures of the lab integration tests.

``lab`` starts the default lab (1 RPM host as master, 1 controller, 2 computes)
once per session under build/lab-tests and takes it down at the end. Tests
that change a node call ``lab.reset(name)`` first, so each starts from the
deployed state.
"""

from __future__ import annotations

import os

import pytest

from labfixture import REPO, Lab


@pytest.fixture(scope="session")
def lab():
    state = os.environ.get("FUEL_TEST_LAB_STATE", os.path.join(REPO, "build", "lab-tests"))
    running = Lab(state).up()
    yield running
    running.down()
