#!/usr/bin/env bash
# deploy/slurm/ptraudit-array.sbatch under a real Slurm: a single-node cluster started here
# and stopped at the end (Debian's slurm-wlm and munge, installed when missing; no systemd
# needed: the daemons run in the foreground from a temporary folder, as root).
#
# The array scans the fixture network 198.18.0.0/20 through ptraudit-testdns in 4 tasks at a
# low --rate, so each lasts a few seconds. Task 1's ptraudit is killed with SIGKILL once its
# checkpoint exists; the task ends with exit 137, which this cluster's RequeueExit turns into
# a requeue, and the task run again continues its checkpoint. Then the 4 Parquet parts are
# merged (`ptraudit report` and DuckDB) and checked: every address of the /20 exactly once,
# the same verdicts as an unsharded scan, and as fixtures/net/truth.csv.
#
#   scripts/slurm-test.sh        (as root, or with sudo; builds ptraudit and ptraudit-testdns)
#
# Exits non-zero on any mismatch or when the cluster does not come up; cleans up on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
bindir="${CARGO_TARGET_DIR:-$repo/target}/debug"
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"

say() { printf 'slurm-test: %s\n' "$*"; }
die() { printf 'slurm-test: FAILED: %s\n' "$*" >&2; exit 1; }

# Debian puts the daemons in /usr/sbin, which a user's PATH may lack.
export PATH="$PATH:/usr/sbin:/sbin"
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null \
  || ! command -v munged >/dev/null || ! command -v sbatch >/dev/null; then
  say "installing slurm-wlm and munge"
  $sudo apt-get update -qq
  # Their service starts fail without systemd and do not matter: the daemons start below.
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    slurm-wlm munge >/dev/null
fi
python3 -c "import duckdb" 2>/dev/null \
  || python3 -m pip install --quiet --disable-pip-version-check duckdb

cargo build --locked --quiet -p ptraudit -p ptraudit-testdns
ptraudit="$bindir/ptraudit"

tmp=$(mktemp -d /tmp/ptraudit-slurm.XXXXXX)
chmod 0755 "$tmp"
pids=()
cleanup() {
  local rc=$?
  set +e
  if [ -n "${SLURM_CONF:-}" ] && [ -f "$SLURM_CONF" ]; then
    scancel --quiet --user="$(id -un)" 2>/dev/null
    # Let slurmd end the tasks' slurmstepd before it stops, or they outlive the cluster.
    for _ in $(seq 30); do
      [ -z "$(squeue --noheader 2>/dev/null)" ] && break
      sleep 0.5
    done
  fi
  # The daemons started here, newest first, each by its own pid and waited for.
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    $sudo kill "${pids[i]}" 2>/dev/null
    for _ in $(seq 50); do kill -0 "${pids[i]}" 2>/dev/null || break; sleep 0.1; done
    $sudo kill -KILL "${pids[i]}" 2>/dev/null
    wait "${pids[i]}" 2>/dev/null
  done
  if [ "$rc" -ne 0 ]; then
    for f in "$tmp"/log/*.log "$tmp"/work/ptraudit-*.log; do
      [ -f "$f" ] || continue
      printf -- '--- %s (last lines)\n' "$f" >&2
      tail -n 15 "$f" >&2
    done
  fi
  $sudo rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$tmp"/{munge,log,state,spool,work}
chmod 0700 "$tmp/munge"

# Free TCP ports for slurmctld and slurmd, so the test never collides with a real cluster.
read -r ctld_port slurmd_port < <(python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*(x.getsockname()[1] for x in s))')

say "munge key and munged ($tmp/munge)"
$sudo dd if=/dev/urandom of="$tmp/munge/munge.key" bs=1024 count=1 status=none
$sudo chmod 0400 "$tmp/munge/munge.key"
socket="$tmp/munge/munge.socket"
$sudo munged --foreground --force --key-file="$tmp/munge/munge.key" --socket="$socket" \
  --pid-file="$tmp/munge/munged.pid" --seed-file="$tmp/munge/munged.seed" \
  --log-file="$tmp/log/munged.log" 2>"$tmp/log/munged.stderr" &
pids+=($!)
for _ in $(seq 50); do [ -S "$socket" ] && break; sleep 0.1; done
[ -S "$socket" ] || die "munged did not start"
munge --socket="$socket" -n | unmunge --socket="$socket" >/dev/null || die "munge round trip"

# The node as slurmd sees it (CPUs, memory), named localhost.
node=$(slurmd -C | head -1 | sed 's/^NodeName=[^ ]*/NodeName=localhost/; s/ UpTime=.*//')
cat >"$tmp/slurm.conf" <<EOF
ClusterName=ptraudit-test
SlurmctldHost=localhost
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# cred_expire is also how long a requeued task waits before it starts again (default 120 s).
AuthInfo=socket=$socket,cred_expire=10
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/log/slurmctld.log
SlurmdLogFile=$tmp/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ReturnToService=2
JobRequeue=1
# A task whose ptraudit was killed (exit 128+9) goes back to the queue by itself.
RequeueExit=137
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1
MinJobAge=600
$node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=test Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$tmp/slurm.conf"

say "slurmctld and slurmd (ports $ctld_port, $slurmd_port)"
$sudo env SLURM_CONF="$SLURM_CONF" slurmctld -D -i -f "$SLURM_CONF" \
  >"$tmp/log/slurmctld.stderr" 2>&1 &
pids+=($!)
$sudo env SLURM_CONF="$SLURM_CONF" slurmd -D -N localhost -f "$SLURM_CONF" \
  >"$tmp/log/slurmd.stderr" 2>&1 &
pids+=($!)
state=""
for _ in $(seq 60); do
  state=$(sinfo --noheader --nodes=localhost --format=%T 2>/dev/null || true)
  [ "$state" = idle ] && break
  sleep 0.5
done
[ "$state" = idle ] || die "the node is not idle after 30 s (sinfo says '${state:-nothing}')"
sinfo

say "ptraudit-testdns on fixtures/net/zones.txt"
"$bindir/ptraudit-testdns" --zones fixtures/net/zones.txt --listen 127.0.0.1:0 \
  >"$tmp/testdns.out" &
pids+=($!)
for _ in $(seq 100); do grep -qs '^listening' "$tmp/testdns.out" && break; sleep 0.1; done
resolver=$(sed -n 's/^listening udp=\([^ ]*\) .*/\1/p' "$tmp/testdns.out")
[ -n "$resolver" ] || die "ptraudit-testdns did not start"

say "the unsharded scan, for comparison"
"$ptraudit" scan 198.18.0.0/20 --resolver "$resolver" --quiet -o "$tmp/unsharded.csv" \
  -o "$tmp/unsharded.parquet"

# About 1,900 queries per task at 250/s: each task lasts 7-8 s.
say "sbatch --array=0-3 deploy/slurm/ptraudit-array.sbatch (198.18.0.0/20, --rate 250 per task)"
cd "$tmp/work"
job=$(TARGETS=198.18.0.0/20 RESOLVER="$resolver" RATE=250 PTRAUDIT="$ptraudit" \
  sbatch --parsable --array=0-3 "$repo/deploy/slurm/ptraudit-array.sbatch")
job=${job%%;*}
say "job $job submitted"

# Task 1 (shard 1/4) dies midway: SIGKILL to its ptraudit once its checkpoint has recorded
# progress, as a crash or the OOM killer would.
victim="${job}_1"
rows() { sed -n 's/.*"rows":\([0-9]*\).*/\1/p' ck/1.json 2>/dev/null; }
for _ in $(seq 300); do
  [ "$(rows)" -ge 100 ] 2>/dev/null && break
  sleep 0.1
done
[ "$(rows)" -ge 100 ] 2>/dev/null || die "task 1's checkpoint never recorded 100 rows"
# Its pids on the node, by the task's own job id (listpids wants that, not 1234_1).
raw=$(squeue --noheader --jobs="$victim" --format=%A)
killed=""
for _ in $(seq 20); do
  for p in $(scontrol listpids 2>/dev/null | awk -v j="$raw" '$2 == j { print $1 }'); do
    if [ "$(cat "/proc/$p/comm" 2>/dev/null)" = ptraudit ]; then
      $sudo kill -KILL "$p" && killed=$p && killed_at=$(date +%s.%N)
    fi
  done
  [ -n "$killed" ] && break
  sleep 0.1
done
[ -n "$killed" ] || die "found no ptraudit process of task $victim to kill"
say "killed ptraudit (pid $killed) of task $victim midway: its checkpoint had $(rows) of 1024 rows"

# All tasks done: none left in the queue (the requeued one runs again first).
for _ in $(seq 600); do
  [ -z "$(squeue --noheader --jobs="$job" 2>/dev/null)" ] && break
  sleep 0.5
done
[ -z "$(squeue --noheader --jobs="$job")" ] || die "tasks still queued after 5 minutes"

restarts=$(scontrol show job "$victim" | sed -n 's/.*Restarts=\([0-9]*\).*/\1/p')
say "task $victim ran $((restarts + 1)) times (Restarts=$restarts)"
[ "${restarts:-0}" -ge 1 ] || die "task $victim was not requeued"
grep -q '(restart 1)' "ptraudit-${job}_1.log" || die "the log of task $victim shows no second run"
for t in 0 1 2 3; do
  state=$(scontrol show job "${job}_$t" | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p')
  [ "$state" = COMPLETED ] || die "task ${job}_$t ended $state"
done
ls -l out/
parts=(out/part-0-of-4.parquet out/part-1-of-4.parquet out/part-2-of-4.parquet out/part-3-of-4.parquet)
for p in "${parts[@]}"; do [ -f "$p" ] || die "$p missing"; done

say "merged with ptraudit report"
"$ptraudit" report "${parts[@]}" | tee report.txt
"$ptraudit" report "$tmp/unsharded.parquet" >report-unsharded.txt
cmp report.txt report-unsharded.txt || die "report on the parts differs from report on the unsharded scan"

say "merged with DuckDB, checked against the unsharded scan and the truth"
python3 - "$tmp/work/out" "$tmp/unsharded.csv" "$repo/fixtures/net/truth.csv" "$killed_at" <<'PY'
import ipaddress, sys
import duckdb

out, unsharded, truth, killed_at = sys.argv[1:]
con = duckdb.connect()
con.execute(f"CREATE VIEW parts AS SELECT * FROM read_parquet('{out}/part-*-of-4.parquet', filename = true)")
problems = []
n, distinct = con.execute("SELECT count(*), count(DISTINCT ip) FROM parts").fetchone()
want = {str(ipaddress.IPv4Address(int(ipaddress.IPv4Address('198.18.0.0')) + i)) for i in range(4096)}
got = {ip for (ip,) in con.execute("SELECT DISTINCT ip FROM parts").fetchall()}
if n != 4096 or distinct != 4096 or got != want:
    problems.append(f"{n} rows, {distinct} distinct addresses: {len(want - got)} missing, "
                    f"{len(got - want)} not in the /20")
dup = con.execute("SELECT ip, count(*) FROM parts GROUP BY ip HAVING count(*) > 1 LIMIT 5").fetchall()
if dup:
    problems.append(f"addresses more than once: {dup}")
ids = con.execute("SELECT DISTINCT value FROM parquet_kv_metadata('" + out + "/part-*-of-4.parquet') "
                  "WHERE key = 'ptraudit.scan_id'").fetchall()
if len(ids) != 1:
    problems.append(f"the parts carry {len(ids)} scan ids, not one: {ids}")
# The killed task continued its part: rows from before the kill are in it (a task that
# started over would have scanned them all again afterwards).
before, after = con.execute(
    f"SELECT count(*) FILTER (WHERE epoch(scanned_at) < {killed_at}), "
    f"count(*) FILTER (WHERE epoch(scanned_at) >= {killed_at}) "
    f"FROM parts WHERE filename LIKE '%part-1-of-4.parquet'").fetchone()
if before < 100 or after == 0:
    problems.append(f"part 1 has {before} rows from before the kill and {after} after: "
                    "the requeued task did not continue its checkpoint")

# Verdict columns, as text on both sides (the timing columns differ by nature).
cols = ["ip", "prefix", "ptr_status", "ptr", "ptr_all", "cname_chain", "forward_addrs",
        "fcrdns", "fcrdns_reason", "generic", "generic_reasons"]
def as_text(c):
    return (f"CASE WHEN {c} IS NULL THEN '' WHEN typeof({c}) LIKE '%[]' "
            f"THEN array_to_string({c}, ';') ELSE CAST({c} AS VARCHAR) END AS {c}")
con.execute(f"CREATE VIEW merged AS SELECT {', '.join(as_text(c) for c in cols)} FROM parts")
con.execute(f"CREATE VIEW alone AS SELECT {', '.join(f'coalesce({c}, {chr(39)}{chr(39)}) AS {c}' for c in cols)} "
            f"FROM read_csv('{unsharded}', all_varchar = true)")
diff = con.execute("(SELECT 'sharded', * FROM merged EXCEPT SELECT 'sharded', * FROM alone) UNION ALL "
                   "(SELECT 'unsharded', * FROM alone EXCEPT SELECT 'unsharded', * FROM merged)").fetchall()
if diff:
    problems.append(f"{len(diff)} rows differ from the unsharded scan, e.g. {diff[:3]}")

tcols = ["ptr", "forward_addrs", "fcrdns", "generic", "cname_chain"]
con.execute(f"CREATE VIEW truth AS SELECT ip, {', '.join(f'coalesce({c}, {chr(39)}{chr(39)}) AS {c}' for c in tcols)} "
            f"FROM read_csv('{truth}', all_varchar = true) WHERE ip LIKE '198.18.%'")
tdiff = con.execute(f"(SELECT ip, {', '.join(tcols)} FROM merged EXCEPT SELECT * FROM truth) UNION ALL "
                    f"(SELECT * FROM truth EXCEPT SELECT ip, {', '.join(tcols)} FROM merged)").fetchall()
if tdiff:
    problems.append(f"{len(tdiff)} rows differ from fixtures/net/truth.csv, e.g. {tdiff[:3]}")

verdicts = con.execute("SELECT fcrdns, count(*) FROM merged GROUP BY 1 ORDER BY 1").fetchall()
if problems:
    sys.exit("slurm-test: FAILED: " + "; ".join(problems))
print(f"slurm-test: part 1 holds {before} rows from before the kill and {after} from the requeued run")
print(f"slurm-test: DuckDB read 4 parts: {n} rows, every address of 198.18.0.0/20 once, one scan id; "
      f"verdicts equal to the unsharded scan ({len(cols)} columns) and to truth.csv ({len(tcols)} columns); "
      f"fcrdns {dict(verdicts)}")
PY
say "passed"
