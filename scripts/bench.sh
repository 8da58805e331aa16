#!/usr/bin/env bash
# The full audit of a /16 through Knot DNS, as a share of Knot's own capacity.
#
#   scripts/bench.sh [RUNS] [knot|unbound|walk|both]      (defaults: 3, both = all three)
#
# 1. Generates the /16 fixture (65,536 addresses) under target/bench/net16.
# 2. Serves it with Knot DNS on a free loopback port (one UDP worker, so the two cores
#    are shared between Knot and the client, as in production on a small box).
# 3. Each run: dnsperf's rate against that Knot on the scan's own query mix (the PTR
#    names of every address and the forward names the ground truth lists), then
#    `ptraudit scan 198.18.0.0/16` through the same Knot writing CSV and Parquet, timed
#    with /usr/bin/time.
# 4. Checks every row against the ground truth, and prints medians: addresses/s,
#    queries/s, ratio to dnsperf, CPU seconds and µs per query, peak RSS.
# 5. The same through Unbound (2 threads, stub zones to that Knot) with a cold cache, the
#    realistic deployment: before each measurement (dnsperf's, then ptraudit's) Unbound is
#    restarted, and dnsperf runs through the query mix once (-n 1), so every query is a
#    cache miss for both.
# 6. The RFC 8020 walk against brute force (scripts/bench-walk.sh, through Knot serving
#    fixtures/walk): queries and time of the sparse IPv4 /16, IPv6 node questions against
#    the least a walk can ask.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
which=${2:-both}
out=target/bench
mkdir -p "$out"

source scripts/bench-lib.sh
need=()
command -v dnsperf >/dev/null || need+=(dnsperf)
command -v knotd >/dev/null || [ -x /usr/sbin/knotd ] || need+=(knot)
command -v unbound >/dev/null || [ -x /usr/sbin/unbound ] || need+=(unbound)
[ -x /usr/bin/time ] || need+=(time)
install_missing "${need[@]}"

python3 scripts/gen_fixtures.py --prefix 198.18.0.0/16 --out "$out/net16"
cargo build --release --locked -q -p ptraudit -p ptraudit-testdns

# The query mix the scan sends: every PTR, plus A for each distinct PTR name.
python3 - "$out/net16/truth.csv" "$out/mix.txt" <<'PY'
import csv, sys
rows = [r for r in csv.DictReader(open(sys.argv[1])) if ":" not in r["ip"]]
names = []
seen = set()
with open(sys.argv[2], "w") as f:
    for r in rows:
        a, b, c, d = r["ip"].split(".")
        f.write(f"{d}.{c}.{b}.{a}.in-addr.arpa PTR\n")
        for n in filter(None, r["ptr_names"].split(";")):
            if n not in seen:
                seen.add(n)
                names.append(n)
    for n in names:
        f.write(f"{n} A\n")
PY

start_knot "$out/net16/zones.txt" "$out/knot.out"
trap 'kill $knot_pid $knot_wrapper 2>/dev/null || true' EXIT
echo "bench: Knot on $addr (pid $knot_pid)"

# measure NAME RESOLVER_ADDR DNSPERF_RATE: one timed scan through the resolver, checked.
measure() {
  local name=$1 addr=$2 ref=$3 results=$4
  rm -f "$out/scan.csv" "$out/scan.parquet"
  /usr/bin/time -f 'time_user=%U time_sys=%S time_elapsed=%e rss_kib=%M' -o "$out/time.txt" \
    target/release/ptraudit scan 198.18.0.0/16 --resolver "$addr" -o "$out/scan.csv" \
    -o "$out/scan.parquet" 2>"$out/scan.err"
  queries=$(sed -n 's/^ptraudit: [0-9]* addresses, \([0-9]*\) queries.*/\1/p' "$out/scan.err" | tail -1)
  retries=$(sed -n 's/^ptraudit: DNS: .*, \([0-9]*\) retries.*/\1/p' "$out/scan.err" | tail -1)
  wrong=$(python3 - "$out/net16/truth.csv" "$out/scan.csv" <<'PY'
import csv, sys
truth = {r["ip"]: r for r in csv.DictReader(open(sys.argv[1])) if ":" not in r["ip"]}
rows = list(csv.DictReader(open(sys.argv[2])))
wrong = abs(len(rows) - len(truth))
seen = set()
for r in rows:
    t = truth.get(r["ip"])
    if t is None or r["ip"] in seen:
        wrong += 1
        continue
    seen.add(r["ip"])
    reason = t["flags"] if t["fcrdns"] == "pass" else t["fcrdns_reason"]
    same = (r["fcrdns"] == t["fcrdns"] and r["fcrdns_reason"] == reason
            and r["ptr"] == t["ptr"] and r["generic"] == t["generic"]
            and set(filter(None, r["ptr_all"].split(";"))) == set(filter(None, t["ptr_names"].split(";")))
            and set(filter(None, r["forward_addrs"].split(";"))) == set(filter(None, t["forward_addrs"].split(";"))))
    wrong += not same
print(wrong)
PY
)
  read -r tu ts te rss < <(sed 's/[a-z_]*=//g' "$out/time.txt")
  line=$(awk -v q="$queries" -v r="$retries" -v ref="$ref" -v tu="$tu" -v ts="$ts" -v te="$te" -v rss="$rss" -v w="$wrong" 'BEGIN {
    printf "addresses_per_s=%.0f queries=%d retries=%d queries_per_s=%.0f dnsperf_qps=%.0f ratio=%.3f cpu_s=%.2f cpu_us_per_query=%.2f user_us_per_query=%.2f sys_us_per_query=%.2f peak_rss_kib=%d wrong_rows=%d",
      65536/te, q, r, q/te, ref, (q/te)/ref, tu+ts, (tu+ts)*1e6/q, tu*1e6/q, ts*1e6/q, rss, w }')
  echo "$name run $i: $line" | tee -a "$results"
}

median() { sort -g | awk '{a[NR]=$1} END{ if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2 }'; }
report() {
  local results=$1 title=$2
  field() { sed -n "s/.* $1=\\([0-9.]*\\).*/\\1/p" "$results" | median; }
  echo "median of $runs runs, ptraudit scan 198.18.0.0/16 $title:"
  for f in addresses_per_s queries_per_s retries dnsperf_qps ratio cpu_s cpu_us_per_query \
    user_us_per_query sys_us_per_query peak_rss_kib wrong_rows; do
    printf '  %-18s %s\n' "$f" "$(field $f)"
  done
  # CPU time on a shared VM only grows with interference: the least of the runs is the
  # figure least disturbed by it (printed next to the median, not instead of it).
  printf '  %-18s %s\n' "cpu_us_per_query, least of the runs" \
    "$(sed -n 's/.* cpu_us_per_query=\([0-9.]*\).*/\1/p' "$results" | sort -g | head -1)"
}

if [ "$which" = knot ] || [ "$which" = both ]; then
  results="$out/scan-runs.txt"
  : >"$results"
  for i in $(seq "$runs"); do
    ref=$(dnsperf -s "${addr%:*}" -p "${addr##*:}" -d "$out/mix.txt" -l 10 -c 8 -q 1000 -T 1 2>&1 |
      sed -n 's/.*Queries per second: *\([0-9.]*\).*/\1/p')
    measure knot "$addr" "$ref" "$results"
  done
  report "$results" "through Knot (1 UDP worker)"
fi

if [ "$which" = unbound ] || [ "$which" = both ]; then
  # start_unbound: a fresh Unbound (empty cache) in front of the Knot above.
  unbound_pid=""; ubw=""
  start_unbound() {
    local log="$out/unbound.out"
    target/release/ptraudit-testdns unbound --zones "$out/net16/zones.txt" --upstream "$addr" \
      --workers 2 >"$log" &
    ubw=$!
    for _ in $(seq 200); do grep -q '^listening' "$log" 2>/dev/null && break; sleep 0.1; done
    uaddr=$(sed -n 's/^listening udp=\([^ ]*\) .*/\1/p' "$log")
    unbound_pid=$(sed -n 's/.* pid=\([0-9]*\).*/\1/p' "$log")
    [ -n "$uaddr" ] || { echo "bench: Unbound did not start" >&2; cat "$log" >&2; exit 1; }
  }
  stop_unbound() {
    kill "$unbound_pid" "$ubw" 2>/dev/null || true
    wait "$ubw" 2>/dev/null || true
  }
  trap 'stop_unbound; kill $knot_pid $knot_wrapper 2>/dev/null || true' EXIT
  uresults="$out/scan-runs-unbound.txt"
  : >"$uresults"
  for i in $(seq "$runs"); do
    start_unbound
    ref=$(dnsperf -s "${uaddr%:*}" -p "${uaddr##*:}" -d "$out/mix.txt" -n 1 -c 8 -q 1000 -t 10 -T 1 2>&1 |
      sed -n 's/.*Queries per second: *\([0-9.]*\).*/\1/p')
    stop_unbound
    start_unbound
    measure unbound "$uaddr" "$ref" "$uresults"
    stop_unbound
  done
  report "$uresults" "through Unbound (2 threads, cold cache, stub zones to Knot)"
fi

if [ "$which" = walk ] || [ "$which" = both ]; then
  kill "$knot_pid" "$knot_wrapper" 2>/dev/null || true
  scripts/bench-walk.sh "$runs"
fi
