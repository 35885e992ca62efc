#!/bin/bash
# enter benchmarks (issue 4): `crowbar enter CTR true` side by side with util-linux's
# `nsenter -t PID -a true` (the goal: within 1.5x), the program on its own (no
# dispatcher), `crowbar exec` (the container's view of the world), and the toolbox.
. "$(dirname "$0")/common.sh"
WARM=${WARM:-20}
RUNS=${RUNS:-300}

# exec (issue 4): crowbar exec against docker exec and nsenter on equivalent containers
# (the goal: 10x faster than Docker, within 2x of nsenter).
crowbar run -d --name bexec busybox sleep 100000 >/dev/null
xpid=$(crowbar inspect -f '{{.State.Pid}}' bexec)
cmds=(-n "crowbar exec" "crowbar exec bexec true" -n "nsenter -a" "nsenter -t $xpid -a true")
if [ "$HAVE_DOCKER" = 1 ]; then
  docker rm -f cbbench-exec >/dev/null 2>&1 || true
  docker run -d --name cbbench-exec --network none cbbench-busybox sleep 100000 >/dev/null
  cmds+=(-n "docker exec" "docker exec cbbench-exec true")
fi
bench exec -N -w 5 -r 100 "${cmds[@]}"
[ "$HAVE_DOCKER" = 1 ] && docker rm -f cbbench-exec >/dev/null 2>&1

# Medians and minimums from hyperfine's JSON (means suffer most from a busy machine).
medians() {
  echo "-- $1: median / min (ms)"
  grep -oE '"(command|median|min)": ("[^"]*"|[0-9.e-]+)' "$OUT/$1.json" |
    awk -F': ' '/"command"/ { gsub(/"/, "", $2); c = $2 }
      /"median"/ { m = $2 }
      /"min"/ { printf "  %-44s %7.2f / %5.2f\n", c, m * 1000, $2 * 1000 }'
}

crowbar run -d --name benter busybox sleep 100000 >/dev/null
pid=$(crowbar inspect -f '{{.State.Pid}}' benter)
[ -n "$pid" ] || { echo "bench: no PID for the container" >&2; exit 1; }

cmds=(-n "crowbar enter" "crowbar enter benter true"
      -n "crowbar-enter" "crowbar-enter benter true"
      -n "nsenter -a" "nsenter -t $pid -a true"
      -n "crowbar exec" "crowbar exec benter true")
bench enter -N -w "$WARM" -r "$RUNS" --export-json "$OUT/enter.json" "${cmds[@]}"
medians enter

# The toolbox: with its applet folder (busybox), and without (the same binary under
# another name, so no `--list` and no tmpfs), against the image's own `true`.
cp "$(command -v busybox)" "$BENCH_ROOT/toolbox"
cmds=(-n "crowbar enter" "crowbar enter benter true"
      -n "crowbar enter --toolbox" "crowbar enter --toolbox benter true"
      -n "crowbar enter --toolbox (no applet folder)" "crowbar enter --toolbox=$BENCH_ROOT/toolbox benter true")
bench enter-toolbox -N -w 5 -r 100 --export-json "$OUT/enter-toolbox.json" "${cmds[@]}"
medians enter-toolbox
