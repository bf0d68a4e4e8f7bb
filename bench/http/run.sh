#!/usr/bin/env bash
# HTTP load benchmark: revokd's GET /v1/verify against its peers, in one run.
# See bench/http/README.md. Progress goes to stderr, the markdown table to stdout.
#
#   bash bench/http/run.sh                # DURATION=20 s per target after a 3 s warm-up
#   DURATION=3 bash bench/http/run.sh     # a quick check that everything works
#
# Environment: DURATION (20), WARMUP (3), THREADS (2), CONNECTIONS (64), PORT_BASE
# (18680: targets listen on PORT_BASE..PORT_BASE+4 on 127.0.0.1), REDIS_URL
# (redis://127.0.0.1:6379/0; if nothing answers there, a private redis-server is started
# on PORT_BASE+9 and stopped at the end).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HTTP_DIR="$ROOT/bench/http"
PEERS="$ROOT/bench/peers"
VENV="$ROOT/target/bench-venv"
PEERS_TARGET="$ROOT/target/bench-peers"

DURATION=${DURATION:-20}
WARMUP=${WARMUP:-3}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-64}
PORT_BASE=${PORT_BASE:-18680}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/0}
REVOKE_REQUESTS=50

log() { echo "[bench/http] $*" >&2; }
die() { log "error: $*"; exit 1; }

for v in DURATION WARMUP THREADS CONNECTIONS PORT_BASE; do
    [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number, not '${!v}'"
done

# ---------------------------------------------------------------- cleanup, always
TMP=$(mktemp -d /tmp/revokd-bench-http.XXXXXX)
PIDS=()
OWN_REDIS_PORT=
KEY_PREFIX="revokd-bench:$$:"

cleanup() {
    local status=$?
    set +e
    if ((${#PIDS[@]})); then
        kill -TERM "${PIDS[@]}" 2>/dev/null
        for _ in $(seq 100); do
            local alive=0
            for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
            ((alive)) || break
            sleep 0.1
        done
        kill -KILL "${PIDS[@]}" 2>/dev/null
        wait "${PIDS[@]}" 2>/dev/null
    fi
    if command -v redis-cli >/dev/null && redis-cli -u "$REDIS_URL" ping >/dev/null 2>&1; then
        redis-cli -u "$REDIS_URL" --scan --pattern "${KEY_PREFIX}*" 2>/dev/null |
            xargs -r redis-cli -u "$REDIS_URL" del >/dev/null 2>&1
    fi
    if [[ -n $OWN_REDIS_PORT ]]; then
        redis-cli -p "$OWN_REDIS_PORT" shutdown nosave >/dev/null 2>&1
    fi
    rm -rf "$TMP"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- tools
if ! command -v wrk >/dev/null; then
    log "installing wrk"
    apt-get install -y wrk >&2 || { apt-get update >&2 && apt-get install -y wrk >&2; }
fi
command -v curl >/dev/null || die "curl is needed"

REQS="$PEERS/flask/requirements.txt"
REQS_SUM=$(sha256sum "$REQS" | cut -d' ' -f1)
if [[ ! -x $VENV/bin/gunicorn || $(cat "$VENV/.requirements.sha256" 2>/dev/null) != "$REQS_SUM" ]]; then
    log "creating the Python venv in $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q -r "$REQS" >&2
    echo "$REQS_SUM" >"$VENV/.requirements.sha256"
fi
PY="$VENV/bin/python"

log "building revokd (release)"
(cd "$ROOT" && cargo build --release -p revokd-server >&2)
REVOKD_BIN="$ROOT/target/release/revokd"
for peer in axum-plain axum-redis; do
    log "building the $peer peer (release)"
    CARGO_TARGET_DIR="$PEERS_TARGET" cargo build --release --manifest-path "$PEERS/$peer/Cargo.toml" >&2
done

# ---------------------------------------------------------------- Redis
if ! redis-cli -u "$REDIS_URL" ping 2>/dev/null | grep -q PONG; then
    OWN_REDIS_PORT=$((PORT_BASE + 9))
    log "no Redis at $REDIS_URL: starting one on 127.0.0.1:$OWN_REDIS_PORT"
    command -v redis-server >/dev/null || apt-get install -y redis-server >&2 ||
        { apt-get update >&2 && apt-get install -y redis-server >&2; }
    redis-server --port "$OWN_REDIS_PORT" --bind 127.0.0.1 --dir "$TMP" --save "" --appendonly no \
        --daemonize yes --pidfile "$TMP/redis.pid" --logfile "$TMP/redis.log"
    REDIS_URL="redis://127.0.0.1:$OWN_REDIS_PORT/0"
    for _ in $(seq 50); do redis-cli -u "$REDIS_URL" ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done
    redis-cli -u "$REDIS_URL" ping 2>/dev/null | grep -q PONG || die "Redis did not start"
fi

# ---------------------------------------------------------------- targets
SECRET=$("$PY" -c 'import secrets; print(secrets.token_urlsafe(36))') # 48 bytes
ADMIN=$("$PY" -c 'import secrets; print(secrets.token_urlsafe(24))')
ISSUER="https://revokd-bench.invalid"
export SECRET ISSUER REDIS_URL

P_REVOKD=$PORT_BASE
P_PLAIN=$((PORT_BASE + 1))
P_AXREDIS=$((PORT_BASE + 2))
P_FMEM=$((PORT_BASE + 3))
P_FREDIS=$((PORT_BASE + 4))
for p in $P_REVOKD $P_PLAIN $P_AXREDIS $P_FMEM $P_FREDIS; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then die "port $p is in use (set PORT_BASE)"; fi
done

cat >"$TMP/revokd.toml" <<TOML
listen = "127.0.0.1:$P_REVOKD"
store = "sqlite://$TMP/revokd.db"
admin_tokens = ["$ADMIN"]
issuer = "$ISSUER"
rate_limit_per_minute = 0

[[keys]]
kid = "k1"
algorithm = "HS256"
secret = "$SECRET"
TOML

start() { # name command...: runs it in the background, its output in $TMP/name.log
    local name=$1
    shift
    "$@" >"$TMP/$name.log" 2>&1 &
    PIDS+=($!)
    eval "PID_${name//-/_}=$!"
}

wait_ready() { # name url
    local name=$1 url=$2 pidvar="PID_${1//-/_}"
    for _ in $(seq 300); do
        curl -fsS -o /dev/null --max-time 1 "$url" 2>/dev/null && return 0
        if ! kill -0 "${!pidvar}" 2>/dev/null; then
            cat "$TMP/$name.log" >&2
            die "$name exited before it was ready"
        fi
        sleep 0.1
    done
    cat "$TMP/$name.log" >&2
    die "$name not ready after 30 s"
}

log "starting the targets on 127.0.0.1:$P_REVOKD..$P_FREDIS"
RUST_LOG=warn start revokd "$REVOKD_BIN" serve --config "$TMP/revokd.toml"
LISTEN="127.0.0.1:$P_PLAIN" start axum-plain "$PEERS_TARGET/release/bench-peer-axum-plain"
LISTEN="127.0.0.1:$P_AXREDIS" REDIS_PREFIX="${KEY_PREFIX}axum:" \
    start axum-redis "$PEERS_TARGET/release/bench-peer-axum-redis"
GUNICORN=("$VENV/bin/gunicorn" --workers 2 --graceful-timeout 3 --chdir "$PEERS/flask")
BLOCKLIST=memory start flask-memory "${GUNICORN[@]}" --bind "127.0.0.1:$P_FMEM" app:app
BLOCKLIST=redis REDIS_PREFIX="${KEY_PREFIX}flask:" \
    start flask-redis "${GUNICORN[@]}" --bind "127.0.0.1:$P_FREDIS" app:app

wait_ready revokd "http://127.0.0.1:$P_REVOKD/readyz"
wait_ready axum-plain "http://127.0.0.1:$P_PLAIN/healthz"
wait_ready axum-redis "http://127.0.0.1:$P_AXREDIS/healthz"
wait_ready flask-memory "http://127.0.0.1:$P_FMEM/healthz"
wait_ready flask-redis "http://127.0.0.1:$P_FREDIS/healthz"

# name | what | verify URL | revoke kind | revoke URL
TARGETS=(
    "revokd|HS256 + in-process revocation index|http://127.0.0.1:$P_REVOKD/v1/verify|oauth|http://127.0.0.1:$P_REVOKD/oauth/revoke"
    "plain-axum|HS256 only, no revocation|http://127.0.0.1:$P_PLAIN/verify|none|"
    "axum-redis|HS256 + Redis EXISTS per request|http://127.0.0.1:$P_AXREDIS/verify|logout|http://127.0.0.1:$P_AXREDIS/logout"
    "flask-memory|flask-jwt-extended, gunicorn 2 workers, set() per worker|http://127.0.0.1:$P_FMEM/protected|logout|http://127.0.0.1:$P_FMEM/logout"
    "flask-redis|flask-jwt-extended, gunicorn 2 workers, Redis GET per request|http://127.0.0.1:$P_FREDIS/protected|logout|http://127.0.0.1:$P_FREDIS/logout"
)

# Tokens live long enough for the whole run, however long DURATION is.
ACCESS_TTL=$((600 + ${#TARGETS[@]} * (DURATION + WARMUP) * 2))
mint() {
    curl -fsS -X POST "http://127.0.0.1:$P_REVOKD/v1/tokens" \
        -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
        -d "{\"sub\":\"bench-user\",\"access_ttl\":$ACCESS_TTL}" |
        "$PY" -c 'import json, sys; print(json.load(sys.stdin)["access_token"])'
}
TOKEN=$(mint)
# The same token with another signature: every target must refuse it.
FORGED="${TOKEN%.*}.$("$PY" -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode())')"

status() { curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $2" "$1"; }
for t in "${TARGETS[@]}"; do
    IFS='|' read -r name _ url _ _ <<<"$t"
    ok=$(status "$url" "$TOKEN")
    bad=$(status "$url" "$FORGED")
    none=$(curl -s -o /dev/null -w '%{http_code}' "$url")
    log "$name: valid token $ok, forged signature $bad, no token $none"
    [[ $ok == 200 ]] || die "$name does not accept the token revokd minted (HTTP $ok)"
    [[ $bad != 200 && $none != 200 ]] || die "$name accepts a forged or missing token"
done

# ---------------------------------------------------------------- load
RESULTS="$TMP/results.tsv"
: >"$RESULTS"
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }
declare -A LOAD
for t in "${TARGETS[@]}"; do
    IFS='|' read -r name _ url _ _ <<<"$t"
    log "$name: warm-up ${WARMUP}s"
    TOKEN=$TOKEN wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" --timeout 10s -s "$HTTP_DIR/bearer.lua" "$url" >/dev/null
    log "$name: wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s $url"
    out=$(TOKEN=$TOKEN wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --timeout 10s --latency \
        -s "$HTTP_DIR/bearer.lua" "$url")
    echo "$out" >&2
    line=$(grep '^RESULT' <<<"$out") || die "no RESULT line from wrk for $name"
    LOAD[$name]=$line
done

# ---------------------------------------------------------------- revoked token
for t in "${TARGETS[@]}"; do
    IFS='|' read -r name what url kind revoke_url <<<"$t"
    victim=$(mint)
    check=$("$PY" "$HTTP_DIR/revoked_check.py" "$url" "$victim" "$kind" "$revoke_url" "$REVOKE_REQUESTS" 8)
    log "$name revoked-token check: $check"
    line=${LOAD[$name]}
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$what" \
        "$(field rps "$line")" "$(field p50_us "$line")" "$(field p99_us "$line")" \
        "$(field requests "$line")" "$(field non2xx "$line")" "$(field socket_errors "$line")" \
        "$(field accepted " $check")" "$(field sent " $check")" "$(field before " $check")" \
        "$(field revoke " $check")" >>"$RESULTS"
done

"$PY" "$HTTP_DIR/report.py" "$RESULTS" "$DURATION" "$THREADS" "$CONNECTIONS"
