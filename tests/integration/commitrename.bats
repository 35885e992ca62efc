#!/usr/bin/env bats
# Commit by rename: a stopped container's upper dir becomes the new image's top layer as it
# is (no file copied), the container keeps an empty upper dir above it and sees exactly what
# it saw; its own layers follow it through start, diff, export, commit again, rm and rmi;
# a kill -9 at any step leaves no half image and an intact container. Running containers
# are still copied. See libcommon/include/crowbar/stack.h.

load fs_helpers

setup_file() { fs_setup_file; }
teardown_file() { fs_teardown_file; }

# Changes of every kind: new files and folders, a changed file (copy-up), a deletion, an
# opaque folder, a hard link, a symlink, a FIFO, a file with an xattr.
CHANGES='mkdir -p /data/sub; i=0; while [ $i -lt 200 ]; do echo "f $i" > /data/sub/f$i; i=$((i+1)); done
  echo changed >> /etc/passwd; rm /etc/group; rm -rf /home && mkdir /home && echo new > /home/new
  ln /data/sub/f1 /data/hard; ln -s /data/sub/f2 /data/sym; mkfifo /data/fifo
  chmod 600 /data/sub/f3; chown 1000:1000 /data/sub/f4'

# The container's view as export archives it: one line per member with its type, mode,
# owner, size, mtime, link target and the sha256 of its data.
view_of() {
  crowbar export "$1" | python3 -c '
import hashlib, sys, tarfile
t = tarfile.open(fileobj=sys.stdin.buffer, mode="r|")
for m in t:
    h = hashlib.sha256(t.extractfile(m).read()).hexdigest() if m.isreg() else "-"
    print(m.name, m.type, oct(m.mode), m.uid, m.gid, m.size, m.mtime, m.linkname, h)
' | LC_ALL=C sort
}

# The n-th (from 1) entry of a container's LowerDir.
lower_n() { crowbar inspect -f '{{.GraphDriver.Data.LowerDir}}' "$1" | cut -d: -f"$2"; }
# An image's diff_ids, one a line, bottom first.
diff_ids() {
  local id; id=$(crowbar images -q --no-trunc "$1")
  python3 -c 'import json,sys; print("\n".join(json.load(open(sys.argv[1]))["rootfs"]["diff_ids"]))' \
    "$CROWBAR_ROOT/images/${id#sha256:}/config.json"
}
# The store's layers that no image and no container's LowerDir names (should be none), and
# layers left half placed.
stray_layers() {
  python3 - "$CROWBAR_ROOT" <<'EOF'
import glob, json, os, sys
root = sys.argv[1]
used = set()
for c in glob.glob(root + "/images/*/config.json"):
    used |= {d.split(":")[1] for d in json.load(open(c))["rootfs"]["diff_ids"]}
for d in glob.glob(root + "/containers/*/"):
    rec = json.load(open(d + "container.json"))
    if os.path.exists(d + "state.json"):
        rec.update(json.load(open(d + "state.json")))
    for p in rec["GraphDriver"]["Data"]["LowerDir"].split(":"):
        if "/layers/" in p:
            used.add(p.split("/layers/")[1].split("/")[0])
for l in sorted(os.listdir(root + "/layers")):
    if l not in used:
        print("unused", l)
    if os.path.exists(root + "/layers/" + l + "/.placing"):
        print("placing", l)
EOF
}
# trusted.overlay.* xattrs of a tree, but the opaque markers.
overlay_xattrs() {
  python3 - "$1" <<'EOF'
import os, sys
for r, ds, fs in os.walk(sys.argv[1]):
    for p in [r] + [os.path.join(r, n) for n in ds + fs]:
        for x in os.listxattr(p, follow_symlinks=False):
            if x.startswith("trusted.overlay.") and x != "trusted.overlay.opaque":
                print(p, x)
EOF
}

@test "commit by rename: the upper dir becomes the layer, its very inodes; the view is unchanged" {
  crowbar run --name rn busybox sh -c "$CHANGES"
  upper=$(upper_of rn)
  ino_before=$(stat -c %i "$upper/data/sub/f7" "$upper/etc/passwd" "$upper/home/new")
  # The upper dir holds overlay's own xattrs (copy-ups: origin; folders: impure).
  [ -n "$(overlay_xattrs "$upper")" ]
  view_of rn >"$BATS_TEST_TMPDIR/view1"
  crowbar diff rn >"$BATS_TEST_TMPDIR/diff1"
  init=$(lower_n rn 1)
  run crowbar commit rn rn:1
  [ "$status" -eq 0 ]
  # The layer, first lower dir, just above the init layer, is the former upper dir.
  layer=$(lower_n rn 1)
  [ "$layer" = "$CROWBAR_ROOT/layers/$(diff_ids rn:1 | tail -1 | cut -d: -f2)/diff" ]
  [ "$(lower_n rn 2)" = "$init" ]
  [ "$(stat -c %i "$layer/data/sub/f7" "$layer/etc/passwd" "$layer/home/new")" = "$ino_before" ]
  [ "$(upper_of rn)" = "$upper" ]
  [ -z "$(ls -A "$upper")" ]
  # A store layer: no xattr that only meant something in an upper dir; opaque kept.
  [ -z "$(overlay_xattrs "$layer")" ]
  run python3 -c 'import os,sys; print(os.getxattr(sys.argv[1], "trusted.overlay.opaque"))' "$layer/home"
  [ "$output" = "b'y'" ]
  # Its tar, for save: sha256 is the diff_id.
  tar="${layer%/diff}/layer.tar"
  [ "sha256:$(sha256sum <"$tar" | cut -d' ' -f1)" = "$(diff_ids rn:1 | tail -1)" ]
  [[ "$(tar -tf "$tar")" == *"etc/.wh.group"* ]]
  # The container's view and its diff are what they were.
  view_of rn >"$BATS_TEST_TMPDIR/view2"
  same_or_show "$BATS_TEST_TMPDIR/view1" "$BATS_TEST_TMPDIR/view2"
  crowbar diff rn >"$BATS_TEST_TMPDIR/diff2"
  same_or_show "$BATS_TEST_TMPDIR/diff1" "$BATS_TEST_TMPDIR/diff2"
  # Recorded in state.json (it changes after create): the own layer and the new stack.
  run python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(len(s["Crowbar"]["OwnLayers"]), "Committing" in s["Crowbar"], s["GraphDriver"]["Data"]["LowerDir"].split(":")[0])' \
    "$(dirname "$upper")/state.json"
  [ "$output" = "1 False $layer" ]
  [ -z "$(stray_layers)" ]
  # The image has exactly the container's files.
  crowbar run --name rnimg rn:1 true
  run crowbar diff rnimg
  [ -z "$output" ]
  run crowbar run --rm --entrypoint sh rn:1 -c 'cat /data/sub/f7 /home/new; test -e /etc/group || echo no-group'
  [ "$output" = "f 7
new
no-group" ]
}

@test "commit by rename: the container runs on with its files, and commits again (a third layer)" {
  crowbar run --name on busybox sh -c 'if [ -e /one ]; then cat /one; echo two > /two; else echo one > /one; fi'
  crowbar commit on on:1 >/dev/null
  l1=$(lower_n on 1)
  # Started again, it finds its file, and writes another (in its new upper dir).
  run crowbar start -a on
  [ "$status" -eq 0 ]
  [ "$output" = one ]
  [ -e "$(upper_of on)/two" ]
  [ ! -e "$(upper_of on)/one" ]
  want="A /one
A /two"
  [ "$(crowbar diff on)" = "$want" ]
  crowbar commit on on:2 >/dev/null
  [ "$(diff_ids on:2 | wc -l)" = 3 ]
  [ "$(diff_ids on:2 | head -2)" = "$(diff_ids on:1)" ]
  [ "$(lower_n on 2)" = "$l1" ]
  [ "$(crowbar diff on)" = "$want" ]
  # One history entry per layer, the commits' own.
  run python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); h=c["history"]; print(len(h), sum(1 for e in h if not e.get("empty_layer")), h[1]["created_by"][:5])' \
    "$CROWBAR_ROOT/images/$(crowbar images -q --no-trunc on:2 | cut -d: -f2)/config.json"
  [ "$output" = "3 3 sh -c" ]
  run crowbar run --rm --entrypoint cat on:2 /one /two
  [ "$output" = "one
two" ]
  # Nothing changed since: an empty layer entry, no new layer, the stack as it was.
  crowbar commit on on:3 >/dev/null
  [ "$(diff_ids on:3)" = "$(diff_ids on:2)" ]
  [ "$(lower_n on 2)" = "$l1" ]
  [ -z "$(stray_layers)" ]
}

@test "commit by rename: a committed file deleted later stays deleted" {
  crowbar run --name again busybox sh -c 'if [ -e /one ]; then rm /one; echo 2 > /two; echo three > /three; else echo one > /one; echo two > /two; fi'
  crowbar commit again again:1 >/dev/null
  crowbar start -a again
  run crowbar diff again
  [ "$output" = "A /three
A /two" ]
  crowbar commit again again:2 >/dev/null
  run crowbar run --rm --entrypoint sh again:2 -c 'test -e /one || echo no-one; cat /two /three'
  [ "$output" = "no-one
2
three" ]
}

@test "commit by rename: cp into a stopped container writes to its new upper dir" {
  [ -x "$CROWBAR_TOP/build/crowbar-cp" ] || skip "no crowbar cp in this build"
  echo copied >"$BATS_TEST_TMPDIR/cpd"
  crowbar cp "$BATS_TEST_TMPDIR/cpd" again:/cpd
  [ -e "$(upper_of again)/cpd" ]
  crowbar commit again again:3 >/dev/null
  [ "$(diff_ids again:3 | wc -l)" = 4 ]
  run crowbar run --rm --entrypoint sh again:3 -c 'test -e /one || echo no-one; cat /cpd'
  [ "$output" = "no-one
copied" ]
  run crowbar diff again
  [ "$output" = "A /cpd
A /three
A /two" ]
}

@test "commit by rename: rm then rmi, and rmi then rm, keep each layer while it is used" {
  for order in rm-first rmi-first; do
    crowbar run --name "o-$order" busybox sh -c "echo $order > /which"
    crowbar commit "o-$order" "o:$order" >/dev/null
    layer=$(lower_n "o-$order" 1)
    [ -d "$layer" ]
    if [ "$order" = rm-first ]; then
      crowbar rm "o-$order" >/dev/null
      [ -d "$layer" ]
      run crowbar run --rm --entrypoint cat "o:$order" /which
      [ "$output" = "$order" ]
      crowbar rmi "o:$order" >/dev/null
    else
      run crowbar rmi "o:$order"
      [ "$status" -eq 0 ]
      [[ "$output" != *"Deleted: sha256:$(basename "$(dirname "$layer")")"* ]]
      [ -d "$layer" ]
      # The container still sees its files, running and stopped.
      run crowbar start -a "o-$order"
      [ "$status" -eq 0 ]
      [ "$(crowbar export "o-$order" | tar -xOf - which)" = "$order" ]
      # And it still commits: the new image has the layer (the store still holds it).
      crowbar commit "o-$order" "o:again" >/dev/null
      run crowbar run --rm --entrypoint cat o:again /which
      [ "$output" = "$order" ]
      crowbar rmi o:again >/dev/null
      crowbar rm "o-$order" >/dev/null
    fi
    [ ! -e "$layer" ]
    [ -z "$(stray_layers)" ]
  done
}

@test "commit by rename: save of the committed image loads into Docker" {
  need_docker
  crowbar run --name tosave busybox sh -c 'echo saved > /saved; rm /etc/group'
  crowbar commit tosave "$DIMG-saved:1" >/dev/null
  crowbar start -a tosave >/dev/null 2>&1 || true
  crowbar commit tosave "$DIMG-saved:2" >/dev/null
  crowbar save -o "$BATS_TEST_TMPDIR/saved.tar" "$DIMG-saved:2"
  docker load -i "$BATS_TEST_TMPDIR/saved.tar" >/dev/null
  run docker run --rm --network none --entrypoint sh "$DIMG-saved:2" -c 'cat /saved; test -e /etc/group || echo no-group'
  [ "$output" = "saved
no-group" ]
}

@test "commit: a running container is copied; its layers stay as they were" {
  crowbar run -d --name live busybox sh -c 'echo live > /live; sleep 1000' >/dev/null
  wait_until 50 test -e "$(upper_of live)/live"
  lower=$(crowbar inspect -f '{{.GraphDriver.Data.LowerDir}}' live)
  ino=$(stat -c %i "$(upper_of live)/live")
  crowbar commit live live:1 >/dev/null
  [ "$(crowbar inspect -f '{{.GraphDriver.Data.LowerDir}}' live)" = "$lower" ]
  [ "$(stat -c %i "$(upper_of live)/live")" = "$ino" ]
  layer="$CROWBAR_ROOT/layers/$(diff_ids live:1 | tail -1 | cut -d: -f2)/diff"
  [ "$(stat -c %i "$layer/live")" != "$ino" ]
  run crowbar run --rm --entrypoint cat live:1 /live
  [ "$output" = live ]
  # Stopped, the same changes give the same layer: the store has it, the image uses it,
  # and the container keeps its upper dir.
  crowbar stop -t 0 live >/dev/null
  crowbar commit live live:2 >/dev/null
  [ "$(diff_ids live:2)" = "$(diff_ids live:1)" ]
  [ "$(crowbar inspect -f '{{.GraphDriver.Data.LowerDir}}' live)" = "$lower" ]
  [ "$(stat -c %i "$(upper_of live)/live")" = "$ino" ]
  [ -z "$(stray_layers)" ]
}

@test "commit: a stopped container that cannot be committed by rename is copied" {
  crowbar run --name cpy busybox sh -c 'echo c > /c; rm /etc/group'
  ino=$(stat -c %i "$(upper_of cpy)/c")
  view_of cpy >"$BATS_TEST_TMPDIR/v1"
  CROWBAR_TEST_COMMIT_COPY=1 crowbar commit cpy cpy:1 >/dev/null
  [ "$(stat -c %i "$(upper_of cpy)/c")" = "$ino" ]
  [ "$(lower_n cpy 1)" = "$(dirname "$(upper_of cpy)")/init" ]
  view_of cpy >"$BATS_TEST_TMPDIR/v2"
  same_or_show "$BATS_TEST_TMPDIR/v1" "$BATS_TEST_TMPDIR/v2"
  run crowbar run --rm --entrypoint sh cpy:1 -c 'cat /c; test -e /etc/group || echo no-group'
  [ "$output" = "c
no-group" ]
  [ -z "$(stray_layers)" ]
}

@test "commit by rename: killed at any step, no half image, the container intact" {
  for step in tar placed recorded exchanged imaged; do
    crowbar run --name "k-$step" busybox sh -c "mkdir /k; i=0; while [ \$i -lt 300 ]; do echo \$i > /k/\$i; i=\$((i+1)); done; echo $step > /step; rm /etc/group"
    view_of "k-$step" >"$BATS_TEST_TMPDIR/v1"
    images=$(crowbar images -q | sort)
    run env CROWBAR_TEST_COMMIT_KILL=$step crowbar commit "k-$step" "k:$step"
    [ "$status" -ne 0 ]
    if [ "$step" = imaged ]; then
      # Killed once the image was complete: it is there, whole.
      run crowbar run --rm --entrypoint cat "k:$step" /step
      [ "$output" = "$step" ]
    else
      [ "$(crowbar images -q | sort)" = "$images" ]
    fi
    # The container sees what it saw, stopped (read from its layers) ...
    view_of "k-$step" >"$BATS_TEST_TMPDIR/v2"
    same_or_show "$BATS_TEST_TMPDIR/v1" "$BATS_TEST_TMPDIR/v2"
    [ "$(crowbar diff "k-$step" | grep -c '^A /k/')" = 300 ]
    # ... and started: the start finishes an interrupted exchange first.
    run crowbar start -a "k-$step"
    [ "$(crowbar export "k-$step" | tar -xOf - step)" = "$step" ]
    # The next commit works and has everything; nothing is left behind.
    crowbar commit "k-$step" "k:$step-2" >/dev/null
    run crowbar run --rm --entrypoint sh "k:$step-2" -c 'cat /step /k/299; test -e /etc/group || echo no-group'
    [ "$output" = "$step
299
no-group" ]
    [ -z "$(stray_layers)" ]
    [ -z "$(ls -A "$CROWBAR_ROOT/tmp")" ]
  done
}

@test "commit by rename: killed between the record and the rename, the layer is filled later" {
  crowbar run --name half busybox sh -c 'test -e /half || echo half > /half'
  upper=$(upper_of half)
  ino=$(stat -c %i "$upper/half")
  run env CROWBAR_TEST_COMMIT_KILL=recorded crowbar commit half half:1
  [ "$status" -ne 0 ]
  layer=$(lower_n half 1)
  # The record names the layer, still empty and marked; the files are still in the upper.
  [ -z "$(ls -A "$layer")" ]
  [ -e "${layer%/diff}/.placing" ]
  [ "$(stat -c %i "$upper/half")" = "$ino" ]
  [ "$(crowbar export half | tar -xOf - half)" = half ]
  run crowbar diff half
  [ "$output" = "A /half" ]
  # A start moves the files into the layer, as the commit would have.
  crowbar start -a half
  [ "$(stat -c %i "$layer/half")" = "$ino" ]
  [ ! -e "${layer%/diff}/.placing" ]
  [ -z "$(ls -A "$upper")" ]
  [ "$(crowbar export half | tar -xOf - half)" = half ]
  # So does cp into the stopped container, before it writes to the upper dir.
  [ -x "$CROWBAR_TOP/build/crowbar-cp" ] || return 0
  # Not the same tar as half's layer (a same-second mtime would make it the same layer,
  # which the store has already: then there is nothing to rename).
  crowbar run --name half2 busybox sh -c 'echo half > /half; touch -d 2002-02-02 /half'
  run env CROWBAR_TEST_COMMIT_KILL=recorded crowbar commit half2 half:2
  layer=$(lower_n half2 1)
  [ -z "$(ls -A "$layer")" ]
  echo more >"$BATS_TEST_TMPDIR/more"
  crowbar cp "$BATS_TEST_TMPDIR/more" half2:/more
  [ -e "$layer/half" ]
  [ ! -e "$layer/more" ]
  [ "$(ls -A "$(upper_of half2)")" = more ]
  [ "$(crowbar export half2 | tar -xOf - half more)" = "half
more" ]
}

@test "commit: changes that tar the same as a layer below it: the image lists it twice and runs" {
  crowbar run --name twice busybox sh -c "echo same > /f; touch -d '2001-01-01 00:00:00' /f; sleep 1"
  crowbar commit twice twice:1 >/dev/null
  # Written again the same (content, mtime): the same tar, the same diff_id; the store has
  # that layer, the image names it once more, and the container keeps its upper dir.
  crowbar start -a twice
  [ -e "$(upper_of twice)/f" ]
  crowbar commit twice twice:2 >/dev/null
  [ "$(diff_ids twice:2 | tail -2 | uniq | wc -l)" = 1 ]
  run crowbar run --rm --entrypoint cat twice:2 /f
  [ "$status" -eq 0 ]
  [ "$output" = same ]
  [ "$(crowbar diff twice)" = "A /f" ]
}
