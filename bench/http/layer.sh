#!/usr/bin/env bash
# Issue 10's benchmark: the seeds' GET /protected on axum behind the revokd-axum layer
# (crates/revokd-axum/examples/flask_blocklist.rs) against the same check with only
# jsonwebtoken and no revocation (bench/peers/axum-plain, GET /verify), in one run, with
# the same token. The bar: the layer's overhead, 1 - example req/s ÷ plain req/s, is at
# most 5%. See bench/http/README.md. Progress goes to stderr, the markdown table to stdout.
#
#   bash bench/http/layer.sh                # DURATION=20 s per target after a 3 s warm-up
#   DURATION=3 bash bench/http/layer.sh     # a quick check that everything works
#
# Environment: DURATION (20), WARMUP (3), THREADS (2), CONNECTIONS (64), PORT_BASE
# (18700: the example listens on PORT_BASE, the plain peer on PORT_BASE+1, on 127.0.0.1).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HTTP_DIR="$ROOT/bench/http"
PEER="$ROOT/bench/peers/axum-plain"
PEERS_TARGET="$ROOT/target/bench-peers"
EXAMPLE_SRC="$ROOT/crates/revokd-axum/examples/flask_blocklist.rs"

DURATION=${DURATION:-20}
WARMUP=${WARMUP:-3}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-64}
PORT_BASE=${PORT_BASE:-18700}

log() { echo "[bench/http/layer] $*" >&2; }
die() { log "error: $*"; exit 1; }

for v in DURATION WARMUP THREADS CONNECTIONS PORT_BASE; do
    [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number, not '${!v}'"
done
((DURATION > 0)) || die "DURATION must be at least 1"

# ---------------------------------------------------------------- cleanup, always
TMP=$(mktemp -d /tmp/revokd-bench-layer.XXXXXX)
PIDS=()

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
    rm -rf "$TMP"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- tools and builds
if ! command -v wrk >/dev/null; then
    log "installing wrk"
    apt-get install -y wrk >&2 || { apt-get update >&2 && apt-get install -y wrk >&2; }
fi
command -v curl >/dev/null || die "curl is needed"
command -v python3 >/dev/null || die "python3 is needed"

log "building the flask_blocklist example (release)"
(cd "$ROOT" && cargo build --release -p revokd-axum --example flask_blocklist >&2)
EXAMPLE_BIN="$ROOT/target/release/examples/flask_blocklist"
log "building the axum-plain peer (release, jsonwebtoken's aws_lc_rs backend)"
CARGO_TARGET_DIR="$PEERS_TARGET" cargo build --release --manifest-path "$PEER/Cargo.toml" >&2
PEER_BIN="$PEERS_TARGET/release/bench-peer-axum-plain"

# The example's HS256 secret, from its source: `const SECRET: &[u8] = b"...";`.
SECRET=$(python3 - "$EXAMPLE_SRC" <<'PY'
import re, sys
m = re.search(r'const SECRET: &\[u8\] = b"([^"\\]*)";', open(sys.argv[1]).read())
if not m:
    sys.exit("no plain `const SECRET: &[u8] = b\"...\";` in " + sys.argv[1])
print(m.group(1))
PY
) || die "cannot read the secret from $EXAMPLE_SRC"

# ---------------------------------------------------------------- targets
P_EXAMPLE=$PORT_BASE
P_PLAIN=$((PORT_BASE + 1))
for p in $P_EXAMPLE $P_PLAIN; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then die "port $p is in use (set PORT_BASE)"; fi
done

start() { # name command...: runs it in the background, its output in $TMP/name.log
    local name=$1
    shift
    "$@" >"$TMP/$name.log" 2>&1 &
    PIDS+=($!)
    eval "PID_${name//-/_}=$!"
}

wait_ready() { # name url: until the URL answers anything over HTTP
    local name=$1 url=$2 pidvar="PID_${1//-/_}"
    for _ in $(seq 300); do
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$url" 2>/dev/null) || true
        [[ $code != 000 && -n $code ]] && return 0
        if ! kill -0 "${!pidvar}" 2>/dev/null; then
            cat "$TMP/$name.log" >&2
            die "$name exited before it was ready"
        fi
        sleep 0.1
    done
    cat "$TMP/$name.log" >&2
    die "$name not ready after 30 s"
}

log "starting the example on 127.0.0.1:$P_EXAMPLE (SQLite store in $TMP)"
LISTEN="127.0.0.1:$P_EXAMPLE" REVOKD_STORE="sqlite://$TMP/example.db" start example "$EXAMPLE_BIN"
wait_ready example "http://127.0.0.1:$P_EXAMPLE/protected"

login() {
    curl -fsS -X POST "http://127.0.0.1:$P_EXAMPLE/login" -H 'Content-Type: application/json' \
        -d '{"username":"test","password":"test"}'
}
json_field() { python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
LOGIN=$(login) || die "POST /login (test/test) failed"
TOKEN=$(json_field access_token <<<"$LOGIN")
REFRESH=$(json_field refresh_token <<<"$LOGIN")

# What the example's access token carries: its header and claims, whether it has `iss`
# (the peer then checks the same issuer; otherwise ISSUER stays empty and `iss` is not
# checked) and how long it lives.
CLAIMS="$TMP/claims.json"
python3 - "$TOKEN" >"$CLAIMS" <<'PY'
import base64, json, sys, time
def part(s):
    return json.loads(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)))
h, c, _ = sys.argv[1].split(".")
print(json.dumps({"header": part(h), "claims": part(c), "now": int(time.time())}))
PY
log "access token: $(cat "$CLAIMS")"
ISSUER=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["claims"].get("iss") or "")' "$CLAIMS")
TTL_LEFT=$(python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(d["claims"]["exp"] - d["now"])' "$CLAIMS")
NEEDED=$((2 * (WARMUP + DURATION) + 60))
((TTL_LEFT >= NEEDED)) ||
    die "the example's access token lives ${TTL_LEFT}s, the run needs about ${NEEDED}s: lower DURATION"
if [[ -n $ISSUER ]]; then log "the token has iss=$ISSUER: the peer checks it"; else
    log "the token has no iss: the peer runs with ISSUER empty (iss not checked)"; fi

log "starting the axum-plain peer on 127.0.0.1:$P_PLAIN"
LISTEN="127.0.0.1:$P_PLAIN" ALG=HS256 SECRET=$SECRET ISSUER=$ISSUER start axum-plain "$PEER_BIN"
wait_ready axum-plain "http://127.0.0.1:$P_PLAIN/healthz"

PLAIN_CLAIMS="exp/nbf"
[[ -z $ISSUER ]] || PLAIN_CLAIMS="exp/nbf/iss"
# name | what | URL
TARGETS=(
    "layer (flask_blocklist)|revokd-axum layer: signature (then verified-token cache hits), exp/nbf, type access, in-process revocation index; JSON body|http://127.0.0.1:$P_EXAMPLE/protected"
    "plain axum + jsonwebtoken|jsonwebtoken (aws_lc_rs): signature, $PLAIN_CLAIMS, type access; no revocation; empty body|http://127.0.0.1:$P_PLAIN/verify"
)
URL_EXAMPLE="http://127.0.0.1:$P_EXAMPLE/protected"
URL_PLAIN="http://127.0.0.1:$P_PLAIN/verify"

# ---------------------------------------------------------------- checks before the load
code() { # url [token]
    if [[ -n ${2:-} ]]; then
        curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $2" "$1"
    else
        curl -s -o /dev/null -w '%{http_code}' "$1"
    fi
}
FORGED="${TOKEN%.*}.$(python3 -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode())')"
for url in "$URL_EXAMPLE" "$URL_PLAIN"; do
    ok=$(code "$url" "$TOKEN")
    bad=$(code "$url" "$FORGED")
    none=$(code "$url")
    refresh=$(code "$url" "$REFRESH")
    log "$url: access token $ok, forged signature $bad, no token $none, refresh token $refresh"
    [[ $ok == 200 ]] || die "$url does not accept the example's access token (HTTP $ok)"
    [[ $bad != 2* && $none != 2* ]] || die "$url accepts a forged or missing token"
    [[ $refresh != 2* ]] || die "$url accepts a refresh token"
done
BODY=$(curl -s -H "Authorization: Bearer $TOKEN" "$URL_EXAMPLE")
log "example body: $BODY"

# The example's revocation check is live: a second login's access token, revoked through
# DELETE /logout, is refused by the example (the peer, without revocation, still takes it).
# This also leaves one revoked jti in the example's index during the load.
VICTIM=$(login | json_field access_token) || die "second POST /login failed"
before=$(code "$URL_EXAMPLE" "$VICTIM")
logout=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE -H "Authorization: Bearer $VICTIM" \
    "http://127.0.0.1:$P_EXAMPLE/logout")
after=$(code "$URL_EXAMPLE" "$VICTIM")
peer_after=$(code "$URL_PLAIN" "$VICTIM")
log "revoked-token check: example before $before, DELETE /logout $logout, example after $after, peer after $peer_after"
[[ $before == 200 && $logout == 200 && $after == 401 ]] ||
    die "the example's revocation check does not behave as expected"
[[ $(code "$URL_EXAMPLE" "$TOKEN") == 200 ]] || die "the example refuses the benchmark token after the logout"

# ---------------------------------------------------------------- load
RESULTS="$TMP/results.tsv"
: >"$RESULTS"
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }
for t in "${TARGETS[@]}"; do
    IFS='|' read -r name what url <<<"$t"
    log "$name: warm-up ${WARMUP}s"
    TOKEN=$TOKEN wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" --timeout 10s -s "$HTTP_DIR/bearer.lua" "$url" >/dev/null
    log "$name: wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s $url"
    out=$(TOKEN=$TOKEN wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --timeout 10s --latency \
        -s "$HTTP_DIR/bearer.lua" "$url")
    echo "$out" >&2
    line=$(grep '^RESULT' <<<"$out") || die "no RESULT line from wrk for $name"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$what" "$url" \
        "$(field rps "$line")" "$(field p50_us "$line")" "$(field p99_us "$line")" \
        "$(field requests "$line")" "$(field non2xx "$line")" "$(field socket_errors "$line")" >>"$RESULTS"
done

# Both still accept the token after the load (it did not expire under it).
for url in "$URL_EXAMPLE" "$URL_PLAIN"; do
    [[ $(code "$url" "$TOKEN") == 200 ]] || die "$url no longer accepts the token after the load"
done

python3 "$HTTP_DIR/layer_report.py" "$RESULTS" "$DURATION" "$THREADS" "$CONNECTIONS" "$CLAIMS" "$BODY"
