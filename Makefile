# Every target creates .venv when it is missing, so a fresh clone needs nothing but Python 3.11.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-shifted bench lint install

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/scopewatch demo

# Most tests wait (on sockets, subprocesses, PostgreSQL) rather than compute: three pytest-xdist
# workers finish the suite in about a sixth of the serial time on two cores. WORKERS=0 runs it
# in one process.
WORKERS ?= 3
XDIST   := $(if $(filter 0,$(WORKERS)),-p no:xdist,-n $(WORKERS))

test: $(STAMP)
	$(BIN)/python -m pytest $(XDIST)

# The suite again with the wall clock of every Python process moved by time-machine
# (tests/shifted/sitecustomize.py): a year ahead, and to the turn of an ISO year (2026 has a
# week 53). `make test-shifted SHIFT_DATES=2027-01-04 PYTEST_ARGS=tests/reports` runs a part.
# Tests marked `dateless` (slow, and no date in them) are left out.
SHIFT_DATES ?= 2027-12-03 2027-01-04
PYTEST_ARGS ?=
test-shifted: $(STAMP)
	set -e; for day in $(SHIFT_DATES); do \
	  echo "test-shifted: the wall clock moved to $$day"; \
	  SCOPEWATCH_SHIFT_CLOCK_TO=$$day PYTHONPATH="$(CURDIR)/tests/shifted$${PYTHONPATH:+:$$PYTHONPATH}" \
	    $(BIN)/python -m pytest $(XDIST) -m "not dateless" $(PYTEST_ARGS); \
	done

bench: $(STAMP)
	$(BIN)/python -m bench

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
