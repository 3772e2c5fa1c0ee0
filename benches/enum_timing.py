#!/usr/bin/env python3
"""Known vs unknown reset requests, through the API and the forgot-password form, timed.

    python3 benches/enum_timing.py BASE_URL [N=400]

Sends N known and N unknown requests per channel, interleaved and alternating which kind goes
first, each on a fresh TCP connection (as curl in the reference's enum_timing.sh). Known
addresses are user{i}@example.com: i = 0..N-1 for the API and OFFSET..OFFSET+N-1 for the form
(OFFSET=500 by default), so every known request names a different account. The form is
driven like a browser: one session cookie and its CSRF token, taken from GET /forgot-password.

Prints median, p10, p90 and mean per kind and channel and checks the bounds Latchkey promises:
medians within max(5 %, 0.5 ms) and 90th percentiles within max(10 %, 1 ms). Exit code 1 when
a bound is missed. Loopback targets only; it stops by itself.
"""
import http.client
import json
import os
import re
import secrets
import statistics
import sys
import time
import urllib.parse

def fail(message):
    print(message, file=sys.stderr)
    sys.exit(2)

if len(sys.argv) not in (2, 3):
    fail(__doc__)
BASE = urllib.parse.urlsplit(sys.argv[1])
N = int(sys.argv[2]) if len(sys.argv) == 3 else 400
OFFSET = int(os.environ.get("OFFSET", "500"))
if BASE.hostname not in ("127.0.0.1", "localhost", "::1"):
    fail(f"refusing non-loopback target {BASE.hostname}")
PREFIX = BASE.path.rstrip("/")

def request(method, path, body=None, headers=None):
    """One request on a fresh connection; returns (seconds, status, headers, body)."""
    started = time.perf_counter()
    conn = http.client.HTTPConnection(BASE.hostname, BASE.port or 80, timeout=10)
    conn.request(method, PREFIX + path, body=body, headers=headers or {})
    response = conn.getresponse()
    data = response.read()
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed, response.status, response, data

def api(email):
    body = json.dumps({"email": email})
    return request("POST", "/api/password_reset/", body, {"Content-Type": "application/json"})

class Form:
    """A browser session on the forgot-password page."""
    def __init__(self):
        _, status, response, data = request("GET", "/forgot-password")
        if status != 200:
            fail(f"GET /forgot-password answered {status}")
        cookie = response.getheader("Set-Cookie") or ""
        self.cookie = cookie.split(";", 1)[0]
        match = re.search(rb'name="csrf_token" value="([^"]+)"', data)
        if not match:
            fail("no CSRF token on the forgot-password page")
        self.csrf = match.group(1).decode()

    def post(self, email):
        body = urllib.parse.urlencode({"csrf_token": self.csrf, "email": email})
        return request("POST", "/forgot-password", body, {
            "Content-Type": "application/x-www-form-urlencoded", "Cookie": self.cookie})

def unknown():
    return f"nobody-{secrets.token_hex(8)}@example.net"

def measure(send, first_known):
    samples = {"known": [], "unknown": []}
    statuses = {"known": set(), "unknown": set()}
    for i in range(N):
        pair = [("known", f"user{first_known + i}@example.com"), ("unknown", unknown())]
        if i % 2:
            pair.reverse()
        for kind, email in pair:
            elapsed, status, _, _ = send(email)
            samples[kind].append(elapsed * 1000)
            statuses[kind].add(status)
    return samples, statuses

def percentile(values, share):
    ordered = sorted(values)
    return ordered[int(share * (len(ordered) - 1))]

def report(channel, samples, statuses):
    rows = {}
    for kind in ("known", "unknown"):
        values = samples[kind]
        rows[kind] = (statistics.median(values), percentile(values, 0.10),
                      percentile(values, 0.90), statistics.fmean(values))
        median, p10, p90, mean = rows[kind]
        print(f"{channel:5} {kind:8} median {median:7.3f} ms  p10 {p10:7.3f}  p90 {p90:7.3f}  "
              f"mean {mean:7.3f}  statuses {sorted(statuses[kind])}")
    (km, _, kp90, _), (um, _, up90, _) = rows["known"], rows["unknown"]
    median_ok = abs(km - um) <= max(0.05 * um, 0.5)
    p90_ok = abs(kp90 - up90) <= max(0.10 * up90, 1.0)
    print(f"{channel:5} known/unknown median {km / um:.3f} (diff {km - um:+.3f} ms, "
          f"{'ok' if median_ok else 'OUT OF BOUNDS'}); p90 {kp90 / up90:.3f} "
          f"(diff {kp90 - up90:+.3f} ms, {'ok' if p90_ok else 'OUT OF BOUNDS'})")
    return median_ok and p90_ok

print(f"# enum_timing.py {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} "
      f"target={sys.argv[1]} n={N} per kind and channel")
api_ok = report("api", *measure(api, 0))
form = Form()
form_ok = report("form", *measure(form.post, OFFSET))
sys.exit(0 if api_ok and form_ok else 1)
