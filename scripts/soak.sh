#!/usr/bin/env bash
# Soak (a benchmark, not part of the test suite): a long scan through testdns with faults,
# memory sampled over time, every row checked.
#
#   scripts/soak.sh [MINUTES] [CACHE]     (defaults: 10, 20000)
#
# Generates the fixture network over all of 198.18.0.0/15 (131,072 addresses: the whole
# benchmark block, the largest range the fixtures may use) under target/soak/net15,
# serves it with ptraudit-testdns injecting faults (10% loss, 5% late replies, duplicates,
# wrong IDs, wrong source ports, wrong questions, malformed and truncated replies, 2%
# SERVFAIL), and scans it with --rate set so the run lasts about MINUTES, writing CSV and
# Parquet. Every 10 s it samples the scanner's resident memory (VmRSS); at the end it
# checks the rows against the ground truth (every address once, each verdict right; a
# temperror is counted: a lookup the faults left undecided) and prints the RSS curve.
# The scan's memory beyond its window is the forward-name cache (--cache-names, default
# 100,000) and one Parquet row group (65,536 rows); the /15 holds about 110,000 distinct
# names, so with the default the cache fills only at the very end of the run: CACHE
# (--cache-names) defaults to 20,000 here so the run reaches its steady state early and
# the curve shows whether memory stays flat once every bound is reached.
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-10}
cache=${2:-20000}
out=target/soak
mkdir -p "$out"
addresses=131072
# Queries per address are about 1.8 (PTR, a share of forward lookups, retries).
rate=$((addresses * 18 / 10 / (minutes * 60) + 1))
python3 scripts/gen_fixtures.py --prefix 198.18.0.0/15 --out "$out/net15"
cargo build --release --locked -q -p ptraudit -p ptraudit-testdns
target/release/ptraudit-testdns --zones "$out/net15/zones.txt" --listen 127.0.0.1:0 \
  --seed 7 --drop 0.10 --delay-share 0.05 --delay 300 --jitter 50 --duplicate 0.02 \
  --wrong-id 0.02 --wrong-source 0.02 --wrong-question 0.02 --malformed 0.02 \
  --truncate 0.01 --servfail 0.02 >"$out/server.out" &
srv=$!
trap 'kill $srv 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q '^listening' "$out/server.out" && break; sleep 0.1; done
addr=$(sed -n 's/^listening udp=\([^ ]*\) .*/\1/p' "$out/server.out")
rm -f "$out/scan.csv" "$out/scan.parquet"
echo "soak: scanning 198.18.0.0/15 through $addr at $rate q/s for about $minutes minutes"
start=$SECONDS
target/release/ptraudit scan 198.18.0.0/15 --resolver "$addr" --rate "$rate" --quiet --cache-names "$cache" \
  -o "$out/scan.csv" -o "$out/scan.parquet" 2>"$out/scan.err" &
scan=$!
: >"$out/rss.txt"
while kill -0 "$scan" 2>/dev/null; do
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/$scan/status" 2>/dev/null || true)
  [ -n "$rss" ] && echo "$((SECONDS - start)) $rss" >>"$out/rss.txt"
  sleep 10
done
wait "$scan"
echo "soak: scan took $((SECONDS - start)) s"
python3 - "$out/net15/truth.csv" "$out/scan.csv" "$out/rss.txt" <<'PY'
import csv, sys
truth = {r["ip"]: r for r in csv.DictReader(open(sys.argv[1])) if ":" not in r["ip"]}
rows = list(csv.DictReader(open(sys.argv[2])))
seen, wrong, temperror = set(), 0, 0
for r in rows:
    if r["ip"] in seen or r["ip"] not in truth:
        wrong += 1
        continue
    seen.add(r["ip"])
    t = truth[r["ip"]]
    if r["fcrdns"] == "temperror":
        temperror += 1
    elif r["fcrdns"] != t["fcrdns"]:
        wrong += 1
missing = len(truth) - len(seen)
rss = [tuple(map(int, l.split())) for l in open(sys.argv[3]) if l.strip()]
print(f"soak: {len(rows)} rows, {len(seen)} addresses, {missing} missing, {wrong} wrong or "
      f"duplicated, {temperror} temperror (lookups the faults left undecided)")
if rss:
    kib = [k for _, k in rss]
    print(f"soak: RSS KiB over time, {len(rss)} samples: first {rss[0]}, last {rss[-1]}, "
          f"min {min(kib)}, max {max(kib)}")
    step = max(1, len(rss) // 12)
    print("soak: curve (s=KiB): " + ", ".join(f"{s}={k}" for s, k in rss[::step]))
sys.exit(1 if missing or wrong else 0)
PY
