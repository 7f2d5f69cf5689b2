"""Airflow adapters for Fortnox (the logic lives in include/fortnox)."""
