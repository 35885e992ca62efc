#!/usr/bin/env bats
# What a container sees of the host: PIDs, host name, mounts, network, /proc and /sys,
# descriptors and capabilities (Docker's defaults).

load helpers

setup_file() {
  require_cbtest
  crowbar_setup_root
  import_busybox
}
teardown() { crowbar_remove_all; }
teardown_file() { crowbar_teardown_root; }

@test "PID 1 inside is the command" {
  run crowbar run busybox cbtest pid
  [ "$status" -eq 0 ]
  [ "$output" = 1 ]
  run crowbar run busybox sh -c 'echo $$; cat /proc/1/cmdline | tr "\0" " "'
  [ "${lines[0]}" = 1 ]
  [ "${lines[1]}" = "sh -c echo \$\$; cat /proc/1/cmdline | tr \"\\0\" \" \" " ]
}

@test "the host's processes are invisible: ps inside lists only the container's" {
  run crowbar run busybox ps -o pid,args
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 2 ]
  [[ "${lines[1]}" =~ ^\ *1\ ps\ -o\ pid,args$ ]]
  # The host PID of PID 1 maps to 1 inside (NSpid).
  crowbar run -d --name nspid busybox sleep 100
  pid=$(ctr_pid nspid)
  [ "$(awk '/^NSpid:/ {print $NF}' "/proc/$pid/status")" = 1 ]
}

@test "the host name is the short ID; /etc/hostname and \$HOSTNAME agree" {
  id=$(crowbar create busybox sh -c 'hostname; cat /etc/hostname; echo $HOSTNAME')
  run crowbar start -a "$id"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "${id:0:12}" ]
  [ "${lines[1]}" = "${id:0:12}" ]
  [ "${lines[2]}" = "${id:0:12}" ]
  [ "$(crowbar inspect -f '{{.Config.Hostname}}' "$id")" = "${id:0:12}" ]
}

@test "-h sets the host name" {
  run crowbar run -h myhost busybox sh -c 'hostname; cat /etc/hostname'
  [ "$output" = $'myhost\nmyhost' ]
  [ "$(hostname)" != myhost ]
}

@test "the host's mounts are invisible: only the container's own mount points" {
  run crowbar run busybox cat /proc/mounts
  [ "$status" -eq 0 ]
  local bad=()
  while read -r _ mnt _; do
    case $mnt in
    / | /proc | /proc/* | /dev | /dev/* | /sys | /sys/* | /etc/hostname | /etc/hosts | /etc/resolv.conf) ;;
    *) bad+=("$mnt") ;;
    esac
  done <<<"$output"
  echo "unexpected mount points: ${bad[*]}"
  [ ${#bad[@]} -eq 0 ]
  # Not one of the host's own mount points, beside / and the API filesystems.
  ! grep -qE ' /(boot|home|work|var|tmp|run|mnt)[ /]' <<<"$output"
}

@test "the container's root is its overlay, not the host's /" {
  run crowbar run busybox cat /etc/os-release
  [ "$output" = busybox-rootfs ]
  run crowbar run busybox sh -c 'grep " / " /proc/mounts'
  [[ "$output" == "overlay / overlay "* ]]
}

@test "--network none (the default) has only lo, and lo is UP" {
  for net in "" "--network none"; do
    run crowbar run $net busybox ip -o link
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ "${lines[0]}" == "1: lo: <LOOPBACK,UP,LOWER_UP>"* ]]
  done
  run crowbar run busybox ping -c 1 -W 1 127.0.0.1
  [ "$status" -eq 0 ]
}

@test "--network host sees the host's interfaces" {
  host=$(ip -o link | awk -F': ' '{print $2}' | sed 's/@.*//' | sort)
  run crowbar run --name hostnet --network host busybox sh -c "ip -o link | awk -F': ' '{print \$2}'"
  [ "$status" -eq 0 ]
  inside=$(sed 's/@.*//' <<<"$output" | sort)
  [ "$inside" = "$host" ]
  [ "$(crowbar inspect -f '{{.HostConfig.NetworkMode}}' hostnet)" = host ]
}

@test "/proc/kcore and /proc/keys are masked" {
  run crowbar run busybox sh -c '
    for f in /proc/kcore /proc/keys /proc/timer_list; do
      [ -e $f ] || { echo "$f absent"; continue; }
      grep -q " $f " /proc/mounts && m=masked || m=visible
      echo "$f $m $(head -c 64 $f | wc -c)"
    done'
  [ "$status" -eq 0 ]
  echo "$output"
  # Each one that exists has something mounted over it (Docker binds /dev/null or a
  # tmpfs file) and reads nothing.
  while read -r f how rest; do
    [ "$how" = absent ] || { [ "$how" = masked ] && [ "$rest" = 0 ]; }
  done <<<"$output"
  # /proc/keys exists on every kernel with keys: it must have been masked, not skipped.
  grep -q '^/proc/keys masked 0$' <<<"$output"
}

@test "/proc/sys is read-only" {
  run crowbar run busybox sh -c 'grep " /proc/sys " /proc/mounts; echo 1 > /proc/sys/vm/drop_caches'
  [ "$status" -ne 0 ]
  [[ "${lines[0]}" == "proc /proc/sys proc ro,"* ]]
  [[ "$output" == *"Read-only file system"* ]]
  run crowbar run busybox sh -c 'echo 1 > /proc/sysrq-trigger'
  [ "$status" -ne 0 ]
}

@test "/sys is read-only" {
  run crowbar run busybox sh -c 'grep " /sys " /proc/mounts; touch /sys/kernel/x; echo 1 > /sys/kernel/profiling'
  [ "$status" -ne 0 ]
  [[ "${lines[0]}" == *" /sys sysfs ro,"* ]]
  [[ "$output" == *"Read-only file system"* ]]
}

@test "no host descriptor is leaked: only 0, 1 and 2" {
  for init in "" --init; do
    run crowbar run $init busybox cbtest fds
    [ "$status" -eq 0 ]
    echo "$output"
    [ "$(cut -d' ' -f1 <<<"$output" | tr '\n' ' ')" = "0 1 2 " ]
  done
  # Detached too (the shim, not the CLI, is the parent).
  crowbar run -d --name fdsd busybox cbtest fds
  wait_status fdsd exited
  [ "$(crowbar logs fdsd | cut -d' ' -f1 | tr '\n' ' ')" = "0 1 2 " ]
}

@test "capabilities: Docker's default set (CapBnd 00000000a80425fb)" {
  run crowbar run busybox cbtest caps
  [ "$status" -eq 0 ]
  echo "$output"
  grep -qx $'CapBnd:\t00000000a80425fb' <<<"$output"
  grep -qx $'CapEff:\t00000000a80425fb' <<<"$output"
  grep -qx $'CapPrm:\t00000000a80425fb' <<<"$output"
  grep -qx $'CapInh:\t0000000000000000' <<<"$output"
  grep -qx $'CapAmb:\t0000000000000000' <<<"$output"
}

@test "--cap-drop ALL leaves no capability" {
  run crowbar run --cap-drop ALL busybox cbtest caps
  [ "$status" -eq 0 ]
  grep -qx $'CapBnd:\t0000000000000000' <<<"$output"
  grep -qx $'CapEff:\t0000000000000000' <<<"$output"
}

@test "--cap-add NET_ADMIN adds it (bit 12); --cap-drop removes one" {
  run crowbar run --cap-add NET_ADMIN busybox cbtest caps
  grep -qx $'CapBnd:\t00000000a80435fb' <<<"$output"
  grep -qx $'CapEff:\t00000000a80435fb' <<<"$output"
  # And NET_ADMIN works: lo can be taken down.
  run crowbar run --cap-add NET_ADMIN busybox ip link set lo down
  [ "$status" -eq 0 ]
  run crowbar run busybox ip link set lo down
  [ "$status" -ne 0 ]
  # CHOWN is bit 0.
  run crowbar run --cap-drop CHOWN busybox cbtest caps
  grep -qx $'CapBnd:\t00000000a80425fa' <<<"$output"
  run crowbar run --cap-drop ALL --cap-add CAP_KILL busybox cbtest caps
  grep -qx $'CapBnd:\t0000000000000020' <<<"$output"
}

@test "--cap-add of an unknown capability is refused with 125" {
  run -125 crowbar run --cap-add NO_SUCH_CAP busybox true
  [[ "$output" == *'unknown capability: "'*NO_SUCH_CAP'"'* ]]
}

@test "a non-root user has no effective capabilities, the bounding set stays Docker's" {
  run crowbar run -u 1000 busybox cbtest caps
  [ "$status" -eq 0 ]
  grep -qx $'CapEff:\t0000000000000000' <<<"$output"
  grep -qx $'CapBnd:\t00000000a80425fb' <<<"$output"
}

@test "the container runs in its own cgroup and namespaces" {
  crowbar run -d --name nsx busybox sleep 100
  pid=$(ctr_pid nsx)
  for ns in mnt uts ipc pid net cgroup; do
    [ "$(readlink /proc/$pid/ns/$ns)" != "$(readlink /proc/self/ns/$ns)" ]
  done
  id=$(ctr_id nsx)
  grep -q "$id" "/proc/$pid/cgroup"
  # Inside, its cgroup namespace hides the host's hierarchy.
  run crowbar run busybox cat /proc/self/cgroup
  ! grep -q crowbar <<<"$output"
}

@test "/dev has the usual nodes and nothing of the host's" {
  run crowbar run busybox sh -c 'ls /dev | sort | tr "\n" " "'
  [ "$status" -eq 0 ]
  echo "$output"
  for n in null zero full random urandom tty pts shm mqueue fd stdin stdout stderr; do
    [[ " $output" == *" $n "* ]]
  done
  ! [[ " $output" == *" vda "* || " $output" == *" sda "* || " $output" == *" mem "* ]]
  run crowbar run busybox sh -c 'echo x > /dev/null && head -c 4 /dev/zero | wc -c'
  [ "$output" = 4 ]
}
