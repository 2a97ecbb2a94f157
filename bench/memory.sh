#!/usr/bin/env bash
# bench/memory.sh — idle memory of the installed daemon next to Samba's, in
# the same run (issue 15): the binary from the Debian package
# (packaging/deb/build, stripped, as /usr/bin/messngr is), started with the
# package's own commented configuration plus the test LAN's interface and a
# private state directory, holding 10 names (its host and workgroup names
# and aliases), HTTP listener on as by default; and Samba's nmbd + smbd (every
# process of theirs) holding 10 names too (netbios aliases). Each is measured
# 5 s after its last name is registered: RSS (VmRSS) and PSS (Pss from
# /proc/PID/smaps_rollup: shared pages split among their users), summed over
# the processes. The goal: messngr under a quarter of nmbd + smbd.
#
# Run as root from anywhere:  bash bench/memory.sh [--rounds N] [--json] [--no-build]
#
# Safety: everything runs inside network namespaces this script creates
# (mt<pid>x0-sw/-h1/-h2, 10.77.0.0/24, a bridge with no uplink, no default
# route, IPv6 off) and removes on exit, also on failure or Ctrl-C: messngr
# in h1, Samba in h2.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=3
JSON=0
BUILD=1
SCRIPT=bench/memory.sh

while [ $# -gt 0 ]; do
  case $1 in
    --rounds) ROUNDS=$2; shift 2 ;;
    --json) JSON=1; shift ;;
    --no-build) BUILD=0; shift ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "$SCRIPT: unknown option $1 (try --help)" >&2; exit 2 ;;
  esac
done

# shellcheck source=bench/lib.sh
source bench/lib.sh
bench_prepare "$BUILD" smb-load nmbd smbd jq dpkg-deb
target=${CARGO_TARGET_DIR:-$PWD/target}
if [ "$BUILD" -eq 1 ]; then
  log "building the Debian package (packaging/deb/build)"
  packaging/deb/build >/dev/null
fi
DEB=$(ls "$target"/debian/messngr_*.deb 2>/dev/null | tail -n 1)
[ -n "$DEB" ] || { echo "$SCRIPT: no package in $target/debian (run without --no-build)" >&2; exit 2; }
bench_begin
build_lan

# The package's binary and configuration, unpacked (not installed).
dpkg-deb -x "$DEB" "$WORK/pkg"
INSTALLED="$WORK/pkg/usr/bin/messngr"
ALIASES='["ALIAS1", "ALIAS2", "ALIAS3", "ALIAS4", "ALIAS5", "ALIAS6", "ALIAS7"]'

# rss_pss PID... — "RSS PSS" in kB, summed over the processes.
rss_pss() {
  local rss=0 pss=0 pid r p
  for pid in "$@"; do
    r=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")
    p=$(awk '/^Pss:/ {print $2}' "/proc/$pid/smaps_rollup")
    rss=$((rss + r)); pss=$((pss + p))
  done
  echo "$rss $pss"
}

# names_held DIR — names messngr holds, registered.
names_held() {
  "$INSTALLED" --socket "$1/api.sock" status --json 2>/dev/null \
    | jq '[.names[] | select(.state == "registered")] | length' 2>/dev/null || echo 0
}

M_RSS=(); M_PSS=(); S_RSS=(); S_PSS=(); M_NAMES=0; S_NAMES=0
for ((round = 1; round <= ROUNDS; round++)); do
  # --- messngr, as packaged ---------------------------------------------------
  dir="$WORK/messngr$round"
  mkdir -p "$dir/state"
  chmod 755 "$dir"
  {
    cat "$WORK/pkg/etc/messngr/messngr.toml"
    # Top-level keys before any table: prepended by a second file would be
    # simpler, but TOML wants them first, so the package's file (all
    # comments) goes first and these follow it at top level.
    printf 'netbios_name = "H1"\nworkgroup = "MLAN"\ninterface = "eth0"\n'
    printf 'state_dir = "%s"\nsocket = "%s"\nregister_users = false\n' "$dir/state" "$dir/api.sock"
    printf 'names = %s\n' "$ALIASES"
  } >"$dir/messngr.toml"
  ip netns exec "$H1" env -u RUST_LOG "$INSTALLED" daemon --config "$dir/messngr.toml" </dev/null >"$dir/log" 2>&1 &
  pid=$!
  for ((i = 0; i < 100; i++)); do
    n=$(names_held "$dir")
    [ "$n" -ge 10 ] && break
    sleep 0.1
  done
  [ "$n" -ge 10 ] || { echo "$SCRIPT: messngr holds $n names, not 10; log:" >&2; tail "$dir/log" >&2; exit 1; }
  expect_comm "$pid" messngr
  M_NAMES=$n
  sleep 5
  read -r r p < <(rss_pss "$pid")
  M_RSS+=("$r"); M_PSS+=("$p")
  stop_server "$pid"
  wait "$pid" 2>/dev/null || true

  # --- Samba: nmbd + smbd -----------------------------------------------------
  sdir="$WORK/samba$round"
  "$SMB_CONF" "$sdir" --write --name S2 --set 'netbios aliases = ALIAS1 ALIAS2' \
    --message-command "/bin/true" >/dev/null
  ip netns exec "$H2" nmbd -F --debug-stdout -d 1 -s "$sdir/smb.conf" </dev/null >"$sdir/nmbd.out" 2>&1 &
  nmbd_pid=$!
  ip netns exec "$H2" smbd -F --debug-stdout -d 0 -s "$sdir/smb.conf" </dev/null >"$sdir/smbd.out" 2>&1 &
  smbd_pid=$!
  # nmbd's names: S2 <00> <03> <20>, each alias <00> <03> <20>, MLAN <00> <1e>.
  for ((i = 0; i < 300; i++)); do
    S_NAMES=$(ip netns exec "$H1" nmblookup -U 10.77.0.2 -A 10.77.0.2 2>/dev/null | grep -c '<ACTIVE>' || true)
    [ "$S_NAMES" -ge 10 ] && break
    sleep 0.1
  done
  [ "$S_NAMES" -ge 10 ] || { echo "$SCRIPT: nmbd holds $S_NAMES names, not 10" >&2; tail "$sdir/nmbd.out" >&2; exit 1; }
  expect_comm "$nmbd_pid" nmbd
  expect_comm "$smbd_pid" smbd
  sleep 5
  mapfile -t samba < <(ip netns pids "$H2" | while read -r p; do
    c=$(cat "/proc/$p/comm" 2>/dev/null || true)
    case $c in nmbd|smbd|smbd-*|*cleanupd|*notifyd|samba-*) echo "$p" ;; esac
  done)
  read -r r p < <(rss_pss "${samba[@]}")
  S_RSS+=("$r"); S_PSS+=("$p"); S_PROCS=${#samba[@]}
  stop_server "$smbd_pid"; stop_server "$nmbd_pid"
  wait "$smbd_pid" "$nmbd_pid" 2>/dev/null || true
  log "round $round: messngr RSS ${M_RSS[-1]} kB PSS ${M_PSS[-1]} kB; nmbd+smbd ($S_PROCS processes) RSS ${S_RSS[-1]} kB PSS ${S_PSS[-1]} kB"
done

mean() { local s=0 v; for v in "$@"; do s=$((s + v)); done; echo $((s / $#)); }
mr=$(mean "${M_RSS[@]}"); mp=$(mean "${M_PSS[@]}"); sr=$(mean "${S_RSS[@]}"); sp=$(mean "${S_PSS[@]}")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
SAMBA_VERSION=$(smbd --version | awk '{print $2}')
if [ "$JSON" -eq 1 ]; then
  jq -n --argjson mr "$mr" --argjson mp "$mp" --argjson sr "$sr" --argjson sp "$sp" \
    --argjson mn "$M_NAMES" --argjson sn "$S_NAMES" --argjson rounds "$ROUNDS" \
    --arg samba "$SAMBA_VERSION" --argjson procs "$S_PROCS" \
    '{rounds: $rounds, messngr: {names: $mn, rss_kb: $mr, pss_kb: $mp},
      samba: {version: $samba, processes: $procs, names: $sn, rss_kb: $sr, pss_kb: $sp},
      pss_ratio: ($mp / $sp), rss_ratio: ($mr / $sr)}'
else
  printf '\n%-34s %10s %10s %6s\n' "idle, 10 names (mean of $ROUNDS)" "RSS kB" "PSS kB" names
  printf '%-34s %10s %10s %6s\n' "messngr (packaged binary)" "$mr" "$mp" "$M_NAMES"
  printf '%-34s %10s %10s %6s\n' "Samba $SAMBA_VERSION nmbd+smbd ($S_PROCS procs)" "$sr" "$sp" "$S_NAMES"
  printf 'messngr / Samba: RSS %s, PSS %s (goal: under 0.25)\n' "$(ratio "$mr" "$sr")" "$(ratio "$mp" "$sp")"
fi
FAILED=0
