"""flask-jwt-extended's blocklist example (seed 002), adapted to flask-jwt-extended 4.x.

The reference the Rust port (flask_blocklist.rs) is compared with: the integration test
`flask_blocklist::answers_as_the_flask_app` runs this file with the venv that
scripts/test-deps.sh makes (target/pyenv, flask-jwt-extended 4.7.4) and sends both apps
the same requests.

Changes from the seed, which was written for 3.x and lost lines on its way here:
- 4.x names: `token_in_blacklist_loader` -> `token_in_blocklist_loader` (now given the
  header and the payload), `jwt_refresh_token_required` -> `jwt_required(refresh=True)`,
  `jwt_required` -> `jwt_required()`, `get_raw_jwt` -> `get_jwt`; the
  `JWT_BLACKLIST_*` settings are gone (with a loader, 4.x checks every token type, as
  the seed's `['access', 'refresh']` asked).
- Seed bugs, ported by intent: its routes have lost their decorators although its
  comments say the refresh route takes a refresh token and /protected refuses revoked
  tokens, and both logouts read the `jti` but never add it to the blocklist.

Reads LISTEN (default 127.0.0.1:5000) and prints the listening address on stderr.
"""

import os
import sys

from flask import Flask, jsonify, request
from flask_jwt_extended import (
    JWTManager,
    create_access_token,
    create_refresh_token,
    get_jwt,
    get_jwt_identity,
    jwt_required,
)
from werkzeug.serving import make_server

# Setup flask
app = Flask(__name__)
app.config["JWT_SECRET_KEY"] = "super-secret"  # Change this!
jwt = JWTManager(app)

# An in-memory store of revoked tokens' jti (the seed's choice).
blocklist = set()


@jwt.token_in_blocklist_loader
def check_if_token_in_blocklist(jwt_header, jwt_payload):
    return jwt_payload["jti"] in blocklist


# Standard login endpoint
@app.route("/login", methods=["POST"])
def login():
    username = request.json.get("username", None)
    password = request.json.get("password", None)
    if username != "test" or password != "test":
        return jsonify({"msg": "Bad username or password"}), 401

    ret = {
        "access_token": create_access_token(identity=username),
        "refresh_token": create_refresh_token(identity=username),
    }
    return jsonify(ret), 200


# Standard refresh endpoint. A revoked refresh token will not be able to access this
# endpoint.
@app.route("/refresh", methods=["POST"])
@jwt_required(refresh=True)
def refresh():
    current_user = get_jwt_identity()
    ret = {"access_token": create_access_token(identity=current_user)}
    return jsonify(ret), 200


# Endpoint for revoking the current user's access token
@app.route("/logout", methods=["DELETE"])
@jwt_required()
def logout():
    jti = get_jwt()["jti"]
    blocklist.add(jti)  # missing in the seed
    return jsonify({"msg": "Successfully logged out"}), 200


# Endpoint for revoking the current user's refresh token
@app.route("/logout2", methods=["DELETE"])
@jwt_required(refresh=True)
def logout2():
    jti = get_jwt()["jti"]
    blocklist.add(jti)  # missing in the seed
    return jsonify({"msg": "Successfully logged out"}), 200


# This will now prevent users with revoked tokens from accessing this endpoint
@app.route("/protected", methods=["GET"])
@jwt_required()
def protected():
    return jsonify({"hello": "world"})


if __name__ == "__main__":
    host, _, port = os.environ.get("LISTEN", "127.0.0.1:5000").rpartition(":")
    server = make_server(host, int(port), app, threaded=True)
    print(f"listening on http://{host}:{server.port}", file=sys.stderr, flush=True)
    server.serve_forever()
