"""OpenLineage from the Sentra tasks: what each task run read and wrote, named as datasets.

Airflow's OpenLineage provider (``apache-airflow-providers-openlineage``) sends a START and a
COMPLETE (or FAIL) event for every task instance when a transport is configured (docs/lineage.md),
and nothing otherwise. It can only name datasets an operator tells it about, and a TaskFlow
``@task`` tells it nothing. So the tasks that move data use ``lineage_task`` instead of ``task``:
the same decorator, whose operator hands the provider the ``lineage`` entry of the task's result
(``{"inputs": [uri, ...], "outputs": [uri, ...]}``, from ``pipelines.app.usecases.DataFlow``)
through ``get_openlineage_facets_on_complete``, the provider's hook for operators that know their
own lineage.

Not the hook lineage collector (``get_hook_lineage_collector().add_input_asset``): it holds one
list per process, and ``dag.test()`` runs every task in one process, so each task would report
the datasets of every task before it as well. The result of one task instance is its own.

Imported by ``sentra_common`` at parse time, so only Airflow's own modules load here; the
OpenLineage client is imported when an event is built, in the task's process. Listed in
``.airflowignore``: no DAG here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from airflow.providers.standard.decorators.python import _PythonDecoratedOperator
from airflow.sdk.bases.decorator import task_decorator_factory

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage
    from airflow.sdk import Context
    from airflow.sdk.bases.decorator import TaskDecorator
    from openlineage.client.event_v2 import Dataset

LINEAGE_KEY = "lineage"


class LineageReportingOperator(_PythonDecoratedOperator):
    """A ``@task`` whose result's ``lineage`` entry becomes its OpenLineage inputs and outputs.

    ``reads``, given the task's keyword arguments, names what it is about to read, so the START
    event carries it too (a mapped ingest's landed file); the COMPLETE event has the result's.
    """

    def __init__(self, *, reads: Callable[..., list[str]] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.reads = reads

    def execute(self, context: Context) -> Any:
        result = super().execute(context)
        # Kept on the operator: the provider's listener asks this same instance once it succeeds.
        self.data_flow = result.get(LINEAGE_KEY) if isinstance(result, dict) else None
        return result

    def get_openlineage_facets_on_start(self) -> OperatorLineage[Dataset, Any]:
        return operator_lineage({"inputs": self.reads(**self.op_kwargs) if self.reads else []})

    def get_openlineage_facets_on_complete(
        self, task_instance: Any
    ) -> OperatorLineage[Dataset, Any]:
        return operator_lineage(getattr(self, "data_flow", None) or {})


def lineage_task(**kwargs: Any) -> TaskDecorator:
    """``@task(...)``, reporting what the task read and wrote to OpenLineage."""
    return task_decorator_factory(decorated_operator_class=LineageReportingOperator, **kwargs)


def operator_lineage(flow: dict[str, list[str]]) -> OperatorLineage[Dataset, Any]:
    from airflow.providers.openlineage.extractors import OperatorLineage

    return OperatorLineage(
        inputs=[dataset(uri) for uri in flow.get("inputs", [])],
        outputs=[dataset(uri) for uri in flow.get("outputs", [])],
    )


def dataset(uri: str) -> Dataset:
    """A storage location as the OpenLineage naming spec names it.

    ``s3://bucket/key`` is namespace ``s3://bucket``, name ``key``; a local path is namespace
    ``file``, name the absolute path (as the provider's own ``file://`` assets are named).
    """
    from openlineage.client.event_v2 import Dataset

    if uri.startswith("s3://"):
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        return Dataset(namespace=f"s3://{bucket}", name=key)
    return Dataset(namespace="file", name=uri)
