#!/bin/bash
# Every program has a man page, every long option of its `struct option` arrays is in
# that page (as \-\-name or --name), and man(1) formats every page without a warning.
# Prints each miss ("man/crowbar-ps.1: missing --all") and exits 1 when there is one.
#
#   engine/cmd_VERB.c  -> man/crowbar-VERB.1 (run/create: engine/create.c too)
#   tools/TOOL/*.c     -> man/crowbar-TOOL.1
#   tools/crowbar.c    -> man/crowbar.1
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
fail=0

# The long option names of the struct option arrays in the given sources.
long_options() {
  awk '
    /struct[ \t]+option[ \t]+[A-Za-z_0-9]*[ \t]*\[[ \t]*\][ \t]*=/ { inopts = 1 }
    inopts {
      line = $0
      while (match(line, /\{[ \t]*"[^"]+"/)) {
        name = substr(line, RSTART, RLENGTH)
        sub(/^\{[ \t]*"/, "", name); sub(/"$/, "", name)
        print name
        line = substr(line, RSTART + RLENGTH)
      }
      if ($0 ~ /\}[ \t]*;/) inopts = 0
    }' "$@" | sort -u
}

check() { # page, sources...
  local page=$1; shift
  if [ ! -f "$page" ]; then
    echo "$page: missing page (for $*)"
    fail=1
    return
  fi
  local name
  for name in $(long_options "$@"); do
    # A '-' inside the name may be written \- in roff too.
    re=$(printf '%s' "$name" | sed 's/-/(\\\\-|-)/g')
    # ... and must not go on as a longer name (--no must not match --no-trunc).
    if ! grep -qE -- "(\\\\-\\\\-|--)${re}([^[:alnum:]\\-]|\\\\[^-]|\$)" "$page"; then
      echo "$page: missing --$name"
      fail=1
    fi
  done
}

pages=()
# Verbs that share their options with another file: run and create parse in create.c,
# restart is stop's, unpause is pause's.
for src in engine/cmd_*.c; do
  [ -e "$src" ] || continue
  verb=${src#engine/cmd_}; verb=${verb%.c}
  case $verb in
  run | create) srcs=(engine/create.c "$src") ;;
  restart) srcs=(engine/cmd_stop.c "$src") ;;
  unpause) srcs=(engine/cmd_pause.c "$src") ;;
  *) srcs=("$src") ;;
  esac
  check "man/crowbar-$verb.1" "${srcs[@]}"
  pages+=("man/crowbar-$verb.1")
done
for dir in tools/*/; do
  [ -d "$dir" ] || continue
  srcs=("$dir"*.c)
  [ -e "${srcs[0]}" ] || continue
  tool=$(basename "$dir")
  check "man/crowbar-$tool.1" "${srcs[@]}"
  pages+=("man/crowbar-$tool.1")
done
if [ -e tools/crowbar.c ]; then
  check man/crowbar.1 tools/crowbar.c
  pages+=(man/crowbar.1)
fi

# man --warnings over every page at once (one man per page, in parallel).
if command -v man >/dev/null 2>&1; then
  existing=()
  for p in "${pages[@]}" man/*.1; do
    [ -f "$p" ] && existing+=("$p")
  done
  if [ ${#existing[@]} -gt 0 ]; then
    warnings=$(printf '%s\n' "${existing[@]}" | sort -u |
      xargs -P 4 -I{} sh -c 'w=$(MANWIDTH=80 man --warnings -l "$1" 2>&1 >/dev/null) &&
        [ -z "$w" ] || printf "%s\n" "$w" | sed "s|^|$1: |"' sh {})
    if [ -n "$warnings" ]; then
      printf '%s\n' "$warnings"
      fail=1
    fi
  fi
else
  echo "check-docs: man(1) is not installed; page formatting not checked" >&2
fi
exit $fail
