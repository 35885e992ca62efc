#!/usr/bin/env bats
# crowbar export on real containers: the file list against docker export, what tar and
# bsdtar read back (owners, modes, times, links, devices, xattrs), running/paused/stopped,
# no mount on the host during or after, -o made whole or not at all, write errors.

load fs_helpers

setup_file() {
  fs_setup_file
  both kinds -- 'echo hello > /tmp/x; rm /etc/group; mkdir -p /var/log/nginx;
    ln /etc/passwd /tmp/hl; ln -s /nowhere /tmp/sl; mknod /tmp/null c 1 3;
    mknod /tmp/blk b 7 0; mkfifo /tmp/fifo; rm -rf /home; mkdir /home; touch /home/new;
    mkdir /data; chown 1000:1000 /data; echo s > /data/suid; chmod 4755 /data/suid;
    touch -d "2001-02-03 04:05:06" /data/suid; rm -rf /usr/local'
}
teardown_file() { fs_teardown_file; }

@test "export: the same file list as docker export (but Docker's .dockerenv and dev/console)" {
  need_docker
  crowbar export kinds | tar -t | LC_ALL=C sort >"$BATS_TEST_TMPDIR/c"
  # Docker's init layer also has /.dockerenv and /dev/console; crowbar's engine does not
  # make those.
  docker export "$(dname kinds)" | tar -t | grep -vxE '\.dockerenv|dev/console' |
    LC_ALL=C sort >"$BATS_TEST_TMPDIR/d"
  same_or_show "$BATS_TEST_TMPDIR/c" "$BATS_TEST_TMPDIR/d"
}

@test "export: what the container sees: its writes in, its deletions out, stubs for mounts" {
  crowbar export kinds >"$BATS_TEST_TMPDIR/k.tar"
  run tar -tf "$BATS_TEST_TMPDIR/k.tar"
  [ "$status" -eq 0 ]
  [[ "$output" == *$'\ntmp/x\n'* ]]
  [[ "$output" == *$'\nhome/new\n'* ]]
  [[ "$output" != *"etc/group"* ]]
  [[ "$output" != *"home/app"* ]]
  [[ "$output" != *"usr/local"* ]]
  [[ "$output" == *$'\nproc/\n'* ]]
  [[ "$output" != *"proc/self"* ]]
  [[ "$output" != *"dev/null"* ]]
  # No entry for the root itself, no "./" prefix.
  [[ "${lines[0]}" == bin/ ]]
  [ "$(tar -xOf "$BATS_TEST_TMPDIR/k.tar" tmp/x)" = hello ]
  # The init layer's stubs: an empty /etc/hosts, not the host's or the container's file.
  [ -z "$(tar -xOf "$BATS_TEST_TMPDIR/k.tar" etc/hosts)" ]
}

@test "export: owners, modes, times, links and devices as tar tv and bsdtar read them" {
  crowbar export kinds >"$BATS_TEST_TMPDIR/k.tar"
  run tar -tvf "$BATS_TEST_TMPDIR/k.tar"
  [ "$status" -eq 0 ]
  [[ "$output" == *"drwxr-xr-x 1000/1000 "*" data/"* ]]
  [[ "$output" == *"-rwsr-xr-x 0/0 "*" 2001-02-03 04:05 data/suid"* ]]
  [[ "$output" == *" etc/passwd"* ]]
  [[ "$output" == *"tmp/hl link to etc/passwd"* ]]
  [[ "$output" == *"tmp/sl -> /nowhere"* ]]
  [[ "$output" == *"crw-r--r-- 0/0 "*"1,3 "*"tmp/null"* ]]
  [[ "$output" == *"brw-r--r-- 0/0 "*"7,0 "*"tmp/blk"* ]]
  [[ "$output" == *"prw-r--r-- 0/0 "*"tmp/fifo"* ]]
  run bsdtar -tvf "$BATS_TEST_TMPDIR/k.tar"
  [ "$status" -eq 0 ]
  [[ "$output" == *"tmp/hl link to etc/passwd"* ]]
  # Extracted again, it is the same tree.
  mkdir "$BATS_TEST_TMPDIR/x"
  tar -xpf "$BATS_TEST_TMPDIR/k.tar" -C "$BATS_TEST_TMPDIR/x" --numeric-owner
  [ "$(stat -c '%a %u:%g %Y' "$BATS_TEST_TMPDIR/x/data/suid")" = "4755 0:0 $(date -d '2001-02-03 04:05:06' +%s)" ]
  [ "$(stat -c %i "$BATS_TEST_TMPDIR/x/tmp/hl")" = "$(stat -c %i "$BATS_TEST_TMPDIR/x/etc/passwd")" ]
  [ "$(stat -c '%F %t,%T' "$BATS_TEST_TMPDIR/x/tmp/null")" = "character special file 1,3" ]
}

@test "export: xattrs travel (but overlay's own)" {
  crowbar run --name xa busybox sh -c 'echo x > /tmp/xa; mkdir /tmp/dir' >/dev/null
  up=$(upper_of xa)
  python3 -c 'import os,sys
os.setxattr(sys.argv[1] + "/tmp/xa", "user.note", b"crash site")
os.setxattr(sys.argv[1] + "/tmp/xa", "security.capability",
            bytes.fromhex("0100000200200000000000000000000000000000"))' "$up"
  crowbar export xa >"$BATS_TEST_TMPDIR/xa.tar"
  run tar --xattrs --xattrs-include='*' -tvvf "$BATS_TEST_TMPDIR/xa.tar" tmp/xa
  [ "$status" -eq 0 ]
  [[ "$output" == *"user.note"* ]]
  [[ "$output" == *"security.capability"* ]]
  run tar --xattrs --xattrs-include='*' -tvvf "$BATS_TEST_TMPDIR/xa.tar"
  [[ "$output" != *"trusted.overlay"* ]]
  mkdir "$BATS_TEST_TMPDIR/xx"
  tar --xattrs --xattrs-include='user.*' -xf "$BATS_TEST_TMPDIR/xa.tar" -C "$BATS_TEST_TMPDIR/xx" tmp/xa
  run python3 -c 'import os,sys; print(os.getxattr(sys.argv[1], "user.note").decode())' "$BATS_TEST_TMPDIR/xx/tmp/xa"
  [ "$output" = "crash site" ]
}

@test "export: running and paused containers, read through their own root mount" {
  mkdir -p "$BATS_TEST_TMPDIR/vol"
  echo host-file >"$BATS_TEST_TMPDIR/vol/v"
  crowbar run -d --name live -v "$BATS_TEST_TMPDIR/vol:/srv" busybox \
    sh -c 'echo alive > /tmp/live; sleep 1000' >/dev/null
  wait_until 50 test -e "$(upper_of live)/tmp/live"
  before=$(host_mounts)
  run sh -c 'crowbar export live | tar -t'
  [ "$status" -eq 0 ]
  [[ "$output" == *$'\ntmp/live\n'* ]]
  # Mounts are not followed: the volume's contents, /proc's and /dev's are not there.
  [[ "$output" == *$'\nsrv/\n'* ]]
  [[ "$output" != *"srv/v"* ]]
  [[ "$output" != *"proc/1"* ]]
  [[ "$output" != *"dev/null"* ]]
  crowbar pause live
  run sh -c 'crowbar export live | tar -xOf - tmp/live'
  [ "$status" -eq 0 ]
  [ "$output" = alive ]
  [ "$(ctr_status live)" = paused ]
  crowbar unpause live
  [ "$(host_mounts)" = "$before" ]
}

@test "export: a stopped container's private mount never shows on the host, during or after" {
  crowbar run --name big busybox sh -c 'mkdir /big; i=0; while [ $i -lt 300 ]; do echo $i > /big/$i; i=$((i+1)); done' >/dev/null
  before=$(host_mounts)
  rm -f "$BATS_TEST_TMPDIR/fifo"
  mkfifo "$BATS_TEST_TMPDIR/fifo"
  # A reader that waits: the export is open (and its overlay mounted) meanwhile.
  crowbar export big >"$BATS_TEST_TMPDIR/fifo" 3>&- &
  pid=$!
  exec 8<"$BATS_TEST_TMPDIR/fifo"
  head -c 1024 <&8 >"$BATS_TEST_TMPDIR/part"
  during=$(host_mounts)
  # Nor in any other mount namespace of the host: the mount is detached.
  ! grep -q "$CROWBAR_ROOT" /proc/1/mountinfo
  { cat "$BATS_TEST_TMPDIR/part"; cat <&8; } | tar -t >"$BATS_TEST_TMPDIR/list"
  exec 8<&-
  wait "$pid"
  [ "$during" = "$before" ]
  [ "$(host_mounts)" = "$before" ]
  [ "$(grep -c '^big/' "$BATS_TEST_TMPDIR/list")" -eq 301 ]
  # Nothing left under the runroot either.
  ! ls "$CROWBAR_RUNROOT"/*/rootfs-tool.* 2>/dev/null
}

@test "export: a stopped container cannot be started while it is being exported" {
  rm -f "$BATS_TEST_TMPDIR/fifo"
  mkfifo "$BATS_TEST_TMPDIR/fifo"
  crowbar export big >"$BATS_TEST_TMPDIR/fifo" 3>&- &
  pid=$!
  exec 8<"$BATS_TEST_TMPDIR/fifo"
  head -c 512 <&8 >/dev/null
  crowbar start big >/dev/null 3>&- &
  spid=$!
  sleep 0.3
  # start waits for the export's lock.
  [ "$(ctr_status big)" = exited ]
  cat <&8 >/dev/null
  exec 8<&-
  wait "$pid"
  wait "$spid"
}

@test "export -o: the file appears whole; a failed export leaves nothing" {
  out="$BATS_TEST_TMPDIR/out"
  mkdir "$out"
  run crowbar export -o "$out/k.tar" kinds
  [ "$status" -eq 0 ]
  [ -z "$output" ]
  tar -tf "$out/k.tar" | grep -qx tmp/x
  [ "$(ls -A "$out")" = k.tar ]
  # An existing file is replaced only by a complete export.
  echo old >"$out/keep.tar"
  run crowbar export -o "$out/keep.tar" nosuch
  [ "$status" -eq 1 ]
  [ "$output" = "Error: No such container: nosuch" ]
  [ "$(cat "$out/keep.tar")" = old ]
  [ "$(ls -A "$out" | sort | tr '\n' ' ')" = "k.tar keep.tar " ]
  run crowbar export -o "$BATS_TEST_TMPDIR/no/such/dir/k.tar" kinds
  [ "$status" -eq 1 ]
  [[ "$output" == Error:* ]]
}

@test "export -o: a device, a FIFO or a socket is written into, never replaced" {
  local d="$BATS_TEST_TMPDIR"
  # A character device: a private /dev/null, which a rename would turn into a file.
  mknod "$d/null" c 1 3
  crowbar export -o "$d/null" kinds
  [ -c "$d/null" ]
  [ "$(stat -c '%t:%T' "$d/null")" = 1:3 ]
  # A FIFO, read by someone else.
  mkfifo "$d/fifo"
  timeout 60 cat "$d/fifo" >"$d/fromfifo" 3>&- &
  crowbar export -o "$d/fifo" kinds
  wait
  [ -p "$d/fifo" ]
  tar -tf "$d/fromfifo" | grep -qx tmp/x
  # /dev/stdout when stdout is a socket (a service manager's journal).
  python3 - <<'PY'
import socket, subprocess, sys
a, b = socket.socketpair()
p = subprocess.Popen(["crowbar", "export", "-o", "/dev/stdout", "kinds"], stdout=b)
b.close()
data = b""
while True:
    chunk = a.recv(1 << 16)
    if not chunk:
        break
    data += chunk
sys.exit(0 if p.wait() == 0 and b"tmp/x" in data else 1)
PY
  # Nothing else was made beside them.
  [ "$(ls -A "$d" | sort | tr '\n' ' ')" = "fifo fromfifo null " ]
}

@test "export -o: through a symlink the file it names is replaced, the link stays; a folder is refused" {
  local d="$BATS_TEST_TMPDIR"
  echo old >"$d/k.tar"
  ln -s k.tar "$d/link"
  crowbar export -o "$d/link" kinds
  [ -L "$d/link" ]
  [ "$(readlink "$d/link")" = k.tar ]
  tar -tf "$d/k.tar" | grep -qx tmp/x
  run crowbar export -o "$d" kinds
  [ "$status" -eq 1 ]
  [[ "$output" == *"Is a directory"* ]]
  [ "$(ls -A "$d" | sort | tr '\n' ' ')" = "k.tar link " ]
}

@test "export: a full disk or a closed pipe is an error (exit 1)" {
  run sh -c 'crowbar export kinds >/dev/full'
  [ "$status" -eq 1 ]
  [[ "$output" == *"No space left on device"* ]]
  run bash -c 'crowbar export kinds | head -c 10 >/dev/null; echo "${PIPESTATUS[0]}"'
  [ "${lines[-1]}" = 1 ]
  [[ "$output" == *"Broken pipe"* ]]
}

@test "export: refuses to write to a terminal" {
  command -v script >/dev/null || skip "script(1) is not installed"
  run script -qec "crowbar export kinds" /dev/null
  [[ "$output" == *"cowardly refusing to save to a terminal"* ]]
}

@test "export: errors and help" {
  run crowbar export
  [ "$status" -eq 1 ]
  [[ "${lines[0]}" == 'Error: "crowbar export" requires exactly 1 argument.' ]]
  run crowbar export --help
  [ "$status" -eq 0 ]
  [[ "$output" == *"--output"* ]]
}
