/* SPDX-License-Identifier: GPL-2.0-or-later */
/* crowbar volume: create, ls, inspect, rm and prune volumes, as `docker volume` does. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crowbar/cleanup.h"
#include "crowbar/format.h"
#include "crowbar/json.h"
#include "crowbar/output.h"
#include "crowbar/template.h"
#include "crowbar/verb.h"
#include "crowbar/volume.h"
#include "engine.h"

CB_VERB(volume, "Manage volumes");

static void usage(FILE *out) {
  fputs("Usage: crowbar volume COMMAND\n\n"
        "Manage volumes ($CROWBAR_ROOT/volumes/NAME/_data).\n\n"
        "Commands:\n"
        "  create [--label K=V] [NAME]       create a volume (no NAME: a random one) and\n"
        "                                    print its name\n"
        "  ls [-q] [--format TEMPLATE]       list volumes (columns DRIVER, VOLUME NAME)\n"
        "  inspect [-f TEMPLATE] NAME...     show volumes as a JSON array\n"
        "  rm [-f] NAME...                   remove volumes no container uses\n"
        "  prune [-f]                        remove every volume no container uses\n\n"
        "Options:\n"
        "  -d, --driver NAME       the driver (only \"local\")\n"
        "  -f, --force             rm: no error for a missing volume; prune: no prompt\n"
        "      --format TEMPLATE   ls: a Go template ('table', 'json', {{.Name}}...);\n"
        "  -f, --format TEMPLATE   inspect: a Go template\n"
        "      --label K=V         create: a label of the volume\n"
        "  -q, --quiet             ls: names only\n"
        "  -h, --help              show this help\n\n"
        "See crowbar-volume(1).\n",
        out);
}

enum { OPT_FORMAT = CHAR_MAX + 1, OPT_LABEL };

static const struct option longopts[] = {
    {"driver", required_argument, NULL, 'd'},
    {"force", no_argument, NULL, 'f'},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"label", required_argument, NULL, OPT_LABEL},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

struct vopts {
  bool force, quiet;
  const char *format;
  json_object *labels;
};

/* Options of a subcommand: "-f" is --force for rm and prune, --format for inspect. */
static int parse(const char *sub, int argc, char **argv, struct vopts *o) {
  bool f_is_format = !strcmp(sub, "inspect");
  int c;
  optind = 1;
  opterr = 0;
  while ((c = cb_getopt_long(argc, argv, f_is_format ? ":d:f:qh" : ":d:fqh", longopts, NULL)) !=
         -1) {
    switch (c) {
    case 'd':
      if (strcmp(optarg, "local")) {
        fprintf(stderr, "Error: plugin \"%s\" not found (crowbar has the local driver)\n", optarg);
        return -1;
      }
      break;
    case 'f':
      if (f_is_format)
        o->format = optarg;
      else
        o->force = true;
      break;
    case OPT_FORMAT: o->format = optarg; break;
    case OPT_LABEL: {
      if (!o->labels)
        o->labels = json_object_new_object();
      const char *eq = strchr(optarg, '=');
      cleanup_free char *k = eq ? strndup(optarg, (size_t)(eq - optarg)) : xstrdup(optarg);
      cb_json_set_str(o->labels, k, eq ? eq + 1 : "");
      break;
    }
    case 'q': o->quiet = true; break;
    case 'h': usage(stdout); return 1;
    default: {
      char verb[32];
      snprintf(verb, sizeof verb, "volume %s", sub);
      return -cb_opt_error(verb, argv, c); /* -125: Docker's status for a flag error */
    }
    }
  }
  return 0;
}

static int do_create(const struct cb_ctx *ctx, int argc, char **argv, struct vopts *o,
                     cb_error_t *err) {
  if (argc - optind > 1) {
    return cb_error_make(err, 0,
                         "\"crowbar volume create\" requires at most 1 argument.\nSee "
                         "'crowbar volume create --help'.");
  }
  char rnd[CB_ID_LEN + 1];
  const char *name = optind < argc ? argv[optind] : rnd;
  if (optind >= argc && cb_random_id(rnd, err) < 0)
    return -1;
  cleanup_close int lk = cb_volumes_lock(ctx, err);
  if (lk < 0)
    return -1;
  bool created;
  cleanup_json json_object *empty = json_object_new_object();
  if (cb_volume_ensure(ctx, name, o->labels ? o->labels : empty, empty, &created, err) < 0)
    return -1;
  printf("%s\n", name);
  return 0;
}

static int do_ls(const struct cb_ctx *ctx, int argc, char **argv, struct vopts *o,
                 cb_error_t *err) {
  if (optind < argc)
    return cb_error_make(err, 0,
                         "\"crowbar volume ls\" accepts no arguments.\nSee 'crowbar "
                         "volume ls --help'.");
  cleanup_strv char **names = NULL;
  if (cb_volume_list(ctx, &names, err) < 0)
    return -1;
  cleanup_output struct cb_output *out = NULL;
  if (cb_output_new(o->quiet ? "{{.Name}}" : o->format, "table {{.Driver}}\\t{{.Name}}", &out,
                    err) < 0)
    return -1;
  for (char **n = names; *n; n++) {
    cleanup_json json_object *v = cb_volume_inspect(ctx, *n, err);
    if (!v) {
      cb_error_release(err);
      continue;
    }
    /* volumeContext's fields, keys in alphabetical order. */
    cleanup_json json_object *row = json_object_new_object();
    json_object *labels = cb_json_get(v, "Labels");
    cleanup_free char *ltext = xstrdup("");
    if (labels && json_object_is_type(labels, json_type_object)) {
      json_object_object_foreach(labels, k, val) {
        char *t = xasprintf("%s%s%s=%s", ltext, *ltext ? "," : "", k,
                            json_object_get_string(val) ? json_object_get_string(val) : "");
        free(ltext);
        ltext = t;
      }
    }
    cb_json_set_str(row, "Availability", "N/A");
    cb_json_set_str(row, "Driver", "local");
    cb_json_set_str(row, "Group", "N/A");
    cb_json_set_str(row, "Labels", ltext);
    cb_json_set_str(row, "Links", "N/A");
    cb_json_set_str(row, "Mountpoint", cb_json_get_str(v, "Mountpoint", ""));
    cb_json_set_str(row, "Name", *n);
    cb_json_set_str(row, "Scope", "local");
    cb_json_set_str(row, "Size", "N/A");
    cb_json_set_str(row, "Status", "N/A");
    if (cb_output_add(out, row, err) < 0)
      return -1;
  }
  cleanup_json json_object *h = json_object_new_object();
  static const char *const titles[][2] = {
      {"Availability", "AVAILABILITY"},
      {"Driver", "DRIVER"},
      {"Group", "GROUP"},
      {"Labels", "LABELS"},
      {"Links", "LINKS"},
      {"Mountpoint", "MOUNTPOINT"},
      {"Name", "VOLUME NAME"},
      {"Scope", "SCOPE"},
      {"Size", "SIZE"},
      {"Status", "STATUS"},
  };
  for (size_t i = 0; i < sizeof titles / sizeof titles[0]; i++)
    cb_json_set_str(h, titles[i][0], titles[i][1]);
  return cb_output_flush(out, h, stdout, err);
}

static int do_inspect(const struct cb_ctx *ctx, int argc, char **argv, struct vopts *o,
                      cb_error_t *err) {
  if (optind >= argc)
    return cb_error_make(err, 0,
                         "\"crowbar volume inspect\" requires at least 1 argument.\nSee "
                         "'crowbar volume inspect --help'.");
  struct cb_template *tmpl = NULL;
  if (o->format && *o->format &&
      cb_template_parse(!strcmp(o->format, "json") ? "{{json .}}" : o->format, &tmpl, err) < 0)
    return -1;
  cleanup_json json_object *all = json_object_new_array();
  cleanup_strv char **errors = NULL;
  for (int i = optind; i < argc; i++) {
    json_object *v = cb_volume_inspect(ctx, argv[i], err);
    if (!v) {
      cb_strv_append(&errors, cb_error_text(*err));
      cb_error_release(err);
      continue;
    }
    if (!tmpl) {
      json_object_array_add(all, v);
      continue;
    }
    char *s = NULL;
    if (cb_template_exec(tmpl, v, &s, err) < 0) {
      cb_strv_append(&errors, cb_error_text(*err));
      cb_error_release(err);
    } else {
      printf("%s\n", s);
      free(s);
    }
    json_object_put(v);
  }
  if (!tmpl) {
    char *s = cb_json_go_string(all, 4);
    printf("%s\n", s);
    free(s);
  }
  cb_template_free(tmpl);
  if (!errors)
    return 0;
  fflush(stdout);
  for (char **e = errors; e[1]; e++)
    fprintf(stderr, "Error: %s\n", *e);
  return cb_error_make(err, 0, "%s", errors[cb_strv_len(errors) - 1]);
}

static int do_rm(const struct cb_ctx *ctx, int argc, char **argv, struct vopts *o,
                 cb_error_t *err) {
  if (optind >= argc)
    return cb_error_make(err, 0,
                         "\"crowbar volume rm\" requires at least 1 argument.\nSee "
                         "'crowbar volume rm --help'.");
  cleanup_close int lk = cb_volumes_lock(ctx, err);
  if (lk < 0)
    return -1;
  int failed = 0;
  for (int i = optind; i < argc; i++) {
    /* --force: a missing volume is no error. */
    if (o->force && !cb_volume_exists(ctx, argv[i]))
      continue;
    cb_error_t e = NULL;
    if (cb_volume_remove(ctx, argv[i], NULL, &e) < 0) {
      fflush(stdout);
      cb_error_print(&e);
      failed = 1;
      continue;
    }
    printf("%s\n", argv[i]);
  }
  if (failed) {
    cb_error_make(err, 0, "%s", "");
    return -2; /* said already */
  }
  return 0;
}

static int do_prune(const struct cb_ctx *ctx, int argc, char **argv, struct vopts *o,
                    cb_error_t *err) {
  if (optind < argc)
    return cb_error_make(err, 0,
                         "\"crowbar volume prune\" accepts no arguments.\nSee 'crowbar "
                         "volume prune --help'.");
  if (!o->force) {
    fputs("WARNING! This will remove all local volumes not used by at least one container.\n"
          "Are you sure you want to continue? [y/N] ",
          stdout);
    fflush(stdout);
    char answer[16] = "";
    if (!fgets(answer, sizeof answer, stdin) || (answer[0] != 'y' && answer[0] != 'Y'))
      return 0;
  }
  cleanup_close int lk = cb_volumes_lock(ctx, err);
  if (lk < 0)
    return -1;
  cleanup_strv char **names = NULL;
  if (cb_volume_list(ctx, &names, err) < 0)
    return -1;
  long long total = 0;
  bool any = false;
  for (char **n = names; *n; n++) {
    long long bytes = 0;
    cb_error_t e = NULL;
    if (cb_volume_remove(ctx, *n, &bytes, &e) < 0) {
      cb_error_release(&e);
      continue;
    }
    if (!any)
      printf("Deleted Volumes:\n");
    any = true;
    printf("%s\n", *n);
    total += bytes;
  }
  if (any)
    printf("\n");
  cleanup_free char *size = cb_human_size((double)total);
  printf("Total reclaimed space: %s\n", size);
  return 0;
}

int cmd_volume(int argc, char **argv) {
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 1 : (cb_close_stdout() < 0 ? 1 : 0);
  }
  const char *sub = argv[1];
  if (sub[0] == '-') {
    fprintf(stderr, "Error: unknown flag: %.*s\nSee 'crowbar volume --help'.\n",
            (int)strcspn(sub, "="), sub);
    return 125;
  }
  static const struct {
    const char *name, *alias;
    int (*fn)(const struct cb_ctx *, int, char **, struct vopts *, cb_error_t *);
  } subs[] = {
      {"create", NULL, do_create}, {"ls", "list", do_ls},     {"inspect", NULL, do_inspect},
      {"rm", "remove", do_rm},     {"prune", NULL, do_prune},
  };
  size_t k = 0;
  while (k < sizeof subs / sizeof subs[0] && strcmp(sub, subs[k].name) &&
         !(subs[k].alias && !strcmp(sub, subs[k].alias)))
    k++;
  if (k == sizeof subs / sizeof subs[0]) {
    fprintf(stderr,
            "Error: unknown command \"%s\" for \"crowbar volume\"\nSee 'crowbar volume "
            "--help'.\n",
            sub);
    return 1;
  }
  struct vopts o = {0};
  int r = parse(subs[k].name, argc - 1, argv + 1, &o);
  if (r != 0) {
    if (o.labels)
      json_object_put(o.labels);
    return r > 0 ? (cb_close_stdout() < 0 ? 1 : 0) : r == -125 ? 125 : 1;
  }
  struct cb_ctx ctx;
  cb_error_t err = NULL;
  int ret = 0;
  if (engine_ctx(&ctx, argv[0], &err) < 0) {
    cb_error_print(&err);
    ret = 1;
  } else {
    int rc = subs[k].fn(&ctx, argc - 1, argv + 1, &o, &err);
    if (rc == -2)
      cb_error_release(&err);
    else if (rc < 0)
      cb_error_print(&err);
    ret = rc < 0 ? 1 : 0;
    cb_ctx_release(&ctx);
  }
  if (o.labels)
    json_object_put(o.labels);
  if (cb_close_stdout() < 0)
    ret = 1;
  return ret;
}
