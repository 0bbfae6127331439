#!/usr/bin/env bash
# A private PostgreSQL for tests and the demo.
#
#   bash scripts/pg.sh start DIR    initdb + start in DIR/pg, write DIR/pg.env
#   bash scripts/pg.sh stop DIR     stop it (data kept)
#   bash scripts/pg.sh restart DIR  start it again after a stop
#   bash scripts/pg.sh destroy DIR  stop it and remove DIR/pg and DIR/pg.env
#   bash scripts/pg.sh status DIR
#
# PostgreSQL refuses to run as root, so as root the server runs as the
# 'postgres' user (runuser); as another user it runs as that user.  It listens
# on 127.0.0.1 only, on a random free port, with scram passwords, because
# httpd children (nobody) cannot use the peer-authenticated socket.
#
# DIR/pg.env (mode 0600) exports:
#   QIWEI_PG_DIR QIWEI_PG_PORT QIWEI_PG_LOG QIWEI_PGCTL
#   QIWEI_PG_SUPER_DSN   superuser (setup only)
#   QIWEI_PG_OWNER_DSN   qiwei_owner: owns database qiwei (qiweictl migrate)
#   QIWEI_PG_APP_DSN     qiwei_app: what httpd uses
#   QIWEI_PG_APP_ROLE    qiwei_app
# Roles and database are fixed names: each instance is private anyway.
set -euo pipefail

die() { echo "pg.sh: $*" >&2; exit 1; }

# pg_bindir, as_pg, as_pg_prefix, free_port, randpw
# shellcheck disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/pg-lib.sh"

cmd_start() {
    local dir=$1 bindir pgdir data log port superpw ownerpw apppw tries
    bindir=$(pg_bindir)
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    pgdir=$dir/pg
    data=$pgdir/data
    log=$pgdir/postgresql.log
    if [ -f "$dir/pg.env" ] && [ -d "$data" ]; then
        die "$dir already holds a PostgreSQL (use restart or destroy)"
    fi
    rm -rf "$pgdir"
    # The server's user must be able to reach its directory.
    chmod 755 "$dir"
    mkdir -p "$pgdir"
    chmod 700 "$pgdir"
    if [ "$(id -u)" = 0 ]; then
        id postgres >/dev/null 2>&1 || die "no 'postgres' user: install 'postgresql'"
        chown postgres: "$pgdir"
        runuser -u postgres -- test -w "$pgdir" \
            || die "user postgres cannot reach $pgdir: make its parents 0755"
    fi

    superpw=$(randpw); ownerpw=$(randpw); apppw=$(randpw)
    local pwfile=$pgdir/superpw
    ( umask 077; printf '%s\n' "$superpw" > "$pwfile" )
    [ "$(id -u)" = 0 ] && chown postgres: "$pwfile"
    as_pg "$bindir/initdb" -D "$data" -U postgres --pwfile="$pwfile" \
        --auth-local=scram-sha-256 --auth-host=scram-sha-256 \
        -E UTF8 --locale=C.UTF-8 --no-sync >"$pgdir/initdb.log" 2>&1 \
        || { cat "$pgdir/initdb.log" >&2; die "initdb failed"; }
    rm -f "$pwfile"

    # Unix socket in the private directory only; TCP on loopback.
    for tries in 1 2 3 4 5; do
        port=$(free_port)
        cat >> "$data/postgresql.conf" <<EOF
# --- mod_qiwei private instance ---
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$pgdir'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 100
log_min_messages = warning
EOF
        if as_pg "$bindir/pg_ctl" -D "$data" -l "$log" -w -t 30 start \
                >/dev/null 2>&1; then
            break
        fi
        port=
        # Another process took the port between probe and start: retry.
        sed -i '/^# --- mod_qiwei private instance ---$/,$d' "$data/postgresql.conf"
    done
    [ -n "$port" ] || { tail -n 20 "$log" >&2 || true; die "could not start PostgreSQL"; }

    local super="host=127.0.0.1 port=$port dbname=postgres user=postgres password=$superpw"
    PGCONNECT_TIMEOUT=10 "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -d "$super" <<EOF >/dev/null
CREATE ROLE qiwei_owner LOGIN PASSWORD '$ownerpw';
CREATE ROLE qiwei_app LOGIN PASSWORD '$apppw';
-- bind parameters (a mailbox message's ciphertext and wrapped key) are never
-- written to the server log, even with log_statement = all or
-- log_min_duration_statement (docs/mailbox.md)
ALTER ROLE qiwei_owner SET log_parameter_max_length = 0;
ALTER ROLE qiwei_owner SET log_parameter_max_length_on_error = 0;
ALTER ROLE qiwei_app SET log_parameter_max_length = 0;
ALTER ROLE qiwei_app SET log_parameter_max_length_on_error = 0;
CREATE DATABASE qiwei OWNER qiwei_owner ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE qiwei FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE qiwei TO qiwei_app;
EOF

    local env=$dir/pg.env
    ( umask 077; cat > "$env" <<EOF
# written by scripts/pg.sh; contains passwords
export QIWEI_PG_DIR='$data'
export QIWEI_PG_PORT='$port'
export QIWEI_PG_LOG='$log'
export QIWEI_PG_BINDIR='$bindir'
export QIWEI_PGCTL='$(as_pg_prefix) $bindir/pg_ctl -D $data -l $log'
export QIWEI_PG_SUPER_DSN='$super'
export QIWEI_PG_OWNER_DSN='host=127.0.0.1 port=$port dbname=qiwei user=qiwei_owner password=$ownerpw connect_timeout=5'
export QIWEI_PG_APP_DSN='host=127.0.0.1 port=$port dbname=qiwei user=qiwei_app password=$apppw connect_timeout=5'
export QIWEI_PG_APP_ROLE='qiwei_app'
EOF
    )
    echo "PostgreSQL $(basename "$(dirname "$bindir")") on 127.0.0.1:$port (data $data)"
}

load_env() {
    local dir=$1
    [ -f "$dir/pg.env" ] || die "no $dir/pg.env (not started with pg.sh start?)"
    # shellcheck disable=SC1091
    . "$dir/pg.env"
}

cmd_stop() {
    load_env "$1"
    if [ -f "$QIWEI_PG_DIR/postmaster.pid" ]; then
        as_pg "$QIWEI_PG_BINDIR/pg_ctl" -D "$QIWEI_PG_DIR" -m fast -w -t 30 \
            stop >/dev/null 2>&1 || {
            # last resort: SIGQUIT the postmaster we started
            local pid
            pid=$(head -n 1 "$QIWEI_PG_DIR/postmaster.pid" 2>/dev/null || true)
            [ -n "$pid" ] && kill -QUIT "$pid" 2>/dev/null || true
        }
    fi
}

cmd_restart() {
    load_env "$1"
    as_pg "$QIWEI_PG_BINDIR/pg_ctl" -D "$QIWEI_PG_DIR" -l "$QIWEI_PG_LOG" \
        -w -t 30 start >/dev/null
}

cmd_status() {
    load_env "$1"
    as_pg "$QIWEI_PG_BINDIR/pg_ctl" -D "$QIWEI_PG_DIR" status
}

cmd_destroy() {
    local dir=$1
    if [ -f "$dir/pg.env" ]; then
        cmd_stop "$dir" || true
    fi
    rm -rf "$dir/pg" "$dir/pg.env"
}

[ $# -eq 2 ] || die "usage: pg.sh start|stop|restart|status|destroy DIR"
case $1 in
    start) cmd_start "$2" ;;
    stop) cmd_stop "$2" ;;
    restart) cmd_restart "$2" ;;
    status) cmd_status "$2" ;;
    destroy) cmd_destroy "$2" ;;
    *) die "unknown command '$1'" ;;
esac
