"""What can be checked of docker/ without a Docker engine: the compose file parses and points at
files that exist, secrets come from the environment, and the image is built on the locked Airflow
and Python from the lock, with the Makefile's uv and without the development tools."""

from __future__ import annotations

import re
import tomllib
from typing import Any

import pytest
import yaml
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from pipelines.platform.settings import PROJECT_ROOT

PROJECT = PROJECT_ROOT
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
    secrets = {
        f"{name}: {key}": str(value)
        for name, service in compose["services"].items()
        for key, value in (service.get("environment") or {}).items()
        if secret.search(key)
    }
    assert secrets, "the compose file names no secret: the pattern no longer matches its keys"
    assert {where: value for where, value in secrets.items() if "${" not in value} == {}


def test_every_file_the_image_copies_exists() -> None:
    dockerfile = (DOCKER / "Dockerfile").read_text()
    copied = re.findall(r"^COPY (?:--\S+ )*(.+) \S+$", dockerfile, flags=re.MULTILINE)
    sources = [source for line in copied for source in line.split()]
    assert {"pipelines", "sql", "expectations", "dags", "uv.lock"} <= set(sources)
    for source in sources:
        assert (PROJECT / source).exists(), source
    assert (DOCKER / "env.example").is_file()


def test_the_base_image_is_the_locked_airflow_and_a_supported_python() -> None:
    dockerfile = (DOCKER / "Dockerfile").read_text()
    match = re.search(r"^FROM apache/airflow:(\S+)-python(3\.\d+)$", dockerfile, re.MULTILINE)
    assert match, "FROM apache/airflow:<version>-python<3.x> expected"
    assert match[1] == locked_versions()["apache-airflow"]
    requires = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]
    assert Version(match[2]) in SpecifierSet(requires["requires-python"])


def test_the_image_installs_the_frozen_lock_without_dev_tools_using_the_makefiles_uv() -> None:
    dockerfile = (DOCKER / "Dockerfile").read_text()
    makefile = (PROJECT / "Makefile").read_text()
    uv_version = re.search(r"^UV_VERSION := (\S+)$", makefile, re.MULTILINE)
    export = re.search(r"uv export ([^&]+)", dockerfile)
    assert uv_version and export, "the Makefile pins uv and the Dockerfile runs `uv export`"
    flags = export[1].replace("\\", " ").split()

    assert f"pip install --no-cache-dir uv=={uv_version[1]} " in dockerfile
    # --frozen: the lock as committed, never re-resolved; --no-dev: no test tools in the image.
    assert {"--frozen", "--no-dev", "--no-emit-project"} <= set(flags)
    exported = flags[flags.index("--output-file") + 1]
    assert f"pip install --no-cache-dir -r {exported}" in dockerfile
