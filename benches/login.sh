#!/usr/bin/env bash
# Login throughput against the argon2id limit, and /healthz latency meanwhile (SPEC §9).
#
#   bash benches/login.sh            (DURATION=15s LOGIN_CONNECTIONS=16)
#
# Measures one hash with `cargo bench --bench argon2_hash`, seeds 1000 users with real
# passwords, starts Latchkey on SQLite (rate limits off: all load comes from one address), then
# runs wrk on /api/auth/login and, at the same time, a light probe of /healthz. Prints logins/s,
# the limit (cores ÷ hash time), their ratio, and the /healthz p99. Loopback only.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${OUT:-/tmp/latchkey-login.$(date -u +%Y%m%dT%H%M%SZ)}"
DURATION="${DURATION:-15s}"
CONNECTIONS="${LOGIN_CONNECTIONS:-16}"
PORT="${LATCHKEY_PORT:-18081}"
mkdir -p "$OUT"
command -v wrk >/dev/null || { echo "login: wrk is not installed (apt-get install -y wrk)" >&2; exit 1; }
cd "$ROOT"
hash_line="$(cargo bench --quiet --bench argon2_hash 2>/dev/null | grep '^argon2id')"
echo "$hash_line" | tee "$OUT/argon2.txt"
limit="$(printf '%s\n' "$hash_line" | tr ' ' '\n' | sed -n 's/^limit_logins_per_s=//p')"
cargo build --release --quiet
BIN="$ROOT/target/release/latchkey"
dir="$OUT/data"; mkdir -p "$dir"
export DATABASE_URL="sqlite://$dir/latchkey.db" LATCHKEY_BIND="127.0.0.1:$PORT" LATCHKEY_LOG=warn \
    LATCHKEY_RATE_LIMITS=off LATCHKEY_MAIL_DIR="$dir/mail"
for i in $(seq 0 999); do
    printf '{"username":"user%d","email":"user%d@example.com","password":"bench-passphrase-%d-xq7"}\n' "$i" "$i" "$i"
done | (cd "$dir" && "$BIN" users import >/dev/null)
(cd "$dir" && exec "$BIN" serve >"$dir/serve.log" 2>&1) &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
# A light probe (100 requests/s on one keep-alive connection): the question is how a cheap
# endpoint fares while logins saturate the hasher, not how much load /healthz takes.
python3 - "$PORT" "${DURATION%s}" >"$OUT/healthz.txt" <<'PY' &
import http.client, sys, time
port, seconds = int(sys.argv[1]), float(sys.argv[2])
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
samples, bad, end = [], 0, time.monotonic() + seconds
while time.monotonic() < end:
    started = time.monotonic()
    conn.request("GET", "/healthz")
    response = conn.getresponse(); response.read()
    samples.append((time.monotonic() - started) * 1000)
    bad += response.status != 200
    time.sleep(max(0.0, 0.01 - (time.monotonic() - started)))
samples.sort()
pick = lambda q: samples[min(len(samples) - 1, int(q * len(samples)))]
print(f"RESULT requests={len(samples)} rps={len(samples) / seconds:.1f} p50_ms={pick(0.5):.2f} "
      f"p99_ms={pick(0.99):.2f} max_ms={samples[-1]:.2f} non2xx={bad}")
PY
health=$!
wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s "$ROOT/benches/login.lua" "http://127.0.0.1:$PORT" >"$OUT/login.txt" 2>&1
wait "$health"
login="$(grep '^RESULT' "$OUT/login.txt")"; healthz="$(grep '^RESULT' "$OUT/healthz.txt")"
get() { printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
rps="$(get "$login" rps)"
echo "# login.sh $(date -u +%FT%TZ) cores=$(nproc) duration=$DURATION login_connections=$CONNECTIONS"
printf 'logins/s %s (non-2xx %s, p99 %s ms) | limit %s/s | ratio %s | healthz p99 %s ms (max %s ms, %s req/s)\n' \
    "$rps" "$(get "$login" non2xx)" "$(get "$login" p99_ms)" "$limit" \
    "$(awk -v a="$rps" -v b="$limit" 'BEGIN { printf "%.0f%%", 100 * a / b }')" \
    "$(get "$healthz" p99_ms)" "$(get "$healthz" max_ms)" "$(get "$healthz" rps)"
