#!/usr/bin/env bats
# crowbar save and load: the docker-save and OCI layouts, round trips through a fresh
# store, Docker, skopeo and umoci when they are installed, and archives that must be
# refused without leaving anything behind.

load helpers

MKBAD="$CROWBAR_TOP/tests/fixtures/mkbadarchive.py"

setup_file() {
  crowbar_setup_root
  TAR=$(fixture_rootfs 2>/dev/null)
  if [ ! -s "$TAR" ]; then
    # No helper programs built: a plain busybox rootfs is all these tests need.
    TAR="$BATS_FILE_TMPDIR/busybox.tar"
    "$CROWBAR_TOP/tests/fixtures/mkrootfs.sh" "$TAR"
  fi
  export TAR
  crowbar import -c 'CMD ["sh"]' "$TAR" busybox:latest >/dev/null
  # Docker objects get names of their own, removed in teardown_file.
  export DTAG="cbsl-test-$$"
}

teardown_file() {
  if docker_ok; then
    docker ps -aq --filter "name=^$DTAG" | xargs -r docker rm -f >/dev/null 2>&1
    docker images --format '{{.Repository}}:{{.Tag}}' | grep "^$DTAG" |
      xargs -r docker rmi -f >/dev/null 2>&1
  fi
  crowbar_teardown_root
}

docker_ok() { command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; }
need_docker() { docker_ok || skip "docker is not installed or its daemon does not answer"; }
need() { command -v "$1" >/dev/null 2>&1 || skip "$1 is not installed"; }

# A new, empty store for this test (below the file's root, so teardown removes it).
fresh_root() {
  CROWBAR_ROOT=$(mktemp -d "$CROWBAR_ROOT/sub.XXXXXX")
  CROWBAR_RUNROOT="$CROWBAR_ROOT/run"
  mkdir -p "$CROWBAR_RUNROOT"
  export CROWBAR_ROOT CROWBAR_RUNROOT
}

id_of() { crowbar images -q --no-trunc "$1"; }

# Everything the store holds, to compare before and after a refused load.
store_state() {
  crowbar images -a --no-trunc --format '{{.ID}} {{.Repository}}:{{.Tag}}'
  (cd "$CROWBAR_ROOT" && find images layers -mindepth 1 -maxdepth 1 2>/dev/null | sort
   cat repositories.json 2>/dev/null) || true
}

tmp_is_empty() { [ -z "$(ls -A "$CROWBAR_ROOT/tmp" 2>/dev/null)" ]; }
tmp_has_work() { ! tmp_is_empty; }

# ---- usage ------------------------------------------------------------------------------

@test "save: usage errors and a terminal on stdout are refused" {
  run crowbar save
  [ "$status" -eq 1 ]
  [[ "$output" == *'"crowbar save" requires at least 1 argument.'* ]]
  run crowbar save --format tgz -o "$BATS_TEST_TMPDIR/x.tar" busybox
  [ "$status" -eq 1 ]
  [[ "$output" == *"invalid --format"* ]]
  [ ! -e "$BATS_TEST_TMPDIR/x.tar" ]
  need script
  run script -qec "crowbar save busybox" /dev/null
  [ "$status" -eq 1 ]
  [[ "$output" == *"Error: cowardly refusing to save to a terminal. Use the -o flag or redirect"* ]]
}

@test "save: an unknown image is an error and -o leaves no file" {
  run crowbar save -o "$BATS_TEST_TMPDIR/x.tar" busybox nope:1
  [ "$status" -eq 1 ]
  [ "$output" = "Error: No such image: nope:1" ]
  [ -z "$(ls -A "$BATS_TEST_TMPDIR")" ]
}

@test "load: usage errors, a missing file, a terminal on stdin" {
  run crowbar load extra
  [ "$status" -eq 1 ]
  run crowbar load -i "$BATS_TEST_TMPDIR/none.tar"
  [ "$status" -eq 1 ]
  [ "$output" = "Error: open $BATS_TEST_TMPDIR/none.tar: No such file or directory" ]
  need script
  run script -qec "crowbar load" /dev/null
  [ "$status" -eq 1 ]
  [[ "$output" == *"Error: requested load from stdin, but stdin is empty"* ]]
}

# ---- the docker format ---------------------------------------------------------------------

@test "save: the docker layout (manifest, config bytes, layer folders, repositories)" {
  crowbar save -o "$BATS_TEST_TMPDIR/bb.tar" busybox:latest
  d="$BATS_TEST_TMPDIR/x"
  mkdir "$d" && tar -C "$d" -xf "$BATS_TEST_TMPDIR/bb.tar"
  id=$(id_of busybox:latest)
  python3 - "$d" "${id#sha256:}" <<'EOF'
import hashlib, json, os, sys
d, hexid = sys.argv[1:]
m = json.load(open(f"{d}/manifest.json"))
assert len(m) == 1, m
item = m[0]
assert item["Config"] == hexid + ".json"
assert item["RepoTags"] == ["busybox:latest"]
cfg_bytes = open(f"{d}/{item['Config']}", "rb").read()
assert hashlib.sha256(cfg_bytes).hexdigest() == hexid
cfg = json.loads(cfg_bytes)
assert len(item["Layers"]) == len(cfg["rootfs"]["diff_ids"]) == 1
for path, diff in zip(item["Layers"], cfg["rootfs"]["diff_ids"]):
    folder = path.split("/")[0]
    assert path == folder + "/layer.tar"
    assert "sha256:" + hashlib.sha256(open(f"{d}/{path}", "rb").read()).hexdigest() == diff
    assert open(f"{d}/{folder}/VERSION").read() == "1.0"
    v1 = json.load(open(f"{d}/{folder}/json"))
    assert v1["id"] == folder and v1["os"] == "linux" and v1["config"]["Cmd"] == ["sh"]
repos = json.load(open(f"{d}/repositories"))
assert repos == {"busybox": {"latest": item["Layers"][-1].split("/")[0]}}, repos
EOF
  # Nothing but these members.
  [ "$(cd "$d" && find . -type f | wc -l)" -eq 6 ]
}

@test "save/load: a fresh store gets the same image ID and tag, and it runs" {
  crowbar save busybox:latest >"$BATS_TEST_TMPDIR/bb.tar"
  id=$(id_of busybox:latest)
  fresh_root
  run crowbar load -i "$BATS_TEST_TMPDIR/bb.tar"
  [ "$status" -eq 0 ]
  [ "$output" = "Loaded image: busybox:latest" ]
  [ "$(id_of busybox:latest)" = "$id" ]
  run crowbar run --rm busybox:latest cat /etc/os-release
  [ "$status" -eq 0 ]
  [ "$output" = busybox-rootfs ]
  # Nothing left in the work folder.
  tmp_is_empty
}

@test "load: compressed archives (gzip, xz, zstd) and stdin" {
  crowbar save -o "$BATS_TEST_TMPDIR/bb.tar" busybox
  id=$(id_of busybox:latest)
  for c in gzip xz zstd; do
    command -v "$c" >/dev/null || continue
    "$c" -c "$BATS_TEST_TMPDIR/bb.tar" >"$BATS_TEST_TMPDIR/bb.tar.$c"
    fresh_root
    run crowbar load -i "$BATS_TEST_TMPDIR/bb.tar.$c"
    [ "$status" -eq 0 ]
    [ "$output" = "Loaded image: busybox:latest" ]
    [ "$(id_of busybox:latest)" = "$id" ]
  done
  fresh_root
  run crowbar load -q <"$BATS_TEST_TMPDIR/bb.tar.gzip"
  [ "$status" -eq 0 ]
  [ "$output" = "Loaded image: busybox:latest" ]
}

@test "save: an image named by ID is saved untagged; load prints its ID" {
  id=$(id_of busybox:latest)
  crowbar save "${id:7:12}" >"$BATS_TEST_TMPDIR/id.tar"
  tar -xOf "$BATS_TEST_TMPDIR/id.tar" manifest.json | grep -q '"RepoTags":null'
  ! tar -tf "$BATS_TEST_TMPDIR/id.tar" repositories
  fresh_root
  run crowbar load -i "$BATS_TEST_TMPDIR/id.tar"
  [ "$status" -eq 0 ]
  [ "$output" = "Loaded image ID: $id" ]
  [ "$(crowbar images -q --no-trunc)" = "$id" ]
  [ "$(crowbar images --format '{{.Repository}}:{{.Tag}}')" = "<none>:<none>" ]
}

@test "save: a bare repository saves all its tags; several images share a layer once" {
  crowbar import "$TAR" share:a >/dev/null
  crowbar import -c 'ENV X=1' "$TAR" share:b >/dev/null
  crowbar import -c 'ENV X=2' "$TAR" other:1 >/dev/null
  a=$(id_of share:a) b=$(id_of share:b) o=$(id_of other:1)
  crowbar save -o "$BATS_TEST_TMPDIR/s.tar" share other:1 share:b
  d="$BATS_TEST_TMPDIR/x"
  mkdir "$d" && tar -C "$d" -xf "$BATS_TEST_TMPDIR/s.tar"
  python3 - "$d" <<'EOF'
import json, os, sys
d = sys.argv[1]
m = json.load(open(f"{d}/manifest.json"))
tags = sorted(t for i in m for t in i["RepoTags"])
assert tags == ["other:1", "share:a", "share:b"], tags
assert len(m) == 3
EOF
  # Three images over one layer: one layer tar, the others link to it.
  [ "$(find "$d" -name layer.tar -type f | wc -l)" -eq 1 ]
  [ "$(find "$d" -name layer.tar -type l | wc -l)" -eq 2 ]
  fresh_root
  run crowbar load -i "$BATS_TEST_TMPDIR/s.tar"
  [ "$status" -eq 0 ]
  [ "$(echo "$output" | sort | tr '\n' ' ')" = "Loaded image: other:1 Loaded image: share:a Loaded image: share:b " ]
  [ "$(id_of share:a)" = "$a" ] && [ "$(id_of share:b)" = "$b" ] && [ "$(id_of other:1)" = "$o" ]
  [ "$(ls "$CROWBAR_ROOT/layers" | wc -l)" -eq 1 ]
  run crowbar run --rm share:b sh -c 'echo $X'
  [ "$output" = 1 ]
}

@test "load: loading twice reuses the layers; a moved tag is reported as Docker does" {
  crowbar save -o "$BATS_TEST_TMPDIR/bb.tar" busybox:latest
  id=$(id_of busybox:latest)
  fresh_root
  crowbar load -i "$BATS_TEST_TMPDIR/bb.tar"
  run crowbar load -i "$BATS_TEST_TMPDIR/bb.tar"
  [ "$status" -eq 0 ]
  [ "$output" = "Loaded image: busybox:latest" ]
  [ "$(crowbar images -q | wc -l)" -eq 1 ]
  # Point the tag at another image, then load: the tag comes back, the other image stays.
  other=$(crowbar import "$TAR" busybox:latest)
  run crowbar load -i "$BATS_TEST_TMPDIR/bb.tar"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "The image busybox:latest already exists, renaming the old one with ID $other to empty string" ]
  [ "${lines[1]}" = "Loaded image: busybox:latest" ]
  [ "$(id_of busybox:latest)" = "$id" ]
  crowbar images -q --no-trunc | grep -qx "$other"
}

@test "save: -o replaces a file atomically and leaves it alone on failure" {
  out="$BATS_TEST_TMPDIR/out.tar"
  echo old >"$out"
  run crowbar save -o "$out" busybox missing:image
  [ "$status" -eq 1 ]
  [ "$(cat "$out")" = old ]
  [ "$(ls -A "$BATS_TEST_TMPDIR")" = out.tar ]
  crowbar save -o "$out" busybox
  tar -tf "$out" manifest.json
  [ "$(ls -A "$BATS_TEST_TMPDIR")" = out.tar ]
  # A device is written in place.
  crowbar save -o /dev/null busybox
}

@test "save: -o into a device, never over it; through a symlink, onto the file it names" {
  local d="$BATS_TEST_TMPDIR"
  mknod "$d/null" c 1 3
  crowbar save -o "$d/null" busybox
  [ -c "$d/null" ]
  [ "$(stat -c '%t:%T' "$d/null")" = 1:3 ]
  echo old >"$d/img.tar"
  ln -s img.tar "$d/link"
  crowbar save -o "$d/link" busybox
  [ -L "$d/link" ]
  [ "$(readlink "$d/link")" = img.tar ]
  tar -tf "$d/img.tar" manifest.json
  [ "$(ls -A "$d" | sort | tr '\n' ' ')" = "img.tar link null " ]
}

@test "save: a corrupt layer in the store fails the save and leaves no file" {
  crowbar save -o "$BATS_TEST_TMPDIR/bb.tar" busybox:latest
  fresh_root
  crowbar load -q -i "$BATS_TEST_TMPDIR/bb.tar"
  lt=$(echo "$CROWBAR_ROOT"/layers/*/layer.tar)
  out="$BATS_TEST_TMPDIR/out"
  mkdir "$out"
  # One byte changed: the digest check while writing catches it.
  printf 'X' | dd of="$lt" bs=1 seek=5000 conv=notrunc status=none
  run crowbar save -o "$out/x.tar" busybox:latest
  [ "$status" -eq 1 ]
  [[ "$output" == "Error: layer sha256:"*": its tar in the store is corrupt (sha256 "*")" ]]
  [ -z "$(ls -A "$out")" ]
  # Shorter than it was.
  truncate -s 4096 "$lt"
  run crowbar save --format oci -o "$out/x.tar" busybox:latest
  [ "$status" -eq 1 ]
  [ -z "$(ls -A "$out")" ]
  run crowbar save busybox:latest
  [ "$status" -eq 1 ]
  [[ "${lines[-1]}" == *"Error: layer sha256:"* ]]
}

@test "save: a write error (full disk, closed pipe) exits 1" {
  run bash -c 'crowbar save busybox >/dev/full'
  [ "$status" -eq 1 ]
  [[ "$output" == "Error: write to stdout: No space left on device" ]]
  run bash -c 'crowbar save busybox | head -c 100 >/dev/null; echo "${PIPESTATUS[0]}"'
  [ "${lines[-1]}" = 1 ]
}

# ---- the OCI format -------------------------------------------------------------------------

@test "save --format oci: the image layout, and load reads it back" {
  crowbar import -c 'ENV X=oci' "$TAR" ocitest:1 >/dev/null
  crowbar save --format oci -o "$BATS_TEST_TMPDIR/o.tar" busybox:latest ocitest:1
  d="$BATS_TEST_TMPDIR/x"
  mkdir "$d" && tar -C "$d" -xf "$BATS_TEST_TMPDIR/o.tar"
  python3 - "$d" "$(id_of busybox:latest)" "$(id_of ocitest:1)" <<'EOF'
import hashlib, json, os, sys
d, bb, oc = sys.argv[1:]
assert json.load(open(f"{d}/oci-layout")) == {"imageLayoutVersion": "1.0.0"}
idx = json.load(open(f"{d}/index.json"))
assert idx["schemaVersion"] == 2
def blob(dg):
    data = open(f"{d}/blobs/sha256/{dg.split(':')[1]}", "rb").read()
    assert "sha256:" + hashlib.sha256(data).hexdigest() == dg
    return data
names = {}
for desc in idx["manifests"]:
    assert desc["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    man = json.loads(blob(desc["digest"]))
    assert len(blob(desc["digest"])) == desc["size"]
    a = desc["annotations"]
    names[a["io.containerd.image.name"]] = (a["org.opencontainers.image.ref.name"], man["config"]["digest"])
    cfg = json.loads(blob(man["config"]["digest"]))
    for l, diff in zip(man["layers"], cfg["rootfs"]["diff_ids"]):
        assert l["mediaType"] == "application/vnd.oci.image.layer.v1.tar"
        assert l["digest"] == diff and len(blob(l["digest"])) == l["size"]
assert names == {"docker.io/library/busybox:latest": ("latest", bb),
                 "docker.io/library/ocitest:1": ("1", oc)}, names
# Every blob is referenced and stored once: 2 configs, 2 manifests, 1 shared layer.
assert len(os.listdir(f"{d}/blobs/sha256")) == 5
EOF
  bb=$(id_of busybox:latest) oc=$(id_of ocitest:1)
  fresh_root
  run crowbar load -i "$BATS_TEST_TMPDIR/o.tar"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "Loaded image: busybox:latest" ]
  [ "${lines[1]}" = "Loaded image: ocitest:1" ]
  [ "$(id_of busybox:latest)" = "$bb" ] && [ "$(id_of ocitest:1)" = "$oc" ]
  run crowbar run --rm ocitest:1 sh -c 'echo $X'
  [ "$output" = oci ]
}

@test "load: Docker 25 archives (both indexes), multi-platform indexes, compressed layer files" {
  crowbar save --format oci -o "$BATS_TEST_TMPDIR/o.tar" busybox:latest
  id=$(id_of busybox:latest)
  python3 - "$BATS_TEST_TMPDIR/o.tar" "$BATS_TEST_TMPDIR" <<'EOF'
import gzip, hashlib, io, json, sys, tarfile
src, out = sys.argv[1:]
members = {}
with tarfile.open(src) as t:
    for m in t.getmembers():
        if m.isfile():
            members[m.name] = t.extractfile(m).read()
def write(path, files):
    with tarfile.open(path, "w") as t:
        for name, data in files.items():
            m = tarfile.TarInfo(name)
            m.size = len(data)
            t.addfile(m, io.BytesIO(data))
idx = json.loads(members["index.json"])
man_desc = idx["manifests"][0]
man = json.loads(members["blobs/sha256/" + man_desc["digest"][7:]])
cfg = man["config"]["digest"][7:]
layers = [l["digest"][7:] for l in man["layers"]]
# Docker 25: manifest.json next to index.json, pointing into blobs/.
d25 = dict(members)
d25["manifest.json"] = json.dumps([{"Config": "blobs/sha256/" + cfg, "RepoTags": ["docker25:x"],
                                    "Layers": ["blobs/sha256/" + l for l in layers]}]).encode()
write(f"{out}/d25.tar", d25)
# A multi-platform index: ours among others, named by the top descriptor.
sub = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
       "manifests": [dict(man_desc, platform={"os": "linux", "architecture": "s390x"}),
                     dict(man_desc, platform={"os": "windows", "architecture": "amd64"}),
                     dict(man_desc)]}
sub_bytes = json.dumps(sub).encode()
sub_hex = hashlib.sha256(sub_bytes).hexdigest()
multi = dict(members)
multi["blobs/sha256/" + sub_hex] = sub_bytes
multi["index.json"] = json.dumps({"schemaVersion": 2, "manifests": [{
    "mediaType": "application/vnd.oci.image.index.v1+json", "digest": "sha256:" + sub_hex,
    "size": len(sub_bytes),
    "annotations": {"org.opencontainers.image.ref.name": "multi/arch:1"}}]}).encode()
write(f"{out}/multi.tar", multi)
# A docker save archive whose layer file is gzip-compressed (docker load accepts it).
gz = {cfg + ".json": members["blobs/sha256/" + cfg],
      "l/layer.tar": gzip.compress(members["blobs/sha256/" + layers[0]]),
      "manifest.json": json.dumps([{"Config": cfg + ".json", "RepoTags": ["gz:1"],
                                    "Layers": ["l/layer.tar"]}]).encode()}
write(f"{out}/gz.tar", gz)
EOF
  fresh_root
  run crowbar load -i "$BATS_TEST_TMPDIR/d25.tar"
  [ "$status" -eq 0 ]
  [ "$output" = "Loaded image: docker25:x" ]
  run crowbar load -i "$BATS_TEST_TMPDIR/multi.tar"
  [ "$status" -eq 0 ]
  [ "$output" = "Loaded image: multi/arch:1" ]
  [ "$(id_of docker25:x)" = "$id" ] && [ "$(id_of multi/arch:1)" = "$id" ]
  fresh_root
  run crowbar load -i "$BATS_TEST_TMPDIR/gz.tar"
  [ "$status" -eq 0 ]
  [ "$output" = "Loaded image: gz:1" ]
  run crowbar run --rm gz:1 cat /etc/os-release
  [ "$output" = busybox-rootfs ]
}

@test "save --format oci: skopeo inspect accepts the archive" {
  need skopeo
  crowbar save --format oci -o "$BATS_TEST_TMPDIR/o.tar" busybox:latest
  run skopeo inspect "oci-archive:$BATS_TEST_TMPDIR/o.tar"
  [ "$status" -eq 0 ]
  id=$(id_of busybox:latest)
  diff=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["rootfs"]["diff_ids"][0])' \
    "$CROWBAR_ROOT/images/${id#sha256:}/config.json")
  echo "$output" | python3 -c '
import json, sys
j = json.load(sys.stdin)
assert j["Os"] == "linux" and j["Layers"] == [sys.argv[1]], j' "$diff"
  # And by tag.
  skopeo inspect "oci-archive:$BATS_TEST_TMPDIR/o.tar:latest" >/dev/null
}

@test "save --format oci: umoci lists and unpacks the layout" {
  need umoci
  crowbar save --format oci -o "$BATS_TEST_TMPDIR/o.tar" busybox:latest
  d="$BATS_TEST_TMPDIR/layout"
  mkdir "$d" && tar -C "$d" -xf "$BATS_TEST_TMPDIR/o.tar"
  run umoci ls --layout "$d"
  [ "$status" -eq 0 ]
  [ "$output" = latest ]
  umoci unpack --image "$d:latest" "$BATS_TEST_TMPDIR/bundle" >/dev/null
  [ "$(cat "$BATS_TEST_TMPDIR/bundle/rootfs/etc/os-release")" = busybox-rootfs ]
}

@test "load: archives written by skopeo (OCI with gzip layers, docker-archive)" {
  need skopeo
  crowbar save -o "$BATS_TEST_TMPDIR/bb.tar" busybox:latest
  skopeo copy -q "docker-archive:$BATS_TEST_TMPDIR/bb.tar" \
    "oci-archive:$BATS_TEST_TMPDIR/sk-oci.tar:skopeo/oci:1"
  skopeo copy -q "oci-archive:$BATS_TEST_TMPDIR/sk-oci.tar" \
    "docker-archive:$BATS_TEST_TMPDIR/sk-docker.tar:skopeo/docker:2"
  fresh_root
  run crowbar load -i "$BATS_TEST_TMPDIR/sk-oci.tar"
  [ "$status" -eq 0 ]
  [ "$output" = "Loaded image: skopeo/oci:1" ]
  run crowbar load -i "$BATS_TEST_TMPDIR/sk-docker.tar"
  [ "$status" -eq 0 ]
  [ "$output" = "Loaded image: skopeo/docker:2" ]
  run crowbar run --rm skopeo/docker:2 cat /etc/os-release
  [ "$output" = busybox-rootfs ]
}

# ---- Docker round trips --------------------------------------------------------------------

@test "docker: crowbar save | docker load, and the image runs in Docker" {
  need_docker
  crowbar import -c 'CMD ["sh"]' "$TAR" "$DTAG:fromcrowbar" >/dev/null
  id=$(id_of "$DTAG:fromcrowbar")
  run bash -c "crowbar save '$DTAG:fromcrowbar' | docker load"
  [ "$status" -eq 0 ]
  [ "$output" = "Loaded image: $DTAG:fromcrowbar" ]
  [ "$(docker inspect -f '{{.Id}}' "$DTAG:fromcrowbar")" = "$id" ]
  run docker run --rm "$DTAG:fromcrowbar" cat /etc/os-release
  [ "$status" -eq 0 ]
  [ "$output" = busybox-rootfs ]
}

@test "docker: docker save | crowbar load, and the image runs in crowbar" {
  need_docker
  did=$(docker import -c 'CMD ["sh"]' "$TAR" "$DTAG:fromdocker")
  docker save "$DTAG:fromdocker" >"$BATS_TEST_TMPDIR/d.tar"
  fresh_root
  run crowbar load -i "$BATS_TEST_TMPDIR/d.tar"
  [ "$status" -eq 0 ]
  [ "$output" = "Loaded image: $DTAG:fromdocker" ]
  [ "$(id_of "$DTAG:fromdocker")" = "$did" ]
  run crowbar run --rm "$DTAG:fromdocker" cat /etc/os-release
  [ "$status" -eq 0 ]
  [ "$output" = busybox-rootfs ]
}

@test "docker: a layer that deletes files (docker commit) loads with its whiteouts" {
  need_docker
  docker import "$TAR" "$DTAG:base" >/dev/null
  docker run --name "$DTAG-wh" "$DTAG:base" sh -c 'rm /etc/group && rm -r /home/app && echo new >/etc/added'
  docker commit "$DTAG-wh" "$DTAG:deleted" >/dev/null
  docker rm "$DTAG-wh" >/dev/null
  docker save "$DTAG:deleted" "$DTAG:base" >"$BATS_TEST_TMPDIR/wh.tar"
  fresh_root
  run crowbar load -i "$BATS_TEST_TMPDIR/wh.tar"
  [ "$status" -eq 0 ]
  [ "$(id_of "$DTAG:deleted")" = "$(docker inspect -f '{{.Id}}' "$DTAG:deleted")" ]
  run crowbar run --rm "$DTAG:deleted" sh -c 'ls /etc; ls -d /home/app 2>&1; cat /etc/added'
  [ "$status" -eq 0 ]
  [[ "$output" != *group* ]]
  [[ "$output" == *passwd* ]]
  [[ "$output" == *"No such file or directory"* ]]
  [ "${lines[-1]}" = new ]
  # The base image still has them.
  run crowbar run --rm "$DTAG:base" ls /etc/group /home/app
  [ "$status" -eq 0 ]
  # And back: Docker forgets the image, then loads crowbar's archive of it.
  docker rmi "$DTAG:deleted" "$DTAG:base" >/dev/null
  crowbar save "$DTAG:deleted" | docker load -q
  run docker run --rm "$DTAG:deleted" sh -c 'cat /etc/added; ls /etc/group /home/app 2>&1'
  [ "${lines[0]}" = new ]
  [[ "${lines[1]}" == *"No such file or directory"* ]]
  [[ "${lines[2]}" == *"No such file or directory"* ]]
}

@test "docker: crowbar save of a Docker-made image writes what docker save wrote" {
  need_docker
  docker import -c 'CMD ["sh"]' "$TAR" "$DTAG:same1" >/dev/null
  docker run --name "$DTAG-same" "$DTAG:same1" sh -c 'echo x >/x'
  docker commit -c 'ENV A=1' -c 'LABEL b=<c&d>' "$DTAG-same" "$DTAG:same2" >/dev/null
  docker rm "$DTAG-same" >/dev/null
  docker save "$DTAG:same2" "$DTAG:same1" >"$BATS_TEST_TMPDIR/d.tar"
  fresh_root
  crowbar load -q -i "$BATS_TEST_TMPDIR/d.tar"
  crowbar save "$DTAG:same2" "$DTAG:same1" >"$BATS_TEST_TMPDIR/c.tar"
  mkdir "$BATS_TEST_TMPDIR/d" "$BATS_TEST_TMPDIR/c"
  tar -C "$BATS_TEST_TMPDIR/d" -xf "$BATS_TEST_TMPDIR/d.tar"
  tar -C "$BATS_TEST_TMPDIR/c" -xf "$BATS_TEST_TMPDIR/c.tar"
  # Same folders (v1 IDs), json files, configs, layers and symlinks; the manifests differ
  # only by Docker's Parent field.
  diff -r -x manifest.json "$BATS_TEST_TMPDIR/d" "$BATS_TEST_TMPDIR/c"
  python3 - "$BATS_TEST_TMPDIR/d/manifest.json" "$BATS_TEST_TMPDIR/c/manifest.json" <<'EOF'
import json, sys
d, c = (json.load(open(p)) for p in sys.argv[1:])
for i in d:
    i.pop("Parent", None)
key = lambda i: i["Config"]
assert sorted(d, key=key) == sorted(c, key=key), (d, c)
EOF
}

@test "docker: an image committed by crowbar runs in Docker" {
  need_docker
  [ -x "$CROWBAR_TOP/build/crowbar-commit" ] ||
    skip "crowbar commit is not built here yet (branch fsdiff)"
  crowbar run --name "$DTAG-c" busybox:latest sh -c 'echo made >/made && rm /etc/group'
  crowbar commit "$DTAG-c" "$DTAG:committed" >/dev/null
  crowbar rm "$DTAG-c" >/dev/null
  crowbar save "$DTAG:committed" | docker load
  run docker run --rm "$DTAG:committed" sh -c 'cat /made; ls /etc/group 2>&1'
  [ "${lines[0]}" = made ]
  [[ "${lines[1]}" == *"No such file or directory"* ]]
}

# ---- refused archives -----------------------------------------------------------------------

@test "load: malformed and hostile archives are refused and change nothing" {
  crowbar save -o "$BATS_TEST_TMPDIR/bb.tar" busybox:latest
  fresh_root
  crowbar import -c 'ENV KEEP=1' "$TAR" keep:1 >/dev/null
  before=$(store_state)
  b="$BATS_TEST_TMPDIR/bad"
  mkdir "$b"
  size=$(stat -c %s "$BATS_TEST_TMPDIR/bb.tar")
  head -c $((size / 2)) "$BATS_TEST_TMPDIR/bb.tar" >"$b/truncated.tar"
  head -c $((size - 3000)) "$BATS_TEST_TMPDIR/bb.tar" >"$b/truncated-late.tar"
  : >"$b/empty.tar"
  echo "not an archive" >"$b/text.tar"
  for k in tamper missing escape-link count badjson member-dotdot layer-dotdot two-images; do
    python3 "$MKBAD" "$k" "$BATS_TEST_TMPDIR/bb.tar" "$b/$k.tar"
  done
  # A tampered layer inside a gzip-compressed archive, too.
  gzip -c "$b/tamper.tar" >"$b/tamper-gz.tar"
  for f in "$b"/*.tar; do
    run crowbar load -i "$f"
    echo "$(basename "$f"): $output"
    [ "$status" -eq 1 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ "$output" == Error:* ]]
    [ "$(store_state)" = "$before" ]
    tmp_is_empty
  done
  run crowbar load -i "$b/tamper.tar"
  [[ "$output" == "Error: invalid diffID for layer 0: expected \"sha256:"* ]]
  run crowbar load -i "$b/layer-dotdot.tar"
  [[ "$output" == *"refusing \`../evil\`: the path leads outside the destination" ]]
  run crowbar load -i "$b/member-dotdot.tar"
  [[ "$output" == *"the member \`../evil.txt\` leads outside the archive" ]]
  run crowbar load -i "$b/missing.tar"
  [[ "$output" == *"is not in the archive" ]]
  run crowbar load -i "$b/truncated.tar"
  [[ "$output" == "Error: invalid archive: Truncated tar archive"* ]]
  # Nothing escaped onto the host either.
  [ ! -e "$CROWBAR_ROOT/evil" ] && [ ! -e "$CROWBAR_ROOT/layers/evil" ]
}

@test "load: an interrupted load leaves no image, layer or work file" {
  crowbar save -o "$BATS_TEST_TMPDIR/bb.tar" busybox:latest
  fresh_root
  before=$(store_state)
  mkfifo "$BATS_TEST_TMPDIR/fifo"
  crowbar load -i "$BATS_TEST_TMPDIR/fifo" 2>"$BATS_TEST_TMPDIR/err" 3>&- &
  pid=$!
  # Half of the archive, then a writer that keeps the FIFO open.
  { head -c 1000000 "$BATS_TEST_TMPDIR/bb.tar"; sleep 5; } >"$BATS_TEST_TMPDIR/fifo" 3>&- &
  writer=$!
  wait_until 50 tmp_has_work
  sleep 0.5
  kill -TERM "$pid"
  st=0
  wait "$pid" || st=$?
  [ "$st" -eq 1 ]
  [ "$(cat "$BATS_TEST_TMPDIR/err")" = "Error: interrupted" ]
  kill "$writer" 2>/dev/null || true
  wait "$writer" 2>/dev/null || true
  [ "$(store_state)" = "$before" ]
  tmp_is_empty
}

@test "load: the work folder of a killed load is removed by the next writer" {
  crowbar save -o "$BATS_TEST_TMPDIR/bb.tar" busybox:latest
  fresh_root
  mkfifo "$BATS_TEST_TMPDIR/fifo"
  crowbar load -i "$BATS_TEST_TMPDIR/fifo" 3>&- &
  pid=$!
  { head -c 1000000 "$BATS_TEST_TMPDIR/bb.tar"; sleep 5; } >"$BATS_TEST_TMPDIR/fifo" 3>&- &
  writer=$!
  wait_until 50 tmp_has_work
  kill -KILL "$pid"
  wait "$pid" 2>/dev/null || true
  kill "$writer" 2>/dev/null || true
  wait "$writer" 2>/dev/null || true
  [ -n "$(ls -A "$CROWBAR_ROOT/tmp")" ]
  run crowbar load -i "$BATS_TEST_TMPDIR/bb.tar"
  [ "$status" -eq 0 ]
  tmp_is_empty
}
