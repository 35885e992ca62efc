#!/usr/bin/env bats
# crowbar enter: nsenter-style entry by container (or --pid), and the toolbox on an image
# that holds one static binary and nothing else.

bats_require_minimum_version 1.5.0
load helpers

ctr_pid() { crowbar inspect -f '{{.State.Pid}}' "$1"; }

# Every file of a container's upper dir with its size and time: what `diff` reads.
upper_listing() {
  find "$(crowbar inspect -f '{{.GraphDriver.Data.UpperDir}}' "$1")" -printf '%P %y %s %T@\n' |
    sort
}

setup_file() {
  crowbar_setup_root
  import_busybox
  WEB_ID=$(crowbar run -d --name web -h webhost -e FOO=bar busybox sleep 1000)
  export WEB_ID

  # The shell-less image: one static binary that waits, and nothing else.
  TOOLS="$CROWBAR_ROOT/tools"
  export TOOLS
  mkdir -p "$TOOLS/bare"
  printf '#include <unistd.h>\nint main(void) { for (;;) pause(); }\n' >"$TOOLS/app.c"
  cc -static -O2 -o "$TOOLS/bare/app" "$TOOLS/app.c"
  # A second static program, as a toolbox that is not busybox: prints its argv and
  # whether /app is there (that is: which root it runs in).
  cat >"$TOOLS/hello.c" <<'C'
#include <stdio.h>
#include <unistd.h>
int main(int argc, char **argv) {
  for (int i = 0; i < argc; i++) printf("%s%s", i ? " " : "", argv[i]);
  printf(" app:%s\n", access("/app", F_OK) == 0 ? "yes" : "no");
  return 0;
}
C
  cc -static -O2 -o "$TOOLS/hello" "$TOOLS/hello.c"
  tar -C "$TOOLS/bare" -cf "$TOOLS/bare.tar" .
  crowbar import -c 'CMD ["/app"]' "$TOOLS/bare.tar" bare:latest >/dev/null
  BARE_ID=$(crowbar run -d --name bare bare)
  export BARE_ID
}

teardown_file() { crowbar_teardown_root; }

@test "enter: by default, all the container's namespaces: its hostname, its root, its PIDs" {
  run crowbar enter web hostname
  [ "$status" -eq 0 ]
  [ "$output" = webhost ]
  run crowbar enter web cat /etc/os-release
  [ "$output" = busybox-rootfs ]
  run crowbar enter web ls /
  [[ "$output" == *linuxrc* ]]
  [[ "$output" != *"$(basename "$CROWBAR_TOP")"* ]]
  run crowbar enter web sh -c 'cat /proc/1/cmdline | tr "\0" " "; echo; pwd'
  [ "${lines[0]}" = "sleep 1000 " ]
  [ "${lines[1]}" = / ]
  run crowbar enter "${WEB_ID:0:12}" hostname
  [ "$output" = webhost ]
}

@test "enter: -n alone sees the container's network but the host's filesystem" {
  run crowbar enter -n web cat /proc/net/dev
  [ "$status" -eq 0 ]
  # Only the loopback interface: the container's network namespace.
  [ "$(printf '%s\n' "$output" | grep -c ':')" -eq 1 ]
  [[ "$output" == *"lo:"* ]]
  # The host's filesystem and tools: this checkout, the host's ip(8).
  run crowbar enter -n web test -f "$CROWBAR_TOP/Makefile"
  [ "$status" -eq 0 ]
  run crowbar enter -n web ip -o link
  [ "$status" -eq 0 ]
  [ "$(printf '%s\n' "$output" | wc -l)" -eq 1 ]
  [[ "$output" == *" lo:"* ]]
  # And the host's hostname.
  run crowbar enter -n web hostname
  [ "$output" = "$(hostname)" ]
}

@test "enter: -u alone: the container's hostname, the host's filesystem" {
  run crowbar enter -u web hostname
  [ "$status" -eq 0 ]
  [ "$output" = webhost ]
  run crowbar enter -u web cat /etc/os-release
  [ "$output" != busybox-rootfs ]
  run crowbar enter -u web test -f "$CROWBAR_TOP/Makefile"
  [ "$status" -eq 0 ]
}

@test "enter: -p -m sees the container's PIDs (and keeps the host's hostname)" {
  run crowbar enter -p -m web sh -c 'readlink /proc/self/ns/pid; cat /proc/1/cmdline | tr "\0" " "; echo; hostname'
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "$(readlink /proc/"$(ctr_pid "$WEB_ID")"/ns/pid)" ]
  [ "${lines[0]}" != "$(readlink /proc/self/ns/pid)" ]
  [ "${lines[1]}" = "sleep 1000 " ]
  [ "${lines[2]}" = "$(hostname)" ]
  run crowbar enter -p -m web ps
  [[ "$output" == *"sleep 1000"* ]]
  [ "$(printf '%s\n' "$output" | wc -l)" -lt 10 ]
}

@test "enter: --env takes the container's environment, the default keeps ours" {
  MARKER=host run crowbar enter --env web env
  [ "$status" -eq 0 ]
  [[ "$output" == *"FOO=bar"* ]]
  [[ "$output" == *"HOSTNAME=webhost"* ]]
  [[ "$output" == *"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"* ]]
  [[ "$output" != *"MARKER=host"* ]]
  MARKER=host run crowbar enter web env
  [[ "$output" == *"MARKER=host"* ]]
  [[ "$output" != *"FOO=bar"* ]]
}

@test "enter: -w sets the working directory inside (or on the host without -m)" {
  run crowbar enter -w /etc web pwd
  [ "$status" -eq 0 ]
  [ "$output" = /etc ]
  run crowbar enter -u -w "$CROWBAR_TOP" web pwd
  [ "$output" = "$CROWBAR_TOP" ]
  run crowbar enter -w /nonexistent web pwd
  [ "$status" -eq 126 ]
  [[ "$output" == *"/nonexistent"* ]]
}

@test "enter: --pid on a container's PID 1 (and -t, as nsenter spells it)" {
  pid=$(ctr_pid "$WEB_ID")
  [ -n "$pid" ]
  run crowbar enter --pid "$pid" hostname
  [ "$status" -eq 0 ]
  [ "$output" = webhost ]
  run crowbar enter -t "$pid" -m cat /etc/os-release
  [ "$output" = busybox-rootfs ]
  run crowbar-enter --pid "$pid" --env env
  [[ "$output" == *"FOO=bar"* ]]
  run crowbar enter -t "$pid" --pid "$pid" true
  [ "$status" -eq 125 ]
  [[ "$output" == *"mutually exclusive"* ]]
  run crowbar enter --pid 0 true
  [ "$status" -eq 125 ]
  run crowbar enter --pid 999999999 true
  [ "$status" -eq 125 ]
  [[ "$output" == *"no such process"* ]]
}

@test "enter: a namespace the target does not have of its own is an error" {
  run crowbar enter -U web true
  [ "$status" -eq 125 ]
  [ "$output" = "Error: container web has no user namespace of its own" ]
  run crowbar enter --pid $$ -n true
  [ "$status" -eq 125 ]
  [[ "$output" == *"process $$ has no network namespace of its own"* ]]
}

@test "enter: --cgroup joins the container's cgroup, the default does not" {
  run crowbar enter -m -p --cgroup web cat /proc/self/cgroup
  [ "$status" -eq 0 ]
  [[ "$output" == *"$WEB_ID"* ]]
  run crowbar enter -m -p web cat /proc/self/cgroup
  [[ "$output" != *"$WEB_ID"* ]]
}

@test "enter: exit codes: the command's own, 126, 127, 128+signal" {
  run crowbar enter web sh -c 'exit 7'
  [ "$status" -eq 7 ]
  run -127 crowbar enter web nosuchcommand
  [ "$status" -eq 127 ]
  [[ "$output" == *nosuchcommand* ]]
  run crowbar enter web /etc/passwd
  [ "$status" -eq 126 ]
  run crowbar enter web sh -c 'kill -9 $$'
  [ "$status" -eq 137 ]
}

@test "enter: no COMMAND runs \$SHELL, or /bin/sh when the container has no \$SHELL" {
  SHELL=/bin/nosuchshell run crowbar enter web <<<'echo "in $(hostname)"'
  [ "$status" -eq 0 ]
  [ "$output" = "in webhost" ]
}

@test "enter: none of our descriptors reaches the command" {
  run crowbar enter web sh -c 'ls /proc/$$/fd; true' 7</dev/null
  [ "$status" -eq 0 ]
  [ "$(printf '%s\n' "$output" | sort -n | tr '\n' ' ')" = "0 1 2 " ]
}

@test "enter: a stopped container is a clear error" {
  crowbar run -d --name stopped busybox true >/dev/null
  crowbar wait stopped >/dev/null
  run crowbar enter stopped true
  [ "$status" -eq 125 ]
  [[ "$output" == "Error: container stopped is not running (exited)"* ]]
}

@test "enter: a paused container: its namespaces work, --cgroup is refused" {
  crowbar run -d --name paused -h pausedhost busybox sleep 1000 >/dev/null
  crowbar pause paused
  run timeout 20 crowbar enter paused hostname
  [ "$status" -eq 0 ]
  [ "$output" = pausedhost ]
  run timeout 20 crowbar enter paused ps
  [ "$status" -eq 0 ]
  [[ "$output" == *"sleep 1000"* ]]
  run timeout 20 crowbar enter --toolbox paused cat /proc/1/cmdline
  [ "$status" -eq 0 ]
  run timeout 20 crowbar enter --cgroup paused true
  [ "$status" -eq 125 ]
  [[ "$output" == *"container paused is paused"*"--cgroup"* ]]
  # Still paused: unpause works.
  crowbar unpause paused
  run timeout 20 crowbar enter --cgroup paused true
  [ "$status" -eq 0 ]
}

@test "enter: a missing container" {
  run crowbar enter nosuchcontainer true
  [ "$status" -eq 125 ]
  [ "$output" = "Error: No such container: nosuchcontainer" ]
  run crowbar enter
  [ "$status" -eq 125 ]
}

@test "enter: a shell-less image has no shell without --toolbox" {
  run -127 crowbar enter bare
  [ "$status" -eq 127 ]
  [[ "$output" == *"--toolbox"* ]]
  run -127 crowbar enter bare ls /
  [ "$status" -eq 127 ]
}

@test "enter --toolbox: ls / and ps in a shell-less image, and no trace left" {
  before=$(upper_listing "$BARE_ID")
  run crowbar enter --toolbox bare ls /
  [ "$status" -eq 0 ]
  [[ "$output" == *app* ]]
  [[ "$output" != *bin* ]]
  run crowbar enter --toolbox bare ps
  [ "$status" -eq 0 ]
  [[ "$output" == *" /app"* ]]
  [[ "$(printf '%s\n' "$output" | sed -n 2p)" == *" 1 "*"/app"* ]]
  # Applets the shell does not run itself are found on PATH (the applet folder).
  run crowbar enter --toolbox bare sh -c 'cat /proc/1/cmdline; echo; grep -c "" /proc/self/mounts; sleep 0'
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = /app ]
  # PATH is the applet folder alone: no folder of the container.
  run crowbar enter --toolbox --env bare sh -c 'echo "$PATH"'
  [[ "$output" =~ ^/proc/self/fd/[0-9]+$ ]]
  # The default command: sh, reading its commands from stdin.
  run crowbar enter --toolbox bare <<<'ls /; ps; vi --help >/dev/null 2>&1; echo "vi: $?"'
  [ "$status" -eq 0 ]
  [[ "$output" == *app* ]]
  [[ "$output" == *" /app"* ]]
  [[ "$output" == *"vi: 0"* ]]
  # Nothing was written into the container's filesystem.
  [ "$(upper_listing "$BARE_ID")" = "$before" ]
  if command -v crowbar-diff >/dev/null; then
    run crowbar diff bare
    [ "$status" -eq 0 ]
    [ -z "$output" ]
  fi
  # Nor mounted in its mount namespace: the same mounts as its PID 1 sees.
  run crowbar enter --toolbox bare cat /proc/self/mounts
  [ "$status" -eq 0 ]
  [ "$output" = "$(cat /proc/"$(ctr_pid "$BARE_ID")"/mounts)" ]
}

@test "enter --toolbox: any static binary, with COMMAND as its argv[0]" {
  run crowbar enter --toolbox="$TOOLS/hello" bare greet a b
  [ "$status" -eq 0 ]
  [ "$output" = "greet a b app:yes" ]
  CROWBAR_TOOLBOX="$TOOLS/hello" run crowbar enter --toolbox bare
  [ "$output" = "sh app:yes" ]
  # Without -m the toolbox runs on the host's filesystem.
  run crowbar enter -n --toolbox="$TOOLS/hello" bare x
  [ "$output" = "x app:no" ]
}

@test "enter --toolbox: refuses what is not a static executable" {
  run crowbar enter --toolbox=/bin/ls bare ls
  [ "$status" -eq 125 ]
  [[ "$output" == *"dynamically linked"* ]]
  printf '#!/bin/sh\necho hi\n' >"$TOOLS/script"
  chmod +x "$TOOLS/script"
  run crowbar enter --toolbox="$TOOLS/script" bare
  [ "$status" -eq 125 ]
  [[ "$output" == *"is a script"* ]]
  run crowbar enter --toolbox="$TOOLS/app.c" bare
  [ "$status" -eq 125 ]
  run crowbar enter --toolbox=/nonexistent bare
  [ "$status" -eq 125 ]
}

@test "enter: --help lists every option" {
  run crowbar enter --help
  [ "$status" -eq 0 ]
  for o in --target --pid --mount --uts --ipc --net --pidns --userns --cgroupns --cgroup \
    --toolbox --env --workdir; do
    [[ "$output" == *"$o"* ]]
  done
  run crowbar enter --nosuchoption web
  [ "$status" -eq 125 ]
}
