#!/usr/bin/env bats
# The life of a container: the seed workflow (run -d, ps, logs, stop, kill), create,
# start, stop, restart, kill, wait and rm, with Docker's status strings and messages.

load helpers

setup_file() {
  require_cbtest
  crowbar_setup_root
  import_busybox
}
teardown() { crowbar_remove_all; }
teardown_file() { crowbar_teardown_root; }

# True when file $1 has at least $2 lines.
file_has_lines() { [ "$(wc -l <"$1")" -ge "$2" ]; }

# The `ps` line of a container (by its short ID).
ps_line() { crowbar ps "${@:2}" | grep "^${1:0:12} "; }

@test "seed workflow: run -d, ps shows it Up, ps -q prints the short ID" {
  id=$(crowbar run -d --name seed busybox cbtest random)
  [[ "$id" =~ ^[0-9a-f]{64}$ ]]
  run crowbar ps
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" =~ ^CONTAINER\ ID\ +IMAGE\ +COMMAND\ +CREATED\ +STATUS\ +PORTS\ +NAMES$ ]]
  [ "${#lines[@]}" -eq 2 ]
  [[ "${lines[1]}" =~ ^${id:0:12}\ +busybox\ +\"cbtest\ random\"\ +.*\ +Up\ (Less\ than\ a\ second|[0-9]+\ seconds?)\ +seed$ ]]
  run crowbar ps -q
  [ "$output" = "${id:0:12}" ]
  run crowbar ps -q --no-trunc
  [ "$output" = "$id" ]
  [ "$(ctr_status seed)" = running ]
}

@test "seed workflow: logs --tail 5 prints at most 5 numbers" {
  crowbar run -d --name seed busybox cbtest random
  wait_logs seed '^[0-9]+$'
  run crowbar logs --tail 5 seed
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -ge 1 ] && [ "${#lines[@]}" -le 5 ]
  for l in "${lines[@]}"; do [[ "$l" =~ ^[0-9]+$ ]]; done
}

@test "logs --tail N prints the last N lines" {
  crowbar run --name tail busybox seq 1 20
  run crowbar logs --tail 5 tail
  [ "$output" = "$(seq 16 20)" ]
  run crowbar logs --tail all tail
  [ "$output" = "$(seq 1 20)" ]
  run crowbar logs --tail 0 tail
  [ -z "$output" ]
}

@test "seed workflow: logs -f streams new lines as they come" {
  crowbar run -d --name seed busybox cbtest random
  wait_logs seed '^[0-9]+$'
  out=$BATS_TEST_TMPDIR/follow
  bg_start "$out" crowbar logs -f seed
  n=$(crowbar logs seed | wc -l)
  # Two lines more than there were when it started: they came through the stream.
  wait_until 40 file_has_lines "$out" $((n + 2))
  kill -0 "$BG_PID" # still following
  kill "$BG_PID"
  run grep -vE '^[0-9]+$' "$out"
  [ -z "$output" ]
}

@test "logs -f returns when the container exits" {
  crowbar run -d --name short busybox sh -c 'echo one; sleep 0.5; echo two'
  run timeout 5 crowbar logs -f short
  [ "$status" -eq 0 ]
  [ "$output" = $'one\ntwo' ]
}

@test "seed workflow: stop waits the full grace period when PID 1 ignores TERM, then Exited (137)" {
  id=$(crowbar run -d --name seed busybox cbtest ignore-term)
  wait_logs seed '^ready$'
  t0=$(now_ms)
  run crowbar stop -t 2 seed
  t1=$(now_ms)
  [ "$status" -eq 0 ]
  [ "$output" = seed ]
  echo "stop took $((t1 - t0)) ms"
  [ $((t1 - t0)) -ge 2000 ]
  [ $((t1 - t0)) -lt 8000 ] # -t 2 was honoured, not the default 10 s
  [ "$(crowbar inspect -f '{{.State.Status}} {{.State.ExitCode}}' seed)" = "exited 137" ]
  # ps no longer lists it; ps -a does, with Docker's status string.
  [ -z "$(crowbar ps -q)" ]
  run ps_line "$id" -a
  [[ "$output" =~ \ Exited\ \(137\)\ (Less\ than\ a\ second|[0-9]+\ seconds?)\ ago\ +seed$ ]]
}

@test "stop: PID 1 that dies of TERM stops at once" {
  crowbar run -d --name sh busybox sh -c 'trap "exit 0" TERM; while :; do sleep 0.1; done'
  t0=$(now_ms)
  crowbar stop -t 10 sh
  t1=$(now_ms)
  [ $((t1 - t0)) -lt 3000 ]
  [ "$(crowbar inspect -f '{{.State.ExitCode}}' sh)" = 0 ]
}

@test "--stop-timeout and --stop-signal are the container's defaults for stop" {
  crowbar run -d --name st --stop-timeout 1 busybox cbtest ignore-term
  wait_logs st '^ready$'
  t0=$(now_ms)
  crowbar stop st
  t1=$(now_ms)
  [ $((t1 - t0)) -ge 1000 ] && [ $((t1 - t0)) -lt 5000 ]
  [ "$(crowbar inspect -f '{{.Config.StopTimeout}}' st)" = 1 ]
  crowbar run -d --name ss --stop-signal KILL busybox cbtest ignore-term
  wait_logs ss '^ready$'
  t0=$(now_ms)
  crowbar stop ss
  t1=$(now_ms)
  [ $((t1 - t0)) -lt 3000 ]
  [ "$(crowbar inspect -f '{{.State.ExitCode}}' ss)" = 137 ]
}

@test "seed workflow: kill sends SIGKILL by default; ps -a shows the exit" {
  id=$(crowbar run -d --name seed busybox cbtest random)
  run crowbar kill seed
  [ "$status" -eq 0 ]
  [ "$output" = seed ]
  wait_status seed exited
  [ "$(crowbar inspect -f '{{.State.ExitCode}} {{.State.Running}}' seed)" = "137 false" ]
  run ps_line "$id" -a
  [[ "$output" == *" Exited (137) "*" ago "* ]]
}

@test "kill -s: TERM to a PID 1 that ignores it does nothing; KILL ends it" {
  crowbar run -d --name kt busybox cbtest ignore-term
  wait_logs kt '^ready$'
  crowbar kill -s TERM kt
  crowbar kill -s SIGTERM kt
  crowbar kill -s 15 kt
  sleep 0.3
  [ "$(ctr_status kt)" = running ]
  crowbar kill -s KILL kt
  wait_status kt exited
}

@test "kill -s USR1 reaches a handler in the container" {
  crowbar run -d --name usr1 busybox sh -c 'trap "echo got-usr1; exit 7" USR1; echo ready; while :; do sleep 0.1; done'
  wait_logs usr1 '^ready$'
  crowbar kill -s USR1 usr1
  wait_status usr1 exited
  [ "$(crowbar inspect -f '{{.State.ExitCode}}' usr1)" = 7 ]
  logs_match usr1 '^got-usr1$'
}

@test "kill of a stopped container fails with Docker's message" {
  crowbar run --name stopped busybox true
  run -1 crowbar kill stopped
  [[ "$output" == *"Error:"*"is not running"* ]]
  run -1 crowbar kill -s NOSUCHSIG stopped
}

@test "create makes a Created container; start runs it" {
  run crowbar create --name c1 busybox sleep 100
  [ "$status" -eq 0 ]
  id=$output
  [[ "$id" =~ ^[0-9a-f]{64}$ ]]
  [ "$(ctr_status c1)" = created ]
  run ps_line "$id" -a
  [[ "$output" =~ \ Created\ +c1$ ]]
  [ -z "$(crowbar ps -q)" ]
  run crowbar start c1
  [ "$status" -eq 0 ]
  [ "$output" = c1 ]
  [ "$(ctr_status c1)" = running ]
  [ "$(crowbar ps -q)" = "${id:0:12}" ]
}

@test "start -a attaches and returns the container's exit code" {
  crowbar create --name sa busybox sh -c 'echo hello; exit 3'
  run -3 crowbar start -a sa
  [ "$output" = hello ]
}

@test "start of a running container is a no-op that succeeds" {
  crowbar run -d --name rr busybox sleep 100
  pid=$(ctr_pid rr)
  run -0 crowbar start rr
  [ "$(ctr_pid rr)" = "$pid" ]
}

@test "run -d, stop, start: a new process, the same container" {
  id=$(crowbar run -d --name cycle busybox sleep 100)
  pid1=$(ctr_pid cycle)
  started1=$(crowbar inspect -f '{{.State.StartedAt}}' cycle)
  run -0 crowbar stop -t 0 cycle
  [ "$output" = cycle ]
  [ "$(crowbar inspect -f '{{.State.Status}} {{.State.Pid}}' cycle)" = "exited 0" ]
  [ ! -e "/proc/$pid1" ] || [ "$(awk '{print $3}' /proc/$pid1/stat)" = Z ]
  crowbar start cycle
  pid2=$(ctr_pid cycle)
  [ "$pid2" -gt 0 ] && [ "$pid2" != "$pid1" ]
  [ "$(ctr_id cycle)" = "$id" ]
  [ "$(crowbar inspect -f '{{.State.StartedAt}}' cycle)" != "$started1" ]
}

@test "start keeps the previous FinishedAt until the next exit, as Docker does" {
  crowbar run -d --name fin busybox sleep 100
  [ "$(crowbar inspect -f '{{.State.FinishedAt}}' fin)" = "0001-01-01T00:00:00Z" ]
  crowbar stop -t 0 fin
  finished=$(crowbar inspect -f '{{.State.FinishedAt}}' fin)
  [ "$finished" != "0001-01-01T00:00:00Z" ]
  crowbar start fin
  [ "$(crowbar inspect -f '{{.State.Status}} {{.State.FinishedAt}}' fin)" = "running $finished" ]
}

@test "restart: stops and starts again, printing the argument" {
  crowbar run -d --name rs busybox sleep 100
  pid1=$(ctr_pid rs)
  run crowbar restart -t 0 rs
  [ "$status" -eq 0 ]
  [ "$output" = rs ]
  [ "$(ctr_status rs)" = running ]
  pid2=$(ctr_pid rs)
  [ "$pid2" -gt 0 ] && [ "$pid2" != "$pid1" ]
}

@test "restart of a stopped container starts it" {
  run -4 crowbar run --name rs2 busybox sh -c 'exit 4'
  crowbar restart rs2
  wait_status rs2 exited # the command exits at once again
  [ "$(crowbar inspect -f '{{.State.ExitCode}}' rs2)" = 4 ]
}

@test "stop of a stopped container succeeds" {
  crowbar run --name done busybox true
  run -0 crowbar stop done
  [ "$output" = done ]
}

@test "wait prints the exit code" {
  crowbar run -d --name ww busybox sh -c 'sleep 0.3; exit 7'
  run crowbar wait ww
  [ "$status" -eq 0 ]
  [ "$output" = 7 ]
  # And at once for a container that has exited.
  run crowbar wait ww
  [ "$output" = 7 ]
}

@test "rm refuses a running container; rm -f kills and removes it" {
  id=$(crowbar run -d --name busy busybox sleep 100)
  pid=$(ctr_pid busy)
  run -1 crowbar rm busy
  [[ "$output" == *'Error:'*'cannot remove container "/busy": container is running'* ]]
  [ "$(ctr_status busy)" = running ]
  run -0 crowbar rm -f busy
  [ "$output" = busy ]
  run -1 crowbar inspect busy
  [ ! -e "$CROWBAR_ROOT/containers/$id" ]
  # The process, its shim, its runtime folder and its cgroups are gone.
  ! pgrep -f "crowbar-shim .*$id" >/dev/null
  [ ! -e "/proc/$pid" ] || [ "$(awk '{print $3}' /proc/$pid/stat)" = Z ]
  [ ! -e "$CROWBAR_RUNROOT/$id" ]
  [ -z "$(find /sys/fs/cgroup -maxdepth 3 -name "$id" 2>/dev/null)" ]
}

@test "rm of a stopped container frees its name" {
  crowbar run --name again busybox true
  crowbar rm again
  run -0 crowbar run --name again busybox true
}

@test "a container is found by name, full ID and unique ID prefix" {
  id=$(crowbar run -d --name byname busybox sleep 100)
  [ "$(ctr_status byname)" = running ]
  [ "$(ctr_status "$id")" = running ]
  [ "$(ctr_status "${id:0:5}")" = running ]
  [ "$(ctr_status /byname)" = running ]
}

@test "verbs on an unknown container: Error: No such container, exit 1" {
  for verb in start stop restart kill rm wait; do
    run -1 crowbar $verb nosuchctr
    [ "$output" = "Error: No such container: nosuchctr" ]
  done
}

@test "rm -f of a missing container reports it on stderr but succeeds, as Docker's" {
  crowbar run --name present busybox true
  run -0 --separate-stderr crowbar rm -f nosuchctr present
  [ "$stderr" = "Error: No such container: nosuchctr" ]
  [ "$output" = present ]
  run -1 crowbar rm nosuchctr
}

@test "verbs on several containers act on each and report each" {
  crowbar run -d --name m1 busybox sleep 100
  crowbar run -d --name m2 busybox sleep 100
  run -1 crowbar stop -t 0 m1 nosuch m2
  [ "${lines[0]}" = m1 ]
  [ "${lines[1]}" = "Error: No such container: nosuch" ]
  [ "${lines[2]}" = m2 ]
  [ "$(ctr_status m1)" = exited ] && [ "$(ctr_status m2)" = exited ]
  run -0 crowbar rm m1 m2
  [ -z "$(crowbar ps -aq)" ]
}

@test "a pause that times out names the container, and leaves it running" {
  id=$(crowbar run -d --name stuck busybox sleep 100)
  # The freezer's state file reads nothing: the freeze never shows as done.
  f=/sys/fs/cgroup/freezer/crowbar/$id/freezer.state
  [ -e "$f" ] || f=/sys/fs/cgroup/crowbar/$id/cgroup.events
  mount --bind /dev/null "$f"
  run crowbar pause stuck
  umount "$f"
  echo "$output"
  [ "$status" -eq 1 ]
  [ "$output" = "Error: Cannot pause container stuck (${id:0:12}): timed out waiting for the cgroup to freeze" ]
  [ "$(ctr_status stuck)" = running ]
  run -0 crowbar pause stuck
  run -0 crowbar unpause stuck
}

@test "rm -f racing restart removes the container (no restart slips in between)" {
  local round pid rc
  for round in 1 2 3 4 5; do
    crowbar run -d --name rr busybox sleep 100 >/dev/null
    (for i in $(seq 30); do crowbar restart -t 0 rr >/dev/null 2>&1 || true; done) 3>&- &
    pid=$!
    sleep 0.$((RANDOM % 5))
    rc=0
    run crowbar rm -f rr
    echo "round $round: $status $output"
    [ "$status" -eq 0 ]
    [ "$output" = rr ]
    wait "$pid" || true
    ! ctr_exists rr
  done
}
