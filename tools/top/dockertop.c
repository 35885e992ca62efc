/* SPDX-License-Identifier: GPL-2.0-or-later */
/* docker top, as Docker 20.10's daemon and CLI do it (daemon/top_unix.go,
 * cli/command/container/top.go): ps with the user's options and "-q" with the
 * container's PIDs (again without -q when ps refuses the mix), the rows whose PID is the
 * container's kept, printed through Go's tabwriter (20, 1, 3, ' '). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crowbar/cgroup.h"
#include "crowbar/cgroupmap.h"
#include "crowbar/cleanup.h"
#include "crowbar/container.h"
#include "crowbar/lookpath.h"
#include "crowbar/tabwriter.h"
#include "crowbar/util.h"
#include "dockertop.h"

extern char **environ;

static bool go_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

/* Go's strings.Join(words, " "). */
static char *join(char *const *words, size_t n) {
  size_t len = 1;
  for (size_t i = 0; i < n; i++)
    len += strlen(words[i]) + 1;
  char *s = xmalloc(len), *p = s;
  for (size_t i = 0; i < n; i++) {
    if (i)
      *p++ = ' ';
    size_t l = strlen(words[i]);
    memcpy(p, words[i], l);
    p += l;
  }
  *p = '\0';
  return s;
}

char **top_ps_args(char *const *words, size_t n, bool *custom) {
  cleanup_free char *all = join(words, n);
  char **v = xcalloc(1, sizeof *v);
  if (!*all) {
    *custom = false;
    cb_strv_append(&v, "-ef");
    return v;
  }
  *custom = true;
  for (char *p = all;;) {
    char *sp = strchr(p, ' ');
    if (sp)
      *sp = '\0';
    cb_strv_append(&v, p);
    if (!sp)
      break;
    p = sp + 1;
  }
  return v;
}

/* Docker's check, the regular expression \s+(\S*)=\s*(PID\S*) over the joined words, by
 * hand: a match starts at a run of blanks; its word's last '=' that is followed (after
 * blanks, when it ends the word) by PID wins, as Go's leftmost-first match picks it. */
int top_ps_args_validate(char *const *words, size_t n, cb_error_t *err) {
  cleanup_free char *s = join(words, n);
  size_t len = strlen(s), i = 0;
  while (i < len) {
    if (!go_space(s[i])) {
      i++;
      continue;
    }
    while (i < len && go_space(s[i]))
      i++;
    size_t w0 = i;
    while (i < len && !go_space(s[i]))
      i++;
    size_t w1 = i; /* the word is s[w0..w1) */
    for (size_t k = w1; k-- > w0;) {
      if (s[k] != '=')
        continue;
      size_t v0 = k + 1, v1;
      if (v0 == w1) {
        /* "key=" then blanks then the value */
        while (v0 < len && go_space(s[v0]))
          v0++;
        if (v0 == w1)
          continue;
      }
      if (strncmp(s + v0, "PID", 3) != 0)
        continue;
      v1 = v0;
      while (v1 < len && !go_space(s[v1]))
        v1++;
      if (k - w0 != 3 || strncmp(s + w0, "pid", 3) != 0)
        return cb_error_make(err, 0, "specifying \"%.*s=%.*s\" is not allowed", (int)(k - w0),
                             s + w0, (int)(v1 - v0), s + v0);
      i = v1;
      break;
    }
  }
  return 0;
}

/* The options of ps that take an argument, so that their argument is not read as options. */
static bool long_takes_arg(const char *name) {
  static const char *const names[] = {"--cols", "--columns", "--Group",     "--group", "--lines",
                                      "--pid",  "--ppid",    "--quick-pid", "--rows",  "--sid",
                                      "--sort", "--tty",     "--User",      "--user",  "--width"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (!strcmp(name, names[i]))
      return true;
  return false;
}

bool top_ps_custom_fields(char *const *args) {
  bool skip = false;
  for (char *const *a = args; *a; a++) {
    const char *opt = *a;
    if (skip) {
      skip = false;
      continue;
    }
    if (!strncmp(opt, "-o", 2) || opt[0] == 'o' || !strncmp(opt, "--format", 8))
      return true;
    size_t len = strlen(opt);
    if (len == 0)
      continue;
    /* GNU long options: --opt ARG or --opt=ARG */
    if (len > 2 && opt[0] == '-' && opt[1] == '-') {
      char name[64];
      snprintf(name, sizeof name, "%.*s", (int)strcspn(opt, "="), opt);
      if (!strcmp(name, "--format"))
        return true;
      if (long_takes_arg(name)) {
        if (!strchr(opt, '='))
          skip = true;
        continue;
      }
    }
    /* Short options: -C ARG, -Uroot */
    if (len >= 2 && opt[0] == '-' && strchr("CGgOpqstuU", opt[1]) && opt[1]) {
      if (len == 2)
        skip = true;
      continue;
    }
    /* BSD options, letters without a dash, the argument at the end ("eUroot"). */
    for (size_t i = 0; i < len; i++) {
      char c = opt[i];
      if (c == 'o')
        return true;
      if (strchr("pqtUOk", c)) {
        if (i + 1 == len)
          skip = true;
        break;
      }
    }
  }
  return false;
}

/* Go's fields, on ASCII blanks only (Docker's fieldsASCII). */
static char **fields(const char *line, size_t *n) {
  char **v = xcalloc(1, sizeof *v);
  size_t cnt = 0;
  const char *p = line;
  for (;;) {
    while (*p && go_space(*p))
      p++;
    if (!*p)
      break;
    const char *s = p;
    while (*p && !go_space(*p))
      p++;
    cleanup_free char *f = xasprintf("%.*s", (int)(p - s), s);
    cb_strv_append(&v, f);
    cnt++;
  }
  *n = cnt;
  return v;
}

static bool has_pid(const pid_t *pids, size_t n, long pid) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (pids[mid] < pid)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < n && pids[lo] == pid;
}

/* A row of exactly ntitles cells: the overhanging fields joined into the last. */
static void add_row(struct top_pslist *l, char **f, size_t nf) {
  size_t nt = l->ntitles;
  char **row = xcalloc(nt ? nt : 1, sizeof *row);
  for (size_t i = 0; i + 1 < nt; i++)
    row[i] = xstrdup(i < nf ? f[i] : "");
  if (nt) {
    if (nf >= nt)
      row[nt - 1] = join(f + nt - 1, nf - (nt - 1));
    else
      row[nt - 1] = xstrdup("");
  }
  l->rows = xrealloc(l->rows, (l->nrows + 1) * sizeof *l->rows);
  l->rows[l->nrows++] = row;
}

void top_pslist_free(struct top_pslist *l) {
  for (size_t r = 0; r < l->nrows; r++) {
    for (size_t i = 0; i < l->ntitles; i++)
      free(l->rows[r][i]);
    free(l->rows[r]);
  }
  free(l->rows);
  cb_strv_free(l->titles);
  memset(l, 0, sizeof *l);
}

int top_ps_parse(const char *output, const pid_t *pids, size_t npids, bool extra_pid_column,
                 struct top_pslist *out, cb_error_t *err) {
  memset(out, 0, sizeof *out);
  cleanup_free char *text = xstrdup(output);
  char *nl = strchr(text, '\n');
  if (nl)
    *nl = '\0';
  size_t nt = 0;
  char **titles = fields(text, &nt);
  size_t pid_index = 0, first_col = 0;
  if (extra_pid_column) {
    if (nt < 1 || strcmp(titles[0], "PID") != 0) {
      cb_strv_free(titles);
      return cb_error_make(err, 0, "Couldn't find PID field in ps output");
    }
    first_col = 1;
  } else {
    size_t i = 0;
    while (i < nt && strcmp(titles[i], "PID") != 0)
      i++;
    if (i == nt) {
      cb_strv_free(titles);
      return cb_error_make(err, 0, "Couldn't find PID field in ps output");
    }
    pid_index = i;
  }
  out->titles = cb_strv_dup(titles + first_col);
  out->ntitles = nt - first_col;
  cb_strv_free(titles);

  bool contained = false;
  char *save = NULL;
  for (char *line = nl ? strtok_r(nl + 1, "\n", &save) : NULL; line;
       line = strtok_r(NULL, "\n", &save)) {
    size_t nf = 0;
    char **f = fields(line, &nf);
    if (nf <= pid_index) {
      cb_strv_free(f);
      continue;
    }
    if (!strcmp(f[pid_index], "-")) {
      if (contained)
        add_row(out, f + first_col, nf - first_col);
      cb_strv_free(f);
      continue;
    }
    long p;
    if (cb_parse_long(f[pid_index], &p) < 0) {
      cb_error_make(err, 0, "Unexpected pid '%s': strconv.Atoi: parsing \"%s\": invalid syntax",
                    f[pid_index], f[pid_index]);
      cb_strv_free(f);
      top_pslist_free(out);
      return -1;
    }
    contained = has_pid(pids, npids, p);
    if (contained)
      add_row(out, f + first_col, nf - first_col);
    cb_strv_free(f);
  }
  return 0;
}

/* Run ps with args; its output in *out. Fails with Docker's words: the first line of
 * ps's stderr, or "exit status N". */
static int run_ps(char *const *args, char **out, cb_error_t *err) {
  cleanup_free char *path = cb_look_path("ps", environ, err);
  if (!path)
    return -1;
  char **argv = xcalloc(1, sizeof *argv);
  cb_strv_append(&argv, "ps");
  for (char *const *a = args; *a; a++)
    cb_strv_append(&argv, *a);
  int po[2] = {-1, -1}, pe[2] = {-1, -1};
  if (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0) {
    cb_strv_free(argv);
    return cb_error_sys(err, "pipe");
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, po[1], 1);
  posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
  pid_t pid;
  int rc = posix_spawn(&pid, path, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  cb_strv_free(argv);
  close(po[1]);
  close(pe[1]);
  if (rc != 0) {
    close(po[0]);
    close(pe[0]);
    errno = rc;
    return cb_error_sys(err, "exec ps");
  }
  char *bufs[2] = {NULL, NULL};
  size_t lens[2] = {0, 0}, caps[2] = {0, 0};
  struct pollfd pf[2] = {{po[0], POLLIN, 0}, {pe[0], POLLIN, 0}};
  int open_fds = 2;
  while (open_fds) {
    if (poll(pf, 2, -1) < 0) {
      if (errno == EINTR)
        continue;
      break;
    }
    for (int i = 0; i < 2; i++) {
      if (pf[i].fd < 0 || !pf[i].revents)
        continue;
      if (caps[i] - lens[i] < 4096) {
        caps[i] = caps[i] ? caps[i] * 2 : 16384;
        bufs[i] = xrealloc(bufs[i], caps[i]);
      }
      ssize_t r = read(pf[i].fd, bufs[i] + lens[i], caps[i] - lens[i] - 1);
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0) {
        close(pf[i].fd);
        pf[i].fd = -1;
        open_fds--;
        continue;
      }
      lens[i] += (size_t)r;
    }
  }
  for (int i = 0; i < 2; i++) {
    if (!bufs[i])
      bufs[i] = xmalloc(1);
    bufs[i][lens[i]] = '\0';
  }
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    free(bufs[1]);
    *out = bufs[0];
    return 0;
  }
  free(bufs[0]);
  cleanup_free char *errtext = bufs[1];
  errtext[strcspn(errtext, "\n")] = '\0';
  if (*errtext)
    return cb_error_make(err, 0, "%s", errtext);
  if (WIFEXITED(status))
    return cb_error_make(err, 0, "exit status %d", WEXITSTATUS(status));
  return cb_error_make(err, 0, "signal: %s", strsignal(WTERMSIG(status)));
}

int top_docker(const struct cb_ctx *ctx, const char *ref, char *const *words, size_t n,
               cb_error_t *err) {
  bool custom = false;
  if (top_ps_args_validate(words, n, err) < 0)
    return -1;
  cleanup_strv char **args = top_ps_args(words, n, &custom);
  cleanup_container struct cb_container *c = NULL;
  if (cb_container_locate(ctx, ref, &c, err) < 0)
    return -1;
  if (c->state.status == CB_STATUS_RESTARTING)
    return cb_error_make(err, 0, "Container %s is restarting, wait until the container is running",
                         c->id);
  if (!cb_container_is_running(c))
    return cb_error_make(err, 0, "Container %s is not running", c->id);

  cleanup_free char *cgpath = cb_cgroup_path(c->id);
  cleanup_free pid_t *pids = NULL;
  size_t npids = 0;
  if (cb_cgroup_path_pids(cgpath, &pids, &npids, err) < 0)
    return -1;

  bool extra_pid = false;
  if (custom && top_ps_custom_fields(args)) {
    /* Docker's: the PID in the first column, whatever the user chose. */
    char **v = xcalloc(1, sizeof *v);
    cb_strv_append(&v, "-opid");
    for (char **a = args; *a; a++)
      cb_strv_append(&v, *a);
    cb_strv_free(args);
    args = v;
    extra_pid = true;
  }
  /* -q PID,PID,...: ps reads only those processes. */
  size_t qlen = 3 + npids * 12;
  cleanup_free char *q = xmalloc(qlen);
  size_t off = (size_t)snprintf(q, qlen, "-q");
  for (size_t i = 0; i < npids; i++)
    off += (size_t)snprintf(q + off, qlen - off, "%s%d", i ? "," : "", pids[i]);
  char **withq = cb_strv_dup(args);
  cb_strv_append(&withq, q);
  cleanup_free char *output = NULL;
  cb_error_t e2 = NULL;
  int rc = run_ps(withq, &output, &e2);
  cb_strv_free(withq);
  if (rc < 0) {
    /* Some options (f, -C...) cannot go with -q: every process, filtered here. */
    cb_error_release(&e2);
    if (run_ps(args, &output, err) < 0)
      return cb_error_wrap(err, "ps");
  }
  struct top_pslist l;
  if (top_ps_parse(output, pids, npids, extra_pid, &l, err) < 0)
    return -1;
  struct cb_tabwriter *tw = cb_tabwriter_new(20, 3);
  for (size_t i = 0; i < l.ntitles; i++) {
    if (i)
      cb_tabwriter_write(tw, "\t");
    cb_tabwriter_write(tw, l.titles[i]);
  }
  cb_tabwriter_write(tw, "\n");
  for (size_t r = 0; r < l.nrows; r++) {
    for (size_t i = 0; i < l.ntitles; i++) {
      if (i)
        cb_tabwriter_write(tw, "\t");
      cb_tabwriter_write(tw, l.rows[r][i]);
    }
    cb_tabwriter_write(tw, "\n");
  }
  int wr = cb_tabwriter_flush(tw, stdout);
  cb_tabwriter_free(tw);
  top_pslist_free(&l);
  if (wr < 0)
    return cb_error_sys(err, "write");
  return 0;
}
