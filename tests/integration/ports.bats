#!/usr/bin/env bats
# Published ports (-p, -P): the shim's relay from a host socket to the container's
# loopback, what port, ps and inspect show, and the host ports' life with the container's.

load helpers

setup_file() {
  require_cbtest
  crowbar_setup_root
  import_busybox
  crowbar import -c 'EXPOSE 80' -c 'EXPOSE 53/udp' "$(fixture_rootfs)" exposer >/dev/null
}
teardown() { crowbar_remove_all; }
teardown_file() { crowbar_teardown_root; }

# A TCP port nothing listens on now (the kernel's choice).
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# True when something listens on the TCP port on the host.
listening() {
  ss -Hltn "sport = :$1" | grep -q .
}

# The page at http://127.0.0.1:PORT/PATH, retried while the server starts.
fetch() {
  local url="http://127.0.0.1:$1/${2:-}" i
  for i in $(seq 30); do
    wget -q -T 5 -O - "$url" 2>/dev/null && return 0
    sleep 0.1
  done
  wget -q -T 5 -O - "$url"
}

start_httpd() { # name, host port spec
  mkdir -p "$BATS_TEST_TMPDIR/www"
  echo "hello from $1" >"$BATS_TEST_TMPDIR/www/index.html"
  crowbar run -d --name "$1" -p "$2" -v "$BATS_TEST_TMPDIR/www:/www" busybox \
    httpd -f -p 80 -h /www >/dev/null
}

@test "a busybox httpd published with -p HOSTPORT:80 serves a page on 127.0.0.1" {
  port=$(free_port)
  start_httpd web "$port:80"
  run fetch "$port"
  [ "$status" -eq 0 ]
  [ "$output" = "hello from web" ]
  # And on the host's IPv6 loopback, where the host has one.
  if [ -e /proc/net/if_inet6 ] && ip -6 addr show lo | grep -q '::1'; then
    run wget -q -T 5 -O - "http://[::1]:$port/"
    [ "$output" = "hello from web" ]
  fi
}

@test "a second container asking for the same host port fails with one line, and leaves nothing" {
  port=$(free_port)
  start_httpd first "$port:80"
  before=$(crowbar ps -aq | wc -l)
  run -125 crowbar run -d --name second -p "$port:80" busybox sleep 100
  [ "$output" = "Error: Bind for 0.0.0.0:$port failed: port is already allocated" ]
  [ "$(crowbar ps -aq | wc -l)" -eq "$before" ]
  # The name was never taken, and the first container still serves.
  crowbar create --name second busybox true >/dev/null
  run fetch "$port"
  [ "$output" = "hello from first" ]
}

@test "port and ps show Docker's lines; inspect has PortBindings and NetworkSettings.Ports" {
  port=$(free_port)
  start_httpd shown "$port:80"
  run crowbar port shown
  [ "$status" -eq 0 ]
  if [ "${#lines[@]}" -eq 2 ]; then
    [ "$output" = "80/tcp -> 0.0.0.0:$port"$'\n'"80/tcp -> [::]:$port" ]
    want_ps="0.0.0.0:$port->80/tcp, [::]:$port->80/tcp"
  else
    [ "$output" = "80/tcp -> 0.0.0.0:$port" ] # a host without IPv6
    want_ps="0.0.0.0:$port->80/tcp"
  fi
  run crowbar port shown 80
  [ "${lines[0]}" = "0.0.0.0:$port" ]
  run crowbar port shown 80/tcp
  [ "${lines[0]}" = "0.0.0.0:$port" ]
  run -1 crowbar port shown 81
  [ "$output" = "Error: No public port '81' published for shown" ]
  run -1 crowbar port shown 80/udp
  [ "$output" = "Error: No public port '80/udp' published for shown" ]
  run crowbar ps --format '{{.Ports}}' -f name=shown
  [ "$output" = "$want_ps" ]
  run crowbar ps -f name=shown
  [[ "${lines[0]}" == *"STATUS"*"PORTS"*"NAMES" ]]
  [[ "${lines[1]}" == *"$want_ps"*shown ]]
  run crowbar inspect -f '{{json .HostConfig.PortBindings}}' shown
  [ "$output" = "{\"80/tcp\":[{\"HostIp\":\"\",\"HostPort\":\"$port\"}]}" ]
  run crowbar inspect -f '{{json .NetworkSettings.Ports}}' shown
  [[ "$output" == "{\"80/tcp\":[{\"HostIp\":\"0.0.0.0\",\"HostPort\":\"$port\"}"* ]]
  run crowbar inspect -f '{{json .Config.ExposedPorts}} {{.HostConfig.PublishAllPorts}}' shown
  [ "$output" = '{"80/tcp":{}} false' ]
}

@test "after rm -f nothing listens on the host port" {
  port=$(free_port)
  start_httpd gone "$port:80"
  fetch "$port" >/dev/null
  listening "$port"
  crowbar rm -f gone
  ! listening "$port"
  run ! wget -q -T 2 -O - "http://127.0.0.1:$port/"
}

@test "stop frees the port and forgets it; start binds it again and serves" {
  port=$(free_port)
  start_httpd again "$port:80"
  fetch "$port" >/dev/null
  crowbar stop -t 1 again >/dev/null
  ! listening "$port"
  run crowbar port again
  [ "$status" -eq 0 ] && [ -z "$output" ]
  run crowbar ps -a --format '{{.Ports}}' -f name=again
  [ -z "$output" ]
  run crowbar inspect -f '{{json .NetworkSettings.Ports}}' again
  [ "$output" = '{}' ]
  crowbar start again >/dev/null
  run fetch "$port"
  [ "$output" = "hello from again" ]
}

@test "start of a container whose host port is taken fails with one line and keeps it" {
  port=$(free_port)
  crowbar create --name later -p "$port:80" busybox httpd -f -p 80 >/dev/null
  start_httpd holder "$port:80"
  run -1 crowbar start later
  [ "$output" = "Error: failed to start container later: Bind for 0.0.0.0:$port failed: port is already allocated" ]
  run crowbar ps -a --format '{{.Status}}' -f name=later
  [ "$output" = "Created" ]
  crowbar rm -f holder
  crowbar start later
  run crowbar port later 80
  [ "${lines[0]}" = "0.0.0.0:$port" ]
}

@test "100 MB through the published port arrive intact, both ways (half-close passed on)" {
  port=$(free_port)
  crowbar run -d --name bulk -p "$port:80" -p 127.0.0.1::90 busybox sh -c \
    'head -c 100000000 /dev/urandom > /big && md5sum /big > /big.md5 &&
     (while :; do nc -l -p 90 -e md5sum; done &) && exec httpd -f -p 80 -h /' >/dev/null
  wait_until 100 crowbar exec bulk test -s /big.md5
  want=$(crowbar exec bulk cat /big.md5 | cut -d' ' -f1)
  got=$(wget -q -O - "http://127.0.0.1:$port/big" | md5sum | cut -d' ' -f1)
  [ "$got" = "$want" ]
  # Upload: the client sends, shuts its side, and reads the container's answer.
  up=$(crowbar port bulk 90 | cut -d: -f2)
  head -c 100000000 /dev/urandom >"$BATS_TEST_TMPDIR/up"
  want=$(md5sum <"$BATS_TEST_TMPDIR/up" | cut -d' ' -f1)
  got=$(python3 - "$up" "$BATS_TEST_TMPDIR/up" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
with open(sys.argv[2], "rb") as f:
    s.sendfile(f)
s.shutdown(socket.SHUT_WR)
answer = b""
while True:
    b = s.recv(4096)
    if not b:
        break
    answer += b
print(answer.decode().split()[0])
EOF
)
  [ "$got" = "$want" ]
}

@test "-p CTR picks a free host port; -P publishes what the image EXPOSEs; UDP is relayed" {
  crowbar run -d --name pub -P exposer cbtest udp-echo 53 >/dev/null
  wait_logs pub '^ready$'
  run crowbar port pub
  [[ "$output" == *"53/udp -> 0.0.0.0:"* ]] && [[ "$output" == *"80/tcp -> 0.0.0.0:"* ]]
  run crowbar inspect -f '{{.HostConfig.PublishAllPorts}} {{json .HostConfig.PortBindings}}' pub
  [ "$output" = 'true {}' ]
  udp=$(crowbar port pub 53/udp | head -1 | cut -d: -f2)
  run python3 -c '
import socket, sys
for peer in range(2):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(5)
    s.sendto(b"ping %d" % peer, ("127.0.0.1", int(sys.argv[1])))
    print(s.recvfrom(100)[0].decode())
' "$udp"
  [ "$output" = $'ping 0\nping 1' ]
  crowbar run -d --name anyport -p 80 busybox sleep 100 >/dev/null
  run crowbar port anyport 80
  [[ "${lines[0]}" =~ ^0\.0\.0\.0:[0-9]+$ ]]
  [ "${lines[0]#0.0.0.0:}" -gt 0 ]
  # A ps row: exposed ports that are not published show bare.
  crowbar run -d --name bare exposer sleep 100 >/dev/null
  run crowbar ps --format '{{.Ports}}' -f name=bare
  [ "$output" = "53/udp, 80/tcp" ]
}

@test "-p specs Docker refuses are refused with its words" {
  run -125 crowbar run -p 80:http busybox true
  [ "$output" = "Error: invalid containerPort: http" ]
  run -125 crowbar run -p 99999:80 busybox true
  [ "$output" = "Error: invalid hostPort: 99999" ]
  run -125 crowbar run -p 80/sctpx busybox true
  [ "$output" = "Error: invalid proto: sctpx" ]
  run -125 crowbar run -p 1.2.3:80:80 busybox true
  [ "$output" = "Error: invalid IP address: 1.2.3" ]
  run -125 crowbar run -p 8000-8001:80-82 busybox true
  [ "$output" = "Error: invalid ranges specified for container and host Ports: 80-82 and 8000-8001" ]
  [ -z "$(crowbar ps -aq)" ]
}

@test "--network host discards published ports, as Docker" {
  run crowbar create --network host -p 80:80 busybox true
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" == "WARNING: Published ports are discarded when using host network mode" ]]
}

@test "the shim relaying several ports, after traffic, stays under 1024 kB of resident memory" {
  port=$(free_port)
  mkdir -p "$BATS_TEST_TMPDIR/www"
  echo small >"$BATS_TEST_TMPDIR/www/index.html"
  crowbar run -d --name lean -p "$port:80" -p 81 -p 82 -p 83/udp -v "$BATS_TEST_TMPDIR/www:/www" \
    busybox httpd -f -p 80 -h /www >/dev/null
  for _ in $(seq 20); do fetch "$port" >/dev/null; done
  shim=$(pgrep -f "crowbar-shim --id $(crowbar inspect -f '{{.Id}}' lean)")
  rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$shim/status")
  echo "shim VmRSS: $rss kB"
  [ "$rss" -lt 1024 ]
}
