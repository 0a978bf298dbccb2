"""Imported once by each Airflow Celery worker as it starts, before it forks its pool.

Airflow 3 runs every task in a process forked from the worker (``[core]
execute_tasks_new_python_interpreter`` is false by default), so what the worker has imported a
task process has too. Importing Great Expectations costs ~5.5 s per process even with compiled
bytecode; imported here, an ingest task pays it never instead of once per file. Wired in
``docker/compose.yaml`` and ``docker/cluster.py`` through Celery's own ``imports`` setting:

    AIRFLOW__CELERY__EXTRA_CELERY_CONFIG='{"imports": ["pipelines.quality.worker_preload"]}'

Nothing else imports this module: the DAG processor and the CLI never pay for it.
"""

from pipelines.quality.validation import preload_validation

preload_validation()
