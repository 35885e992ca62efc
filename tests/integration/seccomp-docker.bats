#!/usr/bin/env bats
# crowbar's seccomp filters against Docker's, on a private Docker daemon (its own data
# root, socket, exec root and pid file, stopped at the end; skipped where dockerd or the
# docker client is missing). Two ways: the filters themselves, read from each container's
# PID 1 (PTRACE_SECCOMP_GET_FILTER) and run by tests/helpers/scverdicts for every call
# number of the three x86 ABIs and a grid of arguments; and the calls made for real by
# cbtest inside both.

load helpers

SCV="$CROWBAR_TOP/build/tests/helpers/scverdicts"

setup_file() {
  crowbar_setup_root
  require_cbtest
  import_busybox
  export DOCKER_OK=0
  local dockerd
  dockerd=$(command -v dockerd || echo /usr/sbin/dockerd)
  [ -x "$dockerd" ] && command -v docker >/dev/null || return 0
  local d="$CROWBAR_ROOT/docker"
  mkdir -p "$d"
  export DOCKER_HOST="unix://$d/sock"
  (setsid "$dockerd" --data-root "$d/data" --exec-root "$d/exec" -H "$DOCKER_HOST" \
    --pidfile "$d/pid" --bridge=none --iptables=false --ip6tables=false --ip-masq=false \
    >"$d/log" 2>&1 3>&- &)
  local i
  for i in $(seq 150); do
    timeout 5 docker info >/dev/null 2>&1 && break
    sleep 0.2
  done
  timeout 5 docker info >/dev/null 2>&1 || return 0
  docker import "$(fixture_rootfs)" cbseccomp >/dev/null && DOCKER_OK=1
}

teardown_file() {
  local d="$CROWBAR_ROOT/docker" pid i
  if [ -s "$d/pid" ]; then
    ids=$(docker ps -aq 2>/dev/null) || true
    [ -n "$ids" ] && docker rm -f $ids >/dev/null 2>&1
    pid=$(cat "$d/pid")
    kill "$pid" 2>/dev/null
    for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  fi
  crowbar_teardown_root
}

teardown() { crowbar_remove_all; }

need_docker() {
  [ "$DOCKER_OK" = 1 ] || skip "no private Docker daemon could be started (dockerd and docker needed)"
}

# compare NAME [RUN-OPTIONS...]: the verdicts of a crowbar and a Docker container made
# with the same options; the two lists must be equal.
compare() {
  local name=$1 cpid dpid
  shift
  crowbar run -d --name "$name" "$@" busybox sleep 1000 >/dev/null
  docker run -d --name "$name" --network none "$@" cbseccomp sleep 1000 >/dev/null
  cpid=$(ctr_pid "$name")
  dpid=$(docker inspect -f '{{.State.Pid}}' "$name")
  "$SCV" "$cpid" >"$BATS_TEST_TMPDIR/$name.crowbar"
  "$SCV" "$dpid" >"$BATS_TEST_TMPDIR/$name.docker"
  # Both must have a filter (the comparison of two empty lists proves nothing).
  [ "$("$SCV" -n "$cpid")" = 1 ]
  [ "$("$SCV" -n "$dpid")" = 1 ]
  diff -u "$BATS_TEST_TMPDIR/$name.docker" "$BATS_TEST_TMPDIR/$name.crowbar"
}

@test "seccomp-docker: the default profile gives Docker's verdicts, for each capability set" {
  need_docker
  compare plain
  compare admin --cap-add SYS_ADMIN
  compare several --cap-add SYS_PTRACE --cap-add SYS_TIME --cap-add SYSLOG --cap-add SYS_NICE
  compare every --cap-add DAC_READ_SEARCH --cap-add SYS_ADMIN --cap-add SYS_BOOT \
    --cap-add SYS_MODULE --cap-add SYS_PACCT --cap-add SYS_PTRACE --cap-add SYS_RAWIO \
    --cap-add SYS_TIME --cap-add SYS_TTY_CONFIG --cap-add SYS_NICE --cap-add SYSLOG
  compare none --cap-drop ALL
  # The default differs from no filter: a check that the lists say something.
  ! cmp -s "$BATS_TEST_TMPDIR/plain.crowbar" "$BATS_TEST_TMPDIR/admin.crowbar"
  grep -q '^x86_64 250 ERRNO(1)$' "$BATS_TEST_TMPDIR/plain.crowbar" # keyctl
}

@test "seccomp-docker: profile files give Docker's verdicts" {
  need_docker
  # Docker's own profile (the JSON Debian ships), changed: calls taken out of the list and
  # given conditions of every kind, i386 but no x32.
  local json=/usr/share/gocode/src/github.com/docker/docker/profiles/seccomp/default.json
  [ -r "$json" ] || skip "$json is missing (golang-github-docker-docker-dev)"
  local p="$BATS_TEST_TMPDIR/deny.json"
  python3 - "$json" "$p" <<'EOF'
import json, sys
prof = json.load(open(sys.argv[1]))
out = ["mkdir", "kill", "lseek", "uname", "getcpu", "close_range", "socket", "semop"]
for r in prof["syscalls"]:
    r["names"] = [n for n in r["names"] if n not in out]
prof["syscalls"] = [r for r in prof["syscalls"] if r["names"]]
del prof["archMap"]
prof["architectures"] = ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"]
prof["syscalls"] += [
    {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
    {"names": ["kill"], "action": "SCMP_ACT_ALLOW",
     "args": [{"index": 1, "value": 5, "op": "SCMP_CMP_GT"}]},
    {"names": ["lseek"], "action": "SCMP_ACT_TRAP",
     "args": [{"index": 0, "value": 3, "op": "SCMP_CMP_LE"},
              {"index": 2, "value": 4294967296, "op": "SCMP_CMP_NE"}]},
    {"names": ["uname"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
    {"names": ["getcpu"], "action": "SCMP_ACT_ALLOW",
     "excludes": {"caps": ["CAP_SYS_ADMIN"], "minKernel": "99.0"}},
    {"names": ["close_range"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
    {"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 97},
    {"names": ["semop"], "action": "SCMP_ACT_LOG"},
]
json.dump(prof, open(sys.argv[2], "w"), indent=2)
EOF
  compare deny --security-opt "seccomp=$p"
  compare denyadmin --security-opt "seccomp=$p" --cap-add SYS_ADMIN
  # Allow by default, a few calls refused, with x32: no ENOSYS stub.
  p="$BATS_TEST_TMPDIR/allow.json"
  cat >"$p" <<'EOF'
{
  "defaultAction": "SCMP_ACT_ALLOW",
  "architectures": [ "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32" ],
  "syscalls": [
    { "names": [ "mkdir", "mkdirat", "no_such_call" ], "action": "SCMP_ACT_ERRNO", "errnoRet": 13 },
    { "names": [ "personality" ], "action": "SCMP_ACT_ERRNO",
      "args": [ { "index": 0, "value": 6, "op": "SCMP_CMP_EQ" },
                { "index": 0, "value": 8, "op": "SCMP_CMP_EQ" } ] },
    { "names": [ "fchown" ], "action": "SCMP_ACT_KILL_PROCESS",
      "args": [ { "index": 1, "value": 18446744069414584320, "valueTwo": 4294967296,
                  "op": "SCMP_CMP_MASKED_EQ" } ] },
    { "names": [ "socket", "shmget" ], "action": "SCMP_ACT_ERRNO", "errnoRet": 97 },
    { "names": [ "getpriority" ], "action": "SCMP_ACT_ERRNO",
      "args": [ { "index": 0, "value": 7, "op": "SCMP_CMP_LT" } ] }
  ]
}
EOF
  compare allow --security-opt "seccomp=$p"
}

@test "seccomp-docker: unconfined: neither has a filter" {
  need_docker
  crowbar run -d --name free --security-opt seccomp=unconfined busybox sleep 1000 >/dev/null
  docker run -d --name free --network none --security-opt seccomp=unconfined cbseccomp sleep 1000 >/dev/null
  [ "$("$SCV" -n "$(ctr_pid free)")" = 0 ]
  [ "$("$SCV" -n "$(docker inspect -f '{{.State.Pid}}' free)")" = 0 ]
  [ "$(crowbar inspect -f '{{json .HostConfig.SecurityOpt}}' free)" = \
    "$(docker inspect -f '{{json .HostConfig.SecurityOpt}}' free)" ]
}

@test "seccomp-docker: the calls fail the same way in both" {
  need_docker
  local calls="keyctl bpf perf_event_open personality-bsd personality-query getppid uname getcpu
    fchmodat2 reboot mkdir clone-newuser mount-tmpfs unshare-mount unshare-user"
  for opts in "" "--cap-add SYS_ADMIN"; do
    # In one process each: what an allowed call changes (a user namespace last), it
    # changes in both.
    crowbar run --rm $opts busybox cbtest syscall $calls >"$BATS_TEST_TMPDIR/calls.crowbar"
    docker run --rm --network none $opts cbseccomp cbtest syscall $calls >"$BATS_TEST_TMPDIR/calls.docker"
    diff -u "$BATS_TEST_TMPDIR/calls.docker" "$BATS_TEST_TMPDIR/calls.crowbar"
  done
  grep -qx "keyctl EPERM" "$BATS_TEST_TMPDIR/calls.crowbar"
  grep -qx "unshare-user OK" "$BATS_TEST_TMPDIR/calls.crowbar"
}
