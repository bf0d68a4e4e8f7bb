"""sanic-jwt-extended's blacklist example (seed 003), made to run.

The reference the Rust port (sanic_logout.rs) is compared with: the integration test
`sanic_logout::answers_as_the_sanic_app` runs this file with the venv that
scripts/test-deps.sh makes for it (target/pyenv-sanic: sanic 25.12 and
sanic-jwt-extended 1.0.dev12, the release with the seed's API, which needs PyJWT 1.x and
so cannot share target/pyenv with flask-jwt-extended 4.x) and sends both apps the same
requests.

Seed bugs, ported by intent:
- its login issues no refresh token although its logout requires one: it issues both;
- its logout calls `JWT.revoke(token)`, which does not exist: the library's way (the
  seed's own text) is `await token.revoke()`; and it never imports
  `refresh_jwt_required`;
- `Sanic(__name__)` is refused by today's sanic when run as a script (`__main__` is not
  a valid app name): the app is named.
- Its login takes any username with no password; the ports' user is `test`/`test`,
  anything else 401 `{"msg": "Bad username or password"}` (flask-jwt-extended's words).

As in the library, the refresh token travels in `X-Refresh-Token: Bearer <jwt>`, and
revoking it (the in-memory blacklist of jtis) leaves the access token valid.

Reads LISTEN (default 127.0.0.1:8000) and prints the listening address on stderr.
"""

import os
import socket
import sys

from sanic import Sanic
from sanic.request import Request
from sanic.response import json
from sanic_jwt_extended import JWT, jwt_required, refresh_jwt_required
from sanic_jwt_extended.tokens import Token

app = Sanic("sanic_logout")


with JWT.initialize(app) as manager:
    manager.config.secret_key = "secret"
    manager.config.use_blacklist = True


@app.route("/login", methods=["POST"])
async def login(request: Request):
    body = request.json
    username = body.get("username", "user") if isinstance(body, dict) else None
    password = body.get("password") if isinstance(body, dict) else None
    if username != "test" or password != "test":
        return json(dict(msg="Bad username or password"), status=401)

    access_token = JWT.create_access_token(identity=username)
    refresh_token = JWT.create_refresh_token(identity=username)  # missing in the seed

    return json(dict(access_token=access_token, refresh_token=refresh_token), status=200)


@app.route("/logout", methods=["POST"])
@refresh_jwt_required
async def logout(request: Request, token: Token):
    await token.revoke()  # the seed's JWT.revoke(token) does not exist

    return json(dict(msg="Goodbye"), status=200)


@app.route("/protected", methods=["GET"])
@jwt_required
async def protected(request: Request, token: Token):
    return json(
        dict(identity=token.identity, type=token.type, raw_data=token.raw_data, exp=str(token.exp))
    )


if __name__ == "__main__":
    host, _, port = os.environ.get("LISTEN", "127.0.0.1:8000").rpartition(":")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, int(port)))
    sock.listen(128)  # connections wait in the backlog until sanic serves
    print(f"listening on http://{host}:{sock.getsockname()[1]}", file=sys.stderr, flush=True)
    app.run(sock=sock, single_process=True, access_log=False, motd=False)
