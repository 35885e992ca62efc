/* SPDX-License-Identifier: GPL-2.0-or-later */
/* USER[:GROUP] against the container's own /etc/passwd and /etc/group, parsed as plain
 * files after pivot_root (never through NSS, which would load the container's libraries
 * into a privileged process: CVE-2019-14271). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crowbar/cleanup.h"
#include "crowbar/security.h"
#include "crowbar/util.h"

int cb_parse_id(const char *s, uint32_t *out) {
  /* A number as Go's strconv.Atoi reads one (runc): an optional sign, then digits. */
  const char *p = s + (*s == '-' || *s == '+');
  if (!*p)
    return -1;
  for (const char *q = p; *q; q++)
    if (!isdigit((unsigned char)*q))
      return -1;
  if (*s == '-') {
    for (; *p == '0'; p++)
      ;
    if (*p)
      return -2; /* negative */
    *out = 0;
    return 0;
  }
  unsigned long long v = 0;
  for (; *p; p++) {
    v = v * 10 + (unsigned)(*p - '0');
    if (v > CB_ID_MAX)
      return -2;
  }
  *out = (uint32_t)v;
  return 0;
}

__attribute__((format(printf, 2, 3))) static int out_of_range(cb_error_t *err, const char *fmt,
                                                              ...) {
  char what[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  return cb_error_make(err, 0, "%s: " CB_ID_RANGE_MSG, what);
}

/* The container's /etc/passwd or /etc/group, or NULL when it is not a regular file: the
 * container writes these files, and a FIFO there would hang the caller (exec, start) on
 * open or read. O_NONBLOCK makes that open return at once; O_NOCTTY keeps a terminal node
 * from becoming ours. */
static FILE *open_db(const char *path) {
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0)
    return NULL;
  struct stat st;
  FILE *f = NULL;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
    f = fdopen(fd, "re");
  if (!f)
    close(fd);
  return f;
}

/* Find the passwd line whose name (or uid) matches: 1 found, 0 not, -1 with err when the
 * matching line's uid or gid is out of range. Lines whose numbers are not numbers are
 * skipped. fields: name, pw, uid, gid, gecos, home, shell. */
static int find_passwd(const char *want, bool by_uid, uint32_t uid, uint32_t *ouid, uint32_t *ogid,
                       char **oname, char **ohome, cb_error_t *err) {
  cleanup_file FILE *f = open_db("/etc/passwd");
  if (!f)
    return 0;
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
    uint32_t u = 0, g = 0;
    int ru = cb_parse_id(fld[2], &u), rg = cb_parse_id(fld[3], &g);
    if (ru == -1 || rg == -1)
      continue;
    if (by_uid ? ru != 0 || u != uid : strcmp(fld[0], want) != 0)
      continue;
    /* 4294967296 would be uid 0 to setuid(2), -1 "unchanged" (root): neither is taken. */
    if (ru < 0)
      return out_of_range(err, "user \"%s\" in /etc/passwd has uid %s", fld[0], fld[2]);
    if (rg < 0)
      return out_of_range(err, "user \"%s\" in /etc/passwd has gid %s", fld[0], fld[3]);
    *ouid = u;
    *ogid = g;
    *oname = xstrdup(fld[0]);
    *ohome = n > 5 && fld[5] && *fld[5] ? xstrdup(fld[5]) : NULL;
    return 1;
  }
  return 0;
}

/* The group named want: 1 found, 0 not, -1 with err (its gid out of range). */
static int find_group(const char *want, uint32_t *ogid, cb_error_t *err) {
  cleanup_file FILE *f = open_db("/etc/group");
  if (!f)
    return 0;
  char line[4096];
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = '\0';
    char *save = NULL;
    char *name = strtok_r(line, ":", &save);
    strtok_r(NULL, ":", &save);
    char *gid = strtok_r(NULL, ":", &save);
    if (!name || !gid || strcmp(name, want))
      continue;
    int r = cb_parse_id(gid, ogid);
    if (r == -1)
      continue;
    if (r < 0)
      return out_of_range(err, "group \"%s\" in /etc/group has gid %s", name, gid);
    return 1;
  }
  return 0;
}

/* Supplementary groups: every group that lists the user by name. -1 with err when one of
 * them has a gid out of range. */
static ssize_t member_groups(const char *user, gid_t *out, size_t max, cb_error_t *err) {
  cleanup_file FILE *f = open_db("/etc/group");
  if (!f || !user)
    return 0;
  size_t n = 0;
  char line[4096];
  while (n < max && fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = '\0';
    char *save = NULL;
    char *name = strtok_r(line, ":", &save);
    char *pw = strtok_r(NULL, ":", &save);
    char *gid = strtok_r(NULL, ":", &save);
    char *members = strtok_r(NULL, "", &save);
    (void)pw;
    uint32_t g;
    int r = gid ? cb_parse_id(gid, &g) : -1;
    if (!members || r == -1)
      continue;
    char *s2 = NULL;
    for (char *m = strtok_r(members, ",", &s2); m; m = strtok_r(NULL, ",", &s2)) {
      if (strcmp(m, user))
        continue;
      if (r < 0)
        return out_of_range(err, "group \"%s\" in /etc/group (of user \"%s\") has gid %s", name,
                            user, gid);
      out[n++] = (gid_t)g;
      break;
    }
  }
  return (ssize_t)n;
}

int cb_user_check(const char *spec, cb_error_t *err) {
  if (!spec)
    return 0;
  cleanup_free char *copy = xstrdup(spec);
  char *group = strchr(copy, ':');
  if (group)
    *group++ = '\0';
  uint32_t n;
  if (cb_parse_id(copy, &n) == -2)
    return out_of_range(err, "invalid user \"%s\"", spec);
  if (group && cb_parse_id(group, &n) == -2)
    return out_of_range(err, "invalid group \"%s\" of user \"%s\"", group, spec);
  return 0;
}

int cb_user_switch(const char *spec, char **home, cb_error_t *err) {
  *home = NULL;
  if (!spec || !*spec)
    spec = "0";
  cleanup_free char *copy = xstrdup(spec);
  char *group = strchr(copy, ':');
  if (group)
    *group++ = '\0';
  uint32_t uid = 0, gid = 0, n = 0;
  cleanup_free char *name = NULL;
  if (cb_user_check(spec, err) < 0)
    return -1;
  int r = cb_parse_id(copy, &n);
  bool by_uid = r == 0;
  int found = find_passwd(copy, by_uid, n, &uid, &gid, &name, home, err);
  if (found < 0)
    return -1;
  if (!found) {
    if (!by_uid)
      return cb_error_make(err, 0, "unable to find user %s: no matching entries in passwd file",
                           copy);
    uid = n;
    gid = 0;
  }
  if (group && *group) {
    if (cb_parse_id(group, &n) == 0)
      gid = n;
    else if ((found = find_group(group, &gid, err)) < 0)
      return -1;
    else if (!found)
      return cb_error_make(err, 0, "unable to find group %s: no matching entries in group file",
                           group);
  }
  /* As runc: the primary group first, then (without an explicit group) every group
   * that lists the user. */
  gid_t groups[64];
  groups[0] = (gid_t)gid;
  ssize_t extra = group ? 0 : member_groups(name, groups + 1, 63, err);
  if (extra < 0)
    return -1;
  size_t ng = 1 + (size_t)extra;
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
    return cb_error_sys(err, "keep capabilities");
  if (setgroups(ng, groups) < 0)
    return cb_error_sys(err, "setgroups");
  if (setresgid((gid_t)gid, (gid_t)gid, (gid_t)gid) < 0)
    return cb_error_sys(err, "setgid %u", gid);
  if (setresuid((uid_t)uid, (uid_t)uid, (uid_t)uid) < 0)
    return cb_error_sys(err, "setuid %u", uid);
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
    return cb_error_sys(err, "keep capabilities");
  if (!*home)
    *home = xstrdup(uid == 0 ? "/root" : "/");
  return 0;
}
