/* SPDX-License-Identifier: GPL-2.0-or-later */
/* USER[:GROUP] against the container's own /etc/passwd and /etc/group, parsed as plain
 * files after pivot_root (never through NSS, which would load the container's libraries
 * into a privileged process: CVE-2019-14271). */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "crowbar/cleanup.h"
#include "crowbar/security.h"
#include "crowbar/util.h"

static bool numeric(const char *s, long *out) {
  return *s && cb_parse_long(s, out) == 0 && *out >= 0;
}

/* Find the passwd line whose name (or uid) matches. fields: name, pw, uid, gid, gecos,
 * home, shell. */
static bool find_passwd(const char *want, bool by_uid, long uid, long *ouid, long *ogid,
                        char **oname, char **ohome) {
  cleanup_file FILE *f = fopen("/etc/passwd", "re");
  if (!f)
    return false;
  char line[1024];
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = '\0';
    char *fld[7] = {0};
    int n = 0;
    char *p = line;
    for (; n < 7; n++) {
      fld[n] = p;
      char *c = strchr(p, ':');
      if (!c) {
        n++;
        break;
      }
      *c = '\0';
      p = c + 1;
    }
    if (n < 4)
      continue;
    long u, g;
    if (cb_parse_long(fld[2], &u) < 0 || cb_parse_long(fld[3], &g) < 0)
      continue;
    if (by_uid ? u != uid : strcmp(fld[0], want) != 0)
      continue;
    *ouid = u;
    *ogid = g;
    *oname = xstrdup(fld[0]);
    *ohome = n > 5 && fld[5] && *fld[5] ? xstrdup(fld[5]) : NULL;
    return true;
  }
  return false;
}

static bool find_group(const char *want, long *ogid) {
  cleanup_file FILE *f = fopen("/etc/group", "re");
  if (!f)
    return false;
  char line[4096];
  while (fgets(line, sizeof line, f)) {
    char *name = strtok(line, ":");
    strtok(NULL, ":");
    char *gid = strtok(NULL, ":");
    long g;
    if (name && gid && !strcmp(name, want) && cb_parse_long(gid, &g) == 0) {
      *ogid = g;
      return true;
    }
  }
  return false;
}

/* Supplementary groups: every group that lists the user by name. */
static size_t member_groups(const char *user, gid_t *out, size_t max) {
  cleanup_file FILE *f = fopen("/etc/group", "re");
  if (!f || !user)
    return 0;
  size_t n = 0;
  char line[4096];
  while (n < max && fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = '\0';
    char *save = NULL;
    strtok_r(line, ":", &save);
    char *pw = strtok_r(NULL, ":", &save);
    char *gid = strtok_r(NULL, ":", &save);
    char *members = strtok_r(NULL, "", &save);
    (void)pw;
    long g;
    if (!gid || !members || cb_parse_long(gid, &g) < 0)
      continue;
    char *s2 = NULL;
    for (char *m = strtok_r(members, ",", &s2); m; m = strtok_r(NULL, ",", &s2))
      if (!strcmp(m, user)) {
        out[n++] = (gid_t)g;
        break;
      }
  }
  return n;
}

int cb_user_switch(const char *spec, char **home, cb_error_t *err) {
  *home = NULL;
  if (!spec || !*spec)
    spec = "0";
  cleanup_free char *copy = xstrdup(spec);
  char *group = strchr(copy, ':');
  if (group)
    *group++ = '\0';
  long uid = 0, gid = 0, n;
  cleanup_free char *name = NULL;
  bool by_uid = numeric(copy, &n);
  if (!find_passwd(copy, by_uid, by_uid ? n : 0, &uid, &gid, &name, home)) {
    if (!by_uid)
      return cb_error_make(err, 0, "unable to find user %s: no matching entries in passwd file",
                           copy);
    uid = n;
    gid = 0;
  }
  if (group && *group) {
    if (numeric(group, &n))
      gid = n;
    else if (!find_group(group, &gid))
      return cb_error_make(err, 0, "unable to find group %s: no matching entries in group file",
                           group);
  }
  /* As runc: the primary group first, then (without an explicit group) every group
   * that lists the user. */
  gid_t groups[64];
  groups[0] = (gid_t)gid;
  size_t ng = 1 + (group ? 0 : member_groups(name, groups + 1, 63));
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
    return cb_error_sys(err, "keep capabilities");
  if (setgroups(ng, groups) < 0)
    return cb_error_sys(err, "setgroups");
  if (setresgid((gid_t)gid, (gid_t)gid, (gid_t)gid) < 0)
    return cb_error_sys(err, "setgid %ld", gid);
  if (setresuid((uid_t)uid, (uid_t)uid, (uid_t)uid) < 0)
    return cb_error_sys(err, "setuid %ld", uid);
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
    return cb_error_sys(err, "keep capabilities");
  if (!*home)
    *home = xstrdup(uid == 0 ? "/root" : "/");
  return 0;
}
