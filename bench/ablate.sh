#!/usr/bin/env bash
# What each part of the cached member gate costs, by removing it (issue 14,
# ninth session): builds the committed tree with bench/ablate.patch applied
# (in a temporary directory; the patch is never part of the product) and
# runs the paired A/B of bench/run.sh (plain static, cached qiwei-member,
# cached qiwei-article, each beside plain static on the same core) once per
# level of QIWEI_ABLATE:
#
#   0  the gate as it is
#   1  no session lookup (cookie parse, token decode, SHA-256, cache lookup):
#      a fixed viewer instead
#   2  1, and no identity (r->user only, no QIWEI_* variables)
#   3  2, and no cookie stripping, no Cache-Control: private filter, no
#      decision metrics or notes
#   4  3, and no article decision (Require qiwei-article grants any
#      r->user): what is left is httpd calling our hooks
#
#   bash bench/ablate.sh            (about 12 minutes: 5 levels x 3 rounds)
#
# Environment: ABLATE_LEVELS (default "0 1 2 3 4"), ABLATE_ROUNDS (3); the
# BENCH_* variables of bench/run.sh pass through.  qiwei-article resolves
# the viewer in its own hook (article.c) before AuthType Qiwei's, so levels
# 1 to 3 do not remove the article row's session lookup; level 4 removes
# it with the decision.  Levels 1 to 4 serve any request that carries no
# cookie at all: the build is for measuring, never for serving.  Not a
# test; results in docs/performance.md.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
levels=${ABLATE_LEVELS:-0 1 2 3 4}
rounds=${ABLATE_ROUNDS:-3}
work=$(mktemp -d /tmp/qiwei-ablate.XXXXXX)
trap 'rm -rf "$work"' EXIT
say() { echo "ablate: $*" >&2; }

say "building $(git -C "$here" rev-parse --short HEAD) + bench/ablate.patch" \
    "in $work"
mkdir "$work/src"
git -C "$here" archive HEAD | tar -x -C "$work/src"
patch -s -d "$work/src" -p1 < "$here/bench/ablate.patch"
QIWEI_BUILD_DIR=$work/build bash "$work/src/scripts/build.sh" >&2

for level in $levels; do
    say "level $level"
    QIWEI_ABLATE=$level BENCH_SKIP_BUILD=1 QIWEI_BUILD_DIR=$work/build \
    BENCH_ROUNDS=$rounds BENCH_CACHE_MODES=cached BENCH_SESSION_WARMUP=0 \
    BENCH_REVOKE=0 BENCH_LOGIN=0 \
    BENCH_ONLY='^plain static 12 KB \(no|^Require qiwei-member \[cached\]$|^Require qiwei-article \[cached\]$' \
        bash "$here/bench/run.sh" > "$work/level$level.txt" 2>&1 \
        || { tail -n 20 "$work/level$level.txt" >&2; exit 1; }
done

echo "| QIWEI_ABLATE | plain static (A/A) | qiwei-member [cached] | qiwei-article [cached] |"
echo "|---:|---:|---:|---:|"
for level in $levels; do
    awk -F'|' -v level="$level" '
        function cell(i) { gsub(/^ +| +$/, "", $i); return $i }
        /^\| plain static 12 KB \(no/   { p = cell(6) " (" cell(7) ")" }
        /^\| Require qiwei-member /      { m = cell(6) " (" cell(7) ")" }
        /^\| Require qiwei-article /     { a = cell(6) " (" cell(7) ")" }
        END { printf "| %s | %s | %s | %s |\n", level, p, m, a }
    ' "$work/level$level.txt"
done
