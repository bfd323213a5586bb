"""Session fixtures of the lab integration tests.

``lab`` starts the default lab (1 RPM host as master, 1 controller, 2 computes)
once per session under build/lab-tests and takes it down at the end. Tests
that change a node call ``lab.reset(name)`` first, so each starts from the
deployed state.
"""

from __future__ import annotations

import os

import pytest
import yaml

from labfixture import REPO, Lab


@pytest.fixture(scope="session")
def lab():
    state = os.environ.get("FUEL_TEST_LAB_STATE", os.path.join(REPO, "build", "lab-tests"))
    running = Lab(state).up()
    yield running
    running.down()


def pytest_configure(config):
    config.addinivalue_line("markers", "vm: runs in the qemu VM lab (real LVM, /boot, reboots); select with -m vm")
    config.addinivalue_line("markers", "crash: failure-path VM scenarios of `make test-crash` (FUEL_CRASH_TEST=1)")


@pytest.fixture(scope="session")
def vm():
    """One qemu VM (master-vm) for every VM scenario of the session, powered off at the end."""
    from vmfixture import VM  # pylint: disable=import-outside-toplevel

    state = os.environ.get("FUEL_TEST_VM_STATE", os.path.join(REPO, "build", "vm-tests"))
    running = VM(state).up()
    yield running
    running.down()
    print("\nVM timings: %s" % ", ".join("%s %.1f s" % (t["what"], t["seconds"]) for t in running.timings))


@pytest.fixture(scope="module")
def master_vm(vm, lab):
    """The session VM made a deployed master, served by the chroot lab's mirror."""
    vm.lab("vm-master", "--mirror-state", lab.state_dir)
    with open(vm.inventory, encoding="utf-8") as handle:
        vm.mirror = yaml.safe_load(handle)["all"]["vars"]["fuel_lab_mirror_url"]
    return vm
