#!/usr/bin/env bash
# bench/compare.sh — before/after: bench/messages.sh and bench/nbns.sh with a
# baseline build of messngr and with this tree's, alternating in one run
# (baseline, current, baseline, current, …), so that both see the same
# machine. The peers (smbd, nmbd) run in every round too. Prints one table of
# the messngr figures and the peers' beside them.
#
# Run as root:  bash bench/compare.sh --baseline PATH/TO/OLD/messngr
#   [--rounds N] [--duration SECS] [--no-build]
#
# Make the baseline binary from an older commit, e.g.:
#   git worktree add /tmp/base <commit> &&
#   (cd /tmp/base && cargo build --release -p messngr)   # /tmp/base/target/release/messngr
# The baseline gets the configuration bench/lib.sh writes without the keys
# added since (MESSNGR_BASELINE=1: the quotas), which every messngr since the
# benchmarks exist accepts.
#
# Safety: the two scripts it runs keep everything inside their own network
# namespaces and remove them on exit (see their headers).
set -euo pipefail
cd "$(dirname "$0")/.."

BASELINE=
ROUNDS=2
DURATION=10
BUILD=1
usage() { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case $1 in
    --baseline) BASELINE=${2:?--baseline needs the path of a messngr binary}; shift 2 ;;
    --rounds) ROUNDS=${2:?--rounds needs a value}; shift 2 ;;
    --duration) DURATION=${2:?--duration needs a value}; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "compare.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ -n "$BASELINE" ] || { echo "compare.sh: give --baseline PATH (a messngr binary built from the commit to compare with; see --help)" >&2; exit 2; }
[ -x "$BASELINE" ] || { echo "compare.sh: $BASELINE is not an executable file" >&2; exit 2; }
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || { echo "compare.sh: --rounds: a positive number" >&2; exit 2; }
command -v jq >/dev/null || { echo "compare.sh: jq not found (bash ci/install-deps)" >&2; exit 2; }
if [ "$BUILD" -eq 1 ]; then
  cargo build --release --quiet -p messngr -p messngr-bench
fi
OUT=$(mktemp -d /tmp/messngr-compare.XXXXXX)
for ((r = 1; r <= ROUNDS; r++)); do
  for who in baseline current; do
    bin= old=
    [ "$who" = baseline ] && bin=$BASELINE old=1
    echo "round $r/$ROUNDS: $who" >&2
    MESSNGR_BIN=$bin MESSNGR_BASELINE=$old bash bench/messages.sh --no-build --json --duration "$DURATION" --e2e-runs 20 \
      >"$OUT/messages.$who.$r.json"
    MESSNGR_BIN=$bin MESSNGR_BASELINE=$old bash bench/nbns.sh --no-build --json --duration "$DURATION" >"$OUT/nbns.$who.$r.json"
  done
done
# One row per figure: the values of every round for each build, and the peer's.
row() { printf '%-38s %-26s %-26s %s\n' "$@"; }
vals() { for ((r = 1; r <= ROUNDS; r++)); do jq -r "$2" "$OUT/$1.$r.json"; done | paste -sd/ -; }
fig() { row "$1" "$(vals "$2.baseline" "$3")" "$(vals "$2.current" "$3")" "$(vals "$2.current" "$4")"; }
echo
row "" "baseline ($ROUNDS rounds)" "current" "peer (current's rounds)"
fig "SMB persistent: accepted/s" messages .messngr.persistent.rate .smbd.persistent.rate
fig "SMB persistent: CPU per message (us)" messages .messngr.persistent.server_cpu_us_per_msg .smbd.persistent.server_cpu_us_per_msg
fig "SMB persistent: p99 (us)" messages .messngr.persistent.p99_us .smbd.persistent.p99_us
fig "SMB fresh: accepted/s" messages .messngr.fresh.rate .smbd.fresh.rate
fig "SMB fresh: CPU per message (us)" messages .messngr.fresh.server_cpu_us_per_msg .smbd.fresh.server_cpu_us_per_msg
fig "send end to end, mean (ms)" messages .e2e.messngr_send.mean_ms .e2e.smbclient_m.mean_ms
fig "NBNS answered/s" nbns .messngr.rate .nmbd.rate
fig "NBNS CPU per answer (us)" nbns .messngr.server_cpu_us_per_answer .nmbd.server_cpu_us_per_answer
fig "NBNS p99 (us)" nbns .messngr.p99_us .nmbd.p99_us
fig "NBNS peak RSS (MB)" nbns .messngr.server_peak_rss_mb .nmbd.server_peak_rss_mb
echo
echo "peer: smbd for the SMB rows and smbclient -M for end to end, nmbd for NBNS. JSON of every run: $OUT"
