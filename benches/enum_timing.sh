#!/usr/bin/env bash
# Known vs unknown reset requests with the mail workers running: API and form, medians and p90.
#
#   bash benches/enum_timing.sh            # SQLite, then PostgreSQL
#   N=400 PG_ADMIN_URL= bash benches/enum_timing.sh   # SQLite only
#
# Builds the release binary, seeds 1000 users user0..user999@example.com, starts a local SMTP
# sink (Python's smtpd, every message accepted and discarded) and `latchkey serve` with
# LATCHKEY_EMAIL_BACKEND=smtp and 4 workers, then runs benches/enum_timing.py against it: every
# known request makes the workers create a token and send a real SMTP message while the
# measurement goes on. Loopback only; every step stops by itself. Output also goes to $OUT.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${OUT:-/tmp/latchkey-timing.$(date -u +%Y%m%dT%H%M%SZ)}"
N="${N:-400}"
PG_ADMIN_URL="${PG_ADMIN_URL-postgres://postgres@127.0.0.1:5432/postgres}"
PORT="${LATCHKEY_PORT:-18090}"
SMTP_PORT="${SMTP_PORT:-2526}"
BIN="$ROOT/target/release/latchkey"
mkdir -p "$OUT"
log() { echo "== $(date -u +%T) $*" >&2; }

log "building the release binary"
(cd "$ROOT" && cargo build --release --quiet)

pids=()
pg_db=""
cleanup() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
    if [ -n "$pg_db" ]; then psql "$PG_ADMIN_URL" -qc "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

python3 -W ignore - "$SMTP_PORT" >"$OUT/smtp.log" 2>&1 <<'PY' &
import asyncore, smtpd, sys
class Sink(smtpd.SMTPServer):
    def process_message(self, *args, **kwargs):
        return None
Sink(("127.0.0.1", int(sys.argv[1])), None)
asyncore.loop()
PY
pids+=($!)

users_json() {
    for i in $(seq 0 999); do
        printf '{"username":"user%d","email":"user%d@example.com","password":"bench-passphrase-%d-xq7"}\n' "$i" "$i" "$i"
    done
}

# run LABEL DATABASE_URL
run() {
    local label="$1" url="$2" dir="$OUT/$1" pid
    rm -rf "$dir" && mkdir -p "$dir"
    export DATABASE_URL="$url" LATCHKEY_BIND="127.0.0.1:$PORT" LATCHKEY_LOG=warn \
        LATCHKEY_RATE_LIMITS=off LATCHKEY_EMAIL_BACKEND=smtp LATCHKEY_EMAIL_WORKERS=4 \
        LATCHKEY_SMTP_URL="smtp://127.0.0.1:$SMTP_PORT" LATCHKEY_PUBLIC_URL="http://127.0.0.1:$PORT" \
        LATCHKEY_SECRET_KEY="$(head -c 64 /dev/urandom | base64 -w0)"
    (cd "$dir" && users_json | "$BIN" users import >/dev/null)
    (cd "$dir" && exec "$BIN" serve >"$dir/serve.log" 2>&1) &
    pid=$!
    pids+=("$pid")
    for _ in $(seq 1 100); do
        curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break
        sleep 0.1
    done
    log "$label: n=$N per kind and channel"
    local status=0
    python3 "$ROOT/benches/enum_timing.py" "http://127.0.0.1:$PORT" "$N" | tee "$OUT/timing-$label.txt" || status=$?
    kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
    return "$status"
}

result=0
run sqlite "sqlite://$OUT/sqlite/latchkey.db" || result=1
if [ -n "$PG_ADMIN_URL" ]; then
    pg_db="latchkey_timing_$$"
    psql "$PG_ADMIN_URL" -qc "CREATE DATABASE $pg_db"
    run postgres "${PG_ADMIN_URL%/*}/$pg_db" || result=1
fi
exit "$result"
