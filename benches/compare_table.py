"""The one table of benches/compare.sh: every system's req/s and p99, and every ratio.

    python3 benches/compare_table.py OUT_DIR      (reads OUT_DIR/results.tsv and timing-*.txt)

A cell is "req/s (p99 ms)". Where the scenario expects a 2xx answer (requests and login), req/s
counts only the 2xx answers, so a server that sheds load with fast errors gains nothing; a cell
marked * had such errors. The ratios divide Latchkey's req/s by a peer's on the same storage:
SQLite Latchkey against the reference and fastapi-users (both SQLite), PostgreSQL Latchkey
against better-auth (PostgreSQL); "baseline/reference" is the same for an earlier build
(BASELINE_BIN), so a change can be judged by its ratio in one run; "nginx 2/1" is two instances behind nginx against one.
"""

import collections
import pathlib
import sys

SYSTEMS = ["latchkey", "latchkey-baseline", "reference", "latchkey-pg", "pg-nginx-1", "pg-nginx-2", "fastapi-users", "better-auth"]
SCENARIOS = ["validate_invalid", "request_unknown", "request_known", "confirm_invalid", "login"]
EXPECT_2XX = {"request_unknown", "request_known", "login"}
RATIOS = [
    ("latchkey/reference", "latchkey", "reference"),
    ("baseline/reference", "latchkey-baseline", "reference"),
    ("latchkey/fastapi-users", "latchkey", "fastapi-users"),
    ("pg/better-auth", "latchkey-pg", "better-auth"),
    ("nginx 2/1", "pg-nginx-2", "pg-nginx-1"),
]


def main(out: pathlib.Path) -> None:
    results = {}
    rss = collections.defaultdict(float)
    for line in (out / "results.tsv").read_text().splitlines():
        f = line.split("\t")
        system, mode = f[1].rsplit("-", 1)
        scenario, rps, p99, non2xx, requests = f[2], float(f[3]), float(f[5]), int(f[6]), int(f[7])
        good = rps * (1 - non2xx / requests) if scenario in EXPECT_2XX and requests else rps
        shed = scenario in EXPECT_2XX and non2xx > 0
        results[(scenario, mode, system)] = (good, p99, shed)
        if f[10] not in ("-", "") and scenario != "login":
            rss[system] = max(rss[system], float(f[10].removesuffix("MiB")))
    present = [s for s in SYSTEMS if any(k[2] == s for k in results)]
    ratios = [r for r in RATIOS if r[1] in present and r[2] in present]

    header = ["scenario", "mode", *present, *(name for name, _, _ in ratios)]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for mode in ("keepalive", "close"):
        for scenario in SCENARIOS:
            cells = []
            for system in present:
                value = results.get((scenario, mode, system))
                cells.append(f"{value[0]:,.0f} ({value[1]:.1f}){'*' if value[2] else ''}" if value else "-")
            for _, top, bottom in ratios:
                a, b = results.get((scenario, mode, top)), results.get((scenario, mode, bottom))
                cells.append(f"{a[0] / b[0]:.1f}x" if a and b and b[0] > 0 else "-")
            if any(c != "-" for c in cells[: len(present)]):
                print(f"| {scenario} | {mode} | " + " | ".join(cells) + " |")
    print()
    print("peak RSS under the reset loads: " + ", ".join(f"{s} {rss[s]:.1f} MiB" for s in present if s in rss))
    for system in present:
        path = out / f"timing-{system}.txt"
        if path.exists():
            lines = path.read_text().splitlines()
            keep = [l for l in lines if l.startswith(("known ", "unknown ", "known/unknown"))]
            print(f"timing {system}: " + " | ".join(keep))


if __name__ == "__main__":
    main(pathlib.Path(sys.argv[1]))
