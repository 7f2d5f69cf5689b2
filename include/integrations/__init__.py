"""The Integrations view's domain logic, without Airflow: OAuth state, CSRF, company status.

The Airflow side (the FastAPI app mounted on the API server, Airflow's login and
permissions) is ``plugins/integrations``.
"""
