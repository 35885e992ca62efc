#!/bin/sh
# Install the Debian packages crowbar needs to build and test, when they are missing.
#   tests/deps.sh          what make check needs
#   tests/deps.sh fuzz     what make fuzz needs too (clang's libFuzzer and sanitizers)
set -e
FUZZ_PKGS="clang libclang-rt-14-dev"
PKGS="build-essential pkg-config libarchive-dev libcap-dev libelf-dev libunwind-dev
libncurses-dev libjson-c-dev libssl-dev libcmocka-dev busybox-static bats hyperfine
iproute2 procps wget tar xz-utils zstd gzip bsdextrautils util-linux tmux libarchive-tools file
man-db groff-base clang-format python3 libseccomp-dev golang-github-docker-docker-dev"
[ "${1:-}" = fuzz ] && PKGS="$PKGS $FUZZ_PKGS"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "Error: missing packages:$missing (run as root to install them)" >&2
  exit 1
fi
echo "Installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq $missing >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq $missing; }
