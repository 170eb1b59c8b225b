#!/usr/bin/env bash
# Install the system packages the test suites need, from Debian's archive (as root; skipped for
# whatever is already there). Each slower suite adds what it needs here.
set -euo pipefail
need=()
command -v openssl >/dev/null 2>&1 || need+=(openssl)   # TLS tests make a self-signed certificate
[ -x /usr/bin/chromium ] || need+=(chromium)              # browser tests (Playwright drives it)
command -v npm >/dev/null 2>&1 || need+=(nodejs npm)      # JupyterHub's proxy comes from npm
# The integration suite on Ceph RGW (scripts/rgw.sh): monmaptool comes with ceph-mon (ceph-base),
# ceph and radosgw-admin with ceph-common.
for bin in radosgw:radosgw ceph-mon:ceph-mon ceph-osd:ceph-osd ceph:ceph-common \
    radosgw-admin:ceph-common monmaptool:ceph-mon; do
    command -v "${bin%%:*}" >/dev/null 2>&1 || need+=("${bin#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "missing system packages: ${need[*]}; install them (apt-get install ${need[*]}) or run as root" >&2
        exit 1
    fi
    mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
    echo "== apt-get install ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# The JupyterHub test's proxy, from the npm registry (a global install, as JupyterHub's docs say).
if ! command -v configurable-http-proxy >/dev/null 2>&1; then
    if [ "$(id -u)" != 0 ]; then
        echo "missing configurable-http-proxy; install it (npm install -g configurable-http-proxy) or run as root" >&2
        exit 1
    fi
    echo "== npm install -g configurable-http-proxy"
    npm install -g --no-fund --no-audit --loglevel=error configurable-http-proxy >/dev/null
fi
