#!/usr/bin/env bash
# A one-node Ceph cluster with its RADOS Gateway (S3) on 127.0.0.1, for the test suites.
#
#   bash scripts/rgw.sh start   a fresh cluster: one ceph-mon, one ceph-osd (bluestore on a sparse
#                               file), radosgw, and an S3 user; prints what `env` prints
#   bash scripts/rgw.sh env     the settings to reach it: RGW_ENDPOINT_URL, RGW_ACCESS_KEY_ID, ...
#   bash scripts/rgw.sh stop    stop exactly the daemons `start` started (by their PID files)
#   bash scripts/rgw.sh status  whether they run
#   bash scripts/rgw.sh key ID SECRET   give the S3 user another access key
#
# Needs Debian's radosgw, ceph-mon, ceph-osd and ceph-common (scripts/install-system.sh).
# Settings (environment):
#   RGW_DIR       state, logs and PID files (default: .rgw/ in the repository; wiped by start)
#   RGW_PORT      the S3 endpoint's port (default 17480)
#   RGW_MON_PORT  ceph-mon's port (default 16789)
#   RGW_OSD_PORT  first of the 10 ports ceph-osd may bind (default 17300)
# All ports are below 32768, outside Linux's ephemeral range, on 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."

DIR="${RGW_DIR:-$PWD/.rgw}"
PORT="${RGW_PORT:-17480}"
MON_PORT="${RGW_MON_PORT:-16789}"
OSD_PORT="${RGW_OSD_PORT:-17300}"
CONF="$DIR/ceph.conf"
ACCESS_KEY="s3liteRGWtestKEY00001"
SECRET_KEY="s3lite/rgw+test/secret/0123456789abcdefghij"
DAEMONS=(client.rgw.s3 osd.0 mon.a)  # stop order

say() { echo "rgw.sh: $*" >&2; }
die() { say "$*"; exit 1; }

pid_of() { # the PID a daemon wrote, if it still runs
    local f="$DIR/run/$1.pid" pid
    [ -s "$f" ] || return 1
    pid="$(cat "$f")"
    kill -0 "$pid" 2>/dev/null || return 1
    echo "$pid"
}

print_env() {
    cat <<EOF
RGW_ENDPOINT_URL=http://127.0.0.1:$PORT
RGW_ACCESS_KEY_ID=$ACCESS_KEY
RGW_SECRET_ACCESS_KEY=$SECRET_KEY
RGW_REGION=us-east-1
EOF
}

stop() {
    local name pid waited
    for name in "${DAEMONS[@]}"; do
        pid="$(pid_of "$name")" || continue
        kill -TERM "$pid" 2>/dev/null || true
        for waited in $(seq 1 100); do  # up to 10 s, then for good
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            say "$name ($pid) did not stop in 10 s: killing it"
            kill -KILL "$pid" 2>/dev/null || true
        fi
        rm -f "$DIR/run/$name.pid"
    done
}

wait_for() { # wait_for SECONDS WHAT COMMAND...
    local seconds="$1" what="$2" i
    shift 2
    for i in $(seq 1 $((seconds * 5))); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.2
    done
    die "$what not ready after $seconds s (logs in $DIR/log)"
}

start() {
    for bin in ceph-mon ceph-osd radosgw radosgw-admin ceph monmaptool; do
        command -v "$bin" >/dev/null ||
            die "$bin not found: install radosgw ceph-mon ceph-osd ceph-common (bash scripts/install-system.sh)"
    done
    for name in "${DAEMONS[@]}"; do
        if pid_of "$name" >/dev/null; then die "already running ($name); 'bash scripts/rgw.sh stop' first"; fi
    done
    for port in "$PORT" "$MON_PORT"; do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            die "port $port on 127.0.0.1 is taken (set RGW_PORT / RGW_MON_PORT)"
        fi
    done
    rm -rf "$DIR"
    mkdir -p "$DIR"/{run,log,mon.a,osd.0,rgw}
    local fsid
    fsid="$(cat /proc/sys/kernel/random/uuid)"
    cat >"$CONF" <<EOF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$MON_PORT
mon initial members = a
public addr = 127.0.0.1
ms bind msgr1 = false
ms bind msgr2 = true
ms bind port min = $OSD_PORT
ms bind port max = $((OSD_PORT + 9))
auth cluster required = none
auth service required = none
auth client required = none
auth allow insecure global id reclaim = true
run dir = $DIR/run
pid file = $DIR/run/\$name.pid
admin socket = $DIR/run/\$name.asok
log file = $DIR/log/\$name.log
keyring = $DIR/keyring
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
mon data avail warn = 1
mon data avail crit = 0

[mon.a]
mon data = $DIR/mon.a
public bind addr = v2:127.0.0.1:$MON_PORT

[osd.0]
osd data = $DIR/osd.0
osd objectstore = bluestore
bluestore block create = true
bluestore block size = 10737418240
bluestore cache autotune = false
bluestore cache size = 134217728
osd memory target = 939524096

[client]
ms mon client mode = crc
auth client required = none
client mount timeout = 30

[client.rgw.s3]
rgw frontends = beast endpoint=127.0.0.1:$PORT
rgw data = $DIR/rgw
rgw dns name = 127.0.0.1
rgw thread pool size = 64
# SSE over plain HTTP (loopback tests); RGW 16 then accepts AES256 and reports none back
rgw crypt require ssl = false
EOF
    local t0=$SECONDS
    monmaptool --create --clobber --fsid "$fsid" --addv a "[v2:127.0.0.1:$MON_PORT]" \
        "$DIR/monmap" >/dev/null
    ceph-mon -c "$CONF" -i a --mkfs --monmap "$DIR/monmap" >"$DIR/log/mkfs-mon.log" 2>&1 ||
        die "ceph-mon --mkfs failed: $(tail -3 "$DIR/log/mkfs-mon.log")"
    ceph-mon -c "$CONF" -i a 2>>"$DIR/log/daemons.err"
    wait_for 30 ceph-mon ceph -c "$CONF" --connect-timeout 5 mon stat

    local osd_uuid
    osd_uuid="$(cat /proc/sys/kernel/random/uuid)"
    ceph -c "$CONF" osd new "$osd_uuid" 0 >/dev/null
    ceph-osd -c "$CONF" -i 0 --mkfs --osd-uuid "$osd_uuid" >"$DIR/log/mkfs-osd.log" 2>&1 ||
        die "ceph-osd --mkfs failed: $(tail -3 "$DIR/log/mkfs-osd.log")"
    ceph-osd -c "$CONF" -i 0 2>>"$DIR/log/daemons.err"
    wait_for 60 ceph-osd bash -c "ceph -c '$CONF' osd dump --format json | grep -q '\"up\":1'"

    radosgw -c "$CONF" -n client.rgw.s3 2>>"$DIR/log/daemons.err"
    wait_for 90 radosgw bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT"
    radosgw-admin -c "$CONF" user create --uid=s3lite-test --display-name="s3lite tests" \
        --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >"$DIR/log/user.json" 2>&1 ||
        die "radosgw-admin user create failed: $(tail -3 "$DIR/log/user.json")"
    say "Ceph RGW $(ceph-mon --version | awk '{print $3}') ready on 127.0.0.1:$PORT in $((SECONDS - t0)) s"
    print_env
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    env) print_env ;;
    key)
        [ $# -eq 3 ] || die "usage: bash scripts/rgw.sh key ACCESS_KEY_ID SECRET_ACCESS_KEY"
        radosgw-admin -c "$CONF" key create --uid=s3lite-test --key-type=s3 \
            --access-key="$2" --secret-key="$3" >/dev/null
        ;;
    status)
        for name in "${DAEMONS[@]}"; do
            if pid="$(pid_of "$name")"; then echo "$name running ($pid)"; else echo "$name stopped"; fi
        done
        ;;
    *) die "usage: bash scripts/rgw.sh start|stop|env|status|key" ;;
esac
