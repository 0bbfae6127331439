#!/usr/bin/env bash
# Build mod_qiwei, qiweictl and the unit tests out of tree.
#
#   bash scripts/build.sh        -> $QIWEI_BUILD_DIR (default: <repo>/build)
#
# The source tree itself is never configured, so several builds (and other
# build directories) can coexist.  Prints nothing but errors unless V=1.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${QIWEI_BUILD_DIR:-$here/build}
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
if [ ! -f Makefile ] || [ "$here/configure" -nt config.status ]; then
    log "configure (in $build)"
    "$here/configure" -q ${QIWEI_CONFIGURE_FLAGS:-}
fi
log "make -j$jobs"
if [ "${V:-0}" = 1 ]; then
    make -j"$jobs"
else
    make -j"$jobs" >/dev/null
fi
log "built $build/.libs/mod_qiwei.so and $build/qiweictl"
