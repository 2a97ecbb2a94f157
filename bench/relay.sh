#!/usr/bin/env bash
# bench/relay.sh — messages per second through the relay, end to end and
# stored durably at the receiver, and with the receiver stopped, next to raw
# JetStream on the same 3-node cluster in the same run (bare payloads of a
# relay envelope's size, as many in flight as messngr has senders: published,
# and published then pulled and acked), and cross-site latency p50/p99.
#
# Run as root from anywhere:  bash bench/relay.sh [--count N] [--senders N]
#   [--samples N]
#
# Safety: it runs crates/messngr/tests/relay_bench.rs (an ignored test),
# which builds its own namespace LAN (two subnets behind a router, 10.77.x,
# no uplink), starts Debian's nats-server on three of its hosts and two
# messngr daemons, and removes all of it on exit, also on failure.
set -euo pipefail
cd "$(dirname "$0")/.."

COUNT=2000
SENDERS=8
SAMPLES=200
while [ $# -gt 0 ]; do
  case "$1" in
    --count) COUNT=${2:?--count needs a value}; shift 2 ;;
    --senders) SENDERS=${2:?--senders needs a value}; shift 2 ;;
    --samples) SAMPLES=${2:?--samples needs a value}; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "relay.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
for v in "$COUNT" "$SENDERS" "$SAMPLES"; do
  [[ $v =~ ^[0-9]+$ ]] && [ "$v" -ge 1 ] || { echo "relay.sh: counts are positive integers" >&2; exit 2; }
done
[ -x /usr/sbin/nats-server ] || { echo "relay.sh: /usr/sbin/nats-server missing: apt-get install nats-server (or ci/install-deps)" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "relay.sh: run as root (it builds network namespaces)" >&2; exit 2; }

# The daemons log at info, as deployed (the tests' daemons log at debug).
MESSNGR_TEST_RUST_LOG=${MESSNGR_TEST_RUST_LOG:-info} MESSNGR_BENCH_COUNT=$COUNT MESSNGR_BENCH_SENDERS=$SENDERS MESSNGR_BENCH_SAMPLES=$SAMPLES \
  cargo test --release -q -p messngr --test relay_bench -- --ignored --nocapture 2>&1 |
  grep -v '^running \|^test result\|^$'
