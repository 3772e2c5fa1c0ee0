#!/usr/bin/env bash
# `latchkey users import` at scale (release build):
#
#   bash benches/import.sh
#
# 1. 100,000 users with pre-hashed passwords as a Django dumpdata document (pbkdf2_sha256 at
#    Django's 10^6 iterations, well-formed but random: an import parses every hash and never
#    verifies one), on SQLite and on PostgreSQL. Target: under 30 s.
# 2. PLAIN (default 200) users with plain passwords: the hashing rate, to compare with
#    cores ÷ the time of one argon2id hash (`cargo bench --bench argon2_hash`, run here too).
#
# Environment: USERS (100000), PLAIN (200), PG_ADMIN_URL
# (postgres://postgres@127.0.0.1:5432/postgres; empty skips PostgreSQL), OUT (a temp dir).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
USERS="${USERS:-100000}"
PLAIN="${PLAIN:-200}"
PG_ADMIN_URL="${PG_ADMIN_URL-postgres://postgres@127.0.0.1:5432/postgres}"
OUT="${OUT:-$(mktemp -d)}"
BIN="$ROOT/target/release/latchkey"
SECRET="$(head -c 64 /dev/urandom | base64 -w0)"
log() { echo "== $(date -u +%T) $*" >&2; }

log "building the release binary"
(cd "$ROOT" && cargo build --release --quiet)

log "writing $USERS Django records and $PLAIN plain-password lines to $OUT"
python3 - "$USERS" "$PLAIN" "$OUT" <<'PY'
import base64, json, os, sys
users, plain, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
with open(f"{out}/django.json", "w") as f:
    f.write("[\n")
    for i in range(users):
        salt = base64.b64encode(os.urandom(16)).decode().rstrip("=").replace("+", "a").replace("/", "b")
        digest = base64.b64encode(os.urandom(32)).decode()
        record = {"model": "auth.user", "pk": i + 1, "fields": {
            "password": f"pbkdf2_sha256$1000000${salt}${digest}", "last_login": "2024-05-01T12:00:00.123Z",
            "is_superuser": False, "username": f"user{i}", "first_name": "", "last_name": "",
            "email": f"user{i}@example.com", "is_staff": False, "is_active": True,
            "date_joined": "2023-01-01T00:00:00Z", "groups": [], "user_permissions": []}}
        f.write(("," if i else "") + json.dumps(record) + "\n")
    f.write("]\n")
with open(f"{out}/plain.jsonl", "w") as f:
    for i in range(plain):
        f.write(json.dumps({"username": f"plain{i}", "email": f"plain{i}@example.com",
                            "password": f"plain horse battery staple {i}"}) + "\n")
PY

run() { # label database-url file format
    local started elapsed
    DATABASE_URL="$2" LATCHKEY_SECRET_KEY="$SECRET" "$BIN" migrate >/dev/null
    started=$(date +%s.%N)
    DATABASE_URL="$2" LATCHKEY_SECRET_KEY="$SECRET" "$BIN" users import --format "$4" < "$3" >&2
    elapsed=$(echo "$(date +%s.%N) - $started" | bc)
    echo "$1: $elapsed s"
}

echo "cores: $(nproc)"
run "sqlite, $USERS pre-hashed (django format)" "sqlite://$OUT/bench.db" "$OUT/django.json" django
run "sqlite, $PLAIN plain passwords (jsonl)" "sqlite://$OUT/plain.db" "$OUT/plain.jsonl" jsonl
if [ -n "$PG_ADMIN_URL" ]; then
    db="latchkey_import_bench_$$"
    psql "$PG_ADMIN_URL" -qc "CREATE DATABASE $db"
    trap 'psql "$PG_ADMIN_URL" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true' EXIT
    pg_url="$(echo "$PG_ADMIN_URL" | sed "s#/[^/]*\$#/$db#")"
    run "postgres, $USERS pre-hashed (django format)" "$pg_url" "$OUT/django.json" django
fi
log "one argon2id hash (cargo bench --bench argon2_hash)"
(cd "$ROOT" && cargo bench --quiet --bench argon2_hash 2>/dev/null | grep argon2id)
