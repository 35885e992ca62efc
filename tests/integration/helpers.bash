# Shared set-up for the bats suites: every test file gets its own CROWBAR_ROOT and
# CROWBAR_RUNROOT in a temporary folder, the real binaries from build/ on PATH, and a
# clean-up that removes its containers, shims, mounts and cgroups even when a test fails.

bats_require_minimum_version 1.5.0

CROWBAR_TOP=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
export PATH="$CROWBAR_TOP/build:$PATH"
FIXTURES="$CROWBAR_TOP/build/fixtures"

# A per-file state root. Call from setup_file.
crowbar_setup_root() {
  CROWBAR_ROOT=$(mktemp -d /tmp/crowbar-test.XXXXXX)
  export CROWBAR_ROOT
  export CROWBAR_RUNROOT="$CROWBAR_ROOT/run"
  mkdir -p "$CROWBAR_RUNROOT"
}

# Start a command in the background, its output to $1 (a file), with bats' descriptor 3
# closed (or bats would wait for it); BG_PID is its PID. Teardown kills what is left.
bg_start() {
  local out=$1
  shift
  "$@" >"$out" 2>&1 3>&- &
  BG_PID=$!
  echo "$BG_PID" >>"$BATS_TEST_TMPDIR/.bg-pids"
}

bg_kill_all() {
  local p
  [ -n "${BATS_TEST_TMPDIR:-}" ] && [ -f "$BATS_TEST_TMPDIR/.bg-pids" ] || return 0
  for p in $(cat "$BATS_TEST_TMPDIR/.bg-pids"); do kill -9 "$p" 2>/dev/null || true; done
  rm -f "$BATS_TEST_TMPDIR/.bg-pids"
}

# Remove every container of this root (shims included). Call from teardown. The records
# are listed from the state folder, not with `ps`, so that clean-up does not depend on the
# verb under test; a hung rm (an engine bug) is cut short and the container taken down by
# hand, so that it fails one test rather than the suite.
crowbar_remove_all() {
  local d
  bg_kill_all
  for d in "$CROWBAR_ROOT"/containers/*/; do
    [ -e "$d/container.json" ] || continue
    timeout 5 crowbar rm -f "$(basename "$d")" >/dev/null 2>&1 && continue
    # rm failed or hung: take the container down by hand.
    crowbar_kill_strays
    crowbar_remove_cgroups
    rm -rf "$d"
  done
  crowbar_kill_strays
}

# Kill shims and container processes left by this root (a crashed test).
crowbar_kill_strays() {
  [ -n "${CROWBAR_ROOT:-}" ] || return 0
  local p
  for p in $(pgrep -f "crowbar-shim .*--root $CROWBAR_ROOT " 2>/dev/null); do
    kill -9 $(cat /proc/$p/task/*/children 2>/dev/null) "$p" 2>/dev/null || true
  done
}

# Remove the cgroups of this root's containers that rm could not (their processes first).
crowbar_remove_cgroups() {
  local d id cg
  for d in "$CROWBAR_ROOT"/containers/* "$CROWBAR_ROOT"/containers/.*-*; do
    id=$(basename "$d")
    id=${id#.tmp-}
    id=${id#.rm-}
    [[ "$id" =~ ^[0-9a-f]{64}$ ]] || continue
    for cg in /sys/fs/cgroup/*/crowbar/"$id" /sys/fs/cgroup/crowbar/"$id"; do
      [ -d "$cg" ] || continue
      xargs -r kill -9 <"$cg/cgroup.procs" 2>/dev/null || true
      rmdir "$cg" 2>/dev/null || true
    done
  done
}

# Tear the whole root down. Call from teardown_file.
crowbar_teardown_root() {
  [ -n "${CROWBAR_ROOT:-}" ] && [ -d "$CROWBAR_ROOT" ] || return 0
  crowbar_remove_all
  crowbar_remove_cgroups
  # Any mount left below the root (a killed test) goes first.
  grep -F " $CROWBAR_ROOT" /proc/self/mounts | awk '{print $2}' | sort -r |
    while read -r m; do umount -l "$m" 2>/dev/null || true; done
  rm -rf "$CROWBAR_ROOT"
}

# True when the tarball is older than the script that makes it or a helper it holds.
fixture_stale() {
  local tar=$1 f
  [ -s "$tar" ] || return 0
  for f in "$CROWBAR_TOP/tests/fixtures/mkrootfs.sh" "$CROWBAR_TOP"/build/tests/helpers/*; do
    [ "$f" -nt "$tar" ] && return 0
  done
  return 1
}

# The busybox rootfs tarball (and the static helper programs), built once per build.
fixture_rootfs() {
  local tar="$FIXTURES/busybox.tar"
  mkdir -p "$FIXTURES"
  if fixture_stale "$tar"; then
    (flock 9
     shopt -s nullglob # no helper programs built yet is fine
     helpers=("$CROWBAR_TOP"/build/tests/helpers/*)
     ! fixture_stale "$tar" || "$CROWBAR_TOP/tests/fixtures/mkrootfs.sh" "$tar" "${helpers[@]}"
    ) 9>"$FIXTURES/.lock" || return 1
  fi
  echo "$tar"
}

# The engine suites run build/tests/helpers/cbtest inside their containers: fail at once,
# and say how to build it, when it is missing. Call from setup_file before import_busybox.
require_cbtest() {
  [ -x "$CROWBAR_TOP/build/tests/helpers/cbtest" ] && return 0
  echo "Error: build/tests/helpers/cbtest is missing: run 'make build/tests/helpers/cbtest'" >&2
  return 1
}

# Import the busybox image as busybox:latest into this root (once per file).
import_busybox() {
  local tar
  crowbar images -q busybox:latest 2>/dev/null | grep -q . && return 0
  tar=$(fixture_rootfs) || return 1
  crowbar import "$tar" busybox:latest >/dev/null
}

# Wait until a command succeeds (up to $1 tenths of a second).
wait_until() {
  local n=$1; shift
  while [ "$n" -gt 0 ]; do
    "$@" && return 0
    sleep 0.1
    n=$((n - 1))
  done
  "$@"
}

# The state of a container ("running", "exited", ...).
ctr_status() { crowbar inspect -f '{{.State.Status}}' "$1"; }

# The host PID of a container's PID 1 (0 when it does not run).
ctr_pid() { crowbar inspect -f '{{.State.Pid}}' "$1"; }

# The host PID of a container's shim: the parent of its PID 1.
shim_pid() {
  local pid
  pid=$(ctr_pid "$1") && [ "$pid" -gt 0 ] && ps -o ppid= -p "$pid" | tr -d ' '
}

# True when the container exists.
ctr_exists() { crowbar inspect "$1" >/dev/null 2>&1; }

# The full ID of a container.
ctr_id() { crowbar inspect -f '{{.Id}}' "$1"; }

# The file that holds a container's State on disk, by full ID (for tests that play a
# crash or a reused PID): state.json beside the record, or the record itself.
state_file() {
  local d="$CROWBAR_ROOT/containers/$1"
  if [ -e "$d/state.json" ]; then echo "$d/state.json"; else echo "$d/container.json"; fi
}

# True when the container's log (both streams) has a line matching the extended regex.
logs_match() { crowbar logs "$1" 2>&1 | grep -qE "$2"; }

# Wait (up to 5 s) until the container's log has a line matching the regex.
wait_logs() { wait_until 50 logs_match "$1" "$2"; }

# wait_status CTR STATUS [TENTHS]: wait (default 5 s) until the container's state is STATUS.
status_is() { [ "$(ctr_status "$1")" = "$2" ]; }
wait_status() { wait_until "${3:-50}" status_is "$1" "$2"; }

# The wall-clock milliseconds since the epoch (for elapsed-time assertions).
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# The processes of the host whose parent is $1, one "PID STAT" line each.
children_of() { ps -o pid=,stat= --ppid "$1"; }
