#!/bin/bash
# The crash-diagnosis demo (make demo): an image that starts and dies at once without a
# word, and how crowbar finds out why. It runs in its own state root so it touches
# nothing else; the commands to keep exploring are printed at the end.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
export PATH="$top/build:$PATH"
export CROWBAR_ROOT=${CROWBAR_ROOT:-/tmp/crowbar-demo/root}
export CROWBAR_RUNROOT=${CROWBAR_RUNROOT:-/tmp/crowbar-demo/run}
mkdir -p "$CROWBAR_ROOT" "$CROWBAR_RUNROOT"
[ "$(id -u)" = 0 ] || { echo "Error: the demo runs containers: run it as root" >&2; exit 1; }

bold='' plain=''
if [ -t 1 ]; then bold=$(tput bold 2>/dev/null || true) plain=$(tput sgr0 2>/dev/null || true); fi
step() { printf '\n%s# %s%s\n' "$bold" "$*" "$plain"; }
# Print a command as one would type it (arguments with spaces or quotes in single
# quotes), then run it.
show() {
  local line="" a
  for a in "$@"; do
    case $a in
    *[[:space:]\"\'\$\[\]\{\}\*\?\|\&\;\<\>\(\)]*) line+=" '${a//\'/\'\\\'\'}'" ;;
    *) line+=" $a" ;;
    esac
  done
  printf '%s$%s%s\n' "$bold" "$line" "$plain"
  "$@"
}

# Start clean: a previous demo's container and image go.
crowbar rm -f web >/dev/null 2>&1 || true
crowbar rmi -f crashtest dbg >/dev/null 2>&1 || true

step "Build the crashtest image from busybox-static (no registry needed)"
tar=$(mktemp /tmp/crashtest.XXXXXX.tar)
"$top/tests/fixtures/mkcrashtest.sh" "$tar"
show crowbar import -c 'CMD ["/usr/sbin/nginx", "-g", "daemon off;"]' "$tar" crashtest
rm -f "$tar"

step "Run the web server in the background: it starts... and dies at once"
show crowbar run -d --name web crashtest
crowbar wait web >/dev/null

step "ps -l: the latest container has exited"
show crowbar ps -l

step "logs: it said nothing at all"
show crowbar logs web
echo "(no output)"

step "inspect: the exit code and when it died"
show crowbar inspect -f 'ExitCode={{.State.ExitCode}} OOMKilled={{.State.OOMKilled}} FinishedAt={{.State.FinishedAt}}' web

step "diff: what did it change before dying? It created a log file"
show crowbar diff web

step "cp: pull the error log out of the dead container (a tar stream, unpacked on the fly)"
printf '%s$ crowbar cp web:/var/log/nginx/error.log - | tar -xO%s\n' "$bold" "$plain"
crowbar cp web:/var/log/nginx/error.log - | tar -xO

step "commit: an image of exactly what the crashed container left..."
show crowbar commit -m "web, crashed at start" web dbg

step "...and a shell in it: the log says why (the pid file's folder is missing)"
show crowbar run --rm --entrypoint sh dbg -c 'cat /var/log/nginx/error.log'

step "export: the container's whole filesystem as a tar (its last lines here)"
printf '%s$ crowbar export web | tar tv | tail -n 6%s\n' "$bold" "$plain"
crowbar export web | tar tv | tail -n 6

cat <<EOT

${bold}To keep exploring this demo's state:${plain}
  export CROWBAR_ROOT=$CROWBAR_ROOT CROWBAR_RUNROOT=$CROWBAR_RUNROOT PATH=$top/build:\$PATH
  crowbar ps -a; crowbar inspect web; crowbar diff web
  crowbar run --rm -i --entrypoint sh dbg      # a shell in what crashed
  crowbar export -o web.tar web
EOT
