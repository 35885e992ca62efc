# A private Docker daemon for the suites that compare crowbar with Docker: its own data
# root, socket, exec root and pid file under $CROWBAR_ROOT/docker, never the machine's
# daemon. docker_start (from setup_file) sets DOCKER_OK=1 when the daemon answers and the
# busybox fixture is imported into it as IMAGE (default busybox); docker_stop (from
# teardown_file) removes its containers and stops it. Tests call need_docker, which skips
# with a message where dockerd or the docker client is missing.

docker_start() {
  local image=${1:-busybox} dockerd d i
  export DOCKER_OK=0
  dockerd=$(command -v dockerd || echo /usr/sbin/dockerd)
  [ -x "$dockerd" ] && command -v docker >/dev/null || return 0
  d="$CROWBAR_ROOT/docker"
  mkdir -p "$d"
  export DOCKER_HOST="unix://$d/sock"
  (setsid "$dockerd" --data-root "$d/data" --exec-root "$d/exec" -H "$DOCKER_HOST" \
    --pidfile "$d/pid" --bridge=none --iptables=false --ip6tables=false --ip-masq=false \
    >"$d/log" 2>&1 3>&- &)
  for i in $(seq 150); do
    timeout 5 docker info >/dev/null 2>&1 && break
    sleep 0.2
  done
  timeout 5 docker info >/dev/null 2>&1 || return 0
  docker import "$(fixture_rootfs)" "$image" >/dev/null && DOCKER_OK=1
}

docker_stop() {
  local d="$CROWBAR_ROOT/docker" pid i ids
  [ -s "$d/pid" ] || return 0
  ids=$(docker ps -aq 2>/dev/null) || true
  [ -n "$ids" ] && docker rm -f $ids >/dev/null 2>&1
  pid=$(cat "$d/pid")
  kill "$pid" 2>/dev/null
  for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
}

need_docker() {
  [ "$DOCKER_OK" = 1 ] || skip "no private Docker daemon could be started (dockerd and docker needed)"
}
