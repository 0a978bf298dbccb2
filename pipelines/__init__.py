"""Sentra IKM revitalisation pipeline: ingest, validate and score Indonesia's small-industry centres.

Plain Python with no Airflow imports; the DAGs in ``dags/`` call into this package.
"""
