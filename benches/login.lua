-- POST /api/auth/login for user0..user999 with the passwords benches/login.sh seeds.
math.randomseed(os.time())
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
function request()
  local i = math.random(0, 999)
  return wrk.format(nil, "/api/auth/login", nil,
    '{"username":"user' .. i .. '","password":"bench-passphrase-' .. i .. '-xq7"}')
end
function done(summary, latency, requests)
  io.write(string.format("RESULT requests=%d duration_s=%.3f rps=%.2f p50_ms=%.2f p99_ms=%.2f non2xx=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.errors.status))
end
