"""flask-jwt-extended's older stored-tokens example (seed 004), adapted to
flask-jwt-extended 4.x.

The reference the Rust port (flask_stored_tokens.rs) is compared with: the integration
test `flask_stored_tokens::answers_as_the_flask_app` runs this file with the venv that
scripts/test-deps.sh makes (target/pyenv, flask-jwt-extended 4.7.4) and sends both apps
the same requests.

Changes from the seed, which was written for flask-jwt-extended 1.x:
- 1.x kept every token it created in a simplekv store (`JWT_BLACKLIST_STORE`) and had
  `get_stored_tokens`, `get_all_stored_tokens`, `get_stored_token`, `revoke_token` and
  `unrevoke_token`; 4.x has none of them. Here they are what they meant: an in-memory
  dict `jti -> {"token": {...}, "revoked": bool}` (1.x's stored format, `token` keeping
  the fields revokd's registry records: jti, identity, type, iat, exp), filled when a
  token is created, and a `token_in_blocklist_loader` that checks only refresh tokens
  (the seed's `JWT_BLACKLIST_TOKEN_CHECKS = 'refresh'`).
- 4.x names: `jwt_refresh_token_required` -> `jwt_required(refresh=True)`,
  `jwt_required` -> `jwt_required()`; `JWT_SECRET_KEY` instead of `app.secret_key`.
- Seed bugs, ported by intent: its login accepts any password for `test` (and any user
  with the password `test`): `and` where `or` is meant; its revoke/unrevoke routes call
  `jwt_get_identity` and `get_stored_token`, which it never defines (it means
  `get_jwt_identity` and the stored entry of that jti, a missing one answering 404).
- `/auth/all-tokens` is unprotected in the seed, whose comment says to add security so
  that only trusted users (administrators) can reach it. Ported as flask-jwt-extended's
  documented way (its "Custom Decorators" page): an `is_administrator` claim added to
  every token by `additional_claims_loader`, true for the user `admin` (password
  `admin`; the seed has only `test`/`test`), and 403 `{"msg": "Admins only!"}` for
  anyone else. The second user also shows the ownership check: `test` cannot revoke
  `admin`'s tokens (404).

Reads LISTEN (default 127.0.0.1:5000) and prints the listening address on stderr.
"""

import os
import sys
from datetime import timedelta
from functools import wraps

from flask import Flask, jsonify, request
from flask_jwt_extended import (
    JWTManager,
    create_access_token,
    create_refresh_token,
    decode_token,
    get_jwt,
    get_jwt_identity,
    jwt_required,
    verify_jwt_in_request,
)
from werkzeug.serving import make_server

# Setup flask
app = Flask(__name__)
app.config["JWT_SECRET_KEY"] = "super-secret"  # the seed's app.secret_key

# Configure access token expires time
app.config["JWT_ACCESS_TOKEN_EXPIRES"] = timedelta(minutes=5)

jwt = JWTManager(app)

USERS = {"test": "test", "admin": "admin"}

# The seed's simplekv DictStore: every token created, by jti.
stored_tokens = {}


@jwt.additional_claims_loader
def add_claims(identity):
    return {"is_administrator": identity == "admin"}


# Only refresh tokens are checked (the seed's JWT_BLACKLIST_TOKEN_CHECKS = 'refresh');
# a token this app did not store counts as revoked.
@jwt.token_in_blocklist_loader
def check_if_token_revoked(jwt_header, jwt_payload):
    if jwt_payload["type"] != "refresh":
        return False
    return stored_tokens.get(jwt_payload["jti"], {"revoked": True})["revoked"]


def store(encoded):
    payload = decode_token(encoded)
    stored_tokens[payload["jti"]] = {
        "token": {
            "jti": payload["jti"],
            "identity": payload["sub"],
            "type": payload["type"],
            "iat": payload["iat"],
            "exp": payload["exp"],
        },
        "revoked": False,
    }
    return encoded


def admin_required():
    def wrapper(fn):
        @wraps(fn)
        def decorator(*args, **kwargs):
            verify_jwt_in_request()
            if get_jwt()["is_administrator"]:
                return fn(*args, **kwargs)
            return jsonify(msg="Admins only!"), 403

        return decorator

    return wrapper


@app.route("/login", methods=["POST"])
def login():
    username = request.json.get("username", None)
    password = request.json.get("password", None)
    # The seed's `and` let any password through for `test`.
    if not isinstance(username, str) or USERS.get(username) != password:
        return jsonify({"msg": "Bad username or password"}), 401

    ret = {
        "access_token": store(create_access_token(identity=username)),
        "refresh_token": store(create_refresh_token(identity=username)),
    }
    return jsonify(ret), 200


@app.route("/refresh", methods=["POST"])
@jwt_required(refresh=True)
def refresh():
    current_user = get_jwt_identity()
    ret = {"access_token": store(create_access_token(identity=current_user))}
    return jsonify(ret), 200


# Endpoint for listing tokens that have the same identity as you
@app.route("/auth/tokens", methods=["GET"])
@jwt_required()
def list_identity_tokens():
    username = get_jwt_identity()
    tokens = [t for t in stored_tokens.values() if t["token"]["identity"] == username]
    return jsonify(tokens), 200


# Endpoint for listing all tokens: administrators only (see above).
@app.route("/auth/all-tokens")
@admin_required()
def list_all_tokens():
    return jsonify(list(stored_tokens.values())), 200


# Endpoint for allowing users to revoke their tokens
@app.route("/auth/tokens/revoke/<string:jti>", methods=["PUT"])
@jwt_required()
def change_jwt_revoke_state(jti):
    username = get_jwt_identity()  # the seed's undefined jwt_get_identity
    token_data = stored_tokens.get(jti)  # the seed's undefined get_stored_token
    if token_data is None or token_data["token"]["identity"] != username:
        return jsonify({"msg": "Token not found"}), 404
    token_data["revoked"] = True
    return jsonify({"msg": "Token successfully revoked"}), 200


# Endpoint for allowing users to unrevoke their tokens
@app.route("/auth/tokens/unrevoke/<string:jti>", methods=["PUT"])
@jwt_required()
def change_jwt_unrevoke_state(jti):
    username = get_jwt_identity()
    token_data = stored_tokens.get(jti)
    if token_data is None or token_data["token"]["identity"] != username:
        return jsonify({"msg": "Token not found"}), 404
    token_data["revoked"] = False
    return jsonify({"msg": "Token successfully unrevoked"}), 200


@app.route("/protected", methods=["GET"])
@jwt_required()
def protected():
    return jsonify({"hello": "world"})


if __name__ == "__main__":
    host, _, port = os.environ.get("LISTEN", "127.0.0.1:5000").rpartition(":")
    server = make_server(host, int(port), app, threaded=True)
    print(f"listening on http://{host}:{server.port}", file=sys.stderr, flush=True)
    server.serve_forever()
