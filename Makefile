# One command sets up and runs the demo; one sets up and runs the tests (CI runs `make test`).
# Only Python 3.11 or 3.12 and the package registries are needed: uv is installed into .tools/.

PYTHON ?= python3
UV_VERSION := 0.13.8
UV := .tools/bin/uv
export UV_PYTHON_DOWNLOADS := never

.PHONY: setup demo test lint typecheck pytest bench-smoke clean-data

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

setup: $(UV)
	$(UV) sync --frozen

demo: setup
	$(UV) run sentra demo

test: setup lint typecheck pytest

lint: setup
	$(UV) run ruff check pipelines dags tests
	$(UV) run ruff format --check pipelines dags tests

typecheck: setup
	$(UV) run mypy

pytest: setup
	$(UV) run pytest -n 2

clean-data:
	rm -rf data
