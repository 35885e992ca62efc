/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crowbar/cleanup.h"
#include "crowbar/lookpath.h"
#include "crowbar/util.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

const char *cb_env_get(char *const *env, const char *key) {
  size_t kl = strlen(key);
  for (char *const *p = env; p && *p; p++)
    if (!strncmp(*p, key, kl) && (*p)[kl] == '=')
      return *p + kl + 1;
  return NULL;
}

void cb_env_set(char ***env, const char *kv) {
  size_t kl = strcspn(kv, "=");
  for (char **p = *env; p && *p; p++) {
    if (!strncmp(*p, kv, kl) && ((*p)[kl] == '=' || (*p)[kl] == '\0')) {
      free(*p);
      *p = xstrdup(kv);
      return;
    }
  }
  cb_strv_append(env, kv);
}

char **cb_env_for_process(char *const *config_env, const char *hostname, bool tty) {
  char **env = NULL;
  cb_strv_append(&env, "PATH=" DEFAULT_PATH);
  cleanup_free char *h = xasprintf("HOSTNAME=%s", hostname ? hostname : "");
  cb_strv_append(&env, h);
  if (tty)
    cb_strv_append(&env, "TERM=xterm");
  for (char *const *p = config_env; p && *p; p++) {
    if (strchr(*p, '=')) {
      cb_env_set(&env, *p);
      continue;
    }
    /* A bare KEY unsets the default. */
    size_t kl = strlen(*p), w = 0;
    for (size_t r = 0; env[r]; r++) {
      if (!strncmp(env[r], *p, kl) && env[r][kl] == '=')
        free(env[r]);
      else
        env[w++] = env[r];
    }
    env[w] = NULL;
  }
  return env;
}

char *cb_look_path(const char *file, char *const *env, cb_error_t *err) {
  struct stat st;
  if (!file || !*file) {
    cb_error_make(err, 0, "exec: no command");
    cb_error_set_code(err, 127);
    return NULL;
  }
  if (strchr(file, '/')) {
    if (stat(file, &st) < 0) {
      int e = errno;
      cb_error_make(err, 0, "exec: \"%s\": stat %s: %s", file, file, strerror(e));
      cb_error_set_code(err, e == ENOENT || e == ENOTDIR ? 127 : 126);
      return NULL;
    }
    if (S_ISDIR(st.st_mode)) {
      cb_error_make(err, 0, "exec: \"%s\": is a directory", file);
      cb_error_set_code(err, 126);
      return NULL;
    }
    if (access(file, X_OK) < 0) {
      cb_error_make(err, 0, "exec: \"%s\": permission denied", file);
      cb_error_set_code(err, 126);
      return NULL;
    }
    return xstrdup(file);
  }
  const char *path = cb_env_get(env, "PATH");
  cleanup_free char *copy = xstrdup(path ? path : DEFAULT_PATH);
  bool denied = false;
  char *save = NULL;
  for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
    char *cand = xasprintf("%s/%s", *d ? d : ".", file);
    if (stat(cand, &st) == 0 && S_ISREG(st.st_mode)) {
      if (access(cand, X_OK) == 0)
        return cand;
      denied = true;
    }
    free(cand);
  }
  if (denied) {
    cb_error_make(err, 0, "exec: \"%s\": permission denied", file);
    cb_error_set_code(err, 126);
  } else {
    cb_error_make(err, 0, "exec: \"%s\": executable file not found in $PATH", file);
    cb_error_set_code(err, 127);
  }
  return NULL;
}
