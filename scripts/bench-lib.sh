# Shared by the benchmark scripts (sourced, not run): installing what they need and
# serving the generated /16 fixture with Knot DNS on a free loopback port.

# install_missing PACKAGE...: the Debian packages not installed yet, via apt-get.
install_missing() {
  [ $# -gt 0 ] || return 0
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# start_knot ZONES LOG: Knot with one UDP worker in the background; sets `addr`
# (IP:PORT), `knot_pid` and `knot_wrapper`, and exits the script if Knot does not start.
start_knot() {
  local zones=$1 log=$2
  target/release/ptraudit-testdns knot --zones "$zones" --workers 1 >"$log" &
  knot_wrapper=$!
  for _ in $(seq 200); do grep -q '^listening' "$log" 2>/dev/null && break; sleep 0.1; done
  addr=$(sed -n 's/^listening udp=\([^ ]*\) .*/\1/p' "$log")
  knot_pid=$(sed -n 's/.* pid=\([0-9]*\).*/\1/p' "$log")
  [ -n "$addr" ] || { echo "bench: Knot did not start" >&2; cat "$log" >&2; exit 1; }
}
