"""Airflow-facing pieces shared by the DAGs: assets and connection lookups."""
