# Alongside — build and run plumbing. Every target first runs scripts/setup.sh, which is instant
# when nothing changed (fresh clone: creates .venv, installs deps, vendors socket.io client).

PYTHON      := .venv/bin/python
PYTEST_ARGS ?=
QUICK       ?=
# The import-linter contracts `make lint` checks (ids in pyproject.toml's [tool.importlinter]).
LINT_CONTRACTS ?= domain-pure store-no-transport plugins-tool-api http-not-realtime
LINT_PATHS  := server plugins tests bench devtools docs/screenshots/make.py

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

# ruff; mypy --strict over server and plugins ([tool.mypy]); the layer contracts.
lint: setup-test
	.venv/bin/ruff check $(LINT_PATHS)
	.venv/bin/mypy
	.venv/bin/lint-imports --no-cache --no-logo $(addprefix --contract ,$(LINT_CONTRACTS))

clean:
	rm -rf var/
	rm -f .venv/.installed-*
