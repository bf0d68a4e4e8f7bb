"""RFC 7009 revocation and RFC 7662 introspection against revokd, by Authlib's client.

usage: oauth_authlib.py BASE_URL CLIENT_ID CLIENT_SECRET ACCESS REFRESH OTHER_REFRESH

Finds the endpoints in revokd's RFC 8414 metadata, then, as the confidential client:
introspects ACCESS (active) and REFRESH (active, type refresh), shows that a wrong
secret gets 401 invalid_client, revokes ACCESS, introspects it again (inactive). As a
public client (no secret: the holder logging out) it revokes OTHER_REFRESH, whose family
ends. Exits non-zero with a message on the first thing that is not as RFCs and API.md say.
"""

import os
import sys
import time

os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")  # revokd listens on plain http on loopback

import requests  # noqa: E402
from authlib.integrations.requests_client import OAuth2Session  # noqa: E402


def check(cond, what, detail=""):
    if not cond:
        sys.exit(f"FAIL: {what}" + (f": {detail}" if detail != "" else ""))
    print(f"ok: {what}")


def show(res):
    return f"{res.status_code} {dict(res.headers)} {res.text!r}"


def main():
    base, client_id, secret, access, refresh, other_refresh = sys.argv[1:7]
    meta = requests.get(f"{base}/.well-known/oauth-authorization-server", timeout=10).json()
    revoke_url, introspect_url = meta["revocation_endpoint"], meta["introspection_endpoint"]
    check(revoke_url == f"{base}/oauth/revoke", "metadata names the revocation endpoint", meta)
    check(introspect_url == f"{base}/oauth/introspect", "metadata names the introspection endpoint", meta)
    check("client_secret_basic" in meta["revocation_endpoint_auth_methods_supported"], "revoke takes Basic", meta)
    check("none" in meta["revocation_endpoint_auth_methods_supported"], "revoke takes public clients", meta)
    check("client_secret_basic" in meta["introspection_endpoint_auth_methods_supported"], "introspect: Basic", meta)

    client = OAuth2Session(client_id, secret)  # client_secret_basic, as the metadata says
    check(client.revocation_endpoint_auth_method == "client_secret_basic", "Authlib uses client_secret_basic")

    now = int(time.time())
    res = client.introspect_token(introspect_url, token=access, token_type_hint="access_token")
    check(res.status_code == 200, "introspect (access) answers 200", show(res))
    info = res.json()
    check(info.get("active") is True, "the access token is active", info)
    check(info.get("token_type") == "Bearer" and info.get("type") == "access", "it is a Bearer access token", info)
    check(info.get("iss") == meta["issuer"], "its iss is the metadata's issuer", info)
    check(info.get("iat", now + 1) <= now + 1 < info.get("exp", 0), "iat <= now < exp", info)
    for k in ("sub", "jti", "nbf"):
        check(k in info, f"introspection gives {k}", info)
    access_sub = info["sub"]

    res = client.introspect_token(introspect_url, token=refresh, token_type_hint="refresh_token")
    info = res.json()
    check(res.status_code == 200 and info.get("active") is True, "the refresh token is active", show(res))
    check(info.get("type") == "refresh" and info.get("sub") == access_sub, "it is a refresh token of the same sub", info)

    # a wrong secret: 401 invalid_client with the Basic challenge (RFC 6749 §5.2), and no effect.
    # One session for both: revokd answers such a 401 before reading the body and says
    # `Connection: close`, so the client opens a new connection rather than failing.
    bad_session = OAuth2Session(client_id, "wrong-secret-0123456789")

    def bad():
        return bad_session

    for name, res in (
        ("introspect", bad().introspect_token(introspect_url, token=access)),
        ("revoke", bad().revoke_token(revoke_url, token=access, token_type_hint="access_token")),
    ):
        check(res.status_code == 401, f"{name} with a wrong secret answers 401", show(res))
        check(res.json().get("error") == "invalid_client", f"{name}: error invalid_client", show(res))
        check(res.headers.get("WWW-Authenticate", "").startswith("Basic"), f"{name}: Basic challenge", show(res))
    check(client.introspect_token(introspect_url, token=access).json().get("active") is True, "still active")

    # the confidential client revokes the access token (RFC 7009 §2.2: 200, nothing to read)
    res = client.revoke_token(revoke_url, token=access, token_type_hint="access_token")
    check(res.status_code == 200 and res.content == b"", "revoke answers 200 with an empty body", show(res))
    res = client.introspect_token(introspect_url, token=access)
    check(res.status_code == 200 and res.json() == {"active": False}, "the revoked token is inactive", show(res))
    # revoking again, or a token that is not one: the same answer (RFC 7009 §2.2)
    for t in (access, "not-a-token"):
        res = client.revoke_token(revoke_url, token=t, token_type_hint="access_token")
        check(res.status_code == 200 and res.content == b"", "revoke answers alike for any token", show(res))
    # revoking the access token took its jti only: the refresh token of that login lives
    res = client.introspect_token(introspect_url, token=refresh)
    check(res.json().get("active") is True, "the refresh token of the same login stays active", show(res))

    # a public client (no secret, auth method "none"): the holder logs out with its refresh token
    public = OAuth2Session(client_id)
    check(public.revocation_endpoint_auth_method == "none", "Authlib uses method none without a secret")
    res = public.revoke_token(revoke_url, token=other_refresh, token_type_hint="refresh_token")
    check(res.status_code == 200 and res.content == b"", "the holder's revoke answers 200", show(res))
    res = client.introspect_token(introspect_url, token=other_refresh, token_type_hint="refresh_token")
    check(res.json() == {"active": False}, "the holder's refresh token is inactive", show(res))
    print("PASS")


if __name__ == "__main__":
    main()
