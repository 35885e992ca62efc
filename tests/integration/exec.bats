#!/usr/bin/env bats
# exec: a new process inside a running container, as the container sees the world.

load helpers

setup_file() {
  crowbar_setup_root
  import_busybox
  export CTR
  CTR=$(crowbar run -d -e FROM_RUN=yes -w /tmp --name ex -h exhost busybox sleep 1000)
}

teardown_file() { crowbar_teardown_root; }

@test "exec sees the container's hostname, environment and working folder" {
  run crowbar exec ex sh -c 'echo "$(hostname) $FROM_RUN $HOSTNAME $(pwd)"'
  [ "$status" -eq 0 ]
  [ "$output" = "exhost yes exhost /tmp" ]
}

@test "exec is in the container's PID namespace: PID 1 is the container's command" {
  run crowbar exec ex ps -o pid,args
  [ "$status" -eq 0 ]
  echo "$output" | grep -qE '^ +1 sleep 1000$'
  # Nothing of the host: the listing is short.
  [ "$(echo "$output" | wc -l)" -le 4 ]
}

@test "exec sees the container's mounts, not the host's" {
  run crowbar exec ex cat /proc/mounts
  [ "$status" -eq 0 ]
  echo "$output" | grep -q '^overlay / overlay'
  ! echo "$output" | grep -q "$CROWBAR_ROOT/run"
}

@test "exec joins the container's cgroup" {
  pid1=$(crowbar inspect -f '{{.State.Pid}}' ex)
  want=$(grep memory /proc/$pid1/cgroup)
  run crowbar exec ex sh -c 'grep memory /proc/self/cgroup'
  [ "$status" -eq 0 ]
  # Inside, the cgroup namespace shows the container's cgroup as its root.
  [ "$output" = "${want%%:*}:memory:/" ]
}

@test "exec -e, -w, -u" {
  run crowbar exec -e A=1 -e FROM_RUN=over -w /etc -u app ex sh -c 'echo "$A $FROM_RUN $(pwd) $(id -un)"'
  [ "$status" -eq 0 ]
  [ "$output" = "1 over /etc app" ]
}

@test "exec has the container's capabilities, not ours" {
  run crowbar exec ex grep CapBnd /proc/self/status
  [ "$status" -eq 0 ]
  [[ "$output" == *00000000a80425fb ]]
}

@test "exec exit codes: the command's, 126, 127, and 1 for a missing container (Docker's)" {
  run crowbar exec ex sh -c 'exit 7'
  [ "$status" -eq 7 ]
  run crowbar exec ex /etc/passwd
  [ "$status" -eq 126 ]
  [[ "$output" == *"permission denied"* ]]
  run crowbar exec ex nope
  [ "$status" -eq 127 ]
  [[ "$output" == *'exec: "nope": executable file not found in $PATH'* ]]
  run crowbar exec missing-container true
  [ "$status" -eq 1 ]
  [[ "$output" == "Error: No such container: missing-container" ]]
}

@test "exec -i passes stdin through and closes it at EOF" {
  run sh -c 'printf "a\nb\n" | crowbar exec -i ex wc -l'
  [ "$status" -eq 0 ]
  [ "$output" = "2" ]
  # Without -i the command reads nothing.
  run sh -c 'echo x | crowbar exec ex cat'
  [ "$output" = "" ]
}

@test "exec -d leaves the process running inside, and it dies with the container" {
  id=$(crowbar run -d busybox sleep 1000)
  run crowbar exec -d "$id" sleep 777
  [ "$status" -eq 0 ]
  [ -z "$output" ]
  wait_until 30 sh -c "crowbar exec $id ps -o args | grep -q 'sleep 777'"
  host_pid=$(pgrep -f 'sleep 777')
  [ -n "$host_pid" ]
  crowbar rm -f "$id"
  ! kill -0 "$host_pid" 2>/dev/null
}

@test "exec refuses a stopped and a paused container with 1, as Docker" {
  id=$(crowbar create busybox true)
  run crowbar exec "$id" true
  [ "$status" -eq 1 ]
  [[ "$output" == "Error: Container $id is not running" ]]
  crowbar pause ex
  run crowbar exec ex true
  crowbar unpause ex
  [ "$status" -eq 1 ]
  [[ "$output" == *"is paused, unpause the container before exec"* ]]
}

@test "exec -t without a terminal on stdin is refused" {
  run crowbar exec -ti ex true </dev/null
  [ "$status" -ne 0 ]
  [[ "$output" == "Error: the input device is not a TTY" ]]
}

@test "exec without -t: stdout and stderr stay apart, and output comes until every holder closes them" {
  run --separate-stderr crowbar exec ex sh -c 'echo out; echo err >&2; (sleep 0.3; echo late) & exit 3'
  [ "$status" -eq 3 ]
  [ "$output" = $'out\nlate' ]
  [ "$stderr" = err ]
}

@test "exec: our stdout closed ends the command by SIGPIPE, as in a pipeline" {
  run bash -c 'set -o pipefail; timeout 20 crowbar exec ex yes | head -1'
  [ "$status" -eq 141 ]
  [ "$output" = y ]
  # Its stdin too: the command stops reading ours when it closes its own.
  run bash -c 'yes | timeout 20 crowbar exec -i ex head -c 4'
  [ "$status" -eq 0 ]
  [ "$output" = $'y\ny' ]
}

@test "exec: a stdout of ours left non-blocking by its owner loses nothing" {
  run bash -c "python3 -c 'import fcntl, os, sys
fcntl.fcntl(1, fcntl.F_SETFL, fcntl.fcntl(1, fcntl.F_GETFL) | os.O_NONBLOCK)
os.execvp(\"crowbar\", sys.argv[1:])' crowbar exec ex head -c 3000000 /dev/zero | (sleep 0.5; wc -c)"
  [ "$status" -eq 0 ]
  [ "$output" = 3000000 ]
}

@test "exec: SIGTERM reaches the command, SIGINT its process group" {
  out="$BATS_TEST_TMPDIR/out"
  bg_start "$out" crowbar exec ex sh -c 'trap "echo got TERM; exit 7" TERM; echo ready; while :; do sleep 0.1; done'
  wait_until 100 grep -q ready "$out"
  kill -TERM "$BG_PID"
  status=0
  wait "$BG_PID" || status=$?
  [ "$status" -eq 7 ]
  grep -q "got TERM" "$out"
  out="$BATS_TEST_TMPDIR/out2"
  bg_start "$out" crowbar exec ex sh -c 'echo ready; sleep 1234; echo after'
  wait_until 100 grep -q ready "$out"
  kill -INT "$BG_PID"
  status=0
  wait "$BG_PID" || status=$?
  [ "$status" -eq 130 ]
  ! grep -q after "$out"
  # The sleep got it too: nothing is left behind.
  ! crowbar exec ex ps -o args | grep -q 'sleep 1234'
}
