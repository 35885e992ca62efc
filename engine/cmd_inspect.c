/* SPDX-License-Identifier: GPL-2.0-or-later */
/* crowbar inspect: the records of containers and images, as `docker inspect` prints them. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crowbar/cleanup.h"
#include "crowbar/container.h"
#include "crowbar/dockertypes.h"
#include "crowbar/du.h"
#include "crowbar/format.h"
#include "crowbar/image.h"
#include "crowbar/json.h"
#include "crowbar/template.h"
#include "crowbar/verb.h"

CB_VERB(inspect, "Show the low-level record of containers or images");

static void usage(FILE *out) {
  fputs("Usage: crowbar inspect [OPTIONS] NAME [NAME...]\n\n"
        "Show the records of containers or images as a JSON array, or through a template.\n\n"
        "Options:\n"
        "  -f, --format TEMPLATE  print each object through a Go template ('json' for one\n"
        "                         compact line each)\n"
        "  -s, --size             add a container's SizeRw and SizeRootFs\n"
        "      --type TYPE        only look for a container or an image\n"
        "  -h, --help             show this help\n\n"
        "See crowbar-inspect(1).\n",
        out);
}

enum kind { ANY, CONTAINER, IMAGE };

/* Docker's fields that crowbar's records leave out, with the values Docker shows for a
 * container of crowbar's kind (no logging driver but json-file, no DNS options, its own
 * IPC and cgroup namespaces, Docker's masked and read-only paths, its 64 MiB /dev/shm;
 * no Runtime: crowbar's is no runc). A record's own value
 * wins; keys the record has and this list has not keep their place after these. */
static const char host_config_defaults[] =
    "{\"Binds\":null,\"ContainerIDFile\":\"\",\"LogConfig\":{\"Type\":\"json-file\",\"Config\":{}},"
    "\"NetworkMode\":\"none\",\"PortBindings\":{},\"RestartPolicy\":{\"Name\":\"no\","
    "\"MaximumRetryCount\":0},\"AutoRemove\":false,\"VolumeDriver\":\"\",\"VolumesFrom\":null,"
    "\"CapAdd\":null,\"CapDrop\":null,\"CgroupnsMode\":\"private\",\"Dns\":[],\"DnsOptions\":[],"
    "\"DnsSearch\":[],\"ExtraHosts\":null,\"GroupAdd\":null,\"IpcMode\":\"private\","
    "\"Cgroup\":\"\",\"Links\":null,\"OomScoreAdj\":0,\"PidMode\":\"\",\"Privileged\":false,"
    "\"PublishAllPorts\":false,\"ReadonlyRootfs\":false,\"SecurityOpt\":null,\"UTSMode\":\"\","
    "\"UsernsMode\":\"\",\"ShmSize\":67108864,\"ConsoleSize\":[0,0],\"Isolation\":\"\","
    "\"CpuShares\":0,\"Memory\":0,\"NanoCpus\":0,"
    "\"CgroupParent\":\"\",\"BlkioWeight\":0,\"BlkioWeightDevice\":[],\"BlkioDeviceReadBps\":[],"
    "\"BlkioDeviceWriteBps\":[],\"BlkioDeviceReadIOps\":[],\"BlkioDeviceWriteIOps\":[],"
    "\"CpuPeriod\":0,\"CpuQuota\":0,\"CpuRealtimePeriod\":0,\"CpuRealtimeRuntime\":0,"
    "\"CpusetCpus\":\"\",\"CpusetMems\":\"\",\"Devices\":[],\"DeviceCgroupRules\":null,"
    "\"DeviceRequests\":null,\"KernelMemory\":0,\"KernelMemoryTCP\":0,\"MemoryReservation\":0,"
    "\"MemorySwap\":0,\"MemorySwappiness\":null,\"OomKillDisable\":false,\"PidsLimit\":null,"
    "\"Ulimits\":[],\"CpuCount\":0,\"CpuPercent\":0,\"IOMaximumIOps\":0,\"IOMaximumBandwidth\":0,"
    "\"MaskedPaths\":[\"/proc/asound\",\"/proc/acpi\",\"/proc/kcore\",\"/proc/keys\","
    "\"/proc/latency_stats\",\"/proc/timer_list\",\"/proc/timer_stats\",\"/proc/sched_debug\","
    "\"/proc/scsi\",\"/sys/firmware\"],\"ReadonlyPaths\":[\"/proc/bus\",\"/proc/fs\","
    "\"/proc/irq\",\"/proc/sys\",\"/proc/sysrq-trigger\"]}";

/* The keys of defaults in their order, each with the record's value when it has one, then
 * the record's other keys (but drop_null's when null: Docker omits it). */
static json_object *merge_ordered(json_object *rec, const char *defaults, const char *drop_null) {
  json_object *d = json_tokener_parse(defaults);
  json_object *o = json_object_new_object();
  json_object_object_foreach(d, k, v) {
    json_object *rv;
    if (json_object_is_type(rec, json_type_object) && json_object_object_get_ex(rec, k, &rv))
      json_object_object_add(o, k, json_object_get(rv));
    else
      json_object_object_add(o, k, json_object_get(v));
  }
  if (json_object_is_type(rec, json_type_object)) {
    json_object_object_foreach(rec, rk, rv) {
      if (json_object_object_get_ex(o, rk, NULL))
        continue;
      if (!rv && drop_null && !strcmp(drop_null, rk))
        continue;
      json_object_object_add(o, rk, json_object_get(rv));
    }
  }
  json_object_put(d);
  return o;
}

/* NetworkSettings for a container with no network of its own to show (none) or the
 * host's: Docker's object, with the one network it is attached to (records made before
 * create wrote it get it here). Published ports are the record's, while the container
 * runs: Docker forgets them at the stop. */
static json_object *network_settings(json_object *rec, bool running) {
  static const char base[] =
      "{\"Bridge\":\"\",\"SandboxID\":\"\",\"HairpinMode\":false,\"LinkLocalIPv6Address\":\"\","
      "\"LinkLocalIPv6PrefixLen\":0,\"Ports\":{},\"SandboxKey\":\"\","
      "\"SecondaryIPAddresses\":null,\"SecondaryIPv6Addresses\":null,\"EndpointID\":\"\","
      "\"Gateway\":\"\",\"GlobalIPv6Address\":\"\",\"GlobalIPv6PrefixLen\":0,\"IPAddress\":\"\","
      "\"IPPrefixLen\":0,\"IPv6Gateway\":\"\",\"MacAddress\":\"\",\"Networks\":{}}";
  static const char endpoint[] =
      "{\"IPAMConfig\":null,\"Links\":null,\"Aliases\":null,\"NetworkID\":\"\","
      "\"EndpointID\":\"\",\"Gateway\":\"\",\"IPAddress\":\"\",\"IPPrefixLen\":0,"
      "\"IPv6Gateway\":\"\",\"GlobalIPv6Address\":\"\",\"GlobalIPv6PrefixLen\":0,"
      "\"MacAddress\":\"\",\"DriverOpts\":null}";
  json_object *ns = merge_ordered(cb_json_get(rec, "NetworkSettings"), base, NULL);
  json_object *nets = cb_json_get(ns, "Networks");
  if (json_object_is_type(nets, json_type_object) && !json_object_object_length(nets)) {
    const char *mode = cb_json_get_str(rec, "HostConfig.NetworkMode", "none");
    json_object_object_add(nets, !strcmp(mode, "host") ? "host" : "none",
                           json_tokener_parse(endpoint));
  }
  if (!running)
    json_object_object_add(ns, "Ports", json_object_new_object());
  return ns;
}

/* Config as Docker's container.Config: its fields in its order; the image's EXPOSE was
 * merged at create (older records: here). */
static json_object *config_public(json_object *cfg) {
  static const char order[] =
      "{\"Hostname\":\"\",\"Domainname\":\"\",\"User\":\"\",\"AttachStdin\":false,"
      "\"AttachStdout\":false,\"AttachStderr\":false,\"ExposedPorts\":null,\"Tty\":false,"
      "\"OpenStdin\":false,\"StdinOnce\":false,\"Env\":null,\"Cmd\":null,\"Healthcheck\":null,"
      "\"Image\":\"\",\"Volumes\":null,\"WorkingDir\":\"\",\"Entrypoint\":null,\"OnBuild\":null,"
      "\"Labels\":null}";
  json_object *o = merge_ordered(cfg, order, NULL);
  /* omitempty in Docker's struct */
  json_object *v;
  if (json_object_object_get_ex(o, "ExposedPorts", &v) && !v)
    json_object_object_del(o, "ExposedPorts");
  if (json_object_object_get_ex(o, "Healthcheck", &v) && !v)
    json_object_object_del(o, "Healthcheck");
  return o;
}

/* Mounts with Docker's Driver of a volume ("local"), after its Destination. */
static json_object *mounts_public(json_object *mounts) {
  if (!json_object_is_type(mounts, json_type_array))
    return json_object_get(mounts);
  json_object *a = json_object_new_array();
  for (size_t i = 0; i < json_object_array_length(mounts); i++) {
    json_object *m = json_object_array_get_idx(mounts, i);
    if (!json_object_is_type(m, json_type_object) ||
        strcmp(cb_json_get_str(m, "Type", ""), "volume") ||
        json_object_object_get_ex(m, "Driver", NULL)) {
      json_object_array_add(a, json_object_get(m));
      continue;
    }
    json_object *o = json_object_new_object();
    json_object_object_foreach(m, k, v) {
      json_object_object_add(o, k, json_object_get(v));
      if (!strcmp(k, "Destination"))
        cb_json_set_str(o, "Driver", "local");
    }
    json_object_array_add(a, o);
  }
  return a;
}

/* The container's record as docker inspect shows it: Docker's fields in Docker's order,
 * without the engine's private "Crowbar" object; with sizes (-s) SizeRw and SizeRootFs. */
static json_object *container_public(const struct cb_ctx *ctx, const struct cb_container *c,
                                     bool sizes, cb_error_t *err) {
  static const char *const order[] = {
      "Id",           "Created",         "Path",         "Args",       "State",
      "Image",        "ResolvConfPath",  "HostnamePath", "HostsPath",  "LogPath",
      "Name",         "RestartCount",    "Driver",       "Platform",   "MountLabel",
      "ProcessLabel", "AppArmorProfile", "ExecIDs",      "HostConfig", "GraphDriver",
      "SizeRw",       "SizeRootFs",      "Mounts",       "Config",     "NetworkSettings",
  };
  json_object *rec = c->json;
  int64_t rw = 0, rootfs = 0;
  if (sizes && cb_container_sizes(ctx, c, &rw, &rootfs, err) < 0)
    return NULL;
  json_object *o = json_object_new_object();
  for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
    const char *k = order[i];
    json_object *v = NULL;
    bool has = json_object_object_get_ex(rec, k, &v);
    if (!strcmp(k, "MountLabel") || !strcmp(k, "ProcessLabel") || !strcmp(k, "AppArmorProfile"))
      json_object_object_add(o, k, has ? json_object_get(v) : json_object_new_string(""));
    else if (!strcmp(k, "ExecIDs"))
      json_object_object_add(o, k, has ? json_object_get(v) : NULL);
    else if (!strcmp(k, "HostConfig"))
      json_object_object_add(o, k, merge_ordered(v, host_config_defaults, "Init"));
    else if (!strcmp(k, "SizeRw")) {
      if (sizes)
        cb_json_set_int(o, k, rw);
    } else if (!strcmp(k, "SizeRootFs")) {
      if (sizes)
        cb_json_set_int(o, k, rootfs);
    } else if (!strcmp(k, "GraphDriver"))
      json_object_object_add(o, k, merge_ordered(v, "{\"Data\":null,\"Name\":\"\"}", NULL));
    else if (!strcmp(k, "Mounts"))
      json_object_object_add(o, k, has ? mounts_public(v) : json_object_new_array());
    else if (!strcmp(k, "Config"))
      json_object_object_add(o, k, config_public(v));
    else if (!strcmp(k, "NetworkSettings"))
      json_object_object_add(o, k, network_settings(rec, cb_container_is_running(c)));
    else if (has)
      json_object_object_add(o, k, json_object_get(v));
  }
  json_object_object_foreach(rec, k, v) {
    if (strcmp(k, "Crowbar") && !json_object_object_get_ex(o, k, NULL))
      json_object_object_add(o, k, json_object_get(v));
  }
  return o;
}

static json_object *str_or_empty(json_object *cfg, const char *key) {
  return json_object_new_string(cb_json_get_str(cfg, key, ""));
}

/* An image as `docker image inspect` shows it. */
static json_object *image_public(const struct cb_ctx *ctx, const struct cb_image *img) {
  json_object *o = json_object_new_object(), *cfg = img->config;
  char id[CB_ID_LEN + 8], created[CB_RFC3339_LEN];
  snprintf(id, sizeof id, "sha256:%s", img->id);
  cb_json_set_str(o, "Id", id);
  json_object_object_add(o, "RepoTags", cb_json_strv(img->tags));
  if (!img->tags)
    json_object_object_add(o, "RepoTags", json_object_new_array());
  json_object_object_add(o, "RepoDigests", json_object_new_array());
  cb_json_set_str(o, "Parent", "");
  /* The comment: the config's own, else the last history entry's ("Imported from -"). */
  const char *comment = cb_json_get_str(cfg, "comment", NULL);
  json_object *hist = cb_json_get(cfg, "history");
  if (!comment && hist && json_object_is_type(hist, json_type_array) &&
      json_object_array_length(hist))
    comment = cb_json_get_str(json_object_array_get_idx(hist, json_object_array_length(hist) - 1),
                              "comment", NULL);
  cb_json_set_str(o, "Comment", comment ? comment : "");
  cb_format_rfc3339nano(img->created_ns, created);
  cb_json_set_str(o, "Created", cb_json_get_str(cfg, "created", created));
  json_object_object_add(o, "Container", str_or_empty(cfg, "container"));
  json_object_object_add(o, "ContainerConfig", config_public(cb_json_get(cfg, "container_config")));
  json_object_object_add(o, "DockerVersion", str_or_empty(cfg, "docker_version"));
  json_object_object_add(o, "Author", str_or_empty(cfg, "author"));
  json_object_object_add(o, "Config", config_public(cb_json_get(cfg, "config")));
  json_object_object_add(o, "Architecture", str_or_empty(cfg, "architecture"));
  if (cb_json_get_str(cfg, "variant", NULL))
    json_object_object_add(o, "Variant", str_or_empty(cfg, "variant"));
  json_object_object_add(o, "Os", str_or_empty(cfg, "os"));
  cb_json_set_int(o, "Size", img->size);
  cb_json_set_int(o, "VirtualSize", img->size);
  json_object *gd = json_object_new_object(), *data = json_object_new_object();
  char **dirs = cb_image_layer_dirs(ctx, img); /* top layer first */
  if (dirs && dirs[0]) {
    size_t n = cb_strv_len(dirs), len = 1;
    for (size_t i = 1; i < n; i++)
      len += strlen(dirs[i]) + 1;
    cleanup_free char *lower = xcalloc(len, 1);
    for (size_t i = 1; i < n; i++) {
      if (i > 1)
        strcat(lower, ":");
      strcat(lower, dirs[i]);
    }
    if (n > 1)
      cb_json_set_str(data, "LowerDir", lower);
    cb_json_set_str(data, "UpperDir", dirs[0]);
  }
  cb_strv_free(dirs);
  json_object_object_add(gd, "Data", data);
  cb_json_set_str(gd, "Name", "overlay2");
  json_object_object_add(o, "GraphDriver", gd);
  json_object *rootfs = json_object_new_object();
  cb_json_set_str(rootfs, "Type", "layers");
  json_object_object_add(rootfs, "Layers",
                         img->diff_ids ? cb_json_strv(img->diff_ids) : json_object_new_array());
  json_object_object_add(o, "RootFS", rootfs);
  json_object *meta = json_object_new_object();
  cb_json_set_str(meta, "LastTagTime", "0001-01-01T00:00:00Z");
  json_object_object_add(o, "Metadata", meta);
  return o;
}

static bool not_found(cb_error_t err) {
  return err && strstr(cb_error_text(err), "No such");
}

/* Find NAME as a container and/or an image; NULL with err when it is neither. *found
 * says which. */
static json_object *lookup(const struct cb_ctx *ctx, const char *name, enum kind kind, bool sizes,
                           enum kind *found, cb_error_t *err) {
  if (kind != IMAGE) {
    struct cb_container *c = NULL;
    if (cb_container_locate(ctx, name, &c, err) == 0) {
      json_object *o = container_public(ctx, c, sizes, err);
      cb_container_free(c);
      *found = CONTAINER;
      return o;
    }
    if (kind == CONTAINER || !not_found(*err))
      return NULL;
    cb_error_release(err);
  }
  struct cb_image *img = NULL;
  if (cb_image_locate(ctx, name, &img, err) == 0) {
    json_object *o = image_public(ctx, img);
    *found = IMAGE;
    cb_image_free(img);
    return o;
  }
  if (not_found(*err)) {
    /* Docker names the argument as given ("No such image: x", not "x:latest"). */
    cb_error_release(err);
    cb_error_make(err, 0, "No such %s: %s", kind == ANY ? "object" : "image", name);
  }
  return NULL;
}

int cmd_inspect(int argc, char **argv) {
  enum { OPT_TYPE = CHAR_MAX + 1 };
  static const struct option longopts[] = {
      {"format", required_argument, NULL, 'f'},
      {"type", required_argument, NULL, OPT_TYPE},
      {"size", no_argument, NULL, 's'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  const char *format = NULL;
  enum kind kind = ANY;
  bool sizes = false;
  int c;
  opterr = 0;
  while ((c = cb_getopt_long(argc, argv, ":f:hs", longopts, NULL)) != -1) {
    switch (c) {
    case 'f': format = optarg; break;
    case 's': sizes = true; break;
    case OPT_TYPE:
      if (!strcmp(optarg, "container"))
        kind = CONTAINER;
      else if (!strcmp(optarg, "image"))
        kind = IMAGE;
      else {
        fprintf(stderr, "Error: \"%s\" is not a valid value for --type (container or image)\n",
                optarg);
        fprintf(stderr, "See 'crowbar inspect --help'.\n");
        return 1;
      }
      break;
    case 'h': usage(stdout); return cb_close_stdout() < 0 ? 1 : 0;
    default: return cb_opt_error("inspect", argv, c);
    }
  }
  if (optind >= argc) {
    fprintf(stderr, "Error: \"crowbar inspect\" requires at least 1 argument.\n"
                    "See 'crowbar inspect --help'.\n");
    return 1;
  }
  cb_error_t err = NULL;
  struct cb_template *tmpl = NULL;
  if (format && *format) {
    /* Docker's inspect: "Template parsing error: ...", status 64 (EX_USAGE). */
    if (cb_template_parse(!strcmp(format, "json") ? "{{json .}}" : format, &tmpl, &err) < 0) {
      cb_error_wrap(&err, "Template parsing error");
      cb_error_print(&err);
      return 64;
    }
  }
  struct cb_ctx ctx;
  if (cb_require_root(&err) < 0 || cb_ctx_init(&ctx, argv[0], 0, &err) < 0) {
    cb_error_print(&err);
    cb_template_free(tmpl);
    return 1;
  }
  int ret = 0;
  json_object *all = json_object_new_array();
  char **errors = NULL;
  for (int i = optind; i < argc; i++) {
    enum kind found = ANY;
    json_object *o = lookup(&ctx, argv[i], kind, sizes, &found, &err);
    if (!o) {
      cb_strv_append(&errors, cb_error_text(err));
      cb_error_release(&err);
      ret = 1;
      continue;
    }
    if (!tmpl) {
      json_object_array_add(all, o);
      continue;
    }
    char *out = NULL;
    /* As docker inspect: against Docker's types, so that empty values print as Go
     * prints them ([] for a nil slice, <nil> for SizeRw without -s). */
    if (cb_template_exec_typed(tmpl, o, found == IMAGE ? &cb_docker_image : &cb_docker_container,
                               &out, &err) < 0) {
      cb_strv_append(&errors, cb_error_text(err));
      cb_error_release(&err);
      ret = 1;
    } else {
      printf("%s\n", out);
      free(out);
    }
    json_object_put(o);
  }
  if (!tmpl) {
    char *s = cb_json_go_string(all, 4);
    printf("%s\n", s);
    free(s);
  }
  json_object_put(all);
  cb_template_free(tmpl);
  cb_ctx_release(&ctx);
  if (cb_close_stdout() < 0)
    ret = 1;
  for (char **e = errors; e && *e; e++)
    fprintf(stderr, "Error: %s\n", *e);
  cb_strv_free(errors);
  return ret;
}
