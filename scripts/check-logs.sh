#!/usr/bin/env bash
# Fails if a secret the tests use, or a token, appears in the logs the test run kept
# (every `revokd serve` started by crates/revokd-server/tests writes its log to
# target/test-logs/ when it stops). Run by ./test.sh after the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=target/test-logs
count=$(find "$dir" -name '*.log' 2>/dev/null | wc -l)
if [ "$count" -eq 0 ]; then
    echo "check-logs: no logs in $dir: the server tests did not run" >&2
    exit 1
fi
# The secrets of crates/revokd-server/tests/common/mod.rs and shared_store.rs: admin and
# feed tokens, the HS256 key, the client secrets (oauth.rs adds `web:app`'s), the
# PostgreSQL password in store URLs.
# security.rs starts one server at RUST_LOG=trace and sends all of them.
secrets=(
    "admin-token-0123456789"
    "feed-token-0123456789ab"
    "0123456789abcdef0123456789abcdef"
    "app-secret-0123456789"
    "pw-never-logged-0123"
    "s3cret+%41: é/=&0123456789"
)
status=0
for s in "${secrets[@]}"; do
    if hits=$(grep -rlF -- "$s" "$dir"); then
        echo "check-logs: a secret used by the tests appears in these logs:" >&2
        echo "$hits" | head -5 >&2
        status=1
    fi
done
# The private keys the tests load (crates/revokd/tests/keys/*.pem but *.pub.pem): no line
# of their base64 body, nor any PEM private key block, may appear.
patterns=$(mktemp)
trap 'rm -f "$patterns"' EXIT
for f in crates/revokd/tests/keys/*.pem; do
    case "$f" in *.pub.pem) continue ;; esac
    grep -v -- '-----' "$f" | awk 'length($0) >= 24' >>"$patterns"
done
if [ ! -s "$patterns" ]; then
    echo "check-logs: no private key lines read from crates/revokd/tests/keys" >&2
    exit 1
fi
if hits=$(grep -rlF -f "$patterns" "$dir"); then
    echo "check-logs: a line of a test private key appears in these logs:" >&2
    echo "$hits" | head -5 >&2
    status=1
fi
if hits=$(grep -rl -- 'PRIVATE KEY-----' "$dir"); then
    echo "check-logs: a PEM private key appears in these logs:" >&2
    echo "$hits" | head -5 >&2
    status=1
fi
# The admin token a service generates for itself (first start without a configuration)
# is random: startup.rs checks that server's log for it.
# A signed JWT (header.payload of base64url JSON) must never be logged either.
if hits=$(grep -rlE 'eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}' "$dir"); then
    echo "check-logs: a token appears in these logs:" >&2
    echo "$hits" | head -5 >&2
    status=1
fi
if [ "$status" -eq 0 ]; then
    echo "check-logs: $count server logs, no secret and no token in any"
fi
exit "$status"
