# The README's two commands (`make run`, `make test`) bootstrap .venv on first use.
# The interpreter .venv is made with (`make clean-venv` and `make PYTHON=python3.13 test` to
# choose another). By default the system's python3 when it is 3.11 or newer and can make a venv,
# else python3: Debian's CPython (3.11.2, built with PGO and LTO, libpython linked in) ran a
# 10x-agent rmsc04 day 13% faster than pyenv's 3.11.7 here (no PGO, shared libpython).
# Recursive (`=`): probed only when .venv is made.
SYSTEM_PYTHON = $(shell /usr/bin/python3 -c 'import sys, ensurepip, venv; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && echo /usr/bin/python3)
PYTHON ?= $(or $(SYSTEM_PYTHON),python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test test-all chromium bench lint lab mutate clean-venv

# Rebuilt when pyproject.toml or setup.py changes, so a new dependency is never missed.
# Everything: the dev tools and every extra (gate, service, cluster, lab).
$(STAMP): pyproject.toml setup.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,all]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/bondlab run scenarios/baseline.toml

test: $(STAMP) chromium
	$(BIN)/python -m pytest -q -m "not slow" -n 2

test-all: $(STAMP) chromium
	$(BIN)/python -m pytest -q -n 2

# The report's tests (tests/report) render it in Debian's headless chromium: installed when
# missing (as root, as CI runs), refreshing the package lists only if the install needs it.
APT_INSTALL := DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends
chromium:
	command -v chromium >/dev/null || $(APT_INSTALL) chromium \
		|| { apt-get update -q && $(APT_INSTALL) chromium; }

# JupyterLab on the repository, on loopback only; it prints the URL with its token. Jupyter
# refuses to run as root (containers often do) unless told to.
lab: $(STAMP)
	$(BIN)/jupyter lab --no-browser --ip=127.0.0.1 --ServerApp.root_dir=$(CURDIR) \
		$(if $(filter 0,$(shell id -u)),--allow-root)

# The benchmarks also need the benchmark-only extra (NautilusTrader, for bench_replay.py).
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[nautilus]'
	$(BIN)/python -m benchmarks.run

# Mutation testing with cosmic-ray, one session per module scoped to its own tests (tests/MUTATION.md).
# Not part of CI: hours for every module. Sequential, one mutant at a time at the lowest priority,
# resumable (interrupt and run again); `make mutate MODULE=ledger` for one module (names:
# `make mutate MUTATE_ARGS=--list`), MUTATE_ARGS=--fresh to start over, --report for the scores.
MODULE ?=
MUTATE_ARGS ?=
mutate: $(STAMP)
	nice -n 19 $(BIN)/python tests/mutation/run.py $(MUTATE_ARGS) $(MODULE)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

clean-venv:
	rm -rf $(VENV)
