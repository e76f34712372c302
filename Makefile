# Alongside — build and run plumbing. Every target first runs scripts/setup.sh, which is instant
# when nothing changed (fresh clone: creates .venv, installs deps, vendors socket.io client).

PYTHON      := .venv/bin/python
PYTEST_ARGS ?=
QUICK       ?=

.PHONY: all setup setup-test run test bench lint clean

all: test

setup:
	bash scripts/setup.sh

setup-test:
	bash scripts/setup.sh --test

run: setup
	.venv/bin/alongside serve --demo

test: setup-test
	bash bench/setup.sh
	$(PYTHON) -m pytest -q $(PYTEST_ARGS)

bench: setup
	bash bench/setup.sh
	$(PYTHON) -m bench.run $(if $(QUICK),--quick,)

lint: setup-test
	.venv/bin/ruff check server plugins tests
	.venv/bin/mypy

clean:
	rm -rf var/
	rm -f .venv/.installed-*
