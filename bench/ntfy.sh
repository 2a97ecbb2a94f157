#!/usr/bin/env bash
# bench/ntfy.sh — ntfy publishes per second over one keep-alive HTTP
# connection (curl, one request at a time, as a script publishing in a loop
# does), and each publish's latency (p50, p99, max). Each publish is an
# alert to the topic's recipient H2, a messngr host on the LAN: the 200
# comes once H2 has it (signed, over the secure session), and H2's inbox
# is counted afterwards. Distinct texts, and collapse_secs = 0, so that no
# publish is collapsed into another.
#
# Run as root from anywhere:  bash bench/ntfy.sh [--count N] [--json]
#   [--no-build]
#
# Safety: the daemons and curl run only inside the private namespaces of
# bench/lib.sh (mt<pid>x0-*, no uplink), removed on exit; the HTTP listener
# is on h1's loopback.
set -euo pipefail
cd "$(dirname "$0")/.."

SCRIPT=ntfy.sh
COUNT=2000
JSON=0
BUILD=1

usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
  case "$1" in
    --count) COUNT=${2:?--count needs a value}; shift 2 ;;
    --json) JSON=1; shift ;;
    --no-build) BUILD=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "$SCRIPT: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
if ! [[ $COUNT =~ ^[0-9]+$ ]] || [ "$COUNT" -lt 1 ]; then
  echo "$SCRIPT: --count: a whole number, at least 1" >&2; exit 2
fi

# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_prepare "$BUILD" smb-load curl jq
bench_begin
build_lan

messngr_conf "$WORK/h2" H2
start_messngr "$H2" "$WORK/h2"
messngr_conf "$WORK/h1" H1 $'[alerter]\ncollapse_secs = 0\n[http.topics]\nops = ["H2"]'
start_messngr "$H1" "$WORK/h1"
H1_PID=$DAEMON_PID

cli() { local h=$1; shift; in_ns "$PREFIX-$h" "$MESSNGR" --socket "$WORK/$h/api.sock" "$@"; }
for _ in $(seq 100); do
  [ -S "$WORK/h1/api.sock" ] && [ -S "$WORK/h2/api.sock" ] && break
  sleep 0.1
done
TOKEN=$(cli h1 token create --label bench)
# H2 must be reachable by name before the clock starts.
for _ in $(seq 100); do
  cli h1 lookup H2 >/dev/null 2>&1 && break
  sleep 0.2
done
first=$(in_ns "$H1" curl -sS -o /dev/null -w '%{http_code}' -u ":$TOKEN" -d warmup http://127.0.0.1:839/ops)
[ "$first" = 200 ] || { echo "$SCRIPT: the first publish got $first; H1's log:" >&2; tail -n 20 "$WORK/h1/log" >&2; exit 1; }

# One curl, COUNT requests on one connection (curl keeps it alive). Each
# operation carries its own options: `next` resets them.
{
  for ((i = 1; i <= COUNT; i++)); do
    [ "$i" -eq 1 ] || echo next
    printf 'url = "http://127.0.0.1:839/ops"\nuser = ":%s"\ndata = "publish %d of the benchmark"\n' "$TOKEN" "$i"
    printf 'output = /dev/null\nsilent\nshow-error\nwrite-out = "%%{http_code} %%{time_total} %%{num_connects}\\n"\n'
  done
} >"$WORK/curl.conf"
log "publishing $COUNT messages over one keep-alive connection"
cpu0=$(cpu_ticks "$H1_PID")
t0=$(date +%s%N)
in_ns "$H1" curl -K "$WORK/curl.conf" >"$WORK/times"
t1=$(date +%s%N)
cpu1=$(cpu_ticks "$H1_PID")

# H2's store is new: its newest id is how many messages it holds.
stored=$(cli h2 inbox --json --limit 1 2>/dev/null | jq 'map(.id) | max // 0')
jq -nR --argjson count "$COUNT" --argjson ns $((t1 - t0)) --argjson stored "$stored" \
  --argjson cpu $(((cpu1 - cpu0) * 1000000 / CLK_TCK)) '
  [inputs | split(" ") | {code: .[0], t: (.[1] | tonumber), c: (.[2] | tonumber)}] as $r
  | ($r | map(.t) | sort) as $t
  | def pct(p): $t[((($t | length) * p) | ceil) - 1] * 1e6 | round;
  { publishes: $count, ok: ($r | map(select(.code == "200")) | length),
    connections: ($r | map(.c) | add),
    rate: ($count / ($ns / 1e9) * 10 | round / 10),
    p50_us: pct(0.5), p99_us: pct(0.99), max_us: ($t[-1] * 1e6 | round),
    sender_cpu_us_per_publish: ($cpu / $count | round),
    stored_at_h2: ($stored - 1) }' <"$WORK/times" >"$WORK/result.json"

if [ "$JSON" -eq 1 ]; then
  cat "$WORK/result.json"
else
  jq -r '"ntfy publish → alert → H2, one keep-alive connection:",
    "  \(.rate) publishes/s, p50 \(.p50_us) us, p99 \(.p99_us) us, max \(.max_us) us",
    "  \(.ok) of \(.publishes) answered 200 on \(.connections) connection(s); \(.stored_at_h2) stored at H2",
    "  sender CPU \(.sender_cpu_us_per_publish) us per publish"' "$WORK/result.json"
fi
FAILED=0
