#!/usr/bin/env bats
# Device access: Docker's rules (mknod of anything, use of null, zero, full, random,
# urandom, tty, console, ptmx, pts/ and net/tun only), enforced by the v1 devices
# controller and by the BPF device program on the container's cgroup v2 folder. On a
# hybrid host both run (the kernel asks the program of the task's v2 cgroup first);
# the tests that relax the v1 rules, or join only the v2 cgroup, show the program alone
# refuses. A pure v2 host is played by mounting the v2 hierarchy on /sys/fs/cgroup in a
# private mount namespace, and a kernel without BPF by a seccomp filter on bpf(2).
#
# Nodes for numbers no driver serves (8:0 and 1:1 on most VMs) tell the rules apart:
# let through, opening fails with ENXIO; refused, with EPERM.

load helpers

# v2 (unified), hybrid (v1 controllers and a v2 tree at /sys/fs/cgroup/unified) or v1.
cgroup_layout() {
  if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then
    echo v2
  elif [ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then
    echo hybrid
  else
    echo v1
  fi
}

# The container's folder in the v2 tree, where the BPF program is attached.
v2_dir() {
  case $(cgroup_layout) in
  v2) echo "/sys/fs/cgroup/crowbar/$1" ;;
  hybrid) echo "/sys/fs/cgroup/unified/crowbar/$1" ;;
  *) return 1 ;;
  esac
}

# "MAJOR MINOR" of one of the host's disks (not a loop or RAM device), or nothing.
host_disk() {
  local d
  for d in /sys/block/*; do
    case ${d##*/} in loop* | ram* | zram*) continue ;; esac
    [ "$(cat "$d/size" 2>/dev/null || echo 0)" -gt 0 ] || continue
    tr ':' ' ' <"$d/dev"
    return 0
  done
}

# "MAJOR MINOR" of a block device number that no driver serves here.
free_block_dev() {
  local d
  for d in "8 0" "8 240" "65 0" "259 999999"; do
    [ -e "/sys/dev/block/${d/ /:}" ] || { echo "$d"; return 0; }
  done
}

ctr_pid() { crowbar inspect -f '{{.State.Pid}}' "$1"; }

# Run a command as on a pure cgroup v2 host: in a private mount namespace with the v2
# hierarchy mounted on /sys/fs/cgroup (on a v2 host that changes nothing).
as_v2() {
  unshare -m --propagation private sh -c 'mount -t cgroup2 none /sys/fs/cgroup && exec "$@"' sh "$@"
}

setup_file() {
  crowbar_setup_root
  import_busybox
  # nobpf ERRNO CMD...: run CMD with bpf(2) failing with ERRNO (a seccomp filter), as on
  # a kernel without BPF cgroup-device support or with BPF locked down.
  cat >"$CROWBAR_ROOT/nobpf.c" <<'C'
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(int argc, char **argv) {
  if (argc < 3)
    return 2;
  struct sock_filter f[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_bpf, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (atoi(argv[1]) & SECCOMP_RET_DATA)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog p = {sizeof f / sizeof f[0], f};
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &p) < 0) {
    perror("seccomp");
    return 2;
  }
  execvp(argv[2], argv + 2);
  perror("exec");
  return 127;
}
C
  cc -O2 -o "$CROWBAR_ROOT/nobpf" "$CROWBAR_ROOT/nobpf.c"
  export CTR
  CTR=$(crowbar run -d --name dev busybox sleep 1000)
}

teardown_file() { crowbar_teardown_root; }

@test "mknod of a block device is allowed, reading it is not" {
  run crowbar exec dev sh -c 'mknod /dev/sda-test b 8 0 && echo made && head -c 1 /dev/sda-test'
  [ "$status" -ne 0 ]
  [ "${lines[0]}" = made ]
  [[ "$output" == *"/dev/sda-test: Operation not permitted"* ]]
  # Nor writing.
  run crowbar exec dev sh -c 'echo x > /dev/sda-test'
  [ "$status" -ne 0 ]
  [[ "$output" == *"Operation not permitted"* ]]
}

@test "mknod of /dev/mem's numbers is allowed, reading it is not" {
  run crowbar exec dev sh -c 'mknod /dev/mem-test c 1 1 && echo made && head -c 1 /dev/mem-test'
  [ "$status" -ne 0 ]
  [ "${lines[0]}" = made ]
  [[ "$output" == *"/dev/mem-test: Operation not permitted"* ]]
}

@test "the allowed devices work: null, zero, full, urandom, ptmx" {
  run crowbar exec dev sh -c 'echo x > /dev/null && head -c 4 /dev/zero | od -An -tx1 &&
    head -c 4 /dev/full | wc -c && head -c 8 /dev/urandom | wc -c && cat /dev/null'
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = " 00 00 00 00" ]
  [ "${lines[1]}" = 4 ]
  [ "${lines[2]}" = 8 ]
  # A node made anew for an allowed number works too: the rule is the number, not the path.
  run crowbar exec dev sh -c 'mknod /dev/zero2 c 1 5 && head -c 2 /dev/zero2 | od -An -tx1'
  [ "$status" -eq 0 ]
  [ "$output" = " 00 00" ]
  # ptmx: opening it makes a terminal in the container's own devpts.
  run crowbar exec dev sh -c 'exec 3<>/dev/ptmx && ls /dev/pts'
  [ "$status" -eq 0 ]
  [[ "$output" == *0* ]]
}

@test "PID 1 is held to the rules, not only exec'd processes" {
  run crowbar run --rm busybox sh -c 'mknod /dev/b b 8 0 && head -c 1 /dev/b'
  [ "$status" -ne 0 ]
  [[ "$output" == *"/dev/b: Operation not permitted"* ]]
}

# (Some sandboxes refuse even the host the disk; there this one cannot fail.)
@test "the host's own disk cannot be read through a node made inside" {
  disk=$(host_disk)
  [ -n "$disk" ] || skip "no disk in /sys/block"
  run crowbar exec dev sh -c "mknod /dev/disk-test b $disk && head -c 16 /dev/disk-test"
  [ "$status" -ne 0 ]
  [[ "$output" == *"/dev/disk-test: Operation not permitted"* ]]
}

@test "the BPF program on the container's v2 cgroup alone refuses a block device" {
  [ "$(cgroup_layout)" != v1 ] || skip "no cgroup v2 tree on this host (the v1 controller alone guards)"
  v2=$(v2_dir "$CTR")
  [ -d "$v2" ]
  # A block device number this host has no driver for: opening a node for it gets
  # ENXIO once the device rules let the open through, EPERM when they do not.
  dev=$(free_block_dev)
  [ -n "$dev" ] || skip "no free block device number"
  node="$CROWBAR_ROOT/block-node"
  rm -f "$node"
  mknod "$node" b $dev
  # A host process in no container cgroup gets past the rules...
  run head -c 1 "$node"
  [ "$status" -ne 0 ]
  [[ "$output" == *"No such device or address"* ]]
  # ...and, once in the container's v2 cgroup only (its v1 cgroups stay the host's, so
  # no v1 device rule applies), does not.
  run sh -c "echo \$\$ > $v2/cgroup.procs && grep -E '^(0::|[0-9]+:devices:)' /proc/self/cgroup && head -c 1 $node"
  [ "$status" -ne 0 ]
  [[ "$output" == *"0::/crowbar/$CTR"* ]]
  [[ "$output" != *"devices:/crowbar"* ]]
  [[ "$output" == *"Operation not permitted"* ]]
  rm -f "$node"
}

@test "with the v1 device rules relaxed, the BPF program still refuses (hybrid host)" {
  [ "$(cgroup_layout)" = hybrid ] || skip "not a hybrid host (v1 devices controller and a v2 tree)"
  id=$(crowbar run -d busybox sleep 1000)
  v1=/sys/fs/cgroup/devices/crowbar/$id
  [ -d "$v1" ]
  [ -d "$(v2_dir "$id")" ]
  echo a >"$v1/devices.allow"
  [ "$(cat "$v1/devices.list")" = "a *:* rwm" ]
  run crowbar exec "$id" sh -c 'mknod /dev/sda-test b 8 0 && head -c 1 /dev/sda-test'
  [ "$status" -ne 0 ]
  [[ "$output" == *"/dev/sda-test: Operation not permitted"* ]]
  run crowbar exec "$id" sh -c 'mknod /dev/mem-test c 1 1 && head -c 1 /dev/mem-test'
  [ "$status" -ne 0 ]
  [[ "$output" == *"/dev/mem-test: Operation not permitted"* ]]
  disk=$(host_disk)
  if [ -n "$disk" ]; then
    run crowbar exec "$id" sh -c "mknod /dev/disk-test b $disk && head -c 16 /dev/disk-test"
    [ "$status" -ne 0 ]
    [[ "$output" == *"/dev/disk-test: Operation not permitted"* ]]
  fi
  run crowbar exec "$id" sh -c 'head -c 2 /dev/zero | od -An -tx1'
  [ "$status" -eq 0 ]
  [ "$output" = " 00 00" ]
  crowbar rm -f "$id"
}

@test "a restarted container gets its program again" {
  [ "$(cgroup_layout)" = hybrid ] || skip "not a hybrid host (v1 devices controller and a v2 tree)"
  id=$(crowbar run -d busybox sleep 1000)
  crowbar restart -t 0 "$id"
  [ "$(ctr_status "$id")" = running ]
  echo a >"/sys/fs/cgroup/devices/crowbar/$id/devices.allow"
  run crowbar exec "$id" sh -c 'mknod /dev/sda-test b 8 0 && head -c 1 /dev/sda-test'
  [ "$status" -ne 0 ]
  [[ "$output" == *"Operation not permitted"* ]]
  crowbar rm -f "$id"
}

@test "no BPF program descriptor is left in the container or the shim" {
  pid=$(ctr_pid dev)
  shim=$(awk '/^PPid:/ {print $2}' "/proc/$pid/status")
  run sh -c "ls -l /proc/$pid/fd/ /proc/$shim/fd/"
  [ "$status" -eq 0 ]
  [[ "$output" != *bpf* ]]
  run crowbar exec dev ls -l /proc/1/fd/ /proc/self/fd/
  [ "$status" -eq 0 ]
  [[ "$output" != *bpf* ]]
}

@test "on a pure v2 layout the program alone guards" {
  id=$(as_v2 crowbar run -d busybox sleep 1000)
  pid=$(ctr_pid "$id")
  # In the v2 folder only: every v1 hierarchy left at the host's root.
  grep -qx "0::/crowbar/$id" "/proc/$pid/cgroup"
  ! grep -q ':/crowbar/' <(grep -v '^0::' "/proc/$pid/cgroup")
  run crowbar exec "$id" sh -c 'mknod /dev/sda-test b 8 0 && echo made && head -c 1 /dev/sda-test'
  [ "$status" -ne 0 ]
  [ "${lines[0]}" = made ]
  [[ "$output" == *"/dev/sda-test: Operation not permitted"* ]]
  run crowbar exec "$id" sh -c 'echo x > /dev/null && head -c 2 /dev/zero | od -An -tx1'
  [ "$status" -eq 0 ]
  [ "$output" = " 00 00" ]
  crowbar rm -f "$id"
}

@test "a pure v2 host that refuses BPF starts no container, and says why in one line" {
  for e in 1 22; do # EPERM (locked down), EINVAL (no CGROUP_DEVICE programs)
    run as_v2 "$CROWBAR_ROOT/nobpf" $e crowbar run --name "nobpf$e" busybox true
    [ "$status" -eq 125 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ "$output" == "Error: failed to start container nobpf$e: cannot enforce the device rules on cgroup v2: load the BPF device filter (the kernel needs CONFIG_CGROUP_BPF, and BPF must not be locked down): "* ]]
    id=$(crowbar inspect -f '{{.Id}}' "nobpf$e")
    [ "$(ctr_status "$id")" = created ]
    # Its cgroup is gone again.
    [ ! -e "$(v2_dir "$id" || echo "/sys/fs/cgroup/crowbar/$id")" ]
    crowbar rm "$id"
  done
  [[ "$output" == *": Invalid argument" ]]
}

@test "a hybrid host that refuses BPF still starts containers, the v1 controller guarding" {
  [ "$(cgroup_layout)" = hybrid ] || skip "not a hybrid host (v1 devices controller and a v2 tree)"
  run "$CROWBAR_ROOT/nobpf" 1 crowbar run --rm busybox sh -c 'mknod /dev/b b 8 0 && echo made && head -c 1 /dev/b'
  [ "$status" -eq 1 ]
  [ "${lines[0]}" = made ]
  [[ "$output" == *"/dev/b: Operation not permitted"* ]]
}
