# Two commands for a fresh Debian 12 machine, as root:
#   make demo   install everything, build the lab, run the collection against it
#   make test   install everything, run every test (what CI runs)
.PHONY: setup demo test test-crash lab-up lab-down lab-status clean benchmarks

setup:
	./scripts/setup.sh

demo: setup
	./scripts/demo.sh

test: setup
	./scripts/run-tests.sh

lab-up: setup
	.venv/bin/python -m lab up

lab-down:
	.venv/bin/python -m lab down

lab-status:
	.venv/bin/python -m lab status

clean: lab-down
	rm -rf build .venv .venv-sanity .venv-legacy

# Benchmarks print figures; they are never part of `make test`.
# `make bench-versions` runs benchmarks/versions.py, and so on.
bench-%: setup
	PATH="$(CURDIR)/.venv/bin:$$PATH" PYTHONPATH="$(CURDIR):$(CURDIR)/build/collections:$(CURDIR)/tests/unit" ANSIBLE_CONFIG="$(CURDIR)/ansible.cfg" .venv/bin/python benchmarks/$*.py

benchmarks:
	@ls benchmarks/*.py 2>/dev/null | sed 's|benchmarks/\(.*\)\.py|make bench-\1|'

# The crash-point matrix of the master upgrade in the qemu VM (slow; not part of `make test`):
# every task boundary of update and rollback killed, then the documented next step; and the
# snapshot overflow -> refused rollback -> recover path.
test-crash: setup
	FUEL_CRASH_TEST=1 FUEL_INTEGRATION_ARGS="-m crash -s" ./scripts/run-tests.sh integration
