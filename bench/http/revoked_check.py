"""Does a target still refuse a token once it is revoked, when the requests are spread
over its workers? Used by bench/http/run.sh.

  revoked_check.py VERIFY_URL TOKEN REVOKE_KIND REVOKE_URL [N] [CONCURRENCY]

REVOKE_KIND: `oauth` (POST REVOKE_URL with the form token=…, RFC 7009 holder mode),
`logout` (DELETE REVOKE_URL with the token as Bearer), or `none` (the target has no
revocation). Checks the token is accepted first, revokes it through the target's own
route, then sends N GETs (default 50), CONCURRENCY at a time (default 8), each on a new
connection so that every one of them can land on any worker, and prints one line
`RESULT accepted=A sent=N before=STATUS revoke=STATUS`.
"""

import http.client
import sys
import urllib.parse
from concurrent.futures import ThreadPoolExecutor


def request(method, url, headers=None, body=None):
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    try:
        conn.request(method, u.path + (("?" + u.query) if u.query else ""), body=body, headers=headers or {})
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


def main():
    verify_url, token, kind, revoke_url = sys.argv[1:5]
    n = int(sys.argv[5]) if len(sys.argv) > 5 else 50
    concurrency = int(sys.argv[6]) if len(sys.argv) > 6 else 8
    auth = {"Authorization": "Bearer " + token, "Connection": "close"}

    before = request("GET", verify_url, auth)
    if kind == "oauth":
        revoked = request(
            "POST",
            revoke_url,
            {"Content-Type": "application/x-www-form-urlencoded", "Connection": "close"},
            urllib.parse.urlencode({"token": token}),
        )
    elif kind == "logout":
        revoked = request("DELETE", revoke_url, auth)
    elif kind == "none":
        revoked = "none"
    else:
        raise SystemExit(f"unknown REVOKE_KIND {kind!r}")

    with ThreadPoolExecutor(concurrency) as pool:
        statuses = list(pool.map(lambda _: request("GET", verify_url, auth), range(n)))
    accepted = sum(1 for s in statuses if s == 200)
    print(f"RESULT accepted={accepted} sent={n} before={before} revoke={revoked}")


if __name__ == "__main__":
    main()
