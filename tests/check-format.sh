#!/bin/sh
# Every C source is formatted as .clang-format says (crun's tests/clang-format habit).
# Prints the files that are not and exits 1; `make format` fixes them.
cd "$(dirname "$0")/.." || exit 1
command -v clang-format >/dev/null || { echo "check-format: clang-format is not installed" >&2; exit 0; }
bad=0
for f in $(git ls-files '*.c' '*.h' 2>/dev/null || find libcommon engine tools tests -name '*.[ch]'); do
  if clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then :; else
    echo "$f: not clang-formatted (make format)"
    bad=1
  fi
done
exit $bad
