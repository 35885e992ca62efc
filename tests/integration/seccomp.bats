#!/usr/bin/env bats
# The system calls a container may make: Docker's default seccomp profile (generated from
# Docker's own JSON), --security-opt seccomp=unconfined|FILE and no-new-privileges, shown
# by inspect as Docker shows them, inherited by exec. tests/helpers/cbtest's "syscall"
# makes each call with harmless arguments and prints OK or the error.
# seccomp-docker.bats compares the filters with Docker's.

load helpers

setup_file() {
  crowbar_setup_root
  require_cbtest
  import_busybox
}
teardown_file() { crowbar_teardown_root; }
teardown() { crowbar_remove_all; }

# The calls of the attacks the filter stops, and a few it must let through.
CALLS="unshare-user clone-newuser keyctl bpf perf_event_open personality-bsd personality-query getppid uname fchmodat2"

@test "seccomp: a container runs under Docker's default filter" {
  run crowbar run --rm busybox grep -E '^(Seccomp|NoNewPrivs):' /proc/1/status
  [ "$status" -eq 0 ]
  [ "$output" = "NoNewPrivs:	0
Seccomp:	2" ]
}

@test "seccomp: the default filter stops user namespaces, keyctl, bpf, perf_event_open" {
  run crowbar run --rm busybox cbtest syscall $CALLS
  [ "$status" -eq 0 ]
  # clone(2) with CLONE_NEWUSER fails on its flags argument; personality(0xffffffff) (a
  # query) is allowed, PER_BSD is not; fchmodat2 is newer than the profile: ENOSYS, so
  # that a C library falls back.
  [ "$output" = "unshare-user EPERM
clone-newuser EPERM
keyctl EPERM
bpf EPERM
perf_event_open EPERM
personality-bsd EPERM
personality-query OK
getppid OK
uname OK
fchmodat2 ENOSYS" ]
  # The way out it closes: a user namespace, then mounts with its capabilities.
  run crowbar run --rm busybox unshare -U -r -m sh -c 'mount -t tmpfs none /mnt && echo mounted'
  [ "$status" -ne 0 ]
  [[ "$output" != *mounted* ]]
}

@test "seccomp: --cap-add SYS_ADMIN gets the calls Docker allows with it, and only those" {
  run crowbar run --rm --cap-add SYS_ADMIN busybox cbtest syscall unshare-user bpf keyctl reboot
  [ "$status" -eq 0 ]
  [ "$output" = "unshare-user OK
bpf EINVAL
keyctl EPERM
reboot EPERM" ]
  run crowbar run --rm --cap-add SYS_ADMIN busybox cbtest syscall mount-tmpfs
  [ "$output" = "mount-tmpfs OK" ]
  # Without it, mount(2) is refused by the filter before any capability check.
  run crowbar run --rm busybox cbtest syscall mount-tmpfs
  [ "$output" = "mount-tmpfs EPERM" ]
}

@test "seccomp: --security-opt seccomp=unconfined runs without a filter, as inspect says" {
  crowbar create --name free --security-opt seccomp=unconfined busybox cbtest syscall keyctl bpf
  run crowbar inspect -f '{{json .HostConfig.SecurityOpt}}' free
  [ "$output" = '["seccomp=unconfined"]' ]
  run crowbar start -a free
  [ "$output" = "keyctl OK
bpf EINVAL" ]
  run crowbar run --rm --security-opt seccomp:unconfined busybox grep '^Seccomp:' /proc/1/status
  [ "$output" = "Seccomp:	0" ]
  # Docker's default shows as null.
  crowbar create --name dflt busybox true
  run crowbar inspect -f '{{json .HostConfig.SecurityOpt}}' dflt
  [ "$output" = "null" ]
}

@test "seccomp: --security-opt seccomp=FILE applies a profile in Docker's format" {
  local prof="$BATS_TEST_TMPDIR/profile.json"
  cat >"$prof" <<'EOF'
{
  "defaultAction": "SCMP_ACT_ALLOW",
  "syscalls": [
    { "names": [ "mkdir", "mkdirat" ], "action": "SCMP_ACT_ERRNO", "errnoRet": 13 },
    { "names": [ "personality" ], "action": "SCMP_ACT_ERRNO",
      "args": [ { "index": 0, "value": 6, "op": "SCMP_CMP_EQ" } ] }
  ]
}
EOF
  crowbar create --name custom --security-opt "seccomp=$prof" busybox \
    cbtest syscall mkdir personality-bsd personality-query keyctl
  # Docker's CLI sends the file's JSON, compacted: inspect shows it so.
  run crowbar inspect -f '{{json .HostConfig.SecurityOpt}}' custom
  [ "$output" = '["seccomp={\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"mkdir\",\"mkdirat\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":13},{\"names\":[\"personality\"],\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":0,\"value\":6,\"op\":\"SCMP_CMP_EQ\"}]}]}"]' ]
  run crowbar start -a custom
  [ "$output" = "mkdir EACCES
personality-bsd EPERM
personality-query OK
keyctl OK" ]
  # KEY:VALUE as Docker's CLI still accepts it.
  run crowbar run --rm --security-opt "seccomp:$prof" busybox cbtest syscall mkdir
  [ "$output" = "mkdir EACCES" ]
  # A profile with neither a default action nor rules: no filter, as in Docker.
  echo '{}' >"$prof"
  run crowbar run --rm --security-opt "seccomp=$prof" busybox grep '^Seccomp:' /proc/1/status
  [ "$output" = "Seccomp:	0" ]
}

@test "seccomp: bad --security-opt values fail before anything is created" {
  run crowbar create --security-opt seccomp=/nonexistent busybox true
  [ "$status" -eq 125 ]
  [[ "$output" == "Error: opening seccomp profile (/nonexistent) failed: "* ]]
  echo '{"defaultAction": ' >"$BATS_TEST_TMPDIR/bad.json"
  run crowbar create --security-opt "seccomp=$BATS_TEST_TMPDIR/bad.json" busybox true
  [ "$status" -eq 125 ]
  [[ "$output" == "Error: compacting json for seccomp profile ($BATS_TEST_TMPDIR/bad.json) failed: "* ]]
  echo '{"defaultAction": "SCMP_ACT_ALOW"}' >"$BATS_TEST_TMPDIR/bad.json"
  run crowbar create --security-opt "seccomp=$BATS_TEST_TMPDIR/bad.json" busybox true
  [ "$status" -eq 125 ]
  [ "$output" = 'Error: seccomp profile: invalid action "SCMP_ACT_ALOW"' ]
  run crowbar create --security-opt foo busybox true
  [ "$output" = 'Error: Invalid --security-opt: "foo"' ]
  run crowbar create --security-opt foo=bar busybox true
  [ "$output" = 'Error: invalid --security-opt 2: "foo=bar"' ]
  run crowbar create --security-opt apparmor=docker-default busybox true
  [[ "$output" == *"crowbar applies no AppArmor or SELinux profile"* ]]
  run crowbar ps -aq
  [ -z "$output" ]
}

@test "seccomp: exec runs under the container's filter" {
  crowbar run -d --name box busybox sleep 1000
  run crowbar exec box grep '^Seccomp:' /proc/self/status
  [ "$output" = "Seccomp:	2" ]
  run crowbar exec box cbtest syscall $CALLS
  [ "$output" = "unshare-user EPERM
clone-newuser EPERM
keyctl EPERM
bpf EPERM
perf_event_open EPERM
personality-bsd EPERM
personality-query OK
getppid OK
uname OK
fchmodat2 ENOSYS" ]
  # As a user too (the filter is loaded before the switch).
  run crowbar exec -u 1000 box cbtest syscall keyctl getppid
  [ "$output" = "keyctl EPERM
getppid OK" ]
  # The container's own capability set decides: --cap-add SYS_ADMIN allows unshare.
  crowbar run -d --name admin --cap-add SYS_ADMIN busybox sleep 1000
  run crowbar exec admin cbtest syscall unshare-user keyctl
  [ "$output" = "unshare-user OK
keyctl EPERM" ]
  crowbar run -d --name free --security-opt seccomp=unconfined busybox sleep 1000
  run crowbar exec free grep '^Seccomp:' /proc/self/status
  [ "$output" = "Seccomp:	0" ]
}

@test "seccomp: no-new-privileges, for the container and its execs" {
  crowbar run -d --name nnp --security-opt no-new-privileges busybox sleep 1000
  run crowbar inspect -f '{{json .HostConfig.SecurityOpt}}' nnp
  [ "$output" = '["no-new-privileges"]' ]
  run crowbar exec nnp grep -E '^(NoNewPrivs|Seccomp):' /proc/1/status /proc/self/status
  [ "$output" = "/proc/1/status:NoNewPrivs:	1
/proc/1/status:Seccomp:	2
/proc/self/status:NoNewPrivs:	1
/proc/self/status:Seccomp:	2" ]
  run crowbar exec nnp cbtest syscall keyctl
  [ "$output" = "keyctl EPERM" ]
}

@test "seccomp: --init and a user: the init and the command are filtered" {
  run crowbar run --rm --init -u 1000 busybox sh -c \
    'grep "^Seccomp:" /proc/1/status /proc/self/status; cbtest syscall keyctl'
  [ "$status" -eq 0 ]
  [ "$output" = "/proc/1/status:Seccomp:	2
/proc/self/status:Seccomp:	2
keyctl EPERM" ]
}

@test "seccomp: a record made before SecurityOpt existed gets the default filter" {
  crowbar create --name old busybox grep '^Seccomp:' /proc/1/status
  local rec="$CROWBAR_ROOT/containers/$(ctr_id old)/container.json"
  python3 - "$rec" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
del r["HostConfig"]["SecurityOpt"]
json.dump(r, open(sys.argv[1], "w"))
PY
  run crowbar inspect -f '{{json .HostConfig.SecurityOpt}}' old
  [ "$output" = "null" ]
  run crowbar start -a old
  [ "$output" = "Seccomp:	2" ]
}

@test "seccomp: a profile that keeps the engine from closing its descriptors stops the start" {
  # Without no_new_privs the filter is loaded before the descriptors are marked
  # close-on-exec: a profile refusing both ways (close_range, opening /proc/self/fd) must
  # not let the command start with what the engine held open.
  local prof="$BATS_TEST_TMPDIR/noclose.json"
  cat >"$prof" <<'EOF2'
{ "defaultAction": "SCMP_ACT_ALLOW",
  "syscalls": [ { "names": [ "close_range", "openat", "open" ], "action": "SCMP_ACT_ERRNO" } ] }
EOF2
  run crowbar run --rm --security-opt "seccomp=$prof" busybox true
  [ "$status" -eq 125 ]
  [[ "$output" == *"mark the descriptors close-on-exec: Operation not permitted" ]]
}
