#!/usr/bin/env bats
# crowbar diff on real containers: adds, changes, deletes, opaque folders, whole trees,
# links and devices, running/paused/stopped, the engine's mount points; and the same
# changes made in Docker, compared line for line with docker diff.

load fs_helpers

setup_file() { fs_setup_file; }
teardown_file() { fs_teardown_file; }

@test "diff: adds, changes and deletes, parents as C, sorted by path" {
  both basic -- 'echo hi > /tmp/x; rm /etc/group; mkdir -p /var/log/nginx/a; echo >> /etc/passwd'
  run crowbar diff basic
  [ "$status" -eq 0 ]
  [ "$output" = "C /etc
D /etc/group
C /etc/passwd
C /tmp
A /tmp/x
C /var
C /var/log
A /var/log/nginx
A /var/log/nginx/a" ]
}

@test "diff: same lines as docker diff for adds, changes and deletes" {
  need_docker
  crowbar diff basic >"$BATS_TEST_TMPDIR/c"
  docker_diff_sorted basic >"$BATS_TEST_TMPDIR/d"
  same_or_show "$BATS_TEST_TMPDIR/c" "$BATS_TEST_TMPDIR/d"
}

@test "diff: an opaque folder (removed and made again) is C, its old entries D" {
  both opaque -- 'rm -rf /home && mkdir /home && touch /home/new'
  # The upper dir holds an opaque folder, not whiteouts.
  run python3 -c 'import os,sys; print(os.getxattr(sys.argv[1] + "/home", "trusted.overlay.opaque"))' \
    "$(upper_of opaque)"
  [ "$output" = "b'y'" ]
  run crowbar diff opaque
  [ "$status" -eq 0 ]
  [ "$output" = "C /home
D /home/app
A /home/new" ]
  if [ "$DOCKER" = 1 ]; then
    docker_diff_sorted opaque >"$BATS_TEST_TMPDIR/d"
    printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/c"
    same_or_show "$BATS_TEST_TMPDIR/c" "$BATS_TEST_TMPDIR/d"
  fi
}

@test "diff: a folder removed and made again the same is no change" {
  both sameagain -- 'rm -rf /usr/local && mkdir -p /usr/local/bin'
  run crowbar diff sameagain
  [ "$status" -eq 0 ]
  [ -z "$output" ]
}

@test "diff: a deleted tree is one D line" {
  both tree -- 'rm -rf /usr /var/tmp'
  run crowbar diff tree
  [ "$status" -eq 0 ]
  [ "$output" = "D /usr
C /var
D /var/tmp" ]
}

@test "diff: hard links, symlinks, devices, FIFOs, type changes; copy-ups that change nothing" {
  both kinds -- 'ln /etc/group /tmp/hl; ln -s /nowhere /tmp/sl; mknod /tmp/null c 1 3;
    mkfifo /tmp/fifo; chown 0:0 /etc/passwd; touch /etc; rm -rf /root; echo > /root;
    rm /bin/ls; mkdir /bin/ls; chmod 700 /opt; chown 1000 /run'
  run crowbar diff kinds
  [ "$status" -eq 0 ]
  # /etc/group hard linked and /etc/passwd chowned to the same owner were copied up, but
  # nothing about them changed: no line for them, nor for /etc.
  [ "$output" = "C /bin
C /bin/ls
C /opt
C /root
C /run
C /tmp
A /tmp/fifo
A /tmp/hl
A /tmp/null
A /tmp/sl" ]
  if [ "$DOCKER" = 1 ]; then
    docker_diff_sorted kinds >"$BATS_TEST_TMPDIR/d"
    printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/c"
    same_or_show "$BATS_TEST_TMPDIR/c" "$BATS_TEST_TMPDIR/d"
  fi
}

@test "diff: docker diff agrees on a mix of everything" {
  need_docker
  local cmds=(
    'echo > /home/app/f; rm /home/app/f'
    'mkdir -p /a/b/c; rm -rf /a; mkdir -p /tmp/q/r; touch /tmp/q/r/s; rm -rf /tmp/q/r'
    'rm -rf /bin && /usr/bin/env true'
    'rm /etc/passwd /etc/group; mkdir /etc/passwd; echo > /etc/passwd/x; rm -rf /opt; mkdir -p /opt/x/y/z'
    'for i in $(seq 1 300); do echo $i > /tmp/f$i; done; rm /tmp/f7; mkdir /tmp/d; mv /tmp/f9 /tmp/d/'
    'cp -a /etc /etc2; mv /etc/os-release /etc/os; touch -d 2001-01-01 /etc/os; ln -sf /x /bin/sh'
  )
  local i=0 fail=0
  for c in "${cmds[@]}"; do
    i=$((i + 1))
    both "mix$i" -- "$c"
    crowbar diff "mix$i" >"$BATS_TEST_TMPDIR/c$i"
    docker_diff_sorted "mix$i" >"$BATS_TEST_TMPDIR/d$i"
    if ! same_or_show "$BATS_TEST_TMPDIR/c$i" "$BATS_TEST_TMPDIR/d$i"; then
      echo "for: $c"
      fail=1
    fi
  done
  [ "$fail" -eq 0 ]
}

@test "diff: the engine's mount points never show, nor do volumes and bind mounts" {
  mkdir -p "$BATS_TEST_TMPDIR/vol"
  both mounts -v "$BATS_TEST_TMPDIR/vol:/srv/data" -- \
    'echo in-volume > /srv/data/f; echo x > /etc/hosts; ls /proc /sys /dev >/dev/null; touch /tmp/t'
  [ "$(cat "$BATS_TEST_TMPDIR/vol/f")" = in-volume ]
  run crowbar diff mounts
  [ "$status" -eq 0 ]
  # cli.md: no mount point shows. (Docker 20.10 shows the folders it made for them as A:
  # "A /srv", "A /srv/data"; the rest is the same.)
  [ "$output" = "C /tmp
A /tmp/t" ]
  if [ "$DOCKER" = 1 ]; then
    docker_diff_sorted mounts | grep -v -e ' /srv$' -e ' /srv/data$' >"$BATS_TEST_TMPDIR/d"
    printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/c"
    same_or_show "$BATS_TEST_TMPDIR/c" "$BATS_TEST_TMPDIR/d"
  fi
}

@test "diff: mount points: the folders made to hold them go, a parent C only because of them goes" {
  mkdir -p "$BATS_TEST_TMPDIR/v1" "$BATS_TEST_TMPDIR/v2" "$BATS_TEST_TMPDIR/v3"
  echo file >"$BATS_TEST_TMPDIR/bindfile"
  # /a/b/c: three folders the engine makes; /etc/extra in an existing folder; /tmp/keep/m
  # beside a file the container writes (so /tmp/keep stays, as A); a file bind mount; a
  # named volume; writes below a mount point's own folder in the image (/var/log/m).
  crowbar run --name hide -v "$BATS_TEST_TMPDIR/v1:/a/b/c" -v "$BATS_TEST_TMPDIR/v2:/etc/extra" \
    -v "$BATS_TEST_TMPDIR/v3:/tmp/keep/m" -v "$BATS_TEST_TMPDIR/bindfile:/home/app/bound" \
    -v hidevol:/var/log/m:ro busybox \
    sh -c 'echo x > /tmp/keep/own; echo y > /a/b/c/in-volume; cat /home/app/bound' >/dev/null
  [ -e "$(upper_of hide)/a/b/c" ]
  run crowbar diff hide
  [ "$status" -eq 0 ]
  [ "$output" = "C /tmp
A /tmp/keep
A /tmp/keep/own" ]
  # A change of the container's own beside a mount point still shows, its parents too.
  crowbar run --name hide2 -v "$BATS_TEST_TMPDIR/v2:/etc/extra" busybox sh -c 'echo >> /etc/passwd'
  run crowbar diff hide2
  [ "$output" = "C /etc
C /etc/passwd" ]
}

@test "diff: running, paused and stopped give the same answer" {
  crowbar run -d --name live busybox sh -c 'mkdir /data; echo x > /data/f; rm /etc/group; sleep 1000' >/dev/null
  wait_until 50 test -e "$(upper_of live)/data/f"
  want="A /data
A /data/f
C /etc
D /etc/group"
  run crowbar diff live
  [ "$status" -eq 0 ]
  [ "$output" = "$want" ]
  crowbar pause live
  run crowbar diff live
  [ "$status" -eq 0 ]
  [ "$output" = "$want" ]
  [ "$(ctr_status live)" = paused ]
  crowbar unpause live
  crowbar stop -t 0 live >/dev/null
  run crowbar diff live
  [ "$status" -eq 0 ]
  [ "$output" = "$want" ]
}

@test "diff: a created container (never started) has no changes" {
  crowbar create --name fresh busybox true >/dev/null
  run crowbar diff fresh
  [ "$status" -eq 0 ]
  [ -z "$output" ]
}

@test "diff --format json: one object per line; a template over .Kind and .Path" {
  run crowbar diff --format json basic
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = '{"Kind":"C","Path":"/etc"}' ]
  [ "${lines[1]}" = '{"Kind":"D","Path":"/etc/group"}' ]
  [ "${#lines[@]}" -eq 9 ]
  run crowbar diff --format '{{.Path}}' basic
  [ "${lines[0]}" = /etc ]
  run crowbar diff --format '{{.Nope}}' basic
  [ "$status" -eq 1 ]
  [[ "$output" == Error:* ]]
}

@test "diff: a path with spaces and non-ASCII bytes comes out as it is" {
  both names -- 'mkdir "/tmp/a b"; touch "/tmp/a b/caf$(printf "\303\251")"'
  run crowbar diff names
  [ "$status" -eq 0 ]
  [ "${lines[1]}" = "A /tmp/a b" ]
  [ "${lines[2]}" = "A /tmp/a b/café" ]
  run crowbar diff --format json names
  [ "${lines[2]}" = '{"Kind":"A","Path":"/tmp/a b/café"}' ]
}

@test "diff: many files, sorted by path byte order" {
  crowbar run --name many busybox sh -c 'mkdir -p /w/a /w/a-b /w/a0; for i in $(seq 1 500); do touch /w/a/$i /w/a-b/$i /w/a0/$i; done' >/dev/null
  run crowbar diff many
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 1504 ]
  crowbar diff many | LC_ALL=C sort -c -k2
}

@test "diff: errors: no such container, no argument, unknown flag" {
  run crowbar diff nosuch
  [ "$status" -eq 1 ]
  [ "$output" = "Error: No such container: nosuch" ]
  run crowbar diff
  [ "$status" -eq 1 ]
  [[ "${lines[0]}" == 'Error: "crowbar diff" requires exactly 1 argument.' ]]
  run crowbar diff --bogus basic
  [ "$status" -eq 125 ]
  [[ "${lines[0]}" == "Error: unknown flag: --bogus" ]]
  run crowbar diff --help
  [ "$status" -eq 0 ]
  [[ "$output" == *"--format"* ]]
}
