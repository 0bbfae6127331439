#!/bin/bash
# Every httpd configuration shown in the docs parses: `apache2 -t` runs on
# each one, so an example an operator copies can never be broken again.
#
# What is checked:
#   - every fenced block of README.md and docs/*.md whose fence says
#     ```apache (or ```apacheconf): an httpd config snippet;
#   - conf/qiwei.conf (the reference config) as it is, and once more with
#     every commented-out directive ("#QiweiX value", no space after the
#     #) switched on, so the defaults it lists parse too.
# A fenced block with another or no language that holds a line looking like
# httpd config (LoadModule, <Location, <Directory, <VirtualHost, AuthType,
# Require, Qiwei...) is an error: fence it ```apache so it is checked, or
# reword it.  Shell, JSON and HTTP examples never start a line that way.
#
# How: each snippet goes, line for line, into a file included by a minimal
# httpd.conf (ServerRoot /usr/lib/apache2 so "modules/mod_x.so" resolves,
# mpm_event, the usual aaa, alias, mime, dir, proxy modules, unless the
# snippet loads a module itself, and the built mod_qiwei.so).  Substituted
# in the snippet: the path of "LoadModule qiwei_module" (the built module),
# QiweiKeyFile (a key made by the built `qiweictl keygen`); ${VARIABLE}s
# get a dummy value in httpd's environment.  Runtime files (pid, logs,
# mutexes, document root) go to a temporary folder.
#
# `apache2 -t` reads the configuration and runs the modules' check_config
# hooks, then stops: post_config (which opens the key file and asks the
# database for its schema version, QW0110) does not run, so no PostgreSQL
# is needed and the connection strings in the examples are only parsed.
# A failure prints the file and line of the snippet.
#
# QIWEI_BUILD_DIR: where the module and qiweictl were built (default
# <repo>/build).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
build=${QIWEI_BUILD_DIR:-$here/build}
module=$build/.libs/mod_qiwei.so
ctl=$build/qiweictl
httpd=$(command -v apache2 || echo /usr/sbin/apache2)
moddir=/usr/lib/apache2/modules

[ -f "$module" ] || { echo "check-doc-configs: no $module (build first)"; exit 1; }
[ -x "$ctl" ] || { echo "check-doc-configs: no $ctl (build first)"; exit 1; }
[ -x "$httpd" ] || { echo "check-doc-configs: no apache2"; exit 1; }

# A module built with QIWEI_SANITIZE=1 needs the ASan runtime loaded
# before it (httpd itself is not instrumented), as scripts/test.sh does.
preload=()
# (grep reads all of nm's output: with -q it could stop early, and nm's
# SIGPIPE would fail the pipeline under pipefail)
if nm -D "$module" 2>/dev/null | grep ' U __asan_' >/dev/null; then
    asan_rt=$(clang -print-file-name=libclang_rt.asan-x86_64.so)
    [ -f "$asan_rt" ] || { echo "check-doc-configs: no ASan runtime"; exit 1; }
    preload=(LD_PRELOAD="$asan_rt" ASAN_OPTIONS=detect_leaks=0)
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/qiwei-doc-configs.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/blocks" "$tmp/htdocs" "$tmp/run"
keyfile=$tmp/qiwei.key
"$ctl" keygen "$keyfile" >/dev/null
port=$(perl -MIO::Socket::INET -e '
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1",
                                  LocalPort => 0) or die "$!\n";
    print $s->sockport')

# Split the docs into blocks: $tmp/blocks/N.conf plus an index line
# "N<TAB>file<TAB>line of the block's first line<TAB>extra modules".
fail=0
perl -e '
    my ($dir, @files) = @ARGV;
    my ($n, $bad) = (0, 0);
    open my $idx, ">", "$dir/index" or die "$dir/index: $!\n";
    for my $f (@files) {
        open my $h, "<", $f or die "$f: $!\n";
        my ($in, $lang, $start, @lines) = (0);
        while (my $l = <$h>) {
            if (!$in && $l =~ /^\s*```\s*([A-Za-z0-9_+-]*)/) {
                ($in, $lang, $start, @lines) = (1, lc $1, $. + 1);
                next;
            }
            if ($in && $l =~ /^\s*```\s*$/) {
                $in = 0;
                if ($lang eq "apache" || $lang eq "apacheconf") {
                    $n++;
                    open my $o, ">", "$dir/blocks/$n.conf" or die "$!\n";
                    print $o @lines;
                    close $o;
                    print $idx "$n\t$f\t$start\t\n";
                } else {
                    for my $i (0 .. $#lines) {
                        next unless $lines[$i] =~ /^\s*(?:LoadModule\s|<\/?(?:Location|LocationMatch|Directory|VirtualHost|Files|RequireAny|RequireAll|IfModule)\b|AuthType\s|Require\s|Qiwei[A-Z][A-Za-z]*\s)/;
                        printf "%s:%d: httpd config in a ```%s block: fence it ```apache\n",
                            $f, $start + $i, $lang;
                        $bad = 1;
                        last;
                    }
                }
                next;
            }
            push @lines, $l if $in;
        }
        print "$f: unclosed ``` fence from line ", $start - 1, "\n" and $bad = 1
            if $in;
    }
    exit $bad;' "$tmp" README.md docs/*.md || fail=1

n=$(grep -c . "$tmp/index" || true)
[ "$n" -gt 0 ] || { echo "check-doc-configs: no \`\`\`apache block found"; exit 1; }

# the reference config, as it is and with its commented-out defaults on
n=$((n + 1))
cp conf/qiwei.conf "$tmp/blocks/$n.conf"
printf '%s\t%s\t%s\t\n' "$n" conf/qiwei.conf 1 >>"$tmp/index"
n=$((n + 1))
sed -E 's/^([[:space:]]*)#(Qiwei[A-Z][A-Za-z]*([[:space:]]|$))/\1\2/' \
    conf/qiwei.conf >"$tmp/blocks/$n.conf"
# its QiweiPasswordProvider example names ldap (mod_authnz_ldap)
printf '%s\t%s\t%s\t%s\n' "$n" "conf/qiwei.conf (defaults on)" 1 \
    "ldap authnz_ldap" >>"$tmp/index"

base_modules="mpm_event authn_core authn_file authz_core authz_host
              authz_user auth_basic alias mime dir headers proxy proxy_http
              socache_shmcb"
checked=0
while IFS=$'\t' read -r i file start extra; do
    block=$tmp/blocks/$i.conf
    # the built module and a real key file instead of the example's paths
    sed -i -E \
        -e "s#^([[:space:]]*LoadModule[[:space:]]+qiwei_module[[:space:]]+).*#\\1$module#" \
        -e "s#^([[:space:]]*QiweiKeyFile[[:space:]]+)[^[:space:]]+#\\1$keyfile#" \
        "$block"
    conf=$tmp/httpd-$i.conf
    {
        echo "ServerRoot /usr/lib/apache2"
        echo "ServerName localhost"
        echo "Listen 127.0.0.1:$port"
        echo "DefaultRuntimeDir $tmp/run"
        echo "PidFile $tmp/run/httpd.pid"
        echo "ErrorLog $tmp/error_log"
        echo "Mutex file:$tmp/run default"
        echo "DocumentRoot $tmp/htdocs"
        for m in $base_modules $extra; do
            grep -Eq "^[[:space:]]*LoadModule[[:space:]]+${m}_module[[:space:]]" \
                "$block" || echo "LoadModule ${m}_module $moddir/mod_$m.so"
        done
        grep -Eq '^[[:space:]]*LoadModule[[:space:]]+qiwei_module[[:space:]]' \
            "$block" || echo "LoadModule qiwei_module $module"
        echo "Include $block"
    } >"$conf"
    vars=()
    # shellcheck disable=SC2016 # a literal ${NAME}, not an expansion
    for v in $(grep -o '\${[A-Za-z_][A-Za-z0-9_]*}' "$block" | tr -d '${}' | sort -u); do
        vars+=("$v=example")
    done
    checked=$((checked + 1))
    if ! out=$(env "${vars[@]}" "${preload[@]}" "$httpd" -t -f "$conf" 2>&1); then
        fail=1
        # "Syntax error on line L of .../N.conf" -> the line in the doc
        line=$(printf '%s\n' "$out" \
               | sed -n "s#.*on line \\([0-9]*\\) of $block.*#\\1#p" | head -n 1)
        if [ -n "$line" ]; then
            echo "check-doc-configs: ${file%% *}:$((start + line - 1)): $file does not parse:"
        else
            echo "check-doc-configs: ${file%% *}:$start: $file (block from line $start) does not parse:"
        fi
        printf '%s\n' "$out" | sed 's/^/  /'
    fi
done <"$tmp/index"

[ $fail -eq 0 ] && echo "doc configs: $checked httpd configs parse (apache2 -t)"
exit $fail
