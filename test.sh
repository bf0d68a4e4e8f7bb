#!/usr/bin/env bash
# The whole test suite: unit, integration (crash, two-process, conformance, external
# implementations: PyJWT, Authlib, nginx), doc tests.
set -euo pipefail
cd "$(dirname "$0")"
./scripts/test-deps.sh
exec cargo test --locked --workspace --all-features "$@"
