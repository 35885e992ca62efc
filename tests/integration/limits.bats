#!/usr/bin/env bats
# Resource limits (-m, --pids-limit) and the tiny init (--init): OOM kills, fork limits,
# zombies reaped, signals forwarded.

load helpers

setup_file() {
  require_cbtest
  crowbar_setup_root
  import_busybox
}
teardown() { crowbar_remove_all; }
teardown_file() { crowbar_teardown_root; }

# The container's cgroup file $2 (v1 controller folder or v2 unified), on the host.
cgroup_file() {
  local id
  id=$(ctr_id "$1")
  find /sys/fs/cgroup -maxdepth 4 -path "*/crowbar/$id/$2" 2>/dev/null | head -1
}

# The number of zombie children of host PID $1.
zombies_of() { children_of "$1" | awk '$2 ~ /^Z/' | wc -l; }
no_zombies() { [ "$(zombies_of "$1")" -eq 0 ]; }

@test "-m 16m: a memory hog is OOM-killed, exit 137, State.OOMKilled true" {
  run -137 crowbar run --name hog -m 16m busybox cbtest memhog
  [ "$(crowbar inspect -f '{{.State.OOMKilled}} {{.State.ExitCode}} {{.State.Status}}' hog)" = "true 137 exited" ]
  [ "$(crowbar inspect -f '{{.HostConfig.Memory}}' hog)" = 16777216 ]
}

@test "-m sets the cgroup's limit while the container runs" {
  crowbar run -d --name lim -m 32m busybox sleep 100
  f=$(cgroup_file lim memory.limit_in_bytes)
  [ -n "$f" ] || f=$(cgroup_file lim memory.max)
  [ -n "$f" ]
  [ "$(cat "$f")" = 33554432 ]
}

@test "a container killed without OOM has OOMKilled false" {
  crowbar run -d --name nooom -m 32m busybox sleep 100
  crowbar kill nooom
  wait_status nooom exited
  [ "$(crowbar inspect -f '{{.State.OOMKilled}} {{.State.ExitCode}}' nooom)" = "false 137" ]
}

@test "-m below Docker's minimum (6MB) is refused with 125" {
  run -125 crowbar run -m 1m busybox true
  [[ "$output" == *"Minimum memory limit allowed is 6MB"* ]]
}

@test "--pids-limit: forks beyond the limit fail" {
  script='for i in 1 2 3 4 5 6 7 8 9 10; do sleep 2 & done; echo started'
  run crowbar run --name pl --pids-limit 5 busybox sh -c "$script"
  [ "$status" -ne 0 ]
  [[ "$output" == *"can't fork"* ]]
  [[ "$output" != *started* ]]
  [ "$(crowbar inspect -f '{{.HostConfig.PidsLimit}}' pl)" = 5 ]
  # The same without the limit works.
  run crowbar run busybox sh -c "$script"
  [ "$status" -eq 0 ]
  [ "$output" = started ]
}

@test "without --init, orphaned zombies stay under PID 1 (the control case)" {
  crowbar run -d --name noinit busybox cbtest zombies 5
  wait_logs noinit '^ready$'
  pid=$(ctr_pid noinit)
  [ "$(zombies_of "$pid")" -eq 5 ]
}

@test "--init reaps zombies: no Z left under PID 1 after cbtest zombies 5" {
  crowbar run -d --name withinit --init busybox cbtest zombies 5
  wait_logs withinit '^ready$'
  pid=$(ctr_pid withinit)
  [ "$(cat /proc/$pid/comm)" = crowbar-init ]
  children_of "$pid"
  # cbtest itself (the init's child) stays; every zombie is reaped.
  wait_until 20 no_zombies "$pid"
  [ "$(children_of "$pid" | wc -l)" -eq 1 ]
}

@test "--init forwards TERM: stop is fast and the exit code is 143" {
  crowbar run -d --name term --init busybox sleep 100
  t0=$(now_ms)
  run -0 crowbar stop -t 10 term
  t1=$(now_ms)
  echo "stop took $((t1 - t0)) ms"
  [ $((t1 - t0)) -lt 3000 ]
  [ "$(crowbar inspect -f '{{.State.ExitCode}}' term)" = 143 ]
}

@test "--init: PID 1 is the init, the command its child; exit codes pass through" {
  run crowbar run --init busybox sh -c 'cat /proc/1/comm; echo $PPID; [ ! -e /sbin/crowbar-init ] && echo not-copied'
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = crowbar-init ]
  [ "${lines[1]}" = 1 ]
  [ "${lines[2]}" = not-copied ]
  run -5 crowbar run --init busybox cbtest exit 5
  run -139 crowbar run --init busybox cbtest crash segv
  run -127 crowbar run --init busybox nosuchcommand
}

@test "--init forwards other signals too (kill -s USR1)" {
  crowbar run -d --name fwd --init busybox sh -c 'trap "echo got-usr1; exit 9" USR1; echo ready; while :; do sleep 0.1; done'
  wait_logs fwd '^ready$'
  crowbar kill -s USR1 fwd
  wait_status fwd exited
  [ "$(crowbar inspect -f '{{.State.ExitCode}}' fwd)" = 9 ]
}
