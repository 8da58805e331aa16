#!/usr/bin/env bash
# The RFC 8020 walk against brute force, through Knot DNS serving fixtures/walk.
#
#   scripts/bench-walk.sh [RUNS]      (default 3; also run by scripts/bench.sh)
#
# 1. Sparse IPv4: `scan --walk 198.19.0.0/16` against `scan --no-walk 198.19.0.0/16`
#    (6 of 256 /24s hold data): queries and wall time of each, their ratios, and whether
#    the two wrote the same rows (ip, ptr_status, ptr, fcrdns, fcrdns_reason, generic).
# 2. Sparse IPv6: `scan 2001:db8::/32` (walked): node questions per IPv6 name found,
#    above full depth, against the least a walk of that tree can ask there — 1 + 16 × the
#    names that exist at /32../120 (fixtures/walk/stats.txt) — and the hosts found against
#    the truth.
# Medians of RUNS runs.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
out=target/bench/walk
mkdir -p "$out"

source scripts/bench-lib.sh
need=()
command -v knotd >/dev/null || [ -x /usr/sbin/knotd ] || need+=(knot)
install_missing "${need[@]}"
cargo build --release --locked -q -p ptraudit -p ptraudit-testdns

start_knot fixtures/walk/zones.txt "$out/knot.out"
trap 'kill $knot_pid $knot_wrapper 2>/dev/null || true' EXIT
echo "bench-walk: Knot on $addr (pid $knot_pid)"

# scan NAME ARGS...: one timed scan to $out/NAME.csv; prints "seconds queries nodes".
scan() {
  local name=$1
  shift
  rm -f "$out/$name.csv"
  local t0 t1
  t0=$(date +%s.%N)
  "$ptraudit" scan "$@" --resolver "$addr" -o "$out/$name.csv" 2>"$out/$name.err"
  t1=$(date +%s.%N)
  local q n
  q=$(sed -n 's/^ptraudit: [0-9]* addresses, \([0-9]*\) queries.*/\1/p' "$out/$name.err" | tail -1)
  n=$(sed -n 's/^ptraudit: walk: \([0-9]*\) node questions.*/\1/p' "$out/$name.err" | tail -1)
  echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}') $q ${n:-0}"
}

median() { sort -g | awk '{a[NR]=$1} END{ if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2 }'; }

results="$out/runs.txt"
: >"$results"
for i in $(seq "$runs"); do
  read -r wt wq _ < <(scan walk4 198.19.0.0/16 --walk)
  read -r bt bq _ < <(scan brute4 198.19.0.0/16 --no-walk)
  same=$(python3 - "$out/walk4.csv" "$out/brute4.csv" <<'PY'
import csv, sys
def rows(p):
    return sorted((r["ip"], r["ptr_status"], r["ptr"], r["fcrdns"], r["fcrdns_reason"], r["generic"])
                  for r in csv.DictReader(open(p)))
a, b = rows(sys.argv[1]), rows(sys.argv[2])
print(int(a == b and len(a) == 65536))
PY
)
  read -r st sq sn < <(scan walk6 2001:db8::/32)
  found=$(python3 - "$out/walk6.csv" fixtures/walk/truth.csv <<'PY'
import csv, ipaddress, sys
rows = [r for r in csv.DictReader(open(sys.argv[1])) if not r["fcrdns_reason"].startswith("walk-")]
truth = {r["ip"] for r in csv.DictReader(open(sys.argv[2])) if ":" in r["ip"]}
got = {r["ip"] for r in rows}
print(len(got & truth), len(truth), len(got - truth))
PY
)
  read -r hit want extra <<<"$found"
  # Questions above full depth: the root, and 16 for every name that exists at /32../120.
  least=$(awk '/^ipv6 names that exist at \/[0-9]+:/ { split($6, l, "/"); if (l[2] + 0 < 124) s += $7 } END { print 1 + 16 * s }' fixtures/walk/stats.txt)
  line=$(awk -v wt="$wt" -v wq="$wq" -v bt="$bt" -v bq="$bq" -v same="$same" -v st="$st" -v sq="$sq" \
    -v sn="$sn" -v hit="$hit" -v want="$want" -v extra="$extra" -v least="$least" 'BEGIN {
    printf "v4_walk_queries=%d v4_brute_queries=%d v4_query_ratio=%.4f v4_walk_s=%.3f v4_brute_s=%.3f v4_time_ratio=%.3f v4_rows_equal=%d v6_queries=%d v6_node_questions=%d v6_least_node_questions=%d v6_node_questions_over_least=%.3f v6_found=%d v6_truth=%d v6_extra=%d v6_queries_per_name=%.1f v6_s=%.3f",
      wq, bq, wq/bq, wt, bt, wt/bt, same, sq, sn, least, sn/least, hit, want, extra, sq/(hit>0?hit:1), st }')
  echo "run $i: $line" | tee -a "$results"
done

field() { sed -n "s/.* $1=\\([0-9.]*\\).*/\\1/p" "$results" | median; }
echo "median of $runs runs, the walk through Knot (fixtures/walk):"
for f in v4_walk_queries v4_brute_queries v4_query_ratio v4_walk_s v4_brute_s v4_time_ratio \
  v4_rows_equal v6_queries v6_node_questions v6_least_node_questions \
  v6_node_questions_over_least v6_found v6_truth v6_extra v6_queries_per_name v6_s; do
  printf '  %-30s %s\n' "$f" "$(field $f)"
done
