#!/usr/bin/env bash
# bench/inbox.sh — the durable inbox at a million messages: how fast it
# fills through the daemon's insert path (group commit, fsync'd), how long
# the newest page, counts, search and a paged export take then (p50, p99,
# max over many runs), and the process's memory after each phase, which
# must not grow with the inbox: crates/messngr-bench `inbox-bench`. Then
# the same inbox end to end: a `messngr daemon` (serve_netbios = false: it
# binds no network port, only its Unix socket) serves it, and
# `messngr inbox --limit 50` and `messngr search` are timed as a user runs
# them, CLI start included, with the daemon's RSS before and after.
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
  log "building inbox-bench and messngr in release"
  cargo build --release --quiet -p messngr-bench --bin inbox-bench -p messngr
fi
BIN=$TARGET/release/inbox-bench
MESSNGR=$TARGET/release/messngr
for b in "$BIN" "$MESSNGR"; do
  [ -x "$b" ] || { echo "inbox.sh: $b missing (run without --no-build)" >&2; exit 2; }
done

# The end-to-end phase: a daemon on the inbox DB ($1, named inbox.sqlite),
# each CLI command run $REPS times (at most 100), p50/p99 in ms, the
# daemon's RSS in KiB around the runs. One JSON object on stdout.
rss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
e2e() {
  local db=$1 d pid i t0 t1
  [ "$(basename "$db")" = inbox.sqlite ] || { echo "inbox.sh: the daemon needs the file to be named inbox.sqlite" >&2; return 1; }
  d=$(mktemp -d)
  cat >"$d/messngr.toml" <<EOC
serve_netbios = false
terminals = false
register_users = false
state_dir = "$(dirname "$db")"
socket = "$d/api.sock"
EOC
  env -u RUST_LOG "$MESSNGR" daemon --config "$d/messngr.toml" </dev/null >"$d/log" 2>&1 &
  pid=$!
  for i in $(seq 1 600); do
    "$MESSNGR" --socket "$d/api.sock" inbox --limit 1 >/dev/null 2>&1 && break
    sleep 0.1
  done
  local n=$(( REPS < 100 ? REPS : 100 )) before_list after_list after_search
  before_list=$(rss "$pid")
  time_runs() {
    local out=$1; shift
    : >"$out"
    for i in $(seq 1 "$n"); do
      t0=$(date +%s%N)
      "$MESSNGR" --socket "$d/api.sock" "$@" >/dev/null
      t1=$(date +%s%N)
      echo $(( (t1 - t0) / 1000 )) >>"$out"
    done
  }
  time_runs "$d/list" inbox --limit 50
  after_list=$(rss "$pid")
  time_runs "$d/search" search --limit 100 zanzibar
  after_search=$(rss "$pid")
  local found
  found=$("$MESSNGR" --socket "$d/api.sock" search --json --limit 1000 zanzibar | jq length)
  kill "$pid"; wait "$pid" 2>/dev/null || true
  pct() { sort -n "$1" | awk -v p="$2" '{a[NR]=$1} END {i=int(NR*p/100); if (i<1) i=1; printf "%.1f", a[i]/1000}'; }
  printf '{"runs":%d,"inbox_limit_50_ms":{"p50":%s,"p99":%s},"search_ms":{"p50":%s,"p99":%s},"search_found":%d,"daemon_rss_kib":{"before":%d,"after_listing":%d,"after_search":%d}}\n' \
    "$n" "$(pct "$d/list" 50)" "$(pct "$d/list" 99)" "$(pct "$d/search" 50)" "$(pct "$d/search" 99)" \
    "$found" "$before_list" "$after_list" "$after_search"
  rm -rf "$d"
}

ARGS=(--messages "$MESSAGES" --reps "$REPS")
[ "$JSON" -eq 1 ] && ARGS+=(--json)

if [ -n "$REUSE" ]; then
  [ -f "$REUSE" ] || { echo "inbox.sh: --reuse $REUSE: no such file" >&2; exit 2; }
  "$BIN" --reuse "$REUSE" "${ARGS[@]}"
  log "end to end (messngr daemon + CLI):"
  e2e "$REUSE"
  exit 0
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
log "end to end (messngr daemon + CLI):"
e2e "$WORK/inbox.sqlite"
