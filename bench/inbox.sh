#!/usr/bin/env bash
# bench/inbox.sh — the durable inbox at a million messages: how fast it
# fills through the daemon's insert path (group commit, fsync'd), how long
# the newest page, counts, search and a paged export take then (p50, p99,
# max over many runs), and the process's memory after each phase, which
# must not grow with the inbox. One program, crates/messngr-bench
# `inbox-bench`; nothing opens a socket, no root needed.
#
# Run from anywhere:  bash bench/inbox.sh [--messages N] [--dir DIR]
#   [--keep] [--reuse PATH] [--reps N] [--json] [--no-build]
#
# The inbox is made under --dir (default: a new directory under /var/tmp)
# and removed afterwards unless --keep; it must be on a real disk: on
# tmpfs fsync is free and the fill rate means nothing (the script warns).
# A million messages take about 1 GB and, on this project's 2-core
# machines, a few minutes to fill; --keep then --reuse PATH measures the
# same inbox again without filling it.
set -euo pipefail
cd "$(dirname "$0")/.."

MESSAGES=1000000
DIR=""
KEEP=0
REUSE=""
REPS=200
JSON=0
BUILD=1

usage() {
  sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
  cat <<'EOT'

Options:
  --messages N   messages to store (default 1000000)
  --dir DIR      where to make the inbox (default: mktemp -d under /var/tmp)
  --keep         keep the inbox afterwards (its path is printed)
  --reuse PATH   measure an inbox kept by an earlier run (same --messages)
  --reps N       times each query is timed (default 200)
  --json         print one JSON object instead of the table
  --no-build     use the release binary already built
EOT
}

while [ $# -gt 0 ]; do
  case "$1" in
    --messages) MESSAGES=${2:?--messages needs a value}; shift 2 ;;
    --dir) DIR=${2:?--dir needs a value}; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --reuse) REUSE=${2:?--reuse needs a path}; shift 2 ;;
    --reps) REPS=${2:?--reps needs a value}; shift 2 ;;
    --json) JSON=1; shift ;;
    --no-build) BUILD=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "inbox.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
if ! [[ $MESSAGES =~ ^[0-9]+$ ]] || [ "$MESSAGES" -lt 1 ]; then
  echo "inbox.sh: --messages: a whole number, at least 1" >&2; exit 2
fi
if ! [[ $REPS =~ ^[0-9]+$ ]] || [ "$REPS" -lt 1 ]; then
  echo "inbox.sh: --reps: a whole number, at least 1" >&2; exit 2
fi
log() { [ "$JSON" -eq 1 ] || printf '%s\n' "$*" >&2; }

command -v cargo >/dev/null 2>&1 || { echo "inbox.sh: cargo not found" >&2; exit 2; }
TARGET=${CARGO_TARGET_DIR:-$PWD/target}
if [ "$BUILD" -eq 1 ]; then
  log "building inbox-bench in release (cargo build --release -p messngr-bench --bin inbox-bench)"
  cargo build --release --quiet -p messngr-bench --bin inbox-bench
fi
BIN=$TARGET/release/inbox-bench
[ -x "$BIN" ] || { echo "inbox.sh: $BIN missing (run without --no-build)" >&2; exit 2; }

ARGS=(--messages "$MESSAGES" --reps "$REPS")
[ "$JSON" -eq 1 ] && ARGS+=(--json)

if [ -n "$REUSE" ]; then
  [ -f "$REUSE" ] || { echo "inbox.sh: --reuse $REUSE: no such file" >&2; exit 2; }
  exec "$BIN" --reuse "$REUSE" "${ARGS[@]}"
fi

if [ -n "$DIR" ]; then
  mkdir -p "$DIR"
  WORK=$(mktemp -d "$DIR/messngr-inbox.XXXXXX")
else
  WORK=$(mktemp -d /var/tmp/messngr-inbox.XXXXXX)
fi
cleanup() {
  if [ "$KEEP" -eq 1 ]; then
    log "inbox kept: $WORK/inbox.sqlite (bash bench/inbox.sh --reuse $WORK/inbox.sqlite --messages $MESSAGES)"
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
FS=$(findmnt -n -o FSTYPE -T "$WORK" 2>/dev/null || stat -f -c %T "$WORK")
if [ "$FS" = tmpfs ]; then
  log "inbox.sh: warning: $WORK is on tmpfs: fsync costs nothing there, the fill rate means little (use --dir)"
fi
log "inbox: $WORK/inbox.sqlite ($FS), $MESSAGES messages"
"$BIN" --db "$WORK/inbox.sqlite" "${ARGS[@]}"
