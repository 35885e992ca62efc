#!/usr/bin/env bats
# Users and groups out of range: uid_t is 32 bits, so setuid(4294967296) is setuid(0) and
# -1 means "unchanged" (root, for the engine): a number out of 0-2147483647 would make a
# user root. Docker refuses them ("uids and gids must be in range 0-2147483647"); so does
# crowbar wherever an id comes from: -u, the image's USER, the container's passwd and group
# files, tar headers (import, cp -a -), files copied with their owner (cp -a).

load helpers

setup_file() {
  crowbar_setup_root
  require_cbtest
  import_busybox
  # An image whose passwd and group hold ids out of range.
  local r="$CROWBAR_ROOT/badids"
  mkdir -p "$r"
  tar -C "$r" -xf "$(fixture_rootfs)"
  cat >"$r/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
big:x:4294967296:0::/:/bin/sh
neg:x:-1:0::/:/bin/sh
biggid:x:1000:4294967296::/:/bin/sh
member:x:1001:1001::/:/bin/sh
max:x:2147483647:2147483647::/:/bin/sh
EOF
  cat >"$r/etc/group" <<'EOF'
root:x:0:
bigg:x:4294967296:member
memberg:x:1001:
EOF
  tar --numeric-owner -C "$r" -cf "$CROWBAR_ROOT/badids.tar" .
  rm -rf "$r"
  crowbar import "$CROWBAR_ROOT/badids.tar" badids >/dev/null
}
teardown_file() { crowbar_teardown_root; }
teardown() { crowbar_remove_all; }

RANGE="uids and gids must be in range 0-2147483647"

@test "uidrange: -u with a number out of range is refused, not run as root" {
  for u in 4294967295 4294967296 2147483648 -1 0:4294967296 0:-1 1000:2147483648 99999999999999999999; do
    run crowbar run --rm -u "$u" busybox id -u
    [ "$status" -eq 125 ]
    [[ "$output" == "Error: invalid "*": $RANGE" ]]
  done
  run crowbar create -u 4294967295 busybox true
  [ "$status" -eq 125 ]
  [ "$output" = "Error: invalid user \"4294967295\": $RANGE" ]
  run crowbar ps -aq
  [ -z "$output" ]
  # The top of the range is a user like any other.
  run crowbar run --rm -u 2147483647:2147483647 busybox id
  [ "$output" = "uid=2147483647 gid=2147483647 groups=2147483647" ]
}

@test "uidrange: passwd and group lines out of range are refused" {
  run crowbar run --rm -u big badids id -u
  [ "$status" -eq 125 ]
  [[ "$output" == *"user \"big\" in /etc/passwd has uid 4294967296: $RANGE" ]]
  run crowbar run --rm -u neg badids id -u
  [ "$status" -eq 125 ]
  [[ "$output" == *"user \"neg\" in /etc/passwd has uid -1: $RANGE" ]]
  run crowbar run --rm -u biggid badids id -g
  [ "$status" -eq 125 ]
  [[ "$output" == *"user \"biggid\" in /etc/passwd has gid 4294967296: $RANGE" ]]
  run crowbar run --rm -u 0:bigg badids id -g
  [ "$status" -eq 125 ]
  [[ "$output" == *"group \"bigg\" in /etc/group has gid 4294967296: $RANGE" ]]
  # A supplementary group out of range (it lists the user).
  run crowbar run --rm -u member badids id -G
  [ "$status" -eq 125 ]
  [[ "$output" == *"group \"bigg\" in /etc/group (of user \"member\") has gid 4294967296: $RANGE" ]]
  run crowbar run --rm -u max badids id
  [ "$output" = "uid=2147483647(max) gid=2147483647 groups=2147483647" ]
}

@test "uidrange: an image's USER out of range is refused" {
  crowbar import -c 'USER big' "$CROWBAR_ROOT/badids.tar" badids:big >/dev/null
  run crowbar run --rm badids:big id -u
  [ "$status" -eq 125 ]
  [[ "$output" == *"user \"big\" in /etc/passwd has uid 4294967296: $RANGE" ]]
  crowbar import -c 'USER 4294967296' "$CROWBAR_ROOT/badids.tar" badids:num >/dev/null
  run crowbar run --rm badids:num id -u
  [ "$status" -eq 125 ]
  [ "$output" = "Error: invalid user \"4294967296\": $RANGE" ]
}

@test "uidrange: exec -u out of range is refused" {
  crowbar run -d --name box badids sleep 1000
  for u in 4294967296 big neg; do
    run crowbar exec -u "$u" box id -u
    [ "$status" -ne 0 ]
    [[ "$output" == *"$RANGE" ]]
  done
  run crowbar exec -u 1001:1001 box id -u
  [ "$output" = "1001" ]
}

@test "uidrange: tar headers out of range: import and cp -a - refuse them" {
  local t="$BATS_TEST_TMPDIR/own.tar"
  python3 "$CROWBAR_TOP/tests/fixtures/mktar.py" "$t" d:d o:d/big=4294967296:0
  run crowbar import "$t" badtar
  [ "$status" -ne 0 ]
  [[ "$output" == *"refusing \`d/big\`: owner 4294967296:0: $RANGE" ]]
  run crowbar images -q badtar
  [ -z "$output" ]
  python3 "$CROWBAR_TOP/tests/fixtures/mktar.py" "$t" d:d o:d/neg=0:-1
  run crowbar import "$t" badtar
  [ "$status" -ne 0 ]
  [[ "$output" == *"owner 0:-1: $RANGE" ]]
  # Into a container: with -a the owners count and are refused; without, they do not.
  crowbar run -d --name box busybox sleep 1000
  python3 "$CROWBAR_TOP/tests/fixtures/mktar.py" "$t" o:big=4294967296:4294967296
  run crowbar cp -a - box:/tmp <"$t"
  [ "$status" -ne 0 ]
  [[ "$output" == *"owner 4294967296:4294967296: $RANGE" ]]
  run crowbar exec box ls /tmp/big
  [ "$status" -ne 0 ]
  crowbar cp - box:/tmp <"$t"
  run crowbar exec box stat -c %u:%g /tmp/big
  [ "$output" = "0:0" ]
  python3 "$CROWBAR_TOP/tests/fixtures/mktar.py" "$t" o:top=2147483647:2147483647
  crowbar cp -a - box:/tmp <"$t"
  run crowbar exec box stat -c %u:%g /tmp/top
  [ "$output" = "2147483647:2147483647" ]
}

@test "uidrange: cp -a of a file owned out of range is refused" {
  local f="$BATS_TEST_TMPDIR/owned"
  echo data >"$f"
  chown 3000000000:0 "$f"
  crowbar run -d --name box busybox sleep 1000
  run crowbar cp -a "$f" box:/tmp/owned
  [ "$status" -ne 0 ]
  [[ "$output" == *"owner 3000000000:0: $RANGE" ]]
  crowbar cp "$f" box:/tmp/owned
  run crowbar exec box stat -c %u /tmp/owned
  [ "$output" = "0" ]
  # Out of the container too.
  crowbar exec box sh -c 'touch /tmp/far && chown 3000000000 /tmp/far'
  run crowbar cp -a box:/tmp/far "$BATS_TEST_TMPDIR/far"
  [ "$status" -ne 0 ]
  [[ "$output" == *"owner 3000000000:0: $RANGE" ]]
}
