#!/usr/bin/env bash
# bench/messages.sh — SMB messages accepted per second (8 persistent
# sessions, and a fresh connection per message), per-message latency and
# server CPU per message: Samba's smbd with a `message command` that appends
# to a file, then messngr, on the same private namespace LAN with the same
# load generator (crates/messngr-bench, `smb-load`); then the end-to-end time
# of `messngr send` against `smbclient -M`, both to the messngr receiver.
# Printed side by side. Issue #4's goals: messngr >= 20x smbd on persistent
# sessions, >= 5x with fresh connections, `messngr send` <= 1/3 of
# smbclient's time.
#
# Run as root from anywhere:  bash bench/messages.sh [--duration SECS]
#   [--sessions N] [--text-len BYTES] [--e2e-runs N] [--json] [--no-build]
#
# Safety: everything runs inside network namespaces this script creates
# (mt<pid>x0-sw/-h1/-h2, 10.77.0.0/24, a bridge with no uplink, no default
# route, IPv6 off) and removes on exit, also on failure or Ctrl-C; smbd,
# the messngr daemons, smbclient and the load generator run only inside
# them, and every load stops by itself after --duration (and a message
# budget). The names follow the test LANs' scheme, so ci/test reaps them if
# this script is ever killed with SIGKILL.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=10
SESSIONS=8
TEXT_LEN=100
E2E_RUNS=30
JSON=0
BUILD=1

usage() {
  sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'
  cat <<'EOF'

Options:
  --duration SECS    each load (4 in all: 2 per receiver; default 10)
  --sessions N       load generator sessions, one message in flight each
                     (default 8); the fresh-connection load uses as many
  --text-len BYTES   bytes of text per message (default 100: one block)
  --e2e-runs N       timed runs of each sending command (default 30)
  --json             print one JSON object instead of the table
  --no-build         use the release binaries already built
EOF
}

while [ $# -gt 0 ]; do
  case "$1" in
    --duration) DURATION=${2:?--duration needs a value}; shift 2 ;;
    --sessions) SESSIONS=${2:?--sessions needs a value}; shift 2 ;;
    --text-len) TEXT_LEN=${2:?--text-len needs a value}; shift 2 ;;
    --e2e-runs) E2E_RUNS=${2:?--e2e-runs needs a value}; shift 2 ;;
    --json) JSON=1; shift ;;
    --no-build) BUILD=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "messages.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ $DURATION =~ ^[0-9]+([.][0-9]+)?$ ]] || { echo "messages.sh: --duration: seconds" >&2; exit 2; }
if ! [[ $SESSIONS =~ ^[0-9]+$ ]] || [ "$SESSIONS" -lt 1 ] || [ "$SESSIONS" -gt 256 ]; then
  echo "messages.sh: --sessions: 1..256" >&2; exit 2
fi
if ! [[ $TEXT_LEN =~ ^[0-9]+$ ]] || [ "$TEXT_LEN" -gt 1600 ]; then
  echo "messages.sh: --text-len: 0..1600" >&2; exit 2
fi
if ! [[ $E2E_RUNS =~ ^[0-9]+$ ]] || [ "$E2E_RUNS" -lt 1 ] || [ "$E2E_RUNS" -gt 1000 ]; then
  echo "messages.sh: --e2e-runs: 1..1000" >&2; exit 2
fi

SCRIPT=messages.sh
# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_prepare "$BUILD" smb-load smbd smbclient jq

SERVER_IP=10.77.0.1
NAME=BENCHBOX
bench_begin
# messngr's inbox lives under $WORK: on tmpfs its fsyncs would cost nothing.
STATE_FS=$(findmnt -n -o FSTYPE -T "$WORK" 2>/dev/null || stat -f -c %T "$WORK")

# --- the LAN (bench/lib.sh): a bridge namespace, two hosts on veth pairs ------
log "building the namespace LAN $PREFIX (2 hosts)"
build_lan
# The fresh-connection loads open tens of thousands of connections from h2,
# each left in TIME_WAIT there: let h2 reuse those ports (both settings are
# per namespace).
ip netns exec "$H2" sysctl -qw net.ipv4.tcp_tw_reuse=1 net.ipv4.ip_local_port_range="1024 65535"

# Messages the receiver holds: smbd's file (one line per message), or the
# messngr inbox through the CLI. STORED is the last count taken, so that the
# next load need not list a large inbox once more to know where it starts.
SMBD_DIR=$WORK/smbd
M_DIR=$WORK/messngr
count_smbd() {
  if [ -f "$SMBD_DIR/received/all.txt" ]; then grep -c '^msgbench-' "$SMBD_DIR/received/all.txt" || true; else echo 0; fi
}
# Every stored message: `export` streams them all (`inbox` shows a page).
count_messngr() { "$MESSNGR" --socket "$M_DIR/api.sock" export | wc -l; }

# Runs one load against the receiver with pid $2 and writes $WORK/$1.json:
# the load generator's report plus the server's CPU seconds, CPU per
# accepted message, and how many messages the receiver's store gained
# ($3 = the function that counts them). CPU counts the server's reaped
# children too: smbd forks a process per connection, and that one the
# message command per message.
measure() {
  local key=$1 pid=$2 counter=$3 fresh=${4:-} before after stored_before stored_after
  stored_before=${STORED:-$($counter)}
  before=$(cpu_ticks "$pid" children)
  # shellcheck disable=SC2086 # $fresh is empty or one word
  in_ns "$H2" "$LOAD" --target "$SERVER_IP" --name "$NAME" --sessions "$SESSIONS" \
    --duration "$DURATION" --text-len "$TEXT_LEN" $fresh --json >"$WORK/$key.load.json"
  # smbd's per-connection processes exit when their client closes; their CPU
  # reaches the parent's cutime once it has reaped them.
  sleep 0.5
  after=$(cpu_ticks "$pid" children)
  stored_after=$($counter)
  STORED=$stored_after
  local cpu accepted per stored
  cpu=$(awk -v t=$((after - before)) -v hz="$CLK_TCK" 'BEGIN {printf "%.2f", t / hz}')
  accepted=$(jq .accepted "$WORK/$key.load.json")
  per=$(awk -v c="$cpu" -v n="$accepted" 'BEGIN {printf "%.1f", (n > 0 ? c * 1e6 / n : 0)}')
  stored=$((stored_after - stored_before))
  jq -c --argjson cpu "$cpu" --argjson per "$per" --argjson stored "$stored" \
    '. + {server_cpu_s: $cpu, server_cpu_us_per_msg: $per, stored: $stored,
          stored_ok: ($stored >= .accepted and ($stored == .accepted or .errors > 0))}' \
    "$WORK/$key.load.json" >"$WORK/$key.json"
  log "  $(jq -r '"\(.rate) accepted/s, p50 \(.p50_us) us, p99 \(.p99_us) us, \(.errors) errors, stored \(.stored) of \(.accepted) acknowledged"' "$WORK/$key.json")"
}

# The two loads against the receiver WHO (pid $2, its store counted by $3):
# persistent sessions, then a fresh connection per message.
both_loads() {
  log "  persistent: $SESSIONS sessions, $DURATION s"
  measure "$1_persistent" "$2" "$3"
  log "  fresh connection per message: $SESSIONS at once, $DURATION s"
  measure "$1_fresh" "$2" "$3" --fresh
}

# --- round A: smbd ------------------------------------------------------------
mkdir -p "$SMBD_DIR/received" "$SMBD_DIR/tmp"
# smbd runs the message command as the guest user (nobody), without a shell
# (hence sh -c), and waits for it before it answers END: an acknowledged
# message is in the file.
chmod 755 "$WORK" "$SMBD_DIR"
chmod 777 "$SMBD_DIR/received" "$SMBD_DIR/tmp"
"$SMB_CONF" "$SMBD_DIR" --write --name "$NAME" --set 'smb ports=139' \
  --message-command "/bin/sh -c 'cat %s >> $SMBD_DIR/received/all.txt; rm %s'"
SMBD_VERSION=$(smbd --version | awk '{print $2}')
log "round A: smbd $SMBD_VERSION in h1 (message command appends to a file)"
# TMPDIR: where smbd writes each message before running the command.
ip netns exec "$H1" env TMPDIR="$SMBD_DIR/tmp" smbd -F --debug-stdout -d 0 -s "$SMBD_DIR/smb.conf" \
  </dev/null >"$SMBD_DIR/stdout" 2>&1 &
SMBD_PID=$!
wait_ready smbd "$SMBD_DIR/stdout" "accepted a session for $NAME<03>"
expect_comm "$SMBD_PID" smbd
both_loads smbd "$SMBD_PID" count_smbd
SMBD_LINES=$STORED
unset STORED
SMBD_UNIQUE=$(grep -o '^msgbench-[^ ]*' "$SMBD_DIR/received/all.txt" | sort -u | wc -l)
stop_server "$SMBD_PID"
wait "$SMBD_PID" 2>/dev/null || true

# --- round B: messngr ---------------------------------------------------------
messngr_conf "$M_DIR" "$NAME"
MESSNGR_VERSION=$("$MESSNGR" --version | awk '{print $2}')
log "round B: messngr $MESSNGR_VERSION in h1"
start_messngr "$H1" "$M_DIR"
M_PID=$DAEMON_PID
wait_ready messngr "$M_DIR/log" "accepted a session for $NAME<03>"
expect_comm "$M_PID" messngr
both_loads messngr "$M_PID" count_messngr

# --- end to end: messngr send against smbclient -M, to the messngr receiver ---
C_DIR=$WORK/client
messngr_conf "$C_DIR" SENDERBOX
start_messngr "$H2" "$C_DIR"
C_PID=$DAEMON_PID
"$SMB_CONF" "$C_DIR/samba" --write --name SENDERBOX --broadcast-resolution
for ((i = 0; i < 100; i++)); do
  "$MESSNGR" --socket "$C_DIR/api.sock" status >/dev/null 2>&1 && break
  sleep 0.1
done
"$MESSNGR" --socket "$C_DIR/api.sock" status >/dev/null || { tail -n 30 "$C_DIR/log" >&2; exit 1; }
E2E_TEXT="end-to-end $(head -c $((TEXT_LEN > 12 ? TEXT_LEN - 12 : 0)) /dev/zero | tr '\0' x)"
printf '%s' "$E2E_TEXT" >"$WORK/e2e.txt"
log "end to end: $E2E_RUNS runs of each command from h2, interleaved"
E2E_BEFORE=$STORED
# The loads left tens of MB of inbox and WAL for the kernel to write back;
# fsyncs queued behind that writeback would time the disk, not the send.
# Let it finish first, as on a receiver that is not in the middle of a flood.
sync
sleep 1
# One untimed run of each first (page cache, name of the binaries), then the
# timed ones, alternating so that background load hits both alike. Times are
# taken inside h2 around each command alone.
in_ns "$H2" bash -s "$MESSNGR" "$C_DIR/api.sock" "$SERVER_IP" "$NAME" "$E2E_TEXT" \
  "$C_DIR/samba/smb.conf" "$WORK/e2e.txt" "$E2E_RUNS" >"$WORK/e2e.times" 2>"$WORK/e2e.err" <<'EOF'
set -u
m() { "$1" --socket "$2" send -I "$3" "$4" "$5" </dev/null >/dev/null; }
s() { smbclient -N -s "$6" -M "$4" -I "$3" <"$7" >/dev/null 2>&1; }
m "$@" || echo "messngr send failed (warm-up)" >&2
s "$@" || echo "smbclient failed (warm-up)" >&2
for ((i = 0; i < $8; i++)); do
  t0=$EPOCHREALTIME; m "$@" || echo "messngr send failed" >&2; t1=$EPOCHREALTIME
  echo "messngr $t0 $t1"
  t0=$EPOCHREALTIME; s "$@" || echo "smbclient failed" >&2; t1=$EPOCHREALTIME
  echo "smbclient $t0 $t1"
done
EOF
# One listing for the end-to-end count and the duplicate check.
"$MESSNGR" --socket "$M_DIR/api.sock" export | jq -s . >"$WORK/inbox.json"
E2E_STORED=$(($(jq length "$WORK/inbox.json") - E2E_BEFORE))
E2E_FAILURES=$(wc -l <"$WORK/e2e.err")
# mean, p50, p90 in ms (nearest rank) of one command's times.
e2e_stats() {
  awk -v who="$1" '$1 == who {print ($3 - $2) * 1000}' "$WORK/e2e.times" | sort -n |
    awk '{v[NR] = $1; s += $1}
         END {p50 = int(NR * 0.5); if (p50 < NR * 0.5) p50++;
              p90 = int(NR * 0.9); if (p90 < NR * 0.9) p90++;
              printf "{\"runs\":%d,\"mean_ms\":%.2f,\"p50_ms\":%.2f,\"p90_ms\":%.2f}", NR, s / NR, v[p50], v[p90]}'
}
e2e_stats messngr >"$WORK/e2e_messngr.json"
e2e_stats smbclient >"$WORK/e2e_smbclient.json"

M_TEXTS=$(jq -r '.[].text' "$WORK/inbox.json")
M_LINES=$(grep -c '^msgbench-' <<<"$M_TEXTS" || true)
M_UNIQUE=$(grep -o '^msgbench-[^ ]*' <<<"$M_TEXTS" | sort -u | wc -l)
stop_server "$C_PID"
stop_server "$M_PID"
wait "$M_PID" "$C_PID" 2>/dev/null || true
M_INFO_LINES=$(grep -c ' INFO ' "$M_DIR/log" || true)

# --- report -------------------------------------------------------------------
get() { jq -r ".$2" "$WORK/$1.json"; }
ratio() { awk -v m="$1" -v n="$2" -v f="${3:-%.1f}" 'BEGIN {if (n > 0) printf f, m / n; else print "inf"}'; }
goal() { awk -v r="$1" -v g="$2" -v op="$3" 'BEGIN {ok = (op == ">=") ? (r == "inf" || r >= g) : (r <= g); print ok ? "met" : "missed"}'; }
R_PERS=$(ratio "$(get messngr_persistent rate)" "$(get smbd_persistent rate)")
R_FRESH=$(ratio "$(get messngr_fresh rate)" "$(get smbd_fresh rate)")
E2E_M=$(get e2e_messngr mean_ms)
E2E_S=$(get e2e_smbclient mean_ms)
R_E2E=$(awk -v m="$E2E_M" -v s="$E2E_S" 'BEGIN {printf "%.2f", (s > 0 ? m / s : 0)}')
G_PERS=$(goal "$R_PERS" 20 ">=")
G_FRESH=$(goal "$R_FRESH" 5 ">=")
G_E2E=$(goal "$(awk -v m="$E2E_M" -v s="$E2E_S" 'BEGIN {print (s > 0 ? m / s : 1)}')" "$(awk 'BEGIN {print 1 / 3}')" "<=")
STORE_OK=true
for k in smbd_persistent smbd_fresh messngr_persistent messngr_fresh; do
  [ "$(get $k stored_ok)" = true ] || STORE_OK=false
done
[ "$SMBD_UNIQUE" -eq "$SMBD_LINES" ] && [ "$M_UNIQUE" -eq "$M_LINES" ] || STORE_OK=false
# Every run stores one message, the two warm-up runs included.
E2E_SENT=$((2 * E2E_RUNS + 2))
[ "$E2E_STORED" -eq "$E2E_SENT" ] && [ "$E2E_FAILURES" -eq 0 ] || STORE_OK=false

if [ "$JSON" -eq 1 ]; then
  jq -n -c --argjson duration "$DURATION" --argjson sessions "$SESSIONS" \
    --arg smbd_version "$SMBD_VERSION" --arg messngr_version "$MESSNGR_VERSION" \
    --slurpfile sp "$WORK/smbd_persistent.json" --slurpfile sf "$WORK/smbd_fresh.json" \
    --slurpfile mp "$WORK/messngr_persistent.json" --slurpfile mf "$WORK/messngr_fresh.json" \
    --slurpfile em "$WORK/e2e_messngr.json" --slurpfile es "$WORK/e2e_smbclient.json" \
    --argjson rp "$R_PERS" --argjson rf "$R_FRESH" --argjson re "$R_E2E" \
    --argjson cp "$(ratio "$(get smbd_persistent server_cpu_us_per_msg)" "$(get messngr_persistent server_cpu_us_per_msg)")" \
    --argjson cf "$(ratio "$(get smbd_fresh server_cpu_us_per_msg)" "$(get messngr_fresh server_cpu_us_per_msg)")" \
    --arg gp "$G_PERS" --arg gf "$G_FRESH" --arg ge "$G_E2E" \
    --argjson store_ok "$STORE_OK" --argjson e2e_stored "$E2E_STORED" \
    --argjson info_lines "$M_INFO_LINES" --arg state_fs "$STATE_FS" \
    '{duration_s: $duration, sessions: $sessions, smbd_version: $smbd_version,
      messngr_version: $messngr_version,
      smbd: {persistent: $sp[0], fresh: $sf[0]}, messngr: {persistent: $mp[0], fresh: $mf[0]},
      e2e: {messngr_send: $em[0], smbclient_m: $es[0], stored: $e2e_stored},
      ratios: {persistent: $rp, fresh: $rf, e2e_time: $re,
               cpu_per_msg_smbd_over_messngr: {persistent: $cp, fresh: $cf}},
      goals: {persistent_20x: $gp, fresh_5x: $gf, e2e_third: $ge},
      stores_match_acknowledgements: $store_ok, messngr_info_log_lines: $info_lines,
      state_fs: $state_fs}'
else
  printf '\nSMB messages to %s<03>, %s-byte texts, %s s per load, %s sessions (closed loop)\n' \
    "$NAME" "$(get smbd_persistent text_len)" "$DURATION" "$SESSIONS"
  row() { printf '%-34s %18s %18s %8s\n' "$1" "$2" "$3" "$4"; }
  both() { row "$1" "$(get "smbd_$2" "$3")" "$(get "messngr_$2" "$3")" "${4:-}"; }
  row "" "smbd $SMBD_VERSION" "messngr $MESSNGR_VERSION" "ratio"
  for mode in persistent fresh; do
    if [ $mode = persistent ]; then label="persistent sessions"; r=$R_PERS; else label="fresh connection each"; r=$R_FRESH; fi
    both "$label: accepted/s" $mode rate "${r}x"
    both "  p50 latency (us)" $mode p50_us
    both "  p99 latency (us)" $mode p99_us
    both "  accepted" $mode accepted
    both "  errors" $mode errors
    both "  stored (receiver's count)" $mode stored
    # Ratio smbd/messngr here: how many times less CPU messngr spends per
    # message (steadier than the rates when other work shares the CPU).
    both "  server CPU per message (us)" $mode server_cpu_us_per_msg \
      "$(ratio "$(get "smbd_$mode" server_cpu_us_per_msg)" "$(get "messngr_$mode" server_cpu_us_per_msg)")x"
  done
  printf '\nEnd to end, %s runs each from h2 to the messngr receiver (ms)\n' "$E2E_RUNS"
  row "" "smbclient -M" "messngr send" "ratio"
  for s in mean p50 p90; do
    row "  $s" "$(get e2e_smbclient "${s}_ms")" "$(get e2e_messngr "${s}_ms")" \
      "$(ratio "$(get e2e_messngr "${s}_ms")" "$(get e2e_smbclient "${s}_ms")" %.2f)"
  done
  printf '\nGoals: persistent >= 20x smbd: %s (%sx); fresh >= 5x smbd: %s (%sx); messngr send <= 1/3 of smbclient (mean): %s (%s)\n' \
    "$G_PERS" "$R_PERS" "$G_FRESH" "$R_FRESH" "$G_E2E" "$R_E2E"
  printf 'Receivers hold every acknowledged message, once: %s (smbd %s lines/%s unique; messngr %s/%s; end to end %s of %s stored, %s failures)\n' \
    "$STORE_OK" "$SMBD_LINES" "$SMBD_UNIQUE" "$M_LINES" "$M_UNIQUE" "$E2E_STORED" "$E2E_SENT" "$E2E_FAILURES"
  printf "smbd does not fsync its file; messngr COMMITs under synchronous=FULL before it acknowledges (inbox on %s%s).\n" \
    "$STATE_FS" "$([ "$STATE_FS" = tmpfs ] && echo ': fsync is free there, the figures flatter messngr')"
fi
FAILED=0
[ "$STORE_OK" = true ] || { echo "messages.sh: a receiver does not hold what it acknowledged (logs in $WORK)" >&2; FAILED=1; exit 1; }
