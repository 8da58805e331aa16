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
python3 scripts/gen_labeled.py --check

step "cargo test (unit, integration, interop with Knot and Unbound, doc tests)"
PTRAUDIT_REQUIRE_INTEROP=1 cargo_test --locked --workspace

step "fuzzing, a short pass (scripts/fuzz.sh SECONDS runs longer)"
scripts/fuzz.sh 10

step "Parquet read by a real consumer (DuckDB)"
python3 -c "import duckdb" 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check duckdb
cargo build --locked --quiet -p ptraudit
demo=target/ci-demo
rm -rf "$demo"
target/debug/ptraudit demo --out "$demo" --quiet >/dev/null
python3 scripts/check_parquet.py "$demo/scan.parquet" "$demo/scan.csv"

step "report reads the demo's Parquet rewritten by DuckDB (microsecond timestamps, snappy)"
python3 - "$demo" <<'PY'
import sys, duckdb
d = sys.argv[1]
con = duckdb.connect()
con.execute(f"COPY (SELECT * FROM '{d}/scan.parquet') TO '{d}/duckdb.parquet'")
con.execute(f"COPY (SELECT * FROM '{d}/scan.parquet') TO '{d}/duckdb-zstd.parquet' (COMPRESSION zstd)")
PY
target/debug/ptraudit report "$demo/scan.parquet" >"$demo/report.txt"
for f in duckdb duckdb-zstd; do
  target/debug/ptraudit report "$demo/$f.parquet" >"$demo/report-$f.txt"
  cmp "$demo/report.txt" "$demo/report-$f.txt"
done
echo "report on DuckDB's rewrites: the same totals as on the original ($(sed -n 2p "$demo/report.txt" | tr -s ' '))"

step "HTML report rendered by headless Chromium"
have chromium || {
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null
}
target/debug/ptraudit report "$demo/scan.parquet" --html "$demo/report.html" --force >/dev/null
profile=$(mktemp -d)
# The flags keep Chromium off the (closed) network; the PNG stays in target/ for people.
timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$profile" --hide-scrollbars --window-size=1280,1400 \
  --screenshot="$PWD/target/report.png" "file://$PWD/$demo/report.html" >/dev/null 2>&1
rm -rf "$profile"
python3 scripts/check_png.py target/report.png 1200 1000

step "benchmarks, one smoke run each"
cargo_test --locked --workspace --benches
grep -q '^client_ptr_throughput queries=' "$log" || { echo "benchmark smoke run missing" >&2; exit 1; }

step "all checks passed"
awk '/^test result:/ { p += $4; f += $6; i += $8 } END { printf "total: %d passed, %d failed, %d skipped\n", p, f, i }' "$log"
