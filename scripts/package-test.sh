#!/usr/bin/env bash
# The Debian packages, end to end, on this machine's own Apache.
#
#   bash scripts/package-test.sh
#
# As root, on a machine you can throw away (CI): builds libapache2-mod-qiwei
# and qiwei-tools from a copy of the current tree (tracked and untracked,
# not ignored files, uncommitted changes included) in a temporary folder,
# runs lintian on them (errors fail), installs them with apt-get,
# `a2enmod qiwei`, checks that Apache's configuration still passes with
# the module enabled and nothing configured, starts a private PostgreSQL
# (scripts/pg.sh), makes a key file with the installed `qiweictl keygen`,
# migrates with the installed qiweictl (no --sql-dir), adds an enterprise
# and a member, serves the minimal site of docs/install.md (the block
# after "<!-- package-test: site") on a free port through the system's
# apache2, logs in with curl and gets the protected page, upgrades to a newer
# build of the same tree (a conffile's local edit and the key file kept,
# Apache not restarted, the session still good after a graceful restart),
# then purges both packages and checks that nothing of them is left.
#
# The machine's Apache is put back as it was: running or stopped, the same
# modules and sites enabled (apache2 itself stays installed if the build
# dependencies brought it).  Installs what it needs (build dependencies,
# lintian) when missing.  Idempotent; cleans up on failure too.  Ends with
# "package-test: N passed, M failed"; exit 0 only when nothing failed.
#
# Environment: QIWEI_PKG_KEEP=1 keeps the temporary folder (the .debs,
# the build and lintian logs) and prints where it is.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
site=qiwei-package-test
site_conf=/etc/apache2/sites-available/$site.conf
docroot=/var/www/$site
pkgs=(libapache2-mod-qiwei qiwei-tools)
export DEBIAN_FRONTEND=noninteractive

passed=0
failed=0
t0=$(date +%s)
tmp=
apache_was_running=0
we_started_apache=0
mods_before=
sites_before=

say() { echo "package-test: $*"; }
ok() { passed=$((passed + 1)); echo "ok - $*"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $*"; }
# check DESCRIPTION COMMAND...: one counted check
check() {
    local what=$1
    shift
    if "$@"; then ok "$what"; else not_ok "$what"; return 1; fi
}
finish() {
    local verdict=PASS
    [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ] || verdict=FAIL
    echo "package-test: $verdict: $passed passed, $failed failed" \
         "($(( $(date +%s) - t0 )) s)"
    [ "$verdict" = PASS ]
}
# a step that the rest depends on failed: count it, clean up, stop
abort() {
    not_ok "$*"
    exit 1          # the EXIT trap cleans up and prints the summary
}

# --- Apache state -------------------------------------------------------------
apache_pidfile() {
    # the Debian environment (APACHE_PID_FILE, APACHE_RUN_DIR, ...)
    (
        set +u
        # shellcheck disable=SC1091
        [ -r /etc/apache2/envvars ] && . /etc/apache2/envvars
        echo "${APACHE_PID_FILE:-/var/run/apache2/apache2.pid}"
    )
}
apache_running() {
    local pf
    pf=$(apache_pidfile)
    [ -f "$pf" ] && kill -0 "$(cat "$pf" 2>/dev/null)" 2>/dev/null
}
apache_stopped() { ! apache_running; }
apache_stop() {
    apache_running || return 0
    apache2ctl stop >/dev/null 2>&1 || true
    for _ in $(seq 1 100); do
        apache_running || return 0
        sleep 0.1
    done
    return 1
}
enabled_list() {
    ls -1 "/etc/apache2/$1-enabled" 2>/dev/null | sort | tr '\n' ' '
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    set +e
    # an exit that no check accounted for
    [ "$rc" = 0 ] || [ "$failed" -gt 0 ] || not_ok "exit status $rc"
    # our site and the server we started
    if [ -e "/etc/apache2/sites-enabled/$site.conf" ]; then
        a2dissite -q "$site" >/dev/null 2>&1
    fi
    rm -f "$site_conf"
    rm -rf "$docroot"
    if [ "$we_started_apache" = 1 ]; then
        apache_stop || say "apache2 did not stop"
    fi
    # the packages (still there only when a step failed before the purge)
    for p in "${pkgs[@]}"; do
        if dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null \
                | grep -qv '^not-installed$'; then
            apt-get purge -y -q "${pkgs[@]}" >/dev/null 2>&1 \
                || say "could not purge ${pkgs[*]}"
            break
        fi
    done
    # modules the test enabled (socache_shmcb comes with qiwei)
    if [ -n "$mods_before" ]; then
        for m in $(enabled_list mods); do
            case " $mods_before " in *" $m "*) continue ;; esac
            case $m in *.load) a2dismod -q -f "${m%.load}" >/dev/null 2>&1 ;; esac
        done
    fi
    if [ "$apache_was_running" = 1 ] && ! apache_running; then
        apache2ctl start >/dev/null 2>&1 || say "could not start apache2 again"
    elif [ "$apache_was_running" = 1 ]; then
        apache2ctl graceful >/dev/null 2>&1
    fi
    if [ -n "$tmp" ] && [ -d "$tmp" ]; then
        [ -f "$tmp/pg.env" ] && bash "$here/scripts/pg.sh" destroy "$tmp" >/dev/null 2>&1
        if [ "${QIWEI_PKG_KEEP:-0}" = 1 ]; then
            say "kept $tmp"
        else
            rm -rf "$tmp"
        fi
    fi
    finish || rc=1
    exit "$rc"
}
trap cleanup EXIT
trap 'not_ok "interrupted"; exit 130' INT TERM

# --- preconditions ----------------------------------------------------------------
[ "$(id -u)" = 0 ] || abort "run as root (installs packages, uses the system's Apache)"
[ -f /etc/debian_version ] || abort "Debian only"
{ [ -d "$here/.git" ] || [ -f "$here/.git" ]; } && [ -d "$here/debian" ] \
    || abort "run from a git work tree with debian/"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/qiwei-pkg.XXXXXX")
chmod 755 "$tmp"

# leftovers of an interrupted run (or an earlier install) go first
for p in "${pkgs[@]}"; do
    if dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null \
            | grep -qv '^not-installed$'; then
        say "purging the installed $p first"
        apt-get purge -y -q "$p" >/dev/null 2>&1 || abort "purge old $p"
    fi
done
rm -f "$site_conf" "/etc/apache2/sites-enabled/$site.conf"
rm -rf "$docroot"

# --- build ------------------------------------------------------------------------
say "copying the tree to $tmp/src"
mkdir "$tmp/src"
(
    cd "$here" || exit 1
    git ls-files -z -co --exclude-standard \
        | perl -0 -ne 'chomp; print "$_\0" if -e $_ || -l $_' \
        | tar --null -T - -cf - \
        | tar -C "$tmp/src" -xf -
) || abort "copy the tree"

need=()
command -v dpkg-buildpackage >/dev/null || need+=(dpkg-dev)
command -v dh >/dev/null || need+=(debhelper)
command -v lintian >/dev/null || need+=(lintian)
if [ ${#need[@]} -gt 0 ]; then
    say "installing ${need[*]}"
    apt-get update -q >/dev/null 2>&1
    apt-get install -y -q --no-install-recommends "${need[@]}" </dev/null \
        >"$tmp/apt.log" 2>&1 || { tail -n 20 "$tmp/apt.log"; abort "install ${need[*]}"; }
fi
if ! (cd "$tmp/src" && dpkg-checkbuilddeps) >/dev/null 2>&1; then
    say "installing the build dependencies"
    apt-get update -q >/dev/null 2>&1
    (cd "$tmp/src" && apt-get build-dep -y -q --no-install-recommends ./ </dev/null) \
        >"$tmp/apt.log" 2>&1 || { tail -n 20 "$tmp/apt.log"; abort "apt-get build-dep"; }
fi

# recorded after the build dependencies, which may have brought apache2
apache_running && apache_was_running=1
mods_before=$(enabled_list mods)
sites_before=$(enabled_list sites)

say "dpkg-buildpackage -us -uc -b"
b0=$(date +%s)
if (cd "$tmp/src" && dpkg-buildpackage -us -uc -b) >"$tmp/build.log" 2>&1; then
    ok "dpkg-buildpackage -us -uc -b ($(( $(date +%s) - b0 )) s)"
else
    tail -n 30 "$tmp/build.log"
    abort "dpkg-buildpackage (log above)"
fi
mod_deb=$(ls "$tmp"/libapache2-mod-qiwei_*.deb 2>/dev/null | head -n 1)
tools_deb=$(ls "$tmp"/qiwei-tools_*.deb 2>/dev/null | head -n 1)
[ -n "$mod_deb" ] && [ -n "$tools_deb" ] || abort "the build made both .debs"

if lintian --fail-on error "$tmp"/*.changes >"$tmp/lintian.log" 2>&1; then
    ok "lintian: no errors ($(grep -c '^[EWI]:' "$tmp/lintian.log") tags)"
else
    cat "$tmp/lintian.log"
    not_ok "lintian: errors"
fi
check "conffiles: qiwei.load, qiwei.conf, fail2ban filter" bash -c '
    dpkg-deb --ctrl-tarfile "$1" | tar -xO ./conffiles | sort >"$3/c1"
    dpkg-deb --ctrl-tarfile "$2" | tar -xO ./conffiles >"$3/c2"
    printf "%s\n" /etc/apache2/mods-available/qiwei.conf \
        /etc/apache2/mods-available/qiwei.load | cmp -s - "$3/c1" &&
    [ "$(cat "$3/c2")" = /etc/fail2ban/filter.d/qiwei.conf ]' _ \
    "$mod_deb" "$tools_deb" "$tmp"

# --- install ------------------------------------------------------------------------
say "apt-get install $(basename "$tools_deb") $(basename "$mod_deb")"
if apt-get install -y -q --no-install-recommends "$tools_deb" "$mod_deb" \
        </dev/null >"$tmp/install.log" 2>&1; then
    ok "apt-get install of both packages"
else
    tail -n 20 "$tmp/install.log"
    abort "apt-get install"
fi
check "a2enmod qiwei" a2enmod -q qiwei
check "qiwei.load names its module dependencies" \
    grep -q '^# Depends: .*socache_shmcb' /etc/apache2/mods-available/qiwei.load
check "socache_shmcb enabled with it" test -e /etc/apache2/mods-enabled/socache_shmcb.load
check "apache2ctl configtest with the module and its default qiwei.conf" \
    bash -c 'apache2ctl configtest >/dev/null 2>&1'

# --- database, key file, directory -------------------------------------------------------
bash "$here/scripts/pg.sh" start "$tmp" >"$tmp/pg.log" 2>&1 \
    || { cat "$tmp/pg.log"; abort "scripts/pg.sh start"; }
# shellcheck disable=SC1091
. "$tmp/pg.env"
export QIWEI_KEYFILE=$tmp/qiwei.key QIWEI_DSN=$QIWEI_PG_OWNER_DSN
cd "$tmp" || abort "cd $tmp"       # no ./sql here: migrate must find its own
check "qiweictl keygen (installed)" bash -c '/usr/bin/qiweictl keygen "$1" >/dev/null' _ "$QIWEI_KEYFILE"
out=$(/usr/bin/qiweictl migrate --app-role "$QIWEI_PG_APP_ROLE" 2>&1)
echo "$out" | sed 's/^/  /'
check "qiweictl migrate finds /usr/share/qiwei/sql by itself" \
    grep -q '(/usr/share/qiwei/sql)' <<<"$out"
pw="Qw7-$(head -c 12 /dev/urandom | base64 | tr '+/' '-_')"
check "enterprise add, member add, set-password" bash -c '
    q=/usr/bin/qiweictl
    $q enterprise add acme "ACME Ltd" >/dev/null &&
    $q member add acme zhangsan --name "张三" >/dev/null &&
    printf "%s\n" "$1" | $q member set-password acme zhangsan >/dev/null' _ "$pw"

# --- the minimal site of docs/install.md -------------------------------------------------
port=$(perl -MIO::Socket::INET -e '
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1",
                                  LocalPort => 0) or die "$!\n";
    print $s->sockport')
token="qiwei-package-test-$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')"
block=$(perl -ne '
    $seen = 1 if /<!-- package-test: site/;
    if ($seen && !$in && /^```apache\s*$/) { $in = 1; next }
    if ($in && /^```\s*$/) { exit }
    print if $in;' "$here/docs/install.md")
[ -n "$block" ] || abort "docs/install.md has the package-test site block"
conf=$(printf '%s\n' "$block" | perl -pe '
    BEGIN { ($port, $dsn, $key, $root) = splice @ARGV, 0, 4 }
    $n{listen}  += s/^Listen\s+\d+\s*$/Listen 127.0.0.1:$port\n/;
    $n{vhost}   += s/^<VirtualHost \*:\d+>/<VirtualHost *:$port>/;
    $n{db}      += s/^QiweiDatabase\s.*/QiweiDatabase "$dsn"/;
    $n{key}     += s/^QiweiKeyFile\s.*/QiweiKeyFile $key/;
    $n{root}    += s/^(\s*DocumentRoot)\s.*/$1 $root/;
    END { exit(scalar(grep { $n{$_} == 1 } qw(listen vhost db key root)) != 5) }
' "$port" "$QIWEI_PG_APP_DSN" "$QIWEI_KEYFILE" "$docroot") \
    || abort "docs/install.md's site block has one Listen, VirtualHost, QiweiDatabase, QiweiKeyFile, DocumentRoot"
install -d -m 755 "$docroot"
printf '<!DOCTYPE html><title>intranet</title><p>%s</p>\n' "$token" >"$docroot/index.html"
( umask 077; printf '%s\n' "$conf" >"$site_conf" )
check "a2ensite (the site of docs/install.md, port $port)" \
    bash -c 'a2ensite -q "$1" >/dev/null' _ "$site"
check "apache2ctl configtest with the site" bash -c 'apache2ctl configtest >/dev/null 2>&1' \
    || apache2ctl configtest

if [ "$apache_was_running" = 1 ] && apache_running; then
    apache2ctl graceful >/dev/null 2>&1
else
    we_started_apache=1
    apache2ctl start >/dev/null 2>&1
fi
url=http://127.0.0.1:$port
code=000
for _ in $(seq 1 50); do
    code=$(curl -s -o /dev/null -w '%{http_code}' "$url/qiwei/login" || true)
    [ "$code" = 200 ] && break
    sleep 0.2
done
if [ "$code" = 200 ]; then
    ok "apache2 serves the login page (200)"
else
    tail -n 20 /var/log/apache2/error.log
    abort "apache2 answers $code on $url/qiwei/login"
fi

anon=$(curl -s -o /dev/null -w '%{http_code}' -H 'Accept: text/html' "$url/")
check "anonymous GET / is refused ($anon: redirect to the login)" \
    test "$anon" = 302 -o "$anon" = 303 -o "$anon" = 401
jar=$tmp/cookies
# the value of the login form's hidden csrf field (standard input: the page)
csrf_field() {
    perl -0ne '
        while (/<input\b([^>]*)>/gis) {
            my $a = $1;
            next unless $a =~ /\bname\s*=\s*["\x27]?csrf["\x27\s>\/]/i;
            print $1 if $a =~ /\bvalue\s*=\s*"([^"]*)"/i;
            last;
        }'
}
csrf=$(curl -s -c "$jar" -H 'Accept: text/html' "$url/qiwei/login" | csrf_field)
login=$(curl -s -o /dev/null -w '%{http_code}' -b "$jar" -c "$jar" \
        -H 'Accept: text/html' \
        --data-urlencode account=zhangsan --data-urlencode "password=$pw" \
        --data-urlencode "csrf=$csrf" "$url/qiwei/login")
check "log in as zhangsan ($login)" test "$login" = 303 -o "$login" = 302
page=$(curl -s -b "$jar" -w '\n%{http_code}' -H 'Accept: text/html' "$url/")
check "the protected page with the session: 200 and its content" \
    bash -c '[ "${1##*$'\''\n'\''}" = 200 ] && grep -qF "$2" <<<"$1"' _ "$page" "$token"
# a fresh client with a wrong password: no session cookie
csrf2=$(curl -s -c "$tmp/jar2" -H 'Accept: text/html' "$url/qiwei/login" \
        | csrf_field)
wrong=$(curl -s -o /dev/null -D "$tmp/wrong.headers" -w '%{http_code}' \
        -b "$tmp/jar2" -H 'Accept: text/html' --data-urlencode account=zhangsan \
        --data-urlencode password=wrong-password-1 \
        --data-urlencode "csrf=$csrf2" "$url/qiwei/login")
check "a wrong password gets no session ($wrong)" \
    bash -c '[ "$1" != 303 ] && ! grep -qi "^set-cookie: qiwei_session=[^;]" "$2"' \
    _ "$wrong" "$tmp/wrong.headers"

# the admin console's files, from the package's /usr/share/qiwei/console
# (QiweiConsoleDir's default), with the console's CSP
check "the installed console: /usr/share/qiwei/console/index.html" \
    test -f /usr/share/qiwei/console/index.html
console=$(curl -s -D "$tmp/console.headers" -o "$tmp/console.html" \
          -w '%{http_code}' "$url/qiwei/console/")
check "the console's shell is served (200) with its CSP ($console)" \
    bash -c '[ "$1" = 200 ] && grep -qi "^content-security-policy: .*script-src '"'"'self'"'"'" "$2" && grep -qF "js/app.js" "$3"' \
    _ "$console" "$tmp/console.headers" "$tmp/console.html"

# --- an upgrade over the installed packages ----------------------------------------------
# The same tree as a newer version: a local edit of a conffile and the
# operator's key file stay, Apache is not restarted by it, and after a
# graceful restart the site and the session made before still work.
say "building a newer version for the upgrade"
mkdir "$tmp/src2"
(
    cd "$here" || exit 1
    git ls-files -z -co --exclude-standard \
        | perl -0 -ne 'chomp; print "$_\0" if -e $_ || -l $_' \
        | tar --null -T - -cf - \
        | tar -C "$tmp/src2" -xf -
) || abort "copy the tree for the upgrade"
old_version=$(dpkg-query -W -f='${Version}' libapache2-mod-qiwei)
new_version="$old_version+upgradetest1"
{
    printf '%s (%s) unstable; urgency=medium\n\n  * package-test: upgrade.\n\n' \
        "$(head -n 1 "$tmp/src2/debian/changelog" | cut -d' ' -f1)" "$new_version"
    printf ' -- %s  %s\n\n' "$(sed -n 's/^ -- \(.*>\)  .*/\1/p' \
        "$tmp/src2/debian/changelog" | head -n 1)" "$(date -R)"
    cat "$tmp/src2/debian/changelog"
} >"$tmp/changelog.new" && mv "$tmp/changelog.new" "$tmp/src2/debian/changelog"
if (cd "$tmp/src2" && DEB_BUILD_OPTIONS=nocheck dpkg-buildpackage -us -uc -b) \
        >"$tmp/build2.log" 2>&1; then
    ok "dpkg-buildpackage of $new_version"
else
    tail -n 30 "$tmp/build2.log"
    abort "dpkg-buildpackage of the newer version"
fi
mod2=$(ls "$tmp"/libapache2-mod-qiwei_*upgradetest1*.deb 2>/dev/null | head -n 1)
tools2=$(ls "$tmp"/qiwei-tools_*upgradetest1*.deb 2>/dev/null | head -n 1)
[ -n "$mod2" ] && [ -n "$tools2" ] || abort "the newer .debs"
edit_mark="# package-test local edit $token"
echo "$edit_mark" >>/etc/apache2/mods-available/qiwei.conf
apache_pid=$(cat "$(apache_pidfile)" 2>/dev/null)
if apt-get install -y -q --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        "$tools2" "$mod2" </dev/null >"$tmp/upgrade.log" 2>&1; then
    ok "apt-get install of $new_version over $old_version"
else
    tail -n 20 "$tmp/upgrade.log"
    abort "the upgrade"
fi
check "both packages are at $new_version" bash -c '
    for p in libapache2-mod-qiwei qiwei-tools; do
        [ "$(dpkg-query -W -f="\${Version}" "$p")" = "$1" ] || exit 1
    done' _ "$new_version"
check "the local edit of qiwei.conf (a conffile) is kept" \
    grep -qxF "$edit_mark" /etc/apache2/mods-available/qiwei.conf
check "the operator's key file is untouched" test -s "$QIWEI_KEYFILE"
check "qiwei stays enabled" test -e /etc/apache2/mods-enabled/qiwei.load
check "the upgrade did not restart Apache" \
    bash -c '[ "$(cat "$1" 2>/dev/null)" = "$2" ]' _ "$(apache_pidfile)" "$apache_pid"
apache2ctl graceful >/dev/null 2>&1
code=000
for _ in $(seq 1 50); do
    sleep 0.2
    page=$(curl -s -b "$jar" -w '\n%{http_code}' -H 'Accept: text/html' "$url/")
    code=${page##*$'\n'}
    [ "$code" = 200 ] && break
done
check "after a graceful restart the session made before still gets the page" \
    bash -c '[ "${1##*$'\''\n'\''}" = 200 ] && grep -qF "$2" <<<"$1"' _ "$page" "$token"

# --- back as it was, then purge -----------------------------------------------------------
a2dissite -q "$site" >/dev/null
rm -f "$site_conf"
rm -rf "$docroot"
if [ "$we_started_apache" = 1 ]; then
    check "apache2ctl stop" apache_stop
    we_started_apache=0
else
    apache2ctl graceful >/dev/null 2>&1
fi
cd "$here" || true
if apt-get purge -y -q "${pkgs[@]}" </dev/null >"$tmp/purge.log" 2>&1; then
    ok "apt-get purge -y ${pkgs[*]}"
else
    tail -n 20 "$tmp/purge.log"
    not_ok "apt-get purge"
fi
left=()
for f in /usr/lib/apache2/modules/mod_qiwei.so /usr/bin/qiweictl \
         /etc/apache2/mods-available/qiwei.load \
         /etc/apache2/mods-available/qiwei.conf \
         /etc/apache2/mods-enabled/qiwei.load /etc/apache2/mods-enabled/qiwei.conf \
         /etc/fail2ban/filter.d/qiwei.conf /usr/share/qiwei \
         /usr/share/doc/libapache2-mod-qiwei /usr/share/doc/qiwei-tools \
         /usr/share/man/man1/qiweictl.1.gz; do
    [ -e "$f" ] || [ -L "$f" ] && left+=("$f")
done
check "nothing left after the purge${left[*]:+: ${left[*]}}" test ${#left[@]} -eq 0
check "dpkg knows neither package any more" bash -c '
    for p in "$@"; do
        s=$(dpkg-query -W -f="\${db:Status-Status}" "$p" 2>/dev/null)
        [ -z "$s" ] || [ "$s" = not-installed ] || exit 1
    done' _ "${pkgs[@]}"
# the modules the install enabled besides qiwei (socache_shmcb)
for m in $(enabled_list mods); do
    case " $mods_before " in *" $m "*) continue ;; esac
    case $m in *.load) a2dismod -q -f "${m%.load}" >/dev/null 2>&1 ;; esac
done
check "enabled modules and sites as before" \
    test "$(enabled_list mods)|$(enabled_list sites)" = "$mods_before|$sites_before"
if [ "$apache_was_running" = 1 ]; then
    check "apache2 running, as before" apache_running
else
    check "apache2 stopped, as before" apache_stopped
fi
