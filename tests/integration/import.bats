#!/usr/bin/env bats
# crowbar import: formats, the stored image, --change, tags, and tarballs that try to
# write outside the layer.

load helpers

MKTAR="$CROWBAR_TOP/tests/fixtures/mktar.py"

setup_file() {
  crowbar_setup_root
  TAR=$(fixture_rootfs)
  export TAR
  for c in gzip xz zstd bzip2; do "$c" -c "$TAR" >"$BATS_FILE_TMPDIR/busybox.tar.$c"; done
}

teardown_file() {
  crowbar_teardown_root
}

# A value from an image's stored config: jpath IMAGE_ID_HEX 'python expression on c'.
cfg() {
  python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
    "$CROWBAR_ROOT/images/$1/config.json" "$2"
}

# The hex ID printed by import ("sha256:<hex>").
hexid() { echo "${1#sha256:}"; }

# The store's contents, to compare before and after a refused import.
store_state() {
  (cd "$CROWBAR_ROOT" && ls images layers tmp && cat repositories.json 2>/dev/null)
}

@test "import: a plain tarball prints its ID and stores config, manifest and layer" {
  run crowbar import "$TAR" plain:1
  [ "$status" -eq 0 ]
  [[ "$output" =~ ^sha256:[0-9a-f]{64}$ ]]
  id=$(hexid "$output")
  d="$CROWBAR_ROOT/images/$id"
  [ -f "$d/config.json" ] && [ -f "$d/manifest.json" ]
  # The ID is the sha256 of the config's exact bytes.
  [ "$(sha256sum <"$d/config.json" | cut -d' ' -f1)" = "$id" ]
  # The diff_id is the sha256 of the uncompressed tarball, kept as layer.tar.
  diff=$(sha256sum <"$TAR" | cut -d' ' -f1)
  [ "$(cfg "$id" 'c["rootfs"]["diff_ids"]')" = "['sha256:$diff']" ]
  [ "$(cfg "$id" 'c["rootfs"]["type"]')" = layers ]
  [ "$(cfg "$id" 'c["os"], c["architecture"] in ("amd64", "arm64")')" = "('linux', True)" ]
  [ "$(cfg "$id" 'c["history"][0]["comment"]')" = "Imported from -" ]
  cmp "$TAR" "$CROWBAR_ROOT/layers/$diff/layer.tar"
  [ -x "$CROWBAR_ROOT/layers/$diff/diff/bin/busybox" ]
  # The manifest names the config and the layer.
  python3 - "$d/manifest.json" "$id" "$diff" "$(stat -c %s "$TAR")" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
assert m["schemaVersion"] == 2
assert m["config"]["digest"] == "sha256:" + sys.argv[2]
assert m["layers"][0]["digest"] == "sha256:" + sys.argv[3]
assert m["layers"][0]["size"] == int(sys.argv[4])
EOF
  grep -q "\"plain:1\":\"sha256:$id\"" "$CROWBAR_ROOT/repositories.json"
  [ -z "$(ls "$CROWBAR_ROOT/tmp")" ]
}

@test "import: the layer holds the tarball's tree with modes and numeric owners" {
  run crowbar import "$TAR"
  [ "$status" -eq 0 ]
  diff=$(sha256sum <"$TAR" | cut -d' ' -f1)
  l="$CROWBAR_ROOT/layers/$diff/diff"
  diff -u <(tar tf "$TAR" | sed -e 's|^\./||' -e 's|/$||' | grep . | sort) \
    <(cd "$l" && find . -mindepth 1 | sed 's|^\./||' | sort)
  [ "$(stat -c %a "$l/tmp")" = 1777 ]
  [ "$(stat -c %u:%g "$l/home/app")" = 1000:1000 ]
  [ "$(readlink "$l/bin/sh")" = /bin/busybox ]
  [ "$(stat -c %a "$l")" = 755 ]
}

@test "import: gzip, xz, zstd and bzip2 give the same layer, stored once" {
  plain=$(sha256sum <"$TAR" | cut -d' ' -f1)
  for c in gzip xz zstd bzip2; do
    run crowbar import "$BATS_FILE_TMPDIR/busybox.tar.$c" "comp:$c"
    [ "$status" -eq 0 ]
    [ "$(cfg "$(hexid "$output")" 'c["rootfs"]["diff_ids"][0]')" = "sha256:$plain" ]
  done
  [ "$(ls "$CROWBAR_ROOT/layers" | grep -c "$plain")" -eq 1 ]
}

@test "import: - reads the tarball from stdin" {
  run bash -c "crowbar import - stdin:x <'$BATS_FILE_TMPDIR/busybox.tar.zstd'"
  [ "$status" -eq 0 ]
  [[ "$output" =~ ^sha256:[0-9a-f]{64}$ ]]
  [ "$(crowbar images -q --no-trunc stdin:x)" = "$output" ]
}

@test "import: -c instructions and -m land in the config" {
  run crowbar import -m "my message" \
    -c 'CMD ["sh", "-c", "echo hi"]' \
    -c 'ENTRYPOINT /bin/run me' \
    -c 'ENV A=1 B="two words"' \
    -c 'ENV C ${A}-x' \
    -c 'WORKDIR /srv' -c 'WORKDIR app' \
    -c 'USER app' \
    -c 'EXPOSE 80 53/udp' \
    -c 'LABEL org.example.x=y' \
    -c 'VOLUME ["/data"]' \
    -c 'HEALTHCHECK --interval=5s CMD true' \
    "$TAR" changes:1
  [ "$status" -eq 0 ]
  id=$(hexid "$output")
  [ "$(cfg "$id" 'c["config"]["Cmd"]')" = "['sh', '-c', 'echo hi']" ]
  [ "$(cfg "$id" 'c["config"]["Entrypoint"]')" = "['/bin/sh', '-c', '/bin/run me']" ]
  [ "$(cfg "$id" 'c["config"]["Env"]')" = "['A=1', 'B=two words', 'C=1-x']" ]
  [ "$(cfg "$id" 'c["config"]["WorkingDir"]')" = /srv/app ]
  [ "$(cfg "$id" 'c["config"]["User"]')" = app ]
  [ "$(cfg "$id" 'sorted(c["config"]["ExposedPorts"])')" = "['53/udp', '80/tcp']" ]
  [ "$(cfg "$id" 'c["config"]["Labels"]')" = "{'org.example.x': 'y'}" ]
  [ "$(cfg "$id" 'c["config"]["Volumes"]')" = "{'/data': {}}" ]
  [ "$(cfg "$id" 'c["config"]["Healthcheck"]')" = "{'Test': ['CMD-SHELL', 'true'], 'Interval': 5000000000}" ]
  [ "$(cfg "$id" 'c["history"][0]["comment"]')" = "my message" ]
}

@test "import: without -c the config has no Env (as docker import)" {
  run crowbar import "$TAR"
  [ "$status" -eq 0 ]
  [ "$(cfg "$(hexid "$output")" 'c["config"]')" = "{}" ]
}

@test "import: a bad -c, reference or file fails cleanly and stores nothing" {
  before=$(store_state)
  run crowbar import -c 'RUN true' "$TAR" bad:1
  [ "$status" -eq 1 ]
  [ "$output" = "Error: run is not a valid change command" ]
  run crowbar import "$TAR" Bad:1
  [ "$status" -eq 1 ]
  [ "$output" = "Error: invalid reference format: repository name (library/Bad) must be lowercase" ]
  run crowbar import /nonexistent.tar
  [ "$status" -eq 1 ]
  [[ "$output" == "Error: open \`/nonexistent.tar\`: No such file or directory" ]]
  [ "$(store_state)" = "$before" ]
}

@test "import: usage errors and --help" {
  run crowbar import
  [ "$status" -eq 1 ]
  [[ "${lines[0]}" == 'Error: "crowbar import" requires at least 1 and at most 2 arguments.' ]]
  run crowbar import a b c
  [ "$status" -eq 1 ]
  run crowbar import --bogus x
  [ "$status" -eq 125 ]
  [[ "$output" == *"See 'crowbar import --help'."* ]]
  run crowbar import --help
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" == "Usage: crowbar import [OPTIONS] FILE|- [REPOSITORY[:TAG]]" ]]
  [ "${lines[-1]}" = "See crowbar-import(1)." ]
}

@test "import: the same tarball twice shares the layer; a moved tag leaves <none>" {
  run crowbar import "$TAR" moved:1
  first=$(hexid "$output")
  run crowbar import "$TAR" moved:1
  second=$(hexid "$output")
  [ "$first" != "$second" ] # the created time differs, as with docker import
  [ "$(cfg "$first" 'c["rootfs"]["diff_ids"]')" = "$(cfg "$second" 'c["rootfs"]["diff_ids"]')" ]
  run crowbar images --no-trunc --format '{{.Repository}}:{{.Tag}} {{.ID}}'
  [[ "$output" == *"moved:1 sha256:$second"* ]]
  [[ "$output" == *"<none>:<none> sha256:$first"* ]]
}

@test "import: OCI whiteouts become overlay whiteouts; tar xattrs trusted.overlay.* are dropped" {
  "$MKTAR" "$BATS_TEST_TMPDIR/wh.tar" 'd:d/' 'f:d/.wh..wh..opq' 'f:d/.wh.gone' 'f:e/.wh.x' \
    'X:f=trusted.overlay.opaque=y' 'X:g=user.keep=1'
  run crowbar import "$BATS_TEST_TMPDIR/wh.tar"
  [ "$status" -eq 0 ]
  l="$CROWBAR_ROOT/layers/$(sha256sum <"$BATS_TEST_TMPDIR/wh.tar" | cut -d' ' -f1)/diff"
  [ "$(stat -c '%F %t:%T' "$l/d/gone")" = "character special file 0:0" ]
  [ "$(stat -c '%F %t:%T' "$l/e/x")" = "character special file 0:0" ]
  [ ! -e "$l/d/.wh.gone" ] && [ ! -e "$l/d/.wh..wh..opq" ]
  python3 - "$l" <<'EOF'
import os, sys
l = sys.argv[1]
assert os.getxattr(l + "/d", "trusted.overlay.opaque") == b"y"
assert "trusted.overlay.opaque" not in os.listxattr(l + "/f")
assert os.getxattr(l + "/g", "user.keep") == b"1"
EOF
}

@test "import: a killed import leaves only a work folder, which the next import removes" {
  before=$(cd "$CROWBAR_ROOT" && ls images layers && cat repositories.json)
  fifo="$BATS_TEST_TMPDIR/fifo"
  mkfifo "$fifo"
  crowbar-import "$fifo" killed:1 3>&- &
  pid=$!
  exec 4>"$fifo"
  head -c 1000000 "$TAR" >&4
  wait_until 50 bash -c "ls '$CROWBAR_ROOT/tmp' | grep -q '^image-import-'"
  kill -9 "$pid"
  wait "$pid" || true
  exec 4>&-
  [ -n "$(ls "$CROWBAR_ROOT/tmp")" ]
  [ "$(cd "$CROWBAR_ROOT" && ls images layers && cat repositories.json)" = "$before" ]
  run crowbar import "$TAR" after:1
  [ "$status" -eq 0 ]
  [ -z "$(ls "$CROWBAR_ROOT/tmp")" ]
  [ "$(grep -c killed "$CROWBAR_ROOT/repositories.json")" = 0 ]
}

# ---- tarballs that try to escape the layer -------------------------------------------

# Import a tarball that must be refused: exit 1, one "Error:" line, and the store as before.
refused() {
  local tar=$1 before
  before=$(store_state)
  run crowbar import "$tar" evil:latest
  echo "$output"
  [ "$status" -eq 1 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "${lines[0]}" == Error:* ]]
  [ "$(store_state)" = "$before" ]
}

@test "malicious: an absolute name is written inside the layer, never on the host" {
  marker="crowbar-evil-$$-abs"
  "$MKTAR" "$BATS_TEST_TMPDIR/abs.tar" "f:/tmp/$marker=evil"
  run crowbar import "$BATS_TEST_TMPDIR/abs.tar" evil:abs
  [ "$status" -eq 0 ]
  [ ! -e "/tmp/$marker" ]
  l="$CROWBAR_ROOT/layers/$(sha256sum <"$BATS_TEST_TMPDIR/abs.tar" | cut -d' ' -f1)/diff"
  [ "$(cat "$l/tmp/$marker")" = evil ]
}

@test "malicious: ../ traversal is refused" {
  mkdir -p "$BATS_TEST_TMPDIR/deep/a/b"
  "$MKTAR" "$BATS_TEST_TMPDIR/deep/a/b/dotdot.tar" 'd:x/' 'f:../../evil-dotdot=evil' \
    'f:x/../../../evil-dotdot2=evil'
  refused "$BATS_TEST_TMPDIR/deep/a/b/dotdot.tar"
  [[ "$output" == *"leads outside the destination"* ]]
  [ -z "$(find "$CROWBAR_ROOT" "$BATS_TEST_TMPDIR" -name 'evil-dotdot*')" ]
}

@test "malicious: a hard link to ../../../etc/passwd is refused" {
  links=$(stat -c %h /etc/passwd)
  "$MKTAR" "$BATS_TEST_TMPDIR/hl.tar" 'f:a=1' 'h:pw>../../../etc/passwd'
  refused "$BATS_TEST_TMPDIR/hl.tar"
  [[ "$output" == *"outside the destination"* ]]
  [ "$(stat -c %h /etc/passwd)" = "$links" ]
}

@test "malicious: a hard link to /etc/passwd can only reach the layer's own file" {
  links=$(stat -c %h /etc/passwd)
  ino=$(stat -c %i /etc/passwd)
  # No etc/passwd in the layer: refused.
  "$MKTAR" "$BATS_TEST_TMPDIR/hlabs.tar" 'h:pw>/etc/passwd'
  refused "$BATS_TEST_TMPDIR/hlabs.tar"
  # With one: the link is to the layer's copy.
  "$MKTAR" "$BATS_TEST_TMPDIR/hlabs2.tar" 'd:etc/' 'f:etc/passwd=layer' 'h:pw>/etc/passwd'
  run crowbar import "$BATS_TEST_TMPDIR/hlabs2.tar"
  [ "$status" -eq 0 ]
  l="$CROWBAR_ROOT/layers/$(sha256sum <"$BATS_TEST_TMPDIR/hlabs2.tar" | cut -d' ' -f1)/diff"
  [ "$(cat "$l/pw")" = layer ]
  [ "$(stat -c %i "$l/pw")" = "$(stat -c %i "$l/etc/passwd")" ]
  [ "$(stat -c %i "$l/pw")" != "$ino" ]
  [ "$(stat -c %h /etc/passwd)" = "$links" ]
}

@test "malicious: a symlink to a host folder, then a file through it, is refused" {
  host="$BATS_TEST_TMPDIR/host"
  mkdir -p "$host"
  "$MKTAR" "$BATS_TEST_TMPDIR/sym.tar" "l:lnk>$host" 'f:lnk/evil=evil'
  refused "$BATS_TEST_TMPDIR/sym.tar"
  [[ "$output" == *symlink* ]]
  [ -z "$(ls -A "$host")" ]
  # A relative symlink climbing out, then a folder and a file through it.
  "$MKTAR" "$BATS_TEST_TMPDIR/sym2.tar" 'l:up>../../../../../../../..' "d:up$host/sub/" \
    "f:up$host/evil2=evil"
  refused "$BATS_TEST_TMPDIR/sym2.tar"
  [ -z "$(ls -A "$host")" ]
}

@test "malicious: a hard link through a symlink to /etc is refused" {
  links=$(stat -c %h /etc/passwd)
  "$MKTAR" "$BATS_TEST_TMPDIR/symhl.tar" 'l:lnk>/etc' 'h:pw>lnk/passwd'
  refused "$BATS_TEST_TMPDIR/symhl.tar"
  [ "$(stat -c %h /etc/passwd)" = "$links" ]
}

@test "malicious: truncated, garbage and empty inputs fail cleanly" {
  head -c 300000 "$TAR" >"$BATS_TEST_TMPDIR/trunc.tar"
  refused "$BATS_TEST_TMPDIR/trunc.tar"
  [[ "$output" == *"invalid"* ]]
  head -c 100000 "$BATS_FILE_TMPDIR/busybox.tar.gzip" >"$BATS_TEST_TMPDIR/trunc.tar.gz"
  refused "$BATS_TEST_TMPDIR/trunc.tar.gz"
  head -c 8192 /dev/urandom >"$BATS_TEST_TMPDIR/garbage"
  refused "$BATS_TEST_TMPDIR/garbage"
  : >"$BATS_TEST_TMPDIR/empty"
  refused "$BATS_TEST_TMPDIR/empty"
  [ "$output" = "Error: invalid tar archive: the input is empty" ]
}
