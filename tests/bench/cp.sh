#!/bin/bash
# cp benchmark (issue 3): a container that wrote 100,000 small files; its /data copied out,
# side by side with Docker (the same files in a Docker container) and with tar of the
# container's upper dir:
#   - as a tar stream: crowbar cp big:/data - | cat  vs  docker cp  vs  tar -cf - -C UPPER/data .
#   - the same with files of 100 bytes instead of empty ones;
#   - into a host folder: crowbar cp mid:/data DIR  vs  docker cp (10,000 files: creating
#     files on the host is what this one measures, slow on some disks).
# Figures only: nothing here passes or fails on a timing.
. "$(dirname "$0")/common.sh"
WARM=${WARM:-2}
RUNS=${RUNS:-10}
N=${N:-100000}
DOCKER_NAMES=()
cp_cleanup() {
  for n in "${DOCKER_NAMES[@]}"; do docker rm -f "$n" >/dev/null 2>&1 || true; done
  bench_cleanup
}
trap cp_cleanup EXIT

# make_data NAME SCRIPT: a crowbar container (and a Docker one) that ran SCRIPT in /data.
make_data() {
  local name=$1 script=$2
  crowbar run -d --name "$name" busybox sh -c "mkdir /data && cd /data && $script && touch /done && exec sleep 100000" >/dev/null
  if [ "$HAVE_DOCKER" = 1 ]; then
    docker rm -f "cbbench-$name" >/dev/null 2>&1 || true
    docker run -d --name "cbbench-$name" --network none cbbench-busybox \
      sh -c "mkdir /data && cd /data && $script && touch /done && exec sleep 100000" >/dev/null
    DOCKER_NAMES+=("cbbench-$name")
  fi
  until crowbar exec "$name" test -e /done; do sleep 0.5; done
  if [ "$HAVE_DOCKER" = 1 ]; then
    until docker exec "cbbench-$name" test -e /done; do sleep 0.5; done
  fi
}

stream_bench() { # NAME CONTAINER
  local name=$1 ctr=$2 up
  up=$(crowbar inspect -f '{{.GraphDriver.Data.UpperDir}}' "$ctr")
  local cmds=(-n "crowbar cp $ctr:/data - | cat" "crowbar cp $ctr:/data - | cat >/dev/null"
              -n "tar -cf - -C UPPER/data . | cat" "tar -cf - -C $up/data . | cat >/dev/null")
  [ "$HAVE_DOCKER" = 1 ] &&
    cmds+=(-n "docker cp $ctr:/data - | cat" "docker cp cbbench-$ctr:/data - | cat >/dev/null")
  bench "$name" -w "$WARM" -r "$RUNS" "${cmds[@]}"
}

make_data big "seq $N | xargs touch"
stream_bench cp-stream-empty big
make_data small "for i in \$(seq $N); do echo 0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456 >\$i; done"
stream_bench cp-stream-100b small

make_data mid "seq ${N_DIR:-10000} | xargs touch"
dest="$BENCH_ROOT/dest"
cmds=(-n "crowbar cp mid:/data DIR" --prepare "rm -rf $dest" "crowbar cp mid:/data $dest")
[ "$HAVE_DOCKER" = 1 ] &&
  cmds+=(-n "docker cp mid:/data DIR" --prepare "rm -rf $dest" "docker cp cbbench-mid:/data $dest")
bench cp-to-dir -w 1 -r "$RUNS" "${cmds[@]}"
