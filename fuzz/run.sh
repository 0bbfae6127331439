#!/bin/sh
# Builds and runs every libFuzzer harness for FUZZ_SECONDS seconds each
# (default 20), starting from the seeds in fuzz/corpus/<name>/.  Exits
# non-zero if any harness fails to build, crashes, leaks, times out or trips
# a sanitizer; the crashing input is kept in fuzz/out/artifacts/<name>/.
#
# Usage: fuzz/run.sh [name ...]       (default: every fuzz/fuzz_*.c)
# A harness may set its input size limit on its second line:
#     /* max_len: 4096 */
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
secs=${FUZZ_SECONDS:-20}
out=fuzz/out

fuzz/build.sh "$@"

if [ $# -gt 0 ]; then
    names="$*"
else
    names=$(ls fuzz/fuzz_*.c | sed 's|^fuzz/fuzz_\(.*\)\.c$|\1|')
fi

# New inputs found go to a scratch corpus, not into the seeds in git.
work=$(mktemp -d "${TMPDIR:-/tmp}/qw-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

failed=""
for name in $names; do
    src=fuzz/fuzz_$name.c
    seeds=fuzz/corpus/$name
    maxlen=$(sed -n '2s|^/\* *max_len: *\([0-9][0-9]*\) *\*/ *$|\1|p' "$src")
    maxlen=${maxlen:-4096}
    mkdir -p "$work/$name" "$out/artifacts/$name"
    set -- "$work/$name"
    if [ -d "$seeds" ]; then
        set -- "$@" "$seeds"
    fi
    if [ -f "fuzz/dict/$name.dict" ]; then
        set -- -dict="fuzz/dict/$name.dict" "$@"
    fi
    echo "== fuzz $name: ${secs}s, max_len $maxlen"
    if "$out/$name" -max_total_time="$secs" -max_len="$maxlen" \
        -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$out/artifacts/$name/" "$@" \
        >"$work/$name.log" 2>&1; then
        tail -n 12 "$work/$name.log" | grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|Done)' || true
        echo "== fuzz $name: ok"
    else
        tail -n 60 "$work/$name.log"
        echo "== fuzz $name: FAILED (artifacts in $out/artifacts/$name/)"
        failed="$failed $name"
    fi
done

if [ -n "$failed" ]; then
    echo "fuzzing failed:$failed" >&2
    exit 1
fi
echo "fuzzing: all harnesses ran ${secs}s without a crash"
