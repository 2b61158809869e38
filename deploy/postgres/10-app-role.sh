#!/bin/sh
# Runs once, when the PostgreSQL container initialises its data directory (docker-entrypoint-initdb.d).
# Two roles: $POSTGRES_USER owns the schema and runs `steward db upgrade`; steward_app is what the web
# processes and workers log in as. steward_app may read and write the tables, but owns none: it cannot
# drop or disable the audit log's append-only triggers, and has no TRUNCATE, so it cannot rewrite the
# audit log (docs/audit-log.md).
set -eu
: "${STEWARD_APP_PASSWORD:?set STEWARD_APP_PASSWORD}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
     -v app_password="$STEWARD_APP_PASSWORD" -v owner="$POSTGRES_USER" -v db="$POSTGRES_DB" <<'SQL'
CREATE ROLE steward_app LOGIN PASSWORD :'app_password';
GRANT CONNECT ON DATABASE :"db" TO steward_app;
GRANT USAGE ON SCHEMA public TO steward_app;
-- tables and sequences the migrations create later: rows yes, ownership (DDL, triggers, TRUNCATE) no
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO steward_app;
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO steward_app;
SQL
