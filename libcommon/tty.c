/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>

#include "crowbar/cleanup.h"
#include "crowbar/tty.h"
#include "crowbar/util.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

int cb_tty_open_pty(const char *ptmx, int *master, int *slave, cb_error_t *err) {
  int m = open(ptmx, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (m < 0)
    return cb_error_sys(err, "open `%s`", ptmx);
  int unlock = 0;
  if (ioctl(m, TIOCSPTLCK, &unlock) < 0) {
    close(m);
    return cb_error_sys(err, "unlock the pseudo-terminal");
  }
  int s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (s < 0) {
    close(m);
    return cb_error_sys(err, "open the pseudo-terminal's slave");
  }
  *master = m;
  *slave = s;
  return 0;
}

void cb_tty_copy_size(int from, int to) {
  struct winsize ws;
  if (ioctl(from, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col)
    ioctl(to, TIOCSWINSZ, &ws);
}

void cb_tty_set_size(int fd, int rows, int cols) {
  struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
  if (rows > 0 && cols > 0)
    ioctl(fd, TIOCSWINSZ, &ws);
}

/* The one terminal whose mode we changed: process-wide by nature (atexit, signals). */
static struct {
  int fd;
  bool active;
  struct termios saved;
} raw_state = {-1, false, {0}};

void cb_tty_restore(void) {
  if (raw_state.active) {
    tcsetattr(raw_state.fd, TCSADRAIN, &raw_state.saved);
    raw_state.active = false;
  }
}

static void restore_and_die(int sig) {
  cb_tty_restore();
  signal(sig, SIG_DFL);
  raise(sig);
}

int cb_tty_raw(int fd, cb_error_t *err) {
  struct termios t;
  if (tcgetattr(fd, &t) < 0)
    return cb_error_sys(err, "read the terminal's mode");
  raw_state.fd = fd;
  raw_state.saved = t;
  cfmakeraw(&t);
  /* Keep output post-processing off too: the container's terminal does it. */
  if (tcsetattr(fd, TCSADRAIN, &t) < 0)
    return cb_error_sys(err, "set the terminal to raw mode");
  if (!raw_state.active) {
    static bool registered;
    if (!registered) {
      atexit(cb_tty_restore);
      registered = true;
    }
    int fatal[] = {SIGTERM, SIGHUP, SIGINT, SIGQUIT, SIGPIPE, SIGSEGV, SIGABRT, SIGBUS};
    for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++) {
      struct sigaction sa = {.sa_handler = restore_and_die, .sa_flags = SA_RESETHAND};
      sigemptyset(&sa.sa_mask);
      struct sigaction old;
      if (sigaction(fatal[i], NULL, &old) == 0 && old.sa_handler == SIG_DFL)
        sigaction(fatal[i], &sa, NULL);
    }
  }
  raw_state.active = true;
  return 0;
}

int cb_detach_keys_parse(const char *spec, unsigned char keys[CB_DETACH_MAX], size_t *n,
                         cb_error_t *err) {
  *n = 0;
  if (!spec || !*spec)
    return cb_error_make(err, 0, "invalid detach keys: empty");
  cleanup_free char *copy = xstrdup(spec);
  char *save = NULL;
  for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
    if (*n >= CB_DETACH_MAX)
      return cb_error_make(err, 0, "invalid detach keys (%s): more than %d keys", spec,
                           CB_DETACH_MAX);
    if (strlen(t) == 1) {
      keys[(*n)++] = (unsigned char)t[0];
    } else if (!strncasecmp(t, "ctrl-", 5) && strlen(t) == 6) {
      unsigned char c = (unsigned char)t[5];
      if (isalpha(c))
        keys[(*n)++] = (unsigned char)(tolower(c) - 'a' + 1);
      else if (strchr("@[\\]^_", c))
        keys[(*n)++] = (unsigned char)(c - '@');
      else
        return cb_error_make(err, 0, "invalid detach keys (%s): unknown key %s", spec, t);
    } else {
      return cb_error_make(err, 0, "invalid detach keys (%s): unknown key %s", spec, t);
    }
  }
  if (!*n)
    return cb_error_make(err, 0, "invalid detach keys: empty");
  return 0;
}

size_t cb_detach_feed(struct cb_detach *d, const unsigned char *in, size_t len, unsigned char *out,
                      bool *detached) {
  size_t o = 0;
  *detached = false;
  for (size_t i = 0; i < len; i++) {
    if (d->n && in[i] == d->keys[d->matched]) {
      if (++d->matched == d->n) {
        *detached = true;
        d->matched = 0;
        return o;
      }
      continue;
    }
    /* The sequence broke: what was held back goes through, then this byte. */
    if (d->matched) {
      memcpy(out + o, d->keys, d->matched);
      o += d->matched;
      d->matched = 0;
      if (d->n && in[i] == d->keys[0]) {
        d->matched = 1;
        continue;
      }
    }
    out[o++] = in[i];
  }
  return o;
}

int cb_tty_relay(struct cb_tty_relay *r, pid_t child) {
  (void)child;
  struct cb_detach det = {0};
  if (r->detach_keys) {
    cb_error_t err = NULL;
    if (cb_detach_keys_parse(r->detach_keys, det.keys, &det.n, &err) < 0)
      cb_error_release(&err);
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGWINCH);
  sigprocmask(SIG_BLOCK, &set, NULL);
  cleanup_close int sfd = signalfd(-1, &set, SFD_CLOEXEC);
  bool in_open = r->in >= 0;
  unsigned char buf[65536], out[65536 + CB_DETACH_MAX];
  for (;;) {
    struct pollfd p[3] = {
        {r->master, POLLIN, 0}, {in_open ? r->in : -1, POLLIN, 0}, {sfd, POLLIN, 0}};
    if (poll(p, 3, -1) < 0) {
      if (errno == EINTR)
        continue;
      return 0;
    }
    if (p[2].revents & POLLIN) {
      struct signalfd_siginfo si;
      if (read(sfd, &si, sizeof si) > 0 && r->in >= 0)
        cb_tty_copy_size(r->in, r->master);
    }
    if (p[1].revents) {
      ssize_t n = read(r->in, buf, sizeof buf);
      if (n <= 0) {
        in_open = false;
        /* End of input: send the terminal's EOF character, as a terminal would. */
        unsigned char eot = 4;
        if (cb_write_all(r->master, &eot, 1) < 0)
          return 0;
      } else {
        bool detached = false;
        size_t m = det.n ? cb_detach_feed(&det, buf, (size_t)n, out, &detached) : (size_t)n;
        if (cb_write_all(r->master, det.n ? out : buf, m) < 0)
          return 0;
        if (detached)
          return 1;
      }
    }
    if (p[0].revents) {
      ssize_t n = read(r->master, buf, sizeof buf);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return 0; /* EIO: every slave descriptor is closed */
      if (cb_write_all(r->out, buf, (size_t)n) < 0)
        return 0;
    }
  }
}
