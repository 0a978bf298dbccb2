"""Imported once by each Airflow Celery worker as it starts, before it forks its pool.

Airflow 3 runs every task in a process forked from the worker (``[core]
execute_tasks_new_python_interpreter`` is false by default), so what the worker has imported a
task process has too. Importing Great Expectations costs ~5.5 s per process even with compiled
bytecode; imported here, an ingest task pays it never instead of once per file. Every task
process also parses its DAG file first, and the DAG files import the feed catalog and the
settings (pydantic-settings): ~0.08 s of every task, on every task of an event's path, unless
the worker has them already. Wired in ``docker/compose.yaml`` and ``docker/cluster.py``
through Celery's own ``imports`` setting:

    AIRFLOW__CELERY__EXTRA_CELERY_CONFIG='{"imports": ["pipelines.quality.worker_preload"]}'

Nothing else imports this module: the DAG processor and the CLI never pay for it.
"""

import importlib

from pipelines.quality.validation import preload_validation

# What the DAG files import: every task process parses its DAG file before it runs.
DAG_IMPORTS = ("pipelines.feeds.catalog", "pipelines.platform.settings")

for module in DAG_IMPORTS:
    importlib.import_module(module)
preload_validation()
