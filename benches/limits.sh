#!/usr/bin/env bash
# The cost of the shared (PostgreSQL) rate limits on the hottest endpoints (SPEC §12): keep-alive
# validate_token (unknown token) and request (unknown email), with the reference's load.sh.
#
#   bash benches/limits.sh                 # DURATION=10s by default; about 2 minutes
#
# Three runs of the release binary, each on a fresh database, one at a time:
#   sqlite-memory   SQLite, in-memory limits on (governor), set high so nothing is refused
#   pg-off          PostgreSQL, LATCHKEY_RATE_LIMITS=off (no limit at all: the upper bound of
#                   what in-memory limits could reach on PostgreSQL)
#   pg-shared       PostgreSQL, the shared limits on, set high so nothing is refused: every
#                   request is counted for the deployment in the rate_limits table
# and prints req/s, p99 and the loss of pg-shared against pg-off. All load comes from 127.0.0.1,
# so every request hits one limit row: the worst case for the database.
#
# Environment: REFERENCE (default ../shared/reference), OUT (default /tmp/latchkey-limits.<time>),
# DURATION (10s), PG_ADMIN_URL (postgres://postgres@127.0.0.1:5432/postgres), LATCHKEY_PORT (18090).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REFERENCE="$(cd "${REFERENCE:-$ROOT/../shared/reference}" && pwd)"
OUT="${OUT:-/tmp/latchkey-limits.$(date -u +%Y%m%dT%H%M%SZ)}"
DURATION="${DURATION:-10s}"
PG_ADMIN_URL="${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
PORT="${LATCHKEY_PORT:-18090}"
BIN="$ROOT/target/release/latchkey"
HIGH="1000000000/1m"
mkdir -p "$OUT"
log() { echo "== $(date -u +%T) $*" >&2; }
command -v wrk >/dev/null || { echo "limits: wrk is not installed (apt-get install -y wrk)" >&2; exit 1; }

log "building the release binary"
(cd "$ROOT" && cargo build --release --quiet)

server_pid="" pg_db=""
stop() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -INT "$server_pid"; wait "$server_pid" 2>/dev/null || true
    fi
    server_pid=""
    if [ -n "$pg_db" ]; then psql "$PG_ADMIN_URL" -qc "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null 2>&1 || true; fi
    pg_db=""
}
trap stop EXIT

# run LABEL DATABASE_URL VAR=VALUE...: one server, both scenarios, then stop
run() {
    local label="$1" url="$2" dir="$OUT/$1"; shift 2
    rm -rf "$dir" && mkdir -p "$dir"
    (cd "$dir" && exec env DATABASE_URL="$url" LATCHKEY_BIND="127.0.0.1:$PORT" LATCHKEY_LOG=warn \
        LATCHKEY_METRICS_BIND=off LATCHKEY_MAIL_DIR="$dir/mail" \
        LATCHKEY_PUBLIC_URL="http://127.0.0.1:$PORT" \
        LATCHKEY_SECRET_KEY="$(head -c 64 /dev/urandom | base64 -w0)" "$@" \
        "$BIN" serve >"$dir/serve.log" 2>&1) &
    server_pid=$!
    for _ in $(seq 1 100); do
        curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break
        sleep 0.1
    done
    curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null || { echo "limits: $label did not start; see $dir/serve.log" >&2; exit 1; }
    log "$label"
    SCENARIOS="validate_invalid request_unknown" RSS_PID="$server_pid" LABEL="$label" \
        RESULTS="$OUT/results.tsv" RAW_DIR="$OUT/raw-$label" \
        bash "$REFERENCE/bench/load.sh" "http://127.0.0.1:$PORT/api/password_reset/" "$DURATION" >&2
    stop
}

: >"$OUT/results.tsv"
run sqlite-memory "sqlite://$OUT/sqlite-memory/latchkey.db" \
    LATCHKEY_RATE_RESET_REQUESTS_PER_IP="$HIGH" LATCHKEY_RATE_TOKEN_CHECKS_PER_IP="$HIGH"
pg_db="latchkey_limits_off_$$"; psql "$PG_ADMIN_URL" -qc "CREATE DATABASE $pg_db"
run pg-off "${PG_ADMIN_URL%/*}/$pg_db" LATCHKEY_RATE_LIMITS=off
pg_db="latchkey_limits_shared_$$"; psql "$PG_ADMIN_URL" -qc "CREATE DATABASE $pg_db"
run pg-shared "${PG_ADMIN_URL%/*}/$pg_db" \
    LATCHKEY_RATE_RESET_REQUESTS_PER_IP="$HIGH" LATCHKEY_RATE_TOKEN_CHECKS_PER_IP="$HIGH"

python3 - "$OUT/results.tsv" <<'PY' | tee "$OUT/summary.txt"
import collections, sys
rows = collections.defaultdict(dict)
for line in open(sys.argv[1]).read().splitlines():
    f = line.split("\t")
    rows[f[2]][f[1]] = (float(f[3]), float(f[5]), f[9])
print(f"{'scenario':18} {'sqlite-memory':>20} {'pg-off':>20} {'pg-shared':>20} {'pg-shared loss':>15}")
for scenario, by in rows.items():
    cell = lambda k: f"{by[k][0]:>8.0f} {by[k][1]:>5.2f}ms {by[k][2]}" if k in by else f"{'-':>20}"
    loss = f"{(1 - by['pg-shared'][0] / by['pg-off'][0]) * 100:>14.1f}%" if 'pg-shared' in by and 'pg-off' in by else "-"
    print(f"{scenario:18} {cell('sqlite-memory'):>20} {cell('pg-off'):>20} {cell('pg-shared'):>20} {loss}")
print("cells: req/s, p99, status of the probe request (404 validate, 200 request; 429 would mean a limit refused)")
PY
