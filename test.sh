#!/usr/bin/env bash
# The whole test suite: unit, integration (crash, two-process, conformance), doc tests.
set -euo pipefail
cd "$(dirname "$0")"
exec cargo test --locked --workspace --all-features "$@"
