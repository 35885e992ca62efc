# Helpers of the filesystem suites (diff, export, commit): the same changes made in a
# crowbar container and, when a Docker daemon answers, in a Docker container of the same
# busybox tarball, so that the outputs can be compared line for line.

load helpers

# Set up the root, the busybox image, and Docker's copy of it (DOCKER=1 when usable).
fs_setup_file() {
  crowbar_setup_root
  import_busybox
  DOCKER=0
  DIMG="cbtest-fs-$$"
  if command -v docker >/dev/null && timeout 20 docker info >/dev/null 2>&1; then
    docker import "$(fixture_rootfs)" "$DIMG" >/dev/null && DOCKER=1
  fi
  export DOCKER DIMG
  echo "$DIMG" >"$CROWBAR_ROOT/docker-image"
}

fs_teardown_file() {
  if [ "${DOCKER:-0}" = 1 ]; then
    local ids
    ids=$(docker ps -aq --filter "label=cbtest=$DIMG" 2>/dev/null) || true
    [ -n "$ids" ] && docker rm -f $ids >/dev/null 2>&1
    # The images of this run: $DIMG and the commits tagged $DIMG-*.
    docker rmi -f $(docker images -q --filter "reference=$DIMG*" 2>/dev/null) >/dev/null 2>&1 || true
  fi
  crowbar_teardown_root
}

# Skip a test that needs Docker, saying why.
need_docker() {
  [ "${DOCKER:-0}" = 1 ] || skip "no Docker daemon answers (docker info): nothing to compare with"
}

# both NAME [RUN-OPTIONS...] -- SHELL-COMMAND: run the command to its end in a crowbar
# container NAME and, with Docker, in a Docker container named $DIMG-NAME.
both() {
  local name=$1; shift
  local opts=()
  while [ "$1" != "--" ]; do opts+=("$1"); shift; done
  shift
  crowbar run --name "$name" "${opts[@]}" busybox sh -c "$1" >/dev/null 2>&1 || true
  if [ "${DOCKER:-0}" = 1 ]; then
    docker run --name "$(dname "$name")" --label "cbtest=$DIMG" --network none "${opts[@]}" "$DIMG" \
      sh -c "$1" >/dev/null 2>&1 || true
  fi
}

# Docker's name for a container made by `both`.
dname() { echo "$DIMG-$1"; }

# docker diff, sorted as crowbar sorts (byte order of the paths).
docker_diff_sorted() { docker diff "$(dname "$1")" | LC_ALL=C sort -k2; }

# Fail with both outputs when two files differ.
same_or_show() {
  if ! cmp -s "$1" "$2"; then
    echo "--- crowbar ($1)"; cat "$1"
    echo "--- docker ($2)"; cat "$2"
    diff -u "$1" "$2" || true
    return 1
  fi
}

# The upper dir of a crowbar container.
upper_of() { crowbar inspect -f '{{.GraphDriver.Data.UpperDir}}' "$1"; }

# The host's mount table (as a process outside any container sees it).
host_mounts() { cat /proc/1/mountinfo; }
