/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Published ports: -p parsing, binding the host sockets, Docker's shapes (ports.h). */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "crowbar/cleanup.h"
#include "crowbar/json.h"
#include "crowbar/ports.h"
#include "crowbar/util.h"

void cb_port_socks_close(struct cb_port_socks *s) {
  for (size_t i = 0; i < s->n; i++)
    if (s->v[i].fd >= 0)
      close(s->v[i].fd);
  free(s->v);
  s->v = NULL;
  s->n = 0;
}

/* ---- parsing ------------------------------------------------------------------------ */

/* "N" or "N-M" (Go's ParseUint(.., 10, 16) for each); -1 when invalid. */
static int parse_range(const char *s, uint16_t *lo, uint16_t *hi) {
  const char *dash = strchr(s, '-');
  char a[16], b[16];
  size_t la = dash ? (size_t)(dash - s) : strlen(s);
  if (la == 0 || la >= sizeof a)
    return -1;
  memcpy(a, s, la);
  a[la] = '\0';
  snprintf(b, sizeof b, "%s", dash ? dash + 1 : a);
  long x, y;
  if (!isdigit((unsigned char)a[0]) || !isdigit((unsigned char)b[0]) || cb_parse_long(a, &x) < 0 ||
      cb_parse_long(b, &y) < 0 || x < 0 || x > 65535 || y < 0 || y > 65535 || y < x)
    return -1;
  *lo = (uint16_t)x;
  *hi = (uint16_t)y;
  return 0;
}

int cb_port_key_parse(const char *key, uint16_t *port, char proto[8]) {
  const char *slash = strchr(key, '/');
  char num[16];
  size_t n = slash ? (size_t)(slash - key) : strlen(key);
  if (n == 0 || n >= sizeof num)
    return -1;
  memcpy(num, key, n);
  num[n] = '\0';
  snprintf(proto, 8, "%s", slash && slash[1] ? slash + 1 : "tcp");
  uint16_t lo, hi;
  if (parse_range(num, &lo, &hi) < 0 || lo != hi || lo == 0)
    return -1;
  *port = lo;
  return 0;
}

static bool ip_valid(const char *ip) {
  unsigned char buf[sizeof(struct in6_addr)];
  return inet_pton(AF_INET, ip, buf) == 1 || inet_pton(AF_INET6, ip, buf) == 1;
}

int cb_port_spec_parse(const char *spec, json_object *exposed, json_object *bindings,
                       cb_error_t *err) {
  /* nat.splitParts: CTR, HOST:CTR, IP:HOST:CTR, or an IP with colons of its own. */
  cleanup_free char *copy = xstrdup(spec);
  char *ip = "", *host = "", *ctr = copy;
  char *last = strrchr(copy, ':');
  if (last) {
    *last = '\0';
    ctr = last + 1;
    char *prev = strrchr(copy, ':');
    if (prev) {
      *prev = '\0';
      host = prev + 1;
      ip = copy;
    } else {
      host = copy;
    }
  }
  char *slash = strchr(ctr, '/');
  char proto[16] = "tcp";
  if (slash) {
    *slash = '\0';
    if (slash[1])
      snprintf(proto, sizeof proto, "%s", slash + 1);
  }
  if (!*ctr)
    return cb_error_make(err, 0, "no port specified: %s<empty>", spec);
  for (char *p = proto; *p; p++)
    *p = (char)tolower((unsigned char)*p);
  if (strcmp(proto, "tcp") && strcmp(proto, "udp") && strcmp(proto, "sctp"))
    return cb_error_make(err, 0, "invalid proto: %s", proto);
  if (ip[0] == '[') {
    size_t l = strlen(ip);
    if (l < 2 || ip[l - 1] != ']')
      return cb_error_make(err, 0, "invalid IP address %s", ip);
    ip[l - 1] = '\0';
    ip++;
  }
  if (*ip && !ip_valid(ip))
    return cb_error_make(err, 0, "invalid IP address: %s", ip);
  uint16_t c_lo, c_hi, h_lo = 0, h_hi = 0;
  if (parse_range(ctr, &c_lo, &c_hi) < 0 || c_lo == 0)
    return cb_error_make(err, 0, "invalid containerPort: %s", ctr);
  if (*host) {
    if (parse_range(host, &h_lo, &h_hi) < 0)
      return cb_error_make(err, 0, "invalid hostPort: %s", host);
    if (c_hi - c_lo != h_hi - h_lo && c_hi != c_lo)
      return cb_error_make(
          err, 0, "invalid ranges specified for container and host Ports: %s and %s", ctr, host);
  }
  unsigned count = (unsigned)(c_hi - c_lo) + 1;
  for (unsigned i = 0; i < count; i++) {
    char key[32], hport[16] = "";
    snprintf(key, sizeof key, "%u/%s", c_lo + i, proto);
    if (*host) {
      if (count == 1 && h_lo != h_hi)
        snprintf(hport, sizeof hport, "%u-%u", h_lo, h_hi);
      else
        snprintf(hport, sizeof hport, "%u", h_lo + i);
    }
    if (!json_object_object_get_ex(exposed, key, NULL))
      json_object_object_add(exposed, key, json_object_new_object());
    json_object *arr = NULL;
    if (!json_object_object_get_ex(bindings, key, &arr) ||
        !json_object_is_type(arr, json_type_array)) {
      arr = json_object_new_array();
      json_object_object_add(bindings, key, arr);
    }
    json_object *b = json_object_new_object();
    cb_json_set_str(b, "HostIp", ip);
    cb_json_set_str(b, "HostPort", hport);
    json_object_array_add(arr, b);
  }
  return 0;
}

/* ---- binding ------------------------------------------------------------------------- */

/* A bound socket, or the errno of the failure. */
static int open_bound(int family, const void *addr, uint16_t port, bool udp, int *out) {
  int fd = socket(family, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return errno;
  int one = 1;
  if (family == AF_INET6)
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  /* A port whose last connections linger in TIME_WAIT is free again (stop, then start);
   * another listener on it still makes bind fail. Not for UDP, where it would let two
   * sockets share the port. */
  if (!udp)
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  socklen_t len;
  if (family == AF_INET) {
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    s4->sin_family = AF_INET;
    s4->sin_port = htons(port);
    memcpy(&s4->sin_addr, addr, sizeof s4->sin_addr);
    len = sizeof *s4;
  } else {
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(port);
    memcpy(&s6->sin6_addr, addr, sizeof s6->sin6_addr);
    len = sizeof *s6;
  }
  if (bind(fd, (struct sockaddr *)&ss, len) < 0 || (!udp && listen(fd, SOMAXCONN) < 0)) {
    int e = errno;
    close(fd);
    return e;
  }
  *out = fd;
  return 0;
}

static uint16_t bound_port(int fd) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
    return 0;
  if (ss.ss_family == AF_INET)
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
  return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

static void push(struct cb_port_socks *out, int fd, bool udp, uint16_t ctr) {
  out->v = xrealloc(out->v, (out->n + 1) * sizeof *out->v);
  out->v[out->n++] = (struct cb_port_sock){.fd = fd, .udp = udp, .ctr_port = ctr};
}

/* Go's error text is lower-case. */
static void lower_first(char *s) {
  if (*s)
    *s = (char)tolower((unsigned char)*s);
}

static int bind_error(int e, int family, const char *ip, const char *ports, bool udp,
                      cb_error_t *err) {
  cleanup_free char *where = cb_join_host_port(ip, ports);
  if (e == EADDRINUSE)
    return cb_error_make(err, 0, "Bind for %s failed: port is already allocated", where);
  char msg[128];
  snprintf(msg, sizeof msg, "%s", strerror(e));
  lower_first(msg);
  return cb_error_make(err, 0, "Error starting userland proxy: listen %s%s %s: bind: %s",
                       udp ? "udp" : "tcp", family == AF_INET ? "4" : "6", where, msg);
}

/* One binding: IP ("" for every address), host ports lo-hi (0-0: any free one). */
static int bind_one(const char *ip, uint16_t lo, uint16_t hi, bool udp, uint16_t ctr,
                    struct cb_port_socks *out, cb_error_t *err) {
  unsigned char a4[sizeof(struct in_addr)] = {0}, a6[sizeof(struct in6_addr)] = {0};
  int family = AF_INET;
  bool dual = !*ip;
  if (*ip && inet_pton(AF_INET, ip, a4) != 1) {
    if (inet_pton(AF_INET6, ip, a6) != 1)
      return cb_error_make(err, 0, "invalid IP address: %s", ip);
    family = AF_INET6;
  }
  const char *shown = *ip ? ip : "0.0.0.0";
  bool any = lo == 0 && hi == 0;
  char ports[16];
  if (lo == hi)
    snprintf(ports, sizeof ports, "%u", lo);
  else
    snprintf(ports, sizeof ports, "%u-%u", lo, hi);
  /* A free port: the kernel's choice for the first family, the same for the second. */
  unsigned tries = any ? 16 : (unsigned)(hi - lo) + 1;
  for (unsigned t = 0; t < tries; t++) {
    uint16_t port = any ? 0 : (uint16_t)(lo + t);
    int fd = -1;
    int e = open_bound(family, family == AF_INET ? (void *)a4 : (void *)a6, port, udp, &fd);
    if (e == EADDRINUSE && t + 1 < tries)
      continue;
    if (e)
      return bind_error(e, family, shown, ports, udp, err);
    if (dual) {
      int fd6 = -1;
      uint16_t got = bound_port(fd);
      int e6 = open_bound(AF_INET6, &in6addr_any, got, udp, &fd6);
      if (e6 == EADDRINUSE) {
        close(fd);
        if (t + 1 < tries)
          continue;
        char p6[8];
        snprintf(p6, sizeof p6, "%u", got);
        return bind_error(e6, AF_INET6, "::", p6, udp, err);
      }
      push(out, fd, udp, ctr);
      /* A host without IPv6 (disabled, or no address) publishes on IPv4 only. */
      if (e6 == 0)
        push(out, fd6, udp, ctr);
      else if (e6 != EAFNOSUPPORT && e6 != EADDRNOTAVAIL && e6 != EPROTONOSUPPORT)
        return bind_error(e6, AF_INET6, "::", ports, udp, err);
      return 0;
    }
    push(out, fd, udp, ctr);
    return 0;
  }
  return bind_error(EADDRINUSE, family, shown, ports, udp, err);
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The keys of an object, sorted (Go's map order). */
static const char **sorted_keys(json_object *o, size_t *n) {
  *n = 0;
  if (!o || !json_object_is_type(o, json_type_object))
    return xcalloc(1, sizeof(char *));
  const char **keys = xcalloc((size_t)json_object_object_length(o) + 1, sizeof *keys);
  json_object_object_foreach(o, k, v) {
    (void)v;
    keys[(*n)++] = k;
  }
  qsort(keys, *n, sizeof *keys, cmp_str);
  return keys;
}

int cb_ports_bind(json_object *bindings, bool publish_all, json_object *exposed,
                  struct cb_port_socks *out, cb_error_t *err) {
  out->v = NULL;
  out->n = 0;
  size_t nk;
  cleanup_free const char **keys = sorted_keys(bindings, &nk);
  for (size_t i = 0; i < nk; i++) {
    uint16_t ctr;
    char proto[8];
    if (cb_port_key_parse(keys[i], &ctr, proto) < 0 || !strcmp(proto, "sctp"))
      continue;
    json_object *arr = json_object_object_get(bindings, keys[i]);
    size_t nb =
        arr && json_object_is_type(arr, json_type_array) ? json_object_array_length(arr) : 0;
    for (size_t j = 0; j < nb; j++) {
      json_object *b = json_object_array_get_idx(arr, j);
      const char *ip = cb_json_get_str(b, "HostIp", "");
      const char *hp = cb_json_get_str(b, "HostPort", "");
      uint16_t lo = 0, hi = 0;
      if (*hp && parse_range(hp, &lo, &hi) < 0) {
        cb_port_socks_close(out);
        return cb_error_make(err, 0, "invalid hostPort: %s", hp);
      }
      if (bind_one(ip, lo, hi, !strcmp(proto, "udp"), ctr, out, err) < 0) {
        cb_port_socks_close(out);
        return -1;
      }
    }
  }
  if (publish_all) {
    cleanup_free const char **ek = sorted_keys(exposed, &nk);
    for (size_t i = 0; i < nk; i++) {
      uint16_t ctr;
      char proto[8];
      json_object *have = NULL;
      if (cb_port_key_parse(ek[i], &ctr, proto) < 0 || !strcmp(proto, "sctp"))
        continue;
      if (bindings && json_object_object_get_ex(bindings, ek[i], &have) && have &&
          json_object_array_length(have) > 0)
        continue;
      if (bind_one("", 0, 0, !strcmp(proto, "udp"), ctr, out, err) < 0) {
        cb_port_socks_close(out);
        return -1;
      }
    }
  }
  return 0;
}

/* ---- Docker's shapes ----------------------------------------------------------------- */

char *cb_join_host_port(const char *ip, const char *port) {
  return strchr(ip, ':') ? xasprintf("[%s]:%s", ip, port) : xasprintf("%s:%s", ip, port);
}

json_object *cb_ports_settings(json_object *exposed, const struct cb_port_sock *v, size_t n) {
  json_object *all = json_object_new_object();
  size_t nk;
  cleanup_free const char **ek = sorted_keys(exposed, &nk);
  for (size_t i = 0; i < nk; i++)
    json_object_object_add(all, ek[i], NULL);
  for (size_t i = 0; i < n; i++) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(v[i].fd, (struct sockaddr *)&ss, &len) < 0)
      continue;
    char ip[INET6_ADDRSTRLEN] = "";
    uint16_t port;
    if (ss.ss_family == AF_INET) {
      struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
      inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof ip);
      port = ntohs(s4->sin_port);
    } else {
      struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
      inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof ip);
      port = ntohs(s6->sin6_port);
    }
    char key[32], hp[8];
    snprintf(key, sizeof key, "%u/%s", v[i].ctr_port, v[i].udp ? "udp" : "tcp");
    snprintf(hp, sizeof hp, "%u", port);
    json_object *arr = NULL;
    if (!json_object_object_get_ex(all, key, &arr) || !arr) {
      arr = json_object_new_array();
      json_object_object_add(all, key, arr);
    }
    json_object *b = json_object_new_object();
    cb_json_set_str(b, "HostIp", ip);
    cb_json_set_str(b, "HostPort", hp);
    json_object_array_add(arr, b);
  }
  /* Go marshals a map with its keys sorted. */
  json_object *sorted = json_object_new_object();
  cleanup_free const char **keys = sorted_keys(all, &nk);
  for (size_t i = 0; i < nk; i++)
    json_object_object_add(sorted, keys[i], json_object_get(json_object_object_get(all, keys[i])));
  json_object_put(all);
  return sorted;
}

/* One row of the API's port list (container.PortSummary). */
struct port_row {
  uint16_t priv, pub;
  char type[8];
  int family; /* 0: no address, AF_INET, AF_INET6 */
  unsigned char addr[16];
  char ip[INET6_ADDRSTRLEN];
};

/* netip.Addr's order: no address, then IPv4, then IPv6, each by its bytes. */
static int cmp_rows(const void *pa, const void *pb) {
  const struct port_row *a = pa, *b = pb;
  if (a->priv != b->priv)
    return a->priv < b->priv ? -1 : 1;
  int fa = a->family == AF_INET6 ? 2 : a->family == AF_INET ? 1 : 0;
  int fb = b->family == AF_INET6 ? 2 : b->family == AF_INET ? 1 : 0;
  if (fa != fb)
    return fa < fb ? -1 : 1;
  int c = memcmp(a->addr, b->addr, fa == 2 ? 16 : 4);
  if (fa && c)
    return c;
  if (a->pub != b->pub)
    return a->pub < b->pub ? -1 : 1;
  return strcmp(a->type, b->type);
}

struct group {
  char key[INET6_ADDRSTRLEN + 10]; /* "TYPE" or "IP/TYPE" */
  uint16_t first, last;
};

static void append(char **out, size_t *len, const char *s) {
  size_t l = strlen(s);
  *out = xrealloc(*out, *len + l + 3);
  if (*len) {
    memcpy(*out + *len, ", ", 2);
    *len += 2;
  }
  memcpy(*out + *len, s, l + 1);
  *len += l;
}

static void form_group(const struct group *g, char **out, size_t *len) {
  const char *slash = strchr(g->key, '/');
  char ip[INET6_ADDRSTRLEN + 2] = "";
  const char *type = g->key;
  if (slash) {
    snprintf(ip, sizeof ip, "%.*s", (int)(slash - g->key), g->key);
    type = slash + 1;
  }
  char range[16];
  if (g->first == g->last)
    snprintf(range, sizeof range, "%u", g->first);
  else
    snprintf(range, sizeof range, "%u-%u", g->first, g->last);
  cleanup_free char *s = NULL;
  if (*ip) {
    cleanup_free char *hp = cb_join_host_port(ip, range);
    s = xasprintf("%s->%s/%s", hp, range, type);
  } else {
    s = xasprintf("%s/%s", range, type);
  }
  append(out, len, s);
}

char *cb_ports_display(json_object *ports) {
  struct port_row *rows = NULL;
  size_t n = 0;
  if (ports && json_object_is_type(ports, json_type_object)) {
    json_object_object_foreach(ports, key, val) {
      uint16_t priv;
      char proto[8];
      if (cb_port_key_parse(key, &priv, proto) < 0)
        continue;
      size_t nb =
          val && json_object_is_type(val, json_type_array) ? json_object_array_length(val) : 0;
      for (size_t i = 0; i < (nb ? nb : 1); i++) {
        rows = xrealloc(rows, (n + 1) * sizeof *rows);
        struct port_row *r = &rows[n++];
        memset(r, 0, sizeof *r);
        r->priv = priv;
        snprintf(r->type, sizeof r->type, "%s", proto);
        if (!nb)
          continue;
        json_object *b = json_object_array_get_idx(val, i);
        const char *ip = cb_json_get_str(b, "HostIp", "");
        long pub = 0;
        if (cb_parse_long(cb_json_get_str(b, "HostPort", ""), &pub) == 0 && pub > 0 && pub <= 65535)
          r->pub = (uint16_t)pub;
        if (inet_pton(AF_INET, ip, r->addr) == 1)
          r->family = AF_INET;
        else if (inet_pton(AF_INET6, ip, r->addr) == 1)
          r->family = AF_INET6;
        if (r->family)
          inet_ntop(r->family, r->addr, r->ip, sizeof r->ip);
      }
    }
  }
  if (n)
    qsort(rows, n, sizeof *rows, cmp_rows);
  struct group *groups = xcalloc(n + 1, sizeof *groups);
  size_t ng = 0;
  char *out = xstrdup(""), *mappings = NULL;
  size_t len = 0, mlen = 0;
  for (size_t i = 0; i < n; i++) {
    struct port_row *r = &rows[i];
    char key[sizeof groups->key];
    if (r->family) {
      if (r->pub != r->priv) {
        char pp[8];
        snprintf(pp, sizeof pp, "%u", r->pub);
        cleanup_free char *hp = cb_join_host_port(r->ip, pp);
        cleanup_free char *m = xasprintf("%s->%u/%s", hp, r->priv, r->type);
        append(&mappings, &mlen, m);
        continue;
      }
      snprintf(key, sizeof key, "%s/%s", r->ip, r->type);
    } else {
      snprintf(key, sizeof key, "%s", r->type);
    }
    struct group *g = NULL;
    for (size_t k = 0; k < ng; k++)
      if (!strcmp(groups[k].key, key))
        g = &groups[k];
    if (!g) {
      g = &groups[ng++];
      snprintf(g->key, sizeof g->key, "%s", key);
      g->first = g->last = r->priv;
      continue;
    }
    if (r->priv == g->last + 1) {
      g->last = r->priv;
      continue;
    }
    /* A gap: the group so far is printed, a new one starts under the same key. */
    form_group(g, &out, &len);
    g->first = g->last = r->priv;
  }
  for (size_t k = 0; k < ng; k++)
    form_group(&groups[k], &out, &len);
  if (mappings)
    append(&out, &len, mappings);
  free(mappings);
  free(groups);
  free(rows);
  return out;
}

static bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

int cb_natural_cmp(const char *a, const char *b) {
  size_t i = 0, j = 0, la = strlen(a), lb = strlen(b);
  while (i < la && j < lb) {
    bool da = is_digit(a[i]), db = is_digit(b[j]);
    if (da != db)
      return da ? -1 : 1;
    if (!da) {
      if (a[i] != b[j])
        return (unsigned char)a[i] < (unsigned char)b[j] ? -1 : 1;
      i++, j++;
      continue;
    }
    while (i < la && a[i] == '0')
      i++;
    while (j < lb && b[j] == '0')
      j++;
    size_t nz_a = i, nz_b = j;
    while (i < la && is_digit(a[i]))
      i++;
    while (j < lb && is_digit(b[j]))
      j++;
    size_t na = i - nz_a, nb = j - nz_b;
    if (na != nb)
      return na < nb ? -1 : 1;
    int c = strncmp(a + nz_a, b + nz_b, na);
    if (c)
      return c < 0 ? -1 : 1;
    if (nz_a != nz_b)
      return nz_a < nz_b ? -1 : 1;
  }
  return la < lb ? -1 : la > lb ? 1 : 0;
}
