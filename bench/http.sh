#!/usr/bin/env bash
# bench/http.sh — HTTP publishes per second (POST /v1/messages over
# keep-alive connections, each answered 200 only once the message is
# committed), with p50/p99 per publish, next to the SMB messages per second
# of the same daemon in the same run (smb-load, persistent sessions, as in
# bench/messages.sh), HTTP and SMB taking turns to go first; then the idle RSS of
# the daemon with the HTTP listener on against [http] listen = []. Issue
# #12's goal: HTTP publishes/s >= the SMB figure. A third load publishes
# with "track": true, which also keeps a sender's copy (two rows and a
# receipt per message instead of one); its rate is shown beside.
#
# Run as root from anywhere:  bash bench/http.sh [--rounds N]
#   [--duration SECS] [--connections N] [--text-len BYTES] [--json]
#   [--no-build]
#
# Safety: everything runs inside network namespaces this script creates
# (mt<pid>x0-sw/-h1/-h2, 10.77.0.0/24, a bridge with no uplink, no default
# route, IPv6 off) and removes on exit, also on failure or Ctrl-C. The
# daemon's HTTP listener is on 10.77.0.1 inside h1 (lan = true there only),
# the load generators run in h2; every load stops by itself after
# --duration.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=2
DURATION=10
CONNECTIONS=8
TEXT_LEN=100
JSON=0
BUILD=1

usage() {
  sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
  cat <<'EOF'

Options:
  --rounds N         HTTP then SMB load per round (default 2)
  --duration SECS    each load (default 10)
  --connections N    keep-alive HTTP connections, and SMB sessions, one
                     message in flight each (default 8; at most 32, the
                     daemon's per-address cap)
  --text-len BYTES   bytes of text per message (default 100)
  --json             print one JSON object instead of the table
  --no-build         use the release binaries already built
EOF
}

while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) ROUNDS=${2:?--rounds needs a value}; shift 2 ;;
    --duration) DURATION=${2:?--duration needs a value}; shift 2 ;;
    --connections) CONNECTIONS=${2:?--connections needs a value}; shift 2 ;;
    --text-len) TEXT_LEN=${2:?--text-len needs a value}; shift 2 ;;
    --json) JSON=1; shift ;;
    --no-build) BUILD=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "http.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ $ROUNDS =~ ^[0-9]+$ ]] && [ "$ROUNDS" -ge 1 ] && [ "$ROUNDS" -le 20 ] || { echo "http.sh: --rounds: 1..20" >&2; exit 2; }
[[ $DURATION =~ ^[0-9]+([.][0-9]+)?$ ]] || { echo "http.sh: --duration: seconds" >&2; exit 2; }
[[ $CONNECTIONS =~ ^[0-9]+$ ]] && [ "$CONNECTIONS" -ge 1 ] && [ "$CONNECTIONS" -le 32 ] || { echo "http.sh: --connections: 1..32" >&2; exit 2; }
[[ $TEXT_LEN =~ ^[0-9]+$ ]] && [ "$TEXT_LEN" -le 1600 ] || { echo "http.sh: --text-len: 0..1600" >&2; exit 2; }

SCRIPT=http.sh
# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_prepare "$BUILD" http-load jq
SMB_LOAD=$(dirname "$LOAD")/smb-load
[ -x "$SMB_LOAD" ] || { echo "http.sh: $SMB_LOAD missing (run without --no-build)" >&2; exit 2; }

SERVER_IP=10.77.0.1
NAME=BENCHBOX
bench_begin
STATE_FS=$(findmnt -n -o FSTYPE -T "$WORK" 2>/dev/null || stat -f -c %T "$WORK")
log "building the namespace LAN $PREFIX (2 hosts)"
build_lan

# wait_api DIR — until the daemon of DIR answers on its API socket (10 s).
wait_api() {
  local i
  for ((i = 0; i < 100; i++)); do
    "$MESSNGR" --socket "$1/api.sock" status >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "http.sh: the daemon never answered; its log:" >&2
  tail -n 30 "$1/log" >&2
  exit 1
}

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# --- idle RSS: a fresh daemon with the listener on, then off, per round ------
# On: the default listener (127.0.0.1:839). Off: listen = []. Each daemon
# is started on a new state directory, left idle 2 s, measured, stopped.
# idle_rss LABEL DIR TOML — appends "LABEL KB" to $WORK/rss.
idle_rss() {
  local label=$1 dir=$2 pid
  messngr_conf "$dir" "$NAME" "$3"
  start_messngr "$H1" "$dir"
  pid=$DAEMON_PID
  wait_api "$dir"
  expect_comm "$pid" messngr
  sleep 2
  echo "$label $(rss_kb "$pid")" >>"$WORK/rss"
  stop_server "$pid"
  wait "$pid" 2>/dev/null || true
}
log "idle RSS: $ROUNDS fresh daemon(s) with the HTTP listener on, and off"
: >"$WORK/rss"
for ((r = 1; r <= ROUNDS; r++)); do
  idle_rss on "$WORK/idle-on-$r" ""
  idle_rss off "$WORK/idle-off-$r" $'[http]\nlisten = []'
done

# --- the loads: one daemon, HTTP on its LAN address -------------------------
M_DIR=$WORK/messngr
messngr_conf "$M_DIR" "$NAME" $'[http]\nlisten = ["10.77.0.1:839"]\nlan = true'
MESSNGR_VERSION=$("$MESSNGR" --version | awk '{print $2}')
start_messngr "$H1" "$M_DIR"
M_PID=$DAEMON_PID
wait_api "$M_DIR"
expect_comm "$M_PID" messngr
TOKEN=$("$MESSNGR" --socket "$M_DIR/api.sock" token create --label http-bench)
in_ns "$H2" "$LOAD" --probe --target "$SERVER_IP" --token "$TOKEN" --to "$NAME" --duration 30 >/dev/null &
wait $! || { tail -n 30 "$M_DIR/log" >&2; exit 1; }
in_ns "$H2" "$SMB_LOAD" --probe --target "$SERVER_IP" --name "$NAME" --duration 30 >/dev/null &
wait $! || { tail -n 30 "$M_DIR/log" >&2; exit 1; }

# Received messages only: a publish with "track": true also keeps an `out`
# copy of what root sent (for `messngr track`), as `messngr send` does.
STORED=$(count_messngr)

# The daemon's quotas and every load's store are on the same disk; let the
# previous round's writeback finish so that each load starts alike.
for ((r = 1; r <= ROUNDS; r++)); do
  log "round $r/$ROUNDS"
  # HTTP and SMB take turns going first (the inbox grows as loads run);
  # the tracked load, the side figure, comes last.
  if ((r % 2)); then order="http smb"; else order="smb http"; fi
  for load in $order; do
    sync
    case $load in
      http) measure "http_$r" "$LOAD" --target "$SERVER_IP" --token "$TOKEN" --to "$NAME" --connections "$CONNECTIONS" ;;
      smb) measure "smb_$r" "$SMB_LOAD" --target "$SERVER_IP" --name "$NAME" --sessions "$CONNECTIONS" ;;
    esac
  done
  sync
  measure "tracked_$r" "$LOAD" --target "$SERVER_IP" --token "$TOKEN" --to "$NAME" --connections "$CONNECTIONS" --track
done

"$MESSNGR" --socket "$M_DIR/api.sock" export | jq -r 'select(.direction == "in") | .text' >"$WORK/texts"
H_LINES=$(grep -c '^httpbench-' "$WORK/texts" || true)
H_UNIQUE=$(grep -o '^httpbench-[^ ]*' "$WORK/texts" | sort -u | wc -l)
S_LINES=$(grep -c '^msgbench-' "$WORK/texts" || true)
S_UNIQUE=$(grep -o '^msgbench-[^ ]*' "$WORK/texts" | sort -u | wc -l)
LOADED_RSS=$(rss_kb "$M_PID")
stop_server "$M_PID"
wait "$M_PID" 2>/dev/null || true

# --- report -------------------------------------------------------------------
all http >"$WORK/http.json"
all smb >"$WORK/smb.json"
all tracked >"$WORK/tracked.json"
STORE_OK=$(jq -s '[.[][] | .stored_ok] | all' "$WORK/http.json" "$WORK/smb.json" "$WORK/tracked.json")
[ "$H_LINES" -eq "$H_UNIQUE" ] && [ "$S_LINES" -eq "$S_UNIQUE" ] || STORE_OK=false
H_RATE=$(mean http rate)
S_RATE=$(mean smb rate)
T_RATE=$(mean tracked rate)
T_RATIO=$(awk -v h="$T_RATE" -v s="$S_RATE" 'BEGIN {printf "%.2f", (s > 0 ? h / s : 0)}')
RATIO=$(awk -v h="$H_RATE" -v s="$S_RATE" 'BEGIN {printf "%.2f", (s > 0 ? h / s : 0)}')
GOAL=$(awk -v r="$RATIO" 'BEGIN {print (r >= 1 ? "met" : "missed")}')
RSS_ON=$(awk '$1 == "on" {s += $2; n++} END {printf "%d", s / n}' "$WORK/rss")
RSS_OFF=$(awk '$1 == "off" {s += $2; n++} END {printf "%d", s / n}' "$WORK/rss")

if [ "$JSON" -eq 1 ]; then
  jq -n -c --arg version "$MESSNGR_VERSION" --argjson rounds "$ROUNDS" \
    --argjson duration "$DURATION" --argjson connections "$CONNECTIONS" \
    --slurpfile http "$WORK/http.json" --slurpfile smb "$WORK/smb.json" \
    --slurpfile tracked "$WORK/tracked.json" --argjson t "$T_RATE" --argjson t_ratio "$T_RATIO" \
    --argjson h "$H_RATE" --argjson s "$S_RATE" --argjson ratio "$RATIO" --arg goal "$GOAL" \
    --argjson on "$RSS_ON" --argjson off "$RSS_OFF" --argjson loaded "$LOADED_RSS" \
    --argjson store_ok "$STORE_OK" --arg state_fs "$STATE_FS" \
    '{messngr_version: $version, rounds: $rounds, duration_s: $duration, connections: $connections,
      http: $http[0], smb_persistent: $smb[0], http_tracked: $tracked[0],
      mean_rate: {http: $h, smb: $s, http_tracked: $t}, http_over_smb: $ratio,
      http_tracked_over_smb: $t_ratio, goal_at_least_smb: $goal,
      idle_rss_kb: {http_on: $on, http_off: $off}, rss_after_loads_kb: $loaded,
      stores_match_acknowledgements: $store_ok, state_fs: $state_fs}'
else
  printf '\nmessngr %s: messages to %s, %s-byte texts, %s connections/sessions, %s s per load, %s round(s), HTTP and SMB taking turns to go first\n' \
    "$MESSNGR_VERSION" "$NAME" "$(jq -r '.[0].text_len' "$WORK/http.json")" "$CONNECTIONS" "$DURATION" "$ROUNDS"
  row() { printf '%-32s %22s %22s\n' "$1" "$2" "$3"; }
  row "" "HTTP POST (keep-alive)" "SMB (persistent)"
  row "accepted/s (each round)" "$(vals http rate)" "$(vals smb rate)"
  row "accepted/s (mean)" "$H_RATE" "$S_RATE"
  row "p50 latency us (each round)" "$(vals http p50_us)" "$(vals smb p50_us)"
  row "p99 latency us (each round)" "$(vals http p99_us)" "$(vals smb p99_us)"
  row "errors (each round)" "$(vals http errors)" "$(vals smb errors)"
  row "server CPU us/msg (each round)" "$(vals http server_cpu_us_per_msg)" "$(vals smb server_cpu_us_per_msg)"
  printf '\nGoal: HTTP publishes/s >= SMB messages/s: %s (%sx)\n' "$GOAL" "$RATIO"
  printf 'HTTP with "track": true (a sender'"'"'s copy per publish): %s/s (each round %s), %sx SMB; p99 us %s\n' \
    "$T_RATE" "$(vals tracked rate)" "$T_RATIO" "$(vals tracked p99_us)"
  printf 'Idle RSS (mean of %s fresh daemons): listener on %s kB, off %s kB (%+d kB); after the loads %s kB\n' \
    "$ROUNDS" "$RSS_ON" "$RSS_OFF" "$((RSS_ON - RSS_OFF))" "$LOADED_RSS"
  printf 'The store holds every acknowledged message, once: %s (http %s/%s unique, smb %s/%s); inbox on %s%s\n' \
    "$STORE_OK" "$H_LINES" "$H_UNIQUE" "$S_LINES" "$S_UNIQUE" "$STATE_FS" \
    "$([ "$STATE_FS" = tmpfs ] && echo ': fsync is free there, the figures flatter messngr')"
fi
FAILED=0
[ "$STORE_OK" = true ] || { echo "http.sh: the store does not hold what was acknowledged (logs in $WORK)" >&2; FAILED=1; exit 1; }
