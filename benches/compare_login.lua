-- Latchkey POST /api/auth/login, correct password of a random seeded user (benches/compare.sh
-- seeds user0..user999 with bench-passphrase-<i>-xq7): look-up + argon2id verify + bearer token.
-- Built on the reference's bench/common.lua (BENCH_COMMON_LUA), so randomness, headers,
-- CONNECTION_CLOSE=1 and the RESULT line match the other scenarios.
--   BENCH_COMMON_LUA=../shared/reference/bench/common.lua \
--     wrk -t2 -c64 -d10s -s benches/compare_login.lua http://127.0.0.1:18080/api/auth/
dofile(assert(os.getenv("BENCH_COMMON_LUA"), "set BENCH_COMMON_LUA to the reference's bench/common.lua"))
SUFFIX = "login"
function make_body()
  local i = math.random(0, 999)
  return '{"username":"user' .. i .. '","password":"bench-passphrase-' .. i .. '-xq7"}'
end
