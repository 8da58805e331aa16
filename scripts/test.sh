#!/usr/bin/env bash
# The whole test suite: the one command the README promises and CI runs (.ci/run).
# Installs what it needs on a fresh Debian machine (Knot DNS, Unbound, kdig), then runs
# formatting, lints, docs, the fixture check, every test (interop included), and each
# benchmark once in smoke mode.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

# Every cargo test run is also logged, so the closing line can total them.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo_test() { cargo test "$@" 2>&1 | tee -a "$log"; }

have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }

missing=()
have knotd || missing+=(knot)
have unbound || missing+=(unbound)
have kdig || missing+=(knot-dnsutils)
have python3 || missing+=(python3)
if [ ${#missing[@]} -gt 0 ]; then
  step "installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  # The packages' own service start is irrelevant (and fails without systemd): the tests
  # start their own instances on free loopback ports.
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy"
cargo clippy --locked --workspace --all-targets -- -D warnings

step "cargo doc"
RUSTDOCFLAGS=-Dwarnings cargo doc --locked --no-deps --workspace --quiet

step "fixtures are what the generator produces"
python3 scripts/gen_fixtures.py --check

step "cargo test (unit, integration, interop with Knot and Unbound, doc tests)"
PTRAUDIT_REQUIRE_INTEROP=1 cargo_test --locked --workspace

step "Parquet read by a real consumer (DuckDB)"
python3 -c "import duckdb" 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check duckdb
cargo build --locked --quiet -p ptraudit
demo=target/ci-demo
rm -rf "$demo"
target/debug/ptraudit demo --out "$demo" --quiet >/dev/null
python3 scripts/check_parquet.py "$demo/scan.parquet" "$demo/scan.csv"

step "benchmarks, one smoke run each"
cargo_test --locked --workspace --benches
grep -q '^client_ptr_throughput queries=' "$log" || { echo "benchmark smoke run missing" >&2; exit 1; }

step "all checks passed"
awk '/^test result:/ { p += $4; f += $6; i += $8 } END { printf "total: %d passed, %d failed, %d skipped\n", p, f, i }' "$log"
