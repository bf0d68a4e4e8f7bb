"""Prints bench/http/run.sh's results as a markdown table. Input: a TSV file with one
line per target (see run.sh); the first line is revokd, the reference of the ratios."""

import sys

FIELDS = ["name", "what", "rps", "p50_us", "p99_us", "requests", "non2xx", "socket_errors",
          "accepted", "sent", "before", "revoke"]


def ms(us):
    return f"{int(us) / 1000:.2f}"


def main():
    path, duration, threads, conns = sys.argv[1:5]
    rows = []
    with open(path) as f:
        for line in f:
            rows.append(dict(zip(FIELDS, line.rstrip("\n").split("\t"))))
    ref = rows[0]

    print(f"wrk -t{threads} -c{conns} -d{duration}s (after a warm-up run), one valid HS256 access token minted by revokd; "
          "revoked-token check: revoke through the target's own route, then 50 GETs on new connections, 8 at a time.")
    print()
    print("| target | what is checked per request | requests/s | p50 ms | p99 ms | non-2xx | socket errors "
          "| req/s: revokd ÷ target | p99: revokd ÷ target | revoked token accepted |")
    print("|---|---|--:|--:|--:|--:|--:|--:|--:|---|")
    for r in rows:
        rps_ratio = float(ref["rps"]) / float(r["rps"]) if float(r["rps"]) else float("nan")
        p99_ratio = float(ref["p99_us"]) / float(r["p99_us"]) if float(r["p99_us"]) else float("nan")
        if r["revoke"] == "none":
            revoked = f"{r['accepted']}/{r['sent']} (no revocation)"
        elif r["before"] != "200" or r["revoke"] not in ("200", "204"):
            revoked = f"{r['accepted']}/{r['sent']} (check failed: before {r['before']}, revoke {r['revoke']})"
        else:
            revoked = f"{r['accepted']}/{r['sent']}"
        print(f"| {r['name']} | {r['what']} | {float(r['rps']):.0f} | {ms(r['p50_us'])} | {ms(r['p99_us'])} "
              f"| {r['non2xx']} | {r['socket_errors']} | {rps_ratio:.2f} | {p99_ratio:.2f} | {revoked} |")
    print()
    print("Ratios: req/s above 1 and p99 below 1 mean revokd does better than the target. "
          "\"Revoked token accepted\": how many of the GETs sent after the revocation still got 200.")
    print()
    for r in rows[1:]:
        rps_ratio = float(ref["rps"]) / float(r["rps"]) if float(r["rps"]) else float("nan")
        p99_ratio = float(ref["p99_us"]) / float(r["p99_us"]) if float(r["p99_us"]) else float("nan")
        print(f"- revokd/{r['name']}: {rps_ratio:.2f}× the requests/s, {p99_ratio:.2f}× the p99 latency")
    bad = [r["name"] for r in rows if r["non2xx"] != "0" or r["socket_errors"] != "0"]
    if bad:
        print()
        print(f"Warning: non-2xx answers or socket errors under load from {', '.join(bad)}: "
              "their requests/s are not all successful verifications.")


if __name__ == "__main__":
    main()
