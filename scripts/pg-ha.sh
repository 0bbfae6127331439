#!/usr/bin/env bash
# A private PostgreSQL fail-over pair for tests and drills: a primary and a
# hot streaming standby on local ports, with synchronous replication.
#
#   bash scripts/pg-ha.sh start DIR          primary n1 + standby n2, DIR/ha.env
#   bash scripts/pg-ha.sh stop DIR NODE [MODE]
#                                            pg_ctl stop -m MODE (fast; immediate
#                                            is a crash: nothing is flushed)
#   bash scripts/pg-ha.sh promote DIR NODE   promote the standby NODE to primary
#   bash scripts/pg-ha.sh rewind-rejoin DIR NODE
#                                            NODE (a stopped or crashed former
#                                            primary) rejoins the current primary
#                                            as its synchronous standby (pg_rewind)
#   bash scripts/pg-ha.sh status DIR         role and replication of both nodes
#   bash scripts/pg-ha.sh destroy DIR        stop both, remove DIR/ha and ha.env
#
# NODE is n1 or n2.  As root the servers run as user 'postgres' (runuser);
# as another user, as that user.  Both listen on 127.0.0.1 with scram
# passwords, like scripts/pg.sh.
#
# Replication (docs/operations.md explains each setting):
#   wal_log_hints = on          pg_rewind needs it (or data checksums)
#   wal_keep_size = 256MB       a rejoining node finds the WAL it lacks
#   cluster_name = nX           the standby's application_name
#   synchronous_standby_names   on the primary: the standby's name, with
#   synchronous_commit = on     so a commit is acknowledged only once the
#                               standby has it: an acknowledged change
#                               survives the primary's crash
# After `promote` the new primary has no standby: it runs with
# synchronous_standby_names = '' (otherwise every write would block until a
# standby is back).  `rewind-rejoin` sets it to the rejoined node's name.
#
# fsync is off: this pair is for process crashes (pg_ctl stop -m immediate),
# not power loss; it keeps the test fast.  Production keeps fsync on.
#
# DIR/ha.env (mode 0600) exports:
#   QIWEI_HA_DIR QIWEI_HA_BINDIR QIWEI_HA_N1_PORT QIWEI_HA_N2_PORT
#   QIWEI_HA_N1_DATA QIWEI_HA_N2_DATA QIWEI_HA_N1_LOG QIWEI_HA_N2_LOG
#   QIWEI_HA_N1_SUPER_DSN QIWEI_HA_N2_SUPER_DSN   one node, superuser
#   QIWEI_HA_SUPER_DSN   both nodes, read-write one, superuser, dbname postgres
#   QIWEI_HA_OWNER_DSN   both nodes, qiwei_owner (qiweictl migrate)
#   QIWEI_HA_APP_DSN     both nodes, qiwei_app (what httpd uses)
#   QIWEI_HA_APP_ROLE    qiwei_app
# The multi-host DSNs are
#   host=127.0.0.1,127.0.0.1 port=P1,P2 target_session_attrs=read-write
#   connect_timeout=2 ...
# so a client reaches whichever node is the primary.
set -euo pipefail

die() { echo "pg-ha.sh: $*" >&2; exit 1; }
say() { echo "pg-ha.sh: $*"; }

# pg_bindir, as_pg, free_port, randpw
# shellcheck disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/pg-lib.sh"

other() {
    case $1 in n1) echo n2 ;; n2) echo n1 ;; *) die "unknown node '$1' (n1 or n2)" ;; esac
}

load_env() {
    local dir=$1
    [ -f "$dir/ha.env" ] || die "no $dir/ha.env (not started with pg-ha.sh start?)"
    # shellcheck disable=SC1091
    . "$dir/ha.env"
}

# node_var NODE WHAT: the value of QIWEI_HA_<NODE>_<WHAT> from ha.env
node_var() {
    local v="QIWEI_HA_$(echo "$1" | tr a-z A-Z)_$2"
    echo "${!v}"
}

# psql as the superuser on one node: psql_node NODE SQL (prints -At output)
psql_node() {
    PGCONNECT_TIMEOUT=5 "$QIWEI_HA_BINDIR/psql" -X -q -At -v ON_ERROR_STOP=1 \
        -d "$(node_var "$1" SUPER_DSN)" -c "$2"
}

running() {
    [ -f "$1/postmaster.pid" ] \
        && as_pg "$QIWEI_HA_BINDIR/pg_ctl" -D "$1" status >/dev/null 2>&1
}

# The settings that differ per node live in DATA/node.conf, included from
# postgresql.conf.  pg_basebackup and pg_rewind copy the source's data
# directory (this file too), so it is written again after each.
write_node_conf() {
    local data=$1 node=$2 port=$3 sync=$4
    cat > "$data/node.conf" <<EOF
# written by scripts/pg-ha.sh for node $node
port = $port
cluster_name = '$node'
synchronous_standby_names = '$sync'
EOF
    [ "$(id -u)" = 0 ] && chown postgres: "$data/node.conf"
    chmod 600 "$data/node.conf"
}

# Make DATA a standby of the node on PRIMARY_PORT: standby.signal and a
# primary_conninfo naming this node (application_name: what
# synchronous_standby_names matches).  Stale primary_conninfo lines copied
# from the source go first: postgresql.auto.conf is read last and would win.
write_standby() {
    local data=$1 node=$2 primary_port=$3
    local auto=$data/postgresql.auto.conf
    if [ -f "$auto" ]; then
        sed -i '/^primary_conninfo/d' "$auto"
    fi
    echo "primary_conninfo = 'host=127.0.0.1 port=$primary_port user=replicator password=$QIWEI_HA_REPL_PW application_name=$node'" >> "$auto"
    : > "$data/standby.signal"
    if [ "$(id -u)" = 0 ]; then
        chown postgres: "$auto" "$data/standby.signal"
    fi
}

pg_start_node() {
    local node=$1
    as_pg "$QIWEI_HA_BINDIR/pg_ctl" -D "$(node_var "$node" DATA)" \
        -l "$(node_var "$node" LOG)" -w -t 60 start >/dev/null \
        || { tail -n 30 "$(node_var "$node" LOG)" >&2 || true; die "$node did not start"; }
}

# wait_standby PRIMARY STANDBY SYNC: until PRIMARY streams to STANDBY (and,
# with SYNC=1, counts it as its synchronous standby)
wait_standby() {
    local primary=$1 standby=$2 want=$3 i st
    for i in $(seq 1 300); do
        st=$(psql_node "$primary" "SELECT state || ' ' || sync_state
                 FROM pg_stat_replication
                 WHERE application_name = '$standby'" 2>/dev/null || true)
        if [ "$want" = 1 ]; then
            [ "$st" = "streaming sync" ] && return 0
        else
            case $st in streaming*) return 0 ;; esac
        fi
        sleep 0.1
    done
    die "$standby does not stream from $primary (pg_stat_replication: '${st:-none}')"
}

cmd_start() {
    local dir=$1 bindir ha port1 port2 superpw ownerpw apppw replpw tries
    bindir=$(pg_bindir pg_rewind)
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    ha=$dir/ha
    if [ -f "$dir/ha.env" ] && [ -d "$ha" ]; then
        die "$dir already holds a pair (use destroy first)"
    fi
    rm -rf "$ha"
    chmod 755 "$dir"
    mkdir -p "$ha"
    chmod 700 "$ha"
    if [ "$(id -u)" = 0 ]; then
        id postgres >/dev/null 2>&1 || die "no 'postgres' user: install 'postgresql'"
        chown postgres: "$ha"
        runuser -u postgres -- test -w "$ha" \
            || die "user postgres cannot reach $ha: make its parents 0755"
    fi
    local d1=$ha/n1 d2=$ha/n2 log1=$ha/n1.log log2=$ha/n2.log

    superpw=$(randpw); ownerpw=$(randpw); apppw=$(randpw); replpw=$(randpw)
    local pwfile=$ha/superpw
    ( umask 077; printf '%s\n' "$superpw" > "$pwfile" )
    [ "$(id -u)" = 0 ] && chown postgres: "$pwfile"
    as_pg "$bindir/initdb" -D "$d1" -U postgres --pwfile="$pwfile" \
        --auth-local=scram-sha-256 --auth-host=scram-sha-256 \
        -E UTF8 --locale=C.UTF-8 --no-sync >"$ha/initdb.log" 2>&1 \
        || { cat "$ha/initdb.log" >&2; die "initdb failed"; }
    rm -f "$pwfile"
    # initdb's pg_hba.conf already allows "host replication all
    # 127.0.0.1/32 scram-sha-256".
    cat >> "$d1/postgresql.conf" <<EOF
# --- scripts/pg-ha.sh: both nodes ---
listen_addresses = '127.0.0.1'
unix_socket_directories = '$ha'
max_connections = 100
log_min_messages = warning
fsync = off
full_page_writes = on
wal_level = replica
wal_log_hints = on
wal_keep_size = '256MB'
max_wal_senders = 10
hot_standby = on
synchronous_commit = on
include_if_exists = 'node.conf'
EOF

    # The environment the helpers below read (ha.env is written at the end).
    QIWEI_HA_BINDIR=$bindir
    QIWEI_HA_N1_DATA=$d1; QIWEI_HA_N2_DATA=$d2
    QIWEI_HA_N1_LOG=$log1; QIWEI_HA_N2_LOG=$log2
    QIWEI_HA_REPL_PW=$replpw
    port1=
    for tries in 1 2 3 4 5; do
        port1=$(free_port)
        write_node_conf "$d1" n1 "$port1" ''
        if as_pg "$bindir/pg_ctl" -D "$d1" -l "$log1" -w -t 60 start \
                >/dev/null 2>&1; then
            break
        fi
        port1=
    done
    [ -n "$port1" ] || { tail -n 20 "$log1" >&2 || true; die "could not start n1"; }
    QIWEI_HA_N1_PORT=$port1
    QIWEI_HA_N1_SUPER_DSN="host=127.0.0.1 port=$port1 dbname=postgres user=postgres password=$superpw"

    psql_node n1 "SELECT 1" >/dev/null
    PGCONNECT_TIMEOUT=10 "$bindir/psql" -X -q -v ON_ERROR_STOP=1 \
        -d "$QIWEI_HA_N1_SUPER_DSN" <<EOF >/dev/null
CREATE ROLE replicator LOGIN REPLICATION PASSWORD '$replpw';
CREATE ROLE qiwei_owner LOGIN PASSWORD '$ownerpw';
CREATE ROLE qiwei_app LOGIN PASSWORD '$apppw';
ALTER ROLE qiwei_owner SET log_parameter_max_length = 0;
ALTER ROLE qiwei_owner SET log_parameter_max_length_on_error = 0;
ALTER ROLE qiwei_app SET log_parameter_max_length = 0;
ALTER ROLE qiwei_app SET log_parameter_max_length_on_error = 0;
CREATE DATABASE qiwei OWNER qiwei_owner ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE qiwei FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE qiwei TO qiwei_app;
EOF

    # The standby: a base backup of n1 that streams from it (-R writes
    # standby.signal and primary_conninfo with application_name n2).
    as_pg env PGCONNECT_TIMEOUT=10 "$bindir/pg_basebackup" -D "$d2" \
        -d "host=127.0.0.1 port=$port1 user=replicator password=$replpw application_name=n2" \
        -R -X stream -c fast --no-sync >"$ha/basebackup.log" 2>&1 \
        || { cat "$ha/basebackup.log" >&2; die "pg_basebackup failed"; }
    port2=
    for tries in 1 2 3 4 5; do
        port2=$(free_port)
        [ "$port2" != "$port1" ] || continue
        write_node_conf "$d2" n2 "$port2" ''
        if as_pg "$bindir/pg_ctl" -D "$d2" -l "$log2" -w -t 60 start \
                >/dev/null 2>&1; then
            break
        fi
        port2=
    done
    [ -n "$port2" ] || { tail -n 20 "$log2" >&2 || true; die "could not start n2"; }
    QIWEI_HA_N2_PORT=$port2
    QIWEI_HA_N2_SUPER_DSN="host=127.0.0.1 port=$port2 dbname=postgres user=postgres password=$superpw"

    # Now n1 waits for n2 on every commit.
    write_node_conf "$d1" n1 "$port1" n2
    as_pg "$bindir/pg_ctl" -D "$d1" reload >/dev/null
    wait_standby n1 n2 1

    local hosts="host=127.0.0.1,127.0.0.1 port=$port1,$port2"
    local opts="target_session_attrs=read-write connect_timeout=2"
    local env=$dir/ha.env
    ( umask 077; cat > "$env" <<EOF
# written by scripts/pg-ha.sh; contains passwords
export QIWEI_HA_DIR='$ha'
export QIWEI_HA_BINDIR='$bindir'
export QIWEI_HA_N1_PORT='$port1'
export QIWEI_HA_N2_PORT='$port2'
export QIWEI_HA_N1_DATA='$d1'
export QIWEI_HA_N2_DATA='$d2'
export QIWEI_HA_N1_LOG='$log1'
export QIWEI_HA_N2_LOG='$log2'
export QIWEI_HA_REPL_PW='$replpw'
export QIWEI_HA_N1_SUPER_DSN='$QIWEI_HA_N1_SUPER_DSN'
export QIWEI_HA_N2_SUPER_DSN='$QIWEI_HA_N2_SUPER_DSN'
export QIWEI_HA_SUPER_DSN='$hosts dbname=postgres user=postgres password=$superpw $opts'
export QIWEI_HA_OWNER_DSN='$hosts dbname=qiwei user=qiwei_owner password=$ownerpw $opts'
export QIWEI_HA_APP_DSN='$hosts dbname=qiwei user=qiwei_app password=$apppw $opts'
export QIWEI_HA_APP_ROLE='qiwei_app'
EOF
    )
    say "primary n1 on 127.0.0.1:$port1, synchronous standby n2 on 127.0.0.1:$port2"
}

cmd_stop() {
    local dir=$1 node=$2 mode=${3:-fast} data
    load_env "$dir"
    other "$node" >/dev/null
    case $mode in fast|smart|immediate) ;; *) die "unknown mode '$mode'" ;; esac
    data=$(node_var "$node" DATA)
    if [ -f "$data/postmaster.pid" ]; then
        as_pg "$QIWEI_HA_BINDIR/pg_ctl" -D "$data" -m "$mode" -w -t 30 stop \
            >/dev/null 2>&1 || {
            local pid
            pid=$(head -n 1 "$data/postmaster.pid" 2>/dev/null || true)
            [ -n "$pid" ] && kill -QUIT "$pid" 2>/dev/null || true
        }
    fi
}

cmd_start_node() {
    local dir=$1 node=$2
    load_env "$dir"
    other "$node" >/dev/null
    running "$(node_var "$node" DATA)" || pg_start_node "$node"
}

cmd_promote() {
    local dir=$1 node=$2 data
    load_env "$dir"
    other "$node" >/dev/null
    data=$(node_var "$node" DATA)
    [ -f "$data/standby.signal" ] || die "$node is not a standby"
    # Alone now: waiting for a synchronous standby would block every write.
    write_node_conf "$data" "$node" "$(node_var "$node" PORT)" ''
    as_pg "$QIWEI_HA_BINDIR/pg_ctl" -D "$data" reload >/dev/null
    as_pg "$QIWEI_HA_BINDIR/pg_ctl" -D "$data" -w -t 60 promote >/dev/null \
        || die "promote $node failed"
    [ "$(psql_node "$node" "SELECT pg_is_in_recovery()")" = f ] \
        || die "$node is still in recovery after promote"
    say "$node is the primary"
}

cmd_rewind_rejoin() {
    local dir=$1 node=$2 primary data
    load_env "$dir"
    primary=$(other "$node")
    data=$(node_var "$node" DATA)
    [ "$(psql_node "$primary" "SELECT pg_is_in_recovery()")" = f ] \
        || die "$primary is not a primary: nothing to rejoin"
    if running "$data"; then
        cmd_stop "$dir" "$node" fast
    fi
    # pg_rewind reads the source's control file: a checkpoint on the new
    # primary makes it record the new timeline (right after a promotion it
    # may not yet, and pg_rewind would find nothing to do).
    psql_node "$primary" "CHECKPOINT" >/dev/null
    # A crashed target is first taken through crash recovery in single-user
    # mode by pg_rewind itself (PostgreSQL 13+).
    as_pg env PGCONNECT_TIMEOUT=10 "$QIWEI_HA_BINDIR/pg_rewind" -D "$data" \
        --source-server="$(node_var "$primary" SUPER_DSN)" \
        >"$QIWEI_HA_DIR/rewind-$node.log" 2>&1 \
        || { cat "$QIWEI_HA_DIR/rewind-$node.log" >&2; die "pg_rewind of $node failed"; }
    write_node_conf "$data" "$node" "$(node_var "$node" PORT)" ''
    write_standby "$data" "$node" "$(node_var "$primary" PORT)"
    pg_start_node "$node"
    wait_standby "$primary" "$node" 0
    # Synchronous again: the primary waits for the rejoined standby.
    write_node_conf "$(node_var "$primary" DATA)" "$primary" \
        "$(node_var "$primary" PORT)" "$node"
    as_pg "$QIWEI_HA_BINDIR/pg_ctl" -D "$(node_var "$primary" DATA)" reload \
        >/dev/null
    wait_standby "$primary" "$node" 1
    say "$node streams from $primary (synchronous)"
}

cmd_status() {
    local dir=$1 n data r
    load_env "$dir"
    for n in n1 n2; do
        data=$(node_var "$n" DATA)
        if running "$data"; then
            r=$(psql_node "$n" "SELECT CASE WHEN pg_is_in_recovery()
                    THEN 'standby' ELSE 'primary' END" 2>/dev/null || echo '?')
            echo "$n: port $(node_var "$n" PORT), running, $r"
            if [ "$r" = primary ]; then
                psql_node "$n" "SELECT '  -> ' || application_name || ' '
                    || state || ' ' || sync_state FROM pg_stat_replication" \
                    2>/dev/null || true
            fi
        else
            echo "$n: port $(node_var "$n" PORT), stopped"
        fi
    done
}

cmd_destroy() {
    local dir=$1
    if [ -f "$dir/ha.env" ]; then
        load_env "$dir"
        cmd_stop "$dir" n1 immediate || true
        cmd_stop "$dir" n2 immediate || true
    fi
    rm -rf "$dir/ha" "$dir/ha.env"
}

usage() {
    die "usage: pg-ha.sh start|status|destroy DIR | stop DIR NODE [fast|immediate] | start-node|promote|rewind-rejoin DIR NODE"
}

[ $# -ge 2 ] || usage
case $1 in
    start) [ $# -eq 2 ] || usage; cmd_start "$2" ;;
    stop) [ $# -ge 3 ] && [ $# -le 4 ] || usage; cmd_stop "$2" "$3" "${4:-fast}" ;;
    start-node) [ $# -eq 3 ] || usage; cmd_start_node "$2" "$3" ;;
    promote) [ $# -eq 3 ] || usage; cmd_promote "$2" "$3" ;;
    rewind-rejoin) [ $# -eq 3 ] || usage; cmd_rewind_rejoin "$2" "$3" ;;
    status) [ $# -eq 2 ] || usage; cmd_status "$2" ;;
    destroy) [ $# -eq 2 ] || usage; cmd_destroy "$2" ;;
    *) usage ;;
esac
