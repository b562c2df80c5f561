#!/bin/sh
# Creates (or brings up to date) Temporal's two PostgreSQL databases and rensei's own, with
# temporal-sql-tool from temporalio/admin-tools. Every command is idempotent: `create` skips
# a database that exists, `setup-schema -v 0.0` only creates the version tables if missing,
# `update-schema` applies only the versions not yet applied. Any failure stops the stack.
set -eu
: "${POSTGRES_SEEDS:?POSTGRES_SEEDS (the PostgreSQL host) is required}"
: "${POSTGRES_USER:?POSTGRES_USER is required}"
: "${SQL_PASSWORD:?SQL_PASSWORD is required}"
PORT="${DB_PORT:-5432}"
SCHEMA=/etc/temporal/schema/postgresql/v12

sql() {
  temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -u "$POSTGRES_USER" -p "$PORT" "$@"
}

for db in temporal temporal_visibility; do
  dir=temporal
  [ "$db" = temporal_visibility ] && dir=visibility
  sql --db "$db" create
  sql --db "$db" setup-schema -v 0.0
  sql --db "$db" update-schema -d "$SCHEMA/$dir/versioned"
done
# rensei's store: an empty database; the API and the workers run its migrations.
sql --db "${RENSEI_DB_NAME:-rensei}" create
echo "PostgreSQL databases ready"
