#!/bin/bash
# Run each fuzz target (make fuzz) for FUZZ_SECONDS, niced, over a working copy of its seed
# corpus (build/fuzz/work/NAME: what libFuzzer finds stays out of the tree). A crash, a leak,
# a sanitizer report, a time-out or an out-of-memory is written to build/fuzz/artifacts/ and
# fails the run. To keep one as a regression test, copy it into tests/fuzz/corpus/NAME/:
# build/tests/test_fuzz_NAME (make check) replays every file there.
#
#   tests/fuzz/run.sh [NAME...]      (default: every tests/fuzz/fuzz_*.c)
#   FUZZ_SECONDS=600 FUZZ_JOBS=2 tests/fuzz/run.sh template
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
B=${B:-build}
secs=${FUZZ_SECONDS:-60}
if [ $# -eq 0 ]; then
  set -- $(ls tests/fuzz/fuzz_*.c | sed 's|.*/fuzz_||; s|\.c$||')
fi
mkdir -p "$B/fuzz/artifacts"
failed=()
for t in "$@"; do
  bin=$B/fuzz/fuzz_$t
  [ -x "$bin" ] || { echo "fuzz: $bin is not built (make fuzz-build)" >&2; exit 2; }
  work=$B/fuzz/work/$t
  mkdir -p "$work"
  dict=()
  [ -f "tests/fuzz/$t.dict" ] && dict=(-dict="tests/fuzz/$t.dict")
  log=$B/fuzz/$t.log
  echo "fuzz: $t for ${secs}s (log: $log)"
  nice -n 5 "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 "${dict[@]}" -artifact_prefix="$B/fuzz/artifacts/$t-" \
    "$work" "tests/fuzz/corpus/$t" >"$log" 2>&1
  rc=$?
  # A harness removes its scratch folder at exit; a run cut short (a crash, a time-out)
  # leaves it: this is the only run of this target, so what is left is litter.
  rm -rf /dev/shm/cb-fuzz-"$t"-* /tmp/cb-fuzz-"$t"-*
  grep -E '^stat::number_of_executed_units|^Done [0-9]+ runs' "$log" | sed 's/^/  /'
  if [ $rc -ne 0 ]; then
    failed+=("$t")
    grep -E '^==[0-9]+==ERROR|SUMMARY|runtime error|^artifact_prefix|Test unit written' "$log" |
      head -8 | sed 's/^/  /'
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: failed: ${failed[*]}"
  exit 1
fi
echo "fuzz: no crash in: $*"
