# Two commands a new user runs: `make demo` and `make test`. Both create .venv on first use and are idempotent.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
# An older kubernetes client generation (<=36 sends watch=True), kept apart from .venv for the contract tests.
COMPAT_K8S_VERSION := 32.0.1
COMPAT := $(VENV)/compat/kubernetes-$(COMPAT_K8S_VERSION)
PYTEST_ARGS ?=

.PHONY: demo test lint bench reliability clean sandbox-down system-packages

# Strict editable mode: the installed tree is exactly the wheel's (one `xpchaos` namespace, nothing else on
# sys.path), linked to the sources, so mypy, import-linter and the tests see the package as its users import it.
# A module added or removed changes a folder's time stamp, which reinstalls (the link tree lists files).
PACKAGE_DIRS := $(sort $(dir $(wildcard src/xpchaos/*/ src/xpchaos/ actions/ probes/ steps/ sandbox/ sandbox/*/ experiments/ features/ deploy/ deploy/*/)))
$(INSTALLED): pyproject.toml $(PACKAGE_DIRS)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]' --config-settings editable_mode=strict
	touch $@

$(COMPAT)/.installed: | $(INSTALLED)
	rm -rf $(COMPAT)
	$(PY) -m pip install --quiet --no-warn-conflicts --target $(COMPAT) 'kubernetes==$(COMPAT_K8S_VERSION)'
	touch $@

demo: $(INSTALLED)
	$(VENV)/bin/xpchaos demo

# The DNS tests drive the real BIND9 tools (named, dig); the report's browser test a real headless Chromium
# (/usr/bin/chromium). Installed with apt-get when missing, as root; otherwise one line says what to install.
# Silent when all are present.
system-packages:
	@missing=""; packages=""; for tool in named dig; do \
	  command -v $$tool >/dev/null 2>&1 || [ -x /usr/sbin/$$tool ] || missing="$$missing $$tool"; done; \
	[ -z "$$missing" ] || packages=" bind9 bind9-dnsutils"; \
	[ -x /usr/bin/chromium ] || { missing="$$missing chromium"; packages="$$packages chromium fonts-liberation"; }; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing$$packages (missing:$$missing)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	      $$packages >/dev/null || exit 1; \
	  else \
	    echo "missing$$missing: install the Debian packages$$packages (apt-get install$$packages, as root)" >&2; \
	    exit 1; \
	  fi; \
	fi

# pytest exits 5 when it collected nothing; make treats that as the failure it is. Six workers on two cores, a test
# file each at a time: most tests wait on simulated controllers and sandbox processes rather than compute (four
# workers keep about one core busy, six about one and a half: tests/experiments, tests/reliability and tests/actions
# took 200 s with four and 149 s with six). The files are handed out longest first (--no-loadscope-reorder and
# tests/support/schedule.py), so that no long file starts last and runs alone at the end. PYTEST_WORKERS=N make test
# runs N; the suites of `make reliability` keep PYTEST_WORKERS's 4, the soaks two: they time interrupts against
# phases of a run.
# The shipped scenarios (features/) run once, as a user runs them: tests/packaging's user path runs
# `pytest features/ -m ci` and the gate from the built wheel, whose copies are these files (tests/packaging/
# test_sources.py); running them here as well would only run them twice. TEST_PATHS="tests features" adds them.
PYTEST_WORKERS ?= 4
SOAK_WORKERS ?= 2
TEST_WORKERS := $(if $(filter file,$(origin PYTEST_WORKERS)),6,$(PYTEST_WORKERS))
TEST_PATHS ?= tests
test: $(INSTALLED) $(COMPAT)/.installed lint system-packages
	XPCHAOS_COMPAT_K8S=$(abspath $(COMPAT)) $(VENV)/bin/pytest -n $(TEST_WORKERS) --dist loadfile \
	  --no-loadscope-reorder --durations=20 $(TEST_PATHS) $(PYTEST_ARGS)

# The reliability figures (README, "Reliability"): the long soak variants (-m soak: 30 interrupted runs, 30 killed
# runs then restored, 24 runs under API faults) and the suites whose every case must pass (bad input, RBAC, secrets,
# restore from anywhere, stalled watches, bounded events, honest retries, the network fault's keep and its
# unenforced case, one fault at a time), then the README table regenerated from what they measured. Exits non-zero when a figure does not hold. CI runs it
# after `make test`.
RELIABILITY_DIR := reports/reliability
RELIABILITY_SUITES := tests/corpus tests/deploy/rbac tests/test_house_rules.py tests/actions/test_undo_log.py \
	tests/run/gate/test_gate.py::test_blueprint_passes_and_no_credential_reaches_any_output \
	tests/reliability/test_restore_anywhere.py tests/probes/test_recorder_stalls.py \
	tests/probes/test_recorder_scope.py tests/reliability/test_api_retry.py tests/actions/test_network.py \
	tests/run/gameday/test_gameday.py::test_while_a_run_holds_the_target_every_other_run_is_refused
reliability: $(INSTALLED) $(COMPAT)/.installed system-packages
	rm -rf $(RELIABILITY_DIR) && mkdir -p $(RELIABILITY_DIR)
	XPCHAOS_RELIABILITY_DIR=$(abspath $(RELIABILITY_DIR)) $(VENV)/bin/pytest -n $(SOAK_WORKERS) --dist loadfile \
	  -m soak tests/reliability --junitxml $(RELIABILITY_DIR)/junit-soak.xml
	XPCHAOS_COMPAT_K8S=$(abspath $(COMPAT)) $(VENV)/bin/pytest -n $(PYTEST_WORKERS) --dist loadfile \
	  $(RELIABILITY_SUITES) --junitxml $(RELIABILITY_DIR)/junit-suites.xml
	$(PY) -m tests.reliability.table $(RELIABILITY_DIR)

# ruff, mypy, then the layer contract ([tool.importlinter] in pyproject.toml): an import that runs back up a layer
# (or into the sandbox) fails the build.
lint: $(INSTALLED)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache --no-logo

bench: $(INSTALLED)
	$(PY) -m bench

sandbox-down: $(INSTALLED)
	$(VENV)/bin/xpchaos sandbox down

clean:
	-$(VENV)/bin/xpchaos sandbox down 2>/dev/null
	rm -rf $(VENV) .xpchaos .pytest_cache .mypy_cache .ruff_cache *.egg-info
