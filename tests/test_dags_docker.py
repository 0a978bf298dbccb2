"""What can be checked of docker/ without a Docker engine: the compose file parses and points at
files that exist, secrets come from the environment, and the image's requirements resolve from
the lock exactly as its Dockerfile exports them."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

PROJECT = Path(__file__).resolve().parent.parent
DOCKER = PROJECT / "docker"
AIRFLOW_SERVICES = {
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker-1",
    "airflow-worker-2",
}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    parsed: dict[str, Any] = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    return parsed


def locked_versions() -> dict[str, str]:
    lock = tomllib.loads((PROJECT / "uv.lock").read_text())
    return {package["name"]: package["version"] for package in lock["package"]}


def test_compose_has_postgres_redis_minio_and_the_airflow_services(
    compose: dict[str, Any],
) -> None:
    assert {"postgres", "redis", "minio", "minio-init"} | AIRFLOW_SERVICES <= set(
        compose["services"]
    )
    for name in AIRFLOW_SERVICES:
        service = compose["services"][name]
        build = service["build"]
        assert (DOCKER / build["context"]).resolve() == PROJECT
        assert (PROJECT / build["dockerfile"]).is_file()
        env = service["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
        assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://")
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql")
        assert env["SENTRA_LANDING"].startswith("s3://") and env["AWS_ENDPOINT_URL"]
    workers = [compose["services"][f"airflow-worker-{n}"] for n in (1, 2)]
    assert all(worker["command"] == "celery worker" for worker in workers)
    assert workers[0]["hostname"] != workers[1]["hostname"]


def test_secrets_come_from_the_environment_only(compose: dict[str, Any]) -> None:
    secret = re.compile(r"PASSWORD|SECRET|FERNET|_KEY$")
    for name, service in compose["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if secret.search(key):
                assert "${" in str(value), f"{name}: {key} must come from the environment"


def test_every_file_the_image_copies_exists() -> None:
    dockerfile = (DOCKER / "Dockerfile").read_text()
    copied = re.findall(r"^COPY (?:--\S+ )*(.+) \S+$", dockerfile, flags=re.MULTILINE)
    sources = [source for line in copied for source in line.split()]
    assert {"pipelines", "sql", "expectations", "dags", "uv.lock"} <= set(sources)
    for source in sources:
        assert (PROJECT / source).exists(), source
    assert (DOCKER / "env.example").is_file()


def test_the_base_image_is_the_locked_airflow_and_python() -> None:
    dockerfile = (DOCKER / "Dockerfile").read_text()
    match = re.search(r"^FROM apache/airflow:(\S+)-python(3\.\d+)$", dockerfile, re.MULTILINE)
    assert match, "FROM apache/airflow:<version>-python<3.x> expected"
    assert match[1] == locked_versions()["apache-airflow"]
    requires = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]
    assert match[2] in ("3.11", "3.12"), requires["requires-python"]


def test_the_image_requirements_resolve_from_the_lock() -> None:
    uv = PROJECT / ".tools" / "bin" / "uv"
    command = str(uv) if uv.exists() else shutil.which("uv")
    if command is None:
        pytest.skip("uv is not installed (make setup installs it into .tools/)")
    # The same export the Dockerfile runs.
    dockerfile = (DOCKER / "Dockerfile").read_text()
    assert "uv export --frozen --no-dev --no-emit-project --no-hashes" in dockerfile
    exported = subprocess.run(
        [command, "export", "--frozen", "--no-dev", "--no-emit-project", "--no-hashes"],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    pins = {}
    for line in exported.splitlines():
        requirement = line.split(";")[0].strip()
        if requirement and not requirement.startswith(("#", "-")):
            name, _, version = requirement.partition("==")
            assert version, f"not pinned: {line}"
            pins[name.strip().lower()] = version.strip()
    locked = locked_versions()
    assert pins["apache-airflow"] == locked["apache-airflow"]
    assert {"great-expectations", "duckdb", "apache-airflow-providers-amazon"} <= set(pins)
    assert "pytest" not in pins, "development tools do not belong in the image"
    for name, version in pins.items():
        assert locked.get(name) == version, f"{name}=={version} is not what uv.lock holds"
