# Shared set-up for the bats suites: every test file gets its own CROWBAR_ROOT and
# CROWBAR_RUNROOT in a temporary folder, the real binaries from build/ on PATH, and a
# clean-up that removes its containers, shims, mounts and cgroups even when a test fails.

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

# Remove every container of this root (shims included). Call from teardown.
crowbar_remove_all() {
  local ids
  ids=$(crowbar ps -aq --no-trunc 2>/dev/null) || true
  for id in $ids; do crowbar rm -f "$id" >/dev/null 2>&1 || true; done
  crowbar_kill_strays
}

# Kill shims and container processes left by this root (a crashed test).
crowbar_kill_strays() {
  [ -n "${CROWBAR_ROOT:-}" ] || return 0
  local p
  for p in $(pgrep -f "crowbar-shim --id [0-9a-f]* --root $CROWBAR_ROOT " 2>/dev/null); do
    kill -9 $(cat /proc/$p/task/*/children 2>/dev/null) "$p" 2>/dev/null || true
  done
}

# Tear the whole root down. Call from teardown_file.
crowbar_teardown_root() {
  [ -n "${CROWBAR_ROOT:-}" ] && [ -d "$CROWBAR_ROOT" ] || return 0
  crowbar_remove_all
  # Any mount left below the root (a killed test) goes first.
  grep -F " $CROWBAR_ROOT" /proc/self/mounts | awk '{print $2}' | sort -r |
    while read -r m; do umount -l "$m" 2>/dev/null || true; done
  rm -rf "$CROWBAR_ROOT"
}

# The busybox rootfs tarball (and the static helper programs), built once per build.
fixture_rootfs() {
  local tar="$FIXTURES/busybox.tar"
  mkdir -p "$FIXTURES"
  if [ ! -s "$tar" ] || [ "$CROWBAR_TOP/tests/fixtures/mkrootfs.sh" -nt "$tar" ]; then
    (flock 9
     shopt -s nullglob # no helper programs built yet is fine
     helpers=("$CROWBAR_TOP"/build/tests/helpers/*)
     [ -s "$tar" ] && [ "$tar" -nt "$CROWBAR_TOP/tests/fixtures/mkrootfs.sh" ] ||
       "$CROWBAR_TOP/tests/fixtures/mkrootfs.sh" "$tar" "${helpers[@]}"
    ) 9>"$FIXTURES/.lock"
  fi
  echo "$tar"
}

# Import the busybox image as busybox:latest into this root (once per file).
import_busybox() {
  crowbar images -q busybox:latest 2>/dev/null | grep -q . && return 0
  crowbar import "$(fixture_rootfs)" busybox:latest >/dev/null
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
