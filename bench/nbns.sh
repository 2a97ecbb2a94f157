#!/usr/bin/env bash
# bench/nbns.sh — NBNS name queries answered per second, p50/p99 latency, CPU
# time and peak RSS: Samba's nmbd and messngr, one after the other, on the same
# private namespace LAN with the same load generator (crates/messngr-bench,
# `nbns-load`), printed side by side. Issue #3's goal: messngr answers at
# least 2x nmbd's rate with a p99 no worse than nmbd's.
#
# Run as root from anywhere:  bash bench/nbns.sh [--duration SECS]
#   [--concurrency N] [--sources N] [--json] [--no-build]
#
# Safety: everything runs inside network namespaces this script creates
# (mt<pid>x0-sw/-h1/-h2, 10.77.0.0/24, a bridge with no uplink, no default
# route, IPv6 off) and removes on exit, also on failure or Ctrl-C; the
# servers and the load generator run only inside them, and the load stops by
# itself after --duration. The names follow the test LANs' scheme, so
# ci/test reaps them if this script is ever killed with SIGKILL.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=10
CONCURRENCY=8
SOURCES=245
RATE_LIMIT=0
JSON=0
BUILD=1

usage() {
  sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
  cat <<'EOF'

Options:
  --duration SECS    load per server (default 10)
  --concurrency N    load generator workers, one query in flight each (default 8)
  --sources N        client source addresses 10.77.0.10 onwards, 1..245 (default 245)
  --rate-limit N     messngr's nbns_rate_limit (datagrams/s per source) for the run;
                     default 0 = off, as nmbd has none, so both are measured at
                     capacity. With N > 0 the run is capped at sources x N answers/s
  --json             print one JSON object instead of the table
  --no-build         use the release binaries already built
EOF
}

while [ $# -gt 0 ]; do
  case "$1" in
    --duration) DURATION=${2:?--duration needs a value}; shift 2 ;;
    --concurrency) CONCURRENCY=${2:?--concurrency needs a value}; shift 2 ;;
    --sources) SOURCES=${2:?--sources needs a value}; shift 2 ;;
    --rate-limit) RATE_LIMIT=${2:?--rate-limit needs a value}; shift 2 ;;
    --json) JSON=1; shift ;;
    --no-build) BUILD=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "nbns.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ $DURATION =~ ^[0-9]+([.][0-9]+)?$ ]] || { echo "nbns.sh: --duration: seconds" >&2; exit 2; }
if ! [[ $CONCURRENCY =~ ^[0-9]+$ ]] || [ "$CONCURRENCY" -lt 1 ] || [ "$CONCURRENCY" -gt 256 ]; then
  echo "nbns.sh: --concurrency: 1..256" >&2; exit 2
fi
[[ $RATE_LIMIT =~ ^[0-9]+$ ]] || { echo "nbns.sh: --rate-limit: a whole number" >&2; exit 2; }
if ! [[ $SOURCES =~ ^[0-9]+$ ]] || [ "$SOURCES" -lt 1 ] || [ "$SOURCES" -gt 245 ]; then
  echo "nbns.sh: --sources: 1..245" >&2; exit 2
fi

SCRIPT=nbns.sh
# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_prepare "$BUILD" nbns-load nmbd

SERVER_IP=10.77.0.1
NAME='BENCHBOX#03'
bench_begin

# --- the LAN (bench/lib.sh): a bridge namespace, two hosts on veth pairs ------
log "building the namespace LAN $PREFIX (2 hosts, $SOURCES client addresses)"
build_lan
# The client's source addresses: 10.77.0.10 onwards, on h2's eth0.
{
  for ((k = 0; k < SOURCES; k++)); do
    echo "addr add 10.77.0.$((10 + k))/24 dev eth0"
  done
} | ip -n "$H2" -batch -
SOURCE_SPEC="10.77.0.10-10.77.0.$((10 + SOURCES - 1))"

# Runs the load against the server with pid $2; writes $WORK/$1.json with the
# load generator's report plus the server's CPU seconds and peak RSS.
measure() {
  local who=$1 pid=$2 before after
  before=$(cpu_ticks "$pid")
  # In the background and waited for, so that Ctrl-C / SIGTERM act at once.
  in_ns "$H2" "$LOAD" --target "$SERVER_IP" --name "$NAME" --duration "$DURATION" \
    --concurrency "$CONCURRENCY" --source "$SOURCE_SPEC" --json >"$WORK/$who.load.json" &
  wait $!
  after=$(cpu_ticks "$pid")
  local cpu rss answered per
  cpu=$(awk -v t=$((after - before)) -v hz="$CLK_TCK" 'BEGIN {printf "%.2f", t / hz}')
  rss=$(awk -v kb="$(peak_rss_kb "$pid")" 'BEGIN {printf "%.1f", kb / 1024}')
  answered=$(grep -o '"answered":[0-9]*' "$WORK/$who.load.json" | cut -d: -f2)
  per=$(awk -v c="$cpu" -v n="$answered" 'BEGIN {printf "%.1f", (n > 0 ? c * 1e6 / n : 0)}')
  sed "s/}\$/,\"server_cpu_s\":$cpu,\"server_cpu_us_per_answer\":$per,\"server_peak_rss_mb\":$rss}/" \
    "$WORK/$who.load.json" >"$WORK/$who.json"
}

# --- round 1: nmbd ------------------------------------------------------------
NMBD_DIR=$WORK/nmbd
"$SMB_CONF" "$NMBD_DIR" --write --name BENCHBOX
NMBD_VERSION=$(nmbd --version | awk '{print $2}')
log "round 1: nmbd $NMBD_VERSION in h1"
ip netns exec "$H1" nmbd -F --debug-stdout -s "$NMBD_DIR/smb.conf" </dev/null >"$NMBD_DIR/stdout" 2>&1 &
NMBD_PID=$!
# nmbd registers its names for about 4 s before it answers.
wait_ready nmbd "$NMBD_DIR/stdout" "answered $NAME"
expect_comm "$NMBD_PID" nmbd
log "  load: $DURATION s, $CONCURRENCY workers"
measure nmbd "$NMBD_PID"
stop_server "$NMBD_PID"
wait "$NMBD_PID" 2>/dev/null || true

# --- round 2: messngr ---------------------------------------------------------
M_DIR=$WORK/messngr
messngr_conf "$M_DIR" BENCHBOX "nbns_rate_limit = $RATE_LIMIT"
MESSNGR_VERSION=$("$MESSNGR" --version | awk '{print $2}')
log "round 2: messngr $MESSNGR_VERSION in h1"
start_messngr "$H1" "$M_DIR"
M_PID=$DAEMON_PID
wait_ready messngr "$M_DIR/log" "answered $NAME"
expect_comm "$M_PID" messngr
log "  load: $DURATION s, $CONCURRENCY workers"
measure messngr "$M_PID"
"$MESSNGR" --socket "$M_DIR/api.sock" status --json >"$M_DIR/status.json" 2>/dev/null || true
stop_server "$M_PID"
wait "$M_PID" 2>/dev/null || true

# --- report -------------------------------------------------------------------
get() { grep -o "\"$2\":[^,}]*" "$WORK/$1.json" | head -n 1 | cut -d: -f2 | tr -d '"'; }
RATE_N=$(get nmbd rate)
RATE_M=$(get messngr rate)
P99_N=$(get nmbd p99_us)
P99_M=$(get messngr p99_us)
RATIO=$(awk -v m="$RATE_M" -v n="$RATE_N" 'BEGIN {if (n > 0) printf "%.2f", m / n; else print "inf"}')
RATE_OK=$(awk -v r="$RATIO" 'BEGIN {print (r == "inf" || r >= 2) ? "met" : "missed"}')
P99_OK=$(awk -v m="$P99_M" -v n="$P99_N" 'BEGIN {print (m <= n) ? "met" : "missed"}')
LIMITED=$(grep -o '"nbns_rate_limited": *[0-9]*' "$M_DIR/status.json" 2>/dev/null | grep -o '[0-9]*$' || true)
LIMITED=${LIMITED:-null}
if [ "$RATE_LIMIT" -gt 0 ]; then CEILING=$((SOURCES * RATE_LIMIT)); else CEILING=null; fi

if [ "$JSON" -eq 1 ]; then
  printf '{"duration_s":%s,"concurrency":%s,"sources":%s,"nmbd_version":"%s","messngr_version":"%s","nmbd":%s,"messngr":%s,"rate_ratio":%s,"rate_goal":"%s","p99_goal":"%s","messngr_rate_limited":%s,"messngr_limit_ceiling":%s}\n' \
    "$DURATION" "$CONCURRENCY" "$SOURCES" "$NMBD_VERSION" "$MESSNGR_VERSION" "$(cat "$WORK/nmbd.json")" \
    "$(cat "$WORK/messngr.json")" "$RATIO" "$RATE_OK" "$P99_OK" "$LIMITED" "$CEILING"
else
  printf '\nNBNS name queries for %s, %s s per server, %s workers (closed loop), %s client address(es)\n' \
    "$NAME" "$DURATION" "$CONCURRENCY" "$SOURCES"
  row() { printf '%-26s %16s %16s\n' "$1" "$2" "$3"; }
  both() { row "$1" "$(get nmbd "$2")" "$(get messngr "$2")"; }
  row "" "nmbd $NMBD_VERSION" "messngr $MESSNGR_VERSION"
  both "answered/s" rate
  both "p50 latency (us)" p50_us
  both "p90 latency (us)" p90_us
  both "p99 latency (us)" p99_us
  both "max latency (us)" max_us
  both "sent" sent
  both "lost (no answer in 1 s)" lost
  both "wrong answers" wrong
  both "server CPU (s)" server_cpu_s
  both "server CPU per answer (us)" server_cpu_us_per_answer
  both "server peak RSS (MB)" server_peak_rss_mb
  printf '\nmessngr/nmbd rate: %sx (goal >= 2x: %s); p99 %s vs %s us (goal no worse: %s)\n' \
    "$RATIO" "$RATE_OK" "$P99_M" "$P99_N" "$P99_OK"
  if [ "$RATE_LIMIT" -gt 0 ]; then
    printf "messngr's per-source limit caps this run at %s x %s = %s answered/s; it dropped %s datagrams\n" \
      "$SOURCES" "$RATE_LIMIT" "$CEILING" "$LIMITED"
  else
    printf "messngr's per-source flood limit was off (nbns_rate_limit = 0; nmbd has none)\n"
  fi
fi
FAILED=0
