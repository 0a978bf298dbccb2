"""Sentra IKM revitalisation pipeline: ingest, validate and score Indonesia's sentra IKM.

Plain Python with no Airflow imports; the DAGs in ``dags/`` call into this package.
"""
