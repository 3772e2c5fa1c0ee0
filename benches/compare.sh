#!/usr/bin/env bash
# Latchkey beside django-rest-passwordreset and two peer libraries, in one run (SPEC §9, §12).
#
#   bash benches/compare.sh                 # every system below, about 25 minutes
#   SYSTEMS="latchkey reference" bash benches/compare.sh
#   DURATION=10s TIMING_N=500 bash benches/compare.sh
#
# Builds the release binary and, one system at a time, seeds 1000 users user0..user999@example.com,
# starts it, runs each scenario with wrk (64 connections, 2 threads, keep-alive and
# CONNECTION_CLOSE=1), waits for its background work between scenarios, and stops it:
#
#   latchkey         Latchkey on SQLite (the embedded default)
#   latchkey-baseline  the same with the binary BASELINE_BIN (an earlier build), when it is set,
#                    so a change is measured against the code before it in the same run
#   reference        django-rest-passwordreset under gunicorn (../shared/reference/peer)
#   latchkey-pg      Latchkey on PostgreSQL
#   pg-nginx-1       Latchkey on PostgreSQL, one instance behind nginx
#   pg-nginx-2       Latchkey on PostgreSQL, two instances on one database behind nginx (round robin)
#   fastapi-users    fastapi-users (../shared/reference/peers/fastapi-users)
#   better-auth      better-auth on PostgreSQL (../shared/reference/peers/better-auth)
#
# The reset scenarios use the reference's load.sh and Lua scripts for Latchkey and the
# reference, the peers' own Lua scripts (same common.lua, same RESULT line) for the peers; login
# uses benches/compare_login.lua for Latchkey. Rate limits are off everywhere (all load comes from
# one address). Prints one table: each system's req/s and p99, and every ratio. Raw output goes
# to $OUT. Loopback only; every step stops by itself.
#
# Environment: SYSTEMS (all of the above), REFERENCE (default ../shared/reference), OUT (default
# /tmp/latchkey-compare.<time>), DURATION (10s), TIMING_N (500; 0 skips the timing check),
# BASELINE_BIN (unset), PG_ADMIN_URL (postgres://postgres@127.0.0.1:5432/postgres), LATCHKEY_BIN (a prebuilt binary
# instead of building this checkout), LATCHKEY_PORT (18080), NGINX_PORT (18090), PEER_PORT (8001).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REFERENCE="$(cd "${REFERENCE:-$ROOT/../shared/reference}" && pwd)"
PEERS="$REFERENCE/peers"
OUT="${OUT:-/tmp/latchkey-compare.$(date -u +%Y%m%dT%H%M%SZ)}"
DURATION="${DURATION:-10s}"
TIMING_N="${TIMING_N:-500}"
PG_ADMIN_URL="${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
PORT="${LATCHKEY_PORT:-18080}"
NGINX_PORT="${NGINX_PORT:-18090}"
PEER_PORT="${PEER_PORT:-8001}"
SYSTEMS="${SYSTEMS:-latchkey${BASELINE_BIN:+ latchkey-baseline} reference latchkey-pg pg-nginx-1 pg-nginx-2 fastapi-users better-auth}"
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
mkdir -p "$OUT"
log() { echo "== $(date -u +%T) $*" >&2; }
command -v wrk >/dev/null || { echo "compare: wrk is not installed (apt-get install -y wrk)" >&2; exit 1; }
case " $SYSTEMS " in *" pg-nginx-"*) [ -x "$NGINX" ] || { echo "compare: nginx is not installed (apt-get install -y nginx)" >&2; exit 1; } ;; esac

if [ -n "${LATCHKEY_BIN:-}" ]; then
    BIN="$(cd "$(dirname "$LATCHKEY_BIN")" && pwd)/$(basename "$LATCHKEY_BIN")"
else
    log "building the release binary"
    (cd "$ROOT" && cargo build --release --quiet)
    BIN="$ROOT/target/release/latchkey"
fi
echo "# compare.sh $(date -u +%FT%TZ) $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || true) binary=$BIN cores=$(nproc) duration=$DURATION" >"$OUT/run.txt"

# Everything started here, stopped on exit whatever happens.
server_pids=()
nginx_pid=""
peer_dir=""
pg_db=""
stop_servers() {
    local pid
    for pid in "${server_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${server_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    server_pids=()
    if [ -n "$nginx_pid" ]; then kill -TERM "$nginx_pid" 2>/dev/null || true; wait "$nginx_pid" 2>/dev/null || true; fi
    nginx_pid=""
}
stop_peer() {
    if [ -n "$peer_dir" ]; then bash "$peer_dir/stop.sh" >&2 || true; fi
    peer_dir=""
}
drop_pg() {
    if [ -n "$pg_db" ]; then psql "$PG_ADMIN_URL" -qc "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null 2>&1 || true; fi
    pg_db=""
}
trap 'stop_servers; stop_peer; drop_pg' EXIT

users_json() {
    for i in $(seq 0 999); do
        printf '{"username":"user%d","email":"user%d@example.com","password":"bench-passphrase-%d-%s"}\n' "$i" "$i" "$i" "xq7"
    done
}

wait_up() {
    local url="$1" what="$2"
    for _ in $(seq 1 150); do
        curl -sf "$url" >/dev/null && return 0
        sleep 0.2
    done
    echo "compare: $what did not start" >&2; exit 1
}

# start_latchkey NAME DATABASE_URL INSTANCES: fresh data dir, 1000 users, INSTANCES servers on
# PORT, PORT+1, … (metrics on 9464, 9465, …). LATCHKEY_ROOT_PID is the server, or with several
# instances the shell that started them all, so RSS and CPU are summed over the deployment.
start_latchkey() {
    local name="$1" url="$2" instances="$3" dir="$OUT/$1" i
    rm -rf "$dir" && mkdir -p "$dir"
    export DATABASE_URL="$url" LATCHKEY_LOG=warn LATCHKEY_RATE_LIMITS=off LATCHKEY_MAIL_DIR="$dir/mail" \
        LATCHKEY_PUBLIC_URL="http://127.0.0.1:$PORT" LATCHKEY_DRAIN_DELAY=0s \
        LATCHKEY_SECRET_KEY="$(head -c 64 /dev/urandom | base64 -w0)"
    (cd "$dir" && "$BIN" migrate >/dev/null && users_json | "$BIN" users import >/dev/null)
    if [ "$instances" = 1 ]; then
        (cd "$dir" && LATCHKEY_BIND="127.0.0.1:$PORT" exec "$BIN" serve --no-migrate >"$dir/serve-0.log" 2>&1) &
    else
        (
            pids=()
            for i in $(seq 0 $(( instances - 1 ))); do
                (cd "$dir" && LATCHKEY_BIND="127.0.0.1:$(( PORT + i ))" LATCHKEY_METRICS_BIND="127.0.0.1:$(( 9464 + i ))" \
                    exec "$BIN" serve --no-migrate >"$dir/serve-$i.log" 2>&1) &
                pids+=($!)
            done
            trap 'kill -TERM "${pids[@]}" 2>/dev/null; wait' TERM
            wait
        ) &
    fi
    server_pids=($!)
    LATCHKEY_ROOT_PID=$!
    for i in $(seq 0 $(( instances - 1 ))); do wait_up "http://127.0.0.1:$(( PORT + i ))/healthz" "Latchkey ($name, instance $i)"; done
}

# start_nginx INSTANCES: round robin over the Latchkey instances, keep-alive to them
start_nginx() {
    local instances="$1" dir="$OUT/nginx-$1" servers="" i
    mkdir -p "$dir"
    for i in $(seq 0 $(( instances - 1 ))); do servers+="        server 127.0.0.1:$(( PORT + i ));"$'\n'; done
    cat >"$dir/nginx.conf" <<CONF
daemon off;
worker_processes auto;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $dir/body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    upstream latchkey {
$servers        keepalive 64;
    }
    server {
        listen 127.0.0.1:$NGINX_PORT;
        location / {
            proxy_pass http://latchkey;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$host;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
        }
    }
}
CONF
    "$NGINX" -p "$dir" -c "$dir/nginx.conf" 2>>"$dir/error.log" &
    nginx_pid=$!
    wait_up "http://127.0.0.1:$NGINX_PORT/healthz" "nginx"
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
# 60 s). Latchkey answers reset requests at once and does their work afterwards (the same work
# for known and unknown accounts); without this wait, one scenario's queued work would run
# during the next scenario's measurement.
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

# load LABEL MODE BASE_URL PID [CONNECTION_CLOSE]: the reference's load.sh, one scenario at a time
load() {
    local label="$1" mode="$2" base="$3" pid="$4" close="${5:-}" scenario
    for scenario in validate_invalid request_unknown request_known confirm_invalid; do
        wait_idle "$label" "$pid"
        CONNECTION_CLOSE="$close" SCENARIOS="$scenario" RSS_PID="$pid" LABEL="$label-$mode" \
            RESULTS="$OUT/results.tsv" RAW_DIR="$OUT/raw-$label-$mode" \
            bash "$REFERENCE/bench/load.sh" "$base" "$DURATION" | tee -a "$OUT/load-$label-$mode.txt" >&2
    done
}

# run_wrk LABEL MODE SCENARIO SCRIPT BASE_URL PID: one wrk run with load.sh's settings, its
# result appended to results.tsv in load.sh's columns (RSS peak sampled the same way)
run_wrk() {
    local label="$1" mode="$2" scenario="$3" script="$4" base="$5" pid="$6" raw="$OUT/raw-$1-$2" line sampler rss
    mkdir -p "$raw"
    wait_idle "$label" "$pid"
    ( peak=0
      while kill -0 "$pid" 2>/dev/null; do
          r=$(ps -e -o pid=,ppid=,rss= | awk -v root="$pid" '
              { pid[NR]=$1; ppid[NR]=$2; rss[NR]=$3 }
              END { inset[root]=1; changed=1
                    while (changed) { changed=0
                        for (i=1;i<=NR;i++) if (!(pid[i] in inset) && (ppid[i] in inset)) { inset[pid[i]]=1; changed=1 } }
                    for (i=1;i<=NR;i++) if (pid[i] in inset) total+=rss[i]
                    print total+0 }')
          [ "$r" -gt "$peak" ] && peak="$r"
          echo "$peak" >"$raw/$scenario.rss_peak_kib"
          sleep 1
      done ) &
    sampler=$!
    CONNECTION_CLOSE="$([ "$mode" = close ] && echo 1 || echo 0)" BENCH_COMMON_LUA="$REFERENCE/bench/common.lua" \
        wrk -t2 -c64 -d"$DURATION" --timeout 5s --latency -s "$script" "$base" >"$raw/$scenario.wrk.txt" 2>&1 || true
    kill "$sampler" 2>/dev/null || true; wait "$sampler" 2>/dev/null || true
    rss="$(awk '{printf "%.1fMiB", $1/1024}' "$raw/$scenario.rss_peak_kib" 2>/dev/null || echo -)"
    line="$(grep '^RESULT ' "$raw/$scenario.wrk.txt" | tail -n 1 || true)"
    [ -n "$line" ] || { echo "compare: wrk failed for $label $scenario, see $raw/$scenario.wrk.txt" >&2; return 0; }
    get() { printf '%s\n' "$line" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
    printf '%-14s %-9s %-16s %10s req/s  p99 %8s ms  non2xx %s/%s  rss %s\n' "$label" "$mode" "$scenario" \
        "$(get rps)" "$(get p99_ms)" "$(get non2xx)" "$(get requests)" "$rss" >&2
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$label-$mode" "$scenario" \
        "$(get rps)" "$(get p50_ms)" "$(get p99_ms)" "$(get non2xx)" "$(get requests)" \
        $(( $(get connect_err) + $(get read_err) + $(get write_err) + $(get timeouts) )) "-" "$rss" "$DURATION" >>"$OUT/results.tsv"
}

# measure_latchkey LABEL HOST_PORT PID [notiming]: reset scenarios, login, then the timing check
measure_latchkey() {
    local label="$1" base="http://$2" pid="$3" notiming="${4:-}" mode
    for mode in keepalive close; do
        log "$label: reset scenarios, $mode"
        load "$label" "$mode" "$base/api/password_reset/" "$pid" "$([ "$mode" = close ] && echo 1 || true)"
    done
    # Login last: argon2id's working memory (one block per core) stays resident afterwards, and
    # the peak RSS of the reset scenarios should show what they need.
    for mode in keepalive close; do
        log "$label: login, $mode"
        run_wrk "$label" "$mode" login "$ROOT/benches/compare_login.lua" "$base/api/auth/" "$pid"
    done
    [ -n "$notiming" ] || timing "$label" "$base/api/password_reset/" "$pid"
}

timing() {
    local label="$1" base="$2" pid="$3"
    [ "$TIMING_N" -gt 0 ] || return 0
    wait_idle "$label" "$pid"
    log "$label: enumeration timing, n=$TIMING_N"
    KNOWN_OFFSET=0 RAW="$OUT/timing-$label.raw" bash "$REFERENCE/bench/enum_timing.sh" "$base" "$TIMING_N" \
        | tee "$OUT/timing-$label.txt" >&2
}

# measure_peer LABEL DIR PREFIX BASE_URL: the peer's own scripts for its four scenarios
measure_peer() {
    local label="$1" dir="$2" prefix="$3" base="$4" mode scenario
    log "$label: setup and start"
    bash "$dir/setup.sh" >"$OUT/$label-setup.txt"
    PEER_RATE_LIMITS=off bash "$dir/run.sh" >&2
    peer_dir="$dir"
    for mode in keepalive close; do
        log "$label: $mode"
        for scenario in request_unknown request_known confirm_invalid; do
            run_wrk "$label" "$mode" "$scenario" "$PEERS/lua/${prefix}_$scenario.lua" "$base" "$(cat "$dir/peer.pid")"
        done
    done
    for mode in keepalive close; do
        log "$label: login, $mode"
        run_wrk "$label" "$mode" login "$PEERS/lua/${prefix}_login.lua" "$base" "$(cat "$dir/peer.pid")"
    done
    stop_peer
}

# new_pg_db NAME: a fresh database, its URL in PG_URL (dropped by drop_pg or on exit)
new_pg_db() {
    pg_db="latchkey_bench_$$_$1"
    psql "$PG_ADMIN_URL" -qc "CREATE DATABASE $pg_db"
    PG_URL="${PG_ADMIN_URL%/*}/$pg_db"
}

: >"$OUT/results.tsv"
for system in $SYSTEMS; do
    case "$system" in
        latchkey)
            start_latchkey "$system" "sqlite://$OUT/$system/latchkey.db" 1
            measure_latchkey "$system" "127.0.0.1:$PORT" "$LATCHKEY_ROOT_PID"
            stop_servers ;;
        latchkey-baseline)
            [ -x "${BASELINE_BIN:-}" ] || { echo "compare: latchkey-baseline needs BASELINE_BIN, an executable" >&2; exit 2; }
            after="$BIN"; BIN="$BASELINE_BIN"
            start_latchkey "$system" "sqlite://$OUT/$system/latchkey.db" 1
            measure_latchkey "$system" "127.0.0.1:$PORT" "$LATCHKEY_ROOT_PID"
            stop_servers; BIN="$after" ;;
        reference)
            log "reference: setup and start"
            bash "$REFERENCE/peer/setup.sh" >"$OUT/reference-setup.txt"
            PEER_PORT="$PEER_PORT" bash "$REFERENCE/peer/run.sh" >&2
            peer_dir="$REFERENCE/peer"
            pid="$(cat "$REFERENCE/peer/peer.pid")"
            for mode in keepalive close; do
                log "reference: $mode"
                load reference "$mode" "http://127.0.0.1:$PEER_PORT/api/password_reset/" "$pid" "$([ "$mode" = close ] && echo 1 || true)"
            done
            timing reference "http://127.0.0.1:$PEER_PORT/api/password_reset/" "$pid"
            stop_peer ;;
        latchkey-pg)
            new_pg_db pg
            start_latchkey "$system" "$PG_URL" 1
            measure_latchkey "$system" "127.0.0.1:$PORT" "$LATCHKEY_ROOT_PID"
            stop_servers; drop_pg ;;
        pg-nginx-1|pg-nginx-2)
            instances="${system##*-}"
            new_pg_db "nginx$instances"
            start_latchkey "$system" "$PG_URL" "$instances"
            start_nginx "$instances"
            measure_latchkey "$system" "127.0.0.1:$NGINX_PORT" "$LATCHKEY_ROOT_PID" notiming
            stop_servers; drop_pg ;;
        fastapi-users) measure_peer "$system" "$PEERS/fastapi-users" fastapi_users "http://127.0.0.1:8002/auth/" ;;
        better-auth) measure_peer "$system" "$PEERS/better-auth" better_auth "http://127.0.0.1:8003/api/auth/" ;;
        *) echo "compare: unknown system '$system'" >&2; exit 2 ;;
    esac
done

log "summary ($OUT/summary.txt)"
python3 "$ROOT/benches/compare_table.py" "$OUT" | tee "$OUT/summary.txt"
