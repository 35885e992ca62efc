#!/bin/bash
# Filesystem tools (issue 3): diff, export and commit of a container that wrote 100,000
# small files, side by side with Docker on the same changes and with find and GNU tar on
# the same tree. Tables go to build/bench/fs-*.md. Nothing is asserted.
#
#   N=100000 RUNS=5 COMMIT_RUNS=3 PARTS="diff export commit deep" tests/bench/fs.sh
#
# "deep": a chain of DEEP (10,000) nested folders made by the container (fshostile deep),
# diffed, exported and copied out: the walks keep few descriptors and a flat stack, and
# what they cost per level (a diff or tar prints every level's full path, so the output
# grows as the square of the depth).
. "$(dirname "$0")/common.sh"
PARTS=${PARTS:-diff export commit deep}
want() { case " $PARTS " in *" $1 "*) return 0 ;; esac; return 1; }
N=${N:-100000}
RUNS=${RUNS:-5}
COMMIT_RUNS=${COMMIT_RUNS:-3}
DIRS=$(((N + 999) / 1000))
PER=$((N / DIRS))

# 100 folders of 1,000 small files each, written by the container's own shell; plus a
# changed file and a deletion, so that every kind of line is there.
WRITE="i=0; while [ \$i -lt $DIRS ]; do mkdir -p /data/d\$i; j=0;
  while [ \$j -lt $PER ]; do echo \"file \$i \$j\" > /data/d\$i/f\$j; j=\$((j+1)); done;
  i=\$((i+1)); done; echo >> /etc/passwd; rm /etc/group"

cleanup_fs() {
  if [ "$HAVE_DOCKER" = 1 ]; then
    docker rm -f cbbench-fs >/dev/null 2>&1
    docker rmi -f $(docker images -q --filter label=cbbench=1) >/dev/null 2>&1
  fi
  bench_cleanup
}
trap cleanup_fs EXIT
if want diff || want export; then
echo "== setting up: a container that writes $((DIRS * PER)) files (crowbar)"
crowbar rm -f fsbench >/dev/null 2>&1 || true
crowbar run --name fsbench busybox sh -c "$WRITE"
UPPER=$(crowbar inspect -f '{{.GraphDriver.Data.UpperDir}}' fsbench)
LOWER=$(crowbar inspect -f '{{.GraphDriver.Data.LowerDir}}' fsbench)
echo "upper dir: $(find "$UPPER" | wc -l) entries, $(du -sh "$UPPER" | cut -f1)"
if [ "$HAVE_DOCKER" = 1 ]; then
  echo "== setting up: the same in Docker"
  docker rm -f cbbench-fs >/dev/null 2>&1 || true
  docker run --name cbbench-fs --network none cbbench-busybox sh -c "$WRITE"
fi
# The same merged view that export archives, mounted privately for GNU tar.
MERGED_TAR="unshare -m sh -c 'mount --make-rprivate / && m=\$(mktemp -d) && mount -t overlay -o ro,lowerdir=$UPPER:$LOWER overlay \$m && tar -cf - -C \$m . | cat >/dev/null'"
fi

# ---- diff -------------------------------------------------------------------------------
if want diff; then
cmds=(-n "crowbar diff" "crowbar diff fsbench >/dev/null")
[ "$HAVE_DOCKER" = 1 ] && cmds+=(-n "docker diff" "docker diff cbbench-fs >/dev/null")
cmds+=(-n "find UPPER | wc -l" "find $UPPER | wc -l >/dev/null")
bench fs-diff -w 1 -r "$RUNS" "${cmds[@]}"
fi

# ---- export -----------------------------------------------------------------------------
if want export; then
cmds=(-n "crowbar export | cat" "crowbar export fsbench | cat >/dev/null")
[ "$HAVE_DOCKER" = 1 ] && cmds+=(-n "docker export | cat" "docker export cbbench-fs | cat >/dev/null")
cmds+=(-n "tar -cf - -C UPPER . | cat" "tar -cf - -C $UPPER . | cat >/dev/null")
cmds+=(-n "tar of the merged overlay | cat" "$MERGED_TAR")
bench fs-export -w 1 -r "$RUNS" "${cmds[@]}"
echo "export sizes: crowbar $(crowbar export fsbench | wc -c) bytes$([ "$HAVE_DOCKER" = 1 ] &&
  echo ", docker $(docker export cbbench-fs | wc -c) bytes")"
fi

# ---- commit -----------------------------------------------------------------------------
# Each run commits a fresh container that wrote the same files (hyperfine --prepare makes
# it; its writing is not timed): a stopped one, which crowbar commits by renaming its upper
# dir into the store (crowbar-commit(1)), and a running one, whose files crowbar copies
# (as Docker does for both). Nothing is removed between runs: ext4 allocates inodes slowly
# for a while after a mass deletion (recently_deleted() in its inode allocator), which
# would time the deletion's aftermath rather than the commit.
PREP="$BENCH_ROOT/prep"
mkdir -p "$PREP"
NEXT='n=$(( $(cat '"$PREP"'/n 2>/dev/null || echo 0) + 1 )); echo $n >'"$PREP"'/n'
printf '#!/bin/sh\n%s\ncrowbar run --name fsc-$n busybox sh -c %s\n' "$NEXT" "'$WRITE'" >"$PREP/stopped.sh"
printf '#!/bin/sh\n%s\ncrowbar run -d --name fsc-$n busybox sh -c %s >/dev/null
u=$(crowbar inspect -f "{{.GraphDriver.Data.UpperDir}}" fsc-$n)
until [ -e "$u/done" ]; do sleep 0.2; done\n' "$NEXT" "'$WRITE; touch /done; exec sleep 100000'" >"$PREP/running.sh"
printf '#!/bin/sh\n%s\ndocker run --name cbbench-fsc-$n --label cbbench=1 --network none cbbench-busybox sh -c %s\n' \
  "$NEXT" "'$WRITE'" >"$PREP/docker.sh"
chmod +x "$PREP"/*.sh
cleanup_commit() {
  if [ "$HAVE_DOCKER" = 1 ]; then
    docker rm -f $(docker ps -aq --filter label=cbbench=1) >/dev/null 2>&1
  fi
  cleanup_fs
}
trap cleanup_commit EXIT
N_OF='$(cat '"$PREP"'/n)'
cmds=(--prepare "$PREP/stopped.sh" -n "crowbar commit (stopped: by rename)"
  "crowbar commit -c 'LABEL cbbench=1' fsc-$N_OF >/dev/null")
cmds+=(--prepare "$PREP/running.sh" -n "crowbar commit (running: copied)"
  "crowbar commit -c 'LABEL cbbench=1' fsc-$N_OF >/dev/null")
[ "$HAVE_DOCKER" = 1 ] && cmds+=(--prepare "$PREP/docker.sh" -n "docker commit (stopped)"
  "docker commit -c 'LABEL cbbench=1' cbbench-fsc-$N_OF >/dev/null")
if want commit; then bench fs-commit -r "$COMMIT_RUNS" "${cmds[@]}"; fi

# ---- deep trees -----------------------------------------------------------------------
if want deep; then
DEEP=${DEEP:-10000}
crowbar rm -f fsdeep >/dev/null 2>&1 || true
if crowbar run --name fsdeep busybox fshostile deep /deep "$DEEP" 2>/dev/null; then
  ddest="$BENCH_ROOT/deepcopy"
  bench fs-deep -w 1 -r "$RUNS" \
    -n "crowbar diff (depth $DEEP)" "crowbar diff fsdeep >/dev/null" \
    -n "crowbar export | cat (depth $DEEP)" "crowbar export fsdeep | cat >/dev/null" \
    -n "crowbar cp CTR:/deep - | cat (depth $DEEP)" "crowbar cp fsdeep:/deep - | cat >/dev/null"
  # Removing the copy between runs is not timed (minutes on a disk with online discard).
  bench fs-deep-cp -w 0 -r "$COMMIT_RUNS" --prepare "rm -rf $ddest" \
    -n "crowbar cp CTR:/deep DIR (depth $DEEP)" "crowbar cp fsdeep:/deep $ddest"
else
  echo "deep: the image has no fshostile (make build/tests/helpers/fshostile, then rebuild the fixture)"
fi
fi
