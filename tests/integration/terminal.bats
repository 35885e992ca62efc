#!/usr/bin/env bats
# Terminals, driven through tmux as a person would: run -ti, window sizes, the detach
# keys, attach, start -ai and exec -ti.

load helpers

setup_file() {
  command -v tmux >/dev/null || skip "tmux is not installed"
  crowbar_setup_root
  import_busybox
}

setup() {
  TMUX_SOCK="crowbar-test-$$-$BATS_TEST_NUMBER"
  tmux -L "$TMUX_SOCK" new-session -d -s t -x 100 -y 30 "env -i TERM=xterm PATH=$PATH CROWBAR_ROOT=$CROWBAR_ROOT CROWBAR_RUNROOT=$CROWBAR_RUNROOT PS1='host$ ' bash --norc --noprofile"
  wait_until 30 screen_has 'host\$'
}

teardown() {
  tmux -L "$TMUX_SOCK" kill-server 2>/dev/null || true
  crowbar_remove_all
}
teardown_file() { crowbar_teardown_root; }

keys() { tmux -L "$TMUX_SOCK" send-keys -t t "$@"; }
screen() { tmux -L "$TMUX_SOCK" capture-pane -t t -p; }
screen_has() { screen | grep -qE -- "$1"; }

@test "run -ti: a shell on the container's own terminal, resized with the window" {
  keys "crowbar run -ti --name tt busybox sh" Enter
  wait_until 50 screen_has '^/ #'
  keys 'tty; stty size' Enter
  wait_until 30 screen_has '^30 100$'
  screen_has '^/dev/pts/0$'
  tmux -L "$TMUX_SOCK" resize-window -t t -x 120 -y 40
  keys 'clear; stty size' Enter
  wait_until 30 screen_has '^40 120$'
  keys 'exit 3' Enter
  wait_until 30 screen_has 'host\$$'
  keys 'echo "rc=$?"' Enter
  wait_until 30 screen_has '^rc=3$'
}

@test "ctrl-p ctrl-q detaches and leaves the container running; attach comes back" {
  keys "crowbar run -ti --name dt busybox sh" Enter
  wait_until 50 screen_has '^/ #'
  keys 'echo $((40+2))' Enter
  wait_until 30 screen_has '^42$'
  keys C-p C-q
  wait_until 30 screen_has 'host\$$'
  [ "$(ctr_status dt)" = running ]
  keys 'echo "rc=$?"; stty -a | grep -o " icanon"' Enter
  wait_until 30 screen_has '^rc=0$'
  # The terminal is back to its cooked mode.
  wait_until 30 screen_has '^ icanon$'
  keys "crowbar attach dt" Enter
  sleep 0.3
  keys 'echo back-$((6*7))' Enter
  wait_until 30 screen_has '^back-42$'
  keys 'exit 5' Enter
  wait_until 30 screen_has 'host\$$'
  keys 'echo "rc=$?"' Enter
  wait_until 30 screen_has '^rc=5$'
  [ "$(ctr_status dt)" = exited ]
}

@test "--detach-keys changes the sequence" {
  keys "crowbar run -ti --detach-keys ctrl-a,d --name dk busybox sh" Enter
  wait_until 50 screen_has '^/ #'
  keys C-p C-q 'echo still-here' Enter
  wait_until 30 screen_has '^still-here$'
  keys C-a d
  wait_until 30 screen_has 'host\$$'
  [ "$(ctr_status dk)" = running ]
}

@test "start -ai reattaches a stopped terminal container" {
  crowbar create -ti --name sa busybox sh >/dev/null
  keys "crowbar start -ai sa" Enter
  wait_until 50 screen_has '^/ #'
  keys 'echo started-$((1+1)); exit 4' Enter
  wait_until 30 screen_has '^started-2$'
  wait_until 30 screen_has 'host\$$'
  keys 'echo "rc=$?"' Enter
  wait_until 30 screen_has '^rc=4$'
}

@test "exec -ti: a shell with a terminal inside a running container" {
  crowbar run -d --name et busybox sleep 1000 >/dev/null
  keys "crowbar exec -ti et sh" Enter
  wait_until 50 screen_has '^/ #'
  keys 'tty; hostname' Enter
  wait_until 30 screen_has '^/dev/pts/[0-9]+$'
  keys 'exit 6' Enter
  wait_until 30 screen_has 'host\$$'
  keys 'echo "rc=$?"' Enter
  wait_until 30 screen_has '^rc=6$'
}

@test "run -t without -i writes through a terminal; -ti without one is refused" {
  run crowbar run --rm -t busybox sh -c 'tty; echo done'
  [ "$status" -eq 0 ]
  [[ "$output" == *"/dev/pts/0"* ]]
  run crowbar run --rm -ti busybox true </dev/null
  [ "$status" -eq 1 ]
  [ "$output" = "Error: the input device is not a TTY" ]
}
