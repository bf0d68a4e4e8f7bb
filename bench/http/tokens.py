"""Token helper for bench/http/cache.sh (standard library only, one keep-alive connection).

  tokens.py mint URL ADMIN COUNT ACCESS_TTL OUT   POST URL/v1/tokens COUNT times with
                                                  {"sub": "user<N>"}; one access token a line
  tokens.py check URL TOKENS_FILE                 GET URL with every token, then with a forged
                                                  signature and with none; prints
                                                  "accepted=A sent=S forged=CODE none=CODE" and
                                                  fails unless every token got 200 and the
                                                  forged and missing ones did not
"""

import base64
import http.client
import json
import os
import sys
import urllib.parse


class Client:
    def __init__(self, url):
        u = urllib.parse.urlsplit(url)
        self.host, self.port = u.hostname, u.port
        self.path = u.path or "/"
        self.conn = None

    def request(self, method, path, headers, body=None):
        for attempt in (0, 1):  # one retry on a fresh connection if the server closed it
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
            try:
                self.conn.request(method, path, body=body, headers=headers)
                resp = self.conn.getresponse()
                data = resp.read()
                if resp.getheader("connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                return resp.status, data
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise


def mint(url, admin, count, ttl, out):
    c = Client(url)
    tokens = []
    for n in range(int(count)):
        body = json.dumps({"sub": f"user{n}", "access_ttl": int(ttl)})
        status, data = c.request("POST", "/v1/tokens", {
            "Authorization": f"Bearer {admin}", "Content-Type": "application/json"}, body)
        if status != 201:
            sys.exit(f"POST /v1/tokens answered {status}: {data[:300]!r}")
        tokens.append(json.loads(data)["access_token"])
    if len(set(tokens)) != len(tokens):
        sys.exit("minted tokens are not all distinct")
    with open(out, "w") as f:
        f.write("\n".join(tokens) + "\n")


def check(url, path):
    c = Client(url)
    with open(path) as f:
        tokens = [t for t in f.read().split() if t]
    accepted = 0
    for t in tokens:
        status, _ = c.request("GET", c.path, {"Authorization": f"Bearer {t}"})
        accepted += status == 200
    sig = base64.urlsafe_b64encode(os.urandom(len(tokens[0].rsplit(".", 1)[1]) * 3 // 4)).rstrip(b"=").decode()
    forged, _ = c.request("GET", c.path, {"Authorization": f"Bearer {tokens[0].rsplit('.', 1)[0]}.{sig}"})
    none, _ = c.request("GET", c.path, {})
    print(f"accepted={accepted} sent={len(tokens)} forged={forged} none={none}")
    if accepted != len(tokens) or forged == 200 or none == 200:
        sys.exit(1)


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"mint": mint, "check": check}[cmd](*args)
