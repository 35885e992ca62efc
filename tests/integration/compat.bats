#!/usr/bin/env bats
# Docker compatibility (issue 12): cases from Docker's own integration tests and reference,
# each checked against what Docker does (measured on Docker 20.10 and written here), and
# against a private Docker daemon side by side where one can be started (docker.bash).

load helpers
load docker

setup_file() {
  crowbar_setup_root
  require_cbtest
  import_busybox
  docker_start busybox
}

teardown_file() {
  docker_stop
  crowbar_teardown_root
}

teardown() { crowbar_remove_all; }

# Every verb's program, from the build (crowbar help lists the same).
all_verbs() {
  local f
  for f in "$CROWBAR_TOP"/build/crowbar-*; do
    f=${f##*/crowbar-}
    case $f in shim | init) ;; *) echo "$f" ;; esac
  done
}

@test "compat: -X=VALUE short options drop the '=', as Docker's flag parser" {
  crowbar create --name eq -e=A=1 -w=/tmp -m=300M -u=0 -h=host busybox true
  [ "$(crowbar inspect -f '{{index .Config.Env 0}}|{{.Config.WorkingDir}}|{{.HostConfig.Memory}}|{{.Config.User}}|{{.Config.Hostname}}' eq)" \
    = "A=1|/tmp|314572800|0|host" ]
  # In a cluster, and with the value in the next argument (kept as it is).
  crowbar create --name eq2 -ie=B=2 busybox true
  [ "$(crowbar inspect -f '{{index .Config.Env 0}} {{.Config.OpenStdin}}' eq2)" = "B=2 true" ]
  run crowbar ps -a -n=1 --format '{{.Names}}'
  [ "$status" -eq 0 ] && [ "$output" = eq2 ]
  run crowbar inspect -f='{{.Name}}' eq
  [ "$status" -eq 0 ] && [ "$output" = /eq ]
  if [ "$DOCKER_OK" = 1 ]; then
    docker create --name eq -e=A=1 -w=/tmp -m=300M -u=0 -h=host --network none busybox true >/dev/null
    [ "$(docker inspect -f '{{index .Config.Env 0}}|{{.Config.WorkingDir}}|{{.HostConfig.Memory}}|{{.Config.User}}|{{.Config.Hostname}}' eq)" \
      = "A=1|/tmp|314572800|0|host" ]
  fi
}

@test "compat: an unknown flag exits 125 in every verb, as Docker's" {
  local v n=0
  for v in $(all_verbs); do
    run crowbar "$v" --no-such-flag
    [ "$status" -eq 125 ] || { echo "$v: status $status: $output"; return 1; }
    n=$((n + 1))
  done
  [ "$n" -gt 20 ]
  run crowbar ps -Z
  [ "$status" -eq 125 ]
  [ "${lines[0]}" = "Error: unknown shorthand flag: 'Z' in -Z" ]
  run crowbar logs -n
  [ "$status" -eq 125 ]
  [ "${lines[0]}" = "Error: flag needs an argument: -n" ]
  if [ "$DOCKER_OK" = 1 ]; then
    run docker ps --no-such-flag
    [ "$status" -eq 125 ]
  fi
}

@test "compat: start of a paused container fails with 1 and says to unpause" {
  crowbar run -d --name pz busybox sleep 1000 >/dev/null
  crowbar pause pz
  run crowbar start pz
  [ "$status" -eq 1 ]
  [ "$output" = "Error: cannot start a paused container, try unpause instead" ]
  run crowbar start -a pz
  [ "$status" -eq 1 ]
  crowbar unpause pz
  [ "$(crowbar inspect -f '{{.State.Status}}' pz)" = running ]
  if [ "$DOCKER_OK" = 1 ]; then
    docker run -d --name pz --network none busybox sleep 1000 >/dev/null
    docker pause pz
    run docker start pz
    [ "$status" -eq 1 ]
    [[ "$output" == *"cannot start a paused container, try unpause instead"* ]]
  fi
}

@test "compat: inspect's template parse error exits 64" {
  crowbar create --name tp busybox true >/dev/null
  run crowbar inspect -f '{{.Id' tp
  [ "$status" -eq 64 ]
  [[ "$output" == "Error: Template parsing error: template: "* ]]
  if [ "$DOCKER_OK" = 1 ]; then
    docker create --name tp --network none busybox true >/dev/null
    run docker inspect -f '{{.Id' tp
    [ "$status" -eq 64 ]
    [[ "$output" == [Tt]"emplate parsing error: template: "* ]]
  fi
}

@test "compat: Config.Env holds the user's variables before the image's, and no default PATH" {
  crowbar commit -c 'ENV B=img C=img2' "$(crowbar create busybox true)" envimg >/dev/null
  crowbar create --name ev -t -e A=1 -e C=user envimg true >/dev/null
  [ "$(crowbar inspect -f '{{json .Config.Env}}' ev)" = '["A=1","C=user","B=img"]' ]
  crowbar create --name ev0 busybox true >/dev/null
  [ "$(crowbar inspect -f '{{json .Config.Env}}' ev0)" = 'null' ]
  # The process still gets Docker's PATH, HOSTNAME and TERM first, then the record's.
  run crowbar run --rm -t -h envhost -e A=1 -e C=user envimg env
  [ "$(printf '%s\n' "${lines[@]}" | tr -d '\r' | head -6 | tr '\n' ' ')" = \
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOSTNAME=envhost TERM=xterm A=1 C=user B=img " ]
  # A commit of a container from an image without Env has none either.
  crowbar commit ev0 noenv >/dev/null
  [ "$(crowbar inspect -f '{{json .Config.Env}}' noenv)" = 'null' ]
  if [ "$DOCKER_OK" = 1 ]; then
    docker commit -c 'ENV B=img C=img2' "$(docker create --network none busybox true)" envimg >/dev/null
    docker create --name ev -t -e A=1 -e C=user --network none envimg true >/dev/null
    [ "$(docker inspect -f '{{json .Config.Env}}' ev)" = '["A=1","C=user","B=img"]' ]
    docker create --name ev0 --network none busybox true >/dev/null
    [ "$(docker inspect -f '{{json .Config.Env}}' ev0)" = 'null' ]
  fi
}

@test "compat: -c takes HEALTHCHECK NONE and refuses STOPSIGNAL, as Docker 20.10" {
  local id
  id=$(crowbar create busybox true)
  crowbar commit -c 'HEALTHCHECK NONE' "$id" hc >/dev/null
  [ "$(crowbar inspect -f '{{json .Config.Healthcheck}}' hc)" = '{"Test":["NONE"]}' ]
  crowbar commit -c 'HEALTHCHECK --interval=5s --retries=3 CMD wget -q localhost' "$id" hc2 >/dev/null
  [ "$(crowbar inspect -f '{{json .Config.Healthcheck}}' hc2)" = \
    '{"Test":["CMD-SHELL","wget -q localhost"],"Interval":5000000000,"Retries":3}' ]
  run crowbar commit -c 'STOPSIGNAL SIGINT' "$id" ss
  [ "$status" -eq 1 ]
  [[ "$output" == *"stopsignal is not a valid change command"* ]]
  run crowbar import -c 'STOPSIGNAL SIGINT' "$(fixture_rootfs)" ss
  [ "$status" -eq 1 ]
  [[ "$output" == *"stopsignal is not a valid change command"* ]]
  if [ "$DOCKER_OK" = 1 ]; then
    id=$(docker create --network none busybox true)
    docker commit -c 'HEALTHCHECK NONE' "$id" hc >/dev/null
    [ "$(docker inspect -f '{{json .Config.Healthcheck}}' hc)" = '{"Test":["NONE"]}' ]
    docker commit -c 'HEALTHCHECK --interval=5s --retries=3 CMD wget -q localhost' "$id" hc2 >/dev/null
    [ "$(docker inspect -f '{{json .Config.Healthcheck}}' hc2)" = \
      '{"Test":["CMD-SHELL","wget -q localhost"],"Interval":5000000000,"Retries":3}' ]
    run docker commit -c 'STOPSIGNAL SIGINT' "$id" ss
    [ "$status" -eq 1 ]
    [[ "$output" == *"stopsignal is not a valid change command"* ]]
  fi
}
