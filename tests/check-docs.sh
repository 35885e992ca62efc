#!/bin/sh
# make check-docs: every long option of every program appears in its man page (style.md,
# habit 9). The options come from the static longopts[] tables of the sources, rows like
#   {"env-file", required_argument, NULL, OPT_ENV_FILE},
# and, for the programs that parse their arguments by hand (the shim), from their "--name"
# string literals. A page must write each option with escaped leading dashes, \-\-name; an
# inner hyphen may be written - or \- (\-\-env-file or \-\-env\-file). Every page must also
# render without warnings. Prints each problem and exits 1 when there is one.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
missing=0 checked=0

# The long options of source files: getopt_long tables, or with -l, "--x" literals.
longopts() {
  if [ "$1" = -l ]; then
    shift
    grep -ohE '"--[a-z0-9][a-z0-9-]*"' "$@" | tr -d '"' | sed 's/^--//'
  else
    grep -ohE '\{"[a-z0-9][a-z0-9-]*", *(no|required|optional)_argument' "$@" |
      sed -E 's/^\{"([^"]*)".*/\1/'
  fi | sort -u
}

# check PAGE OPTION...: each option must appear as \-\-name, not as the prefix of a longer one.
check() {
  page=$1
  shift
  if [ ! -f "$page" ]; then
    echo "$page: missing (options: $*)"
    missing=$((missing + 1))
    return
  fi
  for o in "$@"; do
    checked=$((checked + 1))
    re='\\-\\-'$(printf '%s' "$o" | sed 's/-/(\\\\-|-)/g')'($|[^a-zA-Z0-9\\-]|\\[^-])'
    if ! grep -qE -- "$re" "$page"; then
      echo "$page: does not document --$o"
      missing=$((missing + 1))
    fi
  done
}

# The engine: create.c holds the options of run and create; cmd_stop.c those of stop and
# restart; every other cmd_VERB.c its own.
for f in engine/cmd_*.c; do
  v=${f#engine/cmd_}
  v=${v%.c}
  case $v in
  run | create) src=engine/create.c ;;
  restart) src=engine/cmd_stop.c ;;
  *) src=$f ;;
  esac
  opts=$(longopts "$src")
  [ -n "$opts" ] && check "man/crowbar-$v.1" $opts
done
opts=$(longopts -l engine/shim/*.c)
[ -n "$opts" ] && check man/crowbar-shim.1 $opts
opts=$(longopts engine/init/*.c)
[ -n "$opts" ] && check man/crowbar-init.1 $opts

# The tools: tools/NAME/*.c is crowbar-NAME.
for d in tools/*/; do
  [ -d "$d" ] || continue
  t=$(basename "$d")
  opts=$(longopts "$d"*.c)
  [ -n "$opts" ] && check "man/crowbar-$t.1" $opts
done

# Every page renders without a warning.
if command -v man >/dev/null 2>&1; then
  for p in man/*.1; do
    [ -f "$p" ] || continue
    w=$(MANWIDTH=80 man --warnings -l "$p" 2>&1 >/dev/null)
    if [ -n "$w" ]; then
      printf '%s: warnings:\n%s\n' "$p" "$w"
      missing=$((missing + 1))
    fi
  done
fi

if [ "$missing" -gt 0 ]; then
  echo "check-docs: $missing problems ($checked options checked)"
  exit 1
fi
echo "check-docs: $checked options, all documented"
