"""A foreign identity provider made with PyJWT and cryptography.

usage: foreign_idp.py OUT_DIR ISSUER AUDIENCE

Generates an RSA-2048, a P-256 and an Ed25519 key, writes their public JWKS to
OUT_DIR/idp-jwks.json and prints one JSON object of tokens signed with them:
  alice (RS256), bob (ES256), carol (EdDSA): valid for 10 minutes, jti idp-<name>;
  too_long: exp - iat = 86401 s; no_iat: no iat; wrong_aud: aud "other";
  unknown_kid: signed with a key not in the JWKS; wrong_iss: another iss.
"""

import json
import os
import sys
import time

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm


def main():
    out, issuer, audience = sys.argv[1], sys.argv[2], sys.argv[3]
    keys = {
        "idp-rsa": ("RS256", rsa.generate_private_key(public_exponent=65537, key_size=2048), RSAAlgorithm),
        "idp-ec": ("ES256", ec.generate_private_key(ec.SECP256R1()), ECAlgorithm),
        "idp-ed": ("EdDSA", ed25519.Ed25519PrivateKey.generate(), OKPAlgorithm),
    }
    jwks = {"keys": []}
    for kid, (alg, priv, algo) in keys.items():
        jwk = algo.to_jwk(priv.public_key(), as_dict=True)
        jwk.update({"kid": kid, "alg": alg, "use": "sig"})
        jwks["keys"].append(jwk)
    with open(os.path.join(out, "idp-jwks.json"), "w") as f:
        json.dump(jwks, f, indent=1)

    now = int(time.time())

    def mint(kid, sub, **over):
        alg, priv, _ = keys[kid] if kid in keys else stranger
        claims = {"iss": issuer, "aud": audience, "sub": sub, "jti": f"idp-{sub}", "iat": now - 1, "exp": now + 600}
        claims.update(over)
        claims = {k: v for k, v in claims.items() if v is not None}
        return jwt.encode(claims, priv, algorithm=alg, headers={"kid": kid})

    stranger = ("RS256", rsa.generate_private_key(public_exponent=65537, key_size=2048), RSAAlgorithm)
    tokens = {
        "alice": mint("idp-rsa", "alice"),
        "bob": mint("idp-ec", "bob"),
        "carol": mint("idp-ed", "carol"),
        "too_long": mint("idp-rsa", "dave", exp=now - 1 + 86401),
        "no_iat": mint("idp-rsa", "erin", iat=None),
        "wrong_aud": mint("idp-ec", "frank", aud="other"),
        "unknown_kid": mint("idp-unknown", "grace"),
        "wrong_iss": mint("idp-rsa", "heidi", iss="https://not-the-idp.example"),
    }
    # each must at least verify with PyJWT itself where it should
    pub = jwt.PyJWKSet.from_dict(jwks)
    for name in ("alice", "bob", "carol"):
        t = tokens[name]
        key = pub[jwt.get_unverified_header(t)["kid"]]
        jwt.decode(t, key, algorithms=[key.algorithm_name], audience=audience, issuer=issuer)
    json.dump(tokens, sys.stdout)


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # noqa: BLE001
        sys.exit(f"FAIL: {type(e).__name__}: {e}")
