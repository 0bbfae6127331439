#!/usr/bin/env bash
# Build mod_qiwei and run all its tests:
#   1. the Check unit tests (make check),
#   2. the Apache::Test integration tests (t/*.t) against a real httpd and a
#      private PostgreSQL started for this run and stopped at exit,
#   3. optionally the fuzzers for FUZZ_SECONDS seconds each (fuzz/run.sh).
#
#   bash scripts/test.sh                 everything
#   bash scripts/test.sh t/10_login.t    only these integration test files
#
# Environment:
#   QIWEI_BUILD_DIR   build directory (default <repo>/build, or
#                     <repo>/build-asan with QIWEI_SANITIZE=1)
#   QIWEI_SANITIZE=1  build with ASan+UBSan (scripts/build.sh), run httpd with
#                     the ASan runtime preloaded, and fail when any sanitizer
#                     report appears (report files, "runtime error:" lines)
#   QIWEI_SKIP_UNIT=1 skip make check
#   QIWEI_SKIP_BUILD=1 test the existing build as it is (development only)
#   QIWEI_KEEP=1      keep the staging directory (logs, config) afterwards
#   QIWEI_TEST_VERBOSE=1  print every assertion (-verbose)
#   FUZZ_SECONDS=N    run fuzz/run.sh with N seconds per target (default 0)
#
# Fails when any test fails or when no integration test ran at all
# (Apache::Test answers "Result: NOTESTS" with exit 0).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
sanitize=${QIWEI_SANITIZE:-0}
if [ "$sanitize" = 1 ]; then
    build=${QIWEI_BUILD_DIR:-$here/build-asan}
else
    build=${QIWEI_BUILD_DIR:-$here/build}
fi
export QIWEI_BUILD_DIR=$build
artefacts=${QIWEI_ARTEFACTS:-$here/artefacts}
fuzz_seconds=${FUZZ_SECONDS:-0}

say() { echo "test.sh: $*"; }

unit_result="not run"
it_result="not run"
fuzz_result="skipped"
status=0
stage=

cleanup() {
    local rc=$?
    set +e
    if [ -n "$stage" ] && [ -d "$stage" ]; then
        if [ -f "$stage/t/conf/httpd.conf" ] && [ -f "$stage/t/logs/httpd.pid" ]; then
            (cd "$stage" && perl t/TEST.PL -stop >/dev/null 2>&1)
        fi
        if [ -f "$stage/state/pg.env" ]; then
            bash "$here/scripts/pg.sh" stop "$stage/state" >/dev/null 2>&1
        fi
        if [ "${QIWEI_KEEP:-0}" = 1 ]; then
            say "kept $stage"
        else
            rm -rf "$stage"
        fi
    fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- 1. packages and build -------------------------------------------------
bash "$here/scripts/deps.sh"
if [ "${QIWEI_SKIP_BUILD:-0}" = 1 ]; then
    say "QIWEI_SKIP_BUILD=1: testing the existing build in $build"
else
    bash "$here/scripts/build.sh"
fi

# --- 2. unit tests -----------------------------------------------------------
# every directive documented (docs/directives.md, conf/qiwei.conf)
if ! bash "$here/scripts/check-docs.sh"; then
    status=1
fi
# every log tag unique per event and documented (docs/http.md)
if ! bash "$here/scripts/check-log-tags.sh"; then
    status=1
fi
# JSON only by jansson, never by a format string
if ! bash "$here/scripts/check-json.sh"; then
    status=1
fi
# result columns read by name, never by a literal number
if ! bash "$here/scripts/check-columns.sh"; then
    status=1
fi
# layers point down only (docs/architecture.md): includes and nm on the build
if ! bash "$here/scripts/check-layers.sh"; then
    status=1
fi
# every httpd config in README.md, docs/ and conf/qiwei.conf parses (apache2 -t)
if ! bash "$here/scripts/check-doc-configs.sh"; then
    status=1
fi
export QIWEI_ARTEFACTS=$artefacts
if [ "${QIWEI_SKIP_UNIT:-0}" = 1 ]; then
    unit_result="skipped (QIWEI_SKIP_UNIT=1)"
else
    say "make check"
    if make -C "$build" -j"$(nproc 2>/dev/null || echo 2)" check >"$build/make-check.out" 2>&1; then
        unit_result="PASS"
    else
        unit_result="FAIL"
        status=1
        tail -n 40 "$build/make-check.out" >&2
        [ -f "$build/tests/unit/check_qiwei.log" ] \
            && tail -n 60 "$build/tests/unit/check_qiwei.log" >&2
    fi
    # Check prints "NN%: Checks: N, Failures: F, Errors: E".
    checks=$(grep -ho 'Checks: [0-9]*, Failures: [0-9]*, Errors: [0-9]*' \
             "$build"/tests/unit/*.log 2>/dev/null | tail -n 1 || true)
    if [ -z "$checks" ] || [ "$(echo "$checks" | sed 's/Checks: \([0-9]*\).*/\1/')" = 0 ]; then
        unit_result="FAIL (no unit test ran)"
        status=1
    else
        unit_result="$unit_result ($checks)"
    fi
    say "unit tests: $unit_result"
fi

# --- 3. integration tests ---------------------------------------------------
if [ "$(id -u)" != 0 ]; then
    say "the integration tests need root (httpd reads the root-owned key file" \
        "and drops to nobody; PostgreSQL runs as user postgres)" >&2
    it_result="FAIL (not root)"
    status=1
else
    module=$build/.libs/mod_qiwei.so
    ctl=$build/qiweictl
    [ -f "$module" ] || { say "no $module" >&2; exit 1; }
    [ -x "$ctl" ] || { say "no $ctl" >&2; exit 1; }

    # httpd's children run as nobody and must traverse every directory
    # down to t/; mktemp -d makes 0700 folders, and the clone may live under
    # one too.  So the tests run from a fresh world-readable copy.
    stage=$(mktemp -d "${TMPDIR:-/tmp}/qiwei-test.XXXXXX")
    chmod 755 "$stage"
    cp -R "$here/t" "$stage/t"
    rm -rf "$stage/t/logs" "$stage/t/conf/apache_test_config.pm"
    chmod -R u+rwX,go+rX "$stage/t"
    find "$stage/t" -name '*.cgi' -exec chmod 755 {} +
    # the admin console's files, read by httpd's children (QiweiConsoleDir)
    cp -R "$here/console" "$stage/console"
    chmod -R u+rwX,go+rX "$stage/console"
    mkdir -p "$stage/state"
    chmod 755 "$stage/state"

    # Sanitizer build: every instrumented process (httpd's children run as
    # nobody, qiweictl) writes its reports into one world-writable folder.
    # mod_qiwei.so does not carry the ASan runtime, and a stock httpd is not
    # instrumented, so httpd runs through a wrapper that preloads it.
    httpd_args=()
    sanitizer_dir=
    if [ "$sanitize" = 1 ]; then
        sanitizer_dir=$stage/sanitizer
        mkdir -p "$sanitizer_dir"
        chmod 1777 "$sanitizer_dir"
        asan_rt=$(clang -print-file-name=libclang_rt.asan-x86_64.so)
        [ -f "$asan_rt" ] || { say "no ASan runtime ($asan_rt)" >&2; exit 1; }
        san_common="log_path=$sanitizer_dir/report:print_stacktrace=1"
        # httpd's and perl's own allocations are not ours to judge
        export ASAN_OPTIONS="$san_common:detect_leaks=0:abort_on_error=1"
        export UBSAN_OPTIONS="$san_common:halt_on_error=1"
        export QIWEI_SANITIZER_DIR=$sanitizer_dir
        httpd_bin=$(apxs -q SBINDIR)/$(apxs -q TARGET)
        printf '#!/bin/sh\nLD_PRELOAD="%s${LD_PRELOAD:+:$LD_PRELOAD}" exec "%s" "$@"\n' \
            "$asan_rt" "$httpd_bin" >"$stage/state/httpd-sanitized"
        chmod 755 "$stage/state/httpd-sanitized"
        httpd_args=(-httpd "$stage/state/httpd-sanitized")
        say "sanitizers on: httpd runs with $asan_rt preloaded"
    fi

    # The key file: root-owned, 0600, made by the CLI as an operator would.
    keyfile=$stage/state/qiwei.key
    "$ctl" keygen "$keyfile" >/dev/null

    bash "$here/scripts/pg.sh" start "$stage/state"
    # shellcheck disable=SC1091
    . "$stage/state/pg.env"

    export QIWEI_MODULE=$module
    export QIWEI_CTL=$ctl
    export QIWEI_KEYFILE=$keyfile
    export QIWEI_SQLDIR=$here/sql
    export QIWEI_DSN=$QIWEI_PG_OWNER_DSN          # qiweictl, as the DB owner
    export QIWEI_TEST_DSN=$QIWEI_PG_APP_DSN       # httpd, as qiwei_app
    export QIWEI_TEST_PGCTL=$QIWEI_PGCTL
    export QIWEI_TEST_STATE=$stage/state
    export QIWEI_TEST_SCRIPTS=$here/scripts
    export QIWEI_CONSOLE_DIR=$stage/console

    say "qiweictl migrate --app-role $QIWEI_PG_APP_ROLE"
    "$ctl" migrate --app-role "$QIWEI_PG_APP_ROLE" --sql-dir "$here/sql" </dev/null

    port=$(perl -MIO::Socket::INET -e '
        my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1",
                                      LocalPort => 0) or die "$!\n";
        print $s->sockport')
    apxs=$(command -v apxs || command -v apxs2 || echo /usr/bin/apxs)

    cd "$stage"
    perl t/TEST.PL -clean >/dev/null 2>&1 || true
    tests=()
    for a in "$@"; do
        case $a in
            /*) tests+=("${a#"$here"/}") ;;
            *) tests+=("$a") ;;
        esac
    done
    say "Apache::Test on port $port (staged in $stage)"
    set +e
    verbose=()
    [ "${QIWEI_TEST_VERBOSE:-0}" = 1 ] && verbose=(-verbose)
    perl t/TEST.PL -apxs "$apxs" "${httpd_args[@]}" -port "$port" \
        "${verbose[@]}" "${tests[@]}" </dev/null 2>&1 \
        | tee "$stage/apache-test.out"
    at_rc=${PIPESTATUS[0]}
    set -e
    cd "$here"

    out=$stage/apache-test.out
    files_tests=$(grep -Eo 'Files=[0-9]+, Tests=[0-9]+' "$out" | tail -n 1 || true)
    ntests=$(echo "$files_tests" | sed -n 's/.*Tests=\([0-9]*\).*/\1/p')
    if grep -q 'Result: PASS' "$out" && [ "$at_rc" = 0 ] && [ -n "$ntests" ] \
            && [ "$ntests" -gt 0 ]; then
        it_result="PASS ($files_tests)"
    elif [ -z "$ntests" ] || [ "$ntests" = 0 ]; then
        it_result="FAIL (no integration test ran; exit $at_rc)"
        status=1
    else
        failed=$(grep -E '^t/[^ ]+\.t +\(Wstat' "$out" | awk '{print $1}' \
                 | tr '\n' ' ' | sed 's/ $//' || true)
        it_result="FAIL ($files_tests; exit $at_rc; failed: ${failed:-?})"
        status=1
    fi
    if [ "$sanitize" = 1 ]; then
        reports=$(find "$sanitizer_dir" -type f -size +0 | sort)
        san_lines=$(grep -h -E 'runtime error:|AddressSanitizer|LeakSanitizer' \
                    "$stage"/t/logs/*error_log* 2>/dev/null | head -n 20 || true)
        if [ -n "$reports" ] || [ -n "$san_lines" ]; then
            it_result="$it_result; FAIL (sanitizer reports)"
            status=1
            for f in $reports; do
                say "sanitizer report $f:" >&2
                head -n 40 "$f" >&2
            done
            [ -z "$san_lines" ] || printf '%s\n' "$san_lines" >&2
        else
            it_result="$it_result; sanitizers: no report"
        fi
    fi
    if [ "$status" != 0 ]; then
        mkdir -p "$artefacts"
        [ -z "$sanitizer_dir" ] || cp -R "$sanitizer_dir" "$artefacts/" 2>/dev/null || true
        cp "$out" "$artefacts/" 2>/dev/null || true
        cp "$stage/t/logs/error_log" "$artefacts/" 2>/dev/null || true
        cp "$QIWEI_PG_LOG" "$artefacts/postgresql.log" 2>/dev/null || true
        say "logs copied to $artefacts/"
    fi
    say "integration tests: $it_result"
fi

# --- 4. fuzzing (optional) --------------------------------------------------
if [ "$fuzz_seconds" != 0 ]; then
    if [ -f "$here/fuzz/run.sh" ]; then
        if FUZZ_SECONDS=$fuzz_seconds bash "$here/fuzz/run.sh"; then
            fuzz_result="PASS (${fuzz_seconds}s per target)"
        else
            fuzz_result="FAIL"
            status=1
        fi
    else
        fuzz_result="skipped (no fuzz/run.sh)"
    fi
fi

if [ "$status" = 0 ]; then verdict=PASS; else verdict=FAIL; fi
echo "SUMMARY: $verdict - unit: $unit_result; integration: $it_result; fuzz: $fuzz_result"
exit $status
