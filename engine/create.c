/* SPDX-License-Identifier: GPL-2.0-or-later */
/* create/run options and the container record they become. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crowbar/cleanup.h"
#include "crowbar/format.h"
#include "crowbar/image.h"
#include "crowbar/json.h"
#include "crowbar/lock.h"
#include "crowbar/lookpath.h"
#include "crowbar/ports.h"
#include "crowbar/rootfs.h"
#include "crowbar/saferoot.h"
#include "crowbar/seccomp.h"
#include "crowbar/security.h"
#include "crowbar/tty.h"
#include "crowbar/util.h"
#include "crowbar/volume.h"
#include "engine.h"
#include "mounts.h"

enum {
  OPT_RM = CHAR_MAX + 1,
  OPT_NAME,
  OPT_ENV_FILE,
  OPT_ENTRYPOINT,
  OPT_NETWORK,
  OPT_PIDS_LIMIT,
  OPT_INIT,
  OPT_CAP_ADD,
  OPT_CAP_DROP,
  OPT_READ_ONLY,
  OPT_STOP_SIGNAL,
  OPT_STOP_TIMEOUT,
  OPT_DETACH_KEYS,
  OPT_SECURITY_OPT,
  OPT_MOUNT,
};

static const struct option longopts[] = {
    {"detach", no_argument, NULL, 'd'},
    {"interactive", no_argument, NULL, 'i'},
    {"tty", no_argument, NULL, 't'},
    {"rm", no_argument, NULL, OPT_RM},
    {"name", required_argument, NULL, OPT_NAME},
    {"env", required_argument, NULL, 'e'},
    {"env-file", required_argument, NULL, OPT_ENV_FILE},
    {"workdir", required_argument, NULL, 'w'},
    {"user", required_argument, NULL, 'u'},
    {"entrypoint", required_argument, NULL, OPT_ENTRYPOINT},
    {"volume", required_argument, NULL, 'v'},
    {"mount", required_argument, NULL, OPT_MOUNT},
    {"publish", required_argument, NULL, 'p'},
    {"publish-all", no_argument, NULL, 'P'},
    {"network", required_argument, NULL, OPT_NETWORK},
    {"net", required_argument, NULL, OPT_NETWORK},
    {"hostname", required_argument, NULL, 'h'},
    {"memory", required_argument, NULL, 'm'},
    {"pids-limit", required_argument, NULL, OPT_PIDS_LIMIT},
    {"init", no_argument, NULL, OPT_INIT},
    {"cap-add", required_argument, NULL, OPT_CAP_ADD},
    {"cap-drop", required_argument, NULL, OPT_CAP_DROP},
    {"read-only", no_argument, NULL, OPT_READ_ONLY},
    {"stop-signal", required_argument, NULL, OPT_STOP_SIGNAL},
    {"stop-timeout", required_argument, NULL, OPT_STOP_TIMEOUT},
    {"detach-keys", required_argument, NULL, OPT_DETACH_KEYS},
    {"security-opt", required_argument, NULL, OPT_SECURITY_OPT},
    {"help", no_argument, NULL, 'H'},
    {NULL, 0, NULL, 0},
};

static void usage(FILE *out, bool is_run) {
  const char *v = is_run ? "run" : "create";
  fprintf(out, "Usage: crowbar %s [OPTIONS] IMAGE [COMMAND] [ARG...]\n\n%s\n\nOptions:\n", v,
          is_run ? "Create and run a new container from an image."
                 : "Create a new container from an image, without starting it.");
  if (is_run)
    fputs("  -d, --detach               run in the background and print the container ID\n", out);
  fputs("  -i, --interactive          keep stdin open and pass it to the container\n"
        "  -t, --tty                  allocate a pseudo-terminal\n"
        "      --rm                   remove the container when it exits\n"
        "      --name NAME            name the container\n"
        "  -e, --env KEY=VALUE        set an environment variable (KEY alone: take ours)\n"
        "      --env-file FILE        read environment variables from FILE\n"
        "  -w, --workdir DIR          working directory inside the container\n"
        "  -u, --user USER[:GROUP]    user name or UID (and group) to run as\n"
        "      --entrypoint CMD       override the image's entrypoint\n"
        "  -v, --volume SRC:DST[:OPT] bind-mount a host path (SRC absolute) or mount the\n"
        "                             named volume SRC (made at first use, with the image's\n"
        "                             files at DST); -v DST alone: a new anonymous volume;\n"
        "                             OPT: ro, rw, nocopy, a propagation mode\n"
        "      --mount SPEC           type=volume|bind,source=SRC,target=DST[,readonly]\n"
        "                             [,volume-nocopy][,volume-label=K=V][,bind-propagation=P]\n"
        "  -p, --publish SPEC         publish a container port on the host:\n"
        "                             [IP:][HOSTPORT:]PORT[/tcp|/udp] (no HOSTPORT: a free one)\n"
        "  -P, --publish-all          publish every port the image exposes, on free ports\n"
        "      --network none|host    network: a private namespace with only lo (none,\n"
        "                             the default) or the host's\n"
        "  -h, --hostname NAME        container host name (default: the short ID)\n"
        "  -m, --memory BYTES         memory limit (e.g. 64m, 1g)\n"
        "      --pids-limit N         limit on the number of processes\n"
        "      --init                 run a tiny init as PID 1 that forwards signals and\n"
        "                             reaps zombies\n"
        "      --cap-add CAP          add a capability (e.g. NET_ADMIN, ALL)\n"
        "      --cap-drop CAP         drop a capability\n"
        "      --read-only            mount the root filesystem read-only\n"
        "      --security-opt OPT     seccomp=unconfined, seccomp=FILE (a profile in Docker's\n"
        "                             JSON format instead of Docker's default one), or\n"
        "                             no-new-privileges\n"
        "      --stop-signal SIG      signal that stops the container (default SIGTERM)\n"
        "      --stop-timeout N       seconds to wait before killing it on stop (default 10)\n"
        "      --detach-keys KEYS     key sequence that detaches (default ctrl-p,ctrl-q)\n"
        "      --help                 show this help\n",
        out);
  fprintf(out, "\nSee crowbar-%s(1).\n", v);
}

/* RFC 1123 host names: dot-separated labels of letters, digits and inner hyphens. */
static bool hostname_valid(const char *h) {
  size_t len = strlen(h);
  if (!len || len > 253)
    return false;
  size_t label = 0;
  for (const char *p = h;; p++) {
    if (*p == '.' || !*p) {
      if (!label || label > 63 || p[-1] == '-')
        return false;
      if (!*p)
        return true;
      label = 0;
      continue;
    }
    if (!isalnum((unsigned char)*p) && !(*p == '-' && label > 0))
      return false;
    label++;
  }
}

void create_opts_free(struct create_opts *o) {
  free(o->name);
  free(o->workdir);
  free(o->user);
  free(o->entrypoint);
  free(o->hostname);
  free(o->stop_signal);
  free(o->detach_keys);
  free(o->image);
  cb_strv_free(o->env);
  cb_strv_free(o->env_file);
  cb_strv_free(o->volumes);
  cb_strv_free(o->mounts);
  cb_strv_free(o->publish);
  cb_strv_free(o->cap_add);
  cb_strv_free(o->cap_drop);
  cb_strv_free(o->security_opts);
  cb_strv_free(o->cmd);
  memset(o, 0, sizeof *o);
}

static int read_env_file(const char *path, char ***env, cb_error_t *err) {
  cleanup_free char *text = NULL;
  if (cb_read_file(path, &text, NULL, err) < 0)
    return cb_error_wrap(err, "--env-file");
  char *save = NULL;
  for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
    while (*l == ' ' || *l == '\t')
      l++;
    size_t n = strlen(l);
    if (n && l[n - 1] == '\r')
      l[--n] = '\0';
    if (!*l || *l == '#')
      continue;
    /* Docker's rules (opts.ParseEnvFile): a name, without blanks. */
    size_t klen = strcspn(l, "=");
    if (klen == 0 || strcspn(l, " \t") < klen) {
      cb_strv_free(*env);
      *env = NULL;
      if (klen == 0)
        return cb_error_make(err, 0, "poorly formatted environment: no variable name on line '%s'",
                             l);
      return cb_error_make(err, 0,
                           "poorly formatted environment: variable '%.*s' contains whitespaces",
                           (int)klen, l);
    }
    cb_strv_append(env, l);
  }
  return 0;
}

/* Go's json.Compact: the text without the white space between tokens (the caller checked
 * that it is JSON). */
static char *json_compact(const char *text) {
  char *out = xmalloc(strlen(text) + 1), *w = out;
  bool in_string = false, escaped = false;
  for (const char *p = text; *p; p++) {
    if (in_string) {
      *w++ = *p;
      if (escaped)
        escaped = false;
      else if (*p == '\\')
        escaped = true;
      else if (*p == '"')
        in_string = false;
    } else if (*p == '"') {
      in_string = true;
      *w++ = *p;
    } else if (!strchr(" \t\r\n", *p)) {
      *w++ = *p;
    }
  }
  *w = '\0';
  return out;
}

/* --security-opt as Docker's CLI takes it: KEY=VALUE or KEY:VALUE (or no-new-privileges
 * alone); seccomp=FILE is read and kept as seccomp=<the JSON, compacted>. */
static int add_security_opt(struct create_opts *o, const char *opt, cb_error_t *err) {
  const char *sep = strchr(opt, '=');
  if (!sep && strcmp(opt, "no-new-privileges"))
    sep = strchr(opt, ':');
  if (!sep && strcmp(opt, "no-new-privileges"))
    return cb_error_make(err, 0, "Invalid --security-opt: \"%s\"", opt);
  if (!sep || (size_t)(sep - opt) != 7 || strncmp(opt, "seccomp", 7) ||
      !strcmp(sep + 1, "unconfined")) {
    cb_strv_append(&o->security_opts, opt);
    return 0;
  }
  const char *path = sep + 1;
  cleanup_free char *text = NULL;
  size_t len;
  if (cb_read_file(path, &text, &len, err) < 0)
    return cb_error_wrap(err, "opening seccomp profile (%s) failed", path);
  cleanup_json json_object *j = NULL;
  if (strlen(text) != len || cb_json_parse(text, &j, err) < 0) {
    if (!*err)
      cb_error_make(err, 0, "invalid JSON: a NUL byte");
    return cb_error_wrap(err, "compacting json for seccomp profile (%s) failed", path);
  }
  cleanup_free char *compact = json_compact(text);
  cleanup_free char *kv = xasprintf("seccomp=%s", compact);
  cb_strv_append(&o->security_opts, kv);
  return 0;
}

static char *dup_opt(char *old, const char *v) {
  free(old);
  return xstrdup(v);
}

int create_opts_parse(int argc, char **argv, bool is_run, struct create_opts *o, cb_error_t *err) {
  memset(o, 0, sizeof *o);
  o->stop_timeout = -1;
  int c;
  optind = 1;
  opterr = 0;
  const char *shortopts = is_run ? "+:dite:w:u:v:h:m:p:P" : "+:ite:w:u:v:h:m:p:P";
  while ((c = cb_getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
    switch (c) {
    case 'd':
      if (!is_run)
        return cb_error_make(err, 0, "unknown flag: --detach");
      o->detach = true;
      break;
    case 'i': o->interactive = true; break;
    case 't': o->tty = true; break;
    case OPT_RM: o->autoremove = true; break;
    case OPT_NAME: o->name = dup_opt(o->name, optarg); break;
    case 'e': {
      /* Docker's one rule (opts.ValidateEnv): a name before the '='. */
      if (!*optarg || *optarg == '=')
        return cb_error_make(err, 0,
                             "invalid argument \"%s\" for \"-e, --env\" flag: invalid "
                             "environment variable: %s\nSee 'crowbar %s --help'.",
                             optarg, optarg, is_run ? "run" : "create");
      if (strchr(optarg, '=')) {
        cb_strv_append(&o->env, optarg);
      } else {
        const char *v = getenv(optarg);
        if (v) {
          cleanup_free char *kv = xasprintf("%s=%s", optarg, v);
          cb_strv_append(&o->env, kv);
        }
      }
      break;
    }
    case OPT_ENV_FILE: {
      char **fe = NULL;
      if (read_env_file(optarg, &fe, err) < 0)
        return -1;
      for (char **p = fe; p && *p; p++) {
        if (strchr(*p, '=')) {
          cb_strv_append(&o->env_file, *p);
        } else if (getenv(*p)) {
          cleanup_free char *kv = xasprintf("%s=%s", *p, getenv(*p));
          cb_strv_append(&o->env_file, kv);
        }
      }
      cb_strv_free(fe);
      break;
    }
    case 'w':
      if (optarg[0] != '/')
        return cb_error_make(err, 0,
                             "the working directory '%s' is invalid, it needs to be an "
                             "absolute path",
                             optarg);
      o->workdir = dup_opt(o->workdir, optarg);
      break;
    case 'u': o->user = dup_opt(o->user, optarg); break;
    case OPT_ENTRYPOINT:
      o->entrypoint = dup_opt(o->entrypoint, optarg);
      o->entrypoint_set = true;
      break;
    case 'v': cb_strv_append(&o->volumes, optarg); break;
    case OPT_MOUNT: cb_strv_append(&o->mounts, optarg); break;
    case 'p': cb_strv_append(&o->publish, optarg); break;
    case 'P': o->publish_all = true; break;
    case OPT_NETWORK:
      if (!strcmp(optarg, "host"))
        o->net_host = true;
      else if (!strcmp(optarg, "none") || !strcmp(optarg, "default"))
        o->net_host = false;
      else
        return cb_error_make(err, 0, "network %s not found (crowbar supports none and host)",
                             optarg);
      break;
    case 'h':
      if (!hostname_valid(optarg))
        return cb_error_make(err, 0, "invalid hostname format: %s", optarg);
      o->hostname = dup_opt(o->hostname, optarg);
      break;
    case 'm':
      if (cb_parse_bytes(optarg, &o->memory) < 0)
        return cb_error_make(err, 0, "invalid argument \"%s\" for \"-m, --memory\" flag", optarg);
      if (o->memory > 0 && o->memory < 6 * 1024 * 1024)
        return cb_error_make(err, 0, "Minimum memory limit allowed is 6MB");
      break;
    case OPT_PIDS_LIMIT: {
      long n;
      if (cb_parse_long(optarg, &n) < 0)
        return cb_error_make(err, 0, "invalid argument \"%s\" for \"--pids-limit\" flag", optarg);
      o->pids_limit = n > 0 ? n : 0;
      break;
    }
    case OPT_INIT: o->init = true; break;
    case OPT_CAP_ADD: cb_strv_append(&o->cap_add, optarg); break;
    case OPT_CAP_DROP: cb_strv_append(&o->cap_drop, optarg); break;
    case OPT_READ_ONLY: o->read_only = true; break;
    case OPT_STOP_SIGNAL:
      if (cb_signal_parse(optarg) < 0)
        return cb_error_make(err, 0, "Invalid signal: %s", optarg);
      o->stop_signal = dup_opt(o->stop_signal, optarg);
      break;
    case OPT_STOP_TIMEOUT:
      if (cb_parse_int(optarg, &o->stop_timeout) < 0)
        return cb_error_make(err, 0, "invalid argument \"%s\" for \"--stop-timeout\" flag", optarg);
      break;
    case OPT_DETACH_KEYS: o->detach_keys = dup_opt(o->detach_keys, optarg); break;
    case OPT_SECURITY_OPT:
      if (add_security_opt(o, optarg, err) < 0)
        return -1;
      break;
    case 'H': usage(stdout, is_run); return 1;
    case ':':
      return cb_error_make(err, 0, "flag needs an argument: %s\nSee 'crowbar %s --help'.",
                           argv[optind - 1], is_run ? "run" : "create");
    default:
      if (optopt && !cb_str_has_prefix(argv[optind - 1], "--"))
        return cb_error_make(err, 0,
                             "unknown shorthand flag: '%c' in %s\nSee 'crowbar %s "
                             "--help'.",
                             optopt, argv[optind - 1], is_run ? "run" : "create");
      return cb_error_make(err, 0, "unknown flag: %.*s\nSee 'crowbar %s --help'.",
                           (int)strcspn(argv[optind - 1], "="), argv[optind - 1],
                           is_run ? "run" : "create");
    }
  }
  if (o->detach_keys) {
    unsigned char keys[CB_DETACH_MAX];
    size_t n;
    if (cb_detach_keys_parse(o->detach_keys, keys, &n, err) < 0)
      return -1;
  }
  if (optind >= argc)
    return cb_error_make(err, 0,
                         "\"crowbar %s\" requires at least 1 argument.\nSee 'crowbar %s "
                         "--help'.",
                         is_run ? "run" : "create", is_run ? "run" : "create");
  o->image = xstrdup(argv[optind++]);
  o->cmd = cb_strv_dup(argv + optind);
  return 0;
}

static int cmp_keys(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A copy of a JSON object with its keys sorted, as Go's encoding of a map comes out. */
static json_object *sorted_copy(json_object *o) {
  json_object *r = json_object_new_object();
  if (!o || !json_object_is_type(o, json_type_object))
    return r;
  size_t n = (size_t)json_object_object_length(o), i = 0;
  const char **keys = xcalloc(n + 1, sizeof *keys);
  json_object_object_foreach(o, k, v) {
    (void)v;
    keys[i++] = k;
  }
  qsort(keys, i, sizeof *keys, cmp_keys);
  for (size_t j = 0; j < i; j++)
    json_object_object_add(r, keys[j], json_object_get(json_object_object_get(o, keys[j])));
  free(keys);
  return r;
}

static int write_text(int dirfd, const char *name, const char *text, cb_error_t *err) {
  cleanup_close int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || cb_write_all(fd, text, strlen(text)) < 0)
    return cb_error_sys(err, "write `%s`", name);
  return 0;
}

static char *host_file(const char *path, const char *fallback) {
  cleanup_free char *text = NULL;
  cb_error_t err = NULL;
  if (cb_read_file(path, &text, NULL, &err) < 0) {
    cb_error_release(&err);
    return xstrdup(fallback);
  }
  return steal_pointer(&text);
}

/* The init layer, as Docker's "-init" layer: the mount points the engine itself needs
 * (/proc, /sys, /dev, the /etc files it bind-mounts) in a folder of the container's that
 * sits as the topmost lower layer, so that they never land in the container's upper dir
 * and `diff` never shows them. Volume mount points are made at start, in the upper dir. */
static int make_init_layer(int dfd, cb_error_t *err) {
  static const char *const dirs[] = {"init",      "init/dev", "init/dev/pts", "init/dev/shm",
                                     "init/proc", "init/sys", "init/etc"};
  static const char *const files[] = {"init/etc/hostname", "init/etc/hosts",
                                      "init/etc/resolv.conf"};
  for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
    if (mkdirat(dfd, dirs[i], 0755) < 0)
      return cb_error_sys(err, "create `%s`", dirs[i]);
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    int fd = openat(dfd, files[i], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
      return cb_error_sys(err, "create `%s`", files[i]);
    close(fd);
  }
  if (symlinkat("/proc/mounts", dfd, "init/etc/mtab") < 0)
    return cb_error_sys(err, "create `init/etc/mtab`");
  return 0;
}

/* NetworkSettings as Docker shows it for a container on the "none" (or "host") network;
 * Ports is the running container's (the monitor records it at each start). */
static json_object *network_settings(bool host) {
  json_object *ns = json_object_new_object();
  static const char *const strs[] = {"Bridge", "SandboxID"};
  for (size_t i = 0; i < 2; i++)
    cb_json_set_str(ns, strs[i], "");
  cb_json_set_bool(ns, "HairpinMode", false);
  cb_json_set_str(ns, "LinkLocalIPv6Address", "");
  cb_json_set_int(ns, "LinkLocalIPv6PrefixLen", 0);
  json_object_object_add(ns, "Ports", json_object_new_object());
  cb_json_set_str(ns, "SandboxKey", "");
  json_object_object_add(ns, "SecondaryIPAddresses", NULL);
  json_object_object_add(ns, "SecondaryIPv6Addresses", NULL);
  static const char *const more[] = {"EndpointID", "Gateway", "GlobalIPv6Address"};
  for (size_t i = 0; i < 3; i++)
    cb_json_set_str(ns, more[i], "");
  cb_json_set_int(ns, "GlobalIPv6PrefixLen", 0);
  cb_json_set_str(ns, "IPAddress", "");
  cb_json_set_int(ns, "IPPrefixLen", 0);
  cb_json_set_str(ns, "IPv6Gateway", "");
  cb_json_set_str(ns, "MacAddress", "");
  json_object *net = cb_json_obj(cb_json_obj(ns, "Networks"), host ? "host" : "none");
  static const char *const nulls[] = {"IPAMConfig", "Links", "Aliases"};
  for (size_t i = 0; i < 3; i++)
    json_object_object_add(net, nulls[i], NULL);
  static const char *const estrs[] = {"NetworkID", "EndpointID", "Gateway", "IPAddress"};
  for (size_t i = 0; i < 4; i++)
    cb_json_set_str(net, estrs[i], "");
  cb_json_set_int(net, "IPPrefixLen", 0);
  cb_json_set_str(net, "IPv6Gateway", "");
  cb_json_set_str(net, "GlobalIPv6Address", "");
  cb_json_set_int(net, "GlobalIPv6PrefixLen", 0);
  cb_json_set_str(net, "MacAddress", "");
  json_object_object_add(net, "DriverOpts", NULL);
  return ns;
}

/* What Docker's daemon checks of the security options at start, checked now: the keys, and
 * that a seccomp profile compiles. */
static int check_security_opts(const struct create_opts *o, cb_error_t *err) {
  struct cb_security_opts so = {0};
  for (char **p = o->security_opts; p && *p; p++)
    if (cb_security_opt_apply(*p, &so, err) < 0)
      return -1;
  if (!so.profile_json)
    return 0;
  struct cb_seccomp_profile *prof = NULL;
  if (cb_seccomp_profile_parse(so.profile_json, &prof, err) < 0)
    return -1;
  uint64_t caps;
  struct cb_seccomp_target t;
  struct cb_seccomp_filter f;
  int r = cb_caps_bounding(o->cap_add, o->cap_drop, &caps, err);
  if (r == 0) {
    cb_seccomp_target_host(caps, &t);
    r = cb_seccomp_compile(prof, &t, &f, err);
  }
  if (r == 0)
    cb_seccomp_filter_free(&f);
  cb_seccomp_profile_free(prof);
  return r;
}

static int create_record(const struct cb_ctx *ctx, const struct create_opts *o,
                         const struct cb_image *img, char **full, char **entry, char **cmd,
                         char **env, struct mount_plan *plan, json_object *exposed,
                         json_object *pbind, struct cb_container **out, cb_error_t *err);

int container_create(const struct cb_ctx *ctx, const struct create_opts *o,
                     struct cb_port_socks *socks, struct cb_container **out, cb_error_t *err) {
  /* The image may not go away (rmi) between here and the record naming its layers. */
  cleanup_close int images_lock = cb_lock(ctx, "images", 0, err);
  if (images_lock < 0)
    return -1;
  cleanup_image struct cb_image *img = NULL;
  if (cb_image_locate(ctx, o->image, &img, err) < 0)
    return -1;
  json_object *icfg = cb_json_get(img->config, "config");

  /* Entrypoint and Cmd, by Docker's rules. */
  cleanup_strv char **entry = NULL;
  cleanup_strv char **cmd = NULL;
  if (o->entrypoint_set) {
    if (*o->entrypoint)
      cb_strv_append(&entry, o->entrypoint);
    cmd = cb_strv_dup(o->cmd);
  } else {
    entry = cb_json_get_strv(icfg, "Entrypoint");
    cmd = cb_strv_len(o->cmd) ? cb_strv_dup(o->cmd) : cb_json_get_strv(icfg, "Cmd");
  }
  cleanup_strv char **full = cb_strv_dup(entry);
  for (char **p = cmd; p && *p; p++)
    cb_strv_append(&full, *p);
  if (cb_strv_len(full) == 0)
    return cb_error_make(err, 0, "No command specified");

  /* Config.Env as Docker's daemon merges it: the user's variables first (--env-file's, then
   * -e's: a later value of a variable replaces the earlier one), then the image's that the
   * user did not set. No default PATH and no TERM: those are the process's
   * (cb_env_for_process), not the record's, nor a committed image's. */
  cleanup_strv char **env = NULL;
  for (char **p = o->env_file; p && *p; p++)
    cb_env_set(&env, *p);
  for (char **p = o->env; p && *p; p++)
    cb_env_set(&env, *p);
  cleanup_strv char **ienv = cb_json_get_strv(icfg, "Env");
  for (char **p = ienv; p && *p; p++) {
    size_t kl = strcspn(*p, "=");
    bool set = false;
    for (char **q = env; q && *q && !set; q++)
      set = !strncmp(*q, *p, kl) && ((*q)[kl] == '=' || !(*q)[kl]);
    if (!set)
      cb_strv_append(&env, *p);
  }

  if (cb_caps_validate(o->cap_add, err) < 0 || cb_caps_validate(o->cap_drop, err) < 0)
    return -1;
  if (check_security_opts(o, err) < 0)
    return -1;
  /* A numeric user or group out of range is refused now; names are checked at start. */
  if (cb_user_check(o->user ? o->user : cb_json_get_str(icfg, "User", ""), err) < 0)
    return -1;

  /* Mounts: everything checked before anything is made. */
  struct mount_plan plan;
  int pr = mount_plan_parse(o, cb_json_get(icfg, "Volumes"), &plan, err);
  if (pr < 0) {
    mount_plan_free(&plan);
    return -1;
  }
  /* Published ports: the image's EXPOSEd ports and -p's, and the bindings. */
  cleanup_json json_object *exposed = sorted_copy(cb_json_get(icfg, "ExposedPorts"));
  cleanup_json json_object *pbind = json_object_new_object();
  for (char **p = o->publish; p && *p; p++)
    if (cb_port_spec_parse(*p, exposed, pbind, err) < 0) {
      mount_plan_free(&plan);
      return -1;
    }
  if (o->net_host && (o->publish || o->publish_all)) {
    fputs("WARNING: Published ports are discarded when using host network mode\n", stderr);
  } else if (socks && cb_ports_bind(pbind, o->publish_all, exposed, socks, err) < 0) {
    /* Bound now, before any of the container exists: a port in use leaves nothing. */
    mount_plan_free(&plan);
    return -1;
  }
  int rc = create_record(ctx, o, img, full, entry, cmd, env, &plan, exposed, pbind, out, err);
  mount_plan_free(&plan);
  return rc;
}

static int create_record(const struct cb_ctx *ctx, const struct create_opts *o,
                         const struct cb_image *img, char **full, char **entry, char **cmd,
                         char **env, struct mount_plan *plan, json_object *exposed,
                         json_object *pbind, struct cb_container **out, cb_error_t *err) {
  json_object *icfg = cb_json_get(img->config, "config");
  /* A volume is never removed between its choice and the record naming it. */
  cleanup_close int vlk = -1;
  if (mount_plan_has_volumes(plan) && (vlk = cb_volumes_lock(ctx, err)) < 0)
    return -1;
  cb_container_sweep(ctx);
  char id[CB_ID_LEN + 1];
  if (cb_random_id(id, err) < 0)
    return -1;
  /* Held until the record is in place: a sweeper knows a .tmp folder with a free lock is
   * a dead create's. */
  cleanup_close int lk = cb_lock(ctx, id, 1, err);
  if (lk < 0)
    return -1;
  cleanup_free char *name =
      o->name ? xstrdup(o->name[0] == '/' ? o->name + 1 : o->name) : cb_name_generate(ctx);
  /* A generated name can be taken by a racing create between generation and
   * reservation: pick another. */
  for (int attempt = 0; cb_name_reserve(ctx, name, id, err) < 0; attempt++) {
    if (o->name || attempt >= 20)
      return -1;
    cb_error_release(err);
    free(name);
    name = cb_name_generate(ctx);
  }

  cleanup_free char *final = cb_container_dir(ctx, id);
  cleanup_free char *tmp = cb_ctx_path(ctx, "containers/.tmp-%s", id);
  int ret = -1;
  json_object *j = NULL;
  if (mkdir(tmp, 0700) < 0) {
    cb_error_sys(err, "create `%s`", tmp);
    goto out;
  }
  {
    cleanup_close int dfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || mkdirat(dfd, "upper", 0755) < 0 || mkdirat(dfd, "work", 0700) < 0 ||
        make_init_layer(dfd, err) < 0) {
      if (!*err)
        cb_error_sys(err, "create the container's folders");
      goto out;
    }
    char hostname[HOST_NAME_MAX + 1];
    if (o->hostname)
      snprintf(hostname, sizeof hostname, "%s", o->hostname);
    else if (o->net_host && gethostname(hostname, sizeof hostname) == 0)
      ;
    else
      snprintf(hostname, sizeof hostname, "%.*s", CB_SHORT_ID_LEN, id);
    cleanup_free char *hn = xasprintf("%s\n", hostname);
    cleanup_free char *hosts =
        o->net_host ? host_file("/etc/hosts", "127.0.0.1\tlocalhost\n")
                    : xasprintf("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost "
                                "ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\n"
                                "ff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n");
    cleanup_free char *resolv = host_file("/etc/resolv.conf", "");
    if (write_text(dfd, "hostname", hn, err) < 0 || write_text(dfd, "hosts", hosts, err) < 0 ||
        write_text(dfd, "resolv.conf", resolv, err) < 0)
      goto out;

    int64_t now = cb_now_ns();
    char created[CB_RFC3339_LEN];
    cb_format_rfc3339nano(now, created);
    j = json_object_new_object();
    cb_json_set_str(j, "Id", id);
    cb_json_set_str(j, "Created", created);
    cb_json_set_str(j, "Path", full[0]);
    cb_json_set_strv(j, "Args", full + 1);
    json_object_object_add(j, "State", json_object_new_object());
    cleanup_free char *imgid = xasprintf("sha256:%s", img->id);
    cb_json_set_str(j, "Image", imgid);
    cleanup_free char *p_resolv = xasprintf("%s/resolv.conf", final);
    cleanup_free char *p_hostname = xasprintf("%s/hostname", final);
    cleanup_free char *p_hosts = xasprintf("%s/hosts", final);
    cleanup_free char *p_log = xasprintf("%s/%s-json.log", final, id);
    cb_json_set_str(j, "ResolvConfPath", p_resolv);
    cb_json_set_str(j, "HostnamePath", p_hostname);
    cb_json_set_str(j, "HostsPath", p_hosts);
    cb_json_set_str(j, "LogPath", p_log);
    cleanup_free char *slashname = xasprintf("/%s", name);
    cb_json_set_str(j, "Name", slashname);
    cb_json_set_int(j, "RestartCount", 0);
    cb_json_set_str(j, "Driver", "overlay2");
    cb_json_set_str(j, "Platform", "linux");

    json_object *mounts = NULL;
    if (mount_plan_make(ctx, plan, img, &mounts, err) < 0)
      goto out;

    json_object *hc = json_object_new_object();
    json_object *binds = plan->binds;
    json_object_object_add(hc, "Binds",
                           json_object_array_length(binds) ? json_object_get(binds) : NULL);
    cb_json_set_str(hc, "NetworkMode", o->net_host ? "host" : "none");
    json_object_object_add(hc, "PortBindings", sorted_copy(pbind));
    cb_json_set_bool(hc, "AutoRemove", o->autoremove);
    cb_json_set_strv(hc, "CapAdd", o->cap_add);
    cb_json_set_strv(hc, "CapDrop", o->cap_drop);
    cb_json_set_bool(hc, "Privileged", false);
    cb_json_set_bool(hc, "PublishAllPorts", o->publish_all);
    cb_json_set_bool(hc, "ReadonlyRootfs", o->read_only);
    cb_json_set_strv(hc, "SecurityOpt", o->security_opts);
    cb_json_set_int(hc, "Memory", o->memory);
    json_object_object_add(hc, "PidsLimit",
                           o->pids_limit > 0 ? json_object_new_int64(o->pids_limit) : NULL);
    if (json_object_array_length(plan->hc_mounts))
      json_object_object_add(hc, "Mounts", json_object_get(plan->hc_mounts));
    json_object_object_add(hc, "Init", o->init ? json_object_new_boolean(1) : NULL);
    json_object *rp = cb_json_obj(hc, "RestartPolicy");
    cb_json_set_str(rp, "Name", "no");
    cb_json_set_int(rp, "MaximumRetryCount", 0);
    json_object_object_add(j, "HostConfig", hc);

    cleanup_strv char **layers = cb_image_layer_dirs(ctx, img);
    cleanup_free char *initdir = xasprintf("%s/init", final);
    size_t ll = strlen(initdir) + 1;
    for (char **p = layers; p && *p; p++)
      ll += strlen(*p) + 1;
    cleanup_free char *lower = xcalloc(ll + 1, 1);
    strcpy(lower, initdir);
    for (char **p = layers; p && *p; p++) {
      strcat(lower, ":");
      strcat(lower, *p);
    }
    json_object *gd = json_object_new_object();
    cb_json_set_str(gd, "Name", "overlay2");
    json_object *gdd = cb_json_obj(gd, "Data");
    cb_json_set_str(gdd, "LowerDir", lower);
    cleanup_free char *upper = xasprintf("%s/upper", final);
    cleanup_free char *work = xasprintf("%s/work", final);
    cleanup_free char *merged = cb_ctx_runpath(ctx, "%s/rootfs", id);
    cb_json_set_str(gdd, "MergedDir", merged);
    cb_json_set_str(gdd, "UpperDir", upper);
    cb_json_set_str(gdd, "WorkDir", work);
    json_object_object_add(j, "GraphDriver", gd);
    json_object_object_add(j, "Mounts", mounts);
    json_object_object_add(j, "NetworkSettings", network_settings(o->net_host));

    json_object *cfg = json_object_new_object();
    cb_json_set_str(cfg, "Hostname", hostname);
    cb_json_set_str(cfg, "Domainname", "");
    cb_json_set_str(cfg, "User", o->user ? o->user : cb_json_get_str(icfg, "User", ""));
    cb_json_set_bool(cfg, "AttachStdin", o->interactive && !o->detach);
    cb_json_set_bool(cfg, "AttachStdout", !o->detach);
    cb_json_set_bool(cfg, "AttachStderr", !o->detach);
    if (json_object_object_length(exposed))
      json_object_object_add(cfg, "ExposedPorts", sorted_copy(exposed));
    cb_json_set_bool(cfg, "Tty", o->tty);
    cb_json_set_bool(cfg, "OpenStdin", o->interactive);
    cb_json_set_bool(cfg, "StdinOnce", o->interactive && !o->detach);
    cb_json_set_strv(cfg, "Env", env);
    cb_json_set_strv(cfg, "Cmd", cmd);
    /* The image's HEALTHCHECK is the container's, as in Docker. */
    json_object *health = cb_json_get(icfg, "Healthcheck");
    if (json_object_is_type(health, json_type_object))
      json_object_object_add(cfg, "Healthcheck", json_object_get(health));
    cb_json_set_str(cfg, "Image", o->image);
    json_object_object_add(cfg, "Volumes",
                           json_object_object_length(plan->volumes) ? sorted_copy(plan->volumes)
                                                                    : NULL);
    cb_json_set_str(cfg, "WorkingDir",
                    o->workdir ? o->workdir : cb_json_get_str(icfg, "WorkingDir", ""));
    cb_json_set_strv(cfg, "Entrypoint", entry);
    json_object_object_add(cfg, "OnBuild", NULL);
    json_object_object_add(cfg, "Labels", sorted_copy(cb_json_get(icfg, "Labels")));
    const char *isig = cb_json_get_str(icfg, "StopSignal", NULL);
    if (o->stop_signal || isig)
      cb_json_set_str(cfg, "StopSignal", o->stop_signal ? o->stop_signal : isig);
    if (o->stop_timeout >= 0)
      cb_json_set_int(cfg, "StopTimeout", o->stop_timeout);
    json_object_object_add(j, "Config", cfg);

    json_object *cb = cb_json_obj(j, "Crowbar");
    cb_json_set_int(cb, "CreatedNs", now);
    cb_json_set_str(cb, "ImageRef", o->image);
    if (o->detach_keys)
      cb_json_set_str(cb, "DetachKeys", o->detach_keys);
    if (plan->anonymous)
      cb_json_set_strv(cb, "AnonymousVolumes", plan->anonymous);

    struct cb_container *c = xcalloc(1, sizeof *c);
    memcpy(c->id, id, sizeof c->id);
    c->name = xstrdup(name);
    c->created_ns = now;
    c->json = j;
    j = NULL;
    c->state.status = CB_STATUS_CREATED;
    /* Write the record into the temporary folder, then make the whole folder appear. */
    if (cb_container_write_new(c, tmp, err) < 0) {
      cb_container_free(c);
      goto out;
    }
    if (rename(tmp, final) < 0) {
      cb_error_sys(err, "create `%s`", final);
      cb_container_free(c);
      goto out;
    }
    *out = c;
    ret = 0;
  }
out:
  if (j)
    json_object_put(j);
  if (ret < 0) {
    cb_error_t e2 = NULL;
    if (cb_rm_rf(tmp, &e2) < 0)
      cb_error_release(&e2);
    cb_name_release(ctx, name, id);
    mount_plan_undo(ctx, plan);
  }
  return ret;
}
