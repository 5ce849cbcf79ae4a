#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests: `start` makes a cluster in a fresh folder (initdb, as the `postgres`
# user when run as root: the server refuses to run as root), listening on a free loopback port with password
# authentication, and prints `export` lines for the tests (INGEST_TEST_POSTGRES_URL, INGEST_TEST_POSTGRES_PASSWORD
# and INGEST_TEST_POSTGRES_CTL — the command the fault tests restart it with). `stop DIR` stops it and removes it.
#   eval "$(Scripts/test-postgres.sh start)"; swift test; Scripts/test-postgres.sh stop "$INGEST_TEST_POSTGRES_DIR"
set -euo pipefail

bin=""
for candidate in /usr/lib/postgresql/*/bin; do [ -x "$candidate/initdb" ] && bin="$candidate"; done
[ -z "$bin" ] && command -v initdb >/dev/null 2>&1 && bin="$(dirname "$(command -v initdb)")"

as_owner() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-}" in
start)
    if [ -z "$bin" ]; then
        echo "echo 'no PostgreSQL server binaries (apt-get install postgresql): the PostgreSQL tests will be skipped' >&2"
        exit 0
    fi
    dir="$(mktemp -d "${TMPDIR:-/tmp}/ingest-pg.XXXXXX")"
    chmod 755 "$dir"
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    password="test-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    printf '%s\n' "$password" > "$dir/pwfile"
    [ "$(id -u)" = 0 ] && chown postgres "$dir/pwfile"
    port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
    as_owner "$bin/initdb" -D "$dir/data" -U ingest --pwfile="$dir/pwfile" --auth-host=scram-sha-256 \
        --auth-local=trust -E UTF8 --no-instructions >"$dir/initdb.log" 2>&1 \
        || { echo "echo 'initdb failed (see $dir/initdb.log): the PostgreSQL tests will be skipped' >&2"; exit 0; }
    cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 300
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
    ctl="$bin/pg_ctl -D $dir/data -l $dir/server.log -w -t 60"
    as_owner $ctl start >/dev/null || { echo "echo 'the test server did not start (see $dir/server.log)' >&2"; exit 0; }
    as_owner "$bin/createdb" -h "$dir" -p "$port" -U ingest ingest
    # The restart command the fault tests run: as the server's owner, whoever runs the tests.
    if [ "$(id -u)" = 0 ]; then restart="runuser -u postgres -- $ctl restart -m fast"; else restart="$ctl restart -m fast"; fi
    echo "export INGEST_TEST_POSTGRES_DIR='$dir'"
    echo "export INGEST_TEST_POSTGRES_URL='postgresql://ingest@127.0.0.1:$port/ingest?sslmode=disable'"
    echo "export INGEST_TEST_POSTGRES_PASSWORD='$password'"
    echo "export INGEST_TEST_POSTGRES_RESTART='$restart'"
    echo "echo 'PostgreSQL test server on 127.0.0.1:$port ($dir)' >&2"
    ;;
stop)
    dir="${2:?usage: $0 stop DIR}"
    [ -d "$dir/data" ] && as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    ;;
*)
    echo "usage: $0 start | stop DIR" >&2
    exit 64
    ;;
esac
