#!/usr/bin/env bats
# The shim as the host sees it, and the state staying truthful when things die under it:
# a killed shim, a PID reused by another process, a CLI killed half-way, racing removals.

load helpers

setup_file() {
  require_cbtest
  crowbar_setup_root
  import_busybox
}
teardown() {
  crowbar_remove_all
  small_root_teardown
}
teardown_file() { crowbar_teardown_root; }

# True when host PID $1 is gone or a zombie.
proc_dead() { [ ! -e "/proc/$1" ] || [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ]; }

@test "the shim is the parent of PID 1 in ps, with the container ID in its command line" {
  id=$(crowbar run -d --name shimmed busybox sleep 100)
  pid=$(ctr_pid shimmed)
  run ps -eo pid=,ppid=,args=
  pline=$(awk -v p="$pid" '$1 == p' <<<"$output")
  [ -n "$pline" ]
  ppid=$(awk '{print $2}' <<<"$pline")
  sline=$(awk -v p="$ppid" '$1 == p' <<<"$output")
  echo "$sline"
  [[ "$sline" == *crowbar-shim* ]]
  [[ "$sline" == *"$id"* ]]
  # It belongs to no CLI: not our session, and its parent is not a crowbar command.
  [ "$(ps -o sid= -p "$ppid" | tr -d ' ')" != "$(ps -o sid= -p $$ | tr -d ' ')" ]
  sppid=$(ps -o ppid= -p "$ppid" | tr -d ' ')
  [[ "$(ps -o args= -p "$sppid")" != *crowbar* ]]
}

@test "the shim stays under 1024 kB of resident memory (VmRSS)" {
  crowbar run -d --name small busybox cbtest random
  wait_logs small '^[0-9]+$'
  shim=$(shim_pid small)
  rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$shim/status")
  echo "shim VmRSS: $rss kB"
  [ "$rss" -lt 1024 ]
}

@test "kill -9 of the shim: once PID 1 is gone too, ps -a shows Exited (255), not Up" {
  id=$(crowbar run -d --name orphan busybox sleep 100)
  pid=$(ctr_pid orphan)
  shim=$(shim_pid orphan)
  kill -9 "$shim"
  wait_until 20 proc_dead "$shim"
  # PID 1 may outlive its monitor (the shim sets no parent-death signal then) or die with
  # it; either way it goes now.
  kill -9 "$pid" 2>/dev/null || true
  wait_until 20 proc_dead "$pid"
  run crowbar ps -a
  echo "$output"
  line=$(grep "^${id:0:12} " <<<"$output")
  [[ "$line" == *" Exited (255) "*" ago "* ]]
  [[ "$line" != *" Up "* ]]
  [ -z "$(crowbar ps -q)" ]
  [ "$(crowbar inspect -f '{{.State.Status}} {{.State.Running}} {{.State.ExitCode}} {{.State.Pid}}' orphan)" = "exited false 255 0" ]
  [ -n "$(crowbar inspect -f '{{.State.Error}}' orphan)" ]
  run -0 crowbar rm orphan
  [ ! -e "$CROWBAR_ROOT/containers/$id" ]
}

@test "a recorded PID that now belongs to another process is not taken for the container" {
  id=$(crowbar run -d --name reused busybox sleep 100)
  json=$(state_file "$id")
  pid=$(ctr_pid reused)
  shim=$(shim_pid reused)
  # Both die behind crowbar's back (no verb runs in between), then their PIDs "come back"
  # as an unrelated host process: the record names it, with start times that are not its.
  kill -9 "$shim" "$pid"
  wait_until 20 proc_dead "$pid"
  wait_until 20 proc_dead "$shim"
  sleep 1000 3>&- &
  victim=$!
  echo "$victim" >>"$BATS_TEST_TMPDIR/.bg-pids"
  sed -i -E "s/\"Pid\":[0-9]+/\"Pid\":$victim/; s/\"PidStart\":[0-9]+/\"PidStart\":12345/;
             s/\"ShimPid\":[0-9]+/\"ShimPid\":$victim/; s/\"ShimStart\":[0-9]+/\"ShimStart\":12345/" "$json"
  grep -q "\"Pid\":$victim," "$json"
  grep -q '"Status":"running"' "$json"
  [ -z "$(crowbar ps -q)" ]
  [ "$(ctr_status reused)" = exited ]
  run -1 crowbar kill reused
  run crowbar stop -t 0 reused
  run crowbar rm -f reused
  [ "$status" -eq 0 ]
  # The unrelated process was never signalled.
  kill -0 "$victim"
  [ "$(awk '{print $3}' "/proc/$victim/stat")" != Z ]
}

@test "the CLI killed in the middle of run -d leaves no half container" {
  local i names=()
  for i in $(seq 0 29); do
    crowbar run -d --name "half$i" busybox sleep 100 >/dev/null 2>&1 3>&- &
    p=$!
    sleep "$(printf '0.%03d' $((i * 3 / 2)))" # 0 to 43 ms: run -d takes about 30
    kill -9 "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
    names+=("half$i")
  done
  # ps -a lists complete containers only, each of which inspect and rm handle.
  run crowbar ps -a
  [ "$status" -eq 0 ]
  listed=$(crowbar ps -aq --no-trunc | sort)
  for id in $listed; do
    run crowbar inspect -f '{{.State.Status}}' "$id"
    [ "$status" -eq 0 ]
    [[ "$output" =~ ^(created|running|exited)$ ]]
  done
  # Every name is either a container that rm -f removes, or free again.
  for n in "${names[@]}"; do
    if crowbar inspect "$n" >/dev/null 2>&1; then
      run -0 crowbar rm -f "$n"
    fi
    run crowbar create --name "$n" busybox true
    echo "$n: $output"
    [ "$status" -eq 0 ]
    crowbar rm "$n"
  done
  # Nothing is left over in the state: no record, no temporary folder, no shim.
  run ls -A "$CROWBAR_ROOT/containers"
  echo "left over: $output"
  ! grep -qE '^(\.[a-z]+-)?[0-9a-f]{64}$' <<<"$output"
  [ -z "$(ls -A "$CROWBAR_ROOT/names")" ]
  ! pgrep -f "crowbar-shim .*--root $CROWBAR_ROOT " >/dev/null
}

@test "two rm -f racing on one container both exit cleanly, with one removal" {
  for round in 1 2 3; do
    id=$(crowbar run -d --name "racer$round" busybox sleep 100)
    a=0 b=0
    crowbar rm -f "racer$round" >"$BATS_TEST_TMPDIR/a" 2>&1 3>&- &
    pa=$!
    crowbar rm -f "$id" >"$BATS_TEST_TMPDIR/b" 2>&1 3>&- &
    pb=$!
    wait "$pa" || a=$?
    wait "$pb" || b=$?
    echo "a=$a $(cat "$BATS_TEST_TMPDIR/a")"
    echo "b=$b $(cat "$BATS_TEST_TMPDIR/b")"
    [ "$a" -eq 0 ] && [ "$b" -eq 0 ]
    # Each removed it, or found it removed already (rm -f: said, not a failure); one did.
    oa=$(cat "$BATS_TEST_TMPDIR/a") ob=$(cat "$BATS_TEST_TMPDIR/b")
    [ "$oa" = "racer$round" ] || [ "$oa" = "Error: No such container: racer$round" ]
    [ "$ob" = "$id" ] || [ "$ob" = "Error: No such container: $id" ]
    [ "$oa" = "racer$round" ] || [ "$ob" = "$id" ]
    [ ! -e "$CROWBAR_ROOT/containers/$id" ]
    [ ! -e "$CROWBAR_ROOT/containers/.rm-$id" ]
    [ ! -e "$CROWBAR_RUNROOT/$id" ]
    run -1 crowbar inspect "racer$round"
  done
}

@test "the foreground CLI killed: the container keeps running under its shim" {
  bg_start "$BATS_TEST_TMPDIR/fg" crowbar run --name fgkill busybox cbtest random
  wait_until 50 ctr_exists fgkill
  wait_status fgkill running
  wait_logs fgkill '^[0-9]+$'
  kill -9 "$BG_PID"
  sleep 0.2
  [ "$(ctr_status fgkill)" = running ]
  [ "$(crowbar ps -q)" = "$(ctr_id fgkill | cut -c1-12)" ]
  run -0 crowbar stop -t 0 fgkill
}

@test "signals to a foreground run are forwarded to the container" {
  bg_start "$BATS_TEST_TMPDIR/fg" crowbar run --name fgsig busybox sh -c 'trap "echo got-term; exit 3" TERM; echo ready; while :; do sleep 0.1; done'
  wait_until 50 ctr_exists fgsig
  wait_logs fgsig '^ready$'
  kill -TERM "$BG_PID"
  rc=0
  wait "$BG_PID" || rc=$?
  cat "$BATS_TEST_TMPDIR/fg"
  [ "$rc" -eq 3 ]
  grep -qx got-term "$BATS_TEST_TMPDIR/fg"
}

@test "rm -f of a container whose shim was killed still cleans everything up" {
  id=$(crowbar run -d --name noshim -m 32m busybox sleep 100)
  pid=$(ctr_pid noshim)
  kill -9 "$(shim_pid noshim)"
  proc_dead "$pid" || kill -9 "$pid"
  wait_until 20 proc_dead "$pid"
  # (timeout: a hang is a failure, not a stuck suite)
  run -0 timeout 3 crowbar rm -f noshim
  [ ! -e "$CROWBAR_ROOT/containers/$id" ]
  [ ! -e "$CROWBAR_RUNROOT/$id" ]
  [ -z "$(find /sys/fs/cgroup -maxdepth 3 -name "$id" 2>/dev/null)" ]
  ! grep -q "$id" /proc/self/mounts
}

@test "start of a container whose shim and PID 1 were killed starts it again" {
  id=$(crowbar run -d --name restartable busybox sleep 100)
  pid=$(ctr_pid restartable)
  kill -9 "$(shim_pid restartable)"
  proc_dead "$pid" || kill -9 "$pid"
  wait_until 20 proc_dead "$pid"
  run -0 timeout 3 crowbar start restartable
  [ "$(ctr_status restartable)" = running ]
  [ "$(ctr_pid restartable)" != "$pid" ]
}

# A host process standing in for a reused PID: started here, killed by teardown.
start_victim() {
  sleep 1000 3>&- &
  victim=$!
  echo "$victim" >>"$BATS_TEST_TMPDIR/.bg-pids"
}

# The start time of a host process (field 22 of /proc/PID/stat).
start_time() { awk '{sub(/^.*\) /, ""); print $20}' "/proc/$1/stat"; }

@test "a PID recorded without its start time or boot ID is never signalled, nor its root walked" {
  local variant
  for variant in zero missing noboot; do
    id=$(crowbar run -d --name "noid-$variant" busybox sleep 100)
    json=$(state_file "$id")
    pid=$(ctr_pid "noid-$variant")
    shim=$(shim_pid "noid-$variant")
    kill -9 "$shim" "$pid"
    wait_until 20 proc_dead "$pid"
    wait_until 20 proc_dead "$shim"
    start_victim
    # The record names the victim, with no start time (0, or none at all), or with the
    # victim's true start time but no boot ID to say which boot it belongs to.
    case $variant in
    zero) sed -i -E "s/\"PidStart\":[0-9]+/\"PidStart\":0/; s/\"ShimStart\":[0-9]+/\"ShimStart\":0/" "$json" ;;
    missing) sed -i -E "s/\"PidStart\":[0-9]+,//; s/\"ShimStart\":[0-9]+,//" "$json" ;;
    noboot)
      st=$(start_time "$victim")
      sed -i -E "s/\"PidStart\":[0-9]+/\"PidStart\":$st/; s/\"ShimStart\":[0-9]+/\"ShimStart\":$st/;
                 s/\"BootId\":\"[^\"]*\",?//" "$json" ;;
    esac
    sed -i -E "s/\"Pid\":[0-9]+/\"Pid\":$victim/; s/\"ShimPid\":[0-9]+/\"ShimPid\":$victim/" "$json"
    grep -q "\"Pid\":$victim," "$json"
    grep -q '"Status":"running"' "$json"
    cat "$json"
    # export: the victim's root is the host's; the container's files are what must come.
    run bash -c "timeout 60 crowbar export noid-$variant | tar -tf - | grep -cx -e etc/debian_version -e bin/busybox"
    echo "export: $output"
    [ "$output" = 1 ]
    run crowbar kill "noid-$variant"
    run crowbar stop -t 0 "noid-$variant"
    run -0 crowbar rm -f "noid-$variant"
    # The unrelated process was never signalled.
    kill -0 "$victim"
    [ "$(awk '{print $3}' "/proc/$victim/stat")" != Z ]
    kill -9 "$victim"
  done
}

@test "damaged records: listed Dead with an Error that says what is wrong; no verb crashes; rm removes them" {
  crowbar run -d --name healthy busybox sleep 100
  local cases=(
    'state.json|[]|state.json: it is an array, not an object'
    'state.json|5|state.json: it is a number, not an object'
    'state.json|{"State":5}|state.json: "State" is a number, not an object'
    'state.json|{"State":{"Pid":"12"}}|state.json: "State.Pid" is a string, not a PID'
    'state.json|{"Crowbar":[]}|state.json: "Crowbar" is an array, not an object'
    'state.json|{"State":|state.json is cut short'
    'state.json|garbage|state.json is not valid JSON'
    'state.json||state.json is empty'
    'state.json|{"Id":"../../x"}|state.json: "Id" is "../../x", not the ID of its folder'
    'container.json|{"Config":{"Env":"x"}}|container.json: "Config.Env" is a string'
    'container.json|[]|container.json: it is an array, not an object'
    'container.json|@cut|container.json is cut short'
    'container.json|@missing|container.json is missing'
  )
  local k=0 c file content says id name f v
  for c in "${cases[@]}"; do
    IFS='|' read -r file content says <<<"$c"
    name=dmg$k
    k=$((k + 1))
    id=$(crowbar create --name "$name" busybox true)
    f=$CROWBAR_ROOT/containers/$id/$file
    case $content in
    @cut) head -c 100 "$f" >"$f.cut" && mv "$f.cut" "$f" ;;
    @missing) rm "$f" ;;
    *) printf '%s' "$content" >"$f" ;;
    esac
    echo "== $file: $content"
    run -0 crowbar ps -a --format '{{.Names}} {{.State}} {{.Status}}'
    echo "$output"
    grep -qx "$name dead Dead" <<<"$output"
    grep -qx "healthy running Up .*" <<<"$output"
    run -0 crowbar inspect -f '{{.State.Status}}|{{.State.Error}}|{{.Id}}' "$name"
    echo "$output"
    [[ "$output" == "dead|the container's record is damaged: $says"*"|$id" ]]
    for v in "start @" "stop -t 1 @" "kill @" "restart -t 1 @" "logs @" "wait @" "pause @" \
      "unpause @" "attach @" "exec @ true" "diff @" "export -o /dev/null @" "inspect @" \
      "cp @:/etc/passwd $BATS_TEST_TMPDIR/pw"; do
      run timeout 20 crowbar ${v//@/$name} </dev/null
      echo "$v: $status $output"
      [ "$status" -lt 126 ]
      [[ "$output" != *Assertion* && "$output" != *"Segmentation"* ]]
    done
    run crowbar start "$name"
    [ "$status" -eq 1 ]
    [[ "$output" == "Error: container $name cannot be started: the container's record is damaged: $says"* ]]
    run -0 crowbar rm "$name"
    [ "$output" = "$name" ]
    [ ! -e "$CROWBAR_ROOT/containers/$id" ]
    [ ! -e "$CROWBAR_ROOT/names/$name" ]
  done
  [ "$(ctr_status healthy)" = running ]
}

@test "a running container whose state.json is damaged: rm refuses, rm -f kills its processes and removes it" {
  id=$(crowbar run -d --name dmgrun busybox sleep 100)
  pid=$(ctr_pid dmgrun)
  echo '{"State":{"Pid":"x"}}' >"$(state_file "$id")"
  [ "$(ctr_status dmgrun)" = dead ]
  run crowbar rm dmgrun
  echo "$output"
  [ "$status" -eq 1 ]
  [[ "$output" == *"container is running (its record is damaged)"* ]]
  ! proc_dead "$pid"
  run -0 crowbar rm -f dmgrun
  wait_until 50 proc_dead "$pid"
  [ ! -e "$CROWBAR_ROOT/containers/$id" ]
  [ -z "$(find /sys/fs/cgroup -maxdepth 3 -name "$id" 2>/dev/null)" ]
}

@test "the shim makes a state.json damaged while its container ran whole again at the exit" {
  id=$(crowbar run -d --name dmgexit busybox sh -c 'sleep 1; exit 7')
  echo 'garbage' >"$(state_file "$id")"
  [ "$(ctr_status dmgexit)" = dead ]
  wait_status dmgexit exited
  [ "$(crowbar inspect -f '{{.State.ExitCode}} {{.State.Error}}' dmgexit)" = "7 " ]
}

# A root on a small tmpfs, to fill up: SMALL is its mount point. The runtime folder stays
# where it was (on another file system, as /run is).
small_root() {
  SMALL=$BATS_TEST_TMPDIR/small
  mkdir -p "$SMALL"
  mount -t tmpfs -o size=24m tmpfs "$SMALL"
  export CROWBAR_ROOT=$SMALL/root
  crowbar import "$(fixture_rootfs)" busybox:latest >/dev/null
}

# Fill the small root's file system to the last page.
fill_up() {
  dd if=/dev/zero of="$SMALL/fill1" bs=1M 2>/dev/null || true
  dd if=/dev/zero of="$SMALL/fill2" bs=4k 2>/dev/null || true
  [ "$(df --output=avail "$SMALL" | tail -1)" -eq 0 ]
}

small_root_teardown() {
  [ -n "${SMALL:-}" ] && mountpoint -q "$SMALL" || return 0
  rm -f "$SMALL"/fill*
  crowbar_remove_all
  umount -l "$SMALL"
}

@test "a full disk: the exit status is recorded all the same (143), and a start says disk full" {
  small_root
  id=$(crowbar run -d --name full busybox sh -c 'trap "exit 143" TERM; while :; do sleep 0.1; done')
  fill_up
  run -0 crowbar stop -t 10 full
  run -0 crowbar inspect -f '{{.State.Status}} {{.State.ExitCode}} {{.State.Error}}' full
  echo "$output"
  [ "$output" = "exited 143 " ]
  # A start needs room for its records: it says why it cannot.
  run crowbar start full
  echo "$output"
  [ "$status" -eq 1 ]
  [[ "$output" == "Error: failed to start container full: disk full: "* ]]
  [ "$(ctr_status full)" = exited ]
  rm -f "$SMALL"/fill*
  run -0 crowbar start full
  run -0 crowbar stop -t 10 full
  [ "$(crowbar inspect -f '{{.State.ExitCode}}' full)" = 143 ]
}

@test "a full disk and no reserve: the exit is noted aside and recorded by the next verb, saying disk full" {
  small_root
  id=$(crowbar run -d --name noted busybox sh -c 'trap "exit 143" TERM; while :; do sleep 0.1; done')
  # A container started by an older crowbar has no reserve.
  rm "$CROWBAR_ROOT/containers/$id/.state.json.reserve"
  fill_up
  run -0 crowbar stop -t 10 noted
  run -0 crowbar inspect -f '{{.State.Status}} {{.State.ExitCode}}|{{.State.Error}}' noted
  echo "$output"
  [[ "$output" == "exited 143|the exit could not be recorded when it came (disk full: No space left on device)"* ]]
  rm -f "$SMALL"/fill*
  run -0 crowbar ps -a --format '{{.Names}} {{.Status}}'
  [[ "$output" == "noted Exited (143) "* ]]
  [ ! -e "$CROWBAR_RUNROOT/$id/exit" ]
  [ "$(crowbar inspect -f '{{.State.ExitCode}}' noted)" = 143 ]
}

# ---- the monitor never waits on a client (engine/shim/clients.c) -------------------------

@test "monitor: an attach client that stops reading is dropped; the container, its log and its exit go on" {
  crowbar run -d --name flood busybox sh -c 'sleep 2; seq 1 300000; exit 7'
  # A client whose reader never reads: a pipe into sleep.
  bg_start "$BATS_TEST_TMPDIR/attach.out" sh -c 'crowbar attach --no-stdin flood | sleep 1000'
  run -0 timeout 60 crowbar wait flood
  [ "$output" = 7 ]
  [ "$(crowbar logs flood | tail -1)" = 300000 ]
  [ "$(crowbar logs flood | wc -l)" -eq 300000 ]
  wait_until 50 grep -q "Error: the container's output came faster than this client took it" \
    "$BATS_TEST_TMPDIR/attach.out"
}

@test "monitor: a client that connects and says nothing holds up neither the container nor other clients" {
  id=$(crowbar run -d --name mute busybox sh -c 'sleep 2; echo late; exit 5')
  python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
time.sleep(120)' "$CROWBAR_RUNROOT/$id/attach.sock" 3>&- &
  echo $! >>"$BATS_TEST_TMPDIR/.bg-pids"
  sleep 0.5
  run timeout 30 crowbar attach --no-stdin mute
  echo "$output"
  [ "$status" -eq 5 ]
  [ "$output" = late ]
  [ "$(crowbar inspect -f '{{.State.Status}} {{.State.ExitCode}}' mute)" = "exited 5" ]
}

@test "monitor: yes | run -i of a command that reads no input: its output flows, its exit comes" {
  run timeout 60 sh -c 'yes | crowbar run -i --rm busybox sh -c "seq 1 200000; echo done; exit 3" | tail -1'
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$output" = done ]
  # ... and the exit status is the container's.
  run timeout 60 sh -c 'yes | crowbar run -i --rm busybox sh -c "seq 1 200000 >/dev/null; exit 3"'
  [ "$status" -eq 3 ]
}

@test "monitor: timeout and Ctrl-C end a foreground run whose input floods a container that reads none" {
  local cmd='trap "exit 143" TERM; trap "exit 130" INT; while :; do echo x; sleep 0.05; done'
  # timeout sends TERM to crowbar run, which passes it on (sig-proxy).
  run timeout -s KILL 60 sh -c "yes | timeout --preserve-status -s TERM 3 crowbar run -i --name fgto busybox sh -c '$cmd' >/dev/null"
  echo "status $status"
  [ "$status" -eq 143 ]
  [ "$(crowbar inspect -f '{{.State.Status}} {{.State.ExitCode}}' fgto)" = "exited 143" ]
  # Ctrl-C: SIGINT to crowbar run.
  yes 2>/dev/null | crowbar run -i --name fgint busybox sh -c "$cmd" >/dev/null 2>&1 3>&- &
  pid=$!
  echo "$pid" >>"$BATS_TEST_TMPDIR/.bg-pids"
  wait_until 50 ctr_exists fgint
  wait_status fgint running
  sleep 1 # the input pipe fills
  kill -INT "$pid"
  rc=0
  timeout 30 tail --pid="$pid" -f /dev/null || rc=$?
  [ "$rc" -eq 0 ]
  [ "$(crowbar inspect -f '{{.State.Status}} {{.State.ExitCode}}' fgint)" = "exited 130" ]
}

@test "monitor: a slow reader of a foreground run loses nothing (the container waits for it, as for a pipe)" {
  run timeout 60 sh -c 'crowbar run --rm busybox seq 1 300000 | (sleep 3; wc -l)'
  [ "$status" -eq 0 ]
  [ "$output" = 300000 ]
}

@test "monitor: a foreground run whose reader stopped does not keep stop from stopping the container" {
  bg_start "$BATS_TEST_TMPDIR/fg.out" sh -c 'crowbar run --name stalled busybox sh -c "while :; do seq 1 1000; done" | sleep 1000'
  wait_until 50 ctr_exists stalled
  wait_status stalled running
  sleep 1
  run -0 timeout 30 crowbar stop -t 1 stalled
  [ "$(crowbar inspect -f '{{.State.Status}} {{.State.ExitCode}}' stalled)" = "exited 137" ]
  # Signals and other clients still reached it meanwhile: the shim never waited.
  run -0 timeout 30 crowbar rm stalled
}
