#!/usr/bin/env bats
# crowbar run: output, exit codes, --rm, names, and the options that shape the process
# (-e, --env-file, -w, -u, --entrypoint, --read-only, -v).

load helpers

setup_file() {
  require_cbtest
  crowbar_setup_root
  import_busybox
}
teardown() { crowbar_remove_all; }
teardown_file() { crowbar_teardown_root; }

@test "run prints the command's stdout and stderr on ours, each on its own stream" {
  run --separate-stderr crowbar run busybox cbtest log 6
  [ "$status" -eq 0 ]
  [ "$output" = $'out 1\nout 3\nout 5' ]
  [ "$stderr" = $'err 2\nerr 4\nerr 6' ]
}

@test "run -d prints the full 64-character ID" {
  run crowbar run -d busybox true
  [ "$status" -eq 0 ]
  [[ "$output" =~ ^[0-9a-f]{64}$ ]]
}

@test "exit codes: the command's own 0, 1 and N" {
  run -0 crowbar run busybox cbtest exit 0
  run -1 crowbar run busybox cbtest exit 1
  run -42 crowbar run busybox cbtest exit 42
  run -1 crowbar run busybox false
}

@test "exit code 125: no such image" {
  run -125 crowbar run nosuchimage true
  [[ "$output" == Error:*"No such image"*nosuchimage* ]]
}

@test "exit code 125: a bad flag, with the usage hint" {
  run -125 crowbar run --no-such-flag busybox true
  [[ "$output" == *"Error: unknown flag: --no-such-flag"* ]]
  [[ "$output" == *"See 'crowbar run --help'."* ]]
  # Nothing was created.
  [ -z "$(ls "$CROWBAR_ROOT/containers")" ]
}

@test "exit code 126: the command is not executable" {
  run -126 crowbar run busybox /etc/passwd
  [[ "$output" == *"Error:"*"/etc/passwd"*"permission denied"* ]]
  run -126 crowbar run busybox /tmp
}

@test "exit code 127: the command is not found (in \$PATH or by path)" {
  run -127 crowbar run busybox nosuchcommand
  [[ "$output" == *"Error:"*'exec: "nosuchcommand": executable file not found in $PATH'* ]]
  run -127 crowbar run busybox /no/such/file
}

@test "exit code 128+N: a command killed by a signal (139 SIGSEGV, 136 SIGFPE)" {
  run -139 crowbar run busybox cbtest crash segv
  run -136 crowbar run busybox cbtest crash fpe
}

@test "exit code 134: SIGABRT under --init (a PID 1 cannot die of its own raise())" {
  run -134 crowbar run --init busybox cbtest crash abort
}

@test "a container that fails to start stays as Created with the exit code" {
  run -127 crowbar run --name nf busybox nosuchcommand
  run crowbar inspect -f '{{.State.Status}} {{.State.ExitCode}}' nf
  [ "$output" = "created 127" ]
}

@test "--rm: the container is gone after it exits" {
  run -3 crowbar run --rm --name gone busybox cbtest exit 3
  run -1 --separate-stderr crowbar inspect gone
  [ "$stderr" = "Error: No such object: gone" ]
  run -1 --separate-stderr crowbar inspect --type container gone
  [ "$stderr" = "Error: No such container: gone" ]
  [ -z "$(ls "$CROWBAR_ROOT/containers")" ]
  # The name is free again.
  run -0 crowbar run --rm --name gone busybox true
}

@test "--rm: gone also when the command is not found" {
  run -127 crowbar run --rm --name gone127 busybox nosuchcommand
  run -1 crowbar inspect gone127
  [ -z "$(ls "$CROWBAR_ROOT/containers")" ]
}

@test "--rm with -d: removed once it exits" {
  id=$(crowbar run -d --rm busybox true)
  wait_until 50 test ! -e "$CROWBAR_ROOT/containers/$id"
  run -1 crowbar inspect "$id"
}

@test "--name: a second container with the same name is refused (125, Docker's message)" {
  crowbar run -d --name dup busybox sleep 100
  run -125 crowbar run --name dup busybox true
  [[ "$output" == *'Conflict. The container name "/dup" is already in use'* ]]
}

@test "--name: two concurrent runs, exactly one wins, the other exits 125" {
  local a b ra=0 rb=0
  crowbar run -d --name race busybox sleep 100 >"$BATS_TEST_TMPDIR/a" 2>&1 &
  a=$!
  crowbar run -d --name race busybox sleep 100 >"$BATS_TEST_TMPDIR/b" 2>&1 &
  b=$!
  wait "$a" || ra=$?
  wait "$b" || rb=$?
  echo "a: $ra $(cat "$BATS_TEST_TMPDIR/a")"
  echo "b: $rb $(cat "$BATS_TEST_TMPDIR/b")"
  if [ "$ra" -eq 0 ]; then win=a lose=b rl=$rb; else win=b lose=a rl=$ra; fi
  [ "$((ra + rb))" -eq 125 ]
  [ "$rl" -eq 125 ]
  grep -q 'Conflict. The container name "/race" is already in use' "$BATS_TEST_TMPDIR/$lose"
  [ "$(ctr_id race)" = "$(cat "$BATS_TEST_TMPDIR/$win")" ]
  [ "$(ls "$CROWBAR_ROOT/containers" | wc -l)" -eq 1 ]
}

@test "--name: a reservation whose owner is at work is not taken over, though its folder is not there yet" {
  local fake fd
  fake=$(printf 'f%.0s' $(seq 64))
  mkdir -p "$CROWBAR_ROOT/names" "$CROWBAR_RUNROOT/locks"
  ln -s "$fake" "$CROWBAR_ROOT/names/inflight"
  # Its owner: a create between its reservation and its folder, holding its ID's lock.
  exec {fd}>"$CROWBAR_RUNROOT/locks/$fake.lock"
  flock -x "$fd"
  run crowbar create --name inflight busybox true
  echo "$output"
  [ "$status" -eq 125 ]
  [[ "$output" == *"Conflict. The container name \"/inflight\" is already in use by container \"$fake\""* ]]
  [ "$(readlink "$CROWBAR_ROOT/names/inflight")" = "$fake" ]
  # Its owner died (the lock is free, no folder came): the name is free again.
  exec {fd}>&-
  run -0 crowbar create --name inflight busybox true
  [ "$(readlink "$CROWBAR_ROOT/names/inflight")" = "$output" ]
}

@test "-e and --env-file set the environment (later wins; KEY alone takes ours)" {
  printf '# a comment\n\nFROMFILE=file\nSHARED=file\n  INDENTED=yes\nHOSTVAR\n' >"$BATS_TEST_TMPDIR/env"
  export HOSTVAR=host
  run crowbar run --env-file "$BATS_TEST_TMPDIR/env" -e SHARED=flag -e EMPTY= \
    busybox env
  [ "$status" -eq 0 ]
  echo "$output"
  grep -qx 'FROMFILE=file' <<<"$output"
  grep -qx 'SHARED=flag' <<<"$output"
  grep -qx 'INDENTED=yes' <<<"$output"
  grep -qx 'HOSTVAR=host' <<<"$output"
  grep -qx 'EMPTY=' <<<"$output"
  grep -qx 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' <<<"$output"
  grep -qx 'HOME=/root' <<<"$output"
  ! grep -q '^#' <<<"$output"
}

@test "-e =x, -e '' and an env file line without a name are refused with Docker's words (125)" {
  run -125 crowbar run --rm -e =x busybox true
  [ "${lines[0]}" = 'Error: invalid argument "=x" for "-e, --env" flag: invalid environment variable: =x' ]
  run -125 crowbar create -e '' busybox true
  [ "${lines[0]}" = 'Error: invalid argument "" for "-e, --env" flag: invalid environment variable: ' ]
  printf 'A=1\n=x\n' >"$BATS_TEST_TMPDIR/env"
  run -125 crowbar run --rm --env-file "$BATS_TEST_TMPDIR/env" busybox true
  [ "$output" = "Error: poorly formatted environment: no variable name on line '=x'" ]
  printf 'A B=1\n' >"$BATS_TEST_TMPDIR/env"
  run -125 crowbar run --rm --env-file "$BATS_TEST_TMPDIR/env" busybox true
  [ "$output" = "Error: poorly formatted environment: variable 'A B' contains whitespaces" ]
  [ -z "$(crowbar ps -aq)" ]
}

@test "-v over /proc is refused at start with runc's words (125), also through a symlink; lxcfs' files and a procfs pass" {
  mkdir -p "$BATS_TEST_TMPDIR/d"
  touch "$BATS_TEST_TMPDIR/f"
  run -125 crowbar run --name overproc -v "$BATS_TEST_TMPDIR/d:/proc" busybox true
  echo "$output"
  id=$(ctr_id overproc)
  [ "$output" = "Error: failed to start container overproc: error mounting \"$BATS_TEST_TMPDIR/d\" to rootfs at \"/proc\": \"$CROWBAR_RUNROOT/$id/rootfs/proc\" cannot be mounted because it is not of type proc" ]
  run -125 crowbar run --rm -v "$BATS_TEST_TMPDIR/d:/proc/self/../sys/x" busybox true
  echo "$output"
  [[ "$output" == *"to rootfs at \"/proc/sys/x\": \"$CROWBAR_RUNROOT/"*"/rootfs/proc/sys/x\" cannot be mounted because it is inside /proc" ]]
  # A symlink of the container's own to /proc does not get around it.
  id=$(crowbar create --name vialink -v "$BATS_TEST_TMPDIR/d:/pp" busybox true)
  ln -s /proc "$BATS_TEST_TMPDIR/pp"
  tar -C "$BATS_TEST_TMPDIR" -c pp | crowbar cp - vialink:/
  run -1 crowbar start vialink
  echo "$output"
  [[ "$output" == *"to rootfs at \"/pp\": \"$CROWBAR_RUNROOT/$id/rootfs/proc\" cannot be mounted because it is not of type proc" ]]
  # What runc lets through: the files lxcfs emulates, and a procfs over /proc.
  echo 42 >"$BATS_TEST_TMPDIR/f"
  run -0 crowbar run --rm -v "$BATS_TEST_TMPDIR/f:/proc/uptime:ro" busybox cat /proc/uptime
  [ "$output" = 42 ]
  run -0 crowbar run --rm -v /proc:/proc busybox true
}

@test "-w sets the working directory and creates it when missing" {
  run crowbar run -w /no/such/dir busybox pwd
  [ "$status" -eq 0 ]
  [ "$output" = /no/such/dir ]
  run -125 crowbar run -w relative busybox pwd
}

@test "-u 1000 runs as uid 1000 with the user's groups from the image" {
  run crowbar run -u 1000 busybox sh -c 'echo $(id -u) $(id -g) $(id -G); echo $HOME'
  [ "$status" -eq 0 ]
  [ "${lines[0]%% *}" = 1000 ]
  [[ "${lines[0]}" == "1000 1000 "* ]]
  [[ " ${lines[0]#1000 1000 } " == *" 10 "* ]] # app is in wheel
  [ "${lines[1]}" = /home/app ]
}

@test "-u app runs as the image's user app" {
  run crowbar run -u app busybox id -un
  [ "$status" -eq 0 ]
  [ "$output" = app ]
}

@test "-u app:wheel sets the group" {
  run crowbar run -u app:wheel busybox sh -c 'echo $(id -u) $(id -g)'
  [ "$status" -eq 0 ]
  [ "$output" = "1000 10" ]
}

@test "-u with an unknown user fails to start with 125, as Docker's" {
  run -125 crowbar run -u nosuchuser busybox true
  [[ "$output" == *"unable to find user nosuchuser: no matching entries in passwd file"* ]]
  run -125 crowbar run -u app:nosuchgroup busybox true
  [[ "$output" == *"unable to find group nosuchgroup"* ]]
}

@test "--entrypoint replaces the image's entrypoint; the arguments follow it" {
  run crowbar run --entrypoint /bin/echo busybox hello world
  [ "$status" -eq 0 ]
  [ "$output" = "hello world" ]
  run -5 crowbar run --name ep --entrypoint cbtest busybox exit 5
  run crowbar inspect -f '{{json .Config.Entrypoint}} {{json .Config.Cmd}}' ep
  [ "$output" = '["cbtest"] ["exit","5"]' ]
}

@test "--read-only: writes to the root filesystem fail" {
  run crowbar run --read-only busybox sh -c 'touch /newfile'
  [ "$status" -ne 0 ]
  [[ "$output" == *"Read-only file system"* ]]
  run crowbar run --read-only busybox cat /etc/passwd
  [ "$status" -eq 0 ]
}

@test "-v HOST:/mnt bind-mounts a host folder, read-write" {
  d=$BATS_TEST_TMPDIR/vol
  mkdir -p "$d"
  echo from-host >"$d/in"
  run crowbar run -v "$d:/mnt" busybox sh -c 'cat /mnt/in && echo from-ctr >/mnt/out'
  [ "$status" -eq 0 ]
  [ "$output" = from-host ]
  [ "$(cat "$d/out")" = from-ctr ]
}

@test "-v HOST:/mnt:ro is read-only inside" {
  d=$BATS_TEST_TMPDIR/rovol
  mkdir -p "$d"
  echo from-host >"$d/in"
  run crowbar run -v "$d:/mnt:ro" busybox sh -c 'cat /mnt/in; touch /mnt/out'
  [ "$status" -ne 0 ]
  [[ "$output" == from-host* ]]
  [[ "$output" == *"Read-only file system"* ]]
  [ ! -e "$d/out" ]
}

@test "-v of a single file" {
  echo file-content >"$BATS_TEST_TMPDIR/one"
  run crowbar run -v "$BATS_TEST_TMPDIR/one:/etc/one:ro" busybox cat /etc/one
  [ "$status" -eq 0 ]
  [ "$output" = file-content ]
}

@test "exit code 137: a foreground run whose container is killed (crowbar kill)" {
  bg_start "$BATS_TEST_TMPDIR/fg" crowbar run --name killed busybox cbtest ignore-term
  wait_until 50 ctr_exists killed
  wait_logs killed '^ready$'
  crowbar kill killed
  rc=0
  wait "$BG_PID" || rc=$?
  [ "$rc" -eq 137 ]
}

@test "-i passes our stdin to the command, and its end" {
  run bash -c 'printf "one\ntwo\n" | crowbar run -i busybox sh -c "cat; echo eof"'
  [ "$status" -eq 0 ]
  [ "$output" = $'one\ntwo\neof' ]
  # Without -i the command's stdin is empty.
  run bash -c 'echo lost | crowbar run busybox sh -c "cat; echo eof"'
  [ "$output" = eof ]
}

@test "the test helper's load generators run (write-files, sysloop)" {
  run crowbar run busybox sh -c 'cbtest write-files /data 50 && ls /data | wc -l && cat /data/file-50 && cbtest sysloop 100000'
  [ "$status" -eq 0 ]
  [ "$output" = $'50\nfile 50' ]
}
