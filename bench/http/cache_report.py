"""Prints bench/http/cache.sh's results as a markdown table, then the ratios issue 12's
bars need. Input: a TSV file, one line per algorithm and target (see cache.sh)."""

import sys

FIELDS = ["alg", "name", "what", "rps", "p50_us", "p99_us", "requests", "non2xx", "socket_errors"]
# Issue 12: with the cache, revokd serves at least this many times the plain axum
# handler's (aws_lc_rs) requests per second.
BARS = {"RS256": 1.7, "EdDSA": 2.2}


def ms(us):
    return f"{int(us) / 1000:.2f}"


def ratio(a, b):
    return float(a) / float(b) if float(b) else float("nan")


def main():
    path, duration, threads, conns, ntokens = sys.argv[1:6]
    rows = []
    with open(path) as f:
        for line in f:
            rows.append(dict(zip(FIELDS, line.rstrip("\n").split("\t"))))
    by = {(r["alg"], r["name"]): r for r in rows}
    algs = list(dict.fromkeys(r["alg"] for r in rows))

    print(f"wrk -t{threads} -c{conns} -d{duration}s per target (after a warm-up run), {ntokens} distinct valid "
          "access tokens minted by revokd, a different one on each request (rotate.lua).")
    print()
    print("| algorithm | target | what is checked per request | requests/s | p50 ms | p99 ms | non-2xx | socket errors |")
    print("|---|---|---|--:|--:|--:|--:|--:|")
    for r in rows:
        print(f"| {r['alg']} | {r['name']} | {r['what']} | {float(r['rps']):.0f} | {ms(r['p50_us'])} "
              f"| {ms(r['p99_us'])} | {r['non2xx']} | {r['socket_errors']} |")
    print()
    print("| algorithm | revokd-cache ÷ plain-aws-lc-rs (req/s) | bar | revokd-cache ÷ plain-rust-crypto | "
          "revokd-cache ÷ revokd-nocache | p99: revokd-cache ÷ plain-aws-lc-rs |")
    print("|---|--:|---|--:|--:|--:|")
    for alg in algs:
        c, n = by[(alg, "revokd-cache")], by[(alg, "revokd-nocache")]
        a, rc = by[(alg, "plain-aws-lc-rs")], by[(alg, "plain-rust-crypto")]
        vs_aws = ratio(c["rps"], a["rps"])
        bar = BARS.get(alg)
        bar_txt = f"≥ {bar} {'met' if vs_aws >= bar else '**not met**'}" if bar else "-"
        print(f"| {alg} | {vs_aws:.2f} | {bar_txt} | {ratio(c['rps'], rc['rps']):.2f} "
              f"| {ratio(c['rps'], n['rps']):.2f} | {ratio(c['p99_us'], a['p99_us']):.2f} |")
    bad = [f"{r['alg']}/{r['name']}" for r in rows if r["non2xx"] != "0" or r["socket_errors"] != "0"]
    if bad:
        print()
        print(f"Warning: non-2xx answers or socket errors under load from {', '.join(bad)}: "
              "their requests/s are not all successful verifications.")


if __name__ == "__main__":
    main()
