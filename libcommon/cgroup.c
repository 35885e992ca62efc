/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "crowbar/cgroup.h"
#include "crowbar/cleanup.h"
#include "crowbar/devfilter.h"
#include "crowbar/util.h"

#define CG_ROOT "/sys/fs/cgroup"
#define CG_PARENT "crowbar"

/* The v1 controllers we use, in the order we create them. */
static const char *const v1_controllers[] = {"memory", "pids",    "freezer", "devices",
                                             "cpu",    "cpuacct", "unified"};
#define NV1 (sizeof v1_controllers / sizeof v1_controllers[0])

enum cb_cgroup_mode cb_cgroup_detect(void) {
  struct statfs sf;
  if (statfs(CG_ROOT, &sf) < 0)
    return CB_CGROUP_NONE;
  if (sf.f_type == CGROUP2_SUPER_MAGIC)
    return CB_CGROUP_V2;
  return CB_CGROUP_V1;
}

static bool v1_mounted(const char *ctl) {
  char p[128];
  snprintf(p, sizeof p, CG_ROOT "/%s/cgroup.procs", ctl);
  return access(p, F_OK) == 0;
}

static char *dir_of(const char *ctl, const char *id) {
  if (!ctl)
    return xasprintf(CG_ROOT "/" CG_PARENT "/%s", id);
  return xasprintf(CG_ROOT "/%s/" CG_PARENT "/%s", ctl, id);
}

static int write_file(const char *dir, const char *file, const char *val, cb_error_t *err) {
  cleanup_free char *p = xasprintf("%s/%s", dir, file);
  return cb_write_string(p, val, err);
}

static int read_file(const char *dir, const char *file, char *buf, size_t size) {
  cleanup_free char *p = xasprintf("%s/%s", dir, file);
  cleanup_close int fd = open(p, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  ssize_t n = read(fd, buf, size - 1);
  if (n < 0)
    return -1;
  buf[n] = '\0';
  return (int)n;
}

static int v2_enable_controllers(cb_error_t *err) {
  /* The parent must delegate memory and pids to its children. */
  char have[512];
  if (read_file(CG_ROOT, "cgroup.controllers", have, sizeof have) < 0)
    return 0;
  cleanup_free char *parent = xasprintf(CG_ROOT "/" CG_PARENT);
  if (mkdir(parent, 0755) < 0 && errno != EEXIST)
    return cb_error_sys(err, "mkdir `%s`", parent);
  static const char *const want[] = {"memory", "pids", "cpu", "io"};
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    if (!strstr(have, want[i]))
      continue;
    char val[32];
    snprintf(val, sizeof val, "+%s", want[i]);
    cb_error_t e2 = NULL;
    if (write_file(CG_ROOT, "cgroup.subtree_control", val, &e2) < 0)
      cb_error_release(&e2);
    if (write_file(parent, "cgroup.subtree_control", val, &e2) < 0)
      cb_error_release(&e2);
  }
  return 0;
}

int cb_cgroup_create(const char *id, const struct cb_cgroup_limits *lim, cb_error_t *err) {
  enum cb_cgroup_mode mode = cb_cgroup_detect();
  char val[32];
  if (mode == CB_CGROUP_NONE)
    return cb_error_make(err, 0, "no cgroup filesystem at " CG_ROOT);
  if (mode == CB_CGROUP_V2) {
    if (v2_enable_controllers(err) < 0)
      return -1;
    cleanup_free char *d = dir_of(NULL, id);
    if (mkdir(d, 0755) < 0 && errno != EEXIST)
      return cb_error_sys(err, "create cgroup `%s`", d);
    if (lim->memory > 0) {
      snprintf(val, sizeof val, "%lld", (long long)lim->memory);
      if (write_file(d, "memory.max", val, err) < 0)
        return cb_error_wrap(err, "set the memory limit");
      /* Docker's default: as much swap again as memory. */
      cb_error_t e2 = NULL;
      if (write_file(d, "memory.swap.max", val, &e2) < 0)
        cb_error_release(&e2);
    }
    if (lim->pids > 0) {
      snprintf(val, sizeof val, "%lld", (long long)lim->pids);
      if (write_file(d, "pids.max", val, err) < 0)
        return cb_error_wrap(err, "set the pids limit");
    }
    /* No devices controller on v2: without the program, container root could mknod
     * the host's disk and read it. Fail rather than run unguarded. */
    if (cb_devfilter_attach(d, cb_dev_rules_default, cb_dev_rules_default_n, err) < 0)
      return cb_error_wrap(err, "cannot enforce the device rules on cgroup v2");
    return 0;
  }
  for (size_t i = 0; i < NV1; i++) {
    const char *ctl = v1_controllers[i];
    if (!v1_mounted(ctl))
      continue;
    cleanup_free char *d = dir_of(ctl, id);
    if (cb_mkdir_p(d, 0755, err) < 0)
      return cb_error_wrap(err, "create cgroup");
    if (!strcmp(ctl, "memory") && lim->memory > 0) {
      snprintf(val, sizeof val, "%lld", (long long)lim->memory);
      if (write_file(d, "memory.limit_in_bytes", val, err) < 0)
        return cb_error_wrap(err, "set the memory limit");
      /* Docker's default: memory plus as much swap again, when swap is accounted. */
      cb_error_t e2 = NULL;
      char both[32];
      snprintf(both, sizeof both, "%lld", (long long)lim->memory * 2);
      if (write_file(d, "memory.memsw.limit_in_bytes", both, &e2) < 0)
        cb_error_release(&e2);
    } else if (!strcmp(ctl, "pids") && lim->pids > 0) {
      snprintf(val, sizeof val, "%lld", (long long)lim->pids);
      if (write_file(d, "pids.max", val, err) < 0)
        return cb_error_wrap(err, "set the pids limit");
    } else if (!strcmp(ctl, "devices")) {
      if (write_file(d, "devices.deny", "a", err) < 0)
        return cb_error_wrap(err, "set the device rules");
      for (size_t k = 0; k < cb_dev_rules_default_n; k++) {
        char rule[48];
        cb_dev_rule_format(&cb_dev_rules_default[k], rule, sizeof rule);
        if (write_file(d, "devices.allow", rule, err) < 0)
          return cb_error_wrap(err, "set the device rules");
      }
    }
  }
  /* A hybrid host: the kernel also runs the BPF device program of the task's cgroup in
   * the v2 tree (devcgroup_check_permission asks BPF first, then the v1 controller), so
   * the same program guards here as on a v2 host. Where BPF is unavailable the v1
   * controller does the job alone. */
  if (v1_mounted("unified")) {
    cleanup_free char *d = dir_of("unified", id);
    cb_error_t e2 = NULL;
    if (cb_devfilter_attach(d, cb_dev_rules_default, cb_dev_rules_default_n, &e2) < 0)
      cb_error_release(&e2);
  }
  return 0;
}

int cb_cgroup_add_pid(const char *id, pid_t pid, cb_error_t *err) {
  char val[24];
  snprintf(val, sizeof val, "%d", pid);
  if (cb_cgroup_detect() == CB_CGROUP_V2) {
    cleanup_free char *d = dir_of(NULL, id);
    return write_file(d, "cgroup.procs", val, err);
  }
  for (size_t i = 0; i < NV1; i++) {
    if (!v1_mounted(v1_controllers[i]))
      continue;
    cleanup_free char *d = dir_of(v1_controllers[i], id);
    if (write_file(d, "cgroup.procs", val, err) < 0)
      return -1;
  }
  return 0;
}

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

bool cb_cgroup_frozen(const char *id) {
  char buf[512];
  if (cb_cgroup_detect() == CB_CGROUP_V2) {
    cleanup_free char *d = dir_of(NULL, id);
    if (read_file(d, "cgroup.events", buf, sizeof buf) < 0)
      return false;
    return strstr(buf, "frozen 1") != NULL;
  }
  cleanup_free char *d = dir_of("freezer", id);
  if (read_file(d, "freezer.state", buf, sizeof buf) < 0)
    return false;
  return !strncmp(buf, "FROZEN", 6);
}

int cb_cgroup_freeze(const char *id, bool frozen, cb_error_t *err) {
  if (cb_cgroup_detect() == CB_CGROUP_V2) {
    cleanup_free char *d = dir_of(NULL, id);
    if (write_file(d, "cgroup.freeze", frozen ? "1" : "0", err) < 0)
      return -1;
  } else {
    if (!v1_mounted("freezer"))
      return cb_error_make(err, 0, "the freezer cgroup controller is not mounted");
    cleanup_free char *d = dir_of("freezer", id);
    if (write_file(d, "freezer.state", frozen ? "FROZEN" : "THAWED", err) < 0)
      return -1;
  }
  for (int i = 0; i < 500; i++) {
    if (cb_cgroup_frozen(id) == frozen)
      return 0;
    sleep_ms(2);
  }
  if (frozen) {
    /* Do not leave it half-frozen. */
    cb_error_t e2 = NULL;
    if (cb_cgroup_freeze(id, false, &e2) < 0)
      cb_error_release(&e2);
  }
  return cb_error_make(err, 0, "timed out waiting for the cgroup to %s",
                       frozen ? "freeze" : "thaw");
}

static int64_t keyed_value(const char *text, const char *key) {
  size_t kl = strlen(key);
  for (const char *p = text; p && *p;) {
    if (!strncmp(p, key, kl) && p[kl] == ' ')
      return strtoll(p + kl + 1, NULL, 10);
    p = strchr(p, '\n');
    if (p)
      p++;
  }
  return 0;
}

int64_t cb_cgroup_oom_kills(const char *id) {
  char buf[1024];
  if (cb_cgroup_detect() == CB_CGROUP_V2) {
    cleanup_free char *d = dir_of(NULL, id);
    if (read_file(d, "memory.events", buf, sizeof buf) < 0)
      return 0;
    return keyed_value(buf, "oom_kill");
  }
  cleanup_free char *d = dir_of("memory", id);
  if (read_file(d, "memory.oom_control", buf, sizeof buf) < 0)
    return 0;
  int64_t kills = keyed_value(buf, "oom_kill");
  if (!kills && keyed_value(buf, "under_oom"))
    kills = 1;
  return kills;
}

int64_t cb_cgroup_memory_usage(const char *id) {
  char buf[64];
  bool v2 = cb_cgroup_detect() == CB_CGROUP_V2;
  cleanup_free char *d = dir_of(v2 ? NULL : "memory", id);
  if (read_file(d, v2 ? "memory.current" : "memory.usage_in_bytes", buf, sizeof buf) < 0)
    return -1;
  return strtoll(buf, NULL, 10);
}

char *cb_cgroup_procs_dir(const char *id) {
  if (cb_cgroup_detect() == CB_CGROUP_V2)
    return dir_of(NULL, id);
  for (size_t i = 0; i < NV1; i++)
    if (v1_mounted(v1_controllers[i]))
      return dir_of(v1_controllers[i], id);
  return dir_of("memory", id);
}

int cb_cgroup_pids(const char *id, pid_t **out, size_t *n, cb_error_t *err) {
  cleanup_free char *d = cb_cgroup_procs_dir(id);
  cleanup_free char *p = xasprintf("%s/cgroup.procs", d);
  cleanup_free char *text = NULL;
  if (cb_read_file(p, &text, NULL, err) < 0)
    return -1;
  pid_t *v = NULL;
  size_t cnt = 0;
  char *save = NULL;
  for (char *t = strtok_r(text, "\n", &save); t; t = strtok_r(NULL, "\n", &save)) {
    v = xrealloc(v, (cnt + 1) * sizeof *v);
    v[cnt++] = (pid_t)strtol(t, NULL, 10);
  }
  *out = v;
  *n = cnt;
  return 0;
}

static int remove_dir(const char *d, cb_error_t *err) {
  for (int i = 0; i < 200; i++) {
    if (rmdir(d) == 0 || errno == ENOENT)
      return 0;
    if (errno != EBUSY)
      return cb_error_sys(err, "remove cgroup `%s`", d);
    sleep_ms(5);
  }
  return cb_error_sys(err, "remove cgroup `%s`", d);
}

int cb_cgroup_destroy(const char *id, cb_error_t *err) {
  if (cb_cgroup_detect() == CB_CGROUP_V2) {
    cleanup_free char *d = dir_of(NULL, id);
    return remove_dir(d, err);
  }
  int ret = 0;
  for (size_t i = 0; i < NV1; i++) {
    cleanup_free char *d = dir_of(v1_controllers[i], id);
    cb_error_t e2 = NULL;
    if (remove_dir(d, &e2) < 0) {
      if (!ret)
        ret = -1, *err = e2;
      else
        cb_error_release(&e2);
    }
  }
  return ret;
}

char *cb_cgroup_path(const char *id) {
  return xasprintf("/" CG_PARENT "/%s", id);
}

int cb_cgroup_join_process(pid_t target, pid_t pid, cb_error_t *err) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/cgroup", target);
  cleanup_free char *text = NULL;
  if (cb_read_file(path, &text, NULL, err) < 0)
    return -1;
  char val[24];
  snprintf(val, sizeof val, "%d", pid);
  bool v2 = cb_cgroup_detect() == CB_CGROUP_V2;
  char *save = NULL;
  for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
    /* hierarchy-ID:controller-list:path */
    char *c1 = strchr(l, ':');
    char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2)
      continue;
    *c2 = '\0';
    const char *ctl = c1 + 1, *cpath = c2 + 1;
    cleanup_free char *dir = NULL;
    if (!*ctl)
      dir = v2 ? xasprintf(CG_ROOT "%s", cpath) : xasprintf(CG_ROOT "/unified%s", cpath);
    else if (!strncmp(ctl, "name=", 5))
      dir = xasprintf(CG_ROOT "/%s%s", ctl + 5, cpath);
    else {
      /* "cpu,cpuacct" may be mounted as either name, or as the joined one. */
      char first[64];
      snprintf(first, sizeof first, "%.*s", (int)strcspn(ctl, ","), ctl);
      dir = xasprintf(CG_ROOT "/%s%s", ctl, cpath);
      if (access(dir, F_OK) != 0) {
        free(dir);
        dir = xasprintf(CG_ROOT "/%s%s", first, cpath);
      }
    }
    cleanup_free char *procs = xasprintf("%s/cgroup.procs", dir);
    if (access(procs, F_OK) != 0)
      continue;
    if (cb_write_string(procs, val, err) < 0)
      return -1;
  }
  return 0;
}
