#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on 127.0.0.1 in a temporary directory, for the test suite.
#   scripts/pg_test_cluster.sh start DIR PORT   -> prints the database URL
#   scripts/pg_test_cluster.sh stop DIR
set -euo pipefail
action=$1 dir=$2 port=${3:-55433}
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
as_pg() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi; }
case $action in
  start)
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir"
    as_pg "$bin/initdb -D '$dir/data' -A trust -U postgres -E UTF8 >/dev/null"
    as_pg "$bin/pg_ctl -D '$dir/data' -l '$dir/log' -w start -o \"-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories='$dir' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=100\"" >/dev/null
    as_pg "$bin/createdb -h 127.0.0.1 -p $port -U postgres casework_test"
    echo "postgresql+psycopg://postgres@127.0.0.1:$port/casework_test"
    ;;
  stop)
    as_pg "$bin/pg_ctl -D '$dir/data' -w stop -m fast" >/dev/null || true
    rm -rf "$dir"
    ;;
esac
