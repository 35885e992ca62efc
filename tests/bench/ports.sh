#!/bin/bash
# Published ports (issue 13): the throughput of 1 GiB through a published port (the shim's
# splice relay) side by side with the same transfer over a direct loopback connection, and
# the time -p adds to run -d. Docker is left out: its proxy needs its bridge network, which
# the benchmarks' daemon runs without.
top=$(cd "$(dirname "$0")/../.." && pwd)
# The image's cbtest must know `sink`: a fixture older than the helper is made again.
if [ "$top/build/tests/helpers/cbtest" -nt "$top/build/fixtures/busybox.tar" ]; then
  "$top/tests/fixtures/mkrootfs.sh" "$top/build/fixtures/busybox.tar" "$top"/build/tests/helpers/*
fi
. "$(dirname "$0")/common.sh"
SINK="$TOP/build/tests/helpers/cbtest"
[ -x "$SINK" ] || { echo "bench: build/tests/helpers/cbtest is missing (make)" >&2; exit 1; }
# The client: 1 GiB of zeros in 1 MiB writes, a half-close, then the sink's byte count.
CLIENT="$BENCH_ROOT/client.py"
cat >"$CLIENT" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
buf = bytes(1 << 20)
for _ in range(1024):
    s.sendall(buf)
s.shutdown(socket.SHUT_WR)
got = s.makefile().read().strip()
assert got == str(1 << 30), got
PY
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
# The same sink program on both sides: in the container behind the relay, on the host direct.
crowbar run -d --name sink -p 127.0.0.1::9000 busybox cbtest sink 9000 >/dev/null
relay=$(crowbar port sink 9000 | cut -d: -f2)
direct=$(free_port)
"$SINK" sink "$direct" >/dev/null &
host_sink=$!
trap 'kill $host_sink 2>/dev/null; bench_cleanup' EXIT
for _ in $(seq 50); do python3 -c "import socket; socket.create_connection(('127.0.0.1', $direct)).close()" 2>/dev/null && break; sleep 0.1; done
# (the probe above was a first, empty transfer)
bench port-throughput -w 1 -r 5 \
  -n "1 GiB through the published port" "python3 $CLIENT $relay" \
  -n "1 GiB over a direct loopback connection" "python3 $CLIENT $direct"
kill "$host_sink" 2>/dev/null || true

# What -p adds to run -d: binding the host sockets before the create, the shim's relay set-up.
bench run-d-publish -w 2 -r 20 \
  -n "crowbar run -d" "crowbar run -d busybox sleep 1000" \
  -n "crowbar run -d -p 80" "crowbar run -d -p 80 busybox sleep 1000" \
  -n "crowbar run -d -p 80 -p 53/udp -p 127.0.0.1::81" \
  "crowbar run -d -p 80 -p 53/udp -p 127.0.0.1::81 busybox sleep 1000"
