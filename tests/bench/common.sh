# Shared set-up for the benchmarks: a throw-away crowbar root with the busybox image,
# Docker when its daemon runs (or can be started), and hyperfine. Benchmarks measure and
# report side by side in one hyperfine run; they never pass or fail on a timing.
set -eu
TOP=$(cd "$(dirname "$0")/../.." && pwd)
export PATH="$TOP/build:$PATH"
OUT="$TOP/build/bench"
mkdir -p "$OUT"
# Whatever earlier benchmarks left dirty on disk is written now, not in our fsyncs.
sync
command -v hyperfine >/dev/null || { echo "bench: hyperfine is not installed (make deps)" >&2; exit 1; }

BENCH_ROOT=$(mktemp -d /tmp/crowbar-bench.XXXXXX)
export CROWBAR_ROOT="$BENCH_ROOT/root" CROWBAR_RUNROOT="$BENCH_ROOT/run"
bench_cleanup() {
  for id in $(crowbar ps -aq --no-trunc 2>/dev/null); do crowbar rm -f "$id" >/dev/null 2>&1 || true; done
  rm -rf "$BENCH_ROOT"
}
trap bench_cleanup EXIT

ROOTFS_TAR="$TOP/build/fixtures/busybox.tar"
if [ ! -s "$ROOTFS_TAR" ]; then
  mkdir -p "$TOP/build/fixtures"
  "$TOP/tests/fixtures/mkrootfs.sh" "$ROOTFS_TAR" "$TOP"/build/tests/helpers/* 2>/dev/null ||
    "$TOP/tests/fixtures/mkrootfs.sh" "$ROOTFS_TAR"
fi
crowbar import "$ROOTFS_TAR" busybox:latest >/dev/null

# Docker, when installed: start a daemon for the run if none answers.
HAVE_DOCKER=0
if command -v docker >/dev/null && command -v dockerd >/dev/null; then
  if ! docker info >/dev/null 2>&1; then
    (dockerd --iptables=false --bridge=none --ip-masq=false >"$BENCH_ROOT/dockerd.log" 2>&1 &)
    for _ in $(seq 50); do docker info >/dev/null 2>&1 && break; sleep 0.2; done
  fi
  if docker info >/dev/null 2>&1; then
    HAVE_DOCKER=1
    docker image inspect cbbench-busybox >/dev/null 2>&1 || docker import "$ROOTFS_TAR" cbbench-busybox >/dev/null
  fi
fi
[ "$HAVE_DOCKER" = 1 ] || echo "bench: Docker is not available: its columns are left out" >&2

# hyperfine NAME [hyperfine args...]: run and keep a markdown table in build/bench/NAME.md
bench() {
  local name=$1; shift
  echo "== $name"
  hyperfine --style basic --export-markdown "$OUT/$name.md" "$@"
}
