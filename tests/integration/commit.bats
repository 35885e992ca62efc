#!/usr/bin/env bats
# crowbar commit on real containers: the new image runs with exactly what the container
# left (deletions and opaque folders included), its config (container's, then -c), -m,
# -a, pausing, empty layers, the OCI layer tar; then the crashtest workflow end to end.

load fs_helpers

setup_file() {
  fs_setup_file
  crowbar run --name src busybox sh -c 'echo kept > /tmp/kept; rm /etc/group;
    rm -rf /home && mkdir /home && echo new > /home/new; mkdir -p /var/log/app;
    echo log > /var/log/app/x.log; ln -s /tmp/kept /tmp/link; ln /tmp/kept /tmp/hard' >/dev/null
}
teardown_file() { fs_teardown_file; }

# A field of an image's inspect output.
img() { crowbar inspect --type image -f "$2" "$1"; }

@test "commit: prints the new image's ID and tags it" {
  run crowbar commit src snap:1
  [ "$status" -eq 0 ]
  [[ "$output" =~ ^sha256:[0-9a-f]{64}$ ]]
  [ "$(crowbar images -q --no-trunc snap:1)" = "$output" ]
}

@test "commit: the image has exactly what the container left, deletions included" {
  run crowbar run --rm --entrypoint sh snap:1 -c 'cat /tmp/kept /home/new /var/log/app/x.log;
    ls /home; test -e /etc/group && echo group-is-back; readlink /tmp/link;
    stat -c %i /tmp/kept /tmp/hard | uniq | wc -l'
  [ "$status" -eq 0 ]
  [ "$output" = "kept
new
log
new
/tmp/kept
1" ]
  # And diff of a container of the new image shows no change to it.
  crowbar run --name fromsnap snap:1 true
  run crowbar diff fromsnap
  [ -z "$output" ]
}

@test "commit: the layer is an OCI layer with .wh. whiteouts and an opaque marker" {
  id=$(crowbar images -q --no-trunc snap:1)
  top=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["rootfs"]["diff_ids"][-1])' \
    "$CROWBAR_ROOT/images/${id#sha256:}/config.json")
  run tar -tf "$CROWBAR_ROOT/layers/${top#sha256:}/layer.tar"
  [ "$status" -eq 0 ]
  [[ "$output" == *$'etc/.wh.group\n'* ]]
  [[ "$output" == *$'home/.wh..wh..opq\n'* ]]
  [[ "$output" == *$'tmp/kept\n'* ]]
  [[ "$output" != *"trusted.overlay"* ]]
  # Only the changes: nothing of the image's own files.
  [[ "$output" != *"bin/busybox"* ]]
  # sha256 of the tar is its diff_id.
  [ "sha256:$(sha256sum <"$CROWBAR_ROOT/layers/${top#sha256:}/layer.tar" | cut -d' ' -f1)" = "$top" ]
}

@test "commit: the container's config, then -c changes, -m and -a" {
  crowbar run --name cfg -e FOO=bar -w /tmp -u 1000 --entrypoint /bin/sh busybox -c 'echo x > y'
  id=$(crowbar commit -m "the message" -a "Jane <j@example.com>" cfg cfgimg)
  [ "$(img cfgimg '{{json .Config.Entrypoint}}')" = '["/bin/sh"]' ]
  [ "$(img cfgimg '{{json .Config.Cmd}}')" = '["-c","echo x \u003e y"]' ] ||
    [ "$(img cfgimg '{{json .Config.Cmd}}')" = '["-c","echo x > y"]' ]
  [ "$(img cfgimg '{{.Config.WorkingDir}}')" = /tmp ]
  [ "$(img cfgimg '{{.Config.User}}')" = 1000 ]
  [[ "$(img cfgimg '{{json .Config.Env}}')" == *'"FOO=bar"'* ]]
  [ "$(img cfgimg '{{.Comment}}')" = "the message" ]
  [ "$(img cfgimg '{{.Author}}')" = "Jane <j@example.com>" ]
  cfgf="$CROWBAR_ROOT/images/${id#sha256:}/config.json"
  run python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); h=c["history"][-1]
print(h["created_by"]); print(h["comment"]); print(h["author"]); print(c["container"])' "$cfgf"
  [ "${lines[0]}" = "-c echo x > y" ]
  [ "${lines[1]}" = "the message" ]
  [ "${lines[2]}" = "Jane <j@example.com>" ]
  [ "${lines[3]}" = "$(crowbar inspect -f '{{.Id}}' cfg)" ]

  crowbar commit -c 'ENTRYPOINT ["cat"]' -c 'CMD ["/tmp/y"]' -c 'ENV DEBUG=1' \
    -c 'WORKDIR /var' -c 'USER root' cfg cfg2 >/dev/null
  [ "$(img cfg2 '{{json .Config.Entrypoint}}')" = '["cat"]' ]
  [ "$(img cfg2 '{{json .Config.Cmd}}')" = '["/tmp/y"]' ]
  [ "$(img cfg2 '{{.Config.WorkingDir}}')" = /var ]
  [ "$(img cfg2 '{{.Config.User}}')" = root ]
  [[ "$(img cfg2 '{{json .Config.Env}}')" == *'"DEBUG=1"'* ]]
  run crowbar run --rm cfg2
  [ "$status" -eq 0 ]
  [ "$output" = x ]
}

@test "commit: a container that changed nothing gives an empty layer entry, no new layer" {
  crowbar create --name idle busybox true >/dev/null
  id=$(crowbar commit idle)
  base=$(crowbar images -q --no-trunc busybox)
  n() { python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); print(len(c["rootfs"]["diff_ids"]), c["history"][-1].get("empty_layer", False))' "$CROWBAR_ROOT/images/${1#sha256:}/config.json"; }
  [ "$(n "$id")" = "1 True" ]
  [ "$(n "$base")" = "1 False" ]
}

@test "commit: a running container is paused during the commit and runs again after" {
  crowbar run -d --name busy busybox sh -c 'echo $$ > /tmp/pid; while :; do date > /tmp/now; usleep 10000; done' >/dev/null
  wait_until 50 test -e "$(upper_of busy)/tmp/now"
  run crowbar commit busy busysnap
  [ "$status" -eq 0 ]
  [ "$(ctr_status busy)" = running ]
  # And it keeps running: its clock moves on.
  a=$(cat "$(upper_of busy)/tmp/now"); sleep 1.1
  [ "$(cat "$(upper_of busy)/tmp/now")" != "$a" ]
  run crowbar run --rm --entrypoint cat busysnap /tmp/pid
  [ "$output" = 1 ]
  # --pause=false leaves it running; a paused container stays paused.
  run crowbar commit --pause=false busy
  [ "$status" -eq 0 ]
  [ "$(ctr_status busy)" = running ]
  crowbar pause busy
  run crowbar commit busy
  [ "$status" -eq 0 ]
  [ "$(ctr_status busy)" = paused ]
  crowbar unpause busy
  run crowbar commit -p=false busy
  [ "$status" -eq 0 ]
  run crowbar commit --pause=maybe busy
  [ "$status" -eq 125 ]
}

@test "commit: interrupted, it leaves no image and the container running" {
  crowbar run -d --name intr busybox sh -c 'mkdir /many; cd /many; i=0; while [ $i -lt 3000 ]; do echo $i > f$i; i=$((i+1)); done; sleep 1000' >/dev/null
  wait_until 100 test -e "$(upper_of intr)/many/f2999"
  before=$(crowbar images -q | sort)
  crowbar commit intr intrsnap 3>&- &
  pid=$!
  sleep 0.05
  kill -INT "$pid"
  wait "$pid" || true
  # Either it finished before the signal, or it left no image.
  if ! crowbar images -q intrsnap | grep -q .; then
    [ "$(crowbar images -q | sort)" = "$before" ]
  fi
  [ "$(ctr_status intr)" = running ]
  # The next writer sweeps what the killed one left in the store's work folder.
  crowbar commit intr >/dev/null
  [ -z "$(ls -A "$CROWBAR_ROOT/tmp")" ]
}

@test "commit: errors: no such container, a bad reference, a bad instruction" {
  run crowbar commit nosuch
  [ "$status" -eq 1 ]
  [ "$output" = "Error: No such container: nosuch" ]
  before=$(crowbar images -q | sort)
  run crowbar commit src Bad:Ref
  [ "$status" -eq 1 ]
  [[ "$output" == "Error: invalid reference format"* ]]
  run crowbar commit -c 'FROM busybox' src
  [ "$status" -eq 1 ]
  [[ "$output" == "Error: from is not a valid change command"* ]]
  [ "$(crowbar images -q | sort)" = "$before" ]
  run crowbar commit
  [ "$status" -eq 1 ]
  run crowbar commit --help
  [ "$status" -eq 0 ]
  [[ "$output" == *"--change"* ]]
}

@test "commit: a container whose image was removed still commits" {
  crowbar import "$(fixture_rootfs)" gone:1 >/dev/null
  crowbar run --name orphan gone:1 sh -c 'echo o > /tmp/o'
  crowbar rmi -f gone:1 >/dev/null
  run crowbar commit orphan orphansnap
  [ "$status" -eq 0 ]
  run crowbar run --rm --entrypoint cat orphansnap /tmp/o
  [ "$output" = o ]
}

@test "commit: Docker's commit of the same changes gives the same files" {
  need_docker
  both same -- 'echo kept > /tmp/kept; rm /etc/group; rm -rf /home && mkdir /home && echo new > /home/new; rm -rf /usr/local'
  crowbar commit same samesnap >/dev/null
  docker commit "$(dname same)" "$DIMG-samesnap" >/dev/null
  list='find /etc /home /tmp /usr /var | sort'
  crowbar run --rm --entrypoint sh samesnap -c "$list" >"$BATS_TEST_TMPDIR/c"
  docker run --rm --network none --entrypoint sh "$DIMG-samesnap" -c "$list" >"$BATS_TEST_TMPDIR/d"
  same_or_show "$BATS_TEST_TMPDIR/c" "$BATS_TEST_TMPDIR/d"
}

# ---- the crash-diagnosis workflow, end to end -----------------------------------------------

@test "workflow: a web server that dies at start, found out with ps, diff, cp, commit and export" {
  "$CROWBAR_TOP/tests/fixtures/mkcrashtest.sh" "$BATS_TEST_TMPDIR/crashtest.tar"
  crowbar import -c 'CMD ["/usr/sbin/nginx", "-g", "daemon off;"]' \
    "$BATS_TEST_TMPDIR/crashtest.tar" crashtest >/dev/null
  crowbar run -d --name web crashtest >/dev/null
  run crowbar wait web
  [ "$output" = 1 ]
  run crowbar logs web
  [ -z "$output" ]
  run crowbar ps -l --format '{{.Names}} {{.Status}}'
  [[ "$output" == "web Exited (1) "* ]]

  run crowbar diff web
  [ "$status" -eq 0 ]
  [ "$output" = "C /var
C /var/log
A /var/log/nginx
A /var/log/nginx/error.log" ]

  if [ "$DOCKER" = 1 ]; then
    docker import -c 'CMD ["/usr/sbin/nginx", "-g", "daemon off;"]' \
      "$BATS_TEST_TMPDIR/crashtest.tar" "$DIMG-crashtest" >/dev/null
    docker run --name "$(dname web)" --label "cbtest=$DIMG" --network none "$DIMG-crashtest" || true
    docker_diff_sorted web >"$BATS_TEST_TMPDIR/d"
    printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/c"
    same_or_show "$BATS_TEST_TMPDIR/c" "$BATS_TEST_TMPDIR/d"
  fi

  # cp pulls the log out of the dead container, as a file and as a tar stream.
  crowbar cp web:/var/log/nginx/error.log "$BATS_TEST_TMPDIR/"
  grep -q '\[emerg\].*nginx.pid' "$BATS_TEST_TMPDIR/error.log"
  run sh -c 'crowbar cp web:/var/log/nginx - | tar -tf -'
  [[ "$output" == *"nginx/error.log"* ]]

  run crowbar commit web dbg
  [ "$status" -eq 0 ]
  run crowbar run --rm --entrypoint sh dbg -c 'cat /var/log/nginx/error.log'
  [ "$status" -eq 0 ]
  [[ "$output" == *'[emerg] 1#1: open() "/run/nginx/nginx.pid" failed (2: No such file or directory)'* ]]
  # An interactive shell in it (stdin): the same file, and no /run/nginx, as it crashed.
  run sh -c "printf 'cat /var/log/nginx/error.log; ls -d /run/nginx 2>&1\n' | crowbar run --rm -i --entrypoint sh dbg"
  [[ "$output" == *"[emerg]"* ]]
  [[ "$output" == *"/run/nginx: No such file or directory"* ]]
  # The image keeps the container's command: run without --entrypoint, it crashes the same.
  run crowbar run --rm dbg
  [ "$status" -eq 1 ]

  run sh -c 'crowbar export web | tar tv'
  [ "$status" -eq 0 ]
  [[ "$output" == *" var/log/nginx/error.log"* ]]
  [[ "$output" == *" usr/sbin/nginx"* ]]
}
