# bench/lib.sh — what both benchmark scripts share: the checks and the
# release build before a run, the private two-host LAN they run on, and how
# a server on it is configured, started, waited for, measured and stopped;
# sourced, not run. The caller sets SCRIPT (its name, for messages) and JSON
# before sourcing, calls bench_prepare, then bench_begin (FAILED=1 until it
# sets FAILED=0 on success), then build_lan.
#
# The LAN: namespaces mt<pid>x0-sw (a bridge, no uplink), -h1 and -h2
# (eth0 = 10.77.0.1 / .2, MAC 02:77:00:00:00:0i, IPv6 off, only the /24
# route). The names follow the test LANs' scheme, so ci/test reaps them if a
# script is ever killed with SIGKILL; otherwise the EXIT trap set here kills
# everything inside and deletes them, also on failure or Ctrl-C.
# shellcheck shell=bash

PREFIX="mt$$x0"
SW="$PREFIX-sw"
H1="$PREFIX-h1"
H2="$PREFIX-h2"

log() { [ "$JSON" -eq 1 ] || printf '%s\n' "$*" >&2; }

# bench_prepare BUILD LOADGEN TOOL... — needs root and the TOOLs, builds the
# release binaries when BUILD is 1, sets MESSNGR (target/release/messngr, or
# $MESSNGR_BIN: another build of messngr to measure, as bench/compare.sh does), LOAD (target/release/LOADGEN)
# and SMB_CONF (smb-conf: writes the private smb.conf of a Samba program,
# the same as the tests' and the demo's).
bench_prepare() {
  local build=$1 loadgen=$2 tool bin target
  shift 2
  [ "$(id -u)" -eq 0 ] || { echo "$SCRIPT: needs root (network namespaces)" >&2; exit 2; }
  for tool in ip cargo "$@"; do
    command -v "$tool" >/dev/null 2>&1 || { echo "$SCRIPT: $tool not found (Samba: bash ci/install-deps)" >&2; exit 2; }
  done
  target=${CARGO_TARGET_DIR:-$PWD/target}
  if [ "$build" -eq 1 ]; then
    log "building release binaries (cargo build --release -p messngr -p messngr-bench)"
    cargo build --release --quiet -p messngr -p messngr-bench
  fi
  MESSNGR=${MESSNGR_BIN:-$target/release/messngr}
  LOAD=$target/release/$loadgen
  SMB_CONF=$target/release/smb-conf
  for bin in "$MESSNGR" "$LOAD" "$SMB_CONF"; do
    [ -x "$bin" ] || { echo "$SCRIPT: $bin missing (run without --no-build)" >&2; exit 2; }
  done
}

# Starts the run: its work directory, and the traps that remove the LAN.
bench_begin() {
  FAILED=1
  WORK=$(mktemp -d /tmp/messngr-bench.XXXXXX)
  # The daemon drops root once bound: its user must reach its state_dir.
  chmod 755 "$WORK"
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
}

# Kills every process in a namespace, then deletes it (errors ignored).
remove_ns() {
  local ns=$1 sig pids
  for sig in TERM KILL; do
    pids=$(ip netns pids "$ns" 2>/dev/null || true)
    [ -n "$pids" ] || break
    # shellcheck disable=SC2086 # one pid per word
    kill -"$sig" $pids 2>/dev/null || true
    sleep 0.3
  done
  ip netns delete "$ns" 2>/dev/null || true
}

bench_cleanup() {
  local ns
  for ns in "$H1" "$H2" "$SW"; do
    remove_ns "$ns"
  done
  if [ "$FAILED" -eq 1 ]; then
    echo "$SCRIPT: failed; logs kept in $WORK" >&2
  else
    rm -rf "$WORK"
  fi
}

# Builds the LAN (see the header).
build_lan() {
  local ns i
  ip netns add "$SW"
  ip netns add "$H1"
  ip netns add "$H2"
  for ns in "$SW" "$H1" "$H2"; do
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  done
  ip -n "$SW" -batch - <<LAN
link set lo up
link add br0 type bridge stp_state 0 forward_delay 0 mcast_snooping 0
link set br0 up
link add p1 type veth peer name eth0 netns $H1
link set p1 master br0 up
link add p2 type veth peer name eth0 netns $H2
link set p2 master br0 up
LAN
  for i in 1 2; do
    ip -n "$PREFIX-h$i" -batch - <<HOST
link set lo up
link set eth0 address 02:77:00:00:00:0$i
addr add 10.77.0.$i/24 brd 10.77.0.255 dev eth0
link set eth0 up
HOST
  done
}

in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# CPU time of process $1 in clock ticks: utime + stime (all its threads);
# with a second argument `children`, plus cutime + cstime (its children once
# reaped).
cpu_ticks() {
  local stat rest f
  stat=$(<"/proc/$1/stat")
  rest=${stat##*) }
  read -r -a f <<<"$rest"
  if [ "${2:-}" = children ]; then
    echo $((f[11] + f[12] + f[13] + f[14]))
  else
    echo $((f[11] + f[12]))
  fi
}

# wait_ready WHO LOGFILE WHAT — waits (30 s at most) until the server in h1
# answers the load generator's probe for $NAME at $SERVER_IP; otherwise says
# "WHO never WHAT", shows the end of LOGFILE and exits 1.
wait_ready() {
  local who=$1 logfile=$2 what=$3
  # In the background and waited for, so that Ctrl-C / SIGTERM act at once.
  in_ns "$H2" "$LOAD" --probe --target "$SERVER_IP" --name "$NAME" --duration 30 >/dev/null &
  if ! wait $!; then
    echo "$SCRIPT: $who never $what; its log:" >&2
    tail -n 30 "$logfile" >&2
    exit 1
  fi
}

# expect_comm PID NAME — exits 1 unless process PID is NAME (the pid $! of
# `ip netns exec … NAME` is NAME's once it has exec'd).
expect_comm() {
  [ "$(cat "/proc/$1/comm")" = "$2" ] || { echo "$SCRIPT: pid $1 is not $2" >&2; exit 1; }
}

# stop_server PID — SIGTERM, up to 5 s to exit, then SIGKILL.
stop_server() {
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
}

# messngr_conf DIR NAME [TOML] — DIR/messngr.toml for a daemon called NAME
# on eth0, its state and API socket under DIR, no user names; TOML: more
# lines.
messngr_conf() {
  local dir=$1 name=$2 quota=
  mkdir -p "$dir/state"
  # The loads store ~100,000 messages to the host name, ten times its
  # default quota (max_messages_per_owner = 10000): set the quotas high,
  # not off, so that their check is part of what is measured. A baseline
  # build from before the quotas (bench/compare.sh sets MESSNGR_BASELINE=1)
  # would refuse the keys.
  if [ -z "${MESSNGR_BASELINE:-}" ]; then
    quota=$'max_messages = 100000000\nmax_messages_per_owner = 100000000'
  fi
  cat >"$dir/messngr.toml" <<EOF
netbios_name = "$name"
workgroup = "MLAN"
interface = "eth0"
state_dir = "$dir/state"
socket = "$dir/api.sock"
register_users = false
$quota
${3:-}
EOF
}

# start_messngr NS DIR — starts `messngr daemon` in namespace NS with
# DIR/messngr.toml, logging to DIR/log; sets DAEMON_PID. RUST_LOG unset: the
# daemon logs at info, as it runs by default.
start_messngr() {
  ip netns exec "$1" env -u RUST_LOG "$MESSNGR" daemon --config "$2/messngr.toml" </dev/null >"$2/log" 2>&1 &
  DAEMON_PID=$!
}

# shellcheck disable=SC2034 # used by the scripts that source this file
CLK_TCK=$(getconf CLK_TCK)
# Peak resident set (VmHWM) in kB.
peak_rss_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }

# --- one daemon, loads alternating (http.sh, rpc.sh) -------------------------
# They set M_DIR (the daemon's directory, its API socket there), M_PID,
# H2, DURATION, TEXT_LEN, ROUNDS and STORED (count_messngr before the first
# load).

# Received messages only (a publish to a name held here also keeps an `out`
# copy of what its sender sent).
count_messngr() { "$MESSNGR" --socket "$M_DIR/api.sock" export | grep -c '"direction":"in"' || true; }

# measure KEY CMD… — runs one load in h2 (its JSON report to $WORK/KEY.json)
# and adds the daemon's CPU per accepted message and the store's growth.
measure() {
  local key=$1 before after stored cpu per accepted
  shift
  before=$(cpu_ticks "$M_PID")
  in_ns "$H2" "$@" --duration "$DURATION" --text-len "$TEXT_LEN" --json >"$WORK/$key.load.json"
  after=$(cpu_ticks "$M_PID")
  stored=$(count_messngr)
  cpu=$(awk -v t=$((after - before)) -v hz="$CLK_TCK" 'BEGIN {printf "%.2f", t / hz}')
  accepted=$(jq .accepted "$WORK/$key.load.json")
  per=$(awk -v c="$cpu" -v n="$accepted" 'BEGIN {printf "%.1f", (n > 0 ? c * 1e6 / n : 0)}')
  jq -c --argjson cpu "$cpu" --argjson per "$per" --argjson stored $((stored - STORED)) \
    '. + {server_cpu_s: $cpu, server_cpu_us_per_msg: $per, stored: $stored,
          stored_ok: ($stored >= .accepted and ($stored == .accepted or .errors > 0))}' \
    "$WORK/$key.load.json" >"$WORK/$key.json"
  STORED=$stored
  log "  $key: $(jq -r '"\(.rate)/s, p50 \(.p50_us) us, p99 \(.p99_us) us, \(.errors) errors, stored \(.stored) of \(.accepted)"' "$WORK/$key.json")"
}

# all KEY — every round's KEY_R.json, as one JSON array.
all() { for ((r = 1; r <= ROUNDS; r++)); do cat "$WORK/$1_$r.json"; done | jq -s .; }
# mean KEY FIELD, vals KEY FIELD — over $WORK/KEY.json (made by `all`).
mean() { jq "[.[].$2] | add / length | . * 10 | round / 10" "$WORK/$1.json"; }
vals() { jq -r "[.[].$2 | tostring] | join(\"/\")" "$WORK/$1.json"; }
