#!/bin/bash
# Engine benchmarks (issue: foundation): run --rm, run -d, stop -t 0, ps -a with 500
# containers, side by side with Docker, runc and crun; and the shim's RSS.
. "$(dirname "$0")/common.sh"
WARM=${WARM:-3}
RUNS=${RUNS:-20}

# An OCI bundle of the same rootfs for runc and crun.
BUNDLE="$BENCH_ROOT/bundle"
mkdir -p "$BUNDLE/rootfs"
tar -xf "$ROOTFS_TAR" -C "$BUNDLE/rootfs"
if command -v runc >/dev/null; then
  (cd "$BUNDLE" && runc spec && python3 - <<'PY'
import json
c = json.load(open("config.json"))
c["process"]["terminal"] = False
c["process"]["args"] = ["true"]
ns = c["linux"]["namespaces"]
if not any(n["type"] == "network" for n in ns):
    ns.append({"type": "network"})
json.dump(c, open("config.json", "w"))
PY
  )
fi
cmds=(-n "crowbar run --rm" "crowbar run --rm busybox true"
      -n "crowbar run --rm --init" "crowbar run --rm --init busybox true")
# What Docker's seccomp filter costs a start (compiled, then loaded by the kernel).
cmds+=(-n "crowbar run --rm (seccomp=unconfined)" "crowbar run --rm --security-opt seccomp=unconfined busybox true")
[ "$HAVE_DOCKER" = 1 ] && cmds+=(-n "docker run --rm" "docker run --rm --network none cbbench-busybox true")
command -v runc >/dev/null && cmds+=(-n "runc run" "runc run -b $BUNDLE cbbench-\$RANDOM >/dev/null")
# crun 1.8 refuses this host's hybrid cgroups unless /sys/fs/cgroup/unified is hidden.
command -v crun >/dev/null && cmds+=(-n "crun run" "unshare -m sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null; crun run -b $BUNDLE cbbench-\$\$ >/dev/null'")
bench run-rm -w "$WARM" -r "$RUNS" -N "${cmds[@]}" 2>/dev/null || bench run-rm -w "$WARM" -r "$RUNS" "${cmds[@]}"

cmds=(-n "crowbar run -d" "crowbar run -d busybox sleep 1000")
[ "$HAVE_DOCKER" = 1 ] && cmds+=(-n "docker run -d" "docker run -d --network none cbbench-busybox sleep 1000")
bench run-d -w 1 -r 10 "${cmds[@]}" >/dev/null
cat "$OUT/run-d.md"

# stop -t 0 of a running container (prepared before each timing).
cmds=(-n "crowbar stop -t 0" --prepare "crowbar rm -f s0 >/dev/null 2>&1; crowbar run -d --name s0 busybox sleep 1000" "crowbar stop -t 0 s0")
[ "$HAVE_DOCKER" = 1 ] && cmds+=(-n "docker stop -t 0" --prepare "docker rm -f s0 >/dev/null 2>&1; docker run -d --name s0 --network none cbbench-busybox sleep 1000" "docker stop -t 0 s0")
bench stop -w 1 -r 10 "${cmds[@]}"

# The shim's resident memory while its container runs, against containerd's shim.
id=$(crowbar run -d busybox sleep 1000)
sleep 0.5
shim=$(pgrep -f "crowbar-shim --id $id --root $CROWBAR_ROOT ")
rss=$(awk '/VmRSS/{print $2}' /proc/$shim/status)
echo "== shim RSS"
echo "crowbar-shim: ${rss} kB"
if [ "$HAVE_DOCKER" = 1 ]; then
  did=$(docker run -d --network none cbbench-busybox sleep 1000)
  sleep 0.5
  dshim=$(pgrep -f "containerd-shim.*$did" | head -1)
  [ -n "$dshim" ] && echo "containerd-shim-runc-v2: $(awk '/VmRSS/{print $2}' /proc/$dshim/status) kB"
  echo "dockerd: $(awk '/VmRSS/{print $2}' /proc/$(pgrep -x dockerd | head -1)/status) kB"
  pc=$(pgrep -x containerd | head -1)
  [ -n "$pc" ] && echo "containerd: $(awk '/VmRSS/{print $2}' /proc/$pc/status) kB"
fi
{ echo "| program | VmRSS (kB) |"; echo "|---|---|"; echo "| crowbar-shim | $rss |"; } > "$OUT/shim-rss.md"

# ps -a with 500 containers (created, not running: what the listing reads is the same).
for i in $(seq 500); do crowbar create busybox true >/dev/null; done
cmds=(-n "crowbar ps -a (500)" "crowbar ps -a")
if [ "$HAVE_DOCKER" = 1 ]; then
  docker rm -f $(docker ps -aq) >/dev/null 2>&1 || true
  for i in $(seq 500); do docker create --network none cbbench-busybox true >/dev/null; done
  cmds+=(-n "docker ps -a (500)" "docker ps -a")
fi
bench ps-500 -w 3 -r 30 -N "${cmds[@]}" 2>/dev/null || bench ps-500 -w 3 -r 30 "${cmds[@]}"
if [ "$HAVE_DOCKER" = 1 ]; then
  docker rm -f $(docker ps -aq) >/dev/null 2>&1 || true
fi
