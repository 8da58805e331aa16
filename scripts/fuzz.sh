#!/usr/bin/env bash
# Property-based fuzzing of everything that reads untrusted input, for SECONDS seconds:
#   reply parsing and matching (crates/dns), the zone-file loader (crates/testdns),
#   the classifier (crates/classify), the target and shard parsers (crates/scan).
#
#   scripts/fuzz.sh [SECONDS]      (default 60)
#
# Each round runs every `fuzz_*` property test with many cases and a fresh random seed.
# A failure prints the minimal input and proptest records it under the crate's
# `proptest-regressions/` folder: commit that file, it is replayed by every test run.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
cargo test --locked -q --workspace --lib --no-run 2>/dev/null
end=$((SECONDS + secs))
rounds=0
while [ "$SECONDS" -lt "$end" ]; do
  PROPTEST_CASES=${PROPTEST_CASES:-4000} cargo test --locked -q --workspace --lib fuzz_ >/dev/null
  rounds=$((rounds + 1))
done
echo "fuzz: $rounds rounds of every fuzz_ target in ${secs}s, no failure"
