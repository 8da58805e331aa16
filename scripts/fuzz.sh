#!/usr/bin/env bash
# Property-based fuzzing of everything that reads untrusted input, for SECONDS seconds:
#   reply parsing and matching (crates/dns), the zone-file loader (crates/testdns),
#   the classifier (crates/classify), the target and shard parsers (crates/scan).
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
