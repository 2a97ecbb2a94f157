#!/usr/bin/env bash
# bench/secure.sh — the cost of issue #11's secure channel: native messngr
# messages accepted per second over persistent sessions, plaintext (unsigned,
# as an older messngr sends them) against encrypted and signed (Noise XX,
# signed by a certified user key, sealed), to the same messngr receiver in
# the same run, loads alternating, and a third load of plaintext with a new
# session per message (what messngr's sender did before secure sessions:
# today's native path as it was used); the receiver's CPU per message and peak
# RSS; then `messngr send` end to end from a second messngr daemon: the first
# send after it starts (handshake included) against the following ones on
# the reused session, and the same to Samba's smbd (the legacy SMB path) for
# reference. Issue #11's goals: secure >= 80 % of the plaintext rate; first
# contact adds < 2 ms to `messngr send`.
#
# Run as root from anywhere:  bash bench/secure.sh [--rounds N]
#   [--sessions N] [--messages M] [--text-len BYTES] [--restarts N]
#   [--sends N] [--json] [--no-build]
#
# Safety: everything runs inside network namespaces this script creates
# (mt<pid>x0-sw/-h1/-h2, 10.77.0.0/24, a bridge with no uplink, IPv6 off)
# and removes on exit, also on failure or Ctrl-C (bench/lib.sh); every load
# stops after its messages. The names follow the test LANs' scheme, so
# ci/test reaps them if this script is ever killed with SIGKILL.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=3
SESSIONS=8
MESSAGES=1500
TEXT_LEN=100
RESTARTS=5
SENDS=5
JSON=0
BUILD=1

usage() {
  sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'
  cat <<'EOF'

Options:
  --rounds N        plain + secure load pairs, alternating (default 3)
  --sessions N      load generator sessions, one message in flight each (default 8)
  --messages M      messages per session per load (default 1500)
  --text-len BYTES  bytes of text per message (default 100)
  --restarts N      timed sender daemon starts per receiver (default 5)
  --sends N         timed sends on the reused session after each first one (default 5)
  --json            print one JSON object instead of the table
  --no-build        use the release binaries already built
EOF
}

num() { [[ $2 =~ ^[0-9]+$ ]] && [ "$2" -ge "$3" ] && [ "$2" -le "$4" ] || { echo "secure.sh: $1: $3..$4" >&2; exit 2; }; }
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) ROUNDS=${2:?--rounds needs a value}; shift 2 ;;
    --sessions) SESSIONS=${2:?--sessions needs a value}; shift 2 ;;
    --messages) MESSAGES=${2:?--messages needs a value}; shift 2 ;;
    --text-len) TEXT_LEN=${2:?--text-len needs a value}; shift 2 ;;
    --restarts) RESTARTS=${2:?--restarts needs a value}; shift 2 ;;
    --sends) SENDS=${2:?--sends needs a value}; shift 2 ;;
    --json) JSON=1; shift ;;
    --no-build) BUILD=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "secure.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
num --rounds "$ROUNDS" 1 100
num --sessions "$SESSIONS" 1 256
num --messages "$MESSAGES" 1 1000000
num --text-len "$TEXT_LEN" 0 1600
num --restarts "$RESTARTS" 1 100
num --sends "$SENDS" 1 100

SCRIPT=secure.sh
# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_prepare "$BUILD" native-load smbd jq
SMB_LOAD=$(dirname "$LOAD")/smb-load
[ -x "$SMB_LOAD" ] || { echo "secure.sh: $SMB_LOAD missing (run without --no-build)" >&2; exit 2; }

SERVER_IP=10.77.0.1
NAME=BENCHBOX
bench_begin
STATE_FS=$(findmnt -n -o FSTYPE -T "$WORK" 2>/dev/null || stat -f -c %T "$WORK")
log "building the namespace LAN $PREFIX (2 hosts)"
build_lan

# ready WHO LOGFILE — waits (30 s at most) until h1 accepts a session for
# $NAME<03> (smb-load's probe: a session request, no message).
ready() {
  in_ns "$H2" "$SMB_LOAD" --probe --target "$SERVER_IP" --name "$NAME" --duration 30 >/dev/null &
  if ! wait $!; then
    echo "secure.sh: $1 never accepted a session for $NAME<03>; its log:" >&2
    tail -n 30 "$2" >&2
    exit 1
  fi
}

# --- the receiver and the loads ------------------------------------------------
M_DIR=$WORK/receiver
messngr_conf "$M_DIR" "$NAME"
MESSNGR_VERSION=$("$MESSNGR" --version | awk '{print $2}')
log "receiver: messngr $MESSNGR_VERSION in h1 as $NAME"
start_messngr "$H1" "$M_DIR"
M_PID=$DAEMON_PID
ready messngr "$M_DIR/log"
expect_comm "$M_PID" messngr

# load KEY MODE — one native-load run from h2; $WORK/KEY.json: its report
# plus the receiver's CPU during it, per accepted message. One host key for
# every secure load: the receiver pins BENCH at the first.
load() {
  local key=$1 mode=$2 before after
  shift 2
  before=$(cpu_ticks "$M_PID")
  in_ns "$H2" "$LOAD" --target "$SERVER_IP" --name "$NAME" --mode "$mode" \
    --sessions "$SESSIONS" --messages "${LOAD_MESSAGES:-$MESSAGES}" --text-len "$TEXT_LEN" \
    --host BENCH --host-key "$WORK/bench.key" --json "$@" >"$WORK/$key.raw"
  after=$(cpu_ticks "$M_PID")
  jq -c --argjson t $((after - before)) --argjson hz "$CLK_TCK" \
    '. + {server_cpu_s: ($t / $hz), server_cpu_us_per_msg:
          (if .accepted > 0 then ($t / $hz * 1e6 / .accepted * 10 | round / 10) else 0 end)}' \
    "$WORK/$key.raw" >"$WORK/$key.json"
  log "  $mode: $(jq -r '"\(.rate) accepted/s, p50 \(.p50_us) us, p99 \(.p99_us) us, \(.errors) errors, receiver \(.server_cpu_us_per_msg) us CPU/msg"' "$WORK/$key.json")"
}

# A session per message leaves a TIME_WAIT per message in h2: reuse them
# (this namespace only), and run a fifth of the messages that way, or h2
# runs out of ports for what follows.
in_ns "$H2" sysctl -q -w net.ipv4.tcp_tw_reuse=1
FRESH_MESSAGES=$(((MESSAGES + 4) / 5))
log "loads: $ROUNDS round(s) of plain then secure, $SESSIONS sessions x $MESSAGES messages each"
log "       then plain with a session per message, $SESSIONS x $FRESH_MESSAGES"
for ((r = 1; r <= ROUNDS; r++)); do
  log " round $r"
  load "plain_$r" plain
  load "secure_$r" secure
  # Today's native path as messngr's sender used it: a session per message.
  LOAD_MESSAGES=$FRESH_MESSAGES load "fresh_$r" plain --fresh
done
jq -s -c . "$WORK"/plain_*.json >"$WORK/plain.all"
jq -s -c . "$WORK"/secure_*.json >"$WORK/secure.all"
jq -s -c . "$WORK"/fresh_*.json >"$WORK/fresh.all"
M_RSS_KB=$(peak_rss_kb "$M_PID")
LOAD_ERRORS=$(jq -s '[.[][] | .errors] | add' "$WORK/plain.all" "$WORK/secure.all" "$WORK/fresh.all")
LOAD_ACCEPTED=$(jq -s '[.[][] | .accepted] | add' "$WORK/plain.all" "$WORK/secure.all" "$WORK/fresh.all")

# --- end to end: messngr send from a second daemon ------------------------------
C_DIR=$WORK/sender
messngr_conf "$C_DIR" SENDERBOX
E2E_TEXT="end-to-end $(head -c $((TEXT_LEN > 12 ? TEXT_LEN - 12 : 0)) /dev/zero | tr '\0' x)"
: >"$WORK/e2e.times"
: >"$WORK/e2e.err"
# cycle WHERE TIMED — starts the sender daemon in h2, sends once (the first
# send after the start: a new session, the handshake to a messngr receiver)
# then $SENDS more, and stops it; with TIMED=1 writes "WHERE first|reused MS"
# lines. The CLI talks to the daemon over its socket only.
cycle() {
  local where=$1 timed=$2 i t0 t1 kind
  start_messngr "$H2" "$C_DIR"
  local pid=$DAEMON_PID
  for ((i = 0; i < 100; i++)); do
    "$MESSNGR" --socket "$C_DIR/api.sock" status >/dev/null 2>&1 && break
    sleep 0.1
  done
  "$MESSNGR" --socket "$C_DIR/api.sock" status >/dev/null || { tail -n 30 "$C_DIR/log" >&2; exit 1; }
  for ((i = 0; i <= SENDS; i++)); do
    kind=reused
    [ "$i" -eq 0 ] && kind=first
    t0=$EPOCHREALTIME
    "$MESSNGR" --socket "$C_DIR/api.sock" send -I "$SERVER_IP" "$NAME" "$E2E_TEXT" </dev/null >/dev/null 2>>"$WORK/e2e.err" ||
      echo "$where: messngr send failed" >>"$WORK/e2e.err"
    t1=$EPOCHREALTIME
    [ "$timed" -eq 1 ] && awk -v w="$where" -v k="$kind" -v a="$t0" -v b="$t1" 'BEGIN {printf "%s %s %.3f\n", w, k, (b - a) * 1000}' >>"$WORK/e2e.times"
  done
  stop_server "$pid"
  wait "$pid" 2>/dev/null || true
}

# Let the loads' inbox writes reach the disk first: fsyncs queued behind that
# writeback would time the disk, not the send.
sync
sleep 1
log "end to end to messngr: 1 untimed + $RESTARTS timed sender starts, 1 + $SENDS sends each"
E2E_BEFORE=$("$MESSNGR" --socket "$M_DIR/api.sock" export | wc -l)
for ((k = 0; k <= RESTARTS; k++)); do
  cycle messngr $((k > 0 ? 1 : 0))
done
E2E_STORED=$(($("$MESSNGR" --socket "$M_DIR/api.sock" export | wc -l) - E2E_BEFORE))
STORED_ALL=$("$MESSNGR" --socket "$M_DIR/api.sock" export | grep -c nativebench- || true)
stop_server "$M_PID"
wait "$M_PID" 2>/dev/null || true

# The same sends to smbd on h1 (the legacy SMB path, for reference): the
# sender's first send to it probes for a secure session first. smbd answers
# for the same name, whose messngr key the sender pinned: a fresh sender
# state, or it (rightly) refuses to send that name plain text.
rm -rf "$C_DIR/state"
SMBD_DIR=$WORK/smbd
mkdir -p "$SMBD_DIR/received" "$SMBD_DIR/tmp"
chmod 755 "$SMBD_DIR"
chmod 777 "$SMBD_DIR/received" "$SMBD_DIR/tmp"
"$SMB_CONF" "$SMBD_DIR" --write --name "$NAME" --set 'smb ports=139' \
  --message-command "/bin/sh -c 'cat %s >> $SMBD_DIR/received/all.txt; rm %s'"
SMBD_VERSION=$(smbd --version | awk '{print $2}')
ip netns exec "$H1" env TMPDIR="$SMBD_DIR/tmp" smbd -F --debug-stdout -d 0 -s "$SMBD_DIR/smb.conf" \
  </dev/null >"$SMBD_DIR/stdout" 2>&1 &
SMBD_PID=$!
ready smbd "$SMBD_DIR/stdout"
expect_comm "$SMBD_PID" smbd
log "end to end to smbd $SMBD_VERSION: the same"
for ((k = 0; k <= RESTARTS; k++)); do
  cycle smbd $((k > 0 ? 1 : 0))
done
# smbd appends each text as it came (no line feed): count the texts.
SMBD_STORED=$(grep -o 'end-to-end' "$SMBD_DIR/received/all.txt" 2>/dev/null | wc -l)
stop_server "$SMBD_PID"
wait "$SMBD_PID" 2>/dev/null || true
E2E_FAILURES=$(grep -c . "$WORK/e2e.err" || true)

# --- report ---------------------------------------------------------------------
# e2e WHERE KIND — mean and p50 (ms) of those sends.
e2e() {
  awk -v w="$1" -v k="$2" '$1 == w && $2 == k {print $3}' "$WORK/e2e.times" | sort -n |
    awk '{v[NR] = $1; s += $1} END {p = int((NR + 1) / 2); printf "{\"runs\":%d,\"mean_ms\":%.2f,\"p50_ms\":%.2f}", NR, (NR ? s / NR : 0), v[p]}'
}
SUMMARY=$(jq -n -c --slurpfile p "$WORK/plain.all" --slurpfile s "$WORK/secure.all" \
  --slurpfile f "$WORK/fresh.all" \
  --argjson em1 "$(e2e messngr first)" --argjson emr "$(e2e messngr reused)" \
  --argjson es1 "$(e2e smbd first)" --argjson esr "$(e2e smbd reused)" \
  --argjson rss "$M_RSS_KB" --argjson rounds "$ROUNDS" --argjson sessions "$SESSIONS" \
  --argjson messages "$MESSAGES" --arg version "$MESSNGR_VERSION" --arg smbd "$SMBD_VERSION" \
  --arg fs "$STATE_FS" --argjson errors "$LOAD_ERRORS" --argjson accepted "$LOAD_ACCEPTED" \
  --argjson stored "$STORED_ALL" --argjson e2e_stored "$E2E_STORED" --argjson smbd_stored "${SMBD_STORED:-0}" \
  --argjson e2e_failures "$E2E_FAILURES" --argjson e2e_sent $(((RESTARTS + 1) * (SENDS + 1))) '
  def mean(f): (map(f) | add / length);
  def agg(r): {rate: (r | mean(.rate) | . * 10 | round / 10), rates: (r | map(.rate)),
               p50_us: (r | mean(.p50_us) | round), p99_us: (r | mean(.p99_us) | round),
               server_cpu_us_per_msg: (r | mean(.server_cpu_us_per_msg) | . * 10 | round / 10),
               open_p50_us: (r | mean(.open_p50_us) | round), errors: (r | map(.errors) | add)};
  (agg($p[0])) as $plain | (agg($s[0])) as $secure | (agg($f[0])) as $fresh |
  {messngr_version: $version, smbd_version: $smbd, rounds: $rounds, sessions: $sessions,
   messages_per_session: $messages, state_fs: $fs, plain: $plain, secure: $secure,
   plain_session_per_message: $fresh,
   secure_over_plain: ($secure.rate / $plain.rate * 1000 | round / 1000),
   secure_over_plain_session_per_message: ($secure.rate / $fresh.rate * 1000 | round / 1000),
   receiver_peak_rss_kb: $rss,
   e2e: {messngr: {first: $em1, reused: $emr, first_extra_ms: ($em1.mean_ms - $emr.mean_ms | . * 100 | round / 100)},
         smbd: {first: $es1, reused: $esr, first_extra_ms: ($es1.mean_ms - $esr.mean_ms | . * 100 | round / 100)}},
   goals: {secure_80pct: (if $secure.rate >= 0.8 * $plain.rate then "met" else "missed" end),
           first_contact_under_2ms: (if ($em1.mean_ms - $emr.mean_ms) < 2 then "met" else "missed" end)},
   checks: {load_errors: $errors, load_accepted: $accepted, load_stored: $stored,
            e2e_sent_each: $e2e_sent, e2e_stored_messngr: $e2e_stored, e2e_stored_smbd: $smbd_stored,
            e2e_failures: $e2e_failures,
            ok: ($errors == 0 and $stored == $accepted and $e2e_stored == $e2e_sent
                 and $smbd_stored == $e2e_sent and $e2e_failures == 0)}}')
echo "$SUMMARY" >"$WORK/summary.json"
OK=$(jq -r .checks.ok <<<"$SUMMARY")
if [ "$JSON" -eq 1 ]; then
  echo "$SUMMARY"
else
  g() { jq -r "$1" <<<"$SUMMARY"; }
  printf '\nNative messages to %s<03> on messngr %s, %s round(s) x %s sessions x %s messages, %s-byte texts\n' \
    "$NAME" "$MESSNGR_VERSION" "$ROUNDS" "$SESSIONS" "$MESSAGES" "$TEXT_LEN"
  row() { printf '%-36s %16s %16s %8s\n' "$1" "$2" "$3" "$4"; }
  row "" "plaintext" "secure" "ratio"
  row "accepted/s (mean of rounds)" "$(g .plain.rate)" "$(g .secure.rate)" "$(g .secure_over_plain)"
  row "  per round" "$(g '.plain.rates | join(" ")')" "$(g '.secure.rates | join(" ")')" ""
  row "  p50 / p99 latency (us)" "$(g '"\(.plain.p50_us) / \(.plain.p99_us)"')" "$(g '"\(.secure.p50_us) / \(.secure.p99_us)"')" ""
  row "  receiver CPU per message (us)" "$(g .plain.server_cpu_us_per_msg)" "$(g .secure.server_cpu_us_per_msg)" ""
  row "  session open, p50 (us)" "$(g .plain.open_p50_us)" "$(g .secure.open_p50_us)" ""
  row "  errors" "$(g .plain.errors)" "$(g .secure.errors)" ""
  printf '%-36s %16s %16s %8s\n' "plaintext, a session per message" "$(g .plain_session_per_message.rate)" "(today's sender)" "$(g .secure_over_plain_session_per_message)"
  printf '%-36s %16s\n' "  receiver CPU per message (us)" "$(g .plain_session_per_message.server_cpu_us_per_msg)"
  printf 'receiver peak RSS: %s kB\n' "$(g .receiver_peak_rss_kb)"
  printf '\nmessngr send end to end from h2, %s sender starts (ms, mean / p50)\n' "$RESTARTS"
  row "" "first send" "next sends" "extra"
  row "to messngr (secure session)" "$(g '"\(.e2e.messngr.first.mean_ms) / \(.e2e.messngr.first.p50_ms)"')" "$(g '"\(.e2e.messngr.reused.mean_ms) / \(.e2e.messngr.reused.p50_ms)"')" "$(g .e2e.messngr.first_extra_ms)"
  row "to smbd $SMBD_VERSION (legacy SMB)" "$(g '"\(.e2e.smbd.first.mean_ms) / \(.e2e.smbd.first.p50_ms)"')" "$(g '"\(.e2e.smbd.reused.mean_ms) / \(.e2e.smbd.reused.p50_ms)"')" "$(g .e2e.smbd.first_extra_ms)"
  printf '\nGoals: secure >= 80%% of plaintext: %s (%s); first contact adds < 2 ms: %s (%s ms)\n' \
    "$(g .goals.secure_80pct)" "$(g .secure_over_plain)" "$(g .goals.first_contact_under_2ms)" "$(g .e2e.messngr.first_extra_ms)"
  printf 'Checks: %s (%s)\n' "$OK" "$(g '.checks | del(.ok) | to_entries | map("\(.key) \(.value)") | join(", ")')"
  printf 'Inbox on %s%s.\n' "$STATE_FS" "$([ "$STATE_FS" = tmpfs ] && echo ': fsync is free there')"
fi
FAILED=0
[ "$OK" = true ] || { echo "secure.sh: a check failed (logs in $WORK)" >&2; FAILED=1; exit 1; }
