# One command sets up and runs the demo; one sets up and runs the tests (CI runs `make test`).
# Only Python 3.11 or 3.12 and the package registries are needed: uv is installed into .tools/.

PYTHON ?= python3
UV_VERSION := 0.13.8
UV := .tools/bin/uv
export UV_PYTHON_DOWNLOADS := never

.PHONY: setup demo test lint typecheck architecture pytest production-demo bench bench-smoke clean-data airflow airflow-e2e airflow-cluster

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# Bytecode is compiled once here: where PYTHONDONTWRITEBYTECODE is set, every process would
# otherwise recompile Great Expectations, pandas and pyarrow (tens of seconds per import).
setup: $(UV)
	$(UV) sync --frozen --compile-bytecode

demo: setup
	$(UV) run sentra demo

test: setup lint typecheck architecture pytest production-demo

# The demo in an environment with the runtime dependencies only (no dev group), as the Docker
# image and a production install have them: a module that only a test tool brings in fails here.
# `sentra demo` exits non-zero when any file fails (quarantines are expected and allowed).
PRODUCTION_VENV := .venv-production
PRODUCTION_DEMO_DATA := $(CURDIR)/data/production-demo
production-demo: $(UV)
	UV_PROJECT_ENVIRONMENT=$(PRODUCTION_VENV) $(UV) sync --frozen --no-dev --compile-bytecode
	rm -rf $(PRODUCTION_DEMO_DATA)
	SENTRA_LANDING=$(PRODUCTION_DEMO_DATA)/landing \
	SENTRA_LAKE=$(PRODUCTION_DEMO_DATA)/lake \
	SENTRA_WAREHOUSE=$(PRODUCTION_DEMO_DATA)/warehouse/sentra.duckdb \
	$(PRODUCTION_VENV)/bin/sentra demo

lint: setup
	$(UV) run ruff check pipelines dags docker tests benchmarks
	$(UV) run ruff format --check pipelines dags docker tests benchmarks

typecheck: setup
	$(UV) run mypy

# The import contract in pyproject.toml ([tool.importlinter]): layers, no cycles, no Airflow.
architecture: setup
	$(UV) run lint-imports

pytest: setup
	$(UV) run pytest -n 2

# Benchmarks against the plain-DuckDB limit, written into docs/benchmarks.md (not in `make test`).
# Inputs are generated once into data/bench/; BENCH_SCALE=smoke|medium|national.
BENCH_SCALE ?= national
BENCH_REPEATS ?= 3
bench: setup
	$(UV) run python -m benchmarks.run --scale $(BENCH_SCALE) --repeats $(BENCH_REPEATS)

clean-data:
	rm -rf data

# The Airflow UI on the embedded defaults (docs/airflow.md): SQLite metadata in ./airflow_home,
# the landing store ./data/landing watched by the DAGs. Drop files into data/landing/registry/.
AIRFLOW_PORT ?= 8080
airflow: setup
	mkdir -p airflow_home data/landing/registry
	AIRFLOW_HOME=$(CURDIR)/airflow_home \
	AIRFLOW__CORE__DAGS_FOLDER=$(CURDIR)/dags \
	AIRFLOW__CORE__LOAD_EXAMPLES=False \
	AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION=False \
	AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS=admin:admin \
	AIRFLOW__API__HOST=127.0.0.1 \
	AIRFLOW__API__PORT=$(AIRFLOW_PORT) \
	AIRFLOW__API__BASE_URL=http://localhost:$(AIRFLOW_PORT) \
	AIRFLOW__CORE__EXECUTION_API_SERVER_URL=http://localhost:$(AIRFLOW_PORT)/execution/ \
	PYTHONPATH=$(CURDIR)/dags \
	SENTRA_LANDING=$${SENTRA_LANDING:-$(CURDIR)/data/landing} \
	SENTRA_LAKE=$${SENTRA_LAKE:-$(CURDIR)/data/lake} \
	SENTRA_WAREHOUSE=$${SENTRA_WAREHOUSE:-$(CURDIR)/data/warehouse/sentra.duckdb} \
	SENTRA_ALLOW_DEMO_SALT=$${SENTRA_ALLOW_DEMO_SALT:-true} \
	$(UV) run airflow standalone

# The multi-process deployment on this machine (docs/airflow.md): throwaway PostgreSQL, Redis and
# moto (S3 + SQS), API server, scheduler, DAG processor, triggerer and two Celery workers, all on
# 127.0.0.1. Needs the postgresql and redis-server OS packages; Ctrl-C tears it all down.
airflow-cluster: setup
	$(UV) run python -m docker.cluster up

# The end-to-end tests with a real scheduler, triggerer and moto server (a few minutes).
airflow-e2e: setup
	$(UV) run pytest -m airflow_e2e -p no:xdist -v -s
