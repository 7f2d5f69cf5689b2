"""The Integrations view (Airflow UI plugin); the plugin class is in integrations_plugin.py."""
