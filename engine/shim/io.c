/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The json-file log, in Docker's format: one object per line,
 *   {"log":"text\n","stream":"stdout","time":"2026-11-22T08:00:00.123456789Z"}
 * A line longer than 16 KiB is cut into entries without the trailing newline, as Docker
 * does; a stream that ends mid-line gets its last entry without one. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crowbar/format.h"
#include "shim.h"

#define MAX_LINE (16 * 1024)

struct shim_io {
  int fd;
  char *pending[3];
  size_t plen[3];
  char *line; /* scratch for one encoded entry */
  size_t cap;
};

struct shim_io *io_new(const char *log_path, cb_error_t *err) {
  struct shim_io *io = xcalloc(1, sizeof *io);
  io->fd = -1;
  if (log_path) {
    io->fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (io->fd < 0) {
      free(io);
      cb_error_sys(err, "open the log `%s`", log_path);
      return NULL;
    }
  }
  return io;
}

static void put(struct shim_io *io, size_t *n, const char *s, size_t len) {
  if (*n + len + 1 > io->cap) {
    io->cap = (*n + len + 1) * 2;
    io->line = xrealloc(io->line, io->cap);
  }
  memcpy(io->line + *n, s, len);
  *n += len;
}

/* Length of a valid UTF-8 sequence at p (max bytes left), or 0 when invalid. */
static size_t utf8_len(const unsigned char *p, size_t max) {
  size_t need;
  if (p[0] < 0x80)
    return 1;
  if ((p[0] & 0xe0) == 0xc0 && p[0] >= 0xc2)
    need = 2;
  else if ((p[0] & 0xf0) == 0xe0)
    need = 3;
  else if ((p[0] & 0xf8) == 0xf0 && p[0] <= 0xf4)
    need = 4;
  else
    return 0;
  if (need > max)
    return 0;
  for (size_t i = 1; i < need; i++)
    if ((p[i] & 0xc0) != 0x80)
      return 0;
  return need;
}

static void emit(struct shim_io *io, int stream, const char *text, size_t len) {
  if (io->fd < 0)
    return;
  size_t n = 0;
  put(io, &n, "{\"log\":\"", 8);
  const unsigned char *p = (const unsigned char *)text;
  for (size_t i = 0; i < len;) {
    unsigned char ch = p[i];
    char esc[8];
    if (ch == '"' || ch == '\\') {
      esc[0] = '\\', esc[1] = (char)ch;
      put(io, &n, esc, 2);
    } else if (ch == '\n') {
      put(io, &n, "\\n", 2);
    } else if (ch == '\r') {
      put(io, &n, "\\r", 2);
    } else if (ch == '\t') {
      put(io, &n, "\\t", 2);
    } else if (ch < 0x20 || ch == '<' || ch == '>' || ch == '&' || ch == 0x7f) {
      /* Go's encoding/json escapes control characters and, by default, <, > and &. */
      if (ch == 0x7f) {
        put(io, &n, "\x7f", 1);
      } else {
        snprintf(esc, sizeof esc, "\\u%04x", ch);
        put(io, &n, esc, 6);
      }
    } else if (ch < 0x80) {
      put(io, &n, (const char *)&p[i], 1);
    } else {
      size_t l = utf8_len(p + i, len - i);
      if (!l) {
        put(io, &n, "\\ufffd", 6);
        i++;
        continue;
      }
      put(io, &n, (const char *)&p[i], l);
      i += l;
      continue;
    }
    i++;
  }
  char t[CB_RFC3339_LEN];
  cb_format_rfc3339nano(cb_now_ns(), t);
  char tail[96];
  int tl = snprintf(tail, sizeof tail, "\",\"stream\":\"%s\",\"time\":\"%s\"}\n",
                    stream == 2 ? "stderr" : "stdout", t);
  put(io, &n, tail, (size_t)tl);
  /* One write per entry, O_APPEND: readers never see half an entry from us. */
  cb_write_all(io->fd, io->line, n);
}

void io_output(struct shim_io *io, int stream, const char *buf, size_t len) {
  if (stream != 2)
    stream = 1;
  while (len > 0) {
    const char *nl = memchr(buf, '\n', len);
    size_t take = nl ? (size_t)(nl - buf) + 1 : len;
    if (io->plen[stream] + take > MAX_LINE && !nl) {
      /* Fill the pending line up to the limit and emit it as a partial entry. */
      size_t room = MAX_LINE - io->plen[stream];
      if (room > take)
        room = take;
      io->pending[stream] = xrealloc(io->pending[stream], io->plen[stream] + room + 1);
      memcpy(io->pending[stream] + io->plen[stream], buf, room);
      io->plen[stream] += room;
      emit(io, stream, io->pending[stream], io->plen[stream]);
      io->plen[stream] = 0;
      buf += room;
      len -= room;
      continue;
    }
    if (io->plen[stream] == 0 && nl) {
      emit(io, stream, buf, take);
    } else {
      io->pending[stream] = xrealloc(io->pending[stream], io->plen[stream] + take + 1);
      memcpy(io->pending[stream] + io->plen[stream], buf, take);
      io->plen[stream] += take;
      if (nl || io->plen[stream] >= MAX_LINE) {
        emit(io, stream, io->pending[stream], io->plen[stream]);
        io->plen[stream] = 0;
      }
    }
    buf += take;
    len -= take;
  }
}

void io_flush(struct shim_io *io, int stream) {
  if (stream != 2)
    stream = 1;
  if (io->plen[stream]) {
    emit(io, stream, io->pending[stream], io->plen[stream]);
    io->plen[stream] = 0;
  }
}

void io_free(struct shim_io *io) {
  if (!io)
    return;
  if (io->fd >= 0)
    close(io->fd);
  free(io->pending[1]);
  free(io->pending[2]);
  free(io->line);
  free(io);
}
