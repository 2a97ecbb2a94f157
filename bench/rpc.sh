#!/usr/bin/env bash
# bench/rpc.sh — RPC messages accepted per second (MS-MSRP NetrSendMessage
# on UDP 135, each answered ERROR_SUCCESS only once stored), with p50/p99
# per call and the daemon's CPU per message, next to the SMB messages per
# second of the same daemon in the same run (smb-load, persistent sessions,
# as bench/messages.sh), loads alternating round by round (issue #13).
#
# Run as root from anywhere:  bash bench/rpc.sh [--rounds N]
#   [--duration SECS] [--clients N] [--text-len BYTES] [--json] [--no-build]
#
# Safety: everything runs inside network namespaces this script creates
# (mt<pid>x0-sw/-h1/-h2, 10.77.0.0/24, a bridge with no uplink, no default
# route, IPv6 off) and removes on exit, also on failure or Ctrl-C. The
# daemon serves UDP 135 (rpc = true) in h1 only; the load generators run in
# h2 and stop by themselves after --duration. The daemon's datagram and
# mailslot message rates, which RPC shares, are turned off (0) so that the
# store is measured, not the limiter.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=2
DURATION=10
CLIENTS=8
TEXT_LEN=100
JSON=0
BUILD=1

usage() {
  sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
  cat <<'EOF2'

Options:
  --rounds N         RPC then SMB load per round (default 2)
  --duration SECS    each load (default 10)
  --clients N        RPC clients, and SMB sessions, one message in flight
                     each (default 8; at most 16, the daemon's activities
                     per sender)
  --text-len BYTES   bytes of text per message (default 100, at most 652)
  --json             print one JSON object instead of the table
  --no-build         use the release binaries already built
EOF2
}

while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) ROUNDS=${2:?--rounds needs a value}; shift 2 ;;
    --duration) DURATION=${2:?--duration needs a value}; shift 2 ;;
    --clients) CLIENTS=${2:?--clients needs a value}; shift 2 ;;
    --text-len) TEXT_LEN=${2:?--text-len needs a value}; shift 2 ;;
    --json) JSON=1; shift ;;
    --no-build) BUILD=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "rpc.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ $ROUNDS =~ ^[0-9]+$ ]] && [ "$ROUNDS" -ge 1 ] && [ "$ROUNDS" -le 20 ] || { echo "rpc.sh: --rounds: 1..20" >&2; exit 2; }
[[ $DURATION =~ ^[0-9]+([.][0-9]+)?$ ]] || { echo "rpc.sh: --duration: seconds" >&2; exit 2; }
[[ $CLIENTS =~ ^[0-9]+$ ]] && [ "$CLIENTS" -ge 1 ] && [ "$CLIENTS" -le 16 ] || { echo "rpc.sh: --clients: 1..16" >&2; exit 2; }
[[ $TEXT_LEN =~ ^[0-9]+$ ]] && [ "$TEXT_LEN" -le 652 ] || { echo "rpc.sh: --text-len: 0..652" >&2; exit 2; }

SCRIPT=rpc.sh
# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_prepare "$BUILD" rpc-load jq
SMB_LOAD=$(dirname "$LOAD")/smb-load
[ -x "$SMB_LOAD" ] || { echo "rpc.sh: $SMB_LOAD missing (run without --no-build)" >&2; exit 2; }

SERVER_IP=10.77.0.1
NAME=BENCHBOX
bench_begin
STATE_FS=$(findmnt -n -o FSTYPE -T "$WORK" 2>/dev/null || stat -f -c %T "$WORK")
log "building the namespace LAN $PREFIX (2 hosts)"
build_lan

M_DIR=$WORK/messngr
messngr_conf "$M_DIR" "$NAME" $'rpc = true\n[limits]\ndatagrams_per_source = 0\ndatagrams_total = 0\nmailslot_messages_per_source = 0\nmailslot_messages_total = 0'
MESSNGR_VERSION=$("$MESSNGR" --version | awk '{print $2}')
start_messngr "$H1" "$M_DIR"
M_PID=$DAEMON_PID
for ((i = 0; i < 100; i++)); do
  "$MESSNGR" --socket "$M_DIR/api.sock" status >/dev/null 2>&1 && break
  sleep 0.1
done
expect_comm "$M_PID" messngr
in_ns "$H2" "$SMB_LOAD" --probe --target "$SERVER_IP" --name "$NAME" --duration 30 >/dev/null &
wait $! || { tail -n 30 "$M_DIR/log" >&2; exit 1; }

STORED=$(count_messngr)

for ((r = 1; r <= ROUNDS; r++)); do
  log "round $r/$ROUNDS"
  sync
  measure "rpc_$r" "$LOAD" --target "$SERVER_IP" --name "$NAME" --clients "$CLIENTS"
  sync
  measure "smb_$r" "$SMB_LOAD" --target "$SERVER_IP" --name "$NAME" --sessions "$CLIENTS"
done

"$MESSNGR" --socket "$M_DIR/api.sock" export | jq -r 'select(.direction == "in") | .text' >"$WORK/texts"
R_LINES=$(grep -c '^rpcbench-' "$WORK/texts" || true)
R_UNIQUE=$(grep -o '^rpcbench-[^ ]*' "$WORK/texts" | sort -u | wc -l)
S_LINES=$(grep -c '^msgbench-' "$WORK/texts" || true)
S_UNIQUE=$(grep -o '^msgbench-[^ ]*' "$WORK/texts" | sort -u | wc -l)
stop_server "$M_PID"
wait "$M_PID" 2>/dev/null || true

all rpc >"$WORK/rpc.json"
all smb >"$WORK/smb.json"
STORE_OK=$(jq -s '[.[][] | .stored_ok] | all' "$WORK/rpc.json" "$WORK/smb.json")
[ "$R_LINES" -eq "$R_UNIQUE" ] && [ "$S_LINES" -eq "$S_UNIQUE" ] || STORE_OK=false
R_RATE=$(mean rpc rate)
S_RATE=$(mean smb rate)
RATIO=$(awk -v a="$R_RATE" -v s="$S_RATE" 'BEGIN {printf "%.2f", (s > 0 ? a / s : 0)}')

if [ "$JSON" -eq 1 ]; then
  jq -n -c --arg version "$MESSNGR_VERSION" --argjson rounds "$ROUNDS" \
    --argjson duration "$DURATION" --argjson clients "$CLIENTS" \
    --slurpfile rpc "$WORK/rpc.json" --slurpfile smb "$WORK/smb.json" \
    --argjson r "$R_RATE" --argjson s "$S_RATE" --argjson ratio "$RATIO" \
    --argjson store_ok "$STORE_OK" --arg state_fs "$STATE_FS" \
    '{messngr_version: $version, rounds: $rounds, duration_s: $duration, clients: $clients,
      rpc: $rpc[0], smb_persistent: $smb[0], mean_rate: {rpc: $r, smb: $s},
      rpc_over_smb: $ratio, stores_match_acknowledgements: $store_ok, state_fs: $state_fs}'
else
  printf '\nmessngr %s: messages to %s, %s-byte texts, %s clients/sessions, %s s per load, %s round(s), alternating\n' \
    "$MESSNGR_VERSION" "$NAME" "$(jq -r '.[0].text_len' "$WORK/rpc.json")" "$CLIENTS" "$DURATION" "$ROUNDS"
  row() { printf '%-32s %22s %22s\n' "$1" "$2" "$3"; }
  row "" "RPC (UDP 135)" "SMB (persistent)"
  row "accepted/s (each round)" "$(vals rpc rate)" "$(vals smb rate)"
  row "accepted/s (mean)" "$R_RATE" "$S_RATE"
  row "p50 latency us (each round)" "$(vals rpc p50_us)" "$(vals smb p50_us)"
  row "p99 latency us (each round)" "$(vals rpc p99_us)" "$(vals smb p99_us)"
  row "errors (each round)" "$(vals rpc errors)" "$(vals smb errors)"
  row "server CPU us/msg (each round)" "$(vals rpc server_cpu_us_per_msg)" "$(vals smb server_cpu_us_per_msg)"
  printf '\nRPC/SMB: %sx\n' "$RATIO"
  printf 'The store holds every acknowledged message, once: %s (rpc %s/%s unique, smb %s/%s); inbox on %s%s\n' \
    "$STORE_OK" "$R_LINES" "$R_UNIQUE" "$S_LINES" "$S_UNIQUE" "$STATE_FS" \
    "$([ "$STATE_FS" = tmpfs ] && echo ': fsync is free there, the figures flatter messngr')"
fi
FAILED=0
[ "$STORE_OK" = true ] || { FAILED=1; echo "rpc.sh: the store does not hold what was acknowledged (logs in $WORK)" >&2; exit 1; }
