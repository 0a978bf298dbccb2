"""Deployment harnesses. A package so that ``python -m docker.cluster`` runs from the repository
root, and so that cluster workers can import ``docker.cluster.worker_hostname``.

It shadows the ``docker`` SDK (a development-only dependency of moto, used only by moto's Lambda
and Batch mocks, which this project never starts) wherever the repository root comes first on
``sys.path``.
"""
