"""Domain code of the Fortnox year-end closing pipeline (no Airflow imports here)."""
