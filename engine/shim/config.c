/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdlib.h>
#include <string.h>

#include "crowbar/json.h"
#include "crowbar/lookpath.h"
#include "crowbar/seccomp.h"
#include "shim.h"

static char *dupstr(json_object *j, const char *path, const char *def) {
  const char *s = cb_json_get_str(j, path, def);
  return s ? xstrdup(s) : NULL;
}

int shim_config_load(struct cb_container *c, struct shim_config *cfg, cb_error_t *err) {
  json_object *j = c->json;
  memset(cfg, 0, sizeof *cfg);
  cfg->init_fd = -1;
  memcpy(cfg->id, c->id, sizeof cfg->id);
  const char *path = cb_json_get_str(j, "Path", NULL);
  if (!path || !*path)
    return cb_error_make(err, 0, "the container record has no command");
  cb_strv_append(&cfg->argv, path);
  char **args = cb_json_get_strv(j, "Args");
  for (char **p = args; p && *p; p++)
    cb_strv_append(&cfg->argv, *p);
  cb_strv_free(args);
  char **config_env = cb_json_get_strv(j, "Config.Env");
  cfg->env = cb_env_for_process(config_env, cb_json_get_str(j, "Config.Hostname", ""),
                                cb_json_get_bool(j, "Config.Tty", false));
  cb_strv_free(config_env);
  cfg->cwd = dupstr(j, "Config.WorkingDir", "");
  cfg->user = dupstr(j, "Config.User", "");
  cfg->hostname = dupstr(j, "Config.Hostname", "");
  cfg->tty = cb_json_get_bool(j, "Config.Tty", false);
  cfg->open_stdin = cb_json_get_bool(j, "Config.OpenStdin", false);
  cfg->stdin_once = cb_json_get_bool(j, "Config.StdinOnce", false);
  cfg->lowerdir = dupstr(j, "GraphDriver.Data.LowerDir", NULL);
  cfg->upperdir = dupstr(j, "GraphDriver.Data.UpperDir", NULL);
  cfg->workdir = dupstr(j, "GraphDriver.Data.WorkDir", NULL);
  cfg->merged = dupstr(j, "GraphDriver.Data.MergedDir", NULL);
  if (!cfg->lowerdir || !cfg->upperdir || !cfg->workdir || !cfg->merged)
    return cb_error_make(err, 0, "the container record has no GraphDriver data");
  cfg->hostname_path = dupstr(j, "HostnamePath", NULL);
  cfg->hosts_path = dupstr(j, "HostsPath", NULL);
  cfg->resolv_path = dupstr(j, "ResolvConfPath", NULL);
  cfg->log_path = dupstr(j, "LogPath", NULL);
  json_object *mounts = cb_json_get(j, "Mounts");
  size_t n =
      mounts && json_object_is_type(mounts, json_type_array) ? json_object_array_length(mounts) : 0;
  cfg->mounts = xcalloc(n + 1, sizeof *cfg->mounts);
  for (size_t i = 0; i < n; i++) {
    json_object *m = json_object_array_get_idx(mounts, i);
    const char *src = cb_json_get_str(m, "Source", NULL);
    const char *dst = cb_json_get_str(m, "Destination", NULL);
    if (!src || !dst)
      continue;
    struct shim_mount *sm = &cfg->mounts[cfg->nmounts++];
    sm->src = xstrdup(src);
    sm->dst = xstrdup(dst);
    sm->ro = !cb_json_get_bool(m, "RW", true);
  }
  cfg->net_host = !strcmp(cb_json_get_str(j, "HostConfig.NetworkMode", "none"), "host");
  cfg->read_only = cb_json_get_bool(j, "HostConfig.ReadonlyRootfs", false);
  cfg->init = cb_json_get_bool(j, "HostConfig.Init", false);
  cfg->autoremove = cb_json_get_bool(j, "HostConfig.AutoRemove", false);
  cfg->memory = cb_json_get_int(j, "HostConfig.Memory", 0);
  cfg->pids = cb_json_get_int(j, "HostConfig.PidsLimit", 0);
  cfg->cap_add = cb_json_get_strv(j, "HostConfig.CapAdd");
  cfg->cap_drop = cb_json_get_strv(j, "HostConfig.CapDrop");
  struct cb_security_opts so;
  if (cb_security_opts_read(j, &so, err) < 0)
    return -1;
  cfg->record = j;
  cfg->no_new_privs = so.no_new_privs;
  return 0;
}

void shim_config_free(struct shim_config *cfg) {
  cb_strv_free(cfg->argv);
  cb_strv_free(cfg->env);
  free(cfg->cwd);
  free(cfg->user);
  free(cfg->hostname);
  free(cfg->lowerdir);
  free(cfg->upperdir);
  free(cfg->workdir);
  free(cfg->merged);
  free(cfg->hostname_path);
  free(cfg->hosts_path);
  free(cfg->resolv_path);
  free(cfg->log_path);
  for (size_t i = 0; i < cfg->nmounts; i++) {
    free(cfg->mounts[i].src);
    free(cfg->mounts[i].dst);
  }
  free(cfg->mounts);
  cb_strv_free(cfg->cap_add);
  cb_strv_free(cfg->cap_drop);
}
