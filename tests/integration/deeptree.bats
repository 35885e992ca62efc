#!/usr/bin/env bats
# Trees deeper than anything a path string can name, made by a container with mkdir and
# chdir alone (fshostile deep): diff, export, cp and rm must walk them whole, with a
# bounded number of descriptors and a stack that does not grow with the depth, and say so
# when they cannot (issue 7, item 8). Each tool runs under a small stack (64 KiB) and few
# descriptors (64), so that a walk that recursed or kept a descriptor per level fails
# here at 3,000 levels as it fails elsewhere at 100,000.
#
# The state root is a tmpfs: ext4 with online discard takes minutes to remove 100,000
# folders, a tmpfs a second.

load helpers

DEPTH=3000

setup_file() {
  crowbar_setup_root
  mount -t tmpfs -o size=2g,mode=0755 cbdeep "$CROWBAR_ROOT"
  mkdir -p "$CROWBAR_RUNROOT"
  import_busybox
  WORK="$CROWBAR_ROOT/work"
  export WORK
  # A running container and a stopped one, each with /deep: DEPTH folders named "d".
  crowbar run -d --name live busybox sh -c "fshostile deep /deep $DEPTH && touch /ready && exec sleep 100000" >/dev/null
  crowbar run --name stopped busybox fshostile deep /deep $DEPTH
  wait_until 300 crowbar exec live test -e /ready
}

teardown_file() {
  crowbar_teardown_root
}

setup() {
  rm -rf "$WORK"
  mkdir -p "$WORK"
  cd "$WORK"
}

# "/deep/d/d/.../d" with n folders named d below /deep.
deep_path() {
  local n=$1
  printf '/deep'
  printf '/d%.0s' $(seq "$n")
}

# Run a crowbar command under a 64 KiB stack and 64 descriptors.
small() { bash -c 'ulimit -s 64 -n 64; exec "$@"' small "$@"; }

@test "diff: every level of a deep tree, under 64 descriptors" {
  # A walk that holds a descriptor per level fails to open one at about 60 levels: the
  # diff must not take that for "gone" and stop there.
  run bash -c "ulimit -n 64; crowbar diff stopped"
  [ "$status" -eq 0 ]
  [ "$(grep -c '^A /deep' <<<"$output")" -eq $((DEPTH + 1)) ]
  grep -qxF "A $(deep_path $DEPTH)" <<<"$output"
}

@test "diff: a deep tree under a 64 KiB stack, running and stopped" {
  for c in live stopped; do
    run bash -c "ulimit -s 64; crowbar diff $c"
    [ "$status" -eq 0 ]
    [ "$(grep -c '^A /deep' <<<"$output")" -eq $((DEPTH + 1)) ]
  done
}

@test "export: a deep tree, running and stopped, under a small stack and few descriptors" {
  for c in live stopped; do
    small crowbar export "$c" >"$c.tar"
    [ "$(tar -tf "$c.tar" | grep -c '^deep/')" -eq $((DEPTH + 1)) ]
    tar -tf "$c.tar" | grep -qxF "$(deep_path $DEPTH | cut -c2-)/"
  done
}

@test "cp: a deep tree out to the host and as a stream, under a small stack and few descriptors" {
  small crowbar cp live:/deep out
  [ "$(find out -type d | wc -l)" -eq $((DEPTH + 1)) ]
  small crowbar cp stopped:/deep - >deep.tar
  [ "$(tar -tf deep.tar | wc -l)" -eq $((DEPTH + 1)) ]
}

@test "cp: a deep tree into a container, from a folder and from a tar stream" {
  crowbar cp stopped:/deep out
  small crowbar cp out live:/copy
  crowbar exec live mkdir -p /fromtar
  tar -cf - out | small crowbar cp - live:/fromtar
  # Counted in the upper dir by the host's find (busybox's stops at PATH_MAX).
  local up
  up=$(crowbar inspect -f '{{.GraphDriver.Data.UpperDir}}' live)
  [ "$(find "$up/copy" -type d | wc -l)" -eq $((DEPTH + 1)) ]
  [ "$(find "$up/fromtar/out" -type d | wc -l)" -eq $((DEPTH + 1)) ]
}

@test "rm: a container with a 100,000-level tree goes whole" {
  crowbar run --name big busybox fshostile deep /deep 100000
  local id
  id=$(ctr_id big)
  run small crowbar rm big
  [ "$status" -eq 0 ]
  run ctr_exists big
  [ "$status" -ne 0 ]
  [ ! -e "$CROWBAR_ROOT/containers/$id" ]
  [ ! -e "$CROWBAR_ROOT/containers/.rm-$id" ]
}

@test "rm: the sweep collects what a killed removal left, however deep" {
  crowbar run --name left busybox fshostile deep /deep 20000
  local id
  id=$(ctr_id left)
  # What a removal killed after its first step leaves: the folder renamed aside.
  mv "$CROWBAR_ROOT/containers/$id" "$CROWBAR_ROOT/containers/.rm-$id"
  run ctr_exists left
  [ "$status" -ne 0 ]
  small crowbar rm -f no-such-container
  [ ! -e "$CROWBAR_ROOT/containers/.rm-$id" ]
  [ ! -e "$CROWBAR_ROOT/names/left" ]
}

@test "rm: files that cannot go leave the container listed, named and removable" {
  crowbar create --name stuck busybox true >/dev/null
  local id up
  id=$(ctr_id stuck)
  up=$(crowbar inspect -f '{{.GraphDriver.Data.UpperDir}}' stuck)
  mkdir -p "$up/mnt"
  mount -t tmpfs cbstuck "$up/mnt"
  run crowbar rm stuck
  [ "$status" -eq 1 ]
  [[ "$output" == *"refusing to remove mount point"* ]]
  # Still there, with its record and its name.
  local listed
  listed=$(crowbar ps -a --filter name=stuck --format '{{.Names}}')
  umount "$(awk '$1 == "cbstuck" {print $2}' /proc/self/mounts)"
  [ "$listed" = stuck ]
  run crowbar create --name stuck busybox true
  [ "$status" -ne 0 ]
  # rm again works once the mount is gone.
  crowbar rm stuck
  run ctr_exists stuck
  [ "$status" -ne 0 ]
  [ ! -e "$CROWBAR_ROOT/containers/.rm-$id" ]
}
