#!/bin/bash
# bench/reports.sh — how long each accountant report takes on a large portfolio.
#
# Not a test: it measures, it asserts nothing.  It starts a private
# PostgreSQL 15 cluster, migrates a database with the dunningctl of the
# build directory, loads bench/portfolio.sql (1 000 000 invoices, about
# 2 000 000 payments by default), then runs every report RUNS times under
# EXPLAIN (ANALYZE, TIMING OFF) on a warm cache, and prints the median (and
# the min and max) of the "Execution Time" of each.
#
#     ninja -C build && bench/reports.sh            # as root (runs PostgreSQL as postgres)
#
# Environment (all optional):
#   BUILD     build directory holding ctl/dunningctl     (default build)
#   PGBIN     PostgreSQL 15 binaries           (default /usr/lib/postgresql/15/bin)
#   DIR       where the cluster lives                       (default /tmp/dunning-reports-bench)
#   PORT      its port (Unix socket in DIR/sock only)       (default 55466)
#   INVOICES  invoices of the portfolio                     (default 1000000)
#   SEED      seed of the portfolio                         (default 1)
#   AS_OF     date the reports are read at (the one clock)  (default 2026-03-31)
#   RUNS      runs of each report                           (default 7)
#   SHARED_BUFFERS                                          (default 2GB)
#   REUSE=1   keep DIR's cluster and database if they are there (default: rebuild)
#   KEEP=1    leave the cluster running at the end          (default: stop it)
#
# Server settings (besides the defaults of initdb): shared_buffers as above,
# maintenance_work_mem = 512MB, max_wal_size = 8GB, effective_cache_size =
# 12GB, fsync = off, full_page_writes = off, synchronous_commit = off (a
# scratch cluster: this speeds up the load, not the reports, which only
# read).  The reports set their own jit, parallelism, random_page_cost and
# work_mem (sql/005, sql/013).  The clock is set with SET dunning.now =
# 'AS_OF 12:00 Europe/Paris' in the measuring session (a superuser: staff).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
BUILD=${BUILD:-$root/build}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
DIR=${DIR:-/tmp/dunning-reports-bench}
PORT=${PORT:-55466}
INVOICES=${INVOICES:-1000000}
SEED=${SEED:-1}
AS_OF=${AS_OF:-2026-03-31}
RUNS=${RUNS:-7}
SHARED_BUFFERS=${SHARED_BUFFERS:-2GB}
REUSE=${REUSE:-0}
KEEP=${KEEP:-0}
DB=dunning_bench
SOCK=$DIR/sock

as_pg() {
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
psql_db() {
	"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$SOCK" -p "$PORT" -U postgres "$@"
}
stop_cluster() {
	as_pg "$PGBIN/pg_ctl" -D "$DIR/pg" -m fast -w stop >/dev/null
}

[ -x "$BUILD/ctl/dunningctl" ] || { echo "no $BUILD/ctl/dunningctl: build first" >&2; exit 1; }

if [ "$REUSE" = 1 ] && [ -d "$DIR/pg" ]; then
	if ! as_pg "$PGBIN/pg_ctl" -D "$DIR/pg" status >/dev/null 2>&1; then
		as_pg "$PGBIN/pg_ctl" -D "$DIR/pg" -l "$DIR/server.log" -w start >/dev/null
	fi
else
	if [ -d "$DIR/pg" ]; then
		as_pg "$PGBIN/pg_ctl" -D "$DIR/pg" -m immediate -w stop >/dev/null 2>&1 || true
		rm -rf "$DIR"
	fi
	mkdir -p "$DIR/sock"
	[ "$(id -u)" = 0 ] && chown -R postgres: "$DIR"
	as_pg "$PGBIN/initdb" -D "$DIR/pg" -A trust -U postgres -E UTF8 --locale=C.UTF-8 \
		--nosync >/dev/null
	cat >>"$DIR/pg/postgresql.conf" <<EOF
# bench/reports.sh
listen_addresses = ''
port = $PORT
unix_socket_directories = '$SOCK'
shared_buffers = $SHARED_BUFFERS
maintenance_work_mem = 512MB
max_wal_size = 8GB
effective_cache_size = 12GB
fsync = off
full_page_writes = off
synchronous_commit = off
EOF
	as_pg "$PGBIN/pg_ctl" -D "$DIR/pg" -l "$DIR/server.log" -w start >/dev/null
fi
[ "$KEEP" = 1 ] || trap stop_cluster EXIT

if [ -z "$(psql_db -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname = '$DB'")" ]; then
	psql_db -d postgres -c "CREATE DATABASE $DB"
	cat >"$DIR/migrate.conf" <<EOF
database { conninfo = "host=$SOCK port=$PORT dbname=$DB user=postgres" }
templates { dir = "$root/templates" }
spool { dir = "$DIR/spool" }
EOF
	"$BUILD/ctl/dunningctl" -c "$DIR/migrate.conf" migrate >/dev/null
	echo "loading $INVOICES invoices (seed $SEED) ..." >&2
	start=$(date +%s)
	psql_db -d "$DB" -v invoices="$INVOICES" -v seed="$SEED" -v as_of="$AS_OF" \
		-f "$root/bench/portfolio.sql"
	echo "loaded in $(( $(date +%s) - start )) s" >&2
else
	# An existing database: bring it to this build's schema.
	cat >"$DIR/migrate.conf" <<EOF
database { conninfo = "host=$SOCK port=$PORT dbname=$DB user=postgres" }
templates { dir = "$root/templates" }
spool { dir = "$DIR/spool" }
EOF
	"$BUILD/ctl/dunningctl" -c "$DIR/migrate.conf" migrate >/dev/null
fi
# As autovacuum would have done by the time anyone reads a report: every
# page all-visible (the end of portfolio.sql does not always get there for
# the invoices and reminders), statistics fresh.
psql_db -d "$DB" -c "VACUUM (ANALYZE) dunning.client, dunning.invoice, dunning.payment, dunning.reminder"

psql_db -d "$DB" -Atc "SELECT format('%s invoices, %s payments, %s reminders; shared_buffers %s; PostgreSQL %s',
	(SELECT count(*) FROM dunning.invoice), (SELECT count(*) FROM dunning.payment),
	(SELECT count(*) FROM dunning.reminder), current_setting('shared_buffers'),
	current_setting('server_version'))"

# name|query
reports=(
	"aging|SELECT * FROM dunning.aging"
	"aging_invoices|SELECT * FROM dunning.aging_invoices"
	"dso(30)|SELECT dunning.dso(30)"
	"dso(90)|SELECT dunning.dso(90)"
	"dso(365)|SELECT dunning.dso(365)"
	"kpi|SELECT * FROM dunning.kpi"
	"kpi_at($AS_OF)|SELECT * FROM dunning.kpi_at('$AS_OF')"
	"stage_effectiveness|SELECT * FROM dunning.stage_effectiveness"
)

# One psql session per report: a warm-up run, then RUNS measured ones.
printf '%-22s %9s %9s %9s   (ms, %s runs, as of %s)\n' report median min max "$RUNS" "$AS_OF"
for r in "${reports[@]}"; do
	name=${r%%|*}
	query=${r#*|}
	script="SET dunning.now = '$AS_OF 12:00 Europe/Paris';"$'\n'"SELECT count(*) FROM ($query) q;"$'\n'
	for _ in $(seq "$RUNS"); do
		script+="EXPLAIN (ANALYZE, TIMING OFF, COSTS OFF) $query;"$'\n'
	done
	times=$(psql_db -d "$DB" -At <<<"$script" | sed -n 's/^Execution Time: \([0-9.]*\) ms$/\1/p')
	printf '%-22s %s\n' "$name" "$(sort -n <<<"$times" | awk '
		{ v[NR] = $1 }
		END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
		      printf "%9.1f %9.1f %9.1f", m, v[1], v[NR] }')"
done
