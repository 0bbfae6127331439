#!/usr/bin/env bash
# Build mod_qiwei, qiweictl and the unit tests out of tree.
#
#   bash scripts/build.sh        -> $QIWEI_BUILD_DIR (default: <repo>/build)
#   QIWEI_SANITIZE=1 bash scripts/build.sh
#                                -> $QIWEI_BUILD_DIR (default: <repo>/build-asan)
#
# QIWEI_SANITIZE=1 builds with clang and AddressSanitizer + UndefinedBehavior-
# Sanitizer (any UB report aborts).  qiweictl and the unit tests carry the
# runtime; mod_qiwei.so does not (clang never links it into a shared
# object), so an httpd loading it needs the runtime preloaded first:
#   LD_PRELOAD=$(clang -print-file-name=libclang_rt.asan-x86_64.so)
# (scripts/test.sh does that for its httpd).
# The source tree itself is never configured, so several builds (and other
# build directories) can coexist.  Prints nothing but errors unless V=1.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
sanitize=${QIWEI_SANITIZE:-0}
if [ "$sanitize" = 1 ]; then
    build=${QIWEI_BUILD_DIR:-$here/build-asan}
else
    build=${QIWEI_BUILD_DIR:-$here/build}
fi
jobs=$(nproc 2>/dev/null || echo 2)

log() { echo "build.sh: $*"; }

cd "$here"
if [ ! -x configure ] || [ configure.ac -nt configure ] \
        || [ ! -f build-aux/missing ] || [ ! -f build-aux/compile ] \
        || [ ! -f build-aux/ltmain.sh ] \
        || [ Makefile.am -nt Makefile.in ] || [ "${QIWEI_AUTORECONF:-0}" = 1 ]; then
    log "autoreconf -fi"
    autoreconf -fi >"${TMPDIR:-/tmp}/qiwei-autoreconf.$$.log" 2>&1 || {
        cat "${TMPDIR:-/tmp}/qiwei-autoreconf.$$.log" >&2
        rm -f "${TMPDIR:-/tmp}/qiwei-autoreconf.$$.log"
        exit 1
    }
    rm -f "${TMPDIR:-/tmp}/qiwei-autoreconf.$$.log"
fi
if [ -f config.status ]; then
    echo "build.sh: $here is configured in-tree; run 'make distclean' there" \
         "or build in it yourself" >&2
    exit 1
fi

mkdir -p "$build"
cd "$build"
conf_args=()
if [ "$sanitize" = 1 ]; then
    san="-fsanitize=address,undefined -fno-omit-frame-pointer"
    san="$san -fno-sanitize-recover=undefined"
    # <stddef.h> first: apr_general.h defines APR_OFFSETOF (and so
    # APR_RING_SENTINEL, every brigade loop) with offsetof only when it is
    # already there, else with a NULL member access that UBSan aborts on
    conf_args=(CC="${CC:-clang}" CFLAGS="-O1 -g $san -include stddef.h"
               LDFLAGS="$san")
fi
# shellcheck disable=SC2206
conf_args+=(${QIWEI_CONFIGURE_FLAGS:-})
# configure again when the flags changed since the last time
args_changed=0
[ "$(cat .qiwei-configure-args 2>/dev/null)" = "${conf_args[*]}" ] || args_changed=1
if [ ! -f Makefile ] || [ "$here/configure" -nt config.status ] \
        || [ "$args_changed" = 1 ]; then
    log "configure (in $build)"
    had_makefile=0
    [ -f Makefile ] && had_makefile=1
    "$here/configure" -q "${conf_args[@]}"
    # objects made with other flags are not rebuilt by make itself
    if [ "$had_makefile" = 1 ] && [ "$args_changed" = 1 ]; then
        make clean >/dev/null
    fi
    printf '%s' "${conf_args[*]}" >.qiwei-configure-args
fi
log "make -j$jobs"
if [ "${V:-0}" = 1 ]; then
    make -j"$jobs"
else
    make -j"$jobs" >/dev/null
fi
log "built $build/.libs/mod_qiwei.so and $build/qiweictl"
