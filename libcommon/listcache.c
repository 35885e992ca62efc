/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A cache that lets a listing (ps) skip parsing the state.json of containers whose file
 * has not changed: $ROOT/containers/.list-cache holds one line per container with the
 * identity of its state.json (inode, mtime, size: a rewrite is a rename, hence a new
 * inode), the identity of its container.json (written once: a change means damage, which
 * the next parse finds) and the fields a listing uses, tab-separated and escaped. A line whose
 * identity does not match the file on disk is ignored and the file is parsed as usual; the cache is
 * rewritten (atomically) when anything was parsed. It is only ever a cache: delete it and nothing
 * is lost. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crowbar/cleanup.h"
#include "crowbar/container.h"
#include "crowbar/json.h"
#include "listcache.h"

#define CACHE_NAME ".list-cache"
/* 2: the identity of container.json too (version 1 could list a damaged record as whole);
 * 3: NetworkSettings.Ports (ps's PORTS column). */
#define CACHE_VERSION "crowbar-list-cache 3"

enum {
  F_ID,
  F_INO,
  F_MTIME,
  F_SIZE,
  F_RINO,
  F_RMTIME,
  F_RSIZE,
  F_NAME,
  F_CREATED,
  F_CREATED_NS,
  F_IMAGE,
  F_REF,
  F_PATH,
  F_ARGS,
  F_LABELS,
  F_MOUNTS,
  F_NETMODE,
  F_STATUS,
  F_EXIT,
  F_ERROR,
  F_OOM,
  F_PID,
  F_PIDSTART,
  F_SHIMPID,
  F_SHIMSTART,
  F_BOOT,
  F_STARTED,
  F_FINISHED,
  F_RESTARTS,
  F_PORTS,
  F_COUNT
};

struct entry {
  const char *id;
  char *line; /* points into the cache text */
};

struct cb_listcache {
  char *text;
  struct entry *e;
  size_t n;
  char **out;  /* the lines of the next cache */
  bool *owned; /* out[i] was allocated (else it points into text) */
  size_t nout, capout;
  bool dirty;
  char *scratch;
  size_t scratch_cap;
};

static int cmp_entry(const void *a, const void *b) {
  return strncmp(((const struct entry *)a)->id, ((const struct entry *)b)->id, CB_ID_LEN);
}

struct cb_listcache *cb_listcache_open(int dirfd) {
  struct cb_listcache *lc = xcalloc(1, sizeof *lc);
  size_t len;
  cb_error_t err = NULL;
  if (cb_read_file_at(dirfd, CACHE_NAME, &lc->text, &len, &err) < 0) {
    cb_error_release(&err);
    lc->dirty = true;
    return lc;
  }
  char *p = lc->text, *nl = strchr(p, '\n');
  if (!nl || strncmp(p, CACHE_VERSION "\n", sizeof CACHE_VERSION)) {
    lc->dirty = true;
    return lc; /* another version: rebuilt */
  }
  size_t cap = 0;
  for (p = nl + 1; *p; p = nl + 1) {
    nl = strchr(p, '\n');
    if (!nl)
      break;
    *nl = '\0';
    if (strlen(p) < CB_ID_LEN + 1 || p[CB_ID_LEN] != '\t')
      continue;
    if (lc->n == cap) {
      cap = cap ? cap * 2 : 256;
      lc->e = xrealloc(lc->e, cap * sizeof *lc->e);
    }
    lc->e[lc->n++] = (struct entry){p, p};
  }
  if (lc->n)
    qsort(lc->e, lc->n, sizeof *lc->e, cmp_entry);
  return lc;
}

static void push_out(struct cb_listcache *lc, char *line, bool owned) {
  if (lc->nout == lc->capout) {
    lc->capout = lc->capout ? lc->capout * 2 : 256;
    lc->out = xrealloc(lc->out, lc->capout * sizeof *lc->out);
    lc->owned = xrealloc(lc->owned, lc->capout * sizeof *lc->owned);
  }
  lc->owned[lc->nout] = owned;
  lc->out[lc->nout++] = line;
}

/* Escape \, tab and newline so that a field is one tab-free line. */
static void put_field(char **buf, size_t *len, size_t *cap, const char *s, bool last) {
  size_t need = *len + 2 * strlen(s) + 2;
  if (need > *cap) {
    *cap = need * 2;
    *buf = xrealloc(*buf, *cap);
  }
  char *o = *buf + *len;
  for (; *s; s++) {
    if (*s == '\\' || *s == '\t' || *s == '\n') {
      *o++ = '\\';
      *o++ = *s == '\t' ? 't' : *s == '\n' ? 'n' : '\\';
    } else {
      *o++ = *s;
    }
  }
  *o++ = last ? '\0' : '\t';
  *len = (size_t)(o - *buf) - (last ? 1 : 0);
}

static void unescape(char *s) {
  char *o = s;
  for (; *s; s++) {
    if (*s == '\\' && s[1]) {
      s++;
      *o++ = *s == 't' ? '\t' : *s == 'n' ? '\n' : *s;
    } else {
      *o++ = *s;
    }
  }
  *o = '\0';
}

static const char *json_text(json_object *o, const char *def) {
  return o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN) : def;
}

/* A file's identity as the cache writes it: inode, exact mtime, size. */
static void identity(char ino[32], char mtime[32], char size[32], const struct stat *st) {
  snprintf(ino, 32, "%llu", (unsigned long long)st->st_ino);
  snprintf(mtime, 32, "%lld.%09ld", (long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
  snprintf(size, 32, "%lld", (long long)st->st_size);
}

void cb_listcache_add(struct cb_listcache *lc, const struct cb_container *c, const struct stat *st,
                      const struct stat *rst) {
  char num[F_COUNT][32];
  char *buf = NULL;
  size_t len = 0, cap = 0;
  json_object *j = c->json;
  const char *f[F_COUNT];
  f[F_ID] = c->id;
  identity(num[F_INO], num[F_MTIME], num[F_SIZE], st);
  identity(num[F_RINO], num[F_RMTIME], num[F_RSIZE], rst);
  for (int i = F_INO; i <= F_RSIZE; i++)
    f[i] = num[i];
  f[F_NAME] = cb_json_get_str(j, "Name", "");
  f[F_CREATED] = cb_json_get_str(j, "Created", "");
  snprintf(num[F_CREATED_NS], 32, "%lld", (long long)c->created_ns);
  f[F_CREATED_NS] = num[F_CREATED_NS];
  f[F_IMAGE] = cb_json_get_str(j, "Image", "");
  f[F_REF] = cb_json_get_str(j, "Crowbar.ImageRef", "");
  f[F_PATH] = cb_json_get_str(j, "Path", "");
  f[F_ARGS] = json_text(cb_json_get(j, "Args"), "[]");
  f[F_LABELS] = json_text(cb_json_get(j, "Config.Labels"), "null");
  f[F_MOUNTS] = json_text(cb_json_get(j, "Mounts"), "null");
  f[F_NETMODE] = cb_json_get_str(j, "HostConfig.NetworkMode", "");
  const struct cb_state *s = &c->state;
  f[F_STATUS] = cb_status_name(s->status);
  snprintf(num[F_EXIT], 32, "%d", s->exit_code);
  f[F_EXIT] = num[F_EXIT];
  f[F_ERROR] = s->error ? s->error : "";
  f[F_OOM] = s->oom_killed ? "1" : "0";
  snprintf(num[F_PID], 32, "%d", s->pid);
  snprintf(num[F_PIDSTART], 32, "%llu", (unsigned long long)s->pid_start);
  snprintf(num[F_SHIMPID], 32, "%d", s->shim_pid);
  snprintf(num[F_SHIMSTART], 32, "%llu", (unsigned long long)s->shim_start);
  snprintf(num[F_STARTED], 32, "%lld", (long long)s->started_ns);
  snprintf(num[F_FINISHED], 32, "%lld", (long long)s->finished_ns);
  snprintf(num[F_RESTARTS], 32, "%d", s->restart_count);
  f[F_PID] = num[F_PID];
  f[F_PIDSTART] = num[F_PIDSTART];
  f[F_SHIMPID] = num[F_SHIMPID];
  f[F_SHIMSTART] = num[F_SHIMSTART];
  f[F_BOOT] = s->boot_id;
  f[F_STARTED] = num[F_STARTED];
  f[F_FINISHED] = num[F_FINISHED];
  f[F_RESTARTS] = num[F_RESTARTS];
  f[F_PORTS] = json_text(cb_json_get(j, "NetworkSettings.Ports"), "null");
  for (int i = 0; i < F_COUNT; i++)
    put_field(&buf, &len, &cap, f[i], i == F_COUNT - 1);
  push_out(lc, buf, true);
}

static void set_parsed(json_object *o, const char *key, const char *text) {
  json_object *v;
  /* The usual values without a parser. */
  if (!strcmp(text, "null"))
    v = NULL;
  else if (!strcmp(text, "[]"))
    v = json_object_new_array();
  else if (!strcmp(text, "{}"))
    v = json_object_new_object();
  else
    v = json_tokener_parse(text);
  json_object_object_add(o, key, v);
}

struct cb_container *cb_listcache_get(struct cb_listcache *lc, const char *id,
                                      const struct stat *st, const struct stat *rst) {
  struct entry key = {id, NULL};
  struct entry *e = lc->n ? bsearch(&key, lc->e, lc->n, sizeof *lc->e, cmp_entry) : NULL;
  if (!e || !e->line) {
    lc->dirty = true;
    return NULL;
  }
  /* Split a copy: the line stays intact for the next cache. */
  size_t ll = strlen(e->line) + 1;
  if (ll > lc->scratch_cap) {
    lc->scratch_cap = ll * 2;
    lc->scratch = xrealloc(lc->scratch, lc->scratch_cap);
  }
  char *copy = memcpy(lc->scratch, e->line, ll);
  char *f[F_COUNT];
  int n = 0;
  for (char *p = copy; n < F_COUNT; n++) {
    f[n] = p;
    char *t = strchr(p, '\t');
    if (!t) {
      n++;
      break;
    }
    *t = '\0';
    p = t + 1;
  }
  if (n != F_COUNT)
    goto miss;
  for (int i = 0; i < F_COUNT; i++)
    unescape(f[i]);
  char ino[32], mt[32], size[32], rino[32], rmt[32], rsize[32];
  identity(ino, mt, size, st);
  identity(rino, rmt, rsize, rst);
  if (strcmp(f[F_INO], ino) || strcmp(f[F_MTIME], mt) || strcmp(f[F_SIZE], size) ||
      strcmp(f[F_RINO], rino) || strcmp(f[F_RMTIME], rmt) || strcmp(f[F_RSIZE], rsize))
    goto miss;

  struct cb_container *c = xcalloc(1, sizeof *c);
  json_object *j = json_object_new_object();
  c->json = j;
  memcpy(c->id, id, CB_ID_LEN);
  c->id[CB_ID_LEN] = '\0';
  cb_json_set_str(j, "Id", c->id);
  cb_json_set_str(j, "Created", f[F_CREATED]);
  cb_json_set_str(j, "Path", f[F_PATH]);
  set_parsed(j, "Args", f[F_ARGS]);
  cb_json_set_str(j, "Image", f[F_IMAGE]);
  cb_json_set_str(j, "Name", f[F_NAME]);
  /* No labels and no mounts are the usual case: no objects for them (readers take a
   * missing key as empty). */
  if (strcmp(f[F_MOUNTS], "[]") && strcmp(f[F_MOUNTS], "null"))
    set_parsed(j, "Mounts", f[F_MOUNTS]);
  if (strcmp(f[F_LABELS], "{}") && strcmp(f[F_LABELS], "null"))
    set_parsed(cb_json_obj(j, "Config"), "Labels", f[F_LABELS]);
  cb_json_set_str(cb_json_obj(j, "HostConfig"), "NetworkMode", f[F_NETMODE]);
  if (strcmp(f[F_PORTS], "{}") && strcmp(f[F_PORTS], "null"))
    set_parsed(cb_json_obj(j, "NetworkSettings"), "Ports", f[F_PORTS]);
  json_object *cbj = cb_json_obj(j, "Crowbar");
  cb_json_set_str(cbj, "ImageRef", f[F_REF]);
  c->created_ns = strtoll(f[F_CREATED_NS], NULL, 10);
  cb_json_set_int(cbj, "CreatedNs", c->created_ns);
  c->name = xstrdup(f[F_NAME][0] == '/' ? f[F_NAME] + 1 : f[F_NAME]);
  struct cb_state *s = &c->state;
  int status = cb_status_parse(f[F_STATUS]);
  s->status = status < 0 ? CB_STATUS_DEAD : (enum cb_status)status;
  s->exit_code = atoi(f[F_EXIT]);
  s->error = *f[F_ERROR] ? xstrdup(f[F_ERROR]) : NULL;
  s->oom_killed = f[F_OOM][0] == '1';
  s->pid = atoi(f[F_PID]);
  s->pid_start = strtoull(f[F_PIDSTART], NULL, 10);
  s->shim_pid = atoi(f[F_SHIMPID]);
  s->shim_start = strtoull(f[F_SHIMSTART], NULL, 10);
  snprintf(s->boot_id, sizeof s->boot_id, "%s", f[F_BOOT]);
  s->started_ns = strtoll(f[F_STARTED], NULL, 10);
  s->finished_ns = strtoll(f[F_FINISHED], NULL, 10);
  s->restart_count = atoi(f[F_RESTARTS]);
  /* Keep the line for the next cache as it is. */
  push_out(lc, e->line, false);
  return c;
miss:
  lc->dirty = true;
  return NULL;
}

void cb_listcache_close(struct cb_listcache *lc, int dirfd) {
  if (!lc)
    return;
  if (lc->dirty || lc->nout != lc->n) {
    size_t total = sizeof CACHE_VERSION + 1;
    for (size_t i = 0; i < lc->nout; i++)
      total += strlen(lc->out[i]) + 1;
    char *buf = xmalloc(total + 1), *p = buf;
    p += sprintf(p, "%s\n", CACHE_VERSION);
    for (size_t i = 0; i < lc->nout; i++)
      p += sprintf(p, "%s\n", lc->out[i]);
    cb_error_t err = NULL;
    /* Best effort: a failure only costs the next listing some parsing. */
    if (cb_write_file_atomic_at(dirfd, CACHE_NAME, buf, (size_t)(p - buf), 0600, &err) < 0)
      cb_error_release(&err);
    free(buf);
  }
  for (size_t i = 0; i < lc->nout; i++)
    if (lc->owned[i])
      free(lc->out[i]);
  free(lc->out);
  free(lc->owned);
  free(lc->scratch);
  free(lc->e);
  free(lc->text);
  free(lc);
}
