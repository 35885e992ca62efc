#!/usr/bin/env bats
# The kernel keyring: every container gets a session keyring of its own ("_ses.ID", as
# runc makes it), joined by exec too, so that nothing inside reaches the keys of the
# session that started it; and Docker's seccomp profile refuses keyctl(2) anyway, so
# these tests run unconfined to see the keyring itself. On the host, cbtest keyring-new
# puts a key in a new session keyring and runs crowbar under it.

load helpers

setup_file() {
  crowbar_setup_root
  require_cbtest
  import_busybox
}
teardown_file() { crowbar_teardown_root; }
teardown() { crowbar_remove_all; }

CBTEST="$CROWBAR_TOP/build/tests/helpers/cbtest"

@test "keyring: a container does not see the keys of the session that started it" {
  # The key is there for the host's own processes...
  run "$CBTEST" keyring-new cbtest-secret s3cr3t "$CBTEST" keyring-search cbtest-secret
  [ "$output" = "found" ]
  # ...and not for the container's.
  run "$CBTEST" keyring-new cbtest-secret s3cr3t \
    crowbar run --rm --security-opt seccomp=unconfined busybox cbtest keyring-search cbtest-secret
  [ "$status" -eq 0 ]
  [ "$output" = "not found" ]
}

@test "keyring: the container's session keyring is its own, _ses.ID" {
  crowbar create --name ring --security-opt seccomp=unconfined busybox cbtest keyring
  id=$(ctr_id ring)
  run crowbar start -a ring
  [ "$status" -eq 0 ]
  # keyring;UID;GID;PERM;NAME, owned by root, searchable by its owner.
  [[ "$output" == "keyring;0;0;"*";_ses.$id" ]]
  perm=$(echo "$output" | cut -d';' -f4)
  [ $((0x$perm & 0x080000)) -ne 0 ]
}

@test "keyring: exec joins the container's keyring, not the caller's" {
  crowbar run -d --name ring --security-opt seccomp=unconfined busybox sleep 1000
  id=$(ctr_id ring)
  run "$CBTEST" keyring-new cbtest-secret s3cr3t crowbar exec ring cbtest keyring-search cbtest-secret
  [ "$output" = "not found" ]
  run crowbar exec -u 1000 ring cbtest keyring
  [[ "$output" == *";_ses.$id" ]]
}

@test "keyring: Docker's profile refuses keyctl" {
  run "$CBTEST" keyring-new cbtest-secret s3cr3t crowbar run --rm busybox cbtest syscall keyctl
  [ "$output" = "keyctl EPERM" ]
}
