/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The shape of a container record: every key the engine writes into container.json and
 * state.json, with the JSON type (and range) it must have. A record read back is checked
 * against it before anything uses it, so that no reader meets an array where it expects an
 * object (json-c asserts), a string where it expects a PID, or a negative PID. Keys not
 * listed are left alone: a newer crowbar may add some. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "crowbar/container.h"
#include "crowbar/json.h"

enum kind {
  K_STR,
  K_BOOL,
  K_INT,    /* any integer */
  K_INT32,  /* an int (exit codes, counts of retries) */
  K_COUNT,  /* an integer >= 0 (times, sizes, start times) */
  K_PID,    /* 0 .. INT32_MAX */
  K_STATUS, /* one of cb_status_name()'s strings */
  K_NAME,   /* "/NAME" (or "NAME") with NAME valid for cb_name_valid() */
  K_STRV,   /* an array of strings */
  K_STRMAP, /* an object whose values are strings */
  K_OBJ,    /* an object with the fields in sub */
  K_ANYOBJ, /* an object, contents unchecked */
  K_OBJV,   /* an array of objects with the fields in sub */
};

struct field {
  const char *key;
  enum kind kind;
  bool nullable;
  const struct field *sub;
};

#define END                                                                                        \
  { NULL, K_STR, false, NULL }

static const struct field state_fields[] = {
    {"Status", K_STATUS, false, NULL},  {"Running", K_BOOL, false, NULL},
    {"Paused", K_BOOL, false, NULL},    {"Restarting", K_BOOL, false, NULL},
    {"OOMKilled", K_BOOL, false, NULL}, {"Dead", K_BOOL, false, NULL},
    {"Pid", K_PID, false, NULL},        {"ExitCode", K_INT32, false, NULL},
    {"Error", K_STR, false, NULL},      {"StartedAt", K_STR, false, NULL},
    {"FinishedAt", K_STR, false, NULL}, END,
};

static const struct field restart_fields[] = {
    {"Name", K_STR, false, NULL},
    {"MaximumRetryCount", K_INT32, false, NULL},
    END,
};

static const struct field hostconfig_fields[] = {
    {"Binds", K_STRV, true, NULL},
    {"NetworkMode", K_STR, false, NULL},
    {"AutoRemove", K_BOOL, false, NULL},
    {"CapAdd", K_STRV, true, NULL},
    {"CapDrop", K_STRV, true, NULL},
    {"Privileged", K_BOOL, false, NULL},
    {"ReadonlyRootfs", K_BOOL, false, NULL},
    {"Memory", K_COUNT, false, NULL},
    {"PidsLimit", K_INT, true, NULL},
    {"Init", K_BOOL, true, NULL},
    {"RestartPolicy", K_OBJ, false, restart_fields},
    END,
};

static const struct field gd_data_fields[] = {
    {"LowerDir", K_STR, false, NULL},
    {"MergedDir", K_STR, false, NULL},
    {"UpperDir", K_STR, false, NULL},
    {"WorkDir", K_STR, false, NULL},
    END,
};

static const struct field gd_fields[] = {
    {"Name", K_STR, false, NULL},
    {"Data", K_OBJ, false, gd_data_fields},
    END,
};

static const struct field mount_fields[] = {
    {"Type", K_STR, false, NULL},        {"Name", K_STR, false, NULL},
    {"Source", K_STR, false, NULL},      {"Destination", K_STR, false, NULL},
    {"Mode", K_STR, false, NULL},        {"RW", K_BOOL, false, NULL},
    {"Propagation", K_STR, false, NULL}, END,
};

static const struct field config_fields[] = {
    {"Hostname", K_STR, false, NULL},      {"Domainname", K_STR, false, NULL},
    {"User", K_STR, false, NULL},          {"AttachStdin", K_BOOL, false, NULL},
    {"AttachStdout", K_BOOL, false, NULL}, {"AttachStderr", K_BOOL, false, NULL},
    {"Tty", K_BOOL, false, NULL},          {"OpenStdin", K_BOOL, false, NULL},
    {"StdinOnce", K_BOOL, false, NULL},    {"Env", K_STRV, true, NULL},
    {"Cmd", K_STRV, true, NULL},           {"Image", K_STR, false, NULL},
    {"Volumes", K_ANYOBJ, true, NULL},     {"WorkingDir", K_STR, false, NULL},
    {"Entrypoint", K_STRV, true, NULL},    {"OnBuild", K_STRV, true, NULL},
    {"Labels", K_STRMAP, true, NULL},      {"StopSignal", K_STR, false, NULL},
    {"StopTimeout", K_INT32, true, NULL},  END,
};

static const struct field own_layer_fields[] = {
    {"DiffID", K_STR, false, NULL},    {"Created", K_STR, false, NULL},
    {"CreatedBy", K_STR, false, NULL}, {"Author", K_STR, false, NULL},
    {"Comment", K_STR, false, NULL},   END,
};

static const struct field committing_fields[] = {
    {"Layer", K_STR, false, NULL},
    {"Dev", K_COUNT, false, NULL},
    {"Ino", K_COUNT, false, NULL},
    END,
};

static const struct field crowbar_fields[] = {
    {"CreatedNs", K_COUNT, false, NULL},
    {"ImageRef", K_STR, false, NULL},
    {"DetachKeys", K_STR, false, NULL},
    {"PidStart", K_COUNT, false, NULL},
    {"ShimPid", K_PID, false, NULL},
    {"ShimStart", K_COUNT, false, NULL},
    {"BootId", K_STR, false, NULL},
    {"StartedNs", K_COUNT, false, NULL},
    {"FinishedNs", K_COUNT, false, NULL},
    {"OwnLayers", K_OBJV, false, own_layer_fields},
    {"Committing", K_OBJ, false, committing_fields},
    END,
};

static const struct field record_fields[] = {
    {"Id", K_STR, false, NULL},
    {"Created", K_STR, false, NULL},
    {"Path", K_STR, false, NULL},
    {"Args", K_STRV, true, NULL},
    {"State", K_OBJ, false, state_fields},
    {"Image", K_STR, false, NULL},
    {"ResolvConfPath", K_STR, false, NULL},
    {"HostnamePath", K_STR, false, NULL},
    {"HostsPath", K_STR, false, NULL},
    {"LogPath", K_STR, false, NULL},
    {"Name", K_NAME, false, NULL},
    {"RestartCount", K_INT32, false, NULL},
    {"Driver", K_STR, false, NULL},
    {"Platform", K_STR, false, NULL},
    {"HostConfig", K_OBJ, false, hostconfig_fields},
    {"GraphDriver", K_OBJ, false, gd_fields},
    {"Mounts", K_OBJV, true, mount_fields},
    {"Config", K_OBJ, false, config_fields},
    {"Crowbar", K_OBJ, false, crowbar_fields},
    END,
};

static const char *what(json_object *v) {
  switch (json_object_get_type(v)) {
  case json_type_null: return "null";
  case json_type_boolean: return "a boolean";
  case json_type_double: return "a fraction";
  case json_type_int: return "a number";
  case json_type_object: return "an object";
  case json_type_array: return "an array";
  case json_type_string: return "a string";
  }
  return "something else";
}

static const char *wanted(enum kind k) {
  switch (k) {
  case K_STR: return "a string";
  case K_BOOL: return "true or false";
  case K_INT:
  case K_INT32: return "a whole number";
  case K_COUNT: return "a whole number >= 0";
  case K_PID: return "a PID";
  case K_STATUS: return "a container status";
  case K_NAME: return "a container name";
  case K_STRV: return "an array of strings";
  case K_STRMAP: return "an object of strings";
  case K_OBJ:
  case K_ANYOBJ: return "an object";
  case K_OBJV: return "an array of objects";
  }
  return "?";
}

struct walk {
  char path[256];
  cb_error_t *err;
};

static int bad(struct walk *w, json_object *v, enum kind k) {
  return cb_error_make(w->err, 0, "\"%s\" is %s, not %s", w->path, what(v), wanted(k));
}

static int check_fields(struct walk *w, json_object *o, const struct field *fields);

/* Check v, at w->path, against one field's kind. */
static int check_value(struct walk *w, json_object *v, const struct field *f) {
  if (!v)
    return f->nullable ? 0 : bad(w, v, f->kind);
  enum json_type t = json_object_get_type(v);
  switch (f->kind) {
  case K_STR: return t == json_type_string ? 0 : bad(w, v, f->kind);
  case K_BOOL: return t == json_type_boolean ? 0 : bad(w, v, f->kind);
  case K_INT:
  case K_INT32:
  case K_COUNT:
  case K_PID: {
    if (t != json_type_int)
      return bad(w, v, f->kind);
    int64_t n = json_object_get_int64(v);
    /* json-c saturates what does not fit in an int64: no field of ours comes near. */
    bool ok = n != INT64_MAX && n != INT64_MIN;
    if (f->kind == K_INT32)
      ok = ok && n >= INT32_MIN && n <= INT32_MAX;
    else if (f->kind == K_COUNT)
      ok = ok && n >= 0;
    else if (f->kind == K_PID)
      ok = ok && n >= 0 && n <= INT32_MAX;
    if (!ok)
      return cb_error_make(w->err, 0, "\"%s\" is out of range (%" PRId64 ")", w->path, n);
    return 0;
  }
  case K_STATUS:
    if (t != json_type_string || cb_status_parse(json_object_get_string(v)) < 0)
      return t == json_type_string
                 ? cb_error_make(w->err, 0, "\"%s\" is an unknown status \"%.40s\"", w->path,
                                 json_object_get_string(v))
                 : bad(w, v, f->kind);
    return 0;
  case K_NAME: {
    if (t != json_type_string)
      return bad(w, v, f->kind);
    const char *s = json_object_get_string(v);
    if (!cb_name_valid(s[0] == '/' ? s + 1 : s))
      return cb_error_make(w->err, 0, "\"%s\" is not a valid container name (\"%.80s\")", w->path,
                           s);
    return 0;
  }
  case K_STRV:
  case K_OBJV: {
    if (t != json_type_array)
      return bad(w, v, f->kind);
    size_t n = json_object_array_length(v), plen = strlen(w->path);
    for (size_t i = 0; i < n; i++) {
      json_object *e = json_object_array_get_idx(v, i);
      snprintf(w->path + plen, sizeof w->path - plen, "[%zu]", i);
      if (f->kind == K_STRV ? !json_object_is_type(e, json_type_string)
                            : !json_object_is_type(e, json_type_object))
        return cb_error_make(w->err, 0, "\"%s\" is %s, not %s", w->path, what(e),
                             f->kind == K_STRV ? "a string" : "an object");
      if (f->kind == K_OBJV && check_fields(w, e, f->sub) < 0)
        return -1;
      w->path[plen] = '\0';
    }
    return 0;
  }
  case K_STRMAP: {
    if (t != json_type_object)
      return bad(w, v, f->kind);
    json_object_object_foreach(v, k, e) {
      if (!json_object_is_type(e, json_type_string))
        return cb_error_make(w->err, 0, "\"%s.%.60s\" is %s, not a string", w->path, k, what(e));
    }
    return 0;
  }
  case K_OBJ:
    if (t != json_type_object)
      return bad(w, v, f->kind);
    return check_fields(w, v, f->sub);
  case K_ANYOBJ: return t == json_type_object ? 0 : bad(w, v, f->kind);
  }
  return 0;
}

static int check_fields(struct walk *w, json_object *o, const struct field *fields) {
  size_t plen = strlen(w->path);
  for (const struct field *f = fields; f->key; f++) {
    json_object *v = NULL;
    if (!json_object_object_get_ex(o, f->key, &v))
      continue; /* absent: readers take their default */
    snprintf(w->path + plen, sizeof w->path - plen, "%s%s", plen ? "." : "", f->key);
    if (check_value(w, v, f) < 0)
      return -1;
    w->path[plen] = '\0';
  }
  return 0;
}

int cb_container_record_check(json_object *rec, cb_error_t *err) {
  struct walk w = {.path = "", .err = err};
  if (!rec || !json_object_is_type(rec, json_type_object))
    return cb_error_make(err, 0, "it is %s, not an object", rec ? what(rec) : "null");
  return check_fields(&w, rec, record_fields);
}
