# Two commands for a fresh Debian 12 machine, as root:
#   make demo   install everything, build the lab, run the collection against it
#   make test   install everything, run every test (what CI runs)
.PHONY: setup demo test lab-up lab-down lab-status clean

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
	rm -rf build .venv
