#!/usr/bin/env bash
# The full audit of a /16 through Knot DNS and through recursive resolvers in front of it,
# as a share of what dnsperf gets from the same server; and the scan given a fast and a
# slow (or lossy) resolver together.
#
#   scripts/bench.sh [RUNS] [MODE]       (defaults: 3 runs, both)
#
#   MODE: knot | unbound | bind | pdns | resolvers (= unbound bind pdns) | twoway | walk
#         | both (= knot unbound walk) | all (= knot, the three resolvers, twoway, walk)
#
# 1. Generates the /16 fixture (65,536 addresses) under target/bench/net16.
# 2. Serves it with Knot DNS on a free loopback port (one UDP worker, so the two cores
#    are shared between Knot and the client, as in production on a small box).
# 3. knot: each run, dnsperf's rate against that Knot on the scan's own query mix (the
#    PTR names of every address and the forward names the ground truth lists), then
#    `ptraudit scan 198.18.0.0/16` through the same Knot writing CSV and Parquet, timed
#    with /usr/bin/time.
# 4. Checks every row against the ground truth, and prints medians: addresses/s,
#    queries/s, ratio to dnsperf, CPU seconds and µs per query, peak RSS, and what the
#    scan reports of retries, timeouts, late replies and congestion-window halvings; and,
#    for the scan and for dnsperf, the CPU seconds other processes used meanwhile and the
#    seconds the hypervisor stole (a disturbed run says so).
# 5. unbound, bind, pdns: the same through Unbound, BIND 9 or PowerDNS Recursor (2
#    threads each, every fixture zone sent to that Knot) with a cold cache, the realistic
#    deployment: before each measurement (dnsperf's and ptraudit's, taking turns at going
#    first) the resolver is restarted, and dnsperf runs through the query mix once (-n 1), so every query is a
#    cache miss for both. Each resolver is first checked to answer a PTR and an A record
#    of the fixture as the truth has them.
# 6. twoway: the scan through Knot alone, through Knot plus a testdns proxy that answers
#    every query 50 ms late (in front of the same Knot), and through Knot plus a proxy
#    that drops 15% of queries: wall-time medians, their ratio to Knot alone, the share
#    of queries each resolver got, every row checked.
# 7. walk: the RFC 8020 walk against brute force (scripts/bench-walk.sh, through Knot
#    serving fixtures/walk).
#
# PTRAUDIT=path/to/ptraudit measures another build of the scanner with the same servers.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
which=${2:-both}
case $which in
  knot | unbound | bind | pdns | twoway | walk) parts=$which ;;
  resolvers) parts="unbound bind pdns" ;;
  both) parts="knot unbound walk" ;;
  all) parts="knot unbound bind pdns twoway walk" ;;
  *) sed -n '2,9p' "$0" >&2; exit 2 ;;
esac
part() { [[ " $parts " == *" $1 "* ]]; }
out=target/bench
mkdir -p "$out"

# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh
need=()
have dnsperf || need+=(dnsperf)
have knotd || need+=(knot)
have kdig || need+=(knot-dnsutils)
[ -x /usr/bin/time ] || need+=(time)
for kind in $resolver_kinds; do
  if part "$kind" && ! have "$(resolver_program "$kind")"; then
    need+=("$(resolver_package "$kind")")
  fi
done
install_missing "${need[@]}"

# The generator takes minutes: reuse a fixture it wrote after its last change.
if [ ! "$out/net16/truth.csv" -nt scripts/gen_fixtures.py ]; then
  python3 scripts/gen_fixtures.py --prefix 198.18.0.0/16 --out "$out/net16"
fi
cargo build --release --locked -q -p ptraudit -p ptraudit-testdns
truth="$out/net16/truth.csv"

# The query mix the scan sends: every PTR, plus A for each distinct PTR name.
python3 - "$truth" "$out/mix.txt" <<'PY'
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

# Every server this script starts, stopped on exit: "PID,WRAPPER" (PID empty for our own).
servers=()
cleanup() {
  stop_resolver
  local s
  for s in "${servers[@]}"; do stop_started "${s%,*}" "${s#*,}"; done
}
trap cleanup EXIT

start_knot "$out/net16/zones.txt" "$out/knot.out"
servers+=("$knot_pid,$knot_wrapper")
echo "bench: Knot on $addr (pid $knot_pid)"

# Names for resolver addresses in the per-resolver shares.
declare -A labels=(["$addr"]=knot)

# disturbance CMD...: runs CMD under /usr/bin/time (its figures in $out/time.txt) and
# sets `disturbed`: the CPU seconds that processes other than CMD and the DNS servers
# (knotd, named, unbound, pdns_recursor, ptraudit-testdns) used meanwhile, and the
# seconds the hypervisor stole from this VM, as key=value pairs. A run with much of
# either was measured on a machine busy with something else.
server_ticks() {
  # "PID:TICKS ..." (processes may end while read: cat's complaint is no error here)
  { cat /proc/[0-9]*/stat 2>/dev/null || true; } |
    awk '$2 ~ /^\((knotd|named|unbound|pdns_recursor|ptraudit-testdn)\)$/ {
      printf "%s:%d ", $1, $14 + $15 }'
}
# server_delta BEFORE AFTER: ticks the servers used between two server_ticks, counting
# those running at both (one that ended meanwhile was being stopped, not measured).
server_delta() {
  awk -v a="$1" -v b="$2" 'BEGIN {
    n = split(a, x, " "); for (i = 1; i <= n; i++) { split(x[i], p, ":"); t0[p[1]] = p[2] }
    n = split(b, x, " "); for (i = 1; i <= n; i++) { split(x[i], p, ":"); if (p[1] in t0) d += p[2] - t0[p[1]] }
    print d + 0 }'
}
machine_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $9 }' /proc/stat; }
disturbance() {
  local busy0 steal0 busy1 steal1 s0 s1 status=0
  s0=$(server_ticks)
  read -r busy0 steal0 < <(machine_ticks)
  /usr/bin/time -f 'time_user=%U time_sys=%S time_elapsed=%e rss_kib=%M' -o "$out/time.txt" \
    "$@" || status=$?
  read -r busy1 steal1 < <(machine_ticks)
  s1=$(server_ticks)
  disturbed=$(awk -v b=$((busy1 - busy0)) -v st=$((steal1 - steal0)) -v s="$(server_delta "$s0" "$s1")" \
    -v hz="$(getconf CLK_TCK)" -v cmd="$(sed 's/[a-z_]*=//g' "$out/time.txt")" 'BEGIN {
      split(cmd, c, " "); o = (b - s) / hz - c[1] - c[2]; if (o < 0) o = 0
      printf "others_cpu_s=%.2f stolen_s=%.2f", o, st / hz }')
  return $status
}

# scan_once RESOLVER...: one timed scan of the /16 through the resolvers, checked
# against the truth. Sets te, tu, ts, rss (elapsed, user, system seconds, peak KiB),
# queries, wrong (rows whose DNS data or FCrDNS verdict differ from the truth, missing or
# extra rows), and `extra`: what the scan printed of retries, timeouts, late replies,
# window halvings and each resolver's share of the queries sent, and the rows whose DNS
# is right but whose `generic` differs from the generator's (the classifier's business,
# not the resolver's), as key=value pairs.
scan_once() {
  local args=() r status=0
  for r in "$@"; do args+=(--resolver "$r"); done
  rm -f "$out/scan.csv" "$out/scan.parquet"
  disturbance "$ptraudit" scan 198.18.0.0/16 "${args[@]}" -o "$out/scan.csv" \
    -o "$out/scan.parquet" 2>"$out/scan.err" || status=$?
  queries=$(sed -n 's/^ptraudit: [0-9]* addresses, \([0-9]*\) queries.*/\1/p' "$out/scan.err" | tail -1)
  queries=${queries:-0}
  # The scan's own figures, where it prints them (`na` where this build does not).
  local dns window sent total=0 addr_ share
  dns=$(grep '^ptraudit: DNS: .* retries' "$out/scan.err" | tail -1 || true)
  window=$(grep '^ptraudit: DNS: congestion window' "$out/scan.err" | tail -1 || true)
  get() { sed -n "s/.*[ ,]\\([0-9][0-9]*\\) $1.*/\\1/p" <<<"$2" | head -1; }
  extra="exit=$status $disturbed retries=$(get retries "$dns") timeouts=$(get timeouts "$dns")"
  extra+=" late_or_duplicate=$(get 'late or duplicate' "$dns")"
  extra+=" window_halvings=$(sed -n 's/.*halved \([0-9]*\) times.*/\1/p' <<<"$window")"
  # Per resolver (printed with two resolvers, or one that was rested): its share of the
  # queries sent, its tries that timed out (retried elsewhere) and how often it was rested.
  local per_resolver='s/^ptraudit: resolver \([^ ]*\): \([0-9]*\) sent, .*, \([0-9]*\) timeouts, rested \([0-9]*\) times.*/\1 \2 \3 \4/p'
  while read -r addr_ sent _; do total=$((total + sent)); done < <(sed -n "$per_resolver" "$out/scan.err")
  while read -r addr_ sent timed_out rests; do
    share=$(awk -v s="$sent" -v t="$total" 'BEGIN { printf "%.3f", s / t }')
    local label=${labels[$addr_]:-$addr_}
    extra+=" share_$label=$share tries_timed_out_$label=$timed_out rests_$label=$rests"
  done < <(sed -n "$per_resolver" "$out/scan.err")
  extra=$(sed 's/=\( \|$\)/=na\1/g' <<<"$extra")
  wrong=$(python3 - "$truth" "$out/scan.csv" <<'PY'
import csv, os, sys
truth = {r["ip"]: r for r in csv.DictReader(open(sys.argv[1])) if ":" not in r["ip"]}
rows = list(csv.DictReader(open(sys.argv[2]))) if os.path.exists(sys.argv[2]) else []
wrong = abs(len(rows) - len(truth))
generic = 0
seen = set()
for r in rows:
    t = truth.get(r["ip"])
    if t is None or r["ip"] in seen:
        wrong += 1
        continue
    seen.add(r["ip"])
    reason = t["flags"] if t["fcrdns"] == "pass" else t["fcrdns_reason"]
    same = (r["fcrdns"] == t["fcrdns"] and r["fcrdns_reason"] == reason
            and r["ptr"] == t["ptr"]
            and set(filter(None, r["ptr_all"].split(";"))) == set(filter(None, t["ptr_names"].split(";")))
            and set(filter(None, r["forward_addrs"].split(";"))) == set(filter(None, t["forward_addrs"].split(";"))))
    wrong += not same
    generic += same and r["generic"] != t["generic"]
print(wrong, generic)
PY
)
  read -r wrong generic_differs <<<"$wrong"
  extra+=" generic_differs=$generic_differs"
  read -r tu ts te rss < <(sed 's/[a-z_]*=//g' "$out/time.txt")
}

# reference DNSPERF_ARGS...: dnsperf's rate (sets `ref`) and what disturbed it (sets
# `ref_disturbed`).
reference() {
  disturbance "$@" >"$out/dnsperf.txt" 2>&1
  ref=$(sed -n 's/.*Queries per second: *\([0-9.]*\).*/\1/p' "$out/dnsperf.txt")
  ref_disturbed=$disturbed
}

# measure NAME RESOLVER_ADDR DNSPERF_RATE RESULTS: one scan, as a share of dnsperf's rate.
measure() {
  scan_once "$2"
  measured "$1" "$3" "$4"
}
# measured NAME DNSPERF_RATE RESULTS: the line of the last scan_once.
measured() {
  local name=$1 ref=$2 results=$3
  line=$(awk -v q="$queries" -v ref="$ref" -v tu="$tu" -v ts="$ts" -v te="$te" -v rss="$rss" -v w="$wrong" 'BEGIN {
    printf "addresses_per_s=%.0f queries=%d queries_per_s=%.0f dnsperf_qps=%.0f ratio=%.3f cpu_s=%.2f cpu_us_per_query=%.2f user_us_per_query=%.2f sys_us_per_query=%.2f peak_rss_kib=%d wrong_rows=%d",
      65536/te, q, q/te, ref, (q/te)/ref, tu+ts, (tu+ts)*1e6/q, tu*1e6/q, ts*1e6/q, rss, w }')
  echo "$name run $i: $line $extra dnsperf_${ref_disturbed// / dnsperf_}" |
    tee -a "$results"
}

median() { sort -g | awk '{a[NR]=$1} END{ if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2 }'; }
field() { sed -n "s/.* $2=\\([0-9.]*\\).*/\\1/p" "$1" | median; }
report() {
  local results=$1 title=$2
  echo "median of $runs runs, ptraudit scan 198.18.0.0/16 $title:"
  for f in addresses_per_s queries_per_s dnsperf_qps ratio cpu_s cpu_us_per_query \
    user_us_per_query sys_us_per_query peak_rss_kib wrong_rows generic_differs retries \
    timeouts late_or_duplicate window_halvings others_cpu_s stolen_s dnsperf_others_cpu_s \
    dnsperf_stolen_s; do
    printf '  %-18s %s\n' "$f" "$(field "$results" $f)"
  done
  printf '  %-18s %s\n' "ratio, each run" "$(sed -n 's/.* ratio=\([0-9.]*\).*/\1/p' "$results" | tr '\n' ' ')"
  printf '  %-18s %s\n' "wrong_rows, max" "$(sed -n 's/.* wrong_rows=\([0-9]*\).*/\1/p' "$results" | sort -g | tail -1)"
  # CPU time on a shared VM only grows with interference: the least of the runs is the
  # figure least disturbed by it (printed next to the median, not instead of it).
  printf '  %-18s %s\n' "cpu_us_per_query, least of the runs" \
    "$(sed -n 's/.* cpu_us_per_query=\([0-9.]*\).*/\1/p' "$results" | sort -g | head -1)"
}

if part knot; then
  results="$out/scan-runs.txt"
  : >"$results"
  for i in $(seq "$runs"); do
    reference dnsperf -s "${addr%:*}" -p "${addr##*:}" -d "$out/mix.txt" -l 10 -c 8 -q 1000 -T 1
    measure knot "$addr" "$ref" "$results"
  done
  report "$results" "through Knot (1 UDP worker)"
fi

for kind in $resolver_kinds; do
  part "$kind" || continue
  title=$(resolver_title "$kind")
  start_resolver "$kind" "$out/net16/zones.txt" "$addr" "$out/$kind.out"
  check_resolver "$raddr" "$truth"
  stop_resolver
  results="$out/scan-runs-$kind.txt"
  : >"$results"
  for i in $(seq "$runs"); do
    # Odd runs measure dnsperf first, even runs the scanner first, so that a drift of the
    # machine over the runs (another VM on the host, caches) weighs on both alike.
    for who in $( ((i % 2)) && echo "dnsperf scan" || echo "scan dnsperf"); do
      start_resolver "$kind" "$out/net16/zones.txt" "$addr" "$out/$kind.out"
      if [ "$who" = dnsperf ]; then
        reference dnsperf -s "${raddr%:*}" -p "${raddr##*:}" -d "$out/mix.txt" -n 1 -c 8 -q 1000 -t 10 -T 1
      else
        scan_once "$raddr"
      fi
      stop_resolver
    done
    measured "$kind" "$ref" "$results"
  done
  report "$results" "through $title (2 threads, cold cache, every zone sent to Knot)"
done

if part twoway; then
  start_testdns "$out/slow.out" proxy --upstream "$addr" --delay-share 1 --delay 50
  slow=$started_addr
  servers+=("$started_pid,$started_wrapper")
  start_testdns "$out/lossy.out" proxy --upstream "$addr" --drop 0.15 --seed 17
  lossy=$started_addr
  servers+=("$started_pid,$started_wrapper")
  labels[$slow]=slow labels[$lossy]=lossy
  check_resolver "$slow" "$truth"
  echo "bench: proxies in front of Knot: 50 ms late on $slow, 15% dropped on $lossy"
  results="$out/scan-runs-twoway.txt"
  : >"$results"
  for i in $(seq "$runs"); do
    for case in knot knot+slow knot+lossy; do
      case $case in
        knot) scan_once "$addr" ;;
        knot+slow) scan_once "$addr" "$slow" ;;
        knot+lossy) scan_once "$addr" "$lossy" ;;
      esac
      echo "$case run $i: elapsed_s=$te queries=$queries cpu_s=$(awk -v u="$tu" -v s="$ts" 'BEGIN { print u + s }') wrong_rows=$wrong $extra" |
        tee -a "$results"
    done
  done
  echo "median of $runs runs, ptraudit scan 198.18.0.0/16 through Knot and a slow or lossy second resolver:"
  for case in knot knot+slow knot+lossy; do
    grep "^$case run" "$results" >"$out/twoway-case.txt"
    t=$(field "$out/twoway-case.txt" elapsed_s)
    [ "$case" = knot ] && alone=$t
    printf '  %-11s elapsed_s %-7s ratio_to_knot_alone %-6s wrong_rows %-4s retries %-6s timeouts %-5s window_halvings %-5s shares %s\n' \
      "$case" "$t" "$(awk -v t="$t" -v a="$alone" 'BEGIN { printf "%.2f", t / a }')" \
      "$(sed -n 's/.* wrong_rows=\([0-9]*\).*/\1/p' "$out/twoway-case.txt" | sort -g | tail -1)" \
      "$(field "$out/twoway-case.txt" retries)" "$(field "$out/twoway-case.txt" timeouts)" \
      "$(field "$out/twoway-case.txt" window_halvings)" \
      "$(grep -o 'share_[a-z]*=[0-9.]*' "$out/twoway-case.txt" | sort | awk -F= '
          { n[$1]++; s[$1] += $2 } END { for (k in n) printf "%s=%.3f ", substr(k, 7), s[k] / n[k] }')"
    for f in $(grep -o '\(tries_timed_out\|rests\)_[a-z]*=' "$out/twoway-case.txt" | sort -u | tr -d =); do
      printf '  %-11s   %s %s\n' "" "$f" "$(field "$out/twoway-case.txt" "$f")"
    done
  done
  echo "  (shares: mean of the runs' shares of queries sent; wrong_rows: the most of any run;"
  echo "   tries_timed_out, rests: per resolver, medians)"
fi

if part walk; then
  cleanup
  servers=()
  scripts/bench-walk.sh "$runs"
fi
