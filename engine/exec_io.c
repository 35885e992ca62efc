/* SPDX-License-Identifier: GPL-2.0-or-later */
/* exec without a terminal: the command's stdin, stdout and stderr are pipes of ours, and
 * this loop copies between them and our own descriptors, as Docker's daemon does. None of
 * our descriptors (a terminal, a file, a socket) crosses into the container, where a
 * process could push keys into a terminal (TIOCSTI), keep it after exec returns, or
 * reopen, chmod or chown the file behind it through /proc/self/fd. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include "exec.h"

/* Close *fd and mark it gone. */
static void drop(int *fd) {
  if (*fd >= 0)
    close(*fd);
  *fd = -1;
}

/* Write it all to one of our descriptors, waiting when it was left non-blocking by
 * whoever shares it. Returns 0, or -1 when it is gone (EPIPE...). */
static int write_ours(int fd, const char *p, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EAGAIN) {
      struct pollfd w = {fd, POLLOUT, 0};
      poll(&w, 1, -1);
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return -1;
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

void exec_relay(int in, int to_child, int out, int err) {
  static const int ours[2] = {1, 2};
  int from[2] = {out, err};
  char buf[65536];
  /* Input waiting for the command (its pipe is non-blocking: never stall the output). */
  char pending[65536];
  size_t off = 0, len = 0;
  if (to_child >= 0)
    fcntl(to_child, F_SETFL, O_NONBLOCK);
  if (to_child < 0)
    in = -1;
  while (from[0] >= 0 || from[1] >= 0) {
    struct pollfd p[4] = {
        {from[0], POLLIN, 0},
        {from[1], POLLIN, 0},
        {in >= 0 && !len ? in : -1, POLLIN, 0},
        /* With nothing to write, still told (POLLERR) when the command closed its stdin. */
        {to_child, len ? POLLOUT : 0, 0},
    };
    if (poll(p, 4, -1) < 0) {
      if (errno == EINTR)
        continue;
      break;
    }
    for (int k = 0; k < 2; k++) {
      if (!p[k].revents)
        continue;
      ssize_t n = read(from[k], buf, sizeof buf);
      if (n < 0 && (errno == EINTR || errno == EAGAIN))
        continue;
      /* End of the stream, or ours is closed (EPIPE): the command learns it at its next
       * write, as it would in a shell pipeline. */
      if (n <= 0 || write_ours(ours[k], buf, (size_t)n) < 0)
        drop(&from[k]);
    }
    if (p[2].revents) {
      ssize_t n = read(in, pending, sizeof pending);
      if (n > 0) {
        off = 0;
        len = (size_t)n;
      } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        in = -1; /* end of our input: the command's stdin closes */
        drop(&to_child);
      }
    }
    if (to_child >= 0 && p[3].revents) {
      ssize_t n = len ? write(to_child, pending + off, len) : -1;
      if (n > 0) {
        off += (size_t)n;
        len -= (size_t)n;
        if (!len && in < 0)
          drop(&to_child);
      } else if (!len || (errno != EINTR && errno != EAGAIN)) {
        /* The command closed its stdin: stop reading ours. */
        in = -1;
        len = 0;
        drop(&to_child);
      }
    }
  }
  drop(&to_child);
  drop(&from[0]);
  drop(&from[1]);
}
