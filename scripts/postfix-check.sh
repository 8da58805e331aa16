#!/usr/bin/env bash
# Issue 17's experiment, repeatable: a real Postfix judges the fixture addresses, each
# connecting from its own address several times, and ptraudit must agree with it.
#
#   sudo scripts/postfix-check.sh [ADDRESSES [ROUNDS]]     (defaults: 600 addresses, 4 rounds)
#
# CARGO_TARGET_DIR is honoured; POSTFIX_CHECK_KEEP=1 keeps the temporary folder.
#
# Everything runs in a private network, mount and UTS namespace (unshare --net --mount
# --uts): loopback only, with the fixture /20 routed to lo, a private /etc/resolv.conf
# (nameserver 127.0.0.1) and /etc/hosts, and Postfix's /etc/postfix, /var/spool/postfix
# and /var/lib/postfix bind-mounted from a temporary folder. Nothing on the host changes
# except installing the Debian package `postfix` ("No configuration") when it is missing.
#
# The DNS server is crates/cli/examples/rotating-dns.rs on 127.0.0.1:53: the zones of
# fixtures/net, every PTR RRset of several names rotated per question, as resolvers do.
# Postfix 3.7 runs smtpd only (no chroot), logging to a file (maillog_file, postlogd).
# From each address ROUNDS connections (banner, QUIT); then `connect from NAME[IP]` /
# `connect from unknown[IP]` is read from the log, and `ptraudit scan` asks the same
# server (through the same resolv.conf) about the same addresses.
#
# Fails (exit 1) when an address Postfix called unknown at least once is a clean pass
# in ptraudit (pass without multi-ptr-unconfirmed), or an address ptraudit calls a clean
# pass was not named by Postfix every time. Prints the agreement figure. Exit 2: cannot
# run here (not root, no unshare, no Postfix).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
addresses=${1:-600}
rounds=${2:-4}
target=${CARGO_TARGET_DIR:-$root/target}

if [[ "${POSTFIX_CHECK_INSIDE:-}" != 1 ]]; then
    if [[ $(id -u) != 0 ]]; then
        echo "postfix-check: needs root (network namespace, port 25, Postfix)" >&2
        exit 2
    fi
    if ! command -v unshare >/dev/null || ! unshare --net --mount --uts true 2>/dev/null; then
        echo "postfix-check: unshare --net --mount --uts is not possible here" >&2
        exit 2
    fi
    if ! command -v postfix >/dev/null; then
        echo "postfix-check: installing the Debian package postfix (No configuration)" >&2
        echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
        apt-get update -qq >&2 || true
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postfix >&2 \
            || { echo "postfix-check: cannot install postfix" >&2; exit 2; }
    fi
    echo "postfix-check: $(postconf -d -h mail_version 2>/dev/null | sed 's/^/Postfix /')" >&2
    # POSTFIX_CHECK_BUILD=0: the binaries are built already (scripts/test.sh builds them
    # as its user, so root leaves no files of its own in the target folder).
    if [[ "${POSTFIX_CHECK_BUILD:-1}" != 0 ]]; then
        (cd "$root" && cargo build --locked -q -p ptraudit --bin ptraudit --example rotating-dns)
    fi
    for b in ptraudit examples/rotating-dns; do
        [[ -x "$target/debug/$b" ]] || { echo "postfix-check: $target/debug/$b is not built" >&2; exit 2; }
    done
    work=$(mktemp -d /tmp/postfix-check.XXXXXX)
    # POSTFIX_CHECK_KEEP=1 keeps the folder (the Postfix log, the scan) for a look.
    if [[ "${POSTFIX_CHECK_KEEP:-}" == 1 ]]; then
        echo "postfix-check: files in $work" >&2
    else
        trap 'rm -rf "$work"' EXIT
    fi
    # The addresses: the first ADDRESSES IPv4 fixture addresses outside RFC 2317
    # delegations (an authoritative test server does not chase their CNAMEs for the
    # system resolver, as a recursive one would), every category among them.
    python3 - "$root/fixtures/net/truth.csv" "$addresses" > "$work/addresses.txt" <<'EOF'
import csv, ipaddress, sys
rows = [r for r in csv.DictReader(open(sys.argv[1]))
        if ipaddress.ip_address(r["ip"]).version == 4 and not r["cname_chain"]]
for r in rows[: int(sys.argv[2])]:
    print(r["ip"])
EOF
    status=0
    POSTFIX_CHECK_INSIDE=1 POSTFIX_CHECK_WORK=$work unshare --net --mount --uts -- \
        "$0" "$addresses" "$rounds" || status=$?
    exit "$status"
fi

# ---- inside the namespaces ----
work=$POSTFIX_CHECK_WORK
hostname postfix-check
ip link set lo up
# Every fixture address is local (AnyIP): a client can bind to any of them.
ip route add local 198.18.0.0/20 dev lo

printf '127.0.0.1 localhost\n127.0.0.1 postfix-check.test postfix-check\n' > "$work/hosts"
printf 'nameserver 127.0.0.1\noptions timeout:2 attempts:2\n' > "$work/resolv.conf"
mount --bind "$work/hosts" /etc/hosts
mount --bind "$work/resolv.conf" /etc/resolv.conf

mkdir -p "$work/etc" "$work/spool" "$work/lib"
cp -a /etc/postfix/. "$work/etc/"
cat > "$work/etc/main.cf" <<'EOF'
compatibility_level = 3.6
myhostname = postfix-check.test
mydomain = test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
alias_maps =
alias_database =
local_recipient_maps =
smtpd_peername_lookup = yes
maillog_file = /var/lib/postfix/maillog
EOF
cat > "$work/etc/master.cf" <<'EOF'
smtp      inet  n       -       n       -       -       smtpd
postlog   unix-dgram n  -       n       -       1       postlogd
anvil     unix  -       -       n       -       1       anvil
proxymap  unix  -       -       n       -       -       proxymap
EOF
chown postfix:postfix "$work/lib"
mount --bind "$work/etc" /etc/postfix
mount --bind "$work/spool" /var/spool/postfix
mount --bind "$work/lib" /var/lib/postfix

dns_pid=
cleanup() {
    postfix stop >/dev/null 2>&1 || true
    if [[ -n $dns_pid ]]; then kill "$dns_pid" 2>/dev/null || true; fi
}
trap cleanup EXIT

"$target/debug/examples/rotating-dns" --zones "$root/fixtures/net/zones.txt" \
    --listen 127.0.0.1:53 > "$work/dns.out" 2>&1 &
dns_pid=$!
for _ in $(seq 50); do grep -q listening "$work/dns.out" && break; sleep 0.1; done
grep -q listening "$work/dns.out" || { cat "$work/dns.out" >&2; exit 2; }

postfix check >/dev/null 2>&1 || true   # creates the queue folders
postfix start >/dev/null 2>&1 || { echo "postfix-check: postfix did not start" >&2; exit 2; }
for _ in $(seq 100); do
    python3 -c 'import socket; socket.create_connection(("127.0.0.1", 25), 1).close()' \
        2>/dev/null && break
    sleep 0.1
done

# ROUNDS connections from each address: banner, QUIT. Round after round, so a name's
# rotation moves on between two connections from one address.
python3 - "$work/addresses.txt" "$rounds" <<'EOF'
import socket, sys
ips = open(sys.argv[1]).read().split()
for _ in range(int(sys.argv[2])):
    for ip in ips:
        s = socket.socket()
        s.settimeout(30)
        s.bind((ip, 0))
        s.connect(("127.0.0.1", 25))
        f = s.makefile("rb")
        banner = f.readline()
        if not banner.startswith(b"220"):
            sys.exit(f"postfix-check: {ip}: banner {banner!r}")
        s.sendall(b"QUIT\r\n")
        f.readline()
        s.close()
EOF
postfix stop >/dev/null 2>&1 || true

"$target/debug/ptraudit" scan -q -i "$work/addresses.txt" -o "$work/scan.csv"

python3 - "$work/lib/maillog" "$work/scan.csv" "$rounds" <<'EOF'
import collections, csv, re, sys
log, scan, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
seen = collections.defaultdict(list)
for line in open(log, errors="replace"):
    m = re.search(r"postfix/smtpd\[\d+\]: connect from (\S+)\[([0-9.]+)\]$", line.rstrip())
    if m and m.group(2).startswith("198.18."):
        seen[m.group(2)].append(m.group(1))
rows = {r["ip"]: r for r in csv.DictReader(open(scan))}
bad, agree = [], 0
tally = collections.Counter()
for ip, r in rows.items():
    names = seen.get(ip, [])
    if len(names) != rounds:
        bad.append(f"{ip}: {len(names)} connections logged, {rounds} made")
        continue
    unknown = sum(n == "unknown" for n in names)
    clean = r["fcrdns"] == "pass" and r["fcrdns_reason"] != "multi-ptr-unconfirmed"
    flagged = r["fcrdns"] == "pass" and not clean
    postfix = "named" if unknown == 0 else "unknown" if unknown == rounds else "mixed"
    ours = "clean pass" if clean else "flagged pass" if flagged else r["fcrdns"]
    tally[(ours, postfix)] += 1
    if unknown and clean:
        bad.append(f"{ip}: Postfix said unknown {unknown}/{rounds}, ptraudit a clean pass ({r['ptr']})")
    if clean and any(n not in r["ptr_all"].split(";") + ["unknown"] for n in names):
        bad.append(f"{ip}: Postfix named it {set(names)}, not among ptraudit's {r['ptr_all']}")
    # Agreement as the issue counted it: a clean pass is named every time, anything
    # else is not; a flagged address agrees when Postfix did call it unknown.
    agree += (postfix == "named") == clean and (not flagged or unknown > 0)
print("postfix-check: ptraudit verdict vs Postfix over", rounds, "connections per address:")
for (ours, postfix), n in sorted(tally.items()):
    print(f"  {ours:<14} {postfix:<8} {n}")
print(f"postfix-check: agreement {agree}/{len(rows)} addresses; "
      f"{sum(n for (o, p), n in tally.items() if o == 'flagged pass')} multi-ptr-unconfirmed")
for b in bad:
    print("postfix-check: DISAGREE", b, file=sys.stderr)
sys.exit(1 if bad or not rows else 0)
EOF
