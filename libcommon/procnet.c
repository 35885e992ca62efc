/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The sockets of a process's network namespace, from /proc/PID/net, to name the
 * "socket:[INODE]" links of its descriptors (top's detail pane, and any tool that prints
 * what a descriptor is). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crowbar/cleanup.h"
#include "crowbar/proc.h"
#include "crowbar/util.h"

static const char *const tcp_states[] = {
    "",          "ESTABLISHED", "SYN_SENT",   "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",
    "TIME_WAIT", "CLOSE",       "CLOSE_WAIT", "LAST_ACK", "LISTEN",    "CLOSING",
};

/* "0100007F:0035" (v4) or 32 hex digits and a port (v6) as "127.0.0.1:53", "[::1]:53";
 * the unspecified address and port 0 as "*:*". */
static char *inet_text(const char *hex, bool v6) {
  const char *colon = strchr(hex, ':');
  if (!colon)
    return xstrdup("?");
  size_t hl = (size_t)(colon - hex);
  unsigned port = (unsigned)strtoul(colon + 1, NULL, 16);
  char addr[INET6_ADDRSTRLEN] = "?";
  bool any = true;
  if (!v6 && hl == 8) {
    struct in_addr a;
    a.s_addr = (uint32_t)strtoul(hex, NULL, 16);
    any = a.s_addr == 0;
    inet_ntop(AF_INET, &a, addr, sizeof addr);
  } else if (v6 && hl == 32) {
    struct in6_addr a;
    for (int i = 0; i < 4; i++) {
      char word[9];
      memcpy(word, hex + 8 * i, 8);
      word[8] = '\0';
      a.s6_addr32[i] = (uint32_t)strtoul(word, NULL, 16);
      if (a.s6_addr32[i])
        any = false;
    }
    inet_ntop(AF_INET6, &a, addr, sizeof addr);
  }
  if (any && port == 0)
    return xstrdup("*:*");
  char portbuf[12];
  if (port)
    snprintf(portbuf, sizeof portbuf, "%u", port);
  else
    strcpy(portbuf, "*");
  return v6 ? xasprintf("[%s]:%s", addr, portbuf) : xasprintf("%s:%s", addr, portbuf);
}

static void push(struct cb_proc_socket **v, size_t *n, size_t *cap, struct cb_proc_socket *s) {
  if (*n == *cap) {
    *cap = *cap ? *cap * 2 : 32;
    *v = xrealloc(*v, *cap * sizeof **v);
  }
  (*v)[(*n)++] = *s;
}

/* One line of tcp, tcp6, udp, udp6, raw or raw6. */
static bool parse_inet_line(char *line, const char *proto, struct cb_proc_socket *s) {
  char *f[12] = {0};
  int nf = 0;
  char *save = NULL;
  for (char *t = strtok_r(line, " \t", &save); t && nf < 12; t = strtok_r(NULL, " \t", &save))
    f[nf++] = t;
  /* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
  if (nf < 10 || !strchr(f[0], ':'))
    return false;
  bool v6 = proto[strlen(proto) - 1] == '6';
  memset(s, 0, sizeof *s);
  snprintf(s->proto, sizeof s->proto, "%s", proto);
  s->inode = strtoull(f[9], NULL, 10);
  s->local = inet_text(f[1], v6);
  s->remote = inet_text(f[2], v6);
  unsigned st = (unsigned)strtoul(f[3], NULL, 16);
  if (!strncmp(proto, "tcp", 3) && st < sizeof tcp_states / sizeof tcp_states[0])
    snprintf(s->state, sizeof s->state, "%s", tcp_states[st]);
  return true;
}

/* One line of unix: Num RefCount Protocol Flags Type St Inode [Path] */
static bool parse_unix_line(char *line, struct cb_proc_socket *s) {
  char *f[8] = {0};
  int nf = 0;
  char *p = line;
  while (nf < 7) {
    while (*p == ' ')
      p++;
    if (!*p)
      break;
    f[nf++] = p;
    while (*p && *p != ' ')
      p++;
    if (*p)
      *p++ = '\0';
  }
  if (nf < 7 || !strchr(f[0], ':'))
    return false;
  while (*p == ' ')
    p++;
  memset(s, 0, sizeof *s);
  strcpy(s->proto, "unix");
  s->inode = strtoull(f[6], NULL, 10);
  s->local = xstrdup(p);
  unsigned st = (unsigned)strtoul(f[5], NULL, 16);
  unsigned flags = (unsigned)strtoul(f[3], NULL, 16);
  if (flags & 0x10000) /* __SO_ACCEPTCON */
    strcpy(s->state, "LISTEN");
  else if (st == 3)
    strcpy(s->state, "CONNECTED");
  return true;
}

int cb_proc_sockets(int procfd, pid_t pid, struct cb_proc_socket **out, size_t *n,
                    cb_error_t *err) {
  static const char *const files[] = {"tcp", "tcp6", "udp", "udp6", "raw", "raw6", "unix"};
  struct cb_proc_socket *v = NULL;
  size_t cnt = 0, cap = 0;
  bool any = false;
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    char rel[64];
    snprintf(rel, sizeof rel, "%s%d/net/%s", procfd == AT_FDCWD ? "/proc/" : "", pid, files[i]);
    cleanup_free char *text = NULL;
    cb_error_t e2 = NULL;
    if (cb_read_file_at(procfd, rel, &text, NULL, &e2) < 0) {
      cb_error_release(&e2);
      continue; /* no IPv6, no raw sockets: fine */
    }
    any = true;
    char *save = NULL;
    bool header = true;
    for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
      if (header) {
        header = false;
        continue;
      }
      struct cb_proc_socket s;
      bool ok =
          strcmp(files[i], "unix") ? parse_inet_line(l, files[i], &s) : parse_unix_line(l, &s);
      if (ok)
        push(&v, &cnt, &cap, &s);
    }
  }
  if (!any) {
    free(v);
    errno = ENOENT;
    return cb_error_sys(err, "read /proc/%d/net", pid);
  }
  *out = v;
  *n = cnt;
  return 0;
}

const struct cb_proc_socket *cb_proc_socket_find(const struct cb_proc_socket *v, size_t n,
                                                 uint64_t inode) {
  for (size_t i = 0; i < n; i++)
    if (v[i].inode == inode)
      return &v[i];
  return NULL;
}

void cb_proc_sockets_free(struct cb_proc_socket *v, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(v[i].local);
    free(v[i].remote);
  }
  free(v);
}
