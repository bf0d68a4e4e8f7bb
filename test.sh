#!/usr/bin/env bash
# The whole test suite: unit, integration (crash, two-process, conformance on SQLite,
# PostgreSQL and Redis, faults, external implementations: PyJWT, Authlib, nginx), doc
# tests; then the logs the server tests kept are checked for secrets and tokens.
set -euo pipefail
cd "$(dirname "$0")"
./scripts/test-deps.sh
rm -rf target/test-logs
cargo test --locked --workspace --all-features "$@"
if [ "$#" -eq 0 ]; then
    ./scripts/check-logs.sh
fi
