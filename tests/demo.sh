#!/bin/sh
# The crash-diagnosis demo (make demo). Grows as the tools land.
echo "demo: not yet available" >&2
exit 1
