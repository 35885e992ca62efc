#!/bin/bash
# top benchmarks (issue 9): 20 containers of 100 processes each (busybox sleep).
#   1. `crowbar top -b -n 1` over all 2,000 beside `ps -e -o pid,ppid,user,stat,rss,args`
#      (the goal: within 1.5x);
#   2. one container of 100 processes: `crowbar top -b -n 1 CTR` and `crowbar top CTR`
#      beside `docker top` on a Docker container of the same 100 processes (the goal: 10x
#      faster), with a private dockerd of its own (data root, socket, exec root, pid file
#      under a temporary folder), left out when dockerd is not installed;
#   3. the live view's own CPU use at its default interval (3 s) over LIVE_SECS seconds
#      (the goal: under 2%), in a tmux window.
# Nothing here passes or fails on a timing: the figures go to build/bench/top*.md.
set -eu
TOP=$(cd "$(dirname "$0")/../.." && pwd)
export PATH="$TOP/build:$PATH"
OUT="$TOP/build/bench"
mkdir -p "$OUT"
command -v hyperfine >/dev/null || { echo "bench: hyperfine is not installed (make deps)" >&2; exit 1; }
N_CTRS=${N_CTRS:-20}
PER_CTR=${PER_CTR:-100}
LIVE_SECS=${LIVE_SECS:-60}
RUNS=${RUNS:-30}

BENCH_ROOT=$(mktemp -d /tmp/crowbar-bench-top.XXXXXX)
export CROWBAR_ROOT="$BENCH_ROOT/root" CROWBAR_RUNROOT="$BENCH_ROOT/run"
DOCKER_DIR=""
TMUX_SOCK="crowbar-bench-top-$$"
cleanup() {
  tmux -L "$TMUX_SOCK" kill-server 2>/dev/null || true
  for id in $(crowbar ps -aq --no-trunc 2>/dev/null); do crowbar rm -f "$id" >/dev/null 2>&1 || true; done
  if [ -n "$DOCKER_DIR" ]; then
    docker rm -f cbbench-top >/dev/null 2>&1 || true
    if [ -s "$DOCKER_DIR/dockerd.pid" ]; then
      dpid=$(cat "$DOCKER_DIR/dockerd.pid")
      kill "$dpid" 2>/dev/null || true
      for _ in $(seq 100); do kill -0 "$dpid" 2>/dev/null || break; sleep 0.1; done
    fi
    grep -F " $DOCKER_DIR" /proc/self/mounts | awk '{print $2}' | sort -r |
      while read -r m; do umount -l "$m" 2>/dev/null || true; done
    rm -rf "$DOCKER_DIR"
  fi
  rm -rf "$BENCH_ROOT"
}
trap cleanup EXIT

ROOTFS_TAR="$TOP/build/fixtures/busybox.tar"
if [ ! -s "$ROOTFS_TAR" ]; then
  mkdir -p "$TOP/build/fixtures"
  "$TOP/tests/fixtures/mkrootfs.sh" "$ROOTFS_TAR"
fi
crowbar import "$ROOTFS_TAR" busybox:latest >/dev/null

# The container's command: a shell and PER_CTR - 1 sleeps.
CMD="for i in \$(seq $((PER_CTR - 1))); do sleep 100000 & done; wait"

# A private dockerd, never the machine's.
HAVE_DOCKER=0
if command -v docker >/dev/null && command -v dockerd >/dev/null; then
  DOCKER_DIR=$(mktemp -d /tmp/cbtd.XXXXXX)
  export DOCKER_HOST="unix://$DOCKER_DIR/docker.sock"
  (dockerd --data-root "$DOCKER_DIR/data" --exec-root "$DOCKER_DIR/x" -H "$DOCKER_HOST" \
    --pidfile "$DOCKER_DIR/dockerd.pid" --iptables=false --bridge=none --ip-masq=false \
    >"$DOCKER_DIR/dockerd.log" 2>&1 &)
  for _ in $(seq 100); do docker info >/dev/null 2>&1 && break; sleep 0.2; done
  if docker info >/dev/null 2>&1; then
    HAVE_DOCKER=1
    docker import "$ROOTFS_TAR" cbbench-busybox >/dev/null
    docker run -d --name cbbench-top --network none cbbench-busybox sh -c "$CMD" >/dev/null
  else
    echo "bench: the private dockerd did not start (see below): Docker is left out" >&2
    tail -5 "$DOCKER_DIR/dockerd.log" >&2 || true
  fi
else
  echo "bench: Docker is not installed: its rows are left out" >&2
fi

for i in $(seq "$N_CTRS"); do
  crowbar run -d --name "b$i" busybox sh -c "$CMD" >/dev/null
done
want=$((N_CTRS * PER_CTR))
for _ in $(seq 300); do
  have=$(crowbar top -b -n 1 | grep -cE '^b[0-9]+ +[0-9]+ ' || true)
  [ "$have" -ge "$want" ] && break
  sleep 0.2
done
echo "bench: $have container processes in $N_CTRS containers, $(ls /proc | grep -c '^[0-9]') on the host"
if [ "$HAVE_DOCKER" = 1 ]; then
  for _ in $(seq 100); do
    [ "$(docker top cbbench-top | tail -n +2 | wc -l)" -ge "$PER_CTR" ] && break
    sleep 0.2
  done
fi

# Medians and minimums from hyperfine's JSON, with the CPU time (user + system).
report() {
  echo "-- $1: median / min wall (ms), mean user+system CPU (ms)"
  python3 - "$OUT/$1.json" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print("  %-40s %8.2f / %7.2f   %7.2f" % (r["command"], r["median"] * 1000, r["min"] * 1000,
          (r["user"] + r["system"]) * 1000))
PY
}

echo "== top-all: every container's processes beside ps over the host"
hyperfine -N --style basic -w 3 -r "$RUNS" --export-markdown "$OUT/top-all.md" \
  --export-json "$OUT/top-all.json" \
  -n "crowbar top -b -n 1" "crowbar top -b -n 1" \
  -n "crowbar-top -b -n 1" "crowbar-top -b -n 1" \
  -n "ps -e -o pid,ppid,user,stat,rss,args" "ps -e -o pid,ppid,user,stat,rss,args"
report top-all

echo "== top-one: one container of $PER_CTR processes"
cmds=(-n "crowbar top -b -n 1 b1" "crowbar top -b -n 1 b1"
      -n "crowbar top b1 (docker top's form)" "crowbar top b1")
[ "$HAVE_DOCKER" = 1 ] && cmds+=(-n "docker top" "docker top cbbench-top")
hyperfine -N --style basic -w 3 -r "$RUNS" --export-markdown "$OUT/top-one.md" \
  --export-json "$OUT/top-one.json" "${cmds[@]}"
report top-one

# CPU per call, counted per process (what a loaded machine does not distort): ours from
# hyperfine (user + system), Docker's as its CLI's plus what dockerd, containerd and the
# ps they run (dockerd's reaped children) used meanwhile.
if [ "$HAVE_DOCKER" = 1 ]; then
  daemons_ticks() {
    local p t=0
    # dockerd, its containerd and the container's shim (containerd asks it for the PIDs)
    for p in $(cat "$DOCKER_DIR/dockerd.pid") $(pgrep -f "containerd.*$DOCKER_DIR" || true); do
      [ -r "/proc/$p/stat" ] || continue
      t=$((t + $(awk '{print $14 + $15 + $16 + $17}' "/proc/$p/stat")))
    done
    echo "$t"
  }
  n=50
  d0=$(daemons_ticks)
  for _ in $(seq "$n"); do docker top cbbench-top >/dev/null; done
  d1=$(daemons_ticks)
  python3 - "$OUT/top-one.json" "$d0" "$d1" "$n" "$(getconf CLK_TCK)" <<'PY' | tee "$OUT/top-one-cpu.md"
import json, sys
res = {r["command"]: (r["user"] + r["system"]) * 1000 for r in json.load(open(sys.argv[1]))["results"]}
d0, d1, n, hz = (float(x) for x in sys.argv[2:])
daemons = (d1 - d0) * 1000 / hz / n
ours = res["crowbar top -b -n 1 b1"]
docker = res["docker top"] + daemons
print("| CPU per call, one container of 100 processes | ms |")
print("|---|---|")
print("| crowbar top -b -n 1 CTR | %.1f |" % ours)
print("| crowbar top CTR (runs ps) | %.1f |" % res["crowbar top b1 (docker top's form)"])
print("| docker top: CLI %.1f + dockerd, containerd and ps %.1f | %.1f (%.1fx) |" %
      (res["docker top"], daemons, docker, docker / ours))
PY
fi

echo "== top-live: the live view's CPU at its default interval over $LIVE_SECS s"
if command -v tmux >/dev/null; then
  tmux -L "$TMUX_SOCK" new-session -d -s t -x 160 -y 50 \
    "env TERM=xterm PATH=$PATH CROWBAR_ROOT=$CROWBAR_ROOT CROWBAR_RUNROOT=$CROWBAR_RUNROOT crowbar-top"
  pid=""
  for _ in $(seq 50); do
    pid=$(pgrep -f "^crowbar-top$" | head -1 || true)
    [ -n "$pid" ] && break
    sleep 0.1
  done
  sleep 4 # past the first two samples (a full one, then the second after 1 s)
  hz=$(getconf CLK_TCK)
  t0=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  s0=$(date +%s.%N)
  sleep "$LIVE_SECS"
  t1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  s1=$(date +%s.%N)
  tmux -L "$TMUX_SOCK" send-keys -t t q
  python3 - "$t0" "$t1" "$s0" "$s1" "$hz" "$have" <<'PY' | tee "$OUT/top-live.md"
import sys
t0, t1, s0, s1, hz, procs = (float(x) for x in sys.argv[1:])
cpu = (t1 - t0) / hz
print("| what | CPU |")
print("|---|---|")
print("| live view, %d processes, 3 s interval, over %.0f s | %.2f%% (%.2f s of CPU) |" %
      (procs, s1 - s0, cpu * 100 / (s1 - s0), cpu))
PY
else
  echo "bench: tmux is not installed: the live view is not measured" >&2
fi
echo "(load average: $(cut -d' ' -f1-3 /proc/loadavg))"
