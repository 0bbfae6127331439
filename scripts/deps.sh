#!/usr/bin/env bash
# Install the Debian 12 packages needed to build mod_qiwei and run its tests
# and demo.  As root: installs what is missing (apt-get).  As another user:
# prints what to install and fails if anything is missing.
#
#   bash scripts/deps.sh          install what is missing
#   bash scripts/deps.sh --check  only report; exit 1 if something is missing
set -euo pipefail

PKGS=(
    apache2 apache2-dev libapr1-dev libaprutil1-dev
    libpq-dev libssl-dev libsodium-dev libjansson-dev libqrencode-dev
    postgresql postgresql-common
    autoconf automake libtool pkgconf make gcc libc6-dev
    perl libapache2-mod-perl2 libwww-perl
    check clang libclang-rt-14-dev curl ca-certificates
)
# promtool checks the metrics endpoint and the example alert rules
# (t/150_metrics.t)
PKGS+=(prometheus)
# headless browser check of the watermark (t/81_watermark_browser.t)
PKGS+=(chromium python3-websocket fonts-noto-cjk fonts-noto-color-emoji)
# pgbouncer in front of PostgreSQL (t/142_pgbouncer.t; the tests run it
# themselves, as user postgres; the package's own service is not used)
PKGS+=(pgbouncer)

missing=()
for p in "${PKGS[@]}"; do
    st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [ "$st" = installed ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

if [ "${1:-}" = --check ] || [ "$(id -u)" != 0 ]; then
    echo "Missing Debian packages: ${missing[*]}" >&2
    echo "Install them with:" >&2
    echo "  sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
fi

echo "Installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
