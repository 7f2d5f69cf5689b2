#!/usr/bin/env bash
# PostgreSQL's first start (docker-entrypoint-initdb.d, a new data volume): one role and one
# database for Airflow's metadata, another role and database for the warehouse (and the Fortnox
# token store in it). Neither role is a superuser; each owns only its own database, and PUBLIC
# may not connect to either. Passwords reach psql as variables, quoted by psql itself.
set -euo pipefail
: "${AIRFLOW_DB_PASSWORD:?set AIRFLOW_DB_PASSWORD}"
: "${WAREHOUSE_DB_PASSWORD:?set WAREHOUSE_DB_PASSWORD}"
psql --no-psqlrc -v ON_ERROR_STOP=1 \
  --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-postgres}" \
  -v airflow_role="${AIRFLOW_DB_ROLE:-airflow}" \
  -v airflow_password="$AIRFLOW_DB_PASSWORD" \
  -v warehouse_role="${WAREHOUSE_DB_ROLE:-warehouse}" \
  -v warehouse_password="$WAREHOUSE_DB_PASSWORD" <<'SQL'
CREATE ROLE :"airflow_role" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'airflow_password';
CREATE DATABASE :"airflow_role" OWNER :"airflow_role";
REVOKE ALL ON DATABASE :"airflow_role" FROM PUBLIC;
CREATE ROLE :"warehouse_role" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'warehouse_password';
CREATE DATABASE :"warehouse_role" OWNER :"warehouse_role";
REVOKE ALL ON DATABASE :"warehouse_role" FROM PUBLIC;
SQL
echo "created the databases ${AIRFLOW_DB_ROLE:-airflow} and ${WAREHOUSE_DB_ROLE:-warehouse}, each owned by its own role"
