#!/bin/bash
# Image benchmarks: `crowbar import` of the busybox rootfs tarball (plain and gzip), side by
# side with `docker import` when Docker runs and with a plain `tar -x` of the same file;
# and `crowbar images` over 100 images.
. "$(dirname "$0")/common.sh"
WARM=${WARM:-2}
RUNS=${RUNS:-15}

GZ="$BENCH_ROOT/busybox.tar.gz"
gzip -c "$ROOTFS_TAR" >"$GZ"
X="$BENCH_ROOT/x"

cmds=(-n "crowbar import" "crowbar import $ROOTFS_TAR bench:plain"
  -n "crowbar import (gzip)" "crowbar import $GZ bench:gz")
[ "$HAVE_DOCKER" = 1 ] && cmds+=(-n "docker import" "docker import $ROOTFS_TAR cbbench-import:plain"
  -n "docker import (gzip)" "docker import $GZ cbbench-import:gz")
cmds+=(-n "tar -x (baseline)" --prepare "rm -rf $X; mkdir $X" "tar -xf $ROOTFS_TAR -C $X")
bench import -w "$WARM" -r "$RUNS" "${cmds[@]}"
[ "$HAVE_DOCKER" = 1 ] && docker rmi cbbench-import:plain cbbench-import:gz >/dev/null 2>&1

# The listing: 100 images sharing one layer.
for i in $(seq 100); do crowbar import "$ROOTFS_TAR" "many:$i" >/dev/null; done
cmds=(-n "crowbar images" "crowbar images")
[ "$HAVE_DOCKER" = 1 ] && cmds+=(-n "docker images" "docker images")
bench images -w "$WARM" -r "$RUNS" "${cmds[@]}"
