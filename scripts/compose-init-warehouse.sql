-- The warehouse lives beside Airflow's metadata database in the compose stack.
CREATE DATABASE warehouse OWNER airflow;
