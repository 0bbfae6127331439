#!/usr/bin/env bash
# A running mod_qiwei demo on http://127.0.0.1:8080/ in one command.
#
#   bash scripts/demo.sh         build, start PostgreSQL + httpd, seed a demo
#                                enterprise, print logins; returns while both
#                                keep running in the background
#   bash scripts/demo.sh stop    stop them
#
# State (key file, database, httpd config and logs) lives in
# $QIWEI_DEMO_DIR (default /tmp/qiwei-demo); each start begins afresh.
# Port: $QIWEI_DEMO_PORT (default 8080).  Needs root: httpd reads the
# root-only key file and then serves as nobody; PostgreSQL runs as postgres.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
state=${QIWEI_DEMO_DIR:-/tmp/qiwei-demo}
port=${QIWEI_DEMO_PORT:-8080}
build=${QIWEI_BUILD_DIR:-$here/build}
export QIWEI_BUILD_DIR=$build
httpd_bin=${APACHE2:-/usr/sbin/apache2}
moddir=/usr/lib/apache2/modules

say() { echo "demo.sh: $*"; }
die() { echo "demo.sh: $*" >&2; exit 1; }

stop_demo() {
    local pidfile=$state/httpd/httpd.pid
    if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
        "$httpd_bin" -f "$state/httpd/httpd.conf" -k stop 2>/dev/null \
            || kill -TERM "$(cat "$pidfile")" 2>/dev/null || true
        for _ in $(seq 1 50); do
            [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null \
                || break
            sleep 0.1
        done
        say "httpd stopped"
    fi
    if [ -f "$state/pg.env" ]; then
        bash "$here/scripts/pg.sh" stop "$state" && say "PostgreSQL stopped"
    fi
}

case ${1:-start} in
    stop)
        stop_demo
        exit 0
        ;;
    start) ;;
    -h|--help|help)
        sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *) die "usage: bash scripts/demo.sh [start|stop]" ;;
esac

# --- prerequisites --------------------------------------------------------------
bash "$here/scripts/deps.sh" || die "install the packages above, then run me again"
[ "$(id -u)" = 0 ] || die "run me as root (sudo bash scripts/demo.sh): httpd" \
    "reads the root-only key file and PostgreSQL runs as user postgres"

# a previous demo: stop it and start afresh
stop_demo
case $state in
    /|/tmp|/root|/home|/etc|/usr|/var) die "refusing to use $state as state dir" ;;
esac
if [ -e "$state" ] && [ ! -f "$state/.qiwei-demo" ]; then
    [ -z "$(ls -A "$state" 2>/dev/null)" ] \
        || die "$state exists and is not a demo directory; set QIWEI_DEMO_DIR"
fi
rm -rf "$state"

if ! perl -MIO::Socket::INET -e '
        IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1",
                              LocalPort => $ARGV[0], ReuseAddr => 1) or exit 1' \
        "$port"; then
    die "port $port on 127.0.0.1 is taken; set QIWEI_DEMO_PORT"
fi

bash "$here/scripts/build.sh"
ctl=$build/qiweictl
module=$build/.libs/mod_qiwei.so
[ -x "$ctl" ] && [ -f "$module" ] || die "build did not produce $ctl and $module"

# --- state, key, database ----------------------------------------------------------
mkdir -p "$state"
chmod 755 "$state"       # nobody must reach htdocs below it
touch "$state/.qiwei-demo"
keyfile=$state/qiwei.key
"$ctl" keygen "$keyfile" >/dev/null
export QIWEI_KEYFILE=$keyfile
export QIWEI_BLOCKLIST=$here/conf/common-passwords.txt   # admin set-password checks it

bash "$here/scripts/pg.sh" start "$state"
# shellcheck disable=SC1091
. "$state/pg.env"
export QIWEI_DSN=$QIWEI_PG_OWNER_DSN     # qiweictl runs as the database owner

q() { "$ctl" "$@"; }
# Demo passwords follow the default member policy (dengbao: >= 12
# characters with digits, upper and lower case letters and a symbol; see
# docs/account-security.md), although qiweictl set-password, an operator's
# tool, does not enforce it: "Qw7-" supplies all four kinds.
randpw() { printf 'Qw7-%s' "$(head -c 12 /dev/urandom | base64 | tr '+/' '-_')"; }

say "qiweictl migrate --app-role $QIWEI_PG_APP_ROLE"
q migrate --sql-dir "$here/sql" --app-role "$QIWEI_PG_APP_ROLE" >/dev/null

url=http://127.0.0.1:$port
q enterprise add demo '演示科技 Demo Tech' >/dev/null
q dept add demo hq '总部 HQ' >/dev/null
q dept add demo eng '研发部 Engineering' --parent hq >/dev/null
q dept add demo sales '销售部 Sales' --parent hq >/dev/null
q role add demo manager >/dev/null
q member add demo zhangsan --name '张三' --dept eng >/dev/null
q member grant-role demo zhangsan manager >/dev/null
q member add demo lisi --name '李四' --dept sales >/dev/null
activation=$(q member add demo wangwu --name '王五' --dept eng \
                 --activate-url "$url/qiwei/activate" \
             | sed -n 's/^activation link: //p')
pw_zhangsan=$(randpw)
pw_lisi=$(randpw)
printf '%s\n' "$pw_zhangsan" | q member set-password demo zhangsan >/dev/null
printf '%s\n' "$pw_lisi" | q member set-password demo lisi >/dev/null
# a super admin for the console, bound to zhangsan (who sees its login
# reminders); two-step is enrolled at its first sign-in
pw_admin=$(randpw)
q admin add demo admin --super --bind zhangsan >/dev/null
printf '%s\n' "$pw_admin" | q admin set-password demo admin >/dev/null
# a read-once message in lisi's private mailbox
echo '明早 9 点在 3 楼开会。The meeting is at 9 tomorrow, 3rd floor.' \
    | q mailbox send demo --title '会议通知 Meeting' --rule read_once:10 \
        --to lisi >/dev/null

# --- web content --------------------------------------------------------------------
htdocs=$state/htdocs
mkdir -p "$htdocs/eng" "$htdocs/managers" "$state/cgi"
page() {
    cat > "$1" <<EOF
<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>$2</title></head>
<body style="font-family:sans-serif;max-width:40em;margin:2em auto;padding:0 1em">
<h1>$2</h1>
$3
<ul>
<li><a href="/">Welcome / 首页</a> (every member)</li>
<li><a href="/eng/">/eng/</a> (department eng: 张三, 王五)</li>
<li><a href="/managers/">/managers/</a> (role manager: 张三)</li>
<li><a href="/whoami">/whoami</a> (what a back-end learns about you)</li>
<li><a href="/qiwei/logout">Sign out / 退出</a></li>
</ul>
</body></html>
EOF
}
page "$htdocs/index.html" 'Welcome 欢迎' \
    '<p>You are signed in to 演示科技 Demo Tech. 你已登录。</p>'
page "$htdocs/eng/index.html" 'Engineering 研发部' \
    '<p>Only members of the eng department (and its sub-departments) see this.</p>'
page "$htdocs/managers/index.html" 'Managers 经理' \
    '<p>Only members with the manager role see this.</p>'
cat > "$state/cgi/whoami.cgi" <<'EOF'
#!/usr/bin/perl
print "Content-Type: text/plain; charset=utf-8\r\n\r\n";
print "What mod_qiwei tells a back-end about you:\n\n";
for my $k (sort grep { /^(REMOTE_USER|QIWEI_)/ } keys %ENV) {
    print "$k=$ENV{$k}\n";
}
EOF
chmod 755 "$state/cgi/whoami.cgi"
chmod -R a+rX "$htdocs" "$state/cgi"

# --- httpd ----------------------------------------------------------------------
mkdir -p "$state/httpd/run"
conf=$state/httpd/httpd.conf
( umask 077; cat > "$conf" <<EOF
# mod_qiwei demo (generated by scripts/demo.sh).  Contains the database
# password: readable by root only; httpd reads it before dropping to nobody.
ServerRoot "$state/httpd"
DefaultRuntimeDir "$state/httpd/run"
PidFile "$state/httpd/httpd.pid"
ErrorLog "$state/httpd/error.log"
LogLevel warn qiwei:info
ServerName 127.0.0.1
Listen 127.0.0.1:$port
User nobody
Group nogroup

LoadModule mpm_event_module $moddir/mod_mpm_event.so
LoadModule authn_core_module $moddir/mod_authn_core.so
LoadModule authz_core_module $moddir/mod_authz_core.so
LoadModule authz_host_module $moddir/mod_authz_host.so
LoadModule mime_module $moddir/mod_mime.so
LoadModule dir_module $moddir/mod_dir.so
LoadModule alias_module $moddir/mod_alias.so
LoadModule cgid_module $moddir/mod_cgid.so
# per-address login throttling keeps its counters in mod_socache_shmcb
# (httpd refuses to start without it when QiweiDatabase is set: QW1207)
LoadModule socache_shmcb_module $moddir/mod_socache_shmcb.so
LoadModule qiwei_module $module

TypesConfig /etc/mime.types
AddDefaultCharset utf-8
LogFormat "%h %u %t \"%r\" %>s %b" common
CustomLog "$state/httpd/access.log" common
ScriptSock "$state/httpd/run/cgisock"

QiweiDatabase "$QIWEI_PG_APP_DSN"
QiweiKeyFile "$keyfile"
# not installed: use the blocklist from the source tree
QiweiPasswordBlocklist "$here/conf/common-passwords.txt"
# and the admin console's files from the source tree
QiweiConsoleDir "$here/console"

DocumentRoot "$htdocs"
DirectoryIndex index.html
<Directory />
    AllowOverride None
    Require all denied
</Directory>
<Directory "$htdocs">
    Options None
    Require all granted
</Directory>
<Directory "$state/cgi">
    Options +ExecCGI
    Require all granted
</Directory>
ScriptAlias /whoami "$state/cgi/whoami.cgi"

# Everything below / is for members of the enterprise "demo" only ...
<Location />
    QiweiEnterprise demo
    AuthType Qiwei
    Require qiwei-member
</Location>
<Location /eng/>
    Require qiwei-department eng
</Location>
<Location /managers/>
    Require qiwei-role manager
</Location>
# ... except the login, logout and activation pages themselves.
<Location /qiwei>
    SetHandler qiwei
    AuthType None
    Require all granted
</Location>
# Prometheus metrics, from this machine only (docs/monitoring.md)
<Location /qiwei-metrics>
    SetHandler qiwei-metrics
    AuthType None
    Require ip 127.0.0.1 ::1
</Location>
EOF
)

say "starting httpd on $url"
"$httpd_bin" -f "$conf" -k start || {
    tail -n 20 "$state/httpd/error.log" >&2 2>/dev/null || true
    die "httpd did not start (config: $conf)"
}
code=000
for _ in $(seq 1 50); do
    code=$(curl -s -o /dev/null -w '%{http_code}' "$url/qiwei/login" || true)
    [ "$code" = 200 ] && break
    sleep 0.2
done
if [ "$code" != 200 ]; then
    tail -n 20 "$state/httpd/error.log" >&2 2>/dev/null || true
    die "httpd answers $code on $url/qiwei/login (log: $state/httpd/error.log)"
fi

cat <<EOF

mod_qiwei demo is running: $url/

  enterprise  演示科技 Demo Tech (code: demo); departments hq > eng, hq > sales
  account     password              name  departments  roles
  zhangsan    $pw_zhangsan    张三   eng          manager
  lisi        $pw_lisi    李四   sales        -
  wangwu      (not activated yet)   王五   eng          -

  Pages: /         every member           /eng/       department eng
         /managers/ role manager          /whoami     what a back-end sees
  Account: /qiwei/home (articles, reminders, sessions: the page after
           login)  /qiwei/password (change)  /qiwei/twostep-setup (two-step)
           /qiwei/scan (scan to log in with a signed-in phone)
  Mailbox: /qiwei/mailbox (lisi has a read-once message)
  Console: $url/qiwei/console/  admin  $pw_admin  (super admin; enrols
           two-step at the first sign-in)
  Metrics: curl -s $url/qiwei-metrics | grep -v '^#'

  Activation link for wangwu (invited, sets their own password: >= 12
  characters with digits, upper and lower case letters and a symbol, not a
  common password):
  $activation

  Try: sign in as lisi and open /eng/ (403); sign in as zhangsan in another
       browser, then disable zhangsan and reload: refused at once.
       (. $state/pg.env; QIWEI_DSN=\$QIWEI_PG_OWNER_DSN QIWEI_KEYFILE=$keyfile \\
        $ctl member set-status demo zhangsan disabled)

  Logs: $state/httpd/error.log   Config: $conf
  Stop: bash scripts/demo.sh stop
EOF
