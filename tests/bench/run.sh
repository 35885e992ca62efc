#!/bin/sh
# Run every benchmark (make bench). Tables go to build/bench/*.md.
set -e
dir=$(dirname "$0")
for b in "$dir"/*.sh; do
  case $(basename "$b") in run.sh|common.sh) continue ;; esac
  echo "### $(basename "$b")"
  bash "$b"
done
