#!/usr/bin/env bats
# crowbar top: docker top's form (ps filtered to the container's PIDs), the batch
# snapshots (host PID and container PID side by side, each container's totals against
# its limits, JSON), and the live view driven through tmux as a person would.

load helpers

setup_file() {
  crowbar_setup_root
  import_busybox
  crowbar run -d --name t1 -m 64m --pids-limit 20 busybox \
    sh -c 'sleep 1001 & sleep 1002 & wait' >/dev/null
  crowbar run -d --name t2 -u app busybox sleep 2002 >/dev/null
  # Both sleeps of t1 started.
  wait_until 50 eval '[ "$(cat /sys/fs/cgroup/memory/crowbar/$(ctr_id t1)/cgroup.procs \
    /sys/fs/cgroup/crowbar/$(ctr_id t1)/cgroup.procs 2>/dev/null | wc -l)" -ge 3 ]'
}

teardown_file() { crowbar_teardown_root; }

teardown() {
  [ -n "${TMUX_SOCK:-}" ] && tmux -L "$TMUX_SOCK" kill-server 2>/dev/null || true
  for c in t3 t4 tp ts; do crowbar rm -f "$c" >/dev/null 2>&1 || true; done
}

# The container's processes as its cgroup lists them, one per line, sorted.
cgroup_pids() {
  local id f
  id=$(ctr_id "$1")
  for f in /sys/fs/cgroup/memory/crowbar/$id/cgroup.procs /sys/fs/cgroup/crowbar/$id/cgroup.procs; do
    [ -e "$f" ] && { sort -n "$f"; return; }
  done
}

# The host PID of the container process whose command line is exactly $2.
pid_of() {
  local p
  for p in $(cgroup_pids "$1"); do
    [ "$(tr '\0' ' ' </proc/$p/cmdline)" = "$2 " ] && { echo "$p"; return; }
  done
}

@test "top CTR: docker top's columns, the host PIDs inspect reports, no other container's process" {
  run crowbar top t1
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" =~ ^UID\ +PID\ +PPID\ +C\ +STIME\ +TTY\ +TIME\ +CMD$ ]]
  # Exactly the cgroup's processes, in PID order, PID 1 being inspect's.
  pids=$(printf '%s\n' "${lines[@]:1}" | awk '{print $2}')
  [ "$pids" = "$(cgroup_pids t1)" ]
  pid1=$(ctr_pid t1)
  [ "$(printf '%s\n' "${lines[@]:1}" | awk -v p="$pid1" '$2 == p {print $8, $9, $10}')" = \
    "sh -c sleep" ]
  [[ "$output" == *"sleep 1001"* ]]
  [[ "$output" == *"sleep 1002"* ]]
  [[ "$output" != *"sleep 2002"* ]]
  [[ "$output" != *" $(ctr_pid t2) "* ]]
  # A row is ps -ef's row for that PID (the same UID, PPID, C, STIME, TTY, TIME, CMD).
  s1=$(pid_of t1 "sleep 1001")
  want=$(ps -ef | awk -v p="$s1" '$2 == p' | tr -s ' ')
  got=$(printf '%s\n' "${lines[@]}" | awk -v p="$s1" '$2 == p' | tr -s ' ')
  [ -n "$want" ] && [ "$got" = "$want" ]
  # Docker's table: columns at least 20 wide, 3 blanks apart.
  [[ "${lines[0]}" =~ ^UID\ {17}PID\ {17}PPID ]]
}

@test "top CTR -o pid,comm and other ps options are honoured" {
  run crowbar top t1 -o pid,comm
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" =~ ^PID\ +COMMAND$ ]]
  [ "${#lines[@]}" -eq 4 ]
  s1=$(pid_of t1 "sleep 1001")
  printf '%s\n' "${lines[@]}" | grep -qE "^$s1 +sleep$"
  # The PID column comes first even when not asked for (Docker's -opid), then goes.
  run crowbar top t1 -o comm
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "COMMAND" ]
  [ "${#lines[@]}" -eq 4 ]
  # BSD options: aux.
  run crowbar top t2 aux
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" =~ ^USER\ +PID\ +%CPU\ +%MEM ]]
  [ "${#lines[@]}" -eq 2 ]
  [[ "${lines[1]}" == *"sleep 2002" ]]
  # A column renamed PID is refused, as Docker does.
  run crowbar top t1 -o user=PID
  [ "$status" -eq 1 ]
  [ "$output" = 'Error: specifying "user=PID" is not allowed' ]
  # ps's own complaint.
  run crowbar top t1 --no-such-option
  [ "$status" -eq 1 ]
  [[ "$output" == "Error: ps: "* ]]
}

@test "top CTR: paused works, stopped and missing containers get Docker's errors" {
  crowbar run -d --name tp busybox sleep 3003 >/dev/null
  crowbar pause tp
  run crowbar top tp
  [ "$status" -eq 0 ]
  [[ "$output" == *"sleep 3003"* ]]
  crowbar unpause tp
  crowbar stop -t 0 tp >/dev/null
  id=$(ctr_id tp)
  run crowbar top tp
  [ "$status" -eq 1 ]
  [ "$output" = "Error: Container $id is not running" ]
  run crowbar top -b -n 1 tp
  [ "$status" -eq 1 ]
  [ "$output" = "Error: Container $id is not running" ]
  run crowbar top nope
  [ "$status" -eq 1 ]
  [ "$output" = "Error: No such container: nope" ]
}

@test "top -b -n 1: host PID and CPID side by side, each container headed by its totals" {
  run crowbar top -b -n 1
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" == "crowbar top - "*"load average: "* ]]
  printf '%s\n' "${lines[@]}" | grep -qE '^CONTAINER +PID +CPID +USER +S +%CPU +RSS +THR +TIME +COMMAND$'
  id1=$(ctr_id t1)
  id2=$(ctr_id t2)
  # Totals against the limits (t1 has them, t2 none).
  printf '%s\n' "${lines[@]}" |
    grep -qE "^t1 \(${id1:0:12}\): CPU [0-9.]+%, MEM [0-9.]+[KMG]?i?B / 64MiB, PIDS 3 / 20$"
  printf '%s\n' "${lines[@]}" |
    grep -qE "^t2 \(${id2:0:12}\): CPU [0-9.]+%, MEM [0-9.]+[KMG]?i?B / unlimited, PIDS 1 / unlimited$"
  # PID 1 is CPID 1; the sleeps are 2 and 3 in the container.
  pid1=$(ctr_pid t1)
  printf '%s\n' "${lines[@]}" | grep -qE "^t1 +$pid1 +1 +root +[RSD] .* sh -c sleep 1001 & sleep 1002 & wait$"
  s1=$(pid_of t1 "sleep 1001")
  s2=$(pid_of t1 "sleep 1002")
  printf '%s\n' "${lines[@]}" | grep -qE "^t1 +$s1 +[23] +root +S .* sleep 1001$"
  printf '%s\n' "${lines[@]}" | grep -qE "^t1 +$s2 +[23] +root +S .* sleep 1002$"
  # The user as the container names it: uid 1000 is "app" in its /etc/passwd.
  printf '%s\n' "${lines[@]}" | grep -qE "^t2 +$(ctr_pid t2) +1 +app +S .* sleep 2002$"
  # Exactly the containers' processes.
  [ "$(printf '%s\n' "${lines[@]}" | grep -cE '^t[12] +[0-9]+ ')" -eq 4 ]
}

@test "top -b: named containers only, several snapshots, trees, sort keys" {
  run crowbar top -b -n 1 t2
  [ "$status" -eq 0 ]
  [[ "$output" == *"sleep 2002"* ]]
  [[ "$output" != *"sleep 1001"* ]]
  [[ "$output" != *"t1 ("* ]]
  run crowbar top -b -n 2 -d 0.2 t1
  [ "$status" -eq 0 ]
  [ "$(printf '%s\n' "${lines[@]}" | grep -c '^crowbar top - ')" -eq 2 ]
  run crowbar top -b -n 1 --tree -s pid t1
  [ "$status" -eq 0 ]
  printf '%s\n' "${lines[@]}" | grep -qE '^t1 .* \\_ sleep 1001$'
  # By PID: the rows of t1 in increasing order.
  run crowbar top -b -n 1 -s pid t1
  got=$(printf '%s\n' "${lines[@]}" | awk '$1 == "t1" && $2 ~ /^[0-9]+$/ {print $2}')
  [ "$got" = "$(cgroup_pids t1)" ]
  run crowbar top -b -s nope
  [ "$status" -eq 1 ]
  [[ "$output" == "Error: unknown sort key: nope"* ]]
}

@test "top --format json: one object per snapshot, PIDs, CPIDs, limits" {
  run crowbar top --format json -n 1
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 1 ]
  pid1=$(ctr_pid t1)
  echo "$output" | python3 -c '
import json, sys
pid1 = int(sys.argv[1])
s = json.load(sys.stdin)
c = {x["Name"]: x for x in s["Containers"]}
t1, t2 = c["t1"], c["t2"]
assert t1["MemoryLimit"] == 64 * 1024 * 1024, t1
assert t1["PidsLimit"] == 20 and t1["Pids"] == 3, t1
assert t2["MemoryLimit"] == 0 and t2["PidsLimit"] == 0, t2
p = {x["PID"]: x for x in t1["Processes"]}
assert p[pid1]["CPID"] == 1 and p[pid1]["User"] == "root", p[pid1]
assert sorted(x["CPID"] for x in t1["Processes"]) == [1, 2, 3]
assert [x["User"] for x in t2["Processes"]] == ["app"]
assert [x["UID"] for x in t2["Processes"]] == [1000]
assert all(x["Command"].startswith(("sh -c", "sleep")) for x in t1["Processes"])
' "$pid1"
  run crowbar top --format table
  [ "$status" -eq 1 ]
}

@test "top -b shows this root's containers only, not another root's" {
  other=$(mktemp -d /tmp/crowbar-test-other.XXXXXX)
  (
    export CROWBAR_ROOT=$other CROWBAR_RUNROOT=$other/run
    mkdir -p "$CROWBAR_RUNROOT"
    crowbar import "$FIXTURES/busybox.tar" busybox >/dev/null
    crowbar run -d --name foreign busybox sleep 4004 >/dev/null
  )
  run crowbar top -b -n 1
  (
    export CROWBAR_ROOT=$other CROWBAR_RUNROOT=$other/run
    crowbar rm -f foreign >/dev/null
  )
  rm -rf "$other"
  [ "$status" -eq 0 ]
  [[ "$output" == *"sleep 2002"* ]]
  [[ "$output" != *"sleep 4004"* ]]
  [[ "$output" != *"foreign"* ]]
}

@test "top -b: a container's /etc/passwd that is a FIFO or a device is not opened" {
  crowbar run -d --name t4 busybox sh -c \
    'rm /etc/passwd /etc/group && mkfifo /etc/passwd && mknod /etc/group c 1 3 && sleep 5005' >/dev/null
  wait_until 50 eval 'crowbar top t4 | grep -q "sleep 5005"'
  run timeout 20 crowbar top -b -n 1 t4
  [ "$status" -eq 0 ]
  printf '%s\n' "${lines[@]}" | grep -qE "^t4 +$(ctr_pid t4) +1 +0 +S .* sleep 5005$"
  # A regular passwd again: its names come back.
  # (through enter: exec itself would read the FIFO to find the user)
  crowbar enter t4 sh -c 'rm /etc/passwd && echo "boss:x:0:0::/:/bin/sh" >/etc/passwd'
  run timeout 20 crowbar top -b -n 1 t4
  [ "$status" -eq 0 ]
  printf '%s\n' "${lines[@]}" | grep -qE "^t4 +$(ctr_pid t4) +1 +boss +S .* sleep 5005$"
}

# ---- the live view, through tmux ----

start_tmux() { # cols rows
  command -v tmux >/dev/null || skip "tmux is not installed"
  TMUX_SOCK="crowbar-top-$$-$BATS_TEST_NUMBER"
  tmux -L "$TMUX_SOCK" new-session -d -s t -x "${1:-120}" -y "${2:-40}" \
    "env -i TERM=xterm PATH=$PATH CROWBAR_ROOT=$CROWBAR_ROOT CROWBAR_RUNROOT=$CROWBAR_RUNROOT PS1='host$ ' bash --norc --noprofile"
  wait_until 30 screen_has 'host\$'
}
keys() { tmux -L "$TMUX_SOCK" send-keys -t t "$@"; }
screen() { tmux -L "$TMUX_SOCK" capture-pane -t t -p; }
screen_has() { screen | grep -qE -- "$1"; }
screen_hasnt() { ! screen | grep -qE -- "$1"; }

# After top is gone: the shell's prompt back, and a terminal in its cooked mode.
terminal_sane() {
  wait_until 50 screen_has 'host\$ ?$'
  keys 'clear; stty -a | grep -oE "(^| )-?(icanon|echo)( |$)" | tr -d " " | sort | tr "\n" ,; echo' Enter
  wait_until 30 screen_has '^echo,icanon,$'
}

top_pid() { pgrep -f "^crowbar-top -d" | head -1; }

@test "live view: containers and processes, sorts, tree, filter, details, help, q" {
  start_tmux 120 60
  keys "crowbar top -d 1" Enter
  wait_until 50 screen_has '^crowbar top - '
  wait_until 30 screen_has '^t1 \(.*\): CPU .*, MEM .* / 64MiB, PIDS 3 / 20'
  screen_has '^t2 \('
  pid1=$(ctr_pid t1)
  s1=$(pid_of t1 "sleep 1001")
  screen_has "^ *$pid1 +1 +root .* sh -c sleep 1001"
  screen_has "^ *$s1 +[23] +root .* sleep 1001"
  screen_has "^ *$(ctr_pid t2) +1 +app .* sleep 2002"
  # Sort by PID: t1's rows in increasing order.
  keys N
  wait_until 30 screen_has '^Sort: PID '
  got=$(screen | awk '/^t1 \(/ {on=1; next} /^t2 \(/ {on=0} on && $1 ~ /^[0-9]+$/ {print $1}')
  [ "$got" = "$(cgroup_pids t1)" ]
  # Again: reversed.
  keys N
  wait_until 30 screen_has '^Sort: PID \(reversed\)'
  got=$(screen | awk '/^t1 \(/ {on=1; next} /^t2 \(/ {on=0} on && $1 ~ /^[0-9]+$/ {print $1}')
  [ "$got" = "$(cgroup_pids t1 | sort -rn)" ]
  keys M
  wait_until 30 screen_has '^Sort: RSS '
  # The tree: the sleeps under their shell.
  keys t
  wait_until 30 screen_has 'Tree: on'
  wait_until 30 screen_has "^ *$s1 .* \\\\_ sleep 1001$"
  keys t
  wait_until 30 screen_has 'Tree: off'
  # One flat list with a CONTAINER column, and back.
  keys g
  wait_until 30 screen_has '^CONTAINER +PID +CPID'
  screen_hasnt '^t1 \('
  keys g
  wait_until 30 screen_has '^t1 \('
  # The filter: t2 only.
  keys / t 2 Enter
  wait_until 30 screen_has 'Filter: t2'
  screen_has '^t2 \('
  screen_hasnt '^t1 \('
  screen_hasnt 'sleep 1001'
  keys / C-u Enter
  wait_until 30 screen_has '^t1 \('
  # Details of the first row's process (a container's row: its PID 1).
  keys Home Enter
  wait_until 30 screen_has '^Process [0-9]+ in t1'
  screen_has "PID +$pid1 \(in the container: 1\)"
  screen_has '^Namespaces'
  screen_has '^ +pid +pid:\[[0-9]+\] +\(its own\)'
  screen_has '^ +CapEff +00000000a80425fb CAP_CHOWN CAP_DAC_OVERRIDE'
  screen_has '^ +NoNewPrivs +no'
  screen_has '^ +Seccomp +'
  # Scrolled down: the open files and the environment.
  keys NPage
  wait_until 30 screen_has '^Open files|^Environment'
  keys End
  wait_until 30 screen_has 'HOSTNAME='
  keys Escape
  wait_until 30 screen_has '^Sort: '
  # Help, and back with any key.
  keys h
  wait_until 30 screen_has '^Help'
  screen_has 'sort by %CPU, memory'
  keys x
  wait_until 30 screen_has '^Sort: '
  keys q
  terminal_sane
}

@test "live view: follows a resized window" {
  # A container with more processes than a small window has rows.
  crowbar run -d --name t3 busybox sh -c 'for i in $(seq 30); do sleep 500$i & done; wait' >/dev/null
  wait_until 50 eval '[ "$(cgroup_pids t3 | wc -l)" -ge 31 ]'
  start_tmux 100 20
  keys "crowbar top -d 30 -s pid t3" Enter
  wait_until 50 screen_has '^t3 \('
  screen_hasnt 'sleep 50030$'
  tmux -L "$TMUX_SOCK" resize-window -t t -x 140 -y 50
  wait_until 30 screen_has 'sleep 50030$'
  keys q
  terminal_sane
}

@test "live view: the terminal comes back after Ctrl-C, SIGTERM, an exit() and a crash" {
  start_tmux 100 30
  keys "crowbar top -d 1" Enter
  wait_until 50 screen_has '^t1 \('
  keys C-c
  terminal_sane

  keys "crowbar top -d 1" Enter
  wait_until 50 screen_has '^t1 \('
  kill -TERM "$(top_pid)"
  terminal_sane

  # An exit() from anywhere (atexit), then a crash (the fatal signal's handler).
  keys "CROWBAR_TEST_TOP_CRASH=exit crowbar top -d 1; echo \"rc=\$?\"" Enter
  wait_until 50 screen_has '^rc=3$'
  terminal_sane

  keys "CROWBAR_TEST_TOP_CRASH=segv crowbar top -d 1; echo \"rc=\$?\"" Enter
  wait_until 50 screen_has '^rc=139$'
  terminal_sane
}

@test "top: usage errors" {
  run crowbar top -n 0
  [ "$status" -eq 1 ]
  [[ "$output" == "Error: invalid number of iterations: 0"* ]]
  run crowbar top -d -1
  [ "$status" -eq 1 ]
  run crowbar top --nope
  [ "$status" -eq 125 ]
  [[ "$output" == "Error: unknown flag: --nope"* ]]
  run crowbar top --help
  [ "$status" -eq 0 ]
  [[ "$output" == *"See crowbar-top(1)."* ]]
}
