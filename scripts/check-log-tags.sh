#!/bin/bash
# Every log line of the module carries its own tag, and every tag is
# documented.  Rules:
#   - every ap_log_* call's format starts with "QWnnnn: ";
#   - a tag may appear at several call sites only when the whole format
#     after the tag is identical there (the same event logged from two
#     places, e.g. QW1002); otherwise it is a duplicate;
#   - every tag has a row "| `QWnnnn` | ..." in docs/http.md, and every row
#     there names a tag that the sources still log;
#   - every tag that conf/ (the fail2ban filter) or t/ rely on is logged.
# Comments are ignored; the format is the concatenation of the call's
# string literals (macros such as APR_INT64_T_FMT between them drop out).
set -euo pipefail
cd "$(dirname "$0")/.."

sources=$(find mod_qiwei tools -name '*.c' | sort)
# One line per call site: "file:line<TAB>tag<TAB>format" (tag "-" if none).
# shellcheck disable=SC2086
sites=$(perl -Iscripts -MCCalls -e '
    for my $f (@ARGV) {
        for my $c (c_calls($f, qr/\bap_log_[a-z]+\s*\(/)) {
            my ($line, $call) = @$c;
            # the format: the first run of adjacent literals (and macros)
            my ($run) = $call =~ /("(?:[^"\\]|\\.)*"(?:\s*(?:[A-Z0-9_]+\s*)?"(?:[^"\\]|\\.)*")*)/s;
            my $fmt = join "", ($run // "") =~ /"((?:[^"\\]|\\.)*)"/g;
            my ($tag, $rest) = $fmt =~ /^(QW\d{4}): (.*)$/s ? ($1, $2)
                                                             : ("-", $fmt);
            print "$f:$line\t$tag\t$rest\n";
        }
    }' $sources)

fail=0
n=$(printf '%s\n' "$sites" | grep -c . || true)
[ "$n" -gt 0 ] || { echo "check-log-tags: no log call found"; exit 1; }

untagged=$(printf '%s\n' "$sites" | awk -F'\t' '$2 == "-"')
if [ -n "$untagged" ]; then
    echo "check-log-tags: log calls without a QWnnnn tag:"
    printf '%s\n' "$untagged" | awk -F'\t' '{ print "  " $1 ": \"" $3 "\"" }'
    fail=1
fi

# a tag with more than one distinct format
dups=$(printf '%s\n' "$sites" | awk -F'\t' '$2 != "-" { print $2 "\t" $3 }' \
       | sort -u | cut -f1 | uniq -d)
for t in $dups; do
    echo "check-log-tags: duplicate tag $t (different events):"
    printf '%s\n' "$sites" \
        | awk -F'\t' -v t="$t" '$2 == t { print "  " $1 ": \"" t ": " $3 "\"" }'
    fail=1
done

tags=$(printf '%s\n' "$sites" | awk -F'\t' '$2 != "-" { print $2 }' | sort -u)
documented=$({ grep -o '^| `QW[0-9]\{4\}` |' docs/http.md || true; } \
             | grep -o 'QW[0-9]\{4\}' | sort || true)
for t in $(printf '%s\n' "$documented" | uniq -d); do
    echo "check-log-tags: $t has more than one row in docs/http.md"
    fail=1
done
documented=$(printf '%s\n' "$documented" | sort -u)
for t in $(comm -23 <(printf '%s\n' "$tags") <(printf '%s\n' "$documented")); do
    where=$(printf '%s\n' "$sites" | awk -F'\t' -v t="$t" '$2 == t { print $1 }' \
            | tr '\n' ' ')
    echo "check-log-tags: $t (${where% }) is not in the table of docs/http.md"
    fail=1
done
for t in $(comm -13 <(printf '%s\n' "$tags") <(printf '%s\n' "$documented")); do
    echo "check-log-tags: docs/http.md documents $t, which nothing logs"
    fail=1
done
# tags the fail2ban filter and the tests match must still be logged
for t in $(grep -rhoI 'QW[0-9]\{4\}' conf t | sort -u); do
    # a here-string, not a pipe: grep -q may exit before printf is done,
    # and under pipefail printf's SIGPIPE would read as "not found"
    if ! grep -qxF "$t" <<<"$tags"; then
        echo "check-log-tags: $t is used in conf/ or t/ but nothing logs it:"
        grep -rnI "$t" conf t | sed 's/^/  /'
        fail=1
    fi
done

ntags=$(printf '%s\n' "$tags" | grep -c .)
[ $fail -eq 0 ] && echo "log tags: $ntags tags at $n call sites, unique and documented"
exit $fail
