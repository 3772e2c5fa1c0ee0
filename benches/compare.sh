#!/usr/bin/env bash
# Latchkey against django-rest-passwordreset, side by side, in one run (SPEC §9).
#
#   bash benches/compare.sh                 # SQLite + the reference, then PostgreSQL
#   DURATION=10s TIMING_N=500 bash benches/compare.sh
#
# Builds the release binary, seeds 1000 users user0..user999@example.com, starts Latchkey on
# SQLite (per-IP limits off: all load comes from one address), runs the reference's load.sh
# (keep-alive and CONNECTION_CLOSE=1) and enum_timing.sh against it, then the same against the
# reference (../shared/reference/peer), then Latchkey on PostgreSQL. Prints one table with
# both and the ratios; raw output goes to $OUT. Loopback only; every step stops by itself.
#
# Environment: REFERENCE (default ../shared/reference), OUT (default /tmp/latchkey-compare.<time>),
# DURATION (10s), TIMING_N (500), PG_ADMIN_URL (postgres://postgres@127.0.0.1:5432/postgres;
# empty skips PostgreSQL), SKIP_REFERENCE=1, LATCHKEY_PORT (18080), PEER_PORT (8001).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REFERENCE="$(cd "${REFERENCE:-$ROOT/../shared/reference}" && pwd)"
OUT="${OUT:-/tmp/latchkey-compare.$(date -u +%Y%m%dT%H%M%SZ)}"
DURATION="${DURATION:-10s}"
TIMING_N="${TIMING_N:-500}"
PG_ADMIN_URL="${PG_ADMIN_URL-postgres://postgres@127.0.0.1:5432/postgres}"
PORT="${LATCHKEY_PORT:-18080}"
PEER_PORT="${PEER_PORT:-8001}"
BIN="$ROOT/target/release/latchkey"
mkdir -p "$OUT"
log() { echo "== $(date -u +%T) $*" >&2; }
command -v wrk >/dev/null || { echo "compare: wrk is not installed (apt-get install -y wrk)" >&2; exit 1; }

log "building the release binary"
(cd "$ROOT" && cargo build --release --quiet)

server_pid=""
stop_server() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid"; wait "$server_pid" 2>/dev/null || true
    fi
    server_pid=""
}
peer_started=0
cleanup() {
    stop_server
    if [ "$peer_started" = 1 ]; then bash "$REFERENCE/peer/stop.sh" >/dev/null || true; fi
    if [ -n "${pg_db:-}" ]; then psql "$PG_ADMIN_URL" -qc "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

users_json() {
    for i in $(seq 0 999); do
        printf '{"username":"user%d","email":"user%d@example.com","password":"bench-passphrase-%d-%s"}\n' "$i" "$i" "$i" "xq7"
    done
}

# start_latchkey NAME DATABASE_URL: fresh data dir, 1000 users, server in the background
start_latchkey() {
    local name="$1" url="$2" dir="$OUT/$1"
    rm -rf "$dir" && mkdir -p "$dir"
    export DATABASE_URL="$url" LATCHKEY_BIND="127.0.0.1:$PORT" LATCHKEY_LOG=warn \
        LATCHKEY_RATE_LIMITS=off LATCHKEY_MAIL_DIR="$dir/mail" \
        LATCHKEY_PUBLIC_URL="http://127.0.0.1:$PORT" \
        LATCHKEY_SECRET_KEY="$(head -c 64 /dev/urandom | base64 -w0)"
    (cd "$dir" && users_json | "$BIN" users import >/dev/null)
    (cd "$dir" && exec "$BIN" serve >"$dir/serve.log" 2>&1) &
    server_pid=$!
    for _ in $(seq 1 100); do
        curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && return 0
        sleep 0.1
    done
    echo "compare: Latchkey ($name) did not start; see $dir/serve.log" >&2; exit 1
}

# cpu_ticks PID: user + system clock ticks of a process and its descendants so far
cpu_ticks() {
    local total=0 p
    for p in $(ps -e -o pid=,ppid= | awk -v root="$1" '
        { parent[$1]=$2 } END { for (p in parent) { q=p; while (q in parent && q != root) q=parent[q]; if (q == root) print p } }'); do
        [ -r "/proc/$p/stat" ] && total=$(( total + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0) ))
    done
    echo "$total"
}

# wait_idle LABEL PID: until the server uses under 5 % of a core over half a second (at most
# 60 s). Latchkey answers reset requests at once and does their work afterwards (SPEC §5:
# the same work for known and unknown accounts); without this wait, one scenario's queued
# work would run during the next scenario's measurement.
wait_idle() {
    local label="$1" pid="$2" hz waited=0 before after
    hz=$(getconf CLK_TCK)
    while [ "$waited" -lt 120 ]; do
        before=$(cpu_ticks "$pid"); sleep 0.5; after=$(cpu_ticks "$pid")
        [ $(( (after - before) * 100 )) -lt $(( hz * 5 / 2 )) ] && break
        waited=$(( waited + 1 ))
    done
    [ "$waited" -gt 0 ] && log "$label: waited $(( waited / 2 )).$(( waited % 2 * 5 )) s for background work to finish"
    return 0
}

# load LABEL MODE BASE_URL PID [CONNECTION_CLOSE]: load.sh one scenario at a time, idle between
load() {
    local label="$1" mode="$2" base="$3" pid="$4" close="${5:-}" scenario
    for scenario in validate_invalid request_unknown request_known confirm_invalid; do
        wait_idle "$label" "$pid"
        CONNECTION_CLOSE="$close" SCENARIOS="$scenario" RSS_PID="$pid" LABEL="$label-$mode" \
            RESULTS="$OUT/results.tsv" RAW_DIR="$OUT/raw-$label-$mode" \
            bash "$REFERENCE/bench/load.sh" "$base" "$DURATION" | tee -a "$OUT/load-$label-$mode.txt" >&2
    done
}

# measure LABEL BASE_URL PID: load.sh keep-alive and close, then the timing check
measure() {
    local label="$1" base="$2" pid="$3"
    log "$label: load, keep-alive"
    load "$label" keepalive "$base" "$pid"
    log "$label: load, CONNECTION_CLOSE=1"
    load "$label" close "$base" "$pid" 1
    wait_idle "$label" "$pid"
    log "$label: enumeration timing, n=$TIMING_N"
    KNOWN_OFFSET=0 RAW="$OUT/timing-$label.raw" bash "$REFERENCE/bench/enum_timing.sh" "$base" "$TIMING_N" \
        | tee "$OUT/timing-$label.txt" >&2
}

: >"$OUT/results.tsv"
start_latchkey sqlite "sqlite://$OUT/sqlite/latchkey.db"
measure latchkey "http://127.0.0.1:$PORT/api/password_reset/" "$server_pid"
stop_server

if [ "${SKIP_REFERENCE:-0}" != 1 ]; then
    log "reference: setup and start"
    bash "$REFERENCE/peer/setup.sh" >"$OUT/peer-setup.txt"
    PEER_PORT="$PEER_PORT" bash "$REFERENCE/peer/run.sh" >&2
    peer_started=1
    measure reference "http://127.0.0.1:$PEER_PORT/api/password_reset/" "$(cat "$REFERENCE/peer/peer.pid")"
    bash "$REFERENCE/peer/stop.sh" >&2
    peer_started=0
fi

if [ -n "$PG_ADMIN_URL" ]; then
    pg_db="latchkey_bench_$$"
    psql "$PG_ADMIN_URL" -qc "CREATE DATABASE $pg_db"
    start_latchkey postgres "${PG_ADMIN_URL%/*}/$pg_db"
    measure latchkey-pg "http://127.0.0.1:$PORT/api/password_reset/" "$server_pid"
    stop_server
fi

log "summary ($OUT/summary.txt)"
python3 - "$OUT" <<'PY' | tee "$OUT/summary.txt"
import collections, pathlib, re, sys
out = pathlib.Path(sys.argv[1])
rows = collections.defaultdict(dict)
for line in (out / "results.tsv").read_text().splitlines():
    f = line.split("\t")
    label, scenario, rps, p99, rss = f[1], f[2], float(f[3]), float(f[5]), f[10]
    system, mode = label.rsplit("-", 1)
    rows[(scenario, mode)][system] = (rps, p99, rss)
print(f"{'scenario':18} {'mode':10} {'latchkey req/s':>15} {'p99 ms':>7} {'reference req/s':>16} {'p99 ms':>7} {'ratio':>7} {'pg req/s':>9} {'p99 ms':>7}")
for (scenario, mode), systems in sorted(rows.items(), key=lambda kv: (kv[0][1], kv[0][0])):
    lk, ref, pg = systems.get("latchkey"), systems.get("reference"), systems.get("latchkey-pg")
    ratio = f"{lk[0] / ref[0]:.1f}x" if lk and ref else "-"
    fmt = lambda v: (f"{v[0]:>15.0f} {v[1]:>7.2f}" if v else f"{'-':>15} {'-':>7}")
    pgf = f"{pg[0]:>9.0f} {pg[1]:>7.2f}" if pg else f"{'-':>9} {'-':>7}"
    print(f"{scenario:18} {mode:10} {fmt(lk)} {fmt(ref).replace(' ' * 15, ' ' * 16, 1)} {ratio:>7} {pgf}")
rss = collections.defaultdict(str)
for line in (out / "results.tsv").read_text().splitlines():
    f = line.split("\t")
    system = f[1].rsplit("-", 1)[0]
    if f[10] != "-":
        rss[system] = max(rss[system], f[10], key=lambda s: float(s.rstrip("MiB") or 0))
print("peak RSS: " + ", ".join(f"{k} {v}" for k, v in rss.items()))
for name in ("latchkey", "reference", "latchkey-pg"):
    path = out / f"timing-{name}.txt"
    if path.exists():
        lines = path.read_text().splitlines()
        print(f"timing {name}: " + " | ".join(l for l in lines if l.startswith(("known ", "unknown ", "known/unknown"))))
PY
