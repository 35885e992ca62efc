#!/usr/bin/env bats
# crowbar images and crowbar rmi.

load helpers

MKTAR="$CROWBAR_TOP/tests/fixtures/mktar.py"

setup_file() {
  crowbar_setup_root
  TAR=$(fixture_rootfs)
  export TAR
}

teardown_file() {
  crowbar_teardown_root
}

teardown() {
  rm -rf "$CROWBAR_ROOT"/containers/*
}

# Docker's size for the tarball's layer (files once, symlink targets), printed as
# `docker images` does (units.HumanSizeWithPrecision(size, 3)).
expected_size() {
  python3 - "$1" <<'EOF'
import sys, tarfile
n = 0
for m in tarfile.open(sys.argv[1]):
    if m.isreg():
        n += m.size
    elif m.issym():
        n += len(m.linkname)
units = ["B", "kB", "MB", "GB", "TB"]
i = 0
n = float(n)
while n >= 1000 and i < len(units) - 1:
    n /= 1000
    i += 1
print("%.3g%s" % (n, units[i]))
EOF
}

# A stopped container record that uses an image (the runtime's container.json shape).
fake_container() { # IMAGE_ID(sha256:...) -> prints the container ID
  local id
  id=$(head -c 32 /dev/urandom | sha256sum | cut -d' ' -f1)
  mkdir -p "$CROWBAR_ROOT/containers/$id"
  printf '{"Id":"%s","Name":"/ctr-%s","Image":"%s","State":{"Status":"exited"},"Crowbar":{"CreatedNs":1}}\n' \
    "$id" "${id:0:6}" "$1" >"$CROWBAR_ROOT/containers/$id/container.json"
  echo "$id"
}

@test "images: an empty store prints the header" {
  run crowbar images
  [ "$status" -eq 0 ]
  [ "$output" = "REPOSITORY   TAG       IMAGE ID   CREATED   SIZE" ]
  run crowbar images -q
  [ "$status" -eq 0 ]
  [ -z "$output" ]
}

@test "images: columns as docker images prints them" {
  id=$(crowbar import "$TAR" busybox:latest)
  size=$(expected_size "$TAR")
  run crowbar images
  [ "$status" -eq 0 ]
  echo "$output"
  [[ "${lines[0]}" =~ ^"REPOSITORY   TAG       IMAGE ID       CREATED"\ +"   SIZE"$ ]]
  [[ "${lines[1]}" =~ ^busybox\ +latest\ +${id:7:12}\ +(Less\ than\ a\ second|[0-9]+\ seconds?)\ ago\ +${size}$ ]]
  # Columns line up (tabwriter, padding 3).
  [ "$(echo "${lines[0]}" | grep -bo 'IMAGE ID' | cut -d: -f1)" = \
    "$(echo "${lines[1]}" | grep -bo "${id:7:12}" | cut -d: -f1)" ]
}

@test "images: -q, --no-trunc and REPOSITORY[:TAG] filters" {
  id=$(crowbar images -q --no-trunc busybox)
  [[ "$id" =~ ^sha256:[0-9a-f]{64}$ ]]
  crowbar import "$TAR" other/repo:v1 >/dev/null
  crowbar import "$TAR" other/repo:v2 >/dev/null
  run crowbar images -q busybox:latest
  [ "$output" = "${id:7:12}" ]
  run crowbar images --format '{{.Repository}}:{{.Tag}}' other/repo
  [ "${lines[*]}" = "other/repo:v2 other/repo:v1" ]
  run crowbar images --format '{{.Repository}}:{{.Tag}}' 'other/repo:v1'
  [ "$output" = "other/repo:v1" ]
  run crowbar images --format '{{.Repository}}:{{.Tag}}' 'other/*'
  [ "${#lines[@]}" -eq 2 ]
  run crowbar images nosuch
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 1 ]
  run crowbar images --no-trunc busybox
  [[ "${lines[1]}" == *" $id "* ]]
}

@test "images: --format templates, tables and JSON" {
  run crowbar images --format '{{.Repository}}/{{.Tag}}/{{.ID}}' busybox
  [[ "$output" =~ ^busybox/latest/[0-9a-f]{12}$ ]]
  run crowbar images --format 'table {{.Repository}}\t{{.Size}}' busybox
  [ "${lines[0]}" = "REPOSITORY   SIZE" ]
  [[ "${lines[1]}" =~ ^busybox\ {6}[0-9.]+[kM]B$ ]]
  run crowbar images --format 'table {{.ID}}\t{{.CreatedAt}}\t{{.Digest}}' busybox
  [[ "${lines[0]}" =~ ^IMAGE\ ID\ +CREATED\ AT\ +DIGEST$ ]]
  [[ "${lines[1]}" =~ [0-9]{4}-[0-9]{2}-[0-9]{2}\ [0-9:]{8}\ [-+][0-9]{4}\ [A-Z]+\ +\<none\>$ ]]
  run crowbar images --format '{{json .}}' busybox
  python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["Repository"]=="busybox" and d["Tag"]=="latest" and d["Containers"]=="N/A", d' "$output"
  run crowbar images --format json busybox
  python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["Tag"]=="latest", d' "$output"
  run crowbar images --format table -q busybox
  [[ "$output" =~ ^[0-9a-f]{12}$ ]]
  run crowbar images --format '{{.Nope}}'
  [ "$status" -eq 1 ]
  [[ "$output" == "Error: "*Nope* ]]
}

@test "images: an untagged image shows <none>; -f dangling=" {
  old=$(crowbar import "$TAR" retag:x)
  new=$(crowbar import "$TAR" retag:x)
  run crowbar images
  [[ "$output" == *"<none>       <none>    ${old:7:12}"* ]]
  run crowbar images -q -f dangling=true
  [ "$output" = "${old:7:12}" ]
  run crowbar images -q -f dangling=false retag
  [ "$output" = "${new:7:12}" ]
  run crowbar images -f bogus=1
  [ "$status" -eq 1 ]
  [ "$output" = "Error: invalid filter 'bogus'" ]
  crowbar rmi "$old" >/dev/null
}

@test "images: -f label=, before= and since=" {
  a=$(crowbar import -c 'LABEL tier=db' "$TAR" lab:a)
  b=$(crowbar import -c 'LABEL tier=web other=1' "$TAR" lab:b)
  run crowbar images -q -f label=tier lab
  [ "${lines[*]}" = "${b:7:12} ${a:7:12}" ]
  run crowbar images -q -f label=tier=web
  [ "$output" = "${b:7:12}" ]
  run crowbar images -q -f label=tier -f label=other
  [ "$output" = "${b:7:12}" ]
  run crowbar images -q -f since=lab:a lab
  [ "$output" = "${b:7:12}" ]
  run crowbar images -q -f before=lab:b lab
  [ "$output" = "${a:7:12}" ]
  run crowbar images -f before=nosuch
  [ "$status" -eq 1 ]
  [ "$output" = "Error: No such image: nosuch:latest" ]
}

@test "images: usage" {
  run crowbar images a b
  [ "$status" -eq 1 ]
  [[ "${lines[0]}" == 'Error: "crowbar images" requires at most 1 argument.' ]]
  run crowbar images --help
  [ "$status" -eq 0 ]
  [ "${lines[-1]}" = "See crowbar-images(1)." ]
}

# ---- rmi --------------------------------------------------------------------------------

@test "rmi: one of two tags only untags" {
  id=$(crowbar import "$TAR" two:a)
  python3 - "$CROWBAR_ROOT/repositories.json" "$id" <<'EOF'
import json, sys
p, i = sys.argv[1], sys.argv[2]
r = json.load(open(p)); r["two:b"] = i; json.dump(r, open(p, "w"))
EOF
  run crowbar rmi two:a
  [ "$status" -eq 0 ]
  [ "$output" = "Untagged: two:a" ]
  [ -d "$CROWBAR_ROOT/images/${id#sha256:}" ]
  run crowbar images -q two:b
  [ "$output" = "${id:7:12}" ]
  # The last tag: untagged and deleted.
  run crowbar rmi two:b
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "Untagged: two:b" ]
  [ "${lines[1]}" = "Deleted: $id" ]
  [ ! -d "$CROWBAR_ROOT/images/${id#sha256:}" ]
}

@test "rmi: deletes a layer no other image uses, keeps a shared one" {
  "$MKTAR" "$BATS_TEST_TMPDIR/own.tar" 'f:own=1'
  diff=$(sha256sum <"$BATS_TEST_TMPDIR/own.tar" | cut -d' ' -f1)
  a=$(crowbar import "$BATS_TEST_TMPDIR/own.tar" own:a)
  b=$(crowbar import "$BATS_TEST_TMPDIR/own.tar" own:b)
  run crowbar rmi own:a
  [ "${lines[*]}" = "Untagged: own:a Deleted: $a" ]
  [ -d "$CROWBAR_ROOT/layers/$diff" ]
  run crowbar rmi own:b
  [ "${lines[*]}" = "Untagged: own:b Deleted: $b Deleted: sha256:$diff" ]
  [ ! -e "$CROWBAR_ROOT/layers/$diff" ]
  [ -z "$(ls "$CROWBAR_ROOT/tmp")" ]
}

@test "rmi: by ID with several tags needs -f" {
  id=$(crowbar import "$TAR" multi:a)
  python3 - "$CROWBAR_ROOT/repositories.json" "$id" <<'EOF'
import json, sys
p, i = sys.argv[1], sys.argv[2]
r = json.load(open(p)); r["multi2:b"] = i; json.dump(r, open(p, "w"))
EOF
  run crowbar rmi "${id:7:12}"
  [ "$status" -eq 1 ]
  [ "$output" = "Error: conflict: unable to delete ${id:7:12} (must be forced) - image is referenced in multiple repositories" ]
  run crowbar rmi -f "${id:7:12}"
  [ "$status" -eq 0 ]
  [ "${lines[*]}" = "Untagged: multi2:b Untagged: multi:a Deleted: $id" ]
}

@test "rmi: an image a container uses is refused unless -f, and its layers stay" {
  id=$(crowbar import "$TAR" used:1)
  ctr=$(fake_container "$id")
  run crowbar rmi used:1
  [ "$status" -eq 1 ]
  [ "$output" = "Error: conflict: unable to remove repository reference \"used:1\" (must force) - container ${ctr:0:12} is using its referenced image ${id:7:12}" ]
  run crowbar rmi "$id"
  [ "$status" -eq 1 ]
  [ "$output" = "Error: conflict: unable to delete ${id:7:12} (must be forced) - image is being used by stopped container ${ctr:0:12}" ]
  run crowbar images -q used:1
  [ "$output" = "${id:7:12}" ]
  run crowbar rmi -f used:1
  [ "$status" -eq 0 ]
  [ "${lines[*]}" = "Untagged: used:1 Deleted: $id" ]
  diff=$(sha256sum <"$TAR" | cut -d' ' -f1)
  [ -d "$CROWBAR_ROOT/layers/$diff/diff" ]
}

@test "rmi: errors name the argument; the others are still processed" {
  "$MKTAR" "$BATS_TEST_TMPDIR/x.tar" 'f:x=1'
  id=$(crowbar import "$BATS_TEST_TMPDIR/x.tar" gone:1)
  run crowbar rmi nosuch gone:1 Bad sha256:0123
  [ "$status" -eq 1 ]
  [ "${lines[0]}" = "Error: No such image: nosuch:latest" ]
  [ "${lines[1]}" = "Untagged: gone:1" ]
  [ "${lines[2]}" = "Deleted: $id" ]
  [[ "${lines[3]}" == "Deleted: sha256:"* ]]
  [ "${lines[4]}" = "Error: invalid reference format: repository name (library/Bad) must be lowercase" ]
  [ "${lines[5]}" = "Error: No such image: sha256:0123" ]
  run crowbar rmi
  [ "$status" -eq 1 ]
  [[ "${lines[0]}" == 'Error: "crowbar rmi" requires at least 1 argument.' ]]
}
