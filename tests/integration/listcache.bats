#!/usr/bin/env bats
# The listing cache (containers/.list-cache) must never show a stale state.

load helpers

setup_file() {
  crowbar_setup_root
  import_busybox
}

teardown() { crowbar_remove_all; }
teardown_file() { crowbar_teardown_root; }

@test "a state change right after a cached listing shows in the next one" {
  id=$(crowbar create busybox sleep 100)
  run crowbar ps -a --format '{{.ID}} {{.State}}'
  [[ "$output" == "${id:0:12} created" ]]
  [ -s "$CROWBAR_ROOT/containers/.list-cache" ]
  crowbar start "$id"
  run crowbar ps --format '{{.ID}} {{.State}}'
  [[ "$output" == "${id:0:12} running" ]]
  crowbar pause "$id"
  run crowbar ps --format '{{.State}}'
  [ "$output" = "paused" ]
  crowbar unpause "$id"
  run crowbar ps --format '{{.State}}'
  [ "$output" = "running" ]
  crowbar kill "$id"
  crowbar wait "$id"
  run crowbar ps -a --format '{{.State}} {{.Status}}'
  [[ "$output" == "exited Exited (137) "* ]]
}

@test "a damaged or foreign cache is ignored and rebuilt" {
  id=$(crowbar create --name cached busybox true)
  crowbar ps -a >/dev/null
  printf 'crowbar-list-cache 3\n%s\tgarbage\n' "$id" >"$CROWBAR_ROOT/containers/.list-cache"
  run crowbar ps -a --format '{{.Names}} {{.State}}'
  [ "$output" = "cached created" ]
  echo "something else entirely" >"$CROWBAR_ROOT/containers/.list-cache"
  run crowbar ps -a --format '{{.Names}} {{.Command}}'
  [ "$output" = 'cached "true"' ]
  grep -q '^crowbar-list-cache 3$' "$CROWBAR_ROOT/containers/.list-cache"
}

@test "removed containers leave the cache" {
  a=$(crowbar create busybox true)
  b=$(crowbar create busybox true)
  crowbar ps -a >/dev/null
  crowbar rm "$a"
  run crowbar ps -aq --no-trunc
  [ "$output" = "$b" ]
  crowbar ps -a >/dev/null
  ! grep -q "^$a" "$CROWBAR_ROOT/containers/.list-cache"
}
