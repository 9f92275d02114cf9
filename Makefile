# Sparkify pipeline. `make demo` and `make test` work from a fresh clone.
# Python 3.10 to 3.13: PYTHON=python3.12 make demo picks one, else tools/pick-python takes the newest on PATH.
VENV   := .venv
PY     := $(VENV)/bin/python
STACK  := PYTHONPATH=include:plugins $(PY) -m local_stack
START  ?= 2018-11-15T00:00:00Z
END    ?= 2018-11-16T00:00:00Z
RUNS      ?= 4
REPROCESS ?= completed

# Make arguments reach the programs as data, never as shell code. Each is exported unexpanded
# ($(value ...) into a simply expanded variable, which make does not expand again) and recipes
# read it from the environment, quoted: "$$ARG_START". Pasting "$(START)" into a recipe instead
# would run START='`cmd`' or START='$$(cmd)', and make itself would run START='$(shell cmd)'.
# tests/unit/test_makefile_arguments.py checks every one of them.
export ARG_START     := $(value START)
export ARG_END       := $(value END)
export ARG_RUNS      := $(value RUNS)
export ARG_REPROCESS := $(value REPROCESS)
export ARG_DATA      := $(value DATA)
export ARG_CFG       := $(value CFG)
export ARG_OUT       := $(value OUT)
export ARG_SCALE     := $(value SCALE)
export ARG_ARGS      := $(value ARGS)
export ARG_DAYS      := $(value DAYS)
export ARG_EXAMPLES  := $(value EXAMPLES)
export ARG_ROUNDS    := $(value ROUNDS)
export ARG_FETCH     := $(value FETCH)
export ARG_EXECUTOR  := $(value EXECUTOR)
# ...and the originals are not exported: make would expand them (running $(shell ...)) to do so.
unexport START END RUNS REPROCESS DATA CFG OUT SCALE ARGS EXAMPLES ROUNDS FETCH EXECUTOR

.DEFAULT_GOAL := help
.PHONY: help install demo test test-fast up down status seed run summary lint clean

help:  ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

install:  ## create .venv (PYTHON=..., else the newest Python 3.10-3.13 on PATH) and install its pinned lock
	@PYTHON="$(PYTHON)" tools/make-venv $(VENV)

demo: install  ## start the stack, seed sample data, run 2018-11-15 hour by hour, print a summary
	$(STACK) demo

test: install chromium  ## run the whole test suite (it starts its own stack on free ports), all but `make stress`
	$(PY) -m pytest -m "not stress" --durations=15

test-fast: install  ## unit and DAG-integrity tests only, without the slow ones: no servers, under a minute
	$(PY) -m pytest tests/unit tests/dags -m "not slow"

.PHONY: fidelity
fidelity: install  ## Redshift's documented SQL through the emulator (tests/fidelity): passes per area, report in docs/redshift-fidelity.md
	FIDELITY_REPORT=docs/redshift-fidelity.md $(PY) -m pytest tests/fidelity -q

.PHONY: fuzz
fuzz: install  ## make fuzz [EXAMPLES=20000]: the COPY loader's property-based fuzz test, far longer than in `make test` (200 examples)
	FUZZ_EXAMPLES="$${ARG_EXAMPLES:-20000}" $(PY) -m pytest tests/unit/test_loader_fuzz.py -q

.PHONY: stress
stress: install  ## make stress [ROUNDS=5]: issue 13's stress test, 48-hour parallel backfills until 200+ runs (report in test-artifacts/); a whole day's hours in shuffled order
	STRESS_ROUNDS="$${ARG_ROUNDS:-5}" $(PY) -m pytest tests/live/test_stress_backfill.py tests/integration/test_run_semantics.py \
	  -m stress -k "busy_parallel_backfills or all_24_hours" -q -s

.PHONY: stress-month
stress-month: install  ## make stress-month [DAYS=30]: a month of hourly runs, 4 at a time, under Redshift's rules: peak tables, serialization failures; report in test-artifacts/
	STRESS_MONTH_DAYS="$${ARG_DAYS:-30}" $(PY) -m pytest tests/live/test_stress_backfill.py -m stress -k month_backfill -q -s

.PHONY: chromium
chromium:  ## Debian's Chromium for the browser tests, installed with apt-get when missing
	@test -x /usr/bin/chromium || { echo "Installing Debian's chromium for the browser tests"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; }

up: install  ## start the local warehouse (127.0.0.1:5439), S3 (127.0.0.1:5000) and Airflow (localhost:8080); EXECUTOR=celery: Redis + 2 Celery workers
	$(STACK) up $${ARG_EXECUTOR:+--executor "$$ARG_EXECUTOR"}

down: install  ## stop them
	$(STACK) down

status: install  ## print the endpoints
	$(STACK) status

seed: install  ## make seed DATA=<folder>: replace the bucket's contents with a folder
	@test -n "$$ARG_DATA" || { echo "usage: make seed DATA=<folder in the bucket layout>"; exit 2; }
	$(STACK) seed "$$ARG_DATA"

run: install  ## make run START=<iso> END=<iso>: one DAG run over [START, END)
	$(STACK) run "$$ARG_START" "$$ARG_END"

.PHONY: backfill
backfill: install  ## make backfill START=<iso> END=<iso> [RUNS=4] [REPROCESS=completed]: hourly runs on the live scheduler, with progress
	$(STACK) backfill "$$ARG_START" "$$ARG_END" --runs "$$ARG_RUNS" --reprocess "$$ARG_REPROCESS"

summary: install  ## print the star schema's rows, the latest run's staging rows, top songs and plays per hour
	$(STACK) summary

.PHONY: airflow
airflow: install  ## make airflow ARGS='dags list': the airflow CLI of the Airflow that `make up` starts
	$(STACK) airflow --line "$$ARG_ARGS"  # split with shlex, as a shell would, but never run as code

.PHONY: bench
bench: install  ## make bench [SCALE=small|tiny]: our loads vs floors and peers, on a private stack; table + bench-results/*.json
	PYTHONPATH=plugins:include:. $(PY) -m bench $${ARG_SCALE:+--scale "$$ARG_SCALE"}

.PHONY: report import-dwh-cfg
report: install  ## run the analytics queries on the local warehouse: tables here, HTML report in reports/; FETCH=latest: the DAG's newest page from S3
	PYTHONPATH=include:plugins $(PY) -m local_stack.make_report $${ARG_FETCH:+--fetch "$$ARG_FETCH"}

import-dwh-cfg: install  ## make import-dwh-cfg CFG=<dwh.cfg> [OUT=.env.dwh]: Airflow connections and Variables
	@test -n "$$ARG_CFG" || { echo "usage: make import-dwh-cfg CFG=<path to dwh.cfg> [OUT=<env file, default .env.dwh>]"; exit 2; }
	PYTHONPATH=include:plugins $(PY) -m local_stack.dwh_cfg "$$ARG_CFG" $${ARG_OUT:+--out "$$ARG_OUT"}

# The lock: requirements.txt is compiled from requirements.in (the direct dependencies, each with
# why). pip, setuptools and wheel stay unpinned, as before the lock was compiled (see docs/development.md).
PIP_COMPILE := CUSTOM_COMPILE_COMMAND="make lock" $(VENV)/bin/pip-compile --quiet --strip-extras \
	--no-emit-index-url --no-emit-find-links --unsafe-package pip --unsafe-package setuptools --unsafe-package wheel

.PHONY: lock
lock: install  ## recompile requirements.txt from requirements.in (pip-compile, needs the package index; minutes)
	$(PIP_COMPILE) --output-file requirements.txt requirements.in
	@echo "Now regenerate the Python 3.10 lock: python3.10 -m venv /tmp/py310 && /tmp/py310/bin/python tools/lock_for_python.py > requirements-py3.10.txt"

lint: install  ## ruff, with Airflow's AIR rules, over every Python folder
	$(VENV)/bin/ruff check .

.PHONY: check format
check: install  ## what CI runs before the tests: ruff check, ruff format --check, mypy (config: pyproject.toml)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: install  ## ruff format: rewrite the Python files in the project's format
	$(VENV)/bin/ruff format .

clean: down  ## stop the stack and delete its state (.local/)
	rm -rf .local
