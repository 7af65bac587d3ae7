#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster in DIR, for tests (SWITCHYARD_TEST_POSTGRES), CI (.ci/run) and benchmarks:
#
#   scripts/postgres-local.sh start DIR   initializes DIR on first use, starts the server (a no-op when it runs), creates
#                                         the database `switchyard`, and prints its URL on stdout
#   scripts/postgres-local.sh url DIR     prints the URL of the cluster in DIR
#   scripts/postgres-local.sh stop DIR    stops it (fast shutdown: clients disconnected, everything committed kept)
#
# The server listens on a unix socket in DIR/sock only (no TCP), trusts whoever can reach that socket (the directory
# is 0700), keeps fsync and synchronous_commit on (an acknowledged commit survives a crash, as in production), and
# uses the C locale (text sorts by code point, as SQLite's BINARY collation does). It runs from Debian's binaries
# (/usr/lib/postgresql/15/bin, or PG_BIN); never the distribution's own cluster. PostgreSQL refuses to run as root:
# run as root, the cluster belongs to the `postgres` OS user; otherwise to the current user. Nothing but the URL goes to
# stdout; the server's log is DIR/postgres.log, this script's own output DIR/postgres-local.log (shown on failure).
#
#   url=$(scripts/postgres-local.sh start /tmp/pg) && SWITCHYARD_TEST_POSTGRES=$url node scripts/test.mjs contract
set -euo pipefail

usage() {
  echo "usage: $0 start|stop|url DIR" >&2
  exit 2
}
[[ $# -eq 2 ]] || usage
cmd=$1
case "$cmd" in start | stop | url) ;; *) usage ;; esac

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
if [[ ! -x $PG_BIN/initdb || ! -x $PG_BIN/pg_ctl ]]; then
  echo "postgres-local: no PostgreSQL 15 binaries in $PG_BIN (install Debian's postgresql-15, or set PG_BIN to the directory holding initdb and pg_ctl)" >&2
  exit 1
fi

dir=$(realpath -m -- "$2")
# The URL carries the path unencoded, and a unix socket's path is at most 107 bytes (DIR/sock/.s.PGSQL.5432).
if [[ ! $dir =~ ^[A-Za-z0-9._/-]+$ ]]; then
  echo "postgres-local: DIR $dir: use a path of letters, digits, '.', '_', '-' and '/' only (it goes into the URL as it is)" >&2
  exit 1
fi
if ((${#dir} > 80)); then
  echo "postgres-local: DIR $dir is ${#dir} characters long: a unix socket's path must stay under 108 bytes; use a shorter DIR (e.g. under /tmp)" >&2
  exit 1
fi
[[ $cmd == start ]] && mkdir -p "$dir"
data=$dir/data
sock=$dir/sock
log=$dir/postgres-local.log
url="postgres://postgres@/switchyard?host=$sock"

# As the cluster's owner: `postgres` when run as root (PostgreSQL will not run as root), else the current user.
as_owner() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

fail() {
  echo "postgres-local: $1" >&2
  [[ -f $log ]] && tail -n 20 "$log" >&2
  [[ -f $dir/postgres.log ]] && tail -n 20 "$dir/postgres.log" >&2
  exit 1
}

running() {
  [[ -f $data/PG_VERSION ]] && as_owner "$PG_BIN/pg_ctl" status -D "$data" >/dev/null 2>&1
}

case "$cmd" in
  url)
    [[ -f $data/PG_VERSION ]] || fail "no cluster in $dir: start one with $0 start $dir"
    echo "$url"
    ;;

  stop)
    if running; then
      as_owner "$PG_BIN/pg_ctl" stop -D "$data" -m fast -w -s >>"$log" 2>&1 || fail "pg_ctl stop failed"
    fi
    ;;

  start)
    if [[ $(id -u) -eq 0 ]]; then
      id postgres >/dev/null 2>&1 || fail "running as root needs the 'postgres' OS user (Debian's postgresql package creates it)"
      chown postgres: "$dir"
      chmod 0700 "$dir"
      runuser -u postgres -- test -x "$dir" || fail "the postgres OS user cannot reach $dir: choose a DIR whose parent directories it may enter (e.g. under /tmp)"
    fi
    touch "$log"
    [[ $(id -u) -eq 0 ]] && chown postgres: "$log"
    if [[ ! -f $data/PG_VERSION ]]; then
      as_owner mkdir -p -m 0700 "$data" "$sock"
      as_owner "$PG_BIN/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C --no-instructions >>"$log" 2>&1 || fail "initdb failed"
      cat <<EOF | as_owner tee -a "$data/postgresql.conf" >/dev/null
# scripts/postgres-local.sh
listen_addresses = ''
unix_socket_directories = '$sock'
unix_socket_permissions = 0700
fsync = on
synchronous_commit = on
full_page_writes = on
max_connections = 200
shared_buffers = 64MB
logging_collector = off
EOF
    fi
    if ! running; then
      as_owner "$PG_BIN/pg_ctl" start -D "$data" -l "$dir/postgres.log" -w -t 60 -s >>"$log" 2>&1 || fail "pg_ctl start failed"
    fi
    psql=("$PG_BIN/psql" -X -q -h "$sock" -U postgres)
    if [[ $("${psql[@]}" -d postgres -tAc "select 1 from pg_database where datname = 'switchyard'" 2>>"$log") != 1 ]]; then
      "${psql[@]}" -d postgres -c "create database switchyard" >>"$log" 2>&1 || fail "creating the database switchyard failed"
    fi
    echo "$url"
    ;;
esac
