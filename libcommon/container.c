/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crowbar/cleanup.h"
#include "crowbar/cgroup.h"
#include "crowbar/container.h"
#include "crowbar/format.h"
#include "crowbar/json.h"
#include "crowbar/lock.h"
#include "crowbar/proc.h"
#include "listcache.h"

static const char *const status_names[] = {
    [CB_STATUS_CREATED] = "created",   [CB_STATUS_RUNNING] = "running",
    [CB_STATUS_PAUSED] = "paused",     [CB_STATUS_RESTARTING] = "restarting",
    [CB_STATUS_REMOVING] = "removing", [CB_STATUS_EXITED] = "exited",
    [CB_STATUS_DEAD] = "dead",
};

const char *cb_status_name(enum cb_status s) {
  return (unsigned)s < sizeof status_names / sizeof status_names[0] ? status_names[s] : "unknown";
}

int cb_status_parse(const char *s) {
  for (size_t i = 0; i < sizeof status_names / sizeof status_names[0]; i++)
    if (!strcmp(s, status_names[i]))
      return (int)i;
  return -1;
}

char *cb_container_dir(const struct cb_ctx *ctx, const char *id) {
  return cb_ctx_path(ctx, "containers/%s", id);
}

char *cb_container_rundir(const struct cb_ctx *ctx, const char *id) {
  return cb_ctx_runpath(ctx, "%s", id);
}

static void state_from_json(struct cb_container *c) {
  json_object *j = c->json;
  struct cb_state *s = &c->state;
  int st = cb_status_parse(cb_json_get_str(j, "State.Status", "created"));
  s->status = st < 0 ? CB_STATUS_DEAD : (enum cb_status)st;
  s->oom_killed = cb_json_get_bool(j, "State.OOMKilled", false);
  s->pid = (pid_t)cb_json_get_int(j, "State.Pid", 0);
  s->exit_code = (int)cb_json_get_int(j, "State.ExitCode", 0);
  const char *e = cb_json_get_str(j, "State.Error", "");
  s->error = *e ? xstrdup(e) : NULL;
  s->restart_count = (int)cb_json_get_int(j, "RestartCount", 0);
  s->pid_start = (uint64_t)cb_json_get_int(j, "Crowbar.PidStart", 0);
  s->shim_pid = (pid_t)cb_json_get_int(j, "Crowbar.ShimPid", 0);
  s->shim_start = (uint64_t)cb_json_get_int(j, "Crowbar.ShimStart", 0);
  snprintf(s->boot_id, sizeof s->boot_id, "%s", cb_json_get_str(j, "Crowbar.BootId", ""));
  s->started_ns = cb_json_get_int(j, "Crowbar.StartedNs", 0);
  s->finished_ns = cb_json_get_int(j, "Crowbar.FinishedNs", 0);
}

void cb_container_sync_json(struct cb_container *c) {
  struct cb_state *s = &c->state;
  json_object *st = json_object_new_object();
  char t[CB_RFC3339_LEN];
  cb_json_set_str(st, "Status", cb_status_name(s->status));
  cb_json_set_bool(st, "Running", cb_container_is_running(c));
  cb_json_set_bool(st, "Paused", s->status == CB_STATUS_PAUSED);
  cb_json_set_bool(st, "Restarting", s->status == CB_STATUS_RESTARTING);
  cb_json_set_bool(st, "OOMKilled", s->oom_killed);
  cb_json_set_bool(st, "Dead", s->status == CB_STATUS_DEAD);
  cb_json_set_int(st, "Pid", cb_container_is_running(c) ? s->pid : 0);
  cb_json_set_int(st, "ExitCode", s->exit_code);
  cb_json_set_str(st, "Error", s->error ? s->error : "");
  cb_format_rfc3339nano(s->started_ns, t);
  cb_json_set_str(st, "StartedAt", t);
  cb_format_rfc3339nano(s->finished_ns, t);
  cb_json_set_str(st, "FinishedAt", t);
  json_object_object_add(c->json, "State", st);
  cb_json_set_int(c->json, "RestartCount", s->restart_count);
  json_object *cb = cb_json_obj(c->json, "Crowbar");
  cb_json_set_int(cb, "PidStart", (int64_t)s->pid_start);
  cb_json_set_int(cb, "ShimPid", s->shim_pid);
  cb_json_set_int(cb, "ShimStart", (int64_t)s->shim_start);
  cb_json_set_str(cb, "BootId", s->boot_id);
  cb_json_set_int(cb, "StartedNs", s->started_ns);
  cb_json_set_int(cb, "FinishedNs", s->finished_ns);
}

static struct cb_container *from_json(json_object *j, const char *id) {
  struct cb_container *c = xcalloc(1, sizeof *c);
  c->json = j;
  snprintf(c->id, sizeof c->id, "%s", cb_json_get_str(j, "Id", id));
  const char *name = cb_json_get_str(j, "Name", "");
  c->name = xstrdup(name[0] == '/' ? name + 1 : name);
  c->created_ns = cb_json_get_int(j, "Crowbar.CreatedNs", 0);
  state_from_json(c);
  return c;
}

/* What changes after create lives in state.json; container.json is written once. A listing
 * reads state.json alone, so it carries the few static fields ps shows and filters on.
 * GraphDriver changes when a commit by rename gives the container a layer (stack.h). */
static const char *const state_keys[] = {"Id",     "Name",    "Created",    "Path",
                                         "Args",   "State",   "Image",      "RestartCount",
                                         "Mounts", "Crowbar", "GraphDriver"};
static const char *const state_sub_keys[][2] = {
    {"Config", "Labels"}, {"HostConfig", "NetworkMode"}, {"NetworkSettings", "Ports"}};

/* Lay state over the record: top-level keys replace, Config, HostConfig and
 * NetworkSettings merge. */
static void overlay(json_object *rec, json_object *st) {
  json_object_object_foreach(st, k, v) {
    json_object *have = NULL;
    if (json_object_is_type(v, json_type_object) && json_object_object_get_ex(rec, k, &have) &&
        json_object_is_type(have, json_type_object) &&
        (!strcmp(k, "Config") || !strcmp(k, "HostConfig") || !strcmp(k, "NetworkSettings"))) {
      json_object_object_foreach(v, k2, v2) json_object_object_add(have, k2, json_object_get(v2));
      continue;
    }
    json_object_object_add(rec, k, json_object_get(v));
  }
}

static json_object *state_of(json_object *rec) {
  json_object *st = json_object_new_object();
  for (size_t i = 0; i < sizeof state_keys / sizeof state_keys[0]; i++) {
    json_object *v = NULL;
    if (json_object_object_get_ex(rec, state_keys[i], &v))
      json_object_object_add(st, state_keys[i], json_object_get(v));
  }
  for (size_t i = 0; i < sizeof state_sub_keys / sizeof state_sub_keys[0]; i++) {
    json_object *v = cb_json_get(rec, state_sub_keys[i][0]);
    json_object *w = NULL;
    if (v && json_object_object_get_ex(v, state_sub_keys[i][1], &w))
      json_object_object_add(cb_json_obj(st, state_sub_keys[i][0]), state_sub_keys[i][1],
                             json_object_get(w));
  }
  return st;
}

static bool is_id_entry(const char *name) {
  return strlen(name) == CB_ID_LEN && cb_is_hex(name, CB_ID_LEN);
}

/* ---- reading records back ------------------------------------------------------------ */

/* No record of ours comes near this; a bigger file is not one. */
#define RECORD_MAX (16u << 20)

/* One record file as read: its text, or the errno that kept it from being read (ENOENT:
 * there is no such file). */
struct rec_file {
  const char *name; /* "container.json", "state.json" */
  const char *text;
  size_t len;
  int error;
};

/* Parse one record file into an object checked against the record's shape; NULL with err
 * (naming the file) when it is not one. */
static json_object *record_object(json_tokener *tok, const struct rec_file *f, const char *id,
                                  cb_error_t *err) {
  if (f->error == ENOENT) {
    cb_error_make(err, 0, "%s is missing", f->name);
    return NULL;
  }
  if (f->error == EFBIG) {
    cb_error_make(err, 0, "%s is larger than %u MiB", f->name, RECORD_MAX >> 20);
    return NULL;
  }
  if (f->error) {
    cb_error_make(err, 0, "%s cannot be read (%s)", f->name, strerror(f->error));
    return NULL;
  }
  if (f->len == 0) {
    cb_error_make(err, 0, "%s is empty", f->name);
    return NULL;
  }
  if (memchr(f->text, '\0', f->len)) {
    cb_error_make(err, 0, "%s holds NUL bytes", f->name);
    return NULL;
  }
  json_tokener_reset(tok);
  json_object *j = json_tokener_parse_ex(tok, f->text, (int)f->len);
  enum json_tokener_error e = json_tokener_get_error(tok);
  bool ended = false;
  if (!j && e == json_tokener_continue) {
    /* The end of the input: a number at the very end is whole, anything else is cut. */
    ended = true;
    j = json_tokener_parse_ex(tok, "", 1);
    e = json_tokener_get_error(tok);
  }
  if (!j || e != json_tokener_success) {
    if (j)
      json_object_put(j);
    if (ended)
      cb_error_make(err, 0, "%s is cut short (its JSON is incomplete)", f->name);
    else
      cb_error_make(err, 0, "%s is not valid JSON (%s)", f->name, json_tokener_error_desc(e));
    return NULL;
  }
  size_t end = ended ? f->len : json_tokener_get_parse_end(tok);
  while (end < f->len && isspace((unsigned char)f->text[end]))
    end++;
  if (end < f->len) {
    json_object_put(j);
    cb_error_make(err, 0, "%s holds more than one JSON value", f->name);
    return NULL;
  }
  const char *rid = NULL;
  if (cb_container_record_check(j, err) == 0 && (rid = cb_json_get_str(j, "Id", NULL)) &&
      strcmp(rid, id))
    cb_error_make(err, 0, "\"Id\" is \"%.70s\", not the ID of its folder", rid);
  if (*err) {
    json_object_put(j);
    cb_error_wrap(err, "%s", f->name);
    return NULL;
  }
  return j;
}

/* A container whose record cannot be trusted: Dead, with an Error that says why, and no
 * PID that anyone could signal. Its JSON (a private copy) shows the same. */
static void mark_damaged(struct cb_container *c, enum cb_damage d, cb_error_t *why) {
  struct cb_state *s = &c->state;
  c->damaged = d;
  s->status = CB_STATUS_DEAD;
  free(s->error);
  s->error = xasprintf("the container's record is damaged: %s", cb_error_text(*why));
  cb_error_release(why);
  s->pid = s->shim_pid = 0;
  s->pid_start = s->shim_start = 0;
  s->boot_id[0] = '\0';
  cb_container_sync_json(c);
}

/* The container of a record's files (see cb_container_parse). rec->error EAGAIN: not read
 * (a listing from state.json alone). */
static struct cb_container *parse_files(json_tokener *tok, const char *id,
                                        const struct rec_file *rec, const struct rec_file *st,
                                        bool listing) {
  cb_error_t why = NULL;
  enum cb_damage d = CB_RECORD_OK;
  json_object *rj = NULL, *sj = NULL;
  if (rec->error != EAGAIN) {
    rj = record_object(tok, rec, id, &why);
    if (!rj)
      d = CB_RECORD_DAMAGED;
  }
  if (st->error != ENOENT) {
    cb_error_t e2 = NULL;
    sj = record_object(tok, st, id, d ? &e2 : &why);
    cb_error_release(&e2);
    if (!sj && !d)
      d = CB_RECORD_STATE_DAMAGED;
  }
  if (listing && rj && sj) {
    /* Checked; the state alone is what a listing keeps. */
    json_object_put(rj);
    rj = NULL;
  }
  json_object *j;
  if (rj && sj) {
    overlay(rj, sj);
    json_object_put(sj);
    j = rj;
  } else {
    j = rj ? rj : sj ? sj : json_object_new_object();
  }
  struct cb_container *c = from_json(j, id);
  if (d)
    mark_damaged(c, d, &why);
  return c;
}

struct cb_container *cb_container_parse(const char *id, const char *rec, size_t rlen,
                                        const char *st, size_t slen, unsigned flags) {
  json_tokener *tok = json_tokener_new();
  if (!tok)
    oom();
  bool listing = flags & CB_PARSE_LISTING;
  struct rec_file rf = {"container.json", rec, rlen, rec ? 0 : listing && st ? EAGAIN : ENOENT};
  struct rec_file sf = {"state.json", st, slen, st ? 0 : ENOENT};
  struct cb_container *c = parse_files(tok, id, &rf, &sf, listing);
  json_tokener_free(tok);
  return c;
}

/* Read a record file below dfd into *buf (grown as needed; a short read of a regular file
 * is its end); f says what came of it. */
static void read_rec(int dfd, const char *name, char **buf, size_t *cap, struct rec_file *f) {
  *f = (struct rec_file){.name = name};
  cleanup_close int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    f->error = errno;
    return;
  }
  size_t n = 0;
  for (;;) {
    if (n + 1 >= *cap) {
      if (*cap >= RECORD_MAX) {
        f->error = EFBIG;
        return;
      }
      *cap *= 2;
      *buf = xrealloc(*buf, *cap);
    }
    ssize_t r = read(fd, *buf + n, *cap - n - 1);
    if (r < 0) {
      if (errno == EINTR)
        continue;
      f->error = errno;
      return;
    }
    n += (size_t)r;
    if (r == 0 || n + 1 < *cap)
      break;
  }
  (*buf)[n] = '\0';
  f->text = *buf;
  f->len = n;
}

/* The name whose reservation points at id (for a record too damaged to say). */
static char *name_of(const struct cb_ctx *ctx, const char *id) {
  cleanup_free char *names = cb_ctx_path(ctx, "names");
  cleanup_dir DIR *d = opendir(names);
  struct dirent *de;
  while (d && (de = readdir(d))) {
    char target[CB_ID_LEN + 2];
    ssize_t n = readlinkat(dirfd(d), de->d_name, target, sizeof target - 1);
    if (n == CB_ID_LEN && !memcmp(target, id, CB_ID_LEN) && cb_name_valid(de->d_name))
      return xstrdup(de->d_name);
  }
  return NULL;
}

static void name_damaged(const struct cb_ctx *ctx, struct cb_container *c) {
  if (!c->damaged || *c->name)
    return;
  char *n = name_of(ctx, c->id);
  if (!n)
    return;
  free(c->name);
  c->name = n;
  cleanup_free char *slashed = xasprintf("/%s", n);
  cb_json_set_str(c->json, "Name", slashed);
}

/* Buffers and a tokener, reused across the containers of a listing. */
struct loader {
  char *buf[2];
  size_t cap[2];
  json_tokener *tok;
};

static void loader_init(struct loader *l) {
  for (int i = 0; i < 2; i++)
    l->buf[i] = xmalloc(l->cap[i] = 16384);
  l->tok = json_tokener_new();
  if (!l->tok)
    oom();
}

static void loader_release(struct loader *l) {
  free(l->buf[0]);
  free(l->buf[1]);
  json_tokener_free(l->tok);
}

/* Load the container of folder id below the containers folder dfd: 0, or -1 (errno) when
 * there is no such folder. listing: the (partial) record of a listing, from state.json
 * (container.json checked). */
static int load_at(const struct cb_ctx *ctx, int dfd, const char *id, bool listing,
                   struct loader *l, struct cb_container **out) {
  cleanup_close int cfd = openat(dfd, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (cfd < 0)
    return -1;
  struct rec_file st, rec;
  read_rec(cfd, "state.json", &l->buf[0], &l->cap[0], &st);
  read_rec(cfd, "container.json", &l->buf[1], &l->cap[1], &rec);
  struct cb_container *c = parse_files(l->tok, id, &rec, &st, listing);
  name_damaged(ctx, c);
  *out = c;
  return 0;
}

int cb_container_load(const struct cb_ctx *ctx, const char *id, struct cb_container **out,
                      cb_error_t *err) {
  if (!is_id_entry(id))
    return cb_error_not_found(err, "No such container: %s", id);
  cleanup_free char *cdir = cb_ctx_path(ctx, "containers");
  cleanup_close int dfd = open(cdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0 && errno != ENOENT)
    return cb_error_sys(err, "open `%s`", cdir);
  struct loader l;
  loader_init(&l);
  int r = dfd < 0 ? -1 : load_at(ctx, dfd, id, false, &l, out);
  int e = errno;
  loader_release(&l);
  if (r < 0) {
    if (e != ENOENT && e != ENOTDIR) {
      errno = e;
      return cb_error_sys(err, "open the folder of container %s", id);
    }
    /* Removed (or never there): the caller may have raced an rm. */
    return cb_error_not_found(err, "No such container: %s", id);
  }
  return 0;
}

char *cb_container_state_text(struct cb_container *c, size_t *len) {
  cb_container_sync_json(c);
  json_object *st = state_of(c->json);
  size_t n;
  const char *s = json_object_to_json_string_length(
      st, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
  char *text = xmalloc(n + 2);
  memcpy(text, s, n);
  text[n] = '\n';
  text[n + 1] = '\0';
  *len = n + 1;
  json_object_put(st);
  return text;
}

int cb_container_save(const struct cb_ctx *ctx, struct cb_container *c, cb_error_t *err) {
  if (c->damaged)
    return cb_error_make(err, 0, "container %s: %s; it is not written over: remove it",
                         *c->name ? c->name : c->id, c->state.error);
  size_t len;
  cleanup_free char *text = cb_container_state_text(c, &len);
  cleanup_free char *path = cb_ctx_path(ctx, "containers/%s/state.json", c->id);
  if (cb_write_file_atomic(path, text, len, 0600, err) < 0)
    return (*err)->errno_ == ENOSPC || (*err)->errno_ == EDQUOT ? cb_error_wrap(err, "disk full")
                                                                : -1;
  return 0;
}

int cb_container_write_new(struct cb_container *c, const char *dir, cb_error_t *err) {
  cb_container_sync_json(c);
  cleanup_free char *rec = xasprintf("%s/container.json", dir);
  cleanup_free char *sp = xasprintf("%s/state.json", dir);
  json_object *st = state_of(c->json);
  int r = cb_json_write_file(rec, c->json, err);
  if (r == 0)
    r = cb_json_write_file(sp, st, err);
  json_object_put(st);
  return r;
}

void cb_container_free(struct cb_container *c) {
  if (!c)
    return;
  free(c->name);
  free(c->state.error);
  if (c->json)
    json_object_put(c->json);
  free(c);
}

/* The recorded PIDs belong to this boot. A record without a boot ID, or a host whose boot ID
 * cannot be read, verifies nothing: the PIDs are then nobody's we know. */
static bool same_boot(const struct cb_container *c) {
  char boot[37];
  cb_error_t err = NULL;
  if (!c->state.boot_id[0])
    return false;
  if (cb_boot_id(boot, &err) < 0) {
    cb_error_release(&err);
    return false;
  }
  return !strcmp(boot, c->state.boot_id);
}

bool cb_container_pid_alive(const struct cb_container *c) {
  return same_boot(c) && cb_proc_alive(c->state.pid, c->state.pid_start);
}

bool cb_container_shim_alive(const struct cb_container *c) {
  return same_boot(c) && cb_proc_alive(c->state.shim_pid, c->state.shim_start);
}

int cb_container_pidfd(const struct cb_container *c) {
  if (!same_boot(c)) {
    errno = ESRCH;
    return -1;
  }
  return cb_pidfd_open_checked(c->state.pid, c->state.pid_start);
}

int cb_container_shim_pidfd(const struct cb_container *c) {
  if (!same_boot(c)) {
    errno = ESRCH;
    return -1;
  }
  return cb_pidfd_open_checked(c->state.shim_pid, c->state.shim_start);
}

static bool vanished(const struct cb_container *c) {
  return (cb_container_is_running(c) || c->state.status == CB_STATUS_RESTARTING) &&
         !cb_container_shim_alive(c) && !cb_container_pid_alive(c);
}

int cb_container_refresh_locked(const struct cb_ctx *ctx, struct cb_container *c) {
  if (!vanished(c))
    return 0;
  /* Its monitor may have seen the exit and failed to record it (a full disk): it left a
   * note in the runtime folder. */
  bool noted = cb_container_take_exit_note(ctx, c);
  if (!noted) {
    c->state.status = CB_STATUS_EXITED;
    c->state.exit_code = 255;
    free(c->state.error);
    c->state.error = xstrdup("the container's monitor and process disappeared (killed, or "
                             "the host restarted); its exit status is unknown");
    /* A finish time from an earlier run does not count. */
    if (c->state.finished_ns < c->state.started_ns || !c->state.finished_ns)
      c->state.finished_ns = cb_now_ns();
  }
  cb_error_t err = NULL;
  if (cb_container_save(ctx, c, &err) < 0)
    cb_error_release(&err);
  else if (noted)
    cb_container_drop_exit_note(ctx, c->id);
  return 1;
}

/* Take fresh's record and state into c, and free fresh. */
static void swap_in(struct cb_container *c, struct cb_container *fresh) {
  free(c->state.error);
  c->state = fresh->state;
  fresh->state.error = NULL;
  json_object_put(c->json);
  c->json = fresh->json;
  fresh->json = NULL;
  cb_container_free(fresh);
}

int cb_container_refresh(const struct cb_ctx *ctx, struct cb_container *c) {
  if (!vanished(c))
    return 0;
  /* Both gone: look again under the lock, since the shim may just have recorded the exit. */
  cb_error_t err = NULL;
  cleanup_close int lk = cb_lock(ctx, c->id, 1, &err);
  if (lk < 0) {
    cb_error_release(&err);
    return 0;
  }
  struct cb_container *fresh = NULL;
  if (cb_container_load(ctx, c->id, &fresh, &err) < 0) {
    cb_error_release(&err);
    return 0;
  }
  cb_container_refresh_locked(ctx, fresh);
  swap_in(c, fresh);
  return 1;
}

int cb_container_reload(const struct cb_ctx *ctx, struct cb_container *c, cb_error_t *err) {
  struct cb_container *fresh = NULL;
  if (cb_container_load(ctx, c->id, &fresh, err) < 0)
    return -1;
  swap_in(c, fresh);
  return 0;
}

int cb_container_resolve(const struct cb_ctx *ctx, const char *ref, char id[CB_ID_LEN + 1],
                         cb_error_t *err) {
  if (!ref || !*ref)
    return cb_error_make(err, 0, "No such container: %s", ref ? ref : "");
  cleanup_free char *cdir = cb_ctx_path(ctx, "containers");
  /* 1. A full ID. A container is its folder (renamed into place whole, renamed away whole),
   * whatever state its record is in. */
  if (is_id_entry(ref)) {
    cleanup_free char *p = xasprintf("%s/%s", cdir, ref);
    if (access(p, F_OK) == 0) {
      memcpy(id, ref, CB_ID_LEN + 1);
      return 0;
    }
  }
  /* 2. An exact name (with or without Docker's leading '/'). */
  const char *name = ref[0] == '/' ? ref + 1 : ref;
  if (cb_name_valid(name)) {
    cleanup_free char *np = cb_ctx_path(ctx, "names/%s", name);
    char target[CB_ID_LEN + 2];
    ssize_t n = readlink(np, target, sizeof target - 1);
    if (n == CB_ID_LEN) {
      target[n] = '\0';
      cleanup_free char *p = xasprintf("%s/%s", cdir, is_id_entry(target) ? target : "-");
      if (access(p, F_OK) == 0) {
        memcpy(id, target, CB_ID_LEN + 1);
        return 0;
      }
    }
  }
  /* 3. A unique ID prefix. */
  size_t rl = strlen(ref);
  if (rl < CB_ID_LEN && cb_is_hex(ref, rl)) {
    cleanup_dir DIR *d = opendir(cdir);
    if (!d)
      return cb_error_sys(err, "open `%s`", cdir);
    int found = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
      if (!is_id_entry(de->d_name) || strncmp(de->d_name, ref, rl))
        continue;
      if (found++) {
        return cb_error_make(err, 0, "multiple containers match prefix %s", ref);
      }
      memcpy(id, de->d_name, CB_ID_LEN + 1);
    }
    if (found == 1)
      return 0;
  }
  return cb_error_make(err, 0, "No such container: %s", ref);
}

int cb_container_locate(const struct cb_ctx *ctx, const char *ref, struct cb_container **out,
                        cb_error_t *err) {
  char id[CB_ID_LEN + 1];
  if (cb_container_resolve(ctx, ref, id, err) < 0)
    return -1;
  if (cb_container_load(ctx, id, out, err) < 0) {
    if ((*err)->errno_ == ENOENT) {
      cb_error_release(err);
      return cb_error_make(err, 0, "No such container: %s", ref);
    }
    return -1;
  }
  cb_container_refresh(ctx, *out);
  return 0;
}

static int cmp_newest(const void *a, const void *b) {
  const struct cb_container *x = *(struct cb_container *const *)a;
  const struct cb_container *y = *(struct cb_container *const *)b;
  if (x->created_ns != y->created_ns)
    return x->created_ns > y->created_ns ? -1 : 1;
  return strcmp(x->id, y->id);
}

int cb_container_list(const struct cb_ctx *ctx, struct cb_container ***out, size_t *n,
                      cb_error_t *err) {
  cleanup_free char *cdir = cb_ctx_path(ctx, "containers");
  cleanup_dir DIR *d = opendir(cdir);
  if (!d) {
    if (errno == ENOENT) {
      *out = NULL;
      *n = 0;
      return 0;
    }
    return cb_error_sys(err, "open `%s`", cdir);
  }
  struct cb_container **v = NULL;
  size_t cnt = 0, cap = 0;
  struct loader l;
  loader_init(&l);
  struct cb_listcache *lc = cb_listcache_open(dirfd(d));
  struct dirent *de;
  while ((de = readdir(d))) {
    if (!is_id_entry(de->d_name))
      continue;
    char rel[CB_ID_LEN + 16];
    struct stat st, rst;
    snprintf(rel, sizeof rel, "%s/state.json", de->d_name);
    bool have_st = fstatat(dirfd(d), rel, &st, 0) == 0;
    snprintf(rel, sizeof rel, "%s/container.json", de->d_name);
    have_st = have_st && fstatat(dirfd(d), rel, &rst, 0) == 0;
    struct cb_container *c = have_st ? cb_listcache_get(lc, de->d_name, &st, &rst) : NULL;
    if (!c) {
      if (load_at(ctx, dirfd(d), de->d_name, true, &l, &c) < 0)
        continue; /* removed while we listed */
      if (have_st && !c->damaged)
        cb_listcache_add(lc, c, &st, &rst);
    }
    cb_container_refresh(ctx, c);
    if (cnt == cap) {
      cap = cap ? cap * 2 : 64;
      v = xrealloc(v, cap * sizeof *v);
    }
    v[cnt++] = c;
  }
  loader_release(&l);
  cb_listcache_close(lc, dirfd(d));
  if (cnt)
    qsort(v, cnt, sizeof *v, cmp_newest);
  *out = v;
  *n = cnt;
  return 0;
}

void cb_container_list_free(struct cb_container **v, size_t n) {
  for (size_t i = 0; i < n; i++)
    cb_container_free(v[i]);
  free(v);
}

int cb_container_latest(const struct cb_ctx *ctx, struct cb_container **out, cb_error_t *err) {
  struct cb_container **v;
  size_t n;
  if (cb_container_list(ctx, &v, &n, err) < 0)
    return -1;
  if (n == 0) {
    free(v);
    return cb_error_make(err, 0, "no containers");
  }
  *out = v[0];
  v[0] = NULL;
  cb_container_list_free(v, n);
  return 0;
}

char *cb_container_status_string(const struct cb_container *c, int64_t now_ns) {
  const struct cb_state *s = &c->state;
  switch (s->status) {
  case CB_STATUS_CREATED: return xstrdup("Created");
  case CB_STATUS_RUNNING:
  case CB_STATUS_PAUSED: {
    cleanup_free char *d = cb_human_duration(cb_ns_between(s->started_ns, now_ns));
    return xasprintf("Up %s%s", d, s->status == CB_STATUS_PAUSED ? " (Paused)" : "");
  }
  case CB_STATUS_RESTARTING: {
    cleanup_free char *d = cb_human_duration(cb_ns_between(s->finished_ns, now_ns));
    return xasprintf("Restarting (%d) %s ago", s->exit_code, d);
  }
  case CB_STATUS_REMOVING: return xstrdup("Removal In Progress");
  case CB_STATUS_EXITED: {
    if (!s->finished_ns)
      return xstrdup("Created");
    cleanup_free char *d = cb_human_duration(cb_ns_between(s->finished_ns, now_ns));
    return xasprintf("Exited (%d) %s ago", s->exit_code, d);
  }
  case CB_STATUS_DEAD: return xstrdup("Dead");
  }
  return xstrdup("Unknown");
}

bool cb_name_valid(const char *name) {
  if (!name || !isalnum((unsigned char)name[0]) || !name[1])
    return false;
  for (const char *p = name + 1; *p; p++)
    if (!isalnum((unsigned char)*p) && *p != '_' && *p != '.' && *p != '-')
      return false;
  return strlen(name) < NAME_MAX;
}

static int name_conflict(cb_error_t *err, const char *name, const char *target) {
  return cb_error_make(err, 0,
                       "Conflict. The container name \"/%s\" is already in use by container "
                       "\"%s\". You have to remove (or rename) that container to be able "
                       "to reuse that name.",
                       name, target);
}

int cb_name_reserve(const struct cb_ctx *ctx, const char *name, const char *id, cb_error_t *err) {
  if (!cb_name_valid(name))
    return cb_error_make(err, 0,
                         "Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] "
                         "are allowed",
                         name);
  cleanup_free char *np = cb_ctx_path(ctx, "names/%s", name);
  for (int attempt = 0; attempt < 3; attempt++) {
    if (symlink(id, np) == 0)
      return 0;
    if (errno != EEXIST)
      return cb_error_sys(err, "reserve name `%s`", name);
    char target[CB_ID_LEN + 2];
    ssize_t n = readlink(np, target, sizeof target - 1);
    if (n < 0) {
      if (errno == ENOENT)
        continue; /* released meanwhile */
      return cb_error_sys(err, "reserve name `%s`", name);
    }
    target[n] = '\0';
    /* Whose is it? Not a question for the folders (a create makes its folder only after it
     * reserved the name): for the owner's lock. A create holds its ID's lock from before
     * the reservation until its record is in place (or the name released); a removal holds
     * it until the record and then the name are gone. */
    cleanup_close int lk = -1;
    if (is_id_entry(target)) {
      cb_error_t e2 = NULL;
      lk = cb_trylock(ctx, target, 1, &e2);
      if (lk < 0) {
        bool busy = e2->errno_ == EWOULDBLOCK;
        if (!busy) {
          *err = e2;
          return cb_error_wrap(err, "reserve name `%s`", name);
        }
        cb_error_release(&e2);
        return name_conflict(err, name, target);
      }
      /* Nobody is at work on it: it is taken if its container exists. */
      cleanup_free char *rec = cb_container_dir(ctx, target);
      if (access(rec, F_OK) == 0)
        return name_conflict(err, name, target);
    }
    /* Left by a command that died before its record was in place (or not a reservation
     * of ours at all): take it over, if it still says the same. Holding the owner's lock,
     * no one else does the same at once. */
    char again[CB_ID_LEN + 2];
    ssize_t m = readlink(np, again, sizeof again - 1);
    if (m == n && !memcmp(again, target, (size_t)n))
      unlink(np);
  }
  return cb_error_make(err, 0, "Conflict. The container name \"/%s\" is already in use", name);
}

void cb_name_release(const struct cb_ctx *ctx, const char *name, const char *id) {
  if (!name || !*name)
    return;
  cleanup_free char *np = cb_ctx_path(ctx, "names/%s", name);
  char target[CB_ID_LEN + 2];
  ssize_t n = readlink(np, target, sizeof target - 1);
  if (n < 0)
    return;
  target[n] = '\0';
  if (!strcmp(target, id))
    unlink(np);
}

int cb_container_unlist(const struct cb_ctx *ctx, struct cb_container *c, cb_error_t *err) {
  cleanup_free char *dir = cb_container_dir(ctx, c->id);
  cleanup_free char *aside = cb_ctx_path(ctx, "containers/.rm-%s", c->id);
  if (rename(dir, aside) < 0 && errno != ENOENT)
    return cb_error_sys(err, "remove container %s", c->id);
  cb_name_release(ctx, c->name, c->id);
  return 0;
}

int cb_container_purge(const struct cb_ctx *ctx, const char *id, cb_error_t *err) {
  cb_error_t e2 = NULL;
  if (cb_cgroup_destroy(id, &e2) < 0)
    cb_error_release(&e2);
  cleanup_free char *run = cb_container_rundir(ctx, id);
  if (cb_rm_rf(run, &e2) < 0)
    cb_error_release(&e2);
  cleanup_free char *aside = cb_ctx_path(ctx, "containers/.rm-%s", id);
  if (cb_rm_rf(aside, err) < 0)
    return cb_error_wrap(err, "remove the files of container %s", id);
  return 0;
}

int cb_container_destroy(const struct cb_ctx *ctx, struct cb_container *c, cb_error_t *err) {
  if (cb_container_unlist(ctx, c, err) < 0)
    return -1;
  return cb_container_purge(ctx, c->id, err);
}

void cb_container_sweep(const struct cb_ctx *ctx) {
  cleanup_free char *cdir = cb_ctx_path(ctx, "containers");
  cleanup_dir DIR *d = opendir(cdir);
  if (!d)
    return;
  struct dirent *de;
  while ((de = readdir(d))) {
    const char *id = NULL;
    if (!strncmp(de->d_name, ".tmp-", 5))
      id = de->d_name + 5;
    else if (!strncmp(de->d_name, ".rm-", 4))
      id = de->d_name + 4;
    if (!id || !is_id_entry(id))
      continue;
    cb_error_t err = NULL;
    cleanup_close int lk = cb_trylock(ctx, id, 1, &err);
    if (lk < 0) {
      cb_error_release(&err);
      continue; /* its owner is still at work */
    }
    /* A name reserved for this ID goes too (it points at no container). */
    cleanup_free char *names = cb_ctx_path(ctx, "names");
    cleanup_dir DIR *nd = opendir(names);
    struct dirent *ne;
    while (nd && (ne = readdir(nd))) {
      char target[CB_ID_LEN + 2];
      ssize_t n = readlinkat(dirfd(nd), ne->d_name, target, sizeof target - 1);
      if (n == CB_ID_LEN && !memcmp(target, id, CB_ID_LEN))
        unlinkat(dirfd(nd), ne->d_name, 0);
    }
    if (cb_rm_rf_at(dirfd(d), de->d_name, &err) < 0)
      cb_error_release(&err);
  }
}
