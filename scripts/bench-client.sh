#!/usr/bin/env bash
# PTR throughput of the DNS client against ptraudit-testdns on loopback.
#
#   scripts/bench-client.sh [RUNS] [QUERIES]        (defaults: 5 runs of 500000 queries)
#
# Generates the /16 fixture (65,536 addresses) under target/bench/, starts the test
# server in its own process (one worker thread), and in each of RUNS rounds measures
#   1. the server's capacity with dnsperf (Debian package dnsperf) on the same PTR mix,
#   2. the client benchmark, which checks every reply against the ground truth.
# Prints each round, then medians: client queries/s, its ratio to dnsperf's rate in the
# same round, client CPU per 100k queries and per query, client peak RSS, and the server's
# CPU share during the client run (1.00 = the server was saturated).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
queries=${2:-500000}
out=target/bench
mkdir -p "$out"

command -v dnsperf >/dev/null || {
  echo "bench-client: dnsperf missing; apt-get install dnsperf" >&2
  exit 1
}
python3 scripts/gen_fixtures.py --prefix 198.18.0.0/16 --out "$out/net16"
# dnsperf's query file: the PTR names of every IPv4 address of the fixture.
awk -F, 'NR > 1 && $1 ~ /^[0-9.]+$/ { split($1, o, "."); print o[4] "." o[3] "." o[2] "." o[1] ".in-addr.arpa PTR" }' \
  "$out/net16/truth.csv" >"$out/ptr-queries.txt"
cargo build --release --locked -p ptraudit-testdns --bin ptraudit-testdns
cargo bench --locked -p ptraudit-benches --bench client_ptr_throughput --no-run

bench_bin=$(ls -t "${CARGO_TARGET_DIR:-target}"/release/deps/client_ptr_throughput-* | grep -v '\.d$' | head -1)
log="$out/testdns.out"
"${CARGO_TARGET_DIR:-target}"/release/ptraudit-testdns --zones "$out/net16/zones.txt" --workers 1 >"$log" &
server_pid=$!
trap 'kill $server_pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  grep -q '^listening' "$log" 2>/dev/null && break
  sleep 0.1
done
addr=$(sed -n 's/^listening udp=\([^ ]*\) .*/\1/p' "$log")
[ -n "$addr" ] || { echo "bench-client: test server did not start" >&2; exit 1; }

ticks=$(getconf CLK_TCK)
server_cpu() { awk '{print $14 + $15}' "/proc/$server_pid/stat"; }

results="$out/client-runs.txt"
: >"$results"
for i in $(seq "$runs"); do
  ref=$(dnsperf -s "${addr%:*}" -p "${addr##*:}" -d "$out/ptr-queries.txt" -l 5 -c 8 -q 2000 -T 1 2>&1 |
    sed -n 's/.*Queries per second: *\([0-9.]*\).*/\1/p')
  s0=$(server_cpu)
  line=$("$bench_bin" --bench --server "$addr" --fixtures "$out/net16" --queries "$queries")
  s1=$(server_cpu)
  elapsed=$(sed -n 's/.*elapsed_s=\([0-9.]*\).*/\1/p' <<<"$line")
  share=$(awk -v a="$s0" -v b="$s1" -v t="$ticks" -v e="$elapsed" 'BEGIN{printf "%.2f", (b-a)/t/e}')
  ratio=$(awk -v q="$(sed -n 's/.* qps=\([0-9.]*\).*/\1/p' <<<"$line")" -v r="$ref" 'BEGIN{printf "%.3f", q/r}')
  echo "run $i: $line server_cpu_share=$share dnsperf_qps=$ref ratio=$ratio" | tee -a "$results"
done

median() { sort -g | awk '{a[NR]=$1} END{ if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2 }'; }
field() { sed -n "s/.* $1=\\([0-9.]*\\).*/\\1/p" "$results" | median; }
echo "median of $runs runs, $queries PTR queries each, window 2000, 8 sockets:"
echo "  queries/s:                 $(field qps)"
echo "  dnsperf queries/s:         $(field dnsperf_qps)"
echo "  client / dnsperf:          $(field ratio)"
echo "  client CPU s / 100k:       $(field client_cpu_s_per_100k)"
echo "  client CPU us / query:     $(field client_cpu_us_per_query)"
echo "  client peak RSS KiB:       $(field peak_rss_kib)"
echo "  server CPU share (1 core): $(field server_cpu_share)"
