#!/usr/bin/env bash
# Installs what the black-box "second implementation" tests use (tests/external.rs):
# a Python venv in target/pyenv with PyJWT, Authlib, requests, Flask and
# flask-jwt-extended 4.7.4 (the seed apps the axum examples are compared with), a second
# venv in target/pyenv-sanic with sanic and sanic-jwt-extended (the sanic seed app), and
# Debian's nginx.
# Idempotent, and quick when everything is already there. ./test.sh runs it first.
set -euo pipefail
cd "$(dirname "$0")/.."

REQS=("PyJWT[crypto]==2.15.*" "Authlib==1.9.*" "requests==2.*" "Flask==3.1.*" "flask-jwt-extended==4.7.4")
VENV=target/pyenv
STAMP="$VENV/.revokd-requirements"

# Python venv: rebuilt only when missing, broken or its requirements changed.
if [[ -x "$VENV/bin/python" ]] && [[ "$(cat "$STAMP" 2>/dev/null)" == "${REQS[*]}" ]] \
    && "$VENV/bin/python" -c 'import jwt, authlib, requests, cryptography, flask_jwt_extended' 2>/dev/null; then
    :
else
    PY=$(command -v python3 || true)
    if [[ -z "$PY" ]]; then
        echo "test-deps: python3 is needed for the external tests (apt-get install -y python3 python3-venv)" >&2
        exit 1
    fi
    echo "test-deps: creating the Python venv in $VENV" >&2
    rm -rf "$VENV"
    mkdir -p target
    if ! "$PY" -m venv "$VENV"; then
        echo "test-deps: '$PY -m venv' failed (on Debian: apt-get install -y python3-venv)" >&2
        exit 1
    fi
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${REQS[@]}"
    echo "${REQS[*]}" >"$STAMP"
fi

# The sanic seed app's venv (examples/sanic_logout.py): sanic-jwt-extended 1.0.dev12, the
# release with the seed's API, needs PyJWT 1.x, which flask-jwt-extended 4.x (PyJWT 2)
# cannot share a venv with; its flatten-dict imports pkg_resources (setuptools < 81).
SANIC_REQS=("sanic==25.12.*" "sanic-jwt-extended==1.0.dev12" "setuptools<81")
SANIC_VENV=target/pyenv-sanic
SANIC_STAMP="$SANIC_VENV/.revokd-requirements"
if [[ -x "$SANIC_VENV/bin/python" ]] && [[ "$(cat "$SANIC_STAMP" 2>/dev/null)" == "${SANIC_REQS[*]}" ]] \
    && "$SANIC_VENV/bin/python" -W ignore -c 'import sanic, sanic_jwt_extended, jwt' 2>/dev/null; then
    :
else
    PY=$(command -v python3 || true)
    if [[ -z "$PY" ]]; then
        echo "test-deps: python3 is needed for the sanic example's test (apt-get install -y python3 python3-venv)" >&2
        exit 1
    fi
    echo "test-deps: creating the Python venv in $SANIC_VENV" >&2
    rm -rf "$SANIC_VENV"
    mkdir -p target
    if ! "$PY" -m venv "$SANIC_VENV"; then
        echo "test-deps: '$PY -m venv' failed (on Debian: apt-get install -y python3-venv)" >&2
        exit 1
    fi
    "$SANIC_VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${SANIC_REQS[@]}"
    echo "${SANIC_REQS[*]}" >"$SANIC_STAMP"
fi

# nginx (Debian's package; its policy-rc.d keeps the packaged service from starting,
# and the tests start their own from a temporary folder anyway).
if ! command -v nginx >/dev/null && ! [[ -x /usr/sbin/nginx ]]; then
    if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
        echo "test-deps: installing nginx" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -qq nginx >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq nginx; }
    else
        # not fatal here: the rest of the suite runs, and the nginx test fails saying so
        echo "test-deps: nginx is missing and this is not root: run 'sudo apt-get install -y nginx'" >&2
    fi
fi
