#!/usr/bin/env bash
# mod_qiwei benchmark (issue 7, parts 1 and 4): one command that starts its
# own PostgreSQL and httpd instances in a temporary directory, loads
# realistic data, runs wrk against every gate side by side and prints one
# table.  Not a test: nothing here passes or fails on numbers.
#
#   bash bench/run.sh
#
# Environment:
#   BENCH_DURATION=S       seconds per measured run (default 10)
#   BENCH_CONNECTIONS=N    wrk connections (default 32); threads: BENCH_THREADS (1)
#   BENCH_QUICK=1          3 s runs, 1 s warm-up, short login runs (smoke test)
#   BENCH_WARMUP=S         warm-up seconds before each run (default 2)
#   BENCH_ONLY=REGEX       only scenarios whose name matches (grep -E)
#   BENCH_ROUNDS=N         run the scenario list N times; the table shows
#                          per scenario the round with the median ratio
#                          (each round against its own plain static rows)
#                          and the range of the ratios
#   BENCH_PAIRS=1          (default) each row runs at the same time as
#                          plain static on a third instance ("ref"), on the
#                          same server core; its ratio is ref's CPU per
#                          request over its own (see scenario()); 0: each
#                          row alone, ratio against the round's first plain
#                          static row (the method before the eighth session)
#   BENCH_LOGIN=0          skip the login-cost runs (part 4)
#   BENCH_LOGIN_CONNECTIONS=N   concurrent logins (default 64)
#   BENCH_PIN=0            do not pin (default: httpd + PostgreSQL on cpu0,
#                          wrk on cpu1, when there are 2 or more CPUs)
#   BENCH_CACHE_MODES="cached strict"  modes to run when the module knows
#                          QiweiCacheMode (issue 7 part 2); ignored otherwise;
#                          "cached:N" adds QiweiCacheEntries N
#   BENCH_KEEP=1           keep the temporary directory (configs, logs)
#   BENCH_SESSION_WARMUP=S before the rows of each cached instance, replay
#                          the 1,000 sessions paced over S seconds (default
#                          65: longer than the last-seen interval, 60 s),
#                          then every list at full speed for 3 s, so that
#                          every cached row sees the same steady state
#                          (issue 14); 0 skips it
#   BENCH_REVOKE=0         skip the revocation-under-load measurement (part 3)
#   BENCH_REVOKE_TRIALS=N  revocation trials (default 20)
#   BENCH_REVOKE_DELAY_MS=N  pacing of the background wrk load on the two
#                          revocation instances: each of its 8 connections
#                          waits N ms between requests (default 20, i.e. a
#                          few hundred req/s per instance)
#   BENCH_RSS_SOAK=1       RSS soak: BENCH_SOAK_SECONDS (default 200) of
#                          Require qiwei-member on the cached instance, RSS
#                          sampled every BENCH_SOAK_STEP s (default 20)
#   BENCH_SOAK_DELAY_MS="0 20"  RSS soak phases: one soak per value, each
#                          wrk connection waiting N ms between requests (0 =
#                          back-to-back, the default); with the statements the
#                          application role ran per step (pg_stat_statements),
#                          this shows the cached mode's database load per
#                          session and per request rate (docs/scaling.md)
#   BENCH_CALLGRIND=1      instructions per request of a few scenarios under
#                          callgrind (httpd -X; BENCH_CG_N1/N2 requests, default
#                          200 and 1200; several minutes)
#   BENCH_PROFILE=REGEX    perf record -g one httpd child during the scenarios
#                          whose name matches (perturbs those runs; use with
#                          BENCH_ONLY); the top entries are printed at the end
#   BENCH_SKIP_BUILD=1     use the existing build in QIWEI_BUILD_DIR as is
#   QIWEI_BUILD_DIR        build directory (default <repo>/build)
#   BENCH_SQL_DIR          schema files for qiweictl migrate (default <repo>/sql)
#
# Everything lives in one mktemp directory that is removed at exit; all
# servers listen on 127.0.0.1 only.  As root it installs the packages it
# needs (wrk, libaprutil1-dbd-pgsql) and runs httpd children as nobody and
# PostgreSQL as postgres, like scripts/demo.sh.  See docs/performance.md.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
benchdir=$here/bench
build=${QIWEI_BUILD_DIR:-$here/build}
export QIWEI_BUILD_DIR=$build
httpd_bin=${APACHE2:-/usr/sbin/apache2}
moddir=${BENCH_MODDIR:-/usr/lib/apache2/modules}

duration=${BENCH_DURATION:-10}
warmup=${BENCH_WARMUP:-2}
conns=${BENCH_CONNECTIONS:-32}
threads=${BENCH_THREADS:-1}
login_conns=${BENCH_LOGIN_CONNECTIONS:-64}
login_duration=${BENCH_LOGIN_DURATION:-$duration}
if [ "${BENCH_QUICK:-0}" = 1 ]; then
    duration=3
    warmup=1
    login_duration=3
fi
only=${BENCH_ONLY:-}
rounds=${BENCH_ROUNDS:-1}
pairs=${BENCH_PAIRS:-1}     # see scenario()
round=1
cache_modes=${BENCH_CACHE_MODES:-cached strict}

say() { echo "bench: $*" >&2; }
load1() { cut -d' ' -f1 /proc/loadavg; }
uptime_start=$(uptime)
die() { echo "bench: ERROR: $*" >&2; exit 1; }

# --- packages -----------------------------------------------------------
need_pkgs=(wrk libaprutil1-dbd-pgsql postgresql-contrib)
bash "$here/scripts/deps.sh" || die "scripts/deps.sh failed"
missing=()
for p in "${need_pkgs[@]}"; do
    st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [ "$st" = installed ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
        say "installing ${missing[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
            --no-install-recommends "${missing[@]}" </dev/null >/dev/null \
            || { DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null;
                 DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
                     --no-install-recommends "${missing[@]}" </dev/null \
                     >/dev/null; }
    else
        say "missing packages: ${missing[*]} (run as root to install them)"
    fi
fi
command -v wrk >/dev/null || die "wrk is not installed (apt-get install wrk)"
have_dbd_pgsql=0
if ls /usr/lib/*/apr-util-1/apr_dbd_pgsql*.so >/dev/null 2>&1; then
    have_dbd_pgsql=1
else
    say "no apr_dbd_pgsql driver (libaprutil1-dbd-pgsql): peer runs skipped"
fi

# --- CPU pinning --------------------------------------------------------
pin_srv=()
pin_wrk=()
ncpu=$(nproc 2>/dev/null || echo 1)
if [ "${BENCH_PIN:-1}" = 1 ] && [ "$ncpu" -ge 2 ] && command -v taskset >/dev/null; then
    pin_srv=(taskset -c 0)
    pin_wrk=(taskset -c 1)
    pinning="httpd + PostgreSQL on cpu0, wrk on cpu1"
else
    pinning="not pinned ($ncpu CPU)"
fi

# --- build --------------------------------------------------------------
if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
    bash "$here/scripts/build.sh" >&2
fi
ctl=$build/qiweictl
module=$build/.libs/mod_qiwei.so
[ -x "$ctl" ] && [ -f "$module" ] || die "no $ctl / $module: build first"

# --- temporary directory and cleanup -------------------------------------
run=$(mktemp -d /tmp/qiwei-bench.XXXXXX)
chmod 755 "$run"            # nobody reads htdocs, postgres its data dir
instances=()                # names of started httpd instances
bg_pids=()                  # samplers we started

stop_httpd() {
    local name=$1 pidfile=$run/httpd-$1/httpd.pid pid
    [ -f "$pidfile" ] || return 0
    pid=$(cat "$pidfile" 2>/dev/null || true)
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    rm -f "$pidfile"
}

cleanup() {
    local rc=$?
    set +e
    for p in "${bg_pids[@]}"; do
        kill "$p" 2>/dev/null
    done
    for n in "${instances[@]}"; do
        stop_httpd "$n"
    done
    if [ -f "$run/pg.env" ]; then
        bash "$here/scripts/pg.sh" stop "$run" >/dev/null 2>&1
    fi
    if [ "${BENCH_KEEP:-0}" = 1 ]; then
        say "kept $run"
    else
        rm -rf "$run"
    fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    perl -MIO::Socket::INET -e '
        my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1",
                                      LocalPort => 0) or die "$!\n";
        print $s->sockport, "\n";'
}

# --- PostgreSQL ----------------------------------------------------------
say "starting PostgreSQL in $run (pinned: $pinning)"
"${pin_srv[@]}" bash "$here/scripts/pg.sh" start "$run" >/dev/null
# shellcheck disable=SC1091
. "$run/pg.env"
psql_bin=$QIWEI_PG_BINDIR/psql
# pg_stat_statements counts the statements httpd runs; more connections
# than pg.sh's 100 because two pools (mod_qiwei, mod_dbd) may be open.
pgconf=$QIWEI_PG_DIR/postgresql.conf
have_pgss=0
if [ -f "$(dirname "$QIWEI_PG_BINDIR")/lib/pg_stat_statements.so" ]; then
    have_pgss=1
    cat >> "$pgconf" <<EOF
# --- bench/run.sh ---
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track = top
pg_stat_statements.max = 1000
EOF
fi
echo "max_connections = 300" >> "$pgconf"
bash "$here/scripts/pg.sh" stop "$run" >/dev/null
"${pin_srv[@]}" bash "$here/scripts/pg.sh" restart "$run" >/dev/null

psu() { "$psql_bin" -X -q -v ON_ERROR_STOP=1 -d "$QIWEI_PG_SUPER_DSN" "$@"; }
pso() { "$psql_bin" -X -q -v ON_ERROR_STOP=1 -d "$QIWEI_PG_OWNER_DSN" "$@"; }
if [ "$have_pgss" = 1 ]; then
    psu -c 'CREATE EXTENSION pg_stat_statements' >/dev/null \
        || have_pgss=0
fi
if [ "$have_pgss" = 1 ]; then
    queries_source="pg_stat_statements: statements run by $QIWEI_PG_APP_ROLE per request"
else
    queries_source="pg_stat_database: committed transactions in db qiwei per request"
fi

# Statements the application role has run so far (or transactions).
db_count() {
    if [ "$have_pgss" = 1 ]; then
        psu -At -c "SELECT coalesce(sum(s.calls), 0) FROM pg_stat_statements s
                     JOIN pg_roles r ON r.oid = s.userid
                    WHERE r.rolname = '$QIWEI_PG_APP_ROLE'"
    else
        psu -At -c "SELECT pg_stat_clear_snapshot();
                    SELECT xact_commit FROM pg_stat_database
                     WHERE datname = 'qiwei'" | tail -n 1
    fi
}

# --- schema and data -----------------------------------------------------
keyfile=$run/qiwei.key
"$ctl" keygen "$keyfile" >/dev/null
export QIWEI_KEYFILE=$keyfile QIWEI_DSN=$QIWEI_PG_OWNER_DSN
sqldir=${BENCH_SQL_DIR:-$here/sql}
"$ctl" migrate --sql-dir "$sqldir" --app-role "$QIWEI_PG_APP_ROLE" >/dev/null \
    || die "qiweictl migrate --sql-dir $sqldir failed (set BENCH_SQL_DIR to" \
           "the schema files this build was made for)"
have_articles=0
if pso -At -c "SELECT to_regclass('public.articles') IS NOT NULL" | grep -q t
then
    have_articles=1
fi

basic_pw=bench-basic-$(head -c 9 /dev/urandom | base64 | tr '+/' '-_')
basic_sha="{SHA}$(perl -MDigest::SHA=sha1 -MMIME::Base64 \
    -e 'print encode_base64(sha1($ARGV[0]), "")' "$basic_pw")"
login_pw=Bench-$(head -c 12 /dev/urandom | base64 | tr '+/' '-_')

say "loading data (SQL generate_series as the database owner)"
t0=$(date +%s.%N)
pso -v basic_sha="$basic_sha" -v app_role="$QIWEI_PG_APP_ROLE" \
    -f "$benchdir/seed.sql" >/dev/null
if [ "$have_articles" = 1 ]; then
    pso -f "$benchdir/seed_articles.sql" >/dev/null
fi
# one real Argon2id hash (memory 64 MiB, 2 passes: the module's defaults),
# copied to every member; set-password also ends u000001's sessions, so it
# runs before any session of u000001 is used
printf '%s\n' "$login_pw" | "$ctl" --pw-mem 64 --pw-ops 2 \
    member set-password acme u000001 >/dev/null
pso -c "UPDATE members SET password_hash = (SELECT password_hash FROM members
          m JOIN enterprises e USING (enterprise_id)
         WHERE e.code = 'acme' AND m.account = 'u000001'),
        password_changed_at = now()" >/dev/null
t1=$(date +%s.%N)
data_summary=$(pso -At -F ' ' -c "SELECT
    (SELECT count(*) FROM enterprises), (SELECT count(*) FROM members),
    (SELECT count(*) FROM departments), (SELECT count(*) FROM roles),
    (SELECT count(*) FROM sessions),
    CASE WHEN to_regclass('public.articles') IS NULL THEN 0
         ELSE (SELECT count(*) FROM articles) END")
read -r n_ent n_mem n_dept n_role n_sess n_art <<<"$data_summary"
say "data: $n_ent enterprises, $n_mem members, $n_dept departments," \
    "$n_role roles, $n_sess sessions, $n_art articles" \
    "($(printf '%.1f' "$(echo "$t1 - $t0" | bc)") s)"

# --- request lists for wrk ----------------------------------------------
lists=$run/lists
mkdir -p "$lists"
list_query() {   # FILE SQL
    pso -At -v basic_pw="$basic_pw" -f - > "$lists/$1" <<<"$2"
    [ -s "$lists/$1" ] || die "request list $1 is empty"
}
acme="JOIN enterprises e USING (enterprise_id) WHERE e.code = 'acme'"
in_div1="EXISTS (SELECT 1 FROM member_departments md
          JOIN departments d ON d.enterprise_id = md.enterprise_id
                            AND d.department_id = md.department_id
          JOIN departments x ON x.enterprise_id = d.enterprise_id
                            AND x.code = 'div1' AND d.path LIKE x.path || '%'
         WHERE md.enterprise_id = t.enterprise_id
           AND md.member_id = t.member_id)"
list_query member.txt "SELECT 'PATH' || E'\t' || 'Cookie: qiwei_session='
    || t.cookie FROM bench.tokens t $acme ORDER BY md5(t.cookie);"
list_query department.txt "SELECT 'PATH' || E'\t' || 'Cookie: qiwei_session='
    || t.cookie FROM bench.tokens t $acme AND $in_div1 ORDER BY md5(t.cookie);"
basic="'PATH' || E'\t' || 'Authorization: Basic ' || encode(convert_to(
    m.account || ':' || :'basic_pw', 'UTF8'), 'base64')"
list_query basic.txt "SELECT $basic FROM bench.tokens t
    JOIN members m USING (enterprise_id, member_id) $acme
    ORDER BY md5(t.cookie);"
list_query basic_div1.txt "SELECT $basic FROM bench.tokens t
    JOIN members m USING (enterprise_id, member_id) $acme AND $in_div1
    ORDER BY md5(t.cookie);"
printf 'PATH\n' > "$lists/plain.txt"
if [ "$have_articles" = 1 ]; then
    # per acme session one article it may read, at random among those it
    # may read (the audience rules of mod_qiwei/article.c, restated)
    list_query article.txt "SELECT pick.path || E'\t'
        || 'Cookie: qiwei_session=' || t.cookie
      FROM bench.tokens t JOIN enterprises e USING (enterprise_id)
      CROSS JOIN LATERAL (
        SELECT a.path FROM articles a
         WHERE a.enterprise_id = t.enterprise_id AND a.module = 'news'
           AND (a.audience_all OR a.owner_member_id = t.member_id
             OR EXISTS (SELECT 1 FROM article_audience x
                  WHERE x.enterprise_id = a.enterprise_id
                    AND x.article_id = a.article_id
                    AND (x.member_id = t.member_id
                      OR x.role_id IN (SELECT mr.role_id FROM member_roles mr
                            WHERE mr.enterprise_id = a.enterprise_id
                              AND mr.member_id = t.member_id)
                      OR x.department_id IN (SELECT anc.department_id
                            FROM member_departments md
                            JOIN departments d
                              ON d.enterprise_id = md.enterprise_id
                             AND d.department_id = md.department_id
                            JOIN departments anc
                              ON anc.enterprise_id = d.enterprise_id
                             AND d.path LIKE anc.path || '%'
                           WHERE md.enterprise_id = a.enterprise_id
                             AND md.member_id = t.member_id))))
         ORDER BY md5(a.path || t.cookie) LIMIT 1) pick
     WHERE e.code = 'acme' ORDER BY md5(t.cookie);"
    sed 's/\t/?wm\t/' "$lists/article.txt" > "$lists/article_wm.txt"
fi

# --- content -----------------------------------------------------------
htdocs=$run/htdocs
mkdir -p "$htdocs"
marker=BENCH-PAGE-MARKER
make_page() {   # FILE BYTES: an article-like HTML page of about BYTES
    perl -e '
        my ($file, $size, $marker) = @ARGV;
        my $head = qq{<!DOCTYPE html>\n<html lang="zh-CN"><head>}
          . qq{<meta charset="utf-8"><title>Notice $marker</title>}
          . qq{<meta name="viewport" content="width=device-width">}
          . qq{<style>body{font-family:sans-serif;max-width:40em}</style>}
          . qq{</head>\n<body class="article">\n<h1>$marker</h1>\n};
        my $tail = qq{<p>$marker end</p>\n</body>\n</html>\n};
        my $para = qq{<p>季度报告 Quarterly report: revenue, costs and }
          . qq{<a href="/x/y">links</a> &amp; entities, }
          . qq{<em>emphasis</em>, plain text to fill a line.</p>\n};
        my $body = "";
        $body .= $para while length($head) + length($body) + length($para)
                             + length($tail) <= $size;
        open my $fh, ">", $file or die "$file: $!";
        print $fh $head, $body, $tail;
        close $fh;' "$1" "$2" "$marker"
}
make_page "$htdocs/page12k.html" 12288
make_page "$htdocs/page1m.html" 1048576
chmod -R a+rX "$htdocs"
size12k=$(stat -c %s "$htdocs/page12k.html")
size1m=$(stat -c %s "$htdocs/page1m.html")

# --- httpd instances ----------------------------------------------------
# QiweiCacheMode (issue 7 part 2) is emitted only when the module has it.
module_has_directive() { grep -aq "$1" "$module"; }
if module_has_directive QiweiCacheMode; then
    qiwei_modes=($cache_modes)
else
    qiwei_modes=("")
fi

if [ "$(id -u)" = 0 ]; then
    usergroup=$'User nobody\nGroup nogroup'
else
    usergroup="# not root: children run as $(id -un)"
fi

# start_httpd NAME "DEFINES" [PWCONC] [PWMEM] [QIWEI_EXTRA]
start_httpd() {
    local name=$1 defines=$2 pwconc=${3:-2} pwmem=${4:-64} extra=${5:-}
    local root=$run/httpd-$name port conf d args=()
    port=$(free_port)
    mkdir -p "$root/run"
    conf=$root/httpd.conf
    ( umask 077
      ROOT=$root PORT=$port USERGROUP=$usergroup MODDIR=$moddir \
      HTDOCS=$htdocs MODULE=$module QIWEI_DSN=$QIWEI_PG_APP_DSN \
      KEYFILE=$keyfile PWMEM=$pwmem PWCONC=$pwconc QIWEI_EXTRA=$extra \
      DBD_PARAMS=${QIWEI_PG_APP_DSN/ connect_timeout=5/} \
      perl -pe 's/\@([A-Z_]+)\@/exists $ENV{$1} ? $ENV{$1} : "\@$1\@"/ge' \
          "$benchdir/conf/httpd.conf.in" > "$conf" )
    for d in $defines; do args+=(-D "$d"); done
    instances+=("$name")
    "${pin_srv[@]}" "$httpd_bin" -f "$conf" "${args[@]}" -k start \
        || { tail -n 20 "$root/error.log" >&2 2>/dev/null;
             die "httpd $name did not start (config $conf)"; }
    for _ in $(seq 1 100); do
        curl -s -o /dev/null "http://127.0.0.1:$port/static/page12k.html" \
            && break
        sleep 0.1
    done
    eval "port_${name//-/_}=$port"
    say "httpd $name on 127.0.0.1:$port (-D ${defines// / -D })"
}
port_of() { local v="port_${1//-/_}"; echo "${!v}"; }

# The pids of an instance's children (the httpd processes that serve).
children_of() {   # INSTANCE
    local pid
    pid=$(cat "$run/httpd-$1/httpd.pid" 2>/dev/null) || return 0
    ps -o pid= --ppid "$pid" 2>/dev/null || true
}
# Sum of the RSS of an instance's children (KiB), from /proc.
rss_kib() {
    local total=0 c r
    for c in $(children_of "$1"); do
        r=$(awk '/^VmRSS:/ {print $2}' /proc/"$c"/status 2>/dev/null || true)
        total=$((total + ${r:-0}))
    done
    echo "$total"
}
# CPU time (ns) used so far by the threads of an instance's httpd processes
# (the parent and its children), and with "pg" also by the PostgreSQL
# backends of the application role: the server side's cost, whatever else the machine
# is doing (wrk is not counted).  From /proc/*/task/*/schedstat (time on a
# CPU in ns; /proc/PID/stat's clock ticks were too coarse for a row that
# shares the core with another).  A thread that exits between two readings
# takes its time with it: the MPM's are fixed (run.sh's configuration).
server_ns() {   # INSTANCE [pg]
    local pid pm pids c f a t=0
    pid=$(cat "$run/httpd-$1/httpd.pid" 2>/dev/null) || { echo 0; return; }
    pids="$pid $(children_of "$1")"
    if [ "${2:-}" = pg ]; then
        pm=$(head -n 1 "$run/pg/data/postmaster.pid" 2>/dev/null || true)
        # the backends of the application role (mod_qiwei's and mod_dbd's
        # connections), not the server's own background work (autovacuum,
        # checkpoints), which would land in whichever row it coincides with
        [ -n "$pm" ] && pids="$pids $(ps -o pid=,args= --ppid "$pm" 2>/dev/null |
            awk -v role="$QIWEI_PG_APP_ROLE" '$3 == role { print $1 }')"
    fi
    for c in $pids; do
        for f in /proc/"$c"/task/*/schedstat; do
            read -r a _ < "$f" 2>/dev/null && t=$((t + a))
        done
    done
    echo "$t"
}
# Sample the children's RSS every 50 ms into FILE (max kept) until killed.
# The loop reads /proc with bash builtins only (the children are listed
# once, and the 50 ms wait is a read with a timeout): forking ps, awk and
# sleep twenty times a second added work to whichever core ran them,
# during the very seconds being measured.  When pinned, it runs on the
# client's core, not the server's.
start_rss_sampler() {   # INSTANCE FILE
    local kids
    kids=$(children_of "$1")
    ( max=0
      exec {tick}<> <(:)
      while :; do
          v=0
          for c in $kids; do
              while read -r k n _; do
                  [ "$k" = VmRSS: ] && { v=$((v + n)); break; }
              done < /proc/"$c"/status 2>/dev/null || true
          done
          [ "$v" -gt "$max" ] && { max=$v; echo "$max" > "$2"; }
          read -r -t 0.05 -u "$tick" _ || true
      done ) &
    sampler=$!
    bg_pids+=("$sampler")
    [ ${#pin_wrk[@]} -gt 0 ] && taskset -cp 1 "$sampler" >/dev/null 2>&1 || true
}
stop_rss_sampler() { kill "$sampler" 2>/dev/null || true; wait "$sampler" 2>/dev/null || true; }

# --- profile (BENCH_PROFILE) ------------------------------------------------
profile=${BENCH_PROFILE:-}
profiles=()
profile_pid=
# profile_start INSTANCE NAME: perf record -g of the server core (cpu0 when
# pinned: httpd and PostgreSQL, nothing else of ours) for the run.
profile_start() {
    local n=${#profiles[@]} cpu=(-a)
    command -v perf >/dev/null || { say "no perf: no profile"; profile_pid=; return; }
    [ ${#pin_srv[@]} -gt 0 ] && cpu=(-C 0)
    profiles+=("$2")
    perf record -q -g -F 1999 "${cpu[@]}" -o "$run/perf-$n.data" \
        -- sleep $((duration > 3 ? duration - 1 : duration)) \
        >/dev/null 2>&1 &
    profile_pid=$!
    bg_pids+=("$profile_pid")
}
profile_stop() { wait "$1" 2>/dev/null || true; }
profile_report() {
    local i f
    for i in "${!profiles[@]}"; do
        f=$run/perf-$i.data
        [ -s "$f" ] || continue
        echo
        echo "Profile: ${profiles[$i]} (perf record -g -F 1999 on the server core;"
        echo "samples by process, then the top self-time symbols of httpd and of PostgreSQL)"
        echo
        # (|| true: head closing the pipe must not end the script)
        perf report -q -i "$f" --no-children --sort comm,dso --percent-limit 2 \
            -g none --stdio 2>/dev/null | grep -v '^$' | head -n 15 || true
        echo "-- httpd (apache2) --"
        perf report -q -i "$f" --no-children --comms apache2 --sort dso,sym \
            -g none --percent-limit 0.7 --stdio 2>/dev/null | grep -v '^$' \
            | head -n 30 || true
        echo "-- PostgreSQL --"
        perf report -q -i "$f" --no-children --comms postgres --sort dso,sym \
            -g none --percent-limit 0.7 --stdio 2>/dev/null | grep -v '^$' \
            | head -n 20 || true
    done
}

peers_defines=""
[ "$have_dbd_pgsql" = 1 ] && peers_defines="PEERS"
start_httpd base "$peers_defines"
# BENCH_PAIRS: the plain static that runs beside each row, configured as
# base (the peers' modules loaded, as in the plain static rows of every
# earlier table), so that base's own plain static row against it is an A/A
[ "$pairs" -gt 0 ] && start_httpd ref "$peers_defines"
qiwei_defines="QIWEI"
[ "$have_articles" = 1 ] && qiwei_defines="QIWEI ARTICLES"
qiwei_instances=()
for mode in "${qiwei_modes[@]}"; do
    if [ -n "$mode" ]; then
        # "cached:N" = cached with QiweiCacheEntries N
        extra="QiweiCacheMode ${mode%%:*}"
        [ "$mode" != "${mode#*:}" ] && extra+=$'\n'"QiweiCacheEntries ${mode#*:}"
        start_httpd "qiwei-${mode/:/-}" "$qiwei_defines" 2 64 "$extra"
        qiwei_instances+=("qiwei-${mode/:/-}")
    else
        start_httpd qiwei "$qiwei_defines"
        qiwei_instances+=(qiwei)
    fi
done

# --- scenarios ----------------------------------------------------------
results=$run/results.tsv
: > "$results"
base_rps=

# check_page INSTANCE PATH LIST [NEED]: the first request of the list must
# answer 200 with the real page (and NEED, e.g. the watermark), not a login
# redirect or a refusal: a benchmark of 302s is worthless.
check_page() {
    local inst=$1 path=$2 list=$3 need=${4:-} line p hdrs=() f code body
    line=$(head -n 1 "$lists/$list")
    IFS=$'\t' read -r -a f <<<"$line"
    p=${f[0]}
    [ "$p" = PATH ] && p=$path
    for h in "${f[@]:1}"; do hdrs+=(-H "$h"); done
    body=$run/check.body
    code=$(curl -s -o "$body" -w '%{http_code}' "${hdrs[@]}" \
           -H 'Accept: text/html' "http://127.0.0.1:$(port_of "$inst")$p")
    if [ "$code" != 200 ] || ! grep -q "$marker end" "$body"; then
        tail -n 5 "$run/httpd-$inst/error.log" >&2 2>/dev/null || true
        die "$inst $p answers $code, not the page (list $list): refusing" \
            "to benchmark a redirect or an error"
    fi
    if [ -n "$need" ] && ! grep -q "$need" "$body"; then
        die "$inst $p: the page lacks '$need' (watermark/substitution not applied)"
    fi
}

# BENCH_PAIRS=1 (the default): every row runs at the same time as plain
# static (12 KB, or 1 MB for the 1 MB rows) on a third instance, "ref",
# configured as the base instance, sharing the server core with it; the
# row's ratio is ref's CPU time per request over the row's (its httpd
# processes' threads, plus PostgreSQL's for the row, from schedstat, in
# nanoseconds).  Both sides of each ratio thus run under the same
# conditions at every instant: on a shared VM the machine's speed drifts,
# within seconds, by more than the targets' margins (the module-less row
# read 0.83-0.94 against a plain static row measured a minute earlier; in
# 2-second slices interleaved with their reference, rows still varied by
# +-6 % between rounds).  The plain static row itself, against ref, is an
# A/A check: it should read 1.00.  BENCH_PAIRS=0: each row alone on the
# core, its ratio its req/s over that of the round's first plain static row
# (the method of the tables before the eighth session; use it with
# BENCH_PROFILE, which samples the whole server core).  ($pairs is set at
# the top.)

# one wrk run; prints its BENCH line
wrk_run() {   # URL LIST PATH SECONDS
    local out
    out=$("${pin_wrk[@]}" wrk -t"$threads" -c"$conns" -d"$4s" \
          --latency -s "$benchdir/lua/replay.lua" "$1" \
          -- "$lists/$2" "$3" 2>&1) || { echo "$out" >&2; return 1; }
    grep '^BENCH ' <<<"$out" || { echo "$out" >&2; return 1; }
}

# scenario NAME INSTANCE PATH LIST [NEED] [BODYBYTES]
scenario() {
    local name=$1 inst=$2 path=$3 list=$4 need=${5:-} bytes=${6:-$size12k}
    local url rss0 rss1 peak q0 q1 line l0 l1 perfpid=
    local refpath refurl refcpu=0 refline= cpu ta tb ra rb rp
    if [ -n "$only" ] && ! grep -Eq -- "$only" <<<"$name"; then
        return 0
    fi
    check_page "$inst" "$path" "$list" "$need"
    url=http://127.0.0.1:$(port_of "$inst")
    refpath=
    if [ "$pairs" -gt 0 ]; then
        refpath=/static/page12k.html
        [ "$bytes" != "$size12k" ] && refpath=/static/page1m.html
        refurl=http://127.0.0.1:$(port_of ref)
        "${pin_wrk[@]}" wrk -t"$threads" -c"$conns" -d"${warmup}s" \
            -s "$benchdir/lua/replay.lua" "$refurl" -- "$lists/plain.txt" \
            "$refpath" >/dev/null 2>&1 &
        rp=$!
    fi
    "${pin_wrk[@]}" wrk -t"$threads" -c"$conns" -d"${warmup}s" \
        -s "$benchdir/lua/replay.lua" "$url" -- "$lists/$list" "$path" \
        >/dev/null 2>&1 || true
    [ -n "$refpath" ] && { wait "$rp" || true; }
    rss0=$(rss_kib "$inst")
    q0=$(db_count)
    l0=$(load1)
    start_rss_sampler "$inst" "$run/peak"
    if [ -n "$profile" ] && grep -Eq -- "$profile" <<<"$name"; then
        profile_start "$inst" "$name"
        perfpid=$profile_pid
    fi
    ta=$(server_ns "$inst" pg)
    [ -n "$refpath" ] && ra=$(server_ns ref)
    if [ -n "$refpath" ]; then
        wrk_run "$refurl" plain.txt "$refpath" "$duration" > "$run/ref.line" &
        rp=$!
    fi
    line=$(wrk_run "$url" "$list" "$path" "$duration") || die "wrk failed on $name"
    if [ -n "$refpath" ]; then
        wait "$rp" || die "wrk failed on the plain static run beside $name"
        refline=$(cat "$run/ref.line")
    fi
    tb=$(server_ns "$inst" pg)
    [ -n "$refpath" ] && { rb=$(server_ns ref); refcpu=$(( rb - ra )); }
    cpu=$(( tb - ta ))
    [ -n "$perfpid" ] && profile_stop "$perfpid"
    stop_rss_sampler
    l1=$(load1)
    q1=$(db_count)
    rss1=$(rss_kib "$inst")
    peak=$(cat "$run/peak" 2>/dev/null || echo "$rss1")
    # fields: name, BENCH line, q0, q1, rss0, rss1, peak, bytes, load0,
    # load1, server CPU s, round, reference BENCH line, reference CPU s
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$line" \
        "$q0" "$q1" "$rss0" "$rss1" "$peak" "$bytes" "$l0" "$l1" \
        "$(awk -v c="$cpu" 'BEGIN { printf "%.9f", c / 1e9 }')" \
        "$round" "${refline:--}" \
        "$(awk -v c="$refcpu" 'BEGIN { printf "%.9f", c / 1e9 }')" >> "$results"
    say "$(printf '%-48s' "$name") $(awk -v l="$line" -v r="$refline" 'function rate(s,   n, a, i, kv, v) { n = split(s, a, " "); for (i = 2; i <= n; i++) { split(a[i], kv, "="); v[kv[1]] = kv[2] }; return v["duration_us"] > 0 ? v["requests"] / (v["duration_us"] / 1e6) : 0 }
        BEGIN { n = split(l, a, " "); for (i = 2; i <= n; i++) { split(a[i], kv, "="); v[kv[1]] = kv[2] }; printf "%8.0f req/s  %s", v["requests"] / (v["duration_us"] / 1e6), (v["status_err"] + v["sock_err"] > 0) ? "(errors: " v["status_err"] " status, " v["sock_err"] " socket " v["sock_detail"] ")" : ""
                if (r != "") printf " (plain static beside it: %.0f req/s)", rate(r) }')"
}

# session_steady INSTANCE (issue 14): the member sessions' last-seen writes
# (due once per min(60 s, idle/10) per session) and each child's first
# misses used to land in whichever scenario first used the sessions after a
# pause: after any pause, every session that fell due meanwhile is written
# at once, and all of them fall due together again a minute later.  Here,
# right before an instance's cached rows, the 1,000 sessions are replayed
# paced over BENCH_SESSION_WARMUP seconds (longer than the interval): each
# due write happens at its own moment, spread over the minute, and stays
# spread while the rows keep using the sessions; then every list runs at
# full speed for 3 s, so each child has every session and article decision
# cached.  What is left is a steady trickle (about 3 statements per session
# per minute and instance), the same in every cached row: its DB q/req
# column shows it.
session_warmup=${BENCH_SESSION_WARMUP:-65}
session_steady() {   # INSTANCE
    local inst=$1 url l rate
    [ "$session_warmup" -gt 0 ] || return 0
    url=http://127.0.0.1:$(port_of "$inst")
    if [ ! -f "$run/steady.lua" ]; then
        { cat "$benchdir/lua/replay.lua"
          echo 'function delay() return tonumber(os.getenv("BENCH_DELAY_MS")) end'
        } > "$run/steady.lua"
    fi
    # 4 connections; each waits so that the whole list takes ~60 s
    rate=$(( 4 * 60000 / $(wc -l < "$lists/member.txt") ))
    say "$inst: sessions replayed over ${session_warmup}s (${rate} ms between requests per connection), then 3 s per list"
    BENCH_DELAY_MS=$rate "${pin_wrk[@]}" wrk -t1 -c4 -d"${session_warmup}s" \
        -s "$run/steady.lua" "$url" -- "$lists/member.txt" \
        /qw/member/page12k.html >/dev/null 2>&1 || true
    for l in member.txt article.txt; do
        [ -f "$lists/$l" ] || continue
        "${pin_wrk[@]}" wrk -t"$threads" -c"$conns" -d3s \
            -s "$benchdir/lua/replay.lua" "$url" -- "$lists/$l" \
            /qw/member/page12k.html >/dev/null 2>&1 || true
    done
}
# Does any scenario of INSTANCE's tag run (BENCH_ONLY)?
instance_selected() {   # TAG
    [ -z "$only" ] && return 0
    printf '%s\n' "Require qiwei-member$1" "Require qiwei-department div1$1" \
        "Require qiwei-article$1" "qiwei-member + watermark$1" \
        "qiwei-department + watermark$1" "qiwei-article + watermark$1" \
        "1 MB page, qiwei-member, no watermark$1" \
        "1 MB page, qiwei-member + watermark$1" | grep -Eq -- "$only"
}

say "runs of ${duration}s (warm-up ${warmup}s), wrk -t$threads -c$conns, keep-alive, $rounds round(s)"
# BENCH_ROUNDS=N: the whole list N times over; each round's ratios are
# taken against that round's plain static rows, and the table shows the
# median round (the machine's speed drifts between runs minutes apart).
for round in $(seq 1 "$rounds"); do
    [ "$rounds" -gt 1 ] && say "round $round of $rounds"
    scenario "plain static 12 KB (no mod_qiwei loaded)" base /static/page12k.html plain.txt
    scenario "plain static 12 KB, EnableMMAP Off (no mod_qiwei)" base /static-nommap/page12k.html plain.txt
    q1=${qiwei_instances[0]}
    scenario "plain static 12 KB (mod_qiwei loaded, not used)" "$q1" /static/page12k.html plain.txt
    for qi in "${qiwei_instances[@]}"; do
        tag=""
        [ "$qi" != qiwei ] && tag=" [${qi#qiwei-}]"
        if [ "$qi" != qiwei-strict ] && instance_selected "$tag"; then
            session_steady "$qi"
        fi
        scenario "Require qiwei-member$tag" "$qi" /qw/member/page12k.html member.txt
        scenario "Require qiwei-department div1$tag" "$qi" /qw/dept/page12k.html department.txt
        if [ "$have_articles" = 1 ]; then
            scenario "Require qiwei-article$tag" "$qi" / article.txt
        fi
        scenario "qiwei-member + watermark$tag" "$qi" /qw/member-wm/page12k.html member.txt qiwei-wm
        scenario "qiwei-department + watermark$tag" "$qi" /qw/dept-wm/page12k.html department.txt qiwei-wm
        if [ "$have_articles" = 1 ]; then
            scenario "qiwei-article + watermark$tag" "$qi" / article_wm.txt qiwei-wm
        fi
        scenario "1 MB page, qiwei-member, no watermark$tag" "$qi" /qw/member/page1m.html member.txt "" "$size1m"
        scenario "1 MB page, qiwei-member + watermark$tag" "$qi" /qw/member-wm/page1m.html member.txt qiwei-wm "$size1m"
    done
    scenario "plain static 1 MB (no mod_qiwei loaded)" base /static/page1m.html plain.txt "" "$size1m"
    if [ "$have_dbd_pgsql" = 1 ]; then
        scenario "peer: authn_dbd {SHA} + authn_socache" base /peer/basic/page12k.html basic.txt
        scenario "peer: authn_dbd + socache + dbd-group" base /peer/group/page12k.html basic_div1.txt
        scenario "peer: authn_dbd + dbd-group, no cache" base /peer/group-nocache/page12k.html basic_div1.txt
    fi
    scenario "peer: mod_substitute 12 KB" base /sub/page12k.html plain.txt bench-wm
    scenario "peer: mod_substitute 1 MB" base /sub/page1m.html plain.txt bench-wm "$size1m"
done

# --- RSS soak (BENCH_RSS_SOAK=1) -----------------------------------------------
# Require qiwei-member on the cached instance for BENCH_SOAK_SECONDS, in
# steps of BENCH_SOAK_STEP seconds; the children's RSS after each step.
soak_results=$run/soak.tsv
: > "$soak_results"
rss_soak() {   # [DELAY_MS]: each connection waits that long between requests
    local inst=${qiwei_instances[0]} secs=${BENCH_SOAK_SECONDS:-200}
    local step=${BENCH_SOAK_STEP:-20} url t=0 total=0 out line req
    local delay=${1:-0} script=$benchdir/lua/replay.lua q0 q1
    url=http://127.0.0.1:$(port_of "$inst")
    check_page "$inst" /qw/member/page12k.html member.txt
    if [ "$delay" != 0 ]; then
        { cat "$benchdir/lua/replay.lua"
          echo 'function delay() return tonumber(os.getenv("BENCH_DELAY_MS")) end'
        } > "$run/soak-paced.lua"
        script=$run/soak-paced.lua
    fi
    say "RSS soak: Require qiwei-member on $inst, ${secs}s in ${step}s steps" \
        "(${delay} ms between requests per connection)"
    BENCH_DELAY_MS=$delay "${pin_wrk[@]}" wrk -t"$threads" -c"$conns" -d5s \
        -s "$script" "$url" -- "$lists/member.txt" \
        /qw/member/page12k.html >/dev/null 2>&1 || true
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' 0 0 "$(rss_kib "$inst")" "$(load1)" 0 \
        "$delay" 0 >> "$soak_results"
    while [ "$t" -lt "$secs" ]; do
        q0=$(db_count)
        out=$(BENCH_DELAY_MS=$delay "${pin_wrk[@]}" wrk -t"$threads" -c"$conns" -d"${step}s" \
              -s "$script" "$url" -- "$lists/member.txt" \
              /qw/member/page12k.html 2>&1) || die "wrk failed (soak)"
        q1=$(db_count)
        line=$(grep '^BENCH ' <<<"$out") || die "no result from wrk (soak)"
        req=$(sed 's/.* requests=\([0-9]*\) .*/\1/' <<<"$line")
        errs=$(awk -v l="$line" 'BEGIN { n = split(l, a, " "); for (i = 2; i <= n; i++) { split(a[i], kv, "="); v[kv[1]] = kv[2] }; print v["status_err"] + v["sock_err"] }')
        total=$((total + req))
        t=$((t + step))
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$total" "$(rss_kib "$inst")" \
            "$(load1)" "$errs" "$delay" "$((q1 - q0))" >> "$soak_results"
        say "soak: ${t}s, $total requests, RSS $(rss_kib "$inst") KiB," \
            "$((q1 - q0)) statements in the step"
    done
}
if [ "${BENCH_RSS_SOAK:-0}" = 1 ]; then
    for soak_delay in ${BENCH_SOAK_DELAY_MS:-0}; do
        rss_soak "$soak_delay"
    done
fi

# --- instructions per request (BENCH_CALLGRIND=1) ---------------------------
# Throughput on a shared machine moves; instruction counts do not.  For a
# few scenarios, a copy of the first mod_qiwei instance's configuration runs
# as a single process (httpd -X) under callgrind, counting only inside
# ap_run_process_connection (reading, handling and writing requests; no
# start-up).  Each scenario runs twice, with N1 and N2 keep-alive requests
# of one session (curl -K), and (count2 - count1) / (N2 - N1) is what one
# more request costs once connections, caches and pools are warm.  User
# space only: the kernel's share (sockets, sendfile) is not in it.
cg_results=$run/callgrind.tsv
: > "$cg_results"
callgrind_scenarios() {
    local inst=${qiwei_instances[0]} root=$run/callgrind conf port
    local n1=${BENCH_CG_N1:-200} n2=${BENCH_CG_N2:-1200}
    command -v valgrind >/dev/null || { say "no valgrind: skipping callgrind"; return 0; }
    mkdir -p "$root/run"
    chmod 755 "$root"
    port=$(free_port)
    sed -e "s|^Listen .*|Listen 127.0.0.1:$port|" \
        -e "s|^PidFile .*|PidFile \"$root/httpd.pid\"|" \
        -e "s|^ErrorLog .*|ErrorLog \"$root/error.log\"|" \
        -e "s|^DefaultRuntimeDir .*|DefaultRuntimeDir \"$root/run\"|" \
        "$run/httpd-$inst/httpd.conf" > "$root/httpd.conf"
    local args=()
    for d in $qiwei_defines; do args+=(-D "$d"); done
    # cg_run NAME N PATH COOKIE: total instructions of N requests
    cg_run() {
        local name=$1 n=$2 path=$3 cookie=$4 out vg i codes tag
        tag=$(tr -c 'A-Za-z0-9\n' _ <<<"$name")
        out=$root/cg.$tag.$n
        {
            [ -n "$cookie" ] && echo "header = \"Cookie: $cookie\""
            for i in $(seq 1 "$n"); do
                echo "url = \"http://127.0.0.1:$port$path\""
                echo 'output = "/dev/null"'
            done
        } > "$root/$tag.$n.curl"
        : > "$out"
        valgrind --tool=callgrind --callgrind-out-file="$out" \
            --collect-atstart=no --toggle-collect=ap_run_process_connection \
            "$httpd_bin" -X -f "$root/httpd.conf" "${args[@]}" \
            >"$root/valgrind.log" 2>&1 &
        vg=$!
        chmod 666 "$out"     # the child writes it after dropping to nobody
        for i in $(seq 1 600); do
            curl -s -o /dev/null "http://127.0.0.1:$port/static/page12k.html" && break
            sleep 0.2
        done
        codes=$(curl -s -K "$root/$tag.$n.curl" -w '%{http_code}\n' | sort -u | tr '\n' ' ')
        kill "$vg"; wait "$vg" 2>/dev/null || true
        [ "$codes" = "200 " ] || die "callgrind $name: answers $codes, not 200"
        awk '/^summary:|^totals:/ { print $2; exit }' "$out"
    }
    local line path cookie name c1 c2 list scenarios
    # NAME|PATH|LIST: the first line of LIST gives the cookie, and the path
    # too when its first field is not PATH (the article lists)
    scenarios='plain static 12 KB (mod_qiwei loaded, not used)|/static/page12k.html|
Require qiwei-member|/qw/member/page12k.html|member.txt
Require qiwei-department div1|/qw/dept/page12k.html|department.txt
qiwei-member + watermark|/qw/member-wm/page12k.html|member.txt'
    if [ "$have_articles" = 1 ]; then
        scenarios+='
Require qiwei-article||article.txt
qiwei-article + watermark||article_wm.txt'
    fi
    say "callgrind: $n1 and $n2 requests per scenario on httpd -X (slow)"
    while IFS='|' read -r name path list; do
        cookie=
        if [ -n "$list" ]; then
            line=$(head -n 1 "$lists/$list")
            cookie=$(cut -f2 <<<"$line" | sed 's/^Cookie: //')
            [ "$(cut -f1 <<<"$line")" = PATH ] || path=$(cut -f1 <<<"$line")$path
        fi
        c1=$(cg_run "$name" "$n1" "$path" "$cookie")
        c2=$(cg_run "$name" "$n2" "$path" "$cookie")
        printf '%s\t%s\n' "$name" "$(( (c2 - c1) / (n2 - n1) ))" >> "$cg_results"
        say "callgrind: $name: $(( (c2 - c1) / (n2 - n1) )) instructions per request"
    done <<<"$scenarios"
}
if [ "${BENCH_CALLGRIND:-0}" = 1 ]; then
    callgrind_scenarios
fi

# --- revocation under load (issue 7 part 3) ------------------------------
# Two cached instances (qiwei-ra, qiwei-rb) on this PostgreSQL, each under a
# paced wrk load replaying member.txt (the 1,000 acme sessions); the
# members disabled are BENCH_REVOKE_TRIALS + 1 of those sessions, so each
# is in the load's rotation on both instances.  bench/revoke_poll.c does the
# trials: warm every child's cache with the member's cookie, disable the
# member in one transaction as qiweictl does (UPDATE members, DELETE FROM
# sessions), then poll both instances back-to-back on keep-alive
# connections (at least one per httpd child) until every connection is
# refused; time from the moment COMMIT is sent.  A last control trial sends
# no NOTIFY (session_replication_role = replica) to show the instances
# really answer from their caches.
revoke_results=$run/revoke.txt
: > "$revoke_results"
revocation_measure() {
    local trials=${BENCH_REVOKE_TRIALS:-20} delay=${BENCH_REVOKE_DELAY_MS:-20}
    local poller=$run/revoke_poll list=$lists/revoke.txt out inst pids=()
    local wrk_pids=() i page=/qw/member/page12k.html
    cc -O2 -Wall -o "$poller" "$benchdir/revoke_poll.c" \
        -I"$(pg_config --includedir)" -lpq \
        || { say "cannot build bench/revoke_poll.c: revocation skipped"; return 0; }
    pso -At -F $'\t' -c "SELECT t.enterprise_id, t.member_id, t.cookie
        FROM bench.tokens t JOIN members m USING (enterprise_id, member_id)
        $acme AND m.account <> 'u000001' AND m.status = 'active'
        ORDER BY m.member_id DESC LIMIT $((trials + 1))" > "$list"
    [ "$(wc -l < "$list")" -eq $((trials + 1)) ] || die "not enough members for revocation"
    for inst in qiwei-ra qiwei-rb; do
        start_httpd "$inst" QIWEI 2 64 "QiweiCacheMode cached"
        check_page "$inst" "$page" member.txt
    done
    sleep 1     # listeners connected (the cache is bypassed until they are)
    { cat "$benchdir/lua/replay.lua"
      echo 'function delay() return tonumber(os.getenv("BENCH_DELAY_MS")) end'
    } > "$run/paced.lua"
    for inst in qiwei-ra qiwei-rb; do
        BENCH_DELAY_MS=$delay "${pin_wrk[@]}" wrk -t1 -c8 -d600s --timeout 5s \
            --latency -s "$run/paced.lua" "http://127.0.0.1:$(port_of "$inst")" \
            -- "$lists/member.txt" "$page" > "$run/wrk-$inst.out" 2>&1 &
        wrk_pids+=($!)
        bg_pids+=($!)
    done
    sleep 3     # every session of the rotation seen by both instances
    for inst in qiwei-ra qiwei-rb; do
        pids+=("$(children_of "$inst" | tr -d ' ' | paste -sd, -)")
    done
    say "revocation under load: $trials trials (+1 control), paced wrk -c8" \
        "(${delay} ms between requests per connection) on both instances"
    revoke_uptime0=$(uptime)
    out=$("${pin_wrk[@]}" "$poller" "$QIWEI_PG_SUPER_DSN dbname=qiwei" \
          "$trials" "$list" "$page" "$(port_of qiwei-ra)" "${pids[0]}" \
          "$(port_of qiwei-rb)" "${pids[1]}" 2>&1) \
        || { echo "$out" >&2; die "revoke_poll failed"; }
    revoke_uptime1=$(uptime)
    for i in "${wrk_pids[@]}"; do kill -INT "$i" 2>/dev/null || true; done
    for i in "${wrk_pids[@]}"; do wait "$i" 2>/dev/null || true; done
    echo "$out" > "$revoke_results"
    for inst in qiwei-ra qiwei-rb; do
        grep '^BENCH ' "$run/wrk-$inst.out" | sed "s/^BENCH/LOAD $inst/" \
            >> "$revoke_results" || true
        stop_httpd "$inst"
    done
    say "revocation: $(grep -c '^REVOKE' "$revoke_results") trials done"
}
if [ "${BENCH_REVOKE:-1}" = 1 ] && { [ -z "$only" ] || grep -Eq -- "$only" <<<revocation; }; then
    revocation_measure
fi

# --- login cost (issue 7 part 4) -------------------------------------------
login_results=$run/login.tsv
: > "$login_results"
login_run() {   # CONCURRENCY
    local c=$1 inst="login-c$1" port list=$lists/login-c$1.txt i jar tok ck
    local rss0 peak out line q0 q1
    start_httpd "$inst" QIWEI "$c" 64
    port=$(port_of "$inst")
    # (csrf cookie, token) pairs: the token is bound to the cookie value,
    # not single-use, so wrk may send each pair many times
    : > "$list"
    for i in $(seq 1 "$login_conns"); do
        jar=$run/jar
        rm -f "$jar"
        tok=$(curl -s -c "$jar" "http://127.0.0.1:$port/qiwei/login" \
              | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p')
        ck=$(awk '$6 == "qiwei_csrf" {print $7}' "$jar")
        [ -n "$tok" ] && [ -n "$ck" ] || die "no CSRF token from /qiwei/login"
        tok=$(perl -MURI::Escape -e 'print uri_escape($ARGV[0])' "$tok" 2>/dev/null \
              || printf '%s' "$tok")
        # one account per connection: the per-account throttle counts an
        # attempt before hashing it (so parallel guesses cannot outrun it),
        # and 64 parallel logins to one account would be throttled after 5
        printf '/qiwei/login\tCookie: qiwei_csrf=%s\tBODY=account=u%06d&password=%s&csrf=%s&next=%%2Fqw%%2Fmember%%2F\n' \
            "$ck" "$i" "$login_pw" "$tok" >> "$list"
    done
    # one login by hand: it must succeed (303 + session cookie)
    IFS=$'\t' read -r -a f < "$list"
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "${f[1]}" \
           --data "${f[2]#BODY=}" "http://127.0.0.1:$port/qiwei/login")
    [ "$code" = 303 ] || { tail -n 5 "$run/httpd-$inst/error.log" >&2;
                           die "login answers $code, not 303"; }
    sleep 0.5
    rss0=$(rss_kib "$inst")
    q0=$(db_count)
    start_rss_sampler "$inst" "$run/peak"
    out=$("${pin_wrk[@]}" wrk -t1 -c"$login_conns" -d"${login_duration}s" \
          --timeout 30s --latency -s "$benchdir/lua/replay.lua" \
          "http://127.0.0.1:$port" -- "$list" 2>&1) \
        || { echo "$out" >&2; die "wrk failed on logins"; }
    stop_rss_sampler
    q1=$(db_count)
    peak=$(cat "$run/peak" 2>/dev/null || echo 0)
    line=$(grep '^BENCH ' <<<"$out") || { echo "$out" >&2; die "no result from wrk (login)"; }
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$c" "$line" "$q0" "$q1" "$rss0" \
        "$peak" >> "$login_results"
    say "logins, QiweiPasswordHashConcurrency $c: done"
    stop_httpd "$inst"
}
if [ "${BENCH_LOGIN:-1}" = 1 ] && { [ -z "$only" ] || grep -Eq -- "$only" <<<login; }; then
    say "login cost: $login_conns concurrent logins, Argon2id 64 MiB, 2 passes"
    login_run 2
    login_run 8
fi

# --- report -------------------------------------------------------------
echo
echo "mod_qiwei benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: $ncpu CPU, $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1)," \
     "$(awk '/MemTotal/ {printf "%.0f GiB RAM", $2/1048576}' /proc/meminfo)"
echo "httpd $("$httpd_bin" -v | sed -n 's/^Server version: //p'), event MPM 2 x 25 threads;" \
     "PostgreSQL $("$psql_bin" -At -d "$QIWEI_PG_SUPER_DSN" -c 'SHOW server_version')"
echo "wrk -t$threads -c$conns -d${duration}s keep-alive; $pinning; BENCH_PAIRS=$pairs"
echo "data: $n_ent enterprises, $n_mem members, $n_dept departments, $n_role roles," \
     "$n_sess sessions, $n_art articles; page $size12k B / $size1m B"
echo "DB q/req: $queries_source"
echo
awk -F'\t' -v size12k="$size12k" '
function kv(s, k,   n, a, i, p) {
    n = split(s, a, " ")
    for (i = 2; i <= n; i++) { split(a[i], p, "="); if (p[1] == k) return p[2] }
    return 0
}
function ms(us) { return sprintf(us >= 100000 ? "%.0f" : "%.2f", us / 1000) }
BEGIN {
    printf "| %-48s | %8s | %8s | %8s | %6s | %11s | %7s | %9s | %9s | %8s | %16s | %6s | %11s |\n",
        "scenario", "req/s", "p50 ms", "p99 ms", "ratio", "ratio range",
        "CPU µs/req", "CPU ratio", "body MB/s", "DB q/req",
        "RSS MiB before>after", "errors", "load before>after"
    printf "|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|\n", "--------------------------------------------------",
        "---------:", "---------:", "---------:", "-------:", "------------:",
        "----------:", "---------:", "----------:", "---------:",
        "-----------------:", "-------:", "------------:"
}
{
    r = ($12 == "") ? 1 : $12
    req = kv($2, "requests"); dur = kv($2, "duration_us") / 1e6
    rps[NR] = req / dur
    mbs[NR] = rps[NR] * $8 / 1048576
    big[NR] = ($8 != size12k)
    cpu[NR] = req > 0 ? $11 * 1e6 / req : 0
    rnd[NR] = r
    if ($1 ~ /^plain static 12 KB \(no mod_qiwei/) { base[r] = rps[NR]; cbase[r] = cpu[NR] }
    if ($1 ~ /^plain static 1 MB/) { base1m[r] = mbs[NR]; cbase1m[r] = cpu[NR] }
    # BENCH_PAIRS: the plain static run beside this row (fields 13, 14)
    if ($13 != "" && $13 != "-") {
        rreq = kv($13, "requests")
        refcpu[NR] = rreq > 0 ? $14 * 1e6 / rreq : 0
    }
    qpr = req > 0 ? ($4 - $3) / req : 0
    err = kv($2, "status_err") + kv($2, "sock_err")
    name[NR] = $1
    if (!($1 in seen)) { seen[$1] = 1; order[++nn] = $1 }
    rows[$1] = rows[$1] " " NR
    rest[NR] = sprintf("| %8s | %8s |", ms(kv($2, "p50_us")), ms(kv($2, "p99_us")))
    tail[NR] = sprintf("| %8.3f | %7.1f > %6.1f | %6d | %5.1f > %5.1f |", qpr,
        $5 / 1024, $6 / 1024, err, $9, $10)
}
END {
    for (i = 1; i <= NR; i++) {
        r = rnd[i]
        ratio[i] = big[i] ? (base1m[r] > 0 ? mbs[i] / base1m[r] : 0) \
                          : (base[r] > 0 ? rps[i] / base[r] : 0)
        cb = big[i] ? cbase1m[r] : cbase[r]
        if (i in refcpu) cb = refcpu[i]
        cratio[i] = cpu[i] > 0 ? cb / cpu[i] : 0
        if (i in refcpu) ratio[i] = cratio[i]
    }
    for (k = 1; k <= nn; k++) {
        n = split(substr(rows[order[k]], 2), idx, " ")
        # sort the rounds by ratio (insertion sort: mawk has no asort)
        for (a = 2; a <= n; a++) {
            v = idx[a]
            for (b = a - 1; b >= 1 && ratio[idx[b]] > ratio[v]; b--) idx[b + 1] = idx[b]
            idx[b + 1] = v
        }
        m = idx[int((n + 1) / 2)]
        range = n > 1 ? sprintf("%.2f–%.2f", ratio[idx[1]], ratio[idx[n]]) : "–"
        printf "| %-48s | %8.0f %s %6.2f | %11s | %10.1f | %9.2f | %9.0f %s\n",
            name[m], rps[m], rest[m], ratio[m], range, cpu[m], cratio[m],
            mbs[m], tail[m]
    }
}' "$results"
echo
if [ "$pairs" -gt 0 ]; then
echo "ratio (BENCH_PAIRS=1): each row ran at the same time as plain static (12 KB,"
echo "or 1 MB for the 1 MB rows) on a third instance configured as base, sharing the"
echo "server core; ratio = that plain static's server CPU per request divided by"
echo "the row's (schedstat of the httpd threads, plus PostgreSQL's for the row),"
echo "i.e. the throughput ratio on a core that does nothing else. The plain static"
echo "12 KB row itself is the A/A check (1.00 up to the method's spread). req/s,"
echo "p50 and p99 are the row's while sharing the core (about half of its own)."
else
echo "ratio: req/s divided by plain static 12 KB without mod_qiwei (for the 1 MB"
echo "rows compare body MB/s with the plain static 1 MB row), in the same round;"
fi
echo "with BENCH_ROUNDS > 1 each row is the round with the median ratio, and"
echo "'ratio range' the lowest and highest over the rounds. CPU µs/req: CPU time"
echo "of the instance's httpd threads and of PostgreSQL per request; CPU ratio:"
echo "plain static's CPU µs/req (12 KB or 1 MB; with BENCH_PAIRS that of the plain"
echo "static beside the row) divided by the row's, i.e. the throughput ratio on a"
echo "server core that does nothing else. errors:"
echo "non-2xx/3xx answers + socket errors (must be 0). RSS: sum of the httpd"
echo "children's VmRSS."
if [ -s "$login_results" ]; then
    echo
    echo "Login cost: $login_conns concurrent POST /qiwei/login (CSRF ok, right password," \
         "303), Argon2id 64 MiB x 2 passes, 2 children"
    echo
    awk -F'\t' '
    function kv(s, k,   n, a, i, p) {
        n = split(s, a, " ")
        for (i = 2; i <= n; i++) { split(a[i], p, "="); if (p[1] == k) return p[2] }
        return 0
    }
    BEGIN {
        printf "| %-28s | %9s | %8s | %8s | %8s | %13s | %14s | %6s |\n",
            "QiweiPasswordHashConcurrency", "logins/s", "p50 ms", "p99 ms",
            "DB q/login", "RSS idle MiB", "RSS peak MiB", "errors"
        print "|---:|---:|---:|---:|---:|---:|---:|---:|"
    }
    {
        req = kv($2, "requests"); rps = req / (kv($2, "duration_us") / 1e6)
        printf "| %-28s | %9.1f | %8.0f | %8.0f | %8.2f | %13.1f | %14.1f | %6d |\n", \
            ($1 " per child"), rps, kv($2, "p50_us") / 1000, kv($2, "p99_us") / 1000,
            (req > 0 ? ($4 - $3) / req : 0), $5 / 1024, $6 / 1024,
            kv($2, "status_err") + kv($2, "sock_err")
    }' "$login_results"
fi
if [ -s "$revoke_results" ]; then
    echo
    echo "Revocation under load (part 3): two cached instances (qiwei-ra, qiwei-rb)"
    echo "on one PostgreSQL, each under paced wrk -c8 replaying the 1,000 sessions;"
    echo "the member disabled (UPDATE members + DELETE FROM sessions, one"
    echo "transaction, as qiweictl) is in that rotation; both instances polled"
    echo "back-to-back on keep-alive connections (>= 1 per httpd child) until every"
    echo "connection is refused; ms from sending COMMIT."
    echo "uptime before: $revoke_uptime0"
    echo "uptime after:  $revoke_uptime1"
    echo
    awk '
    function kv(s, k,   n, a, i, p) {
        n = split(s, a, " ")
        for (i = 1; i <= n; i++) { split(a[i], p, "="); if (p[1] == k) return p[2] }
        return ""
    }
    function pct(arr, n, q,   i, j, t, k) {
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
            if (arr[j] < arr[i]) { t = arr[i]; arr[i] = arr[j]; arr[j] = t }
        k = int(q * n + 0.9999); if (k < 1) k = 1; if (k > n) k = n
        return arr[k]
    }
    /^REVOKE/ { n++; a[n] = kv($0, "a_ms"); b[n] = kv($0, "b_ms");
                c[n] = kv($0, "commit_ms"); all = all sprintf(" %s/%s", a[n], b[n]) }
    /^CONTROL/ { control = $0 }
    /^CONNS/ { conns = conns " " $2 }
    /^LOAD/ { req = kv($0, "requests"); d = kv($0, "duration_us") / 1e6;
              load = load sprintf("%s %.0f req/s (p50 %.2f ms, p99 %.2f ms); ", $2,
                  req / d, kv($0, "p50_us") / 1000, kv($0, "p99_us") / 1000) }
    END {
        if (n == 0) { print "no trial ran"; exit }
        printf "| %-12s | %6s | %8s | %8s | %8s |\n", "instance", "trials", "p50 ms", "p90 ms", "p100 ms"
        print "|---|---:|---:|---:|---:|"
        for (i = 1; i <= n; i++) { x[i] = a[i] }
        printf "| %-12s | %6d | %8.1f | %8.1f | %8.1f |\n", "qiwei-ra", n, pct(x, n, 0.5), pct(x, n, 0.9), pct(x, n, 1)
        for (i = 1; i <= n; i++) { x[i] = b[i] }
        printf "| %-12s | %6d | %8.1f | %8.1f | %8.1f |\n", "qiwei-rb", n, pct(x, n, 0.5), pct(x, n, 0.9), pct(x, n, 1)
        for (i = 1; i <= n; i++) { x[i] = c[i] }
        printf "| %-12s | %6d | %8.1f | %8.1f | %8.1f |\n", "(COMMIT)", n, pct(x, n, 0.5), pct(x, n, 0.9), pct(x, n, 1)
        print ""
        print "per trial (ra/rb ms):" all
        print "background load: " load
        print "poll connections per child (pid:conns):" conns
        print "control (no NOTIFY sent; how long each instance still answered 200): " control
    }' "$revoke_results"
fi
if [ -s "$soak_results" ]; then
    echo
    echo "RSS soak: Require qiwei-member [${qiwei_instances[0]#qiwei-}], wrk -t$threads -c$conns," \
         "RSS = sum of the 2 children's VmRSS"
    echo
    if [ -z "${BENCH_SOAK_DELAY_MS:-}" ]; then
        echo "| seconds | requests | RSS MiB | load 1m | errors |"
        echo "|---:|---:|---:|---:|---:|"
        awk -F'\t' '{ printf "| %d | %d | %.2f | %s | %d |\n", $1, $2, $3 / 1024, $4, $5 }' \
            "$soak_results"
    else
        # BENCH_SOAK_DELAY_MS: per step also the request rate and the
        # statements of the application role ($queries_source)
        echo "| delay ms | seconds | requests | req/s in step | RSS MiB | load 1m | errors | DB statements in step | DB statements/s |"
        echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        awk -F'\t' -v step="${BENCH_SOAK_STEP:-20}" '
            $1 == 0 { prev = 0 }
            { rps = $1 == 0 ? 0 : ($2 - prev) / step; prev = $2
              printf "| %d | %d | %d | %.0f | %.2f | %s | %d | %d | %.1f |\n",
                     $6, $1, $2, rps, $3 / 1024, $4, $5, $7, $1 == 0 ? 0 : $7 / step }' \
            "$soak_results"
    fi
fi
if [ -s "$cg_results" ]; then
    echo
    echo "Instructions per request (callgrind, user space, one process httpd -X," \
         "configuration of ${qiwei_instances[0]}; one session, warm cache):"
    echo
    echo "| scenario | instructions/request | over plain static |"
    echo "|---|---:|---:|"
    awk -F'\t' 'NR == 1 { base = $2 } { printf "| %s | %d | %+d |\n", $1, $2, $2 - base }' \
        "$cg_results"
fi
profile_report
echo
echo "uptime at start: $uptime_start"
echo "uptime at end:   $(uptime)"
