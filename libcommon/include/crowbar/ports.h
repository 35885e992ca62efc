/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Published ports: Docker's -p syntax, the host sockets a start binds, and the shapes
 * Docker shows them in (HostConfig.PortBindings, NetworkSettings.Ports, ps's PORTS
 * column, `docker port`'s lines).
 *
 * A container's ports are relayed by its monitor (engine/shim/ports.c): no iptables, no
 * bridge. The CLI binds the host sockets (cb_ports_bind) before the container exists
 * (run) or before its monitor starts (start), so a port in use is one line and leaves
 * nothing behind; the monitor inherits the sockets and relays each connection to the port
 * on the container's loopback. */
#ifndef CROWBAR_PORTS_H
#define CROWBAR_PORTS_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include "crowbar/error.h"

/* One bound host socket: a listening TCP socket or a bound UDP socket. */
struct cb_port_sock {
  int fd;
  bool udp;
  uint16_t ctr_port; /* the container's port it relays to */
};

struct cb_port_socks {
  struct cb_port_sock *v;
  size_t n;
};

void cb_port_socks_close(struct cb_port_socks *s);

/* Parse one -p SPEC ([IP:][HOSTPORT:]CONTAINERPORT[/PROTO], ports or ranges, as Docker's
 * nat.ParsePortSpec) into Config.ExposedPorts ({"80/tcp": {}}) and HostConfig.PortBindings
 * ({"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}), both objects the caller owns. */
int cb_port_spec_parse(const char *spec, json_object *exposed, json_object *bindings,
                       cb_error_t *err);

/* "80/tcp" (or "80"): the port and the protocol ("tcp", "udp", "sctp"); -1 when it is not a
 * single port. */
int cb_port_key_parse(const char *key, uint16_t *port, char proto[8]);

/* Bind the host sockets a start needs: every binding of PortBindings, and with
 * publish_all every port of exposed that has none (on a free port). A binding without an
 * IP binds 0.0.0.0 and, where the host has IPv6, [::] on the same port. A port taken gives
 * Docker's "Bind for 0.0.0.0:8080 failed: port is already allocated". On failure nothing
 * stays bound. */
int cb_ports_bind(json_object *bindings, bool publish_all, json_object *exposed,
                  struct cb_port_socks *out, cb_error_t *err);

/* NetworkSettings.Ports of a running container: every exposed port (null when not
 * published) and the address of every socket, keys sorted as Go's maps. */
json_object *cb_ports_settings(json_object *exposed, const struct cb_port_sock *v, size_t n);

/* The PORTS column of `docker ps` for NetworkSettings.Ports ("0.0.0.0:8080->80/tcp,
 * [::]:8080->80/tcp", "80/tcp", ranges grouped). Malloc'd, "" when none. */
char *cb_ports_display(json_object *ports);

/* `docker port`'s order: Go's sortorder.NaturalLess (digits compared as numbers). */
int cb_natural_cmp(const char *a, const char *b);

/* net.JoinHostPort(ip, port): "[::]:8080" for an IPv6 address. Malloc'd. */
char *cb_join_host_port(const char *ip, const char *port);

#endif
