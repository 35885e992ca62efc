#!/usr/bin/env bats
# The container's log as the shim writes it (Docker's json-file) and as `logs` reads it
# back: streams kept apart, order kept within each stream.

load helpers

setup_file() {
  require_cbtest
  crowbar_setup_root
  import_busybox
}
teardown() { crowbar_remove_all; }
teardown_file() { crowbar_teardown_root; }

@test "logs: stdout to stdout, stderr to stderr, in order within each stream" {
  crowbar run -d --name lg busybox cbtest log 40
  wait_status lg exited
  run --separate-stderr crowbar logs lg
  [ "$status" -eq 0 ]
  [ "$output" = "$(for i in $(seq 1 2 39); do echo "out $i"; done)" ]
  [ "$stderr" = "$(for i in $(seq 2 2 40); do echo "err $i"; done)" ]
}

@test "logs CTR 2>/dev/null has only the stdout lines, logs CTR >/dev/null only the stderr lines" {
  crowbar run --name lg2 busybox cbtest log 10 >/dev/null 2>&1
  out=$(crowbar logs lg2 2>/dev/null)
  err=$(crowbar logs lg2 2>&1 >/dev/null)
  [ "$out" = $'out 1\nout 3\nout 5\nout 7\nout 9' ]
  [ "$err" = $'err 2\nerr 4\nerr 6\nerr 8\nerr 10' ]
}

@test "the log file is Docker's json-file: one object per line with log, stream and time" {
  crowbar run --name js busybox sh -c 'echo "a \"quoted\" <tag> & tab	end"; echo to-err >&2; printf no-newline'
  path=$(crowbar inspect -f '{{.LogPath}}' js)
  [ -f "$path" ]
  [[ "$path" == "$CROWBAR_ROOT/containers/$(ctr_id js)/$(ctr_id js)-json.log" ]]
  cat "$path"
  re='^\{"log":".*","stream":"(stdout|stderr)","time":"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z"\}$'
  while IFS= read -r l; do [[ "$l" =~ $re ]]; done <"$path"
  [ "$(wc -l <"$path")" -eq 3 ]
  grep -qF '{"log":"a \"quoted\" \u003ctag\u003e \u0026 tab\tend\n","stream":"stdout","time":"' "$path"
  grep -qF '{"log":"to-err\n","stream":"stderr","time":"' "$path"
  grep -qF '{"log":"no-newline","stream":"stdout","time":"' "$path"
}

@test "logs works on a stopped container and prints what was written, partial lines too" {
  crowbar run --name stopped busybox sh -c 'echo first; printf last'
  run crowbar logs stopped
  [ "$status" -eq 0 ]
  [ "$output" = $'first\nlast' ]
}

@test "a long line is kept whole by logs" {
  crowbar run --name long busybox sh -c 'head -c 40000 /dev/zero | tr "\0" x; echo'
  run crowbar logs long
  [ "${#output}" -eq 40000 ]
}

@test "logs -t prefixes RFC 3339 nanosecond timestamps" {
  crowbar run --name ts busybox echo stamped
  run crowbar logs -t ts
  [[ "$output" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z\ stamped$ ]]
}

@test "a container restarted keeps appending to the same log" {
  crowbar run --name twice busybox echo once
  crowbar start -a twice
  run crowbar logs twice
  [ "$output" = $'once\nonce' ]
}
