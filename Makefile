# The two commands a new user needs: `make run` and `make test`. Both create the
# environment from uv.lock first; nothing is installed by hand.
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
# uv must use the machine's Python and the lock as committed.
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(PYTHON)

.PHONY: run test pytest lint format env clean airflow-ui serve dashboards chromium

env: $(VENV)/.synced

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# --compile-bytecode: every dbt, Airflow and test process imports about 1,300 modules; with
# PYTHONDONTWRITEBYTECODE set (as on these machines) Python would compile them all from source
# in every process (about 2 s of CPU per dbt command). Compiled once here, in parallel.
$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --extra simulator --extra dashboards --extra spark --compile-bytecode
	@touch $@

## run: the nightly job on the embedded default (generates a synthetic bank if the landing area is empty)
run: env
	$(BIN)/bankdw run --simulate-if-empty

## serve: the published marts over PostgreSQL on 127.0.0.1:$BANKDW_SERVE_PORT (default 5433), until stopped (docs/serving.md)
serve: env
	$(BIN)/bankdw serve

## dashboards: the dashboards (Streamlit) on http://127.0.0.1:$BANKDW_DASHBOARDS_PORT (default 8501) over the served warehouse, until stopped (docs/dashboards.md)
# Uses `make serve` when it runs (BANKDW_SERVE_PORT), else starts the server for as long as they run.
# Port and login are settings (dashboards_port, dashboards_login: docs/configuration.md).
dashboards: env
	$(BIN)/python dashboards/run.py

## chromium: Debian's headless browser, which tests/test_dashboards.py drives (installed as root)
# Playwright drives it (never `playwright install`: it downloads a browser build, which fails here).
CHROMIUM := /usr/bin/chromium
chromium: $(CHROMIUM)
$(CHROMIUM):
	@if [ "$$(id -u)" != 0 ]; then echo "$@ is missing: as root, apt-get install -y chromium" >&2; exit 1; fi
	DEBIAN_FRONTEND=noninteractive apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null

## test: lint and the whole test suite side by side, naming the 15 slowest tests
# Lint (mostly mypy and sqlfluff, single-threaded) runs beside the tests rather than before
# them: the suite's first minutes leave a core idle while one worker builds the shared bank.
# Either failing fails `make test`; `make lint` alone is the quick check before a commit.
test: env
	@$(MAKE) --no-print-directory -j2 lint pytest

# One test file per worker: the module-scoped warehouses and Airflow's database stay in one
# process. The shared bank and published warehouse (tests/conftest.py) are built once for all;
# files start in the order of SLOWEST_FIRST there (--no-loadscope-reorder keeps it).
# One worker more than the machine has cores: many tests wait on processes of their own (dbt's
# child, Airflow's scheduler and API server, PostgreSQL, the browser, Spark's JVM), and a worker
# per core left a core idle meanwhile. On 2 shared cores, lint beside, pytest's wall time per
# CPU-second `make test` used (the host's load moves both): 2 workers 0.60 and 0.57 (pytest
# 10:14 and 13:12), 3 workers 0.57, 0.56 and 0.55 (8:53, 10:48 and 12:26): a few per cent.
# A fourth gains nothing: 20:42 against 20:28 with 3 on one machine. /proc/stat shows both cores
# busy for the whole run with 3 workers as with 4 (2.0 cores on average, sampled every 10 s): the
# suite is CPU bound, and only less CPU makes it faster: bench/bench_suite_cpu.py says which
# tests spend it (docs/performance.md).
PYTEST_WORKERS ?= $(shell echo $$(( $$(nproc) + 1 )))
pytest: env
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder --durations=15

lint: env
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	cd dbt_project && ../$(BIN)/sqlfluff lint models tests macros analyses

format: env
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
	cd dbt_project && ../$(BIN)/sqlfluff fix models tests macros analyses

## airflow-ui: Airflow standalone (UI on http://localhost:8080) with this project's DAGs
# Tasks run in processes of their own: the data dir is passed as an absolute path. Standalone
# starts its scheduler, API server and DAG processor as `airflow ...` from PATH: the venv's
# bin goes first, so that it works with the venv not activated.
AIRFLOW_HOME ?= $(CURDIR)/.airflow
airflow-ui: env
	PATH=$(CURDIR)/$(BIN):$$PATH AIRFLOW_HOME=$(AIRFLOW_HOME) AIRFLOW__CORE__DAGS_FOLDER=$(CURDIR)/dags \
	AIRFLOW__CORE__LOAD_EXAMPLES=False BANKDW_DATA_DIR=$(abspath $(or $(BANKDW_DATA_DIR),data)) \
	$(BIN)/airflow standalone

clean:
	rm -rf $(VENV) $(TOOLS) .mypy_cache .ruff_cache .pytest_cache dbt_project/target dbt_project/logs
