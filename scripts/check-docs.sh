#!/bin/bash
# Every directive in the source is documented in docs/directives.md and
# named in the reference configuration conf/qiwei.conf.
set -euo pipefail
cd "$(dirname "$0")/.."
fail=0
n=0
for d in $(grep -ho 'AP_INIT_[A-Z0-9]*("Qiwei[A-Za-z]*"' mod_qiwei/cfg/*.c \
           | sed 's/.*("\(.*\)"/\1/' | sort -u); do
    n=$((n + 1))
    grep -q "^## $d\$" docs/directives.md \
        || { echo "not documented in docs/directives.md: $d"; fail=1; }
    grep -Eq "^[[:space:]]*#?$d( |\$)" conf/qiwei.conf \
        || { echo "not in conf/qiwei.conf: $d"; fail=1; }
done
[ "$n" -gt 0 ] || { echo "no directives found"; exit 1; }
[ $fail -eq 0 ] && echo "docs: all $n directives documented"
exit $fail
