#!/usr/bin/env bash
# User-space instructions per query of the full audit of the /16, counted by callgrind:
# unlike CPU time on a shared machine, the count hardly moves from run to run, so it shows
# what a change to the code did. (System time is not in it: see scripts/bench.sh.)
#
#   scripts/bench-instructions.sh
#
# Serves the generated /16 fixture with Knot DNS (one UDP worker) on loopback and runs
# `ptraudit scan 198.18.0.0/16 -o scan.csv -o scan.parquet` under valgrind's callgrind.
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/bench
mkdir -p "$out"
source scripts/bench-lib.sh
need=()
command -v valgrind >/dev/null || need+=(valgrind)
command -v knotd >/dev/null || [ -x /usr/sbin/knotd ] || need+=(knot)
install_missing "${need[@]}"
python3 scripts/gen_fixtures.py --prefix 198.18.0.0/16 --out "$out/net16"
cargo build --release --locked -q -p ptraudit -p ptraudit-testdns

start_knot "$out/net16/zones.txt" "$out/knot-cg.out"
trap 'kill $knot_pid $knot_wrapper 2>/dev/null || true' EXIT

rm -f "$out/cg.csv" "$out/cg.parquet"
valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.out" \
  "$ptraudit" scan 198.18.0.0/16 --resolver "$addr" \
  -o "$out/cg.csv" -o "$out/cg.parquet" 2>"$out/cg.err"
instructions=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$out/cg.err")
queries=$(sed -n 's/^ptraudit: [0-9]* addresses, \([0-9]*\) queries.*/\1/p' "$out/cg.err" | tail -1)
awk -v i="$instructions" -v q="$queries" 'BEGIN {
  printf "instructions=%.0f queries=%d instructions_per_query=%.0f\n", i, q, i / q }'
echo "profile: $out/callgrind.out (callgrind_annotate --inclusive=yes $out/callgrind.out | head -60)"
