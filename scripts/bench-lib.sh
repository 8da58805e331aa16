# shellcheck shell=bash disable=SC2034  # sourced: the variables set here are used by the caller
# Shared by the benchmark scripts (sourced, not run): installing what they need, where
# the release binaries are, and starting the servers (Knot with the fixture, a cold
# recursive resolver in front of it, a faulty testdns proxy) on free loopback ports.

# Release binaries: cargo's target folder (CARGO_TARGET_DIR when set, as `cargo build`
# uses it). PTRAUDIT overrides the scanner measured (e.g. a saved build of main, to
# compare before and after a change with the same servers).
rel=${CARGO_TARGET_DIR:-target}/release
ptraudit=${PTRAUDIT:-$rel/ptraudit}

# install_missing PACKAGE...: the Debian packages not installed yet, via apt-get.
install_missing() {
  [ $# -gt 0 ] || return 0
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# have PROGRAM: on PATH or in the sbin folders (a non-root PATH may lack them).
have() { command -v "$1" >/dev/null || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]; }

# start_testdns LOG ARGS...: `ptraudit-testdns ARGS...` in the background, waiting for
# its `listening udp=IP:PORT ...` line; sets `started_addr`, `started_pid` (the server's
# own pid for the external servers, else empty) and `started_wrapper`, and exits the
# script if it does not start.
start_testdns() {
  local log=$1
  shift
  "$rel/ptraudit-testdns" "$@" >"$log" &
  started_wrapper=$!
  for _ in $(seq 300); do grep -q '^listening' "$log" 2>/dev/null && break; sleep 0.1; done
  started_addr=$(sed -n 's/^listening udp=\([^ ]*\) .*/\1/p' "$log")
  started_pid=$(sed -n 's/.* pid=\([0-9]*\).*/\1/p' "$log")
  [ -n "$started_addr" ] || {
    echo "bench: ptraudit-testdns $1 did not start" >&2
    cat "$log" >&2
    exit 1
  }
}

# stop_started PID WRAPPER: stops a server started by start_testdns (the external server
# first, when there is one: a signal to the wrapper does not run its destructors).
stop_started() {
  local pid
  for pid in "$@"; do [ -z "$pid" ] || kill "$pid" 2>/dev/null || true; done
  [ -z "${2:-}" ] || wait "$2" 2>/dev/null || true
  # The server may still be shutting down (BIND frees its cache) after the wrapper has
  # gone: wait, up to 10 s, so that it does not run into the next measurement.
  for _ in $(seq 100); do
    [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null || break
    sleep 0.1
  done
}

# start_knot ZONES LOG: Knot with one UDP worker in the background; sets `addr`
# (IP:PORT), `knot_pid` and `knot_wrapper`.
start_knot() {
  start_testdns "$2" knot --zones "$1" --workers 1
  addr=$started_addr knot_pid=$started_pid knot_wrapper=$started_wrapper
}

# Recursive resolvers the benchmarks start in front of Knot, and their Debian packages.
resolver_kinds="unbound bind pdns"
resolver_package() {
  case $1 in
    unbound) echo unbound ;; bind) echo bind9 ;; pdns) echo pdns-recursor ;;
  esac
}
resolver_program() {
  case $1 in
    unbound) echo unbound ;; bind) echo named ;; pdns) echo pdns_recursor ;;
  esac
}
resolver_title() {
  case $1 in
    unbound) echo "Unbound" ;; bind) echo "BIND 9" ;; pdns) echo "PowerDNS Recursor" ;;
  esac
}

# start_resolver KIND ZONES UPSTREAM LOG: a fresh recursive resolver (empty cache) of
# KIND with 2 threads, sending the zones to UPSTREAM; sets `raddr`, `resolver_pid`,
# `resolver_wrapper`.
start_resolver() {
  start_testdns "$4" "$1" --zones "$2" --upstream "$3" --workers 2
  raddr=$started_addr resolver_pid=$started_pid resolver_wrapper=$started_wrapper
}
stop_resolver() {
  [ -n "${resolver_wrapper:-}" ] || return 0
  stop_started "$resolver_pid" "$resolver_wrapper"
  resolver_pid="" resolver_wrapper=""
}

# check_resolver ADDR TRUTH: the resolver answers the first PTR of the ground truth
# (a reverse zone) and the A records of the first PTR name with addresses (a forward
# zone) as the truth has them; exits if not.
check_resolver() {
  local addr=$1 truth=$2 ip ptr fwd got want name
  dig_() { kdig -p "${addr##*:}" @"${addr%:*}" +short +time=3 +retry=1 "$@" | grep -v '^;' | sort | tr '\n' ' '; }
  IFS=, read -r ip _ ptr _ < <(awk -F, 'NR > 1 && $3 != "" && $9 == "" && $1 !~ /:/ { print; exit }' "$truth")
  got=$(dig_ -x "$ip")
  want=$(tr ';' '\n' <<<"$ptr" | sed 's/$/./' | sort | tr '\n' ' ')
  [ "$got" = "$want" ] || { echo "bench: $addr answers PTR $ip with '$got', truth '$want'" >&2; exit 1; }
  IFS=, read -r _ _ _ name fwd _ < <(awk -F, 'NR > 1 && $5 ~ /\./ && $1 !~ /:/ { print; exit }' "$truth")
  got=$(dig_ "$name" A | tr ' ' '\n' | grep -v '\.$' | tr '\n' ' ') # minus CNAME targets
  want=$(tr ';' '\n' <<<"$fwd" | grep -v : | sort | tr '\n' ' ')
  [ "$got" = "$want" ] || { echo "bench: $addr answers A $name with '$got', truth '$want'" >&2; exit 1; }
  echo "bench: $addr answers PTR $ip and A $name as the truth has them"
}
