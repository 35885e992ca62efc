#!/usr/bin/env bats
# make install: an installed tree works on its own, wherever it was installed.

load helpers

setup_file() {
  crowbar_setup_root
  import_busybox
  export INST="$CROWBAR_ROOT/inst"
  make -C "$CROWBAR_TOP" -s install PREFIX="$INST" >/dev/null
}

teardown_file() { crowbar_teardown_root; }

@test "install puts crowbar in bin, its programs in libexec/crowbar, the pages in man1" {
  [ -x "$INST/bin/crowbar" ]
  [ -x "$INST/libexec/crowbar/crowbar-run" ]
  [ -x "$INST/libexec/crowbar/crowbar-shim" ]
  [ -x "$INST/libexec/crowbar/crowbar-diff" ]
  [ -f "$INST/share/man/man1/crowbar.1" ]
  [ -f "$INST/share/man/man1/crowbar-run.1" ]
  # Nothing but the dispatcher on PATH.
  [ "$(ls "$INST/bin")" = crowbar ]
}

@test "install puts the bash completion where bash-completion looks, and it completes" {
  local f="$INST/share/bash-completion/completions/crowbar"
  [ -f "$f" ]
  run bash -c 'PATH="$2/bin:/usr/bin:/bin"; source "$1"; COMP_LINE="crowbar sta"; COMP_POINT=11;
    _crowbar; printf "%s\n" "${COMPREPLY[@]}"' _ "$f" "$INST"
  [ "$status" -eq 0 ]
  [ "$output" = start ]
  grep -q "_crowbar_flags\[run\]=.*--read-only" "$f"
}

@test "the installed dispatcher runs its verbs from the installed tree, not the build" {
  run env -i PATH="$INST/bin:/usr/bin:/bin" CROWBAR_ROOT="$CROWBAR_ROOT" \
    CROWBAR_RUNROOT="$CROWBAR_RUNROOT" crowbar run --rm busybox echo from-the-install
  [ "$status" -eq 0 ]
  [ "$output" = from-the-install ]
  run env -i PATH="$INST/bin:/usr/bin:/bin" crowbar help
  [ "$status" -eq 0 ]
  [[ "$output" == *"diff "* ]]
  run env -i PATH="$INST/bin:/usr/bin:/bin" crowbar nope
  [ "$status" -eq 1 ]
  [ "${lines[0]}" = "Error: unknown verb 'nope'" ]
}

@test "installed man pages render" {
  run env MANPATH="$INST/share/man" MANWIDTH=80 man --warnings crowbar-run
  [ "$status" -eq 0 ]
  [[ "$output" == *"crowbar-run"* ]]
}
