#!/usr/bin/env bats
# crowbar cp: docker cp's rules, on running, paused and stopped containers, and hostile
# containers that try to make it read or write on the host (CVE-2018-15664's class).
#
# Every hostile case plants a unique marker on the host at the very path the container
# names (HOSTSECRET, HOSTDIR): a copy that leaks shows the marker, a write that escapes
# shows up in HOSTDIR.

load helpers

setup_file() {
  crowbar_setup_root
  import_busybox
  HOSTSECRET=/tmp/crowbar-hostsecret-$$
  HOSTDIR=/tmp/crowbar-hostdir-$$
  HOSTONLY=/tmp/crowbar-hostonly-$$
  HOSTMARK="HOST-SECRET-$$"
  echo "$HOSTMARK" >"$HOSTSECRET"
  echo "HOST-ONLY-$$" >"$HOSTONLY"
  mkdir -p "$HOSTDIR"
  export HOSTSECRET HOSTDIR HOSTONLY HOSTMARK
  crowbar run -d --name web busybox sleep 100000 >/dev/null
  crowbar exec web sh -c "
    mkdir -p /d/sub /tmp && echo hi >/d/a && echo b >/d/sub/b && chown 1000:1000 /d/a &&
    chmod 4750 /d/sub/b && ln -s a /d/rel && echo f >/f && chown 1000:1000 /f &&
    ln -s /etc/passwd /lnk && ln -s /d /dlnk &&
    mkdir -p $(dirname "$HOSTSECRET") $HOSTDIR && echo container-secret >$HOSTSECRET &&
    ln -s $HOSTSECRET /evil && ln -s ../../../../../..$HOSTSECRET /d/sub/evilrel &&
    ln -s $HOSTONLY /evil2 && ln -s $HOSTDIR /out && ln -s /proc/1/root /magic"
  WORK=$(mktemp -d /tmp/crowbar-cp-work.XXXXXX)
  export WORK
}

teardown_file() {
  crowbar_teardown_root
  rm -rf "$HOSTSECRET" "$HOSTDIR" "$HOSTONLY" "$WORK"
}

setup() {
  rm -rf "${WORK:?}"/*
  cd "$WORK"
}

# The host folder the container names must stay empty, the host secret intact.
host_untouched() {
  [ -z "$(ls -A "$HOSTDIR")" ] || { echo "written on the host: $(ls -A "$HOSTDIR")"; return 1; }
  [ "$(cat "$HOSTSECRET")" = "$HOSTMARK" ]
}

# ---- functional ------------------------------------------------------------------------

@test "cp: a file out of a running container" {
  run crowbar cp web:/d/a out
  [ "$status" -eq 0 ] && [ -z "$output" ]
  [ "$(cat out)" = hi ]
  # Without -a, the copy belongs to the caller.
  [ "$(stat -c %u:%g out)" = 0:0 ]
  run crowbar cp web:/d/a .
  [ "$status" -eq 0 ]
  [ "$(cat a)" = hi ]
}

@test "cp: a folder out, to a new name and into an existing folder" {
  crowbar cp web:/d new
  [ "$(cat new/a)" = hi ] && [ "$(cat new/sub/b)" = b ]
  [ "$(stat -c %a new/sub/b)" = 4750 ]
  [ "$(readlink new/rel)" = a ]
  mkdir existing
  crowbar cp web:/d existing
  [ "$(cat existing/d/a)" = hi ]
}

@test "cp: SRC/. copies a folder's contents" {
  mkdir into
  crowbar cp web:/d/. into
  [ "$(cat into/a)" = hi ] && [ ! -e into/d ]
  crowbar cp web:/d/. fresh
  [ "$(cat fresh/a)" = hi ]
}

@test "cp: a tar stream out to -, read by tar" {
  run bash -c "crowbar cp web:/d - | tar -tf - | sort"
  [ "$status" -eq 0 ]
  [ "$output" = "$(printf 'd/\nd/a\nd/rel\nd/sub/\nd/sub/b\nd/sub/evilrel')" ]
  run bash -c "crowbar cp web:/d/. - | tar -tf - | sort | head -2"
  [ "$output" = "$(printf './\n./a')" ]
  run bash -c "crowbar cp web:/f - | tar -tvf -"
  [[ "$output" == "-rw-r--r-- 1000/1000"*" f" ]]
  run bash -c "crowbar cp web:/d - | tar -xOf - d/sub/b"
  [ "$output" = b ]
}

@test "cp: a tar stream in from -, plain or compressed" {
  mkdir -p t/sub && echo one >t/one && echo two >t/sub/two && chown 1000:1000 t/one
  tar -cf - -C t . | crowbar cp - web:/tmp
  [ "$(crowbar exec web cat /tmp/one /tmp/sub/two)" = "$(printf 'one\ntwo')" ]
  # Without -a, the container's root owns what comes in; with -a, the tar's owners.
  [ "$(crowbar exec web stat -c %u /tmp/one)" = 0 ]
  tar -czf - -C t one | crowbar cp -a - web:/d/sub
  [ "$(crowbar exec web stat -c %u:%g /d/sub/one)" = 1000:1000 ]
  run bash -c "tar -cf - -C t one | crowbar cp - web:/f"
  [ "$status" -eq 1 ]
  [ "$output" = 'Error: destination "web:/f" must be a directory' ]
  run bash -c "echo garbage | crowbar cp - web:/tmp"
  [ "$status" -eq 1 ] && [[ "$output" == "Error: invalid tar archive"* ]]
}

@test "cp: a file and a folder into a container" {
  echo fix >fix.conf && chown 1000:1000 fix.conf
  crowbar cp ./fix.conf web:/etc/
  [ "$(crowbar exec web cat /etc/fix.conf)" = fix ]
  [ "$(crowbar exec web stat -c %u:%g /etc/fix.conf)" = 0:0 ]
  crowbar cp fix.conf web:/tmp/renamed.conf
  [ "$(crowbar exec web cat /tmp/renamed.conf)" = fix ]
  mkdir -p dir/sub && echo y >dir/sub/y && ln -s sub/y dir/link
  crowbar cp dir web:/tmp/
  [ "$(crowbar exec web cat /tmp/dir/sub/y)" = y ]
  [ "$(crowbar exec web readlink /tmp/dir/link)" = sub/y ]
  crowbar cp dir web:/tmp/dir2
  [ "$(crowbar exec web cat /tmp/dir2/sub/y)" = y ]
  # Over an existing file: replaced.
  echo new >fix.conf
  crowbar cp fix.conf web:/etc/fix.conf
  [ "$(crowbar exec web cat /etc/fix.conf)" = new ]
}

@test "cp: -a keeps owners both ways" {
  echo x >owned && chown 1234:5678 owned
  crowbar cp -a owned web:/tmp/owned
  [ "$(crowbar exec web stat -c %u:%g /tmp/owned)" = 1234:5678 ]
  crowbar cp -a web:/d/a kept
  [ "$(stat -c %u:%g kept)" = 1000:1000 ]
}

@test "cp: -L follows a symlink source; without it the link itself is copied" {
  crowbar cp web:/lnk link
  [ "$(readlink link)" = /etc/passwd ]
  crowbar cp -L web:/lnk followed
  [ ! -L followed ] && grep -q '^root:' followed
  # With -L the copy is named after the link (Docker names a stream after the target).
  run bash -c "crowbar cp -L web:/lnk - | tar -tf -"
  [ "$output" = lnk ]
  ln -s "$WORK/fix" hostlink && echo fixed >fix
  crowbar cp -L hostlink web:/tmp/
  [ "$(crowbar exec web cat /tmp/hostlink)" = fixed ]
  crowbar cp hostlink web:/tmp/hostlink2
  [ "$(crowbar exec web readlink /tmp/hostlink2)" = "$WORK/fix" ]
}

@test "cp: docker's destination rules and errors" {
  echo f >file
  run crowbar cp web:/d file
  [ "$status" -eq 1 ] && [ "$output" = "Error: cannot copy directory" ]
  run crowbar cp web:/f nodir/
  [ "$status" -eq 1 ] && [ "$output" = "Error: no such directory" ]
  run crowbar cp web:/f missing/x
  [ "$status" -eq 1 ]
  [ "$output" = "Error: invalid output path: directory \"$WORK/missing\" does not exist" ]
  run crowbar cp web:/f/ .
  [ "$status" -eq 1 ] && [ "$output" = "Error: lstat /f/: not a directory" ]
  run crowbar cp file web:/nope/x
  [ "$status" -eq 1 ] && [ "$output" = "Error: No such container:path: web:/nope" ]
  mkdir d
  run crowbar cp d web:/f
  [ "$status" -eq 1 ] && [ "$output" = "Error: cannot copy directory" ]
  crowbar exec web mkdir -p /tmp/cf/file
  run crowbar cp file web:/tmp/cf
  [ "$status" -eq 1 ]
  [ "$output" = 'Error: cannot overwrite directory "/tmp/cf/file" with non-directory "/tmp/cf"' ]
  run crowbar cp web:/f /dev/null
  [ "$status" -eq 1 ] && [[ "$output" == *"must be a directory or a regular file"* ]]
}

@test "cp: a missing source is an error and creates nothing" {
  run crowbar cp web:/nope out
  [ "$status" -eq 1 ]
  [ "$output" = "Error: No such container:path: web:/nope" ]
  [ ! -e out ]
  run crowbar cp nofile web:/tmp/
  [ "$status" -eq 1 ]
  [ "$output" = "Error: lstat $WORK/nofile: no such file or directory" ]
  run crowbar cp web:/nope -
  [ "$status" -eq 1 ] && [ "${#lines[@]}" -eq 1 ]
}

@test "cp: a missing container, usage errors" {
  run crowbar cp nope:/etc .
  [ "$status" -eq 1 ] && [ "$output" = "Error: No such container: nope" ]
  run crowbar cp /etc /tmp
  [ "$status" -eq 1 ] && [ "$output" = "Error: must specify at least one container source" ]
  run crowbar cp web:/etc web:/tmp
  [ "$status" -eq 1 ] && [ "$output" = "Error: copying between containers is not supported" ]
  run crowbar cp web:/etc
  [ "$status" -eq 1 ] && [[ "${lines[0]}" == *"requires exactly 2 arguments"* ]]
  run crowbar cp --bogus a b
  [ "$status" -eq 125 ] && [[ "${lines[0]}" == "Error: unknown flag: --bogus" ]]
  # "./x:y" and "/x:y" are local paths.
  echo z >'a:b'
  crowbar cp ./a:b web:/tmp/colon
  [ "$(crowbar exec web cat /tmp/colon)" = z ]
}

@test "cp: lost output exits 1" {
  run bash -c "crowbar cp web:/bin - >/dev/full"
  [ "$status" -eq 1 ] && [ "${#lines[@]}" -eq 1 ] && [[ "$output" == Error:* ]]
  crowbar exec web sh -c 'head -c 16777216 /dev/zero >/tmp/zeros'
  run bash -c "crowbar cp web:/tmp/zeros - 2>/dev/null | head -c 10 >/dev/null; echo \${PIPESTATUS[0]}"
  [ "$output" = 1 ]
}

@test "cp: a large file streams both ways" {
  head -c 64m /dev/urandom >big
  crowbar cp big web:/tmp/big
  crowbar cp web:/tmp/big back
  cmp big back
  run bash -c "crowbar cp web:/tmp/big - | tar -xOf - big | cmp - big"
  [ "$status" -eq 0 ]
}

@test "cp: a stopped container, in and out; writes land in its upper dir" {
  crowbar run -d --name stopped busybox sh -c 'echo made >/made; sleep 1000' >/dev/null
  wait_until 50 crowbar exec stopped test -e /made
  crowbar stop -t 0 stopped >/dev/null
  crowbar cp stopped:/made made
  [ "$(cat made)" = made ]
  echo in >in
  crowbar cp in stopped:/tmp/in
  upper=$(crowbar inspect -f '{{.GraphDriver.Data.UpperDir}}' stopped)
  [ "$(cat "$upper/tmp/in")" = in ]
  ! grep -q " $CROWBAR_ROOT" /proc/self/mounts
  crowbar start stopped >/dev/null
  [ "$(crowbar exec stopped cat /tmp/in)" = in ]
  crowbar rm -f stopped >/dev/null
}

@test "cp: a paused container" {
  crowbar pause web >/dev/null
  echo p >p
  crowbar cp p web:/tmp/p
  crowbar cp web:/tmp/p back
  crowbar unpause web >/dev/null
  [ "$(cat back)" = p ]
}

@test "cp: a read-only root is refused as Docker does, a writable volume is not" {
  mkdir -p "$WORK/vol" "$WORK/rovol"
  crowbar run -d --read-only --name ro -v "$WORK/vol:/vol" -v "$WORK/rovol:/rovol:ro" busybox sleep 1000 >/dev/null
  echo v >v
  run crowbar cp v ro:/tmp/
  [ "$status" -eq 1 ] && [ "$output" = "Error: container rootfs is marked read-only" ]
  crowbar cp v ro:/vol/
  [ "$(cat "$WORK/vol/v")" = v ]
  run crowbar cp v ro:/rovol/
  [ "$status" -eq 1 ] && [ "$output" = "Error: mounted volume is marked read-only" ]
  crowbar rm -f ro >/dev/null
}

# ---- hostile containers ------------------------------------------------------------------

@test "hostile: an absolute symlink to a host path reads the container's file, never the host's" {
  crowbar cp web:/evil link
  [ "$(readlink link)" = "$HOSTSECRET" ]
  crowbar cp -L web:/evil followed
  [ "$(cat followed)" = container-secret ]
  run bash -c "crowbar cp -L web:/evil - | tar -xOf -"
  [ "$output" = container-secret ]
  # The same through a relative link that climbs "above" the root, and through a folder.
  crowbar cp -L web:/d/sub/evilrel rel
  [ "$(cat rel)" = container-secret ]
  crowbar cp web:/d tree
  [ "$(readlink tree/sub/evilrel)" = "../../../../../..$HOSTSECRET" ]
  # A link to a path only the host has: nothing, not the host's file.
  run crowbar cp -L web:/evil2 leak
  [ "$status" -eq 1 ] && [ ! -e leak ]
  ! grep -rq "HOST-" .
}

@test "hostile: '..' cannot climb out of the container" {
  crowbar cp web:/../../../etc/hostname hn
  [ "$(cat hn)" = "$(crowbar exec web hostname)" ]
  [ "$(cat hn)" != "$(hostname)" ]
  echo climb >climb
  crowbar cp climb web:/../../tmp/crowbar-cp-climb-$$
  [ "$(crowbar exec web cat /tmp/crowbar-cp-climb-$$)" = climb ]
  [ ! -e /tmp/crowbar-cp-climb-$$ ]
  tar -cf - climb | crowbar cp - web:/../../../tmp
  [ "$(crowbar exec web cat /tmp/climb)" = climb ]
}

@test "hostile: a symlinked destination folder to a host path is written inside the container" {
  echo into >file
  crowbar cp file web:/out/
  crowbar cp file web:/out/renamed
  tar -cf - file | crowbar cp - web:/out/sub 2>/dev/null || true
  tar -cf - file | crowbar cp - web:/out
  [ "$(crowbar exec web cat "$HOSTDIR/file" "$HOSTDIR/renamed")" = "$(printf 'into\ninto')" ]
  host_untouched
}

@test "hostile: a tar stream into a container cannot write through its own symlinks or climb" {
  python3 - "$HOSTDIR" <<'PY' >evil.tar
import io, sys, tarfile
hostdir = sys.argv[1]
t = tarfile.open(fileobj=sys.stdout.buffer, mode="w")
def add(name, data=b"x", **kw):
    i = tarfile.TarInfo(name)
    for k, v in kw.items():
        setattr(i, k, v)
    i.size = len(data) if i.type == tarfile.REGTYPE else 0
    t.addfile(i, io.BytesIO(data) if i.type == tarfile.REGTYPE else None)
add("esc", type=tarfile.SYMTYPE, linkname=hostdir)
add("esc/through-link")
t.close()
PY
  run bash -c "crowbar cp - web:/tmp <evil.tar"
  [ "$status" -eq 1 ] && [[ "$output" == Error:* ]]
  python3 - <<'PY' >climb.tar
import io, sys, tarfile
t = tarfile.open(fileobj=sys.stdout.buffer, mode="w")
i = tarfile.TarInfo("../../../../climbed"); i.size = 1
t.addfile(i, io.BytesIO(b"x"))
t.close()
PY
  run bash -c "crowbar cp - web:/tmp <climb.tar"
  [ "$status" -eq 1 ] && [[ "$output" == *"leads outside the destination"* ]]
  [ ! -e /climbed ] && [ ! -e /tmp/climbed ]
  host_untouched
}

@test "hostile: magic links (/proc/1/root) are refused" {
  run crowbar cp web:/magic/etc/hostname out
  [ "$status" -eq 1 ] && [ ! -e out ]
  run crowbar cp web:/proc/1/root/etc/hostname out
  [ "$status" -eq 1 ] && [ ! -e out ]
  echo m >m
  run crowbar cp m web:/magic/tmp/
  [ "$status" -eq 1 ]
  run crowbar cp m web:/proc/self/root/tmp/m
  [ "$status" -eq 1 ]
  host_untouched
}

@test "hostile: a container swapping a folder and a symlink to the host mid-copy (200 rounds)" {
  swapper="$CROWBAR_TOP/build/tests/helpers/swapper"
  [ -x "$swapper" ] || skip "build/tests/helpers/swapper is not built (make check builds it)"
  crowbar cp "$swapper" web:/usr/local/bin/swapper
  # /w swaps with a link to HOSTDIR (copies in), /r with a link to HOSTSECRET's folder,
  # where the container has its own copy of the secret (copies out).
  local secret; secret=$(basename "$HOSTSECRET")
  crowbar exec web sh -c "mkdir -p /w /r && echo container-secret >/r/$secret &&
                          ln -s $HOSTDIR /wlink && ln -s $(dirname "$HOSTSECRET") /rlink"
  crowbar exec -d web swapper /w /wlink
  crowbar exec -d web swapper /r /rlink
  wait_until 50 bash -c "[ \$(crowbar exec web ps | grep -c '[s]wapper') -eq 2 ]"
  echo payload >payload
  mkdir t && echo tarred >t/tarred
  local i in=0 out=0
  for i in $(seq 200); do
    crowbar cp payload web:/w/p$i 2>/dev/null && in=$((in + 1))
    tar -cf - -C t . | crowbar cp - web:/w 2>/dev/null || true
    rm -f o1 o2 o3
    crowbar cp web:/r/$secret o1 2>/dev/null && out=$((out + 1))
    crowbar cp web:/r/$secret - 2>/dev/null | tar -xOf - >o2 2>/dev/null || true
    crowbar cp -L web:/rlink/$secret o3 2>/dev/null || true
    if grep -qs "HOST-" o1 o2 o3; then
      echo "round $i leaked the host's file"
      return 1
    fi
  done
  crowbar exec web killall swapper || true
  echo "# copies in: $in/200, out: $out/200" >&3
  [ "$in" -gt 0 ] && [ "$out" -gt 0 ]
  host_untouched
}

@test "hostile: a container swapping the nodes cp makes for symlinks to a host file (8 fresh containers)" {
  # Right after cp makes a FIFO (or device node, or symlink) under its temporary name or
  # its own, the container (fshostile swapnodes, on inotify) renames a symlink to a host
  # file over it: cp must then never chmod, chown or touch the host file. A fresh
  # container's first copy is slow enough that the swap often wins the race.
  local victim=/tmp/crowbar-cp-victim-$$
  echo victim >"$victim"
  chmod 0644 "$victim"
  touch -d @1000000000 "$victim"
  mkfifo -m 0600 fifo
  chmod 0606 fifo
  mkdir t && mkfifo -m 0600 t/fifo && chmod 0606 t/fifo
  local i
  for i in $(seq 8); do
    crowbar run -d --name swap$i busybox sh -c "mkdir /w && exec fshostile swapnodes /w $victim" >/dev/null
    wait_logs swap$i watching
    crowbar cp fifo swap$i:/w/f 2>/dev/null || true
    crowbar cp t swap$i:/w/ 2>/dev/null || true
    crowbar rm -f swap$i >/dev/null
    if [ "$(stat -c '%a %Y' "$victim")" != "644 1000000000" ]; then
      echo "round $i changed the host's file: $(stat -c '%a %Y' "$victim")"
      rm -f "$victim"
      return 1
    fi
  done
  rm -f "$victim"
}

@test "hostile: PID 1 in a chroot jail; cp still reads and writes the container's root" {
  crowbar run -d --name jailed busybox sh -c \
    'mkdir -p /jail/etc && echo jail >/jail/marker && echo real >/marker && exec fshostile jail /jail' >/dev/null
  wait_logs jailed jailed
  [ "$(crowbar cp jailed:/marker - | tar -xOf -)" = real ]
  echo in >in
  crowbar cp in jailed:/in
  mkdir t && echo tarred >t/tarred
  tar -cf - -C t . | crowbar cp - jailed:/
  # export shows the container's root: both copies are there, not in the jail.
  crowbar export jailed | tar -tf - >list
  grep -qx in list
  grep -qx tarred list
  run grep -E '^jail/(in|tarred)$' list
  [ "$status" -eq 1 ]
  crowbar rm -f jailed >/dev/null
}
