#!/usr/bin/env bash
# Layers point down only (docs/architecture.md, "Layers"):
#   1 library      util/, store/, wm/: pure, no httpd types
#   2 request      qw_req, keys, forms, cfg/, db.c, cache.c
#   3 rendering    render/: pages, error pages, the watermark filter
#   4 gate         authn, authz providers, articles, throttling
#   5 handlers     handle/, mod_qiwei.c (hooks and the module record)
#
# Two rules inside the order: rendering (3) uses no database and no
# authentication (nothing of db.c, cache.c, store/), and the gate (4)
# never draws (nothing of render/): it returns statuses.
#
# Every file under mod_qiwei/ must be assigned a layer below, every
# '#include "..."' must name a file of the same or a lower layer, and every
# symbol an object file uses from another of our objects (nm, in
# $QIWEI_BUILD_DIR, default <repo>/build) must be defined in the same or a
# lower layer.  The one exception is qiwei_module, the module record, which
# every httpd module's files name (ap_get_module_config, APLOG_USE_MODULE).
#
#   bash scripts/check-layers.sh        run after scripts/build.sh
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${QIWEI_BUILD_DIR:-$here/build}
cd "$here"

# the layer of a path relative to the repository, or nothing
layer_of() {
    case "$1" in
    mod_qiwei/util/*|mod_qiwei/store/*|mod_qiwei/wm/*) echo 1 ;;
    mod_qiwei/qw_version.h) echo 1 ;;
    mod_qiwei/cfg/*) echo 2 ;;
    mod_qiwei/qiwei.h|mod_qiwei/req.[ch]|mod_qiwei/keys.c) echo 2 ;;
    mod_qiwei/form.[ch]|mod_qiwei/db.[ch]|mod_qiwei/cache.[ch]) echo 2 ;;
    mod_qiwei/metrics.[ch]) echo 2 ;;
    mod_qiwei/render/*) echo 3 ;;
    mod_qiwei/gate.h|mod_qiwei/authn.c|mod_qiwei/authz.c) echo 4 ;;
    mod_qiwei/article.c|mod_qiwei/throttle.[ch]) echo 4 ;;
    mod_qiwei/backend.c) echo 4 ;;
    mod_qiwei/handle/*|mod_qiwei/mod_qiwei.c) echo 5 ;;
    esac
}

# why file $1 may not use file $2 although $2 is not above it, or nothing
forbidden() {
    case "$1" in
    mod_qiwei/render/*)
        case "$2" in
        mod_qiwei/db.[ch]|mod_qiwei/cache.[ch]|mod_qiwei/store/*)
            echo "rendering uses no database" ;;
        esac ;;
    mod_qiwei/gate.h|mod_qiwei/authn.c|mod_qiwei/authz.c|mod_qiwei/article.c\
    |mod_qiwei/throttle.[ch]|mod_qiwei/backend.c)
        case "$2" in
        mod_qiwei/render/*) echo "the gate never draws" ;;
        esac ;;
    esac
}

fail=0
violation() {
    echo "$1 (layer $2) -> $3 (layer $4): $5"
    fail=1
}

# --- every file has a layer ---------------------------------------------
files=$(find mod_qiwei -type f \( -name '*.c' -o -name '*.h' \) | sort)
declare -A layer
for f in $files; do
    l=$(layer_of "$f")
    if [ -z "$l" ]; then
        echo "$f: no layer (assign it in scripts/check-layers.sh)"
        fail=1
        continue
    fi
    layer[$f]=$l
done

# --- includes -------------------------------------------------------------
for f in $files; do
    [ -n "${layer[$f]:-}" ] || continue
    while IFS= read -r inc; do
        # -I mod_qiwei, or the including file's own directory
        if [ -f "mod_qiwei/$inc" ]; then
            t="mod_qiwei/$inc"
        elif [ -f "$(dirname "$f")/$inc" ]; then
            t="$(dirname "$f")/$inc"
        else
            continue                    # not ours (httpd, apr, ...)
        fi
        t=$(realpath --relative-to=. "$t")
        lt=${layer[$t]:-}
        [ -n "$lt" ] || continue        # reported above
        if [ "$lt" -gt "${layer[$f]}" ]; then
            violation "$f" "${layer[$f]}" "$t" "$lt" "#include \"$inc\""
        fi
        why=$(forbidden "$f" "$t")
        if [ -n "$why" ]; then
            violation "$f" "${layer[$f]}" "$t" "$lt" \
                "#include \"$inc\" ($why)"
        fi
    done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
done

# --- calls (nm on the built objects) --------------------------------------
# libtool puts PIC objects in .libs/ and may prefix them (mod_qiwei_la-x.o)
objs=$(find "$build/mod_qiwei" -name '*.o' 2>/dev/null | sort || true)
if [ -z "$objs" ]; then
    echo "check-layers: no objects under $build/mod_qiwei: build first"
    exit 1
fi
declare -A src_of_obj
for o in $objs; do
    rel=${o#"$build"/}
    dir=$(dirname "$rel")
    dir=${dir%/.libs}
    base=$(basename "$rel" .o)
    base=${base#*_la-}
    s="$dir/$base.c"
    if [ -f "$s" ] && [ -n "${layer[$s]:-}" ]; then
        # one object per source: the PIC one in .libs/ wins
        case "$o" in
        */.libs/*) src_of_obj[$s]=$o ;;
        *) [ -n "${src_of_obj[$s]:-}" ] || src_of_obj[$s]=$o ;;
        esac
    fi
done

defs=$(mktemp)
trap 'rm -f "$defs"' EXIT
for s in "${!src_of_obj[@]}"; do
    nm --defined-only -g "${src_of_obj[$s]}" \
        | awk -v s="$s" 'NF == 3 { print $3, s }'
done | sort >"$defs"

for s in $(printf '%s\n' "${!src_of_obj[@]}" | sort); do
    while read -r sym def; do
        [ "$def" != "$s" ] || continue
        [ "$sym" != qiwei_module ] || continue   # the module record
        if [ "${layer[$def]}" -gt "${layer[$s]}" ]; then
            violation "$s" "${layer[$s]}" "$def" "${layer[$def]}" "$sym"
        fi
        why=$(forbidden "$s" "$def")
        if [ -n "$why" ]; then
            violation "$s" "${layer[$s]}" "$def" "${layer[$def]}" \
                "$sym ($why)"
        fi
    done < <(nm -u "${src_of_obj[$s]}" | awk '{ print $NF }' | sort -u \
             | join - "$defs")
done

if [ $fail -eq 0 ]; then
    echo "layers: ${#layer[@]} files in 5 layers, every include and call" \
         "points down; rendering uses no database, the gate never draws"
fi
exit $fail
