"""Verifies a token minted by revokd with PyJWT, from revokd's published JWKS.

usage: pyjwt_verify.py BASE_URL TOKEN ALG SUB TTL

Finds jwks_uri and issuer in the RFC 8414 metadata, takes the key for the token's kid
with PyJWKClient, and checks signature, alg, iss, exp (also that an expiry in the past
would be refused), iat/nbf and the claims API.md lists. Exits non-zero on any mismatch.
"""

import base64
import json
import sys
import time
import uuid

import jwt
import requests


def check(cond, what, detail=""):
    if not cond:
        sys.exit(f"FAIL: {what}" + (f": {detail}" if detail != "" else ""))
    print(f"ok: {what}")


def refused(what, error, fn):
    try:
        fn()
    except error as e:
        print(f"ok: {what} ({type(e).__name__}: {e})")
        return
    except Exception as e:  # noqa: BLE001
        sys.exit(f"FAIL: {what}: expected {error.__name__}, got {type(e).__name__}: {e}")
    sys.exit(f"FAIL: {what}: PyJWT accepted it")


def main():
    base, token, alg, sub, ttl = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
    meta = requests.get(f"{base}/.well-known/oauth-authorization-server", timeout=10).json()
    jwks_uri, issuer = meta["jwks_uri"], meta["issuer"]
    check(jwks_uri == f"{base}/.well-known/jwks.json", "metadata's jwks_uri", meta)

    res = requests.get(jwks_uri, timeout=10)
    check(res.status_code == 200 and "max-age=300" in res.headers.get("Cache-Control", ""), "JWKS is cacheable")
    jwks = res.json()
    for k in jwks["keys"]:
        check(not ({"d", "p", "q", "k"} & set(k)), f"JWK {k.get('kid')} has no private part", k)
    # PyJWKSet parses the whole document (every key must be one PyJWT understands)
    keyset = jwt.PyJWKSet.from_dict(jwks)
    check(len(keyset.keys) == len(jwks["keys"]) >= 1, "PyJWKSet reads every key", jwks)

    header = jwt.get_unverified_header(token)
    check(header.get("alg") == alg, f"header alg is {alg}", header)
    check(bool(header.get("kid")), "header has a kid", header)
    signing = jwt.PyJWKClient(jwks_uri).get_signing_key_from_jwt(token)
    check(signing.key_id == header["kid"], "PyJWKClient found the token's key", signing.key_id)
    check(keyset[header["kid"]].key_id == header["kid"], "the key set has it too")

    opts = {"require": ["exp", "iat", "nbf", "iss", "sub", "jti"]}
    claims = jwt.decode(token, signing, algorithms=[alg], issuer=issuer, options=opts)
    print(f"ok: PyJWT verified the signature, exp, nbf, iat and iss: {json.dumps(claims)}")
    now = time.time()
    check(claims["sub"] == sub and claims["type"] == "access", "sub and type", claims)
    check(claims["exp"] - claims["iat"] == ttl, f"exp - iat is the access TTL {ttl}", claims)
    check(claims["iat"] <= now + 1 and claims["nbf"] <= now + 1 < claims["exp"], "iat, nbf <= now < exp", claims)
    jti = uuid.UUID(claims["jti"])
    check(jti.version == 7, "jti is a UUIDv7", claims["jti"])
    check(int.from_bytes(jti.bytes[:6], "big") // 1000 == claims["iat"], "iat is the floor of the jti's ms", claims)
    check(isinstance(claims.get("fresh"), bool) and bool(claims.get("fam")), "fresh and fam are there", claims)

    # PyJWT does check what revokd signs: a wrong issuer, a past expiry, a changed payload,
    # another algorithm are all refused
    refused("another issuer", jwt.InvalidIssuerError,
            lambda: jwt.decode(token, signing, algorithms=[alg], issuer="https://someone.else"))
    past = claims["exp"] - now + 5  # a negative leeway: as if it were 5 s after exp
    only_exp = {"verify_iat": False, "verify_nbf": False}  # the leeway would move them too
    refused("past its exp", jwt.ExpiredSignatureError,
            lambda: jwt.decode(token, signing, algorithms=[alg], issuer=issuer, leeway=-past, options=only_exp))
    h, p, s = token.split(".")
    body = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
    body["sub"] = "admin"
    forged = ".".join([h, base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode(), s])
    refused("a changed payload", jwt.InvalidSignatureError,
            lambda: jwt.decode(forged, signing, algorithms=[alg], issuer=issuer))
    other = "HS256" if alg != "HS256" else "RS256"
    refused("a decode that allows only another algorithm", jwt.InvalidAlgorithmError,
            lambda: jwt.decode(token, signing, algorithms=[other], issuer=issuer))
    print("PASS")


if __name__ == "__main__":
    main()
