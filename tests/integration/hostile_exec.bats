#!/usr/bin/env bats
# What a hostile container can do with what crowbar runs in it or hands it (issue 7): the
# caller's terminal, host files reachable through /proc/PID/exe and /proc/self/fd, and
# programs of the container run by the toolbox with the host's privileges. The attacks are
# tests/helpers/hostile.c, run inside the containers.

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
  [ -x "$CROWBAR_TOP/build/tests/helpers/hostile" ] || {
    echo "Error: build/tests/helpers/hostile is missing: run 'make build/tests/helpers/hostile'" >&2
    return 1
  }
  crowbar_setup_root
  import_busybox
  crowbar run -d --name hx busybox sleep 100000 >/dev/null
  # Copies of the programs, for the tests that try to change them from inside.
  BIN="$CROWBAR_ROOT/bin"
  mkdir -p "$BIN"
  cp "$CROWBAR_TOP"/build/crowbar "$CROWBAR_TOP"/build/crowbar-* "$BIN"/
  export BIN
}

teardown_file() { crowbar_teardown_root; }

# What a container must never change of a host file: content, mode, owner, times.
fingerprint() { stat -c '%a %u %g %s %z' "$1" && sha256sum <"$1"; }

# Run a command line on a terminal of its own (a pty of script(1)), as an admin would.
on_tty() { script -qec "$1" /dev/null; }

@test "exec without -t: no terminal of the caller reaches the command, which leads its own session" {
  run on_tty "crowbar exec hx hostile ttys"
  [ "$status" -eq 0 ]
  [[ "$output" != *terminal* ]]
  [[ "$output" == *"session leader: yes"* ]]
  [[ "$output" == *"group leader: yes"* ]]
  run on_tty "crowbar exec -i hx hostile ttys"
  [ "$status" -eq 0 ]
  [[ "$output" != *terminal* ]]
  [[ "$output" == *"session leader: yes"* ]]
}

@test "exec -d: no terminal of the caller either, and a session of its own" {
  on_tty "crowbar exec -d hx sh -c 'exec hostile ttys >/tmp/ttys-d'"
  wait_until 50 crowbar exec hx test -s /tmp/ttys-d
  run crowbar exec hx cat /tmp/ttys-d
  [[ "$output" != *terminal* ]]
  [[ "$output" == *"session leader: yes"* ]]
  # Its stdio are the host's null device, on a mount nothing can change it through.
  crowbar exec -d hx sh -c 'chmod 666 /proc/self/fd/0 2>/tmp/chmod-d; echo "rc=$?" >>/tmp/chmod-d'
  wait_until 50 crowbar exec hx grep -q rc= /tmp/chmod-d
  run crowbar exec hx cat /tmp/chmod-d
  [[ "$output" == *"Read-only file system"* ]]
}

@test "exec: a container's /dev/null that is a terminal node does not hand over the caller's" {
  id=$(crowbar run -d busybox sleep 100000)
  crowbar exec "$id" sh -c 'rm /dev/null && mknod /dev/null c 5 0'
  run on_tty "crowbar exec $id hostile ttys"
  [ "$status" -eq 0 ]
  [[ "$output" != *terminal* ]]
  on_tty "crowbar exec -d $id sh -c 'exec hostile ttys >/tmp/ttys-d'"
  wait_until 50 crowbar exec "$id" test -s /tmp/ttys-d
  run crowbar exec "$id" cat /tmp/ttys-d
  [[ "$output" != *terminal* ]]
  crowbar rm -f "$id"
}

@test "exec -t: the command's terminal is the container's own pty, and it leads the session" {
  run on_tty "crowbar exec -t hx sh -c 'hostile ttys; readlink /proc/self/fd/0'"
  [ "$status" -eq 0 ]
  [[ "$output" == *"fd 0: terminal"* ]]
  [[ "$output" == *"session leader: no"* ]] # hostile is the shell's child
  [[ "$output" == *"/dev/pts/"* ]]
  run on_tty "crowbar exec -t hx hostile ttys"
  [[ "$output" == *"session leader: yes"* ]]
}

@test "run, start -a, attach without -t: no terminal of the caller reaches the container" {
  run on_tty "crowbar run --rm busybox hostile ttys"
  [ "$status" -eq 0 ]
  [[ "$output" == *"session leader"* ]]
  [[ "$output" != *terminal* ]]
  run on_tty "crowbar run --rm -i busybox hostile ttys"
  [[ "$output" != *terminal* ]]
  id=$(crowbar create busybox hostile ttys)
  run on_tty "crowbar start -a $id"
  [[ "$output" == *"session leader"* ]]
  [[ "$output" != *terminal* ]]
  id=$(crowbar run -d -i busybox sh -c 'read x; exec hostile ttys')
  run on_tty "echo go | crowbar attach $id"
  [[ "$output" == *"session leader"* ]]
  [[ "$output" != *terminal* ]]
}

@test "a container gets no handle on the host's /dev/null (stdin, masked /proc files)" {
  host=$(stat -c '%d:%i' /dev/null)
  run crowbar run --rm busybox sh -c \
    'for f in /proc/self/fd/0 /proc/timer_list /proc/kcore /proc/sched_debug; do [ -e $f ] && stat -L -c "%d:%i %n" $f; done; true'
  [ "$status" -eq 0 ]
  [[ "$output" == *timer_list* ]]
  [[ "$output" != *"$host "* ]]
}

@test "--init: the container cannot change the host's crowbar-init through /proc/1/exe" {
  before=$(fingerprint "$BIN/crowbar-init")
  run "$BIN/crowbar" run --rm --init busybox hostile write-exe /proc/1/exe
  [ "$status" -eq 0 ]
  [[ "$output" == *"open-write /proc/1/exe"* ]]
  [[ "$output" != *wrote* ]]
  [[ "$output" != *changed* ]]
  [ "$(fingerprint "$BIN/crowbar-init")" = "$before" ]
}

@test "exec: a host binary caught between fork and exec cannot be changed (CVE-2019-5736)" {
  before=$(fingerprint "$BIN/crowbar-exec")
  # The snatcher watches the next PIDs of the container for an executable that is not the
  # container's, keeps a handle on it, and tries to write it once it no longer runs.
  "$BIN/crowbar" exec -d hx sh -c 'exec hostile exe-snatch 4 >/tmp/snatch 2>&1'
  for i in $(seq 100); do "$BIN/crowbar" exec hx true; done
  wait_until 100 crowbar exec hx grep -q done /tmp/snatch
  run crowbar exec hx cat /tmp/snatch
  [[ "$output" == *"done: 0"* ]]
  [ "$(fingerprint "$BIN/crowbar-exec")" = "$before" ]
}

@test "enter --toolbox: no program of the container runs, not even behind a fake /proc" {
  # PID 1 chroots itself into a root of its own, with a /proc that is a folder of symlinks
  # to its programs, and a program of its own on every PATH folder.
  crowbar run -d --name jail busybox hostile fake-proc /jail >/dev/null
  wait_until 100 sh -c 'crowbar logs jail | grep -q ready'
  run crowbar enter --toolbox jail sh -c 'cat /etc/hostname; ls /; evilcmd; /bin/evilcmd'
  [[ "$output" != *PWNED* ]]
  [[ "$output" == *evil* ]] # ls, which busybox's shell runs itself, sees the fake root
  run crowbar exec jail cat /jail/pwned
  [ "$status" -ne 0 ]
  # On an honest container, the applets run and the container's programs do not.
  run crowbar enter --toolbox hx sh -c 'cat /etc/os-release; /bin/ls /etc/os-release'
  [ "$status" -ne 0 ]
  [[ "${lines[0]}" == busybox-rootfs ]]
  [[ "$output" == *"/bin/ls: Permission denied"* ]]
  crowbar rm -f jail >/dev/null
}

@test "enter --toolbox: its /proc/self/exe is no writable host file" {
  mkdir -p "$CROWBAR_ROOT/tb"
  cp "$(command -v busybox)" "$CROWBAR_ROOT/tb/busybox"
  before=$(fingerprint "$CROWBAR_ROOT/tb/busybox")
  run crowbar enter --toolbox="$CROWBAR_ROOT/tb/busybox" hx sh -c \
    'chmod 755 /proc/self/exe; touch /proc/self/exe; echo x >>/proc/self/exe'
  [[ "$output" == *"Read-only file system"* ]]
  [ "$(fingerprint "$CROWBAR_ROOT/tb/busybox")" = "$before" ]
}

@test "enter --toolbox --env: the container's environment runs no code in the toolbox's shell" {
  id=$(crowbar run -d -e ENV=/etc/evilrc -e 'PS1=$(echo PWNED-PS1) ' busybox sleep 100000)
  crowbar exec "$id" sh -c 'echo "echo PWNED-ENV" >/etc/evilrc'
  run sh -c "crowbar enter --toolbox --env $id sh -i </dev/null"
  [[ "$output" != *PWNED* ]]
  crowbar rm -f "$id" >/dev/null
}

@test "exec and run: a FIFO as the container's /etc/passwd or /etc/group hangs nothing" {
  crowbar run -d --name fifo busybox sleep 100000 >/dev/null
  crowbar exec fifo sh -c 'rm /etc/passwd /etc/group; mkfifo /etc/passwd /etc/group'
  run timeout 10 crowbar exec fifo true
  [ "$status" -eq 0 ]
  run timeout 10 crowbar exec -u 5:5 fifo true
  [ "$status" -eq 0 ]
  # A named user cannot be found in a FIFO: an error, not a hang.
  run timeout 10 crowbar exec -u nobody fifo true
  [ "$status" -eq 126 ]
  [[ "$output" == *"unable to find user nobody"* ]]
  crowbar commit fifo fifoimg >/dev/null
  run timeout 10 crowbar run --rm fifoimg true
  [ "$status" -eq 0 ]
  crowbar rm -f fifo >/dev/null
}
