#!/usr/bin/env bash
# Fuzzing of everything that reads untrusted input:
#   1. property-based (proptest, stable) for SECONDS seconds: reply parsing and matching
#      (crates/dns), the zone-file loader (crates/testdns), the classifier
#      (crates/classify), the target and shard parsers (crates/scan);
#   2. coverage-guided (cargo-fuzz/libFuzzer) for SECONDS seconds per target: the reply
#      reader, the zone-file parser, the target parser, the rules parser and the
#      scan-output readers (fuzz/fuzz_targets/), from the seed corpora in fuzz/corpus/.
#      Built with the machine's one (stable) toolchain: RUSTC_BOOTSTRAP=1 lets it take the
#      -Z flags cargo-fuzz passes, and --sanitizer none needs no sanitizer runtime (the
#      targets run safe code; a panic or a hang is what they find). Skipped with a loud
#      line when cargo-fuzz is missing, unless PTRAUDIT_REQUIRE_FUZZ=1 (scripts/test.sh
#      installs it from crates.io and sets it).
#
#   scripts/fuzz.sh [SECONDS]      (default 60)
#
# Each round runs every `fuzz_*` property test with many cases and a fresh random seed.
# A failure prints the test's whole output — with proptest's minimal failing input — and
# exits 1; proptest records the input under the crate's `proptest-regressions/` folder:
# commit that file, it is replayed by every test run.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
if ! cargo test --locked -q --workspace --lib --no-run >"$out" 2>&1; then
  cat "$out" >&2
  echo "fuzz: the property tests do not build" >&2
  exit 1
fi
end=$((SECONDS + secs))
rounds=0
while [ "$SECONDS" -lt "$end" ]; do
  if ! PROPTEST_CASES=${PROPTEST_CASES:-4000} cargo test --locked -q --workspace --lib fuzz_ >"$out" 2>&1; then
    # The output holds "minimal failing input: …" and the seed: shown, not discarded.
    cat "$out" >&2
    echo "fuzz: a property failed in round $((rounds + 1)); its minimal failing input is above" >&2
    exit 1
  fi
  rounds=$((rounds + 1))
done
echo "fuzz: $rounds rounds of every fuzz_ target in ${secs}s, no failure"

if ! cargo fuzz --version >/dev/null 2>&1; then
  if [ "${PTRAUDIT_REQUIRE_FUZZ:-0}" = 1 ]; then
    echo "fuzz: cargo-fuzz is missing" >&2
    exit 1
  fi
  echo "SKIPPED coverage-guided fuzzing: needs cargo-fuzz (cargo install --locked cargo-fuzz)"
  exit 0
fi
export RUSTC_BOOTSTRAP=1
# Built in the test command so the targets do not rot; new corpus entries go to a
# scratch folder, the committed seeds are only read.
if ! (cd fuzz && cargo fuzz build -O --sanitizer none) >"$out" 2>&1; then
  cat "$out" >&2
  echo "fuzz: the cargo-fuzz targets do not build" >&2
  exit 1
fi
scratch=$(mktemp -d)
trap 'rm -f "$out"; rm -rf "$scratch"' EXIT
for target in reply zonefile targets rules scan_output; do
  mkdir -p "$scratch/$target"
  if ! (cd fuzz && cargo fuzz run -O --sanitizer none "$target" "$scratch/$target" "corpus/$target" -- \
    -max_total_time="$secs" -max_len=8192 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1) \
    >"$out" 2>&1; then
    # libFuzzer's report: the failing input (as bytes), the artifact's path under
    # fuzz/artifacts/ and how to reproduce it. Make a regression test of it.
    cat "$out" >&2
    echo "fuzz: target $target failed; the input is above and under fuzz/artifacts/$target/" >&2
    exit 1
  fi
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$out" | grep -o '[0-9]*$' || echo "?")
  echo "fuzz: cargo-fuzz $target: $runs runs in ${secs}s, no failure"
done
