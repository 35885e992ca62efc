#!/bin/bash
# Filesystem tools (issue 3): diff, export and commit of a container that wrote 100,000
# small files, side by side with Docker on the same changes and with find and GNU tar on
# the same tree. Tables go to build/bench/fs-*.md. Nothing is asserted.
#
#   N=100000 RUNS=5 COMMIT_RUNS=3 tests/bench/fs.sh
. "$(dirname "$0")/common.sh"
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
cleanup_fs() {
  if [ "$HAVE_DOCKER" = 1 ]; then
    docker rm -f cbbench-fs >/dev/null 2>&1
    docker rmi -f $(docker images -q --filter label=cbbench=1) >/dev/null 2>&1
  fi
  bench_cleanup
}
trap cleanup_fs EXIT

# The same merged view that export archives, mounted privately for GNU tar.
MERGED_TAR="unshare -m sh -c 'mount --make-rprivate / && m=\$(mktemp -d) && mount -t overlay -o ro,lowerdir=$UPPER:$LOWER overlay \$m && tar -cf - -C \$m . | cat >/dev/null'"

# ---- diff -------------------------------------------------------------------------------
cmds=(-n "crowbar diff" "crowbar diff fsbench >/dev/null")
[ "$HAVE_DOCKER" = 1 ] && cmds+=(-n "docker diff" "docker diff cbbench-fs >/dev/null")
cmds+=(-n "find UPPER | wc -l" "find $UPPER | wc -l >/dev/null")
bench fs-diff -w 1 -r "$RUNS" "${cmds[@]}"

# ---- export -----------------------------------------------------------------------------
cmds=(-n "crowbar export | cat" "crowbar export fsbench | cat >/dev/null")
[ "$HAVE_DOCKER" = 1 ] && cmds+=(-n "docker export | cat" "docker export cbbench-fs | cat >/dev/null")
cmds+=(-n "tar -cf - -C UPPER . | cat" "tar -cf - -C $UPPER . | cat >/dev/null")
cmds+=(-n "tar of the merged overlay | cat" "$MERGED_TAR")
bench fs-export -w 1 -r "$RUNS" "${cmds[@]}"
echo "export sizes: crowbar $(crowbar export fsbench | wc -c) bytes$([ "$HAVE_DOCKER" = 1 ] &&
  echo ", docker $(docker export cbbench-fs | wc -c) bytes")"

# ---- commit -----------------------------------------------------------------------------
# Each run makes a new image; none is removed between runs: ext4 allocates inodes slowly
# for a while after a mass deletion (recently_deleted() in its inode allocator), which
# would time the deletion's aftermath rather than the commit.
cmds=(-n "crowbar commit" "crowbar commit -c 'LABEL cbbench=1' fsbench >/dev/null")
[ "$HAVE_DOCKER" = 1 ] && cmds+=(-n "docker commit" "docker commit -c 'LABEL cbbench=1' cbbench-fs >/dev/null")
bench fs-commit -r "$COMMIT_RUNS" "${cmds[@]}"
