#!/usr/bin/env bash
# What the revocation barrier costs a change (issue 13): the wall time of
# `qiweictl member set-status` with the barrier (default --wait 2) and
# without it (--wait 0), for a growing number of cache listeners, i.e.
# httpd nodes x children (QiweiCacheMode cached: one listener per child).
#
#   bash bench/barrier.sh                   nodes 2 and 8, 4 children each
#   BARRIER_NODES="1 2 8" BARRIER_CHILDREN=4 BARRIER_CHANGES=200 \
#       bash bench/barrier.sh
#
# It starts its own PostgreSQL (scripts/pg.sh) and httpd nodes (event MPM,
# BARRIER_CHILDREN processes each) in a temporary directory,
# waits until every listener is connected (pg_stat_activity), then runs
# BARRIER_CHANGES status changes (disable / enable, alternating) each way
# and prints, per listener count, the median, p95 and maximum milliseconds
# per command.  Each command is a whole qiweictl run (process start,
# connect, the change, the barrier): the --wait 0 column is the same
# without the barrier, so the difference is the barrier's cost.
# Not a test: the figures go to docs/performance.md.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
nodes_list=${BARRIER_NODES:-2 8}
children=${BARRIER_CHILDREN:-4}
changes=${BARRIER_CHANGES:-100}
build=${QIWEI_BUILD_DIR:-$here/build}
moddir=/usr/lib/apache2/modules
httpd_bin=$(command -v apache2 || echo /usr/sbin/apache2)

say() { echo "barrier.sh: $*" >&2; }
die() { say "$*"; exit 1; }

[ "${BENCH_SKIP_BUILD:-0}" = 1 ] || bash "$here/scripts/build.sh" >/dev/null
module=$build/.libs/mod_qiwei.so
ctl=$build/qiweictl
[ -x "$ctl" ] && [ -f "$module" ] || die "no build in $build"

run=$(mktemp -d "${TMPDIR:-/tmp}/qiwei-barrier.XXXXXX")
chmod 755 "$run"
started=()
cleanup() {
    set +e
    for c in "${started[@]}"; do "$httpd_bin" -f "$c" -k stop 2>/dev/null; done
    sleep 1
    if [ "${BARRIER_KEEP:-0}" = 1 ]; then
        bash "$here/scripts/pg.sh" stop "$run" >/dev/null 2>&1
        say "kept $run (configs, error logs)"
    else
        bash "$here/scripts/pg.sh" destroy "$run" >/dev/null 2>&1
        rm -rf "$run"
    fi
}
trap cleanup EXIT

bash "$here/scripts/pg.sh" start "$run" >/dev/null
# shellcheck disable=SC1091
. "$run/pg.env"
echo "max_connections = 400" >> "$QIWEI_PG_DIR/postgresql.conf"
bash "$here/scripts/pg.sh" stop "$run" >/dev/null
bash "$here/scripts/pg.sh" restart "$run" >/dev/null
psu() { "$QIWEI_PG_BINDIR/psql" -X -q -At -d "$QIWEI_PG_SUPER_DSN" "$@"; }

keyfile=$run/qiwei.key
"$ctl" keygen "$keyfile" >/dev/null   # 0600: httpd reads it as root
export QIWEI_KEYFILE=$keyfile QIWEI_DSN=$QIWEI_PG_OWNER_DSN
"$ctl" migrate --sql-dir "$here/sql" --app-role "$QIWEI_PG_APP_ROLE" >/dev/null
"$ctl" --wait 0 enterprise add bench Bench >/dev/null
"$ctl" --wait 0 member add bench carol --name Carol >/dev/null
# an invited member without a password cannot be set active: give carol one
# (cheap Argon2id: only the status changes are measured)
printf '%s\n' "Barrier-bench-$(head -c 9 /dev/urandom | base64 | tr '+/' '-_')" \
    | "$ctl" --wait 0 --pw-mem 19 --pw-ops 2 member set-password bench carol >/dev/null

if [ "$(id -u)" = 0 ]; then usergroup=$'User nobody\nGroup nogroup'; else usergroup=; fi
htdocs=$run/htdocs
mkdir -p "$htdocs"
echo ok > "$htdocs/index.html"

free_port() {
    perl -MIO::Socket::INET -e 'print IO::Socket::INET->new(Listen => 1,
        LocalAddr => "127.0.0.1", LocalPort => 0)->sockport, "\n"'
}

start_node() {   # N
    local root=$run/node$1 port
    port=$(free_port)
    mkdir -p "$root"
    cat > "$root/httpd.conf" <<EOF
ServerRoot "$root"
DefaultRuntimeDir "$root"
PidFile "$root/httpd.pid"
ErrorLog "$root/error.log"
LogLevel warn
ServerName 127.0.0.1
Listen 127.0.0.1:$port
$usergroup
LoadModule mpm_event_module $moddir/mod_mpm_event.so
StartServers $children
ServerLimit $children
MinSpareThreads 1
MaxSpareThreads $((children * 25))
ThreadsPerChild 25
MaxRequestWorkers $((children * 25))
LoadModule authn_core_module $moddir/mod_authn_core.so
LoadModule authz_core_module $moddir/mod_authz_core.so
# mod_qiwei refuses to start without it (per-address login throttling)
LoadModule socache_shmcb_module $moddir/mod_socache_shmcb.so
LoadModule qiwei_module $module
DocumentRoot "$htdocs"
QiweiDatabase "$QIWEI_PG_APP_DSN"
QiweiKeyFile "$keyfile"
<Location /m>
    AuthType Qiwei
    QiweiEnterprise bench
    Require qiwei-member
</Location>
EOF
    "$httpd_bin" -f "$root/httpd.conf" -k start
    started+=("$root/httpd.conf")
}

listeners() {
    psu -c "SELECT count(*) FROM pg_stat_activity
             WHERE application_name LIKE 'mod\\_qiwei listener %'"
}

# CHANGES runs of set-status with --wait W; prints the sorted ms per run
measure() {   # WAIT
    local i st t0 t1
    for i in $(seq 1 "$changes"); do
        if [ $((i % 2)) = 1 ]; then st=disabled; else st=active; fi
        t0=$(date +%s%N)
        "$ctl" --wait "$1" member set-status bench carol "$st" >/dev/null
        t1=$(date +%s%N)
        echo $(( (t1 - t0) / 1000 ))
    done | sort -n
}
stats() {   # FILE of microseconds, sorted -> "median p95 max" in ms
    awk '{ v[NR] = $1 } END {
        p95 = int(NR * 0.95); if (p95 < 1) p95 = 1
        printf "%.1f %.1f %.1f\n", v[int((NR + 1) / 2)] / 1000,
               v[p95] / 1000, v[NR] / 1000 }' "$1"
}

printf '%-7s %-9s %-10s %-26s %-26s\n' nodes children listeners \
    "--wait 2: median/p95/max" "--wait 0: median/p95/max"
have=0
for n in $nodes_list; do
    while [ "$have" -lt "$n" ]; do
        have=$((have + 1))
        start_node "$have"
    done
    want=$((n * children))
    for _ in $(seq 1 100); do
        [ "$(listeners)" -ge "$want" ] && break
        sleep 0.1
    done
    got=$(listeners)
    [ "$got" -ge "$want" ] || die "only $got of $want listeners connected"
    measure 2 > "$run/with.txt"
    measure 0 > "$run/without.txt"
    read -r a b c < <(stats "$run/with.txt")
    read -r d e f < <(stats "$run/without.txt")
    printf '%-7s %-9s %-10s %-26s %-26s\n' "$n" "$children" "$got" \
        "$a / $b / $c ms" "$d / $e / $f ms"
done
