#!/usr/bin/env bash
# HTTP load benchmark for the verified-token cache (issue 12): GET /v1/verify with RS256
# and with EdDSA tokens, 1,000 distinct valid tokens in rotation, for revokd with the
# cache, revokd without it, and the plain axum + jsonwebtoken peer built with each
# jsonwebtoken crypto backend. One run. See bench/http/README.md. Progress goes to
# stderr, the markdown table to stdout.
#
#   bash bench/http/cache.sh                # DURATION=20 s per target after a 3 s warm-up
#   DURATION=3 bash bench/http/cache.sh     # a quick check that everything works
#
# Environment: DURATION (20), WARMUP (3), THREADS (2), CONNECTIONS (64), TOKENS (1000),
# ALGS ("RS256 EdDSA"), PORT_BASE (18690: targets listen on PORT_BASE..PORT_BASE+3 on
# 127.0.0.1).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HTTP_DIR="$ROOT/bench/http"
PEER="$ROOT/bench/peers/axum-plain"
KEYS="$ROOT/crates/revokd/tests/keys"

DURATION=${DURATION:-20}
WARMUP=${WARMUP:-3}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-64}
TOKENS=${TOKENS:-1000}
ALGS=${ALGS:-RS256 EdDSA}
PORT_BASE=${PORT_BASE:-18690}

log() { echo "[bench/http/cache] $*" >&2; }
die() { log "error: $*"; exit 1; }

for v in DURATION WARMUP THREADS CONNECTIONS TOKENS PORT_BASE; do
    [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number, not '${!v}'"
done
((TOKENS > 0)) || die "TOKENS must be at least 1"
for alg in $ALGS; do
    [[ $alg == RS256 || $alg == EdDSA ]] || die "ALGS: $alg is not RS256 or EdDSA"
done

# ---------------------------------------------------------------- cleanup, always
TMP=$(mktemp -d /tmp/revokd-bench-cache.XXXXXX)
PIDS=()

stop_targets() { # stops every target started so far; called between algorithms and on exit
    ((${#PIDS[@]})) || return 0
    kill -TERM "${PIDS[@]}" 2>/dev/null || true
    for _ in $(seq 100); do
        local alive=0
        for pid in "${PIDS[@]}"; do if kill -0 "$pid" 2>/dev/null; then alive=1; fi; done
        ((alive)) || break
        sleep 0.1
    done
    kill -KILL "${PIDS[@]}" 2>/dev/null || true
    wait "${PIDS[@]}" 2>/dev/null || true
    PIDS=()
}

cleanup() {
    local status=$?
    set +e
    stop_targets
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

log "building revokd (release)"
(cd "$ROOT" && cargo build --release -p revokd-server >&2)
REVOKD_BIN="$ROOT/target/release/revokd"

# jsonwebtoken 10 takes exactly one crypto backend: one build per backend, each in its
# own target folder.
log "building the axum-plain peer with jsonwebtoken's aws_lc_rs backend (release)"
CARGO_TARGET_DIR="$ROOT/target/bench-peers-aws" \
    cargo build --release --manifest-path "$PEER/Cargo.toml" >&2
log "building the axum-plain peer with jsonwebtoken's rust_crypto backend (release)"
CARGO_TARGET_DIR="$ROOT/target/bench-peers-rustcrypto" \
    cargo build --release --no-default-features --features rustcrypto --manifest-path "$PEER/Cargo.toml" >&2
PEER_AWS="$ROOT/target/bench-peers-aws/release/bench-peer-axum-plain"
PEER_RUST="$ROOT/target/bench-peers-rustcrypto/release/bench-peer-axum-plain"

# ---------------------------------------------------------------- targets
ADMIN=$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')
ISSUER="https://revokd-bench.invalid"

P_CACHE=$PORT_BASE
P_NOCACHE=$((PORT_BASE + 1))
P_AWS=$((PORT_BASE + 2))
P_RUST=$((PORT_BASE + 3))
for p in $P_CACHE $P_NOCACHE $P_AWS $P_RUST; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then die "port $p is in use (set PORT_BASE)"; fi
done

# name | what | verify URL
TARGETS=(
    "revokd-cache|revokd, [verify_cache] on (default): cache hit, then exp/nbf, type, issuer and the revocation index|http://127.0.0.1:$P_CACHE/v1/verify"
    "revokd-nocache|revokd, [verify_cache] enabled = false: signature, claims and the revocation index|http://127.0.0.1:$P_NOCACHE/v1/verify"
    "plain-aws-lc-rs|axum + jsonwebtoken (aws_lc_rs): signature, exp/nbf/iss, type; no revocation|http://127.0.0.1:$P_AWS/verify"
    "plain-rust-crypto|axum + jsonwebtoken (rust_crypto): signature, exp/nbf/iss, type; no revocation|http://127.0.0.1:$P_RUST/verify"
)

# Tokens live long enough for one algorithm's runs, however long DURATION is.
ACCESS_TTL=$((600 + ${#TARGETS[@]} * (DURATION + WARMUP) * 2))

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

revokd_config() { # file port algorithm private-key cache-section
    cat >"$1" <<TOML
listen = "127.0.0.1:$2"
store = "sqlite://${1%.toml}.db"
admin_tokens = ["$ADMIN"]
issuer = "$ISSUER"
rate_limit_per_minute = 0
$5
[[keys]]
kid = "k1"
algorithm = "$3"
private_key_pem = "$4"
TOML
}

RESULTS="$TMP/results.tsv"
: >"$RESULTS"
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }

for ALG in $ALGS; do
    case $ALG in
        RS256) PRIV="$KEYS/rsa.pem" PUB="$KEYS/rsa.pub.pem" ;;
        EdDSA) PRIV="$KEYS/ed.pem" PUB="$KEYS/ed.pub.pem" ;;
    esac
    # Same key and issuer for both revokd instances, each with its own SQLite store.
    revokd_config "$TMP/$ALG-cache.toml" "$P_CACHE" "$ALG" "$PRIV" ""
    revokd_config "$TMP/$ALG-nocache.toml" "$P_NOCACHE" "$ALG" "$PRIV" $'\n[verify_cache]\nenabled = false\n'

    log "$ALG: starting the targets on 127.0.0.1:$P_CACHE..$P_RUST"
    RUST_LOG=warn start revokd-cache "$REVOKD_BIN" serve --config "$TMP/$ALG-cache.toml"
    RUST_LOG=warn start revokd-nocache "$REVOKD_BIN" serve --config "$TMP/$ALG-nocache.toml"
    LISTEN="127.0.0.1:$P_AWS" ALG=$ALG PUBLIC_KEY_PEM=$PUB ISSUER=$ISSUER start plain-aws-lc-rs "$PEER_AWS"
    LISTEN="127.0.0.1:$P_RUST" ALG=$ALG PUBLIC_KEY_PEM=$PUB ISSUER=$ISSUER start plain-rust-crypto "$PEER_RUST"
    wait_ready revokd-cache "http://127.0.0.1:$P_CACHE/readyz"
    wait_ready revokd-nocache "http://127.0.0.1:$P_NOCACHE/readyz"
    wait_ready plain-aws-lc-rs "http://127.0.0.1:$P_AWS/healthz"
    wait_ready plain-rust-crypto "http://127.0.0.1:$P_RUST/healthz"

    TOKENS_FILE="$TMP/tokens-$ALG.txt"
    log "$ALG: minting $TOKENS access tokens (POST /v1/tokens, access_ttl $ACCESS_TTL s)"
    python3 "$HTTP_DIR/tokens.py" mint "http://127.0.0.1:$P_CACHE" "$ADMIN" "$TOKENS" "$ACCESS_TTL" "$TOKENS_FILE" ||
        die "$ALG: minting failed"
    hdr=$(python3 -c 'import base64, sys; h = open(sys.argv[1]).readline().split(".")[0]
print(base64.urlsafe_b64decode(h + "=" * (-len(h) % 4)).decode())' "$TOKENS_FILE")
    log "$ALG: token header $hdr"
    [[ $hdr == *"\"$ALG\""* ]] || die "$ALG: revokd did not sign with $ALG"

    # Every target must accept every token and refuse a forged or missing one.
    for t in "${TARGETS[@]}"; do
        IFS='|' read -r name _ url <<<"$t"
        check=$(python3 "$HTTP_DIR/tokens.py" check "$url" "$TOKENS_FILE") ||
            die "$ALG: $name does not accept every token or accepts a forged one ($check)"
        log "$ALG: $name: $check"
    done

    for t in "${TARGETS[@]}"; do
        IFS='|' read -r name what url <<<"$t"
        log "$ALG: $name: warm-up ${WARMUP}s"
        TOKENS_FILE=$TOKENS_FILE wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" --timeout 10s \
            -s "$HTTP_DIR/rotate.lua" "$url" >/dev/null
        log "$ALG: $name: wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s $url"
        out=$(TOKENS_FILE=$TOKENS_FILE wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --timeout 10s --latency \
            -s "$HTTP_DIR/rotate.lua" "$url")
        echo "$out" >&2
        line=$(grep '^RESULT' <<<"$out") || die "no RESULT line from wrk for $ALG $name"
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$ALG" "$name" "$what" \
            "$(field rps "$line")" "$(field p50_us "$line")" "$(field p99_us "$line")" \
            "$(field requests "$line")" "$(field non2xx "$line")" "$(field socket_errors "$line")" >>"$RESULTS"
    done
    stop_targets
done

python3 "$HTTP_DIR/cache_report.py" "$RESULTS" "$DURATION" "$THREADS" "$CONNECTIONS" "$TOKENS"
