# Two commands a new user runs: `make demo` and `make test`. Both create .venv on first use and are idempotent.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
# An older kubernetes client generation (<=36 sends watch=True), kept apart from .venv for the contract tests.
COMPAT_K8S_VERSION := 32.0.1
COMPAT := $(VENV)/compat/kubernetes-$(COMPAT_K8S_VERSION)
PYTEST_ARGS ?=

.PHONY: demo test lint bench clean sandbox-down

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

$(COMPAT)/.installed: | $(INSTALLED)
	rm -rf $(COMPAT)
	$(PY) -m pip install --quiet --no-warn-conflicts --target $(COMPAT) 'kubernetes==$(COMPAT_K8S_VERSION)'
	touch $@

demo: $(INSTALLED)
	$(VENV)/bin/xpchaos demo

# pytest exits 5 when it collected nothing; make treats that as the failure it is.
test: $(INSTALLED) $(COMPAT)/.installed lint
	XPCHAOS_COMPAT_K8S=$(abspath $(COMPAT)) $(VENV)/bin/pytest $(PYTEST_ARGS)

lint: $(INSTALLED)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

bench: $(INSTALLED)
	$(PY) -m bench

sandbox-down: $(INSTALLED)
	$(VENV)/bin/xpchaos sandbox down

clean:
	-$(VENV)/bin/xpchaos sandbox down 2>/dev/null
	rm -rf $(VENV) .xpchaos .pytest_cache .mypy_cache .ruff_cache *.egg-info
