#!/usr/bin/env bash
# Builds and runs every cargo-fuzz target in fuzz/ for SECONDS_PER_TARGET (default 20)
# on its seed corpus (fuzz/corpus/<target>) and its regression inputs
# (fuzz/regressions/<target>); exits non-zero if any target crashed, leaked or timed out.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
# Stable toolchain: cargo-fuzz's default AddressSanitizer needs `-Zsanitizer`, a nightly
# flag, so the targets are built with `--sanitizer none` (libFuzzer's coverage flags,
# -Cpasses=sancov-module and -Cllvm-args, are stable). All of revokd is safe Rust
# (unsafe_code = "forbid"), so ASan would only watch the C/asm of aws-lc. See
# docs/SECURITY.md, "Fuzzing". Set FUZZ_SANITIZER=address to build with ASan instead
# (it then also sets RUSTC_BOOTSTRAP=1, which lets stable take -Z flags, and builds in
# fuzz/target-address).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
secs="${1:-20}"
shift || true
case "$secs" in '' | *[!0-9]*) echo "usage: $0 [SECONDS_PER_TARGET] [TARGET...]" >&2; exit 2 ;; esac

sanitizer="${FUZZ_SANITIZER:-none}"
# Our own target dir: never the workspace's (another build may be using it), and one
# per sanitizer (their flags differ: sharing one would rebuild everything each switch).
if [ "$sanitizer" = none ]; then
  export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-$root/fuzz/target}"
else
  export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-$root/fuzz/target-$sanitizer}"
  export RUSTC_BOOTSTRAP=1
fi
mkdir -p "$CARGO_TARGET_DIR"

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz (cargo install cargo-fuzz --locked)"
  cargo install cargo-fuzz --locked
fi

cd "$root/fuzz"
if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  targets=()
  for f in fuzz_targets/*.rs; do targets+=("$(basename "$f" .rs)"); done
fi

echo "fuzz: building ${targets[*]} (sanitizer: $sanitizer, target dir: $CARGO_TARGET_DIR)"
cargo fuzz build --sanitizer "$sanitizer" >"$CARGO_TARGET_DIR/fuzz-build.log" 2>&1 || {
  tail -n 40 "$CARGO_TARGET_DIR/fuzz-build.log"
  echo "fuzz: build failed"
  exit 1
}

passed=0
failed=0
for t in "${targets[@]}"; do
  # New inputs go to a scratch corpus (git-ignored); the checked-in seeds and the
  # regressions are only read.
  work="$CARGO_TARGET_DIR/corpus/$t"
  mkdir -p "$work" "artifacts/$t"
  dirs=("$work" "corpus/$t")
  if [ -d "regressions/$t" ] && [ -n "$(ls -A "regressions/$t")" ]; then dirs+=("regressions/$t"); fi
  log="$CARGO_TARGET_DIR/fuzz-$t.log"
  set +e
  cargo fuzz run --sanitizer "$sanitizer" "$t" "${dirs[@]}" -- \
    -max_total_time="$secs" -max_len=16384 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1
  rc=$?
  set -e
  runs="$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\1 runs in \2 s/p' "$log" | tail -n 1)"
  stats="$(grep -E '^#[0-9]+' "$log" | grep -o 'cov: [0-9]* ft: [0-9]* corp: [^ ]*' | tail -n 1)"
  if [ "$rc" -eq 0 ]; then
    passed=$((passed + 1))
    echo "fuzz: $t: ok, ${runs:-? runs}, ${stats:-no stats} (log: $log)"
  else
    failed=$((failed + 1))
    echo "fuzz: $t: FAILED (exit $rc), ${runs:-? runs}, ${stats:-no stats}"
    grep -E "panicked at|^SUMMARY|Test unit written to|^thread '" "$log" | head -n 10 || true
    echo "      full log: $log"
  fi
done

echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
