"""The flask-jwt-extended blocklist example, as a benchmark peer for revokd.

It follows the extension's "Blacklist and Token Revoking" example (shared/seeds 002:
an in-memory ``set``; 004 and the extension's Redis example: a Redis key per revoked
``jti`` with an expiry), written against flask-jwt-extended 4.x, whose names changed
since those pages: ``token_in_blacklist_loader`` is now ``token_in_blocklist_loader``
(called with the header and the payload), ``get_raw_jwt()`` is ``get_jwt()``,
``@jwt_required`` is ``@jwt_required()``, and ``JWT_BLACKLIST_ENABLED`` is gone (the
loader is always called for every checked token).

Environment:
  SECRET        HS256 secret, the same as revokd's ``[[keys]]`` secret (required)
  ISSUER        expected ``iss``; empty: the issuer is not checked
  BLOCKLIST     ``memory`` (a set per worker process, as in the seed) or ``redis``
  REDIS_URL     for BLOCKLIST=redis, default redis://127.0.0.1:6379/0
  REDIS_PREFIX  prefix of the blocklist keys, default ``flask-blocklist:``

Tokens minted by revokd verify here as they are: they carry ``sub`` (the identity
claim), ``jti``, ``type: "access"`` and ``fresh`` (a bool), which is what
flask-jwt-extended writes and reads itself; the extra claims (``fam``, ``nbf``,
``iss``) and the ``kid`` header are ignored, ``iss`` is checked when ISSUER is set.

Routes: ``GET /protected`` (200 ``{"hello": "world"}`` for a valid, unrevoked access
token), ``DELETE /logout`` (revokes the presented token), ``GET /healthz``.
"""

import os
import time

from flask import Flask, jsonify
from flask_jwt_extended import JWTManager, get_jwt, jwt_required

app = Flask(__name__)

app.config["JWT_SECRET_KEY"] = os.environ["SECRET"]
app.config["JWT_ALGORITHM"] = "HS256"
app.config["JWT_DECODE_ALGORITHMS"] = ["HS256"]
app.config["JWT_TOKEN_LOCATION"] = ["headers"]
app.config["JWT_DECODE_ISSUER"] = os.environ.get("ISSUER") or None
jwt = JWTManager(app)

BLOCKLIST = os.environ.get("BLOCKLIST", "memory")

if BLOCKLIST == "memory":
    # Seed 002: "we will be using an in memory store, just to show you how this might
    # work". Each gunicorn worker is its own process with its own set.
    blocklist = set()

    def is_revoked(jti):
        return jti in blocklist

    def revoke(jti, exp):
        blocklist.add(jti)

elif BLOCKLIST == "redis":
    # The extension's Redis example: one key per revoked jti, expiring with the token.
    import redis

    jwt_redis_blocklist = redis.Redis.from_url(
        os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"), decode_responses=True
    )
    PREFIX = os.environ.get("REDIS_PREFIX", "flask-blocklist:")

    def is_revoked(jti):
        return jwt_redis_blocklist.get(PREFIX + jti) is not None

    def revoke(jti, exp):
        jwt_redis_blocklist.set(PREFIX + jti, "", ex=max(1, int(exp - time.time())))

else:
    raise SystemExit(f"BLOCKLIST must be memory or redis, not {BLOCKLIST!r}")


@jwt.token_in_blocklist_loader
def check_if_token_revoked(jwt_header, jwt_payload):
    return is_revoked(jwt_payload["jti"])


@app.route("/logout", methods=["DELETE"])
@jwt_required()
def logout():
    claims = get_jwt()
    revoke(claims["jti"], claims["exp"])
    return jsonify(msg="Access token revoked")


@app.route("/protected", methods=["GET"])
@jwt_required()
def protected():
    return jsonify(hello="world")


@app.route("/healthz", methods=["GET"])
def healthz():
    return jsonify(ok=True)
