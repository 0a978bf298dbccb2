"""The ``airflow standalone`` end-to-end tests here are opt-in (marker ``airflow_e2e``, see
docs/airflow.md); the cluster test (test_cluster.py) has no marker and runs in the default suite."""

from __future__ import annotations

import pytest

E2E = "airflow_e2e"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{E2E}: starts airflow standalone (minutes); run with `-m {E2E}`"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Selected explicitly (make airflow-e2e) they run; in the default suite they are skipped.
    if E2E in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason=f"end-to-end with airflow standalone: run `pytest -m {E2E}`")
    for item in items:
        if item.get_closest_marker(E2E):
            item.add_marker(skip)
