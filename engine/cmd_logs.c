/* SPDX-License-Identifier: GPL-2.0-or-later */
/* crowbar logs: a container's json-file log, stdout lines to stdout and stderr lines to
 * stderr, as `docker logs` prints them. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crowbar/cleanup.h"
#include "crowbar/container.h"
#include "crowbar/format.h"
#include "crowbar/json.h"
#include "crowbar/verb.h"

CB_VERB(logs, "Show the logs of a container");

static void usage(FILE *out) {
  fputs("Usage: crowbar logs [OPTIONS] CONTAINER\n\n"
        "Show what a container wrote to its stdout and stderr (running or stopped).\n\n"
        "Options:\n"
        "  -f, --follow          keep printing new output until the container stops\n"
        "      --since TIME      only lines from TIME on (RFC 3339, Unix seconds, or a\n"
        "                        duration such as 10m meaning that long ago)\n"
        "      --until TIME      only lines before TIME (same forms)\n"
        "  -n, --tail N          only the last N lines (default: all)\n"
        "  -t, --timestamps      prefix each line with its RFC 3339 nanosecond time\n"
        "  -h, --help            show this help\n\n"
        "See crowbar-logs(1).\n",
        out);
}

struct logs_opts {
  bool follow, timestamps;
  long tail; /* -1: all */
  bool has_since, has_until;
  int64_t since, until;
};

/* The offset where the last n complete lines of the first `end` bytes start. Reads the file
 * backwards in blocks, so a long log costs only what is printed. */
static off_t tail_offset(int fd, off_t end, long n) {
  if (n < 0)
    return 0;
  if (n == 0 || end == 0)
    return end;
  char buf[65536];
  off_t pos = end - 1; /* skip the newline that ends the last line */
  long seen = 0;
  while (pos > 0) {
    size_t want = pos > (off_t)sizeof buf ? sizeof buf : (size_t)pos;
    off_t start = pos - (off_t)want;
    ssize_t r = pread(fd, buf, want, start);
    if (r <= 0)
      return 0;
    for (ssize_t i = r - 1; i >= 0; i--)
      if (buf[i] == '\n' && ++seen == n)
        return start + i + 1;
    pos = start;
  }
  return 0;
}

/* The offset just after the last newline: what is beyond is a line still being written. */
static off_t complete_end(int fd, off_t size) {
  char buf[4096];
  off_t pos = size;
  while (pos > 0) {
    size_t want = pos > (off_t)sizeof buf ? sizeof buf : (size_t)pos;
    ssize_t r = pread(fd, buf, want, pos - (off_t)want);
    if (r <= 0)
      return 0;
    for (ssize_t i = r - 1; i >= 0; i--)
      if (buf[i] == '\n')
        return pos - (off_t)want + i + 1;
    pos -= (off_t)want;
  }
  return 0;
}

struct printer {
  const struct logs_opts *o;
  FILE *last; /* the stream written last, flushed when the other one is used */
  bool done;  /* --until passed */
  json_tokener *tok;
};

/* One line of the log file (without its newline). */
static int print_entry(struct printer *p, const char *line, size_t len) {
  json_tokener_reset(p->tok);
  json_object *j = json_tokener_parse_ex(p->tok, line, (int)len);
  if (!j || !json_object_is_type(j, json_type_object)) {
    json_object_put(j);
    return 0; /* a damaged line: skip it, as docker does for what it cannot decode */
  }
  json_object *log = NULL, *stream = NULL, *tm = NULL;
  json_object_object_get_ex(j, "log", &log);
  json_object_object_get_ex(j, "stream", &stream);
  json_object_object_get_ex(j, "time", &tm);
  int64_t t = 0;
  if (tm && json_object_is_type(tm, json_type_string))
    cb_parse_rfc3339(json_object_get_string(tm), &t);
  if (p->o->has_since && t < p->o->since) {
    json_object_put(j);
    return 0;
  }
  if (p->o->has_until && t > p->o->until) {
    p->done = true;
    json_object_put(j);
    return 0;
  }
  FILE *out = stream && !strcmp(json_object_get_string(stream), "stderr") ? stderr : stdout;
  if (p->last && p->last != out)
    fflush(p->last);
  p->last = out;
  if (p->o->timestamps) {
    char ts[CB_RFC3339_LEN];
    cb_format_rfc3339nano_fixed(t, ts);
    fputs(ts, out);
    fputc(' ', out);
  }
  if (log && json_object_is_type(log, json_type_string))
    fwrite(json_object_get_string(log), 1, (size_t)json_object_get_string_len(log), out);
  json_object_put(j);
  if (ferror(out))
    return -1;
  return 0;
}

/* Print the complete lines of [from, to); returns the offset reached. */
static int print_range(struct printer *p, int fd, off_t from, off_t to, off_t *reached,
                       cb_error_t *err) {
  size_t cap = 65536, have = 0;
  cleanup_free char *buf = xmalloc(cap);
  off_t pos = from;
  while (pos < to && !p->done) {
    if (have == cap) {
      cap *= 2;
      buf = xrealloc(buf, cap);
    }
    size_t want = cap - have;
    if ((off_t)want > to - pos)
      want = (size_t)(to - pos);
    ssize_t r = pread(fd, buf + have, want, pos);
    if (r < 0) {
      if (errno == EINTR)
        continue;
      return cb_error_sys(err, "read the log");
    }
    if (r == 0)
      break;
    pos += r;
    have += (size_t)r;
    size_t start = 0;
    for (;;) {
      char *nl = memchr(buf + start, '\n', have - start);
      if (!nl)
        break;
      size_t len = (size_t)(nl - buf) - start;
      if (print_entry(p, buf + start, len) < 0)
        return cb_error_sys(err, "write");
      start += len + 1;
      if (p->done)
        break;
    }
    memmove(buf, buf + start, have - start);
    have -= start;
  }
  /* An unfinished line stays unread, for the next round. */
  *reached = pos - (off_t)have;
  return 0;
}

static bool still_running(const struct cb_ctx *ctx, const char *id) {
  struct cb_container *c = NULL;
  cb_error_t err = NULL;
  if (cb_container_locate(ctx, id, &c, &err) < 0) {
    cb_error_release(&err);
    return false; /* removed */
  }
  bool r = cb_container_is_running(c) || c->state.status == CB_STATUS_RESTARTING;
  cb_container_free(c);
  return r;
}

static int logs(const struct cb_ctx *ctx, const char *ref, const struct logs_opts *o,
                cb_error_t *err) {
  struct cb_container *c = NULL;
  if (cb_container_locate(ctx, ref, &c, err) < 0)
    return -1;
  char id[CB_ID_LEN + 1];
  memcpy(id, c->id, sizeof id);
  cleanup_free char *path = xstrdup(cb_json_get_str(c->json, "LogPath", ""));
  bool running = cb_container_is_running(c) || c->state.status == CB_STATUS_RESTARTING;
  cb_container_free(c);
  if (!*path)
    return 0;
  cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT)
      return 0; /* nothing was ever written */
    return cb_error_sys(err, "open `%s`", path);
  }
  struct printer p = {.o = o, .tok = json_tokener_new()};
  if (!p.tok)
    oom();
  int ret = -1;
  struct stat st;
  if (fstat(fd, &st) < 0) {
    cb_error_sys(err, "stat `%s`", path);
    goto out;
  }
  off_t end = complete_end(fd, st.st_size);
  off_t pos = tail_offset(fd, end, o->tail);
  if (print_range(&p, fd, pos, end, &pos, err) < 0)
    goto out;
  if (o->follow && running && !p.done) {
    /* New lines: woken by inotify, with a 100 ms poll as the fallback (and to notice that
     * the container stopped). */
    cleanup_close int in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (in >= 0 && inotify_add_watch(in, path, IN_MODIFY) < 0) {
      close(in);
      in = -1;
    }
    int64_t last_check = 0;
    for (;;) {
      if (p.last)
        fflush(p.last);
      if (ferror(stdout) || ferror(stderr)) {
        cb_error_sys(err, "write");
        goto out;
      }
      if (fstat(fd, &st) < 0) {
        cb_error_sys(err, "stat `%s`", path);
        goto out;
      }
      if (st.st_size > pos) {
        if (print_range(&p, fd, pos, st.st_size, &pos, err) < 0)
          goto out;
        if (p.done)
          break;
        continue;
      }
      if (o->has_until && cb_now_ns() > o->until)
        break;
      int64_t now = cb_monotonic_ns();
      if (now - last_check >= 100000000LL) {
        last_check = now;
        if (!still_running(ctx, id)) {
          /* The shim has written its last line: read to the end once more. */
          if (fstat(fd, &st) == 0 && st.st_size > pos &&
              print_range(&p, fd, pos, st.st_size, &pos, err) < 0)
            goto out;
          break;
        }
      }
      if (in >= 0) {
        struct pollfd pfd = {.fd = in, .events = POLLIN};
        if (poll(&pfd, 1, 100) > 0) {
          char ev[4096];
          while (read(in, ev, sizeof ev) > 0)
            ;
        }
      } else {
        usleep(100000);
      }
    }
  }
  ret = 0;
out:
  json_tokener_free(p.tok);
  return ret;
}

int cmd_logs(int argc, char **argv) {
  enum { OPT_SINCE = CHAR_MAX + 1, OPT_UNTIL };
  static const struct option longopts[] = {
      {"follow", no_argument, NULL, 'f'},
      {"since", required_argument, NULL, OPT_SINCE},
      {"until", required_argument, NULL, OPT_UNTIL},
      {"tail", required_argument, NULL, 'n'},
      {"timestamps", no_argument, NULL, 't'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  struct logs_opts o = {.tail = -1};
  const char *since = NULL, *until = NULL;
  int c;
  opterr = 0;
  while ((c = cb_getopt_long(argc, argv, ":fn:th", longopts, NULL)) != -1) {
    switch (c) {
    case 'f': o.follow = true; break;
    case OPT_SINCE: since = optarg; break;
    case OPT_UNTIL: until = optarg; break;
    case 'n':
      if (!strcmp(optarg, "all"))
        o.tail = -1;
      else if (cb_parse_long(optarg, &o.tail) < 0) {
        fprintf(stderr,
                "Error: invalid argument \"%s\" for \"-n, --tail\" flag: a number or "
                "\"all\"\nSee 'crowbar logs --help'.\n",
                optarg);
        return 1;
      }
      break;
    case 't': o.timestamps = true; break;
    case 'h': usage(stdout); return cb_close_stdout() < 0 ? 1 : 0;
    default: return cb_opt_error("logs", argv, c);
    }
  }
  if (argc - optind != 1) {
    fprintf(stderr, "Error: \"crowbar logs\" requires exactly 1 argument.\n"
                    "See 'crowbar logs --help'.\n");
    return 1;
  }
  cb_error_t err = NULL;
  int64_t now = cb_now_ns();
  if ((since && cb_parse_time_arg(since, now, &o.since, &err) < 0) ||
      (until && cb_parse_time_arg(until, now, &o.until, &err) < 0)) {
    cb_error_print(&err);
    return 1;
  }
  o.has_since = since != NULL;
  o.has_until = until != NULL;
  struct cb_ctx ctx;
  if (cb_require_root(&err) < 0 || cb_ctx_init(&ctx, argv[0], 0, &err) < 0) {
    cb_error_print(&err);
    return 1;
  }
  int ret = 0;
  if (logs(&ctx, argv[optind], &o, &err) < 0) {
    fflush(stdout);
    cb_error_print(&err);
    ret = 1;
  }
  cb_ctx_release(&ctx);
  if (fflush(stderr) != 0)
    ret = 1;
  if (cb_close_stdout() < 0)
    ret = 1;
  return ret;
}
