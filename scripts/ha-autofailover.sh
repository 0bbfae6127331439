#!/usr/bin/env bash
# pg_auto_failover on one machine, and a scripted fail-over: a monitor and
# two data nodes on local ports in DIR, as user postgres (as root) or the
# calling user.  Run by hand (not part of scripts/test.sh); needs the Debian
# package postgresql-15-auto-failover.
#
#   bash scripts/ha-autofailover.sh run DIR    set up, wait for primary +
#                                              secondary, perform a fail-over,
#                                              check the roles swapped, destroy
#   bash scripts/ha-autofailover.sh up DIR     set up and leave it running
#   bash scripts/ha-autofailover.sh failover DIR
#   bash scripts/ha-autofailover.sh state DIR
#   bash scripts/ha-autofailover.sh destroy DIR
#
# Authentication is `trust` on 127.0.0.1 and TLS is off: a local drill
# only.  Production: --auth scram-sha-256 with passwords in ~/.pgpass, and
# --ssl-self-signed or real certificates.
set -euo pipefail

die() { echo "ha-autofailover.sh: $*" >&2; exit 1; }
say() { echo "ha-autofailover.sh: $*"; }

command -v pg_autoctl >/dev/null 2>&1 \
    || die "pg_autoctl not found: apt-get install -y postgresql-15-auto-failover"
bindir=$(ls -d /usr/lib/postgresql/15/bin 2>/dev/null || true)
[ -x "$bindir/pg_ctl" ] || die "PostgreSQL 15 server binaries not found"

as_pg() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- env PATH="$bindir:$PATH" XDG_CONFIG_HOME="$dir/config" \
            XDG_DATA_HOME="$dir/data" "$@"
    else
        env PATH="$bindir:$PATH" XDG_CONFIG_HOME="$dir/config" \
            XDG_DATA_HOME="$dir/data" "$@"
    fi
}

free_port() {
    perl -MIO::Socket::INET -e '
        my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1",
                                      LocalPort => 0) or die "$!\n";
        print $s->sockport, "\n";'
}

monitor_uri() { echo "postgres://autoctl_node@127.0.0.1:$(cat "$dir/monitor.port")/pg_auto_failover?sslmode=disable"; }

# run_bg NAME ARGS...: a pg_autoctl that keeps running, its pid in DIR/NAME.pid
run_bg() {
    local name=$1
    shift
    as_pg pg_autoctl "$@" >"$dir/$name.log" 2>&1 &
    echo $! > "$dir/$name.pid"
}

# wait_roles SECONDS: until the monitor reports a primary and a secondary
# (current and assigned state alike)
wait_roles() {
    local i out
    for i in $(seq 1 "$1"); do
        out=$(as_pg pg_autoctl show state --monitor "$(monitor_uri)" 2>/dev/null || true)
        if echo "$out" | grep ' primary *| *primary' >/dev/null \
           && echo "$out" | grep ' secondary *| *secondary' >/dev/null; then
            echo "$out"
            return 0
        fi
        sleep 1
    done
    echo "$out" >&2
    return 1
}

primary_name() {
    as_pg pg_autoctl show state --monitor "$(monitor_uri)" 2>/dev/null \
        | awk -F'|' '$6 ~ /primary/ && $7 ~ /primary/ {gsub(/ /, "", $1); print $1}'
}

cmd_up() {
    mkdir -p "$dir"
    chmod 755 "$dir"
    [ -e "$dir/monitor.port" ] && die "$dir is in use (destroy first)"
    mkdir -p "$dir/config" "$dir/data"
    [ "$(id -u)" = 0 ] && chown postgres: "$dir" "$dir/config" "$dir/data"
    local pm p1 p2
    pm=$(free_port); p1=$(free_port); p2=$(free_port)
    echo "$pm" > "$dir/monitor.port"
    as_pg pg_autoctl create monitor --pgdata "$dir/monitor" --pgport "$pm" \
        --hostname 127.0.0.1 --auth trust --no-ssl >"$dir/create-monitor.log" 2>&1 \
        || { cat "$dir/create-monitor.log" >&2; die "create monitor failed"; }
    run_bg monitor run --pgdata "$dir/monitor"
    local i
    for i in $(seq 1 60); do
        as_pg "$bindir/pg_isready" -q -h 127.0.0.1 -p "$pm" && break
        sleep 0.5
    done
    run_bg node1 create postgres --pgdata "$dir/node1" --pgport "$p1" \
        --hostname 127.0.0.1 --name node1 --monitor "$(monitor_uri)" \
        --auth trust --no-ssl --run
    # the second node only once the first is the primary (it clones it)
    for i in $(seq 1 120); do
        as_pg pg_autoctl show state --monitor "$(monitor_uri)" 2>/dev/null \
            | grep 'node1.*single *| *single' >/dev/null && break
        sleep 1
    done
    run_bg node2 create postgres --pgdata "$dir/node2" --pgport "$p2" \
        --hostname 127.0.0.1 --name node2 --monitor "$(monitor_uri)" \
        --auth trust --no-ssl --run
    wait_roles 180 || die "no primary + secondary after 180 s (see $dir/*.log)"
    say "formation up; connection string for the application:"
    as_pg pg_autoctl show uri --formation default --monitor "$(monitor_uri)"
}

cmd_failover() {
    local before after t0 t1
    before=$(primary_name)
    [ -n "$before" ] || die "no primary"
    t0=$(date +%s%N)
    as_pg pg_autoctl perform failover --monitor "$(monitor_uri)" \
        --formation default --group 0 --wait 120 \
        || die "perform failover failed"
    wait_roles 120 >/dev/null || die "roles did not settle after the fail-over"
    t1=$(date +%s%N)
    after=$(primary_name)
    [ -n "$after" ] && [ "$after" != "$before" ] \
        || die "primary still '$before' after the fail-over"
    say "fail-over: primary $before -> $after in $(( (t1 - t0) / 1000000 )) ms"
}

cmd_state() {
    as_pg pg_autoctl show state --monitor "$(monitor_uri)"
}

cmd_destroy() {
    local n pid
    for n in node2 node1 monitor; do
        if [ -f "$dir/$n.pid" ]; then
            pid=$(cat "$dir/$n.pid")
            # runuser's child is pg_autoctl: stop it cleanly through its pgdata
            as_pg pg_autoctl stop --pgdata "$dir/$n" >/dev/null 2>&1 || true
            for _ in $(seq 1 100); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
            kill "$pid" 2>/dev/null || true
        fi
        if [ -f "$dir/$n/postmaster.pid" ]; then
            as_pg "$bindir/pg_ctl" -D "$dir/$n" -m immediate stop >/dev/null 2>&1 || true
        fi
    done
    rm -rf "$dir"
}

[ $# -eq 2 ] || die "usage: ha-autofailover.sh run|up|failover|state|destroy DIR"
dir=$2
case $1 in
    run)
        trap 'cmd_destroy' EXIT
        cmd_up
        cmd_failover
        cmd_state
        ;;
    up) cmd_up ;;
    failover) cmd_failover ;;
    state) cmd_state ;;
    destroy) cmd_destroy ;;
    *) die "unknown command '$1'" ;;
esac
