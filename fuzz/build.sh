#!/bin/sh
# Builds every fuzz/fuzz_*.c libFuzzer harness into fuzz/out/.
#
# Each harness names the library sources it needs on its first line:
#     /* needs: mod_qiwei/util/cookie.c mod_qiwei/util/text.c */
# (paths relative to the repository root).  Those files are compiled
# directly into the harness, with the sanitizers, rather than linked from
# libqiwei.la, so every line of the parser is instrumented.
#
# Usage: fuzz/build.sh [name ...]     (names like "cookie"; default: all)
# Needs: clang, libclang-rt-14-dev (libFuzzer), libapr1-dev,
# libaprutil1-dev, libsodium-dev, libssl-dev, libjansson-dev, pkg-config.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=fuzz/out
mkdir -p "$out"

CC=${CC:-clang}
SAN=${FUZZ_SANITIZERS:-fuzzer,address,undefined}
CFLAGS="-g -O1 -fno-omit-frame-pointer -fsanitize=$SAN \
    -fno-sanitize-recover=undefined -Wall -Wextra -Wno-unused-parameter"
INCS="-I mod_qiwei $(apr-1-config --includes --cppflags) \
    $(apu-1-config --includes) $(pkg-config --cflags libsodium libcrypto jansson)"
LIBS="$(pkg-config --libs libsodium libcrypto jansson) \
    $(apu-1-config --link-ld --libs) $(apr-1-config --link-ld --libs)"

if [ $# -gt 0 ]; then
    harnesses=""
    for n in "$@"; do
        harnesses="$harnesses fuzz/fuzz_$n.c"
    done
else
    harnesses=$(ls fuzz/fuzz_*.c)
fi

status=0
for src in $harnesses; do
    name=$(basename "$src" .c)
    name=${name#fuzz_}
    if [ ! -f "$src" ]; then
        echo "build.sh: no such harness: $src" >&2
        status=1
        continue
    fi
    needs=$(head -n 1 "$src" | sed -n 's|^/\* *needs: *\(.*[^ ]\) *\*/ *$|\1|p')
    if [ -z "$needs" ]; then
        echo "build.sh: $src: first line must be '/* needs: <sources> */'" >&2
        status=1
        continue
    fi
    echo "  FUZZ     $out/$name  ($needs)"
    # shellcheck disable=SC2086
    if ! $CC $CFLAGS $INCS -o "$out/$name" "$src" $needs $LIBS; then
        echo "build.sh: building $name failed" >&2
        status=1
    fi
done
exit $status
