/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "crowbar/attach.h"
#include "crowbar/cleanup.h"

int cb_attach_send(int sock, const struct cb_attach_msg *m, const int *fds, int nfds) {
  struct iovec iov = {.iov_base = (void *)m, .iov_len = sizeof *m};
  union {
    char buf[CMSG_SPACE(3 * sizeof(int))];
    struct cmsghdr align;
  } u;
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
  if (nfds > 0) {
    memset(&u, 0, sizeof u);
    msg.msg_control = u.buf;
    msg.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
    memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
  }
  for (;;) {
    ssize_t r = sendmsg(sock, &msg, MSG_NOSIGNAL);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      return -1;
    if ((size_t)r != sizeof *m) {
      errno = EPROTO;
      return -1;
    }
    return 0;
  }
}

int cb_attach_recv(int sock, struct cb_attach_msg *m, int fds[3]) {
  struct iovec iov = {.iov_base = m, .iov_len = sizeof *m};
  union {
    char buf[CMSG_SPACE(3 * sizeof(int))];
    struct cmsghdr align;
  } u;
  struct msghdr msg = {
      .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
  fds[0] = fds[1] = fds[2] = -1;
  ssize_t r;
  do
    r = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  while (r < 0 && errno == EINTR);
  if (r < 0)
    return -1;
  if (r == 0)
    return 0;
  int n = 0;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
      continue;
    int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
    int tmp[8];
    if (k > 8)
      k = 8;
    memcpy(tmp, CMSG_DATA(c), k * sizeof(int));
    for (int i = 0; i < k; i++) {
      if (n < 3)
        fds[n++] = tmp[i];
      else
        close(tmp[i]);
    }
  }
  if ((size_t)r != sizeof *m) {
    for (int i = 0; i < 3; i++)
      if (fds[i] >= 0)
        close(fds[i]);
    errno = EPROTO;
    return -1;
  }
  return 1;
}

int cb_attach_connect(const char *path, cb_error_t *err) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  cleanup_close int dirfd = -1;
  if (strlen(path) < sizeof sa.sun_path) {
    strcpy(sa.sun_path, path);
  } else {
    /* Too long for sun_path: go through a descriptor on its folder. */
    const char *slash = strrchr(path, '/');
    cleanup_free char *dir = strndup(path, slash ? (size_t)(slash - path) : 0);
    dirfd = open(dir && *dir ? dir : ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0)
      return cb_error_sys(err, "open `%s`", dir);
    snprintf(sa.sun_path, sizeof sa.sun_path, "/proc/self/fd/%d/%s", dirfd,
             slash ? slash + 1 : path);
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return cb_error_sys(err, "socket");
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    int e = errno;
    close(fd);
    errno = e;
    return cb_error_sys(err, "connect to the container's monitor");
  }
  return fd;
}
