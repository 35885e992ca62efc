#!/usr/bin/env bats
# ps, inspect and logs against hand-made container records (tests/integration/mkrecord.py
# writes them as the engine does), so that the listing verbs are tested apart from the
# runtime. A `sleep` stands in for the shim and PID 1 of the "running" containers.

load helpers

mkrec() { python3 "$BATS_TEST_DIRNAME/mkrecord.py" "$@"; }

setup_file() {
  crowbar_setup_root
  sleep 100000 >/dev/null 2>&1 3>&- &
  echo $! >"$CROWBAR_ROOT/sleep.pid"
  local sp=$!
  mkrec --name db --status exited --exit-code 137 --created-ago 7200 --finished-ago 180 \
    --path sh --arg=-c --arg "echo hi; sleep 5" --image-ref alpine:3.19 \
    --mount /srv/data:/data >"$CROWBAR_ROOT/db.id"
  mkrec --name web --status running --pid "$sp" --created-ago 600 --started-ago 590 \
    --path sleep --arg 1000000000 --label b=2 --label a=1 >"$CROWBAR_ROOT/web.id"
  mkrec --name fresh --status created --created-ago 240 --image-ref "" >"$CROWBAR_ROOT/fresh.id"
}

teardown_file() {
  kill "$(cat "$CROWBAR_ROOT/sleep.pid")" 2>/dev/null || true
  rm -rf "$CROWBAR_ROOT"
}

id_of() { cat "$CROWBAR_ROOT/$1.id"; }
short() { id_of "$1" | cut -c1-12; }

# ---- ps ---------------------------------------------------------------------------------

@test "ps: the running containers, in docker's table" {
  run crowbar ps
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "CONTAINER ID   IMAGE     COMMAND              CREATED          STATUS         PORTS     NAMES" ]
  [ "${lines[1]}" = "$(short web)   busybox   \"sleep 1000000000\"   10 minutes ago   Up 9 minutes             web" ]
  [ "${#lines[@]}" -eq 2 ]
}

@test "ps -a: every container, newest first, byte for byte as docker aligns them" {
  run crowbar ps -a
  [ "$status" -eq 0 ]
  expected="CONTAINER ID   IMAGE          COMMAND                  CREATED          STATUS                       PORTS     NAMES
$(short fresh)   abababababab   \"sh\"                     4 minutes ago    Created                                fresh
$(short web)   busybox        \"sleep 1000000000\"       10 minutes ago   Up 9 minutes                           web
$(short db)   alpine:3.19    \"sh -c 'echo hi; sle…\"   2 hours ago      Exited (137) 3 minutes ago             db"
  [ "$output" = "$expected" ]
}

@test "ps --no-trunc: full IDs, image IDs and commands" {
  run crowbar ps -a --no-trunc --format '{{.ID}}|{{.Image}}|{{.Command}}'
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "$(id_of fresh)|sha256:$(printf 'ab%.0s' $(seq 32))|\"sh\"" ]
  [ "${lines[2]}" = "$(id_of db)|alpine:3.19|\"sh -c 'echo hi; sleep 5'\"" ]
}

@test "ps -q, -aq --no-trunc, -n and -l" {
  run crowbar ps -q
  [ "$output" = "$(short web)" ]
  run crowbar ps -aq --no-trunc
  [ "$output" = "$(id_of fresh)
$(id_of web)
$(id_of db)" ]
  run crowbar ps -n 2 -q
  [ "$output" = "$(short fresh)
$(short web)" ]
  run crowbar ps -l --format '{{.Names}}'
  [ "$output" = "fresh" ]
}

@test "ps --format: custom tables, plain templates, json" {
  run crowbar ps -a --format 'table {{.Names}}\t{{.State}}\t{{.Labels}}'
  [ "$status" -eq 0 ]
  [ "$output" = "NAMES     STATE     LABELS
fresh     created   
web       running   a=1,b=2
db        exited    " ]
  run crowbar ps -a --format '{{.Names}}: {{.Status}} [{{.Mounts}}] {{.Networks}}'
  [ "${lines[2]}" = "db: Exited (137) 3 minutes ago [/srv/data] none" ]
  run crowbar ps --format json
  [ "$status" -eq 0 ]
  echo "$output" | python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin]
assert len(rows) == 1, rows
r = rows[0]
assert list(r) == sorted(r), list(r)
assert r["Names"] == "web" and r["State"] == "running" and r["Status"] == "Up 9 minutes", r
assert r["RunningFor"] == "10 minutes ago" and r["Command"] == "\"sleep 1000000000\"", r
'
  run crowbar ps --format table
  [ "${lines[0]}" = "CONTAINER ID   IMAGE     COMMAND              CREATED          STATUS         PORTS     NAMES" ]
}

@test "ps --format: a missing field is an error and prints nothing" {
  run --separate-stderr crowbar ps -a --format '{{.ID}} {{.Nope}}'
  [ "$status" -eq 1 ]
  [ "$output" = "" ]
  [ "$stderr" = 'Error: template: no field "Nope"' ]
  run crowbar ps --format '{{.ID'
  [ "$status" -eq 1 ]
  [[ "$output" == *"unclosed action"* ]]
  run crowbar ps --format '{{nope .ID}}'
  [ "$status" -eq 1 ]
  [[ "$output" == *'function "nope" not defined'* ]]
}

@test "ps --format: printf widths and precisions, and the output, are bounded" {
  # Go's fmt refuses widths and precisions over 1e6; these went to C's printf as they were
  # (47 s and 10 GB for the first, an abort for the second).
  run timeout 60 crowbar ps -a --format '{{printf "%.2147483646f" 1.0}}'
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = '%!(NOVERB)%!(EXTRA float64=1)' ]
  run timeout 60 crowbar ps -a --format '{{printf "%2000000000s|%*d" .Names 5000000 1}}'
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = '%!(NOVERB)%!(EXTRA string=fresh, int=5000000, int=1)' ]
  run timeout 60 crowbar ps -a --format '{{printf "%*d|" 5000000 1}}'
  [ "${lines[0]}" = '%!(BADWIDTH)1|' ]
  # A template that would print a gigabyte, or loop for ever, fails.
  run --separate-stderr timeout 60 crowbar ps -a --format '{{range 1000}}{{printf "%1000000d" 1}}{{end}}'
  [ "$status" -eq 1 ]
  [ "$stderr" = 'Error: template: the output exceeds the limit of 16 MiB' ]
  run --separate-stderr timeout 60 crowbar inspect -f '{{range 100000000000}}{{end}}' web
  [ "$status" -eq 1 ]
  [ "$stderr" = 'Error: template: the execution exceeds the limit of 16777216 steps' ]
}

@test "ps -f: status, name, id, label, exited, before, since, ancestor, volume" {
  run crowbar ps -f status=exited --format '{{.Names}}'
  [ "$output" = "db" ]
  run crowbar ps -f status=exited -f status=created --format '{{.Names}}'
  [ "$output" = "fresh
db" ]
  run crowbar ps -a -f name=e --format '{{.Names}}'
  [ "$output" = "fresh
web" ]
  run crowbar ps -a -f name=^web$ --format '{{.Names}}'
  [ "$output" = "web" ]
  run crowbar ps -a -f name=/db --format '{{.Names}}'
  [ "$output" = "db" ]
  run crowbar ps -a -f name=e -f status=running --format '{{.Names}}'
  [ "$output" = "web" ]
  run crowbar ps -a -f "id=$(id_of db | cut -c1-6)" --format '{{.Names}}'
  [ "$output" = "db" ]
  run crowbar ps -a -f label=a --format '{{.Names}}'
  [ "$output" = "web" ]
  run crowbar ps -a -f label=a=2 --format '{{.Names}}'
  [ "$output" = "" ]
  run crowbar ps -a -f exited=137 --format '{{.Names}}'
  [ "$output" = "db" ]
  run crowbar ps -a -f before=web --format '{{.Names}}'
  [ "$output" = "db" ]
  run crowbar ps -a -f since=web --format '{{.Names}}'
  [ "$output" = "fresh" ]
  run crowbar ps -a -f ancestor=busybox:latest --format '{{.Names}}'
  [ "$output" = "web" ]
  run crowbar ps -a -f ancestor=abab --format '{{.Names}}'
  [ "${#lines[@]}" -eq 3 ]
  run crowbar ps -a -f volume=/data --format '{{.Names}}'
  [ "$output" = "db" ]
}

@test "ps -f: bad filters are errors" {
  run crowbar ps -f status=bogus
  [ "$status" -eq 1 ]
  [ "$output" = "Error: invalid filter 'status=bogus'" ]
  run crowbar ps -f colour=red
  [ "$status" -eq 1 ]
  [ "$output" = "Error: invalid filter 'colour'" ]
  run crowbar ps -f status
  [ "$status" -eq 1 ]
  [ "$output" = "Error: bad format of filter (expected name=value)" ]
  run crowbar ps -a -f before=nope
  [ "$status" -eq 1 ]
  [ "$output" = "Error: No such container: nope" ]
  run crowbar ps -a -f exited=x
  [ "$status" -eq 1 ]
}

@test "ps: a running container whose processes are gone shows as exited (255)" {
  sleep 1000 3>&- &
  local pid=$!
  mkrec --name ghost --status running --pid "$pid" --created-ago 60 --started-ago 59 >/dev/null
  run crowbar ps --format '{{.Names}}'
  [[ "$output" == *ghost* ]]
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  run crowbar ps -a -f name=ghost --format '{{.State}} {{.Status}}'
  [[ "$output" == "exited Exited (255) "* ]]
  run crowbar inspect -f '{{.State.ExitCode}} {{.State.Error}}' ghost
  [[ "$output" == "255 the container's monitor and process disappeared"* ]]
  rm -rf "$CROWBAR_ROOT/containers/$(crowbar inspect -f '{{.Id}}' ghost)" "$CROWBAR_ROOT/names/ghost"
}

@test "ps: usage" {
  run crowbar ps --help
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "Usage: crowbar ps [OPTIONS]" ]
  [ "${lines[-1]}" = "See crowbar-ps(1)." ]
  run crowbar ps --bogus
  [ "$status" -eq 125 ]
  [ "${lines[-1]}" = "See 'crowbar ps --help'." ]
  run crowbar ps extra
  [ "$status" -eq 1 ]
  run crowbar ps -n x
  [ "$status" -eq 125 ]
}

# ---- inspect ------------------------------------------------------------------------------

@test "inspect: a JSON array indented as docker's, without the private Crowbar object" {
  run --separate-stderr crowbar inspect web
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "[" ]
  [ "${lines[1]}" = "    {" ]
  [ "${lines[2]}" = "        \"Id\": \"$(id_of web)\"," ]
  [ "${lines[-1]}" = "]" ]
  echo "$output" | python3 -c '
import json, sys
text = sys.stdin.read().rstrip("\n")
v = json.loads(text)
assert len(v) == 1 and "Crowbar" not in v[0], v[0].keys()
assert v[0]["State"]["Status"] == "running" and v[0]["Name"] == "/web"
assert json.dumps(v, indent=4, ensure_ascii=False) == text, "not MarshalIndent style"
'
}

@test "inspect -f: a template per object" {
  run crowbar inspect -f '{{.State.Status}} {{.State.ExitCode}} {{.Name}} {{json .Config.Labels}}' web db
  [ "$status" -eq 0 ]
  [ "$output" = 'running 0 /web {"a":"1","b":"2"}
exited 137 /db {}' ]
  run crowbar inspect -f '{{.Config.Labels.nope}}|{{index .Config.Labels "a"}}|{{join .Args ","}}' web
  [ "$output" = "<no value>|1|1000000000" ]
  run crowbar inspect -f '{{range .Mounts}}{{.Source}}->{{.Destination}}{{end}}' db
  [ "$output" = "/srv/data->/data" ]
  run crowbar inspect -f '{{.State.FinishedAt}}' fresh
  [ "$output" = "0001-01-01T00:00:00Z" ]
  run crowbar inspect -f '{{.Crowbar}}' web
  [ "$status" -eq 1 ]
  [ "$output" = 'Error: template: no field "Crowbar"' ]
  run crowbar inspect -f json db
  echo "$output" | python3 -c 'import json,sys; assert json.load(sys.stdin)["Name"] == "/db"'
}

@test "inspect: IDs, prefixes and names" {
  run crowbar inspect -f '{{.Name}}' "$(id_of db)" "$(short web)" /fresh
  [ "$output" = "/db
/web
/fresh" ]
}

@test "inspect: a missing object is an error after the others are printed" {
  run --separate-stderr crowbar inspect -f '{{.Name}}' nope web
  [ "$status" -eq 1 ]
  [ "$output" = "/web" ]
  [ "$stderr" = "Error: No such object: nope" ]
  run --separate-stderr crowbar inspect nope
  [ "$status" -eq 1 ]
  [ "$output" = "[]" ]
  [ "$stderr" = "Error: No such object: nope" ]
  run --separate-stderr crowbar inspect --type container nope
  [ "$stderr" = "Error: No such container: nope" ]
  run --separate-stderr crowbar inspect --type image nope
  [ "$stderr" = "Error: No such image: nope" ]
  run crowbar inspect --type volume web
  [ "$status" -eq 1 ]
  run crowbar inspect
  [ "$status" -eq 1 ]
  run crowbar inspect --help
  [ "$status" -eq 0 ]
  [ "${lines[-1]}" = "See crowbar-inspect(1)." ]
}

# ---- logs ---------------------------------------------------------------------------------

@test "logs: stdout to stdout, stderr to stderr, partial lines as they are" {
  mkrec --name lg --status exited --created-ago 100 --log stdout:50:first --log stderr:40:oops \
    --log 'stdout:30:part~' --log stdout:29:ial --log stdout:10:last >/dev/null
  run --separate-stderr crowbar logs lg
  [ "$status" -eq 0 ]
  [ "$output" = "first
partial
last" ]
  [ "$stderr" = "oops" ]
}

@test "logs -t, --tail, --since, --until" {
  run crowbar logs -t --tail 1 lg
  [[ "$output" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z\ last$ ]]
  run crowbar logs --tail 2 lg
  [ "$output" = "ial
last" ]
  run crowbar logs -n 0 lg
  [ "$output" = "" ]
  run crowbar logs --tail all lg
  [ "${#lines[@]}" -eq 4 ]
  run crowbar logs --since 35s lg
  [ "$output" = "partial
last" ]
  run crowbar logs --until 35s lg
  [ "$output" = "first
oops" ]
  run crowbar logs --since "$(date -u -d '-45 seconds' +%Y-%m-%dT%H:%M:%SZ)" --until "$(($(date +%s) - 20))" lg
  [ "$output" = "oops
partial" ]
  run crowbar logs --since yesterday lg
  [ "$status" -eq 1 ]
  [[ "$output" == "Error: invalid time value \"yesterday\""* ]]
  run crowbar logs --tail x lg
  [ "$status" -eq 1 ]
}

@test "logs --tail reads only the end of a long log" {
  local f="$BATS_FILE_TMPDIR/long.log"
  python3 -c '
import json
with open("'"$f"'", "w") as f:
    for i in range(200000):
        f.write(json.dumps({"log": "line %d\n" % i, "stream": "stdout",
                            "time": "2026-11-22T08:00:00.%09dZ" % i}) + "\n")'
  mkrec --name long --status exited --log-raw "$f" >/dev/null
  run crowbar logs --tail 3 long
  [ "$output" = "line 199997
line 199998
line 199999" ]
  command -v strace >/dev/null || skip "strace is not installed"
  run strace -f -e trace=read,pread64 -o "$BATS_FILE_TMPDIR/trace" crowbar logs --tail 3 long
  # A few blocks from the end, not the 13 MB of the whole file.
  bytes=$(grep -oE '= [0-9]+$' "$BATS_FILE_TMPDIR/trace" | awk '{s += $2} END {print s}')
  [ "$bytes" -lt 1000000 ]
}

@test "logs: no log file is no output; an unknown container is an error" {
  mkrec --name quiet --status exited --no-log >/dev/null
  run crowbar logs quiet
  [ "$status" -eq 0 ]
  [ "$output" = "" ]
  run crowbar logs nope
  [ "$status" -eq 1 ]
  [ "$output" = "Error: No such container: nope" ]
  run crowbar logs
  [ "$status" -eq 1 ]
  run crowbar logs --help
  [ "${lines[-1]}" = "See crowbar-logs(1)." ]
}

@test "logs -f: follows a running container until it stops" {
  run timeout 5 crowbar logs -f lg
  [ "$status" -eq 0 ] # a stopped container: no waiting
  sleep 1000 3>&- &
  local pid=$!
  local id
  id=$(mkrec --name follow --status running --pid "$pid" --created-ago 10 --log stdout:5:hello)
  local log="$CROWBAR_ROOT/containers/$id/$id-json.log"
  timeout 10 crowbar logs -f follow >"$BATS_FILE_TMPDIR/follow.out" 2>&1 &
  local lp=$!
  sleep 0.5
  printf '{"log":"more\\n","stream":"stdout","time":"2026-11-26T12:30:00.5Z"}\n{"log":"hal' >>"$log"
  sleep 0.3
  [ "$(cat "$BATS_FILE_TMPDIR/follow.out")" = "hello
more" ]
  printf 'f\\n","stream":"stdout","time":"2026-11-26T12:30:01Z"}\n' >>"$log"
  sleep 0.3
  kill "$pid"
  wait "$lp"
  [ "$(cat "$BATS_FILE_TMPDIR/follow.out")" = "hello
more
half" ]
}
