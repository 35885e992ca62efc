/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <curses.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <term.h>
#include <termios.h>
#include <unistd.h>

#include "term.h"

/* Signal handlers have no argument to carry state: what they need lives here, set once at
 * start (one terminal per process). */
static struct top_term_events *events;
static struct termios saved_tio;
static volatile sig_atomic_t active;
static char leave_seq[128]; /* cnorm + rmcup, written on a crash */
static size_t leave_len;
static sigset_t wait_mask; /* the mask while waiting: our signals open */

static void on_quit(int sig) {
  if (events)
    events->quit = sig;
}

static void on_winch(int sig) {
  (void)sig;
  if (events)
    events->resize = 1;
}

/* A crash: only async-signal-safe calls (tcsetattr, write), then the default action. */
static void on_fatal(int sig) {
  if (active) {
    if (leave_len) {
      ssize_t w = write(STDOUT_FILENO, leave_seq, leave_len);
      (void)w;
    }
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tio);
    active = 0;
  }
  signal(sig, SIG_DFL);
  raise(sig);
}

static void at_exit(void) {
  top_term_stop();
}

static void add_seq(const char *cap) {
  char *s = tigetstr((char *)cap);
  if (!s || s == (char *)-1)
    return;
  size_t l = strlen(s);
  if (leave_len + l < sizeof leave_seq) {
    memcpy(leave_seq + leave_len, s, l);
    leave_len += l;
  }
}

int top_term_start(struct top_term_events *ev, cb_error_t *err) {
  if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
    return cb_error_make(err, 0, "the live view needs a terminal (use -b for text)");
  if (tcgetattr(STDIN_FILENO, &saved_tio) < 0)
    return cb_error_sys(err, "read the terminal's modes");
  events = ev;
  /* Our handlers first: curses then leaves SIGINT, SIGTERM and SIGWINCH to us. */
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sigemptyset(&sa.sa_mask);
  sa.sa_handler = on_quit;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  sigaction(SIGQUIT, &sa, NULL);
  sa.sa_handler = on_winch;
  sigaction(SIGWINCH, &sa, NULL);
  sa.sa_handler = on_fatal;
  sa.sa_flags = SA_RESETHAND | SA_NODEFER;
  sigaction(SIGSEGV, &sa, NULL);
  sigaction(SIGBUS, &sa, NULL);
  sigaction(SIGILL, &sa, NULL);
  sigaction(SIGFPE, &sa, NULL);
  sigaction(SIGABRT, &sa, NULL);
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGHUP);
  sigaddset(&block, SIGQUIT);
  sigaddset(&block, SIGWINCH);
  sigprocmask(SIG_BLOCK, &block, &wait_mask);
  sigdelset(&wait_mask, SIGINT);
  sigdelset(&wait_mask, SIGTERM);
  sigdelset(&wait_mask, SIGHUP);
  sigdelset(&wait_mask, SIGQUIT);
  sigdelset(&wait_mask, SIGWINCH);
  atexit(at_exit);

  /* newterm, not initscr: an unknown terminal is an error to report, not an exit. */
  SCREEN *scr = newterm(NULL, stdout, stdin);
  if (!scr) {
    const char *term = getenv("TERM");
    return cb_error_make(err, 0, "cannot draw on the terminal (TERM=%s)", term ? term : "");
  }
  set_term(scr);
  active = 1;
  leave_len = 0;
  add_seq("cnorm");
  add_seq("rmcup");
  cbreak();
  noecho();
  nonl();
  keypad(stdscr, TRUE);
  /* Home and End as VT220 and xterm's other modes send them, whatever terminfo says
   * (tmux sends these under TERM=xterm). */
  define_key("\033[1~", KEY_HOME);
  define_key("\033[4~", KEY_END);
  define_key("\033[H", KEY_HOME);
  define_key("\033[F", KEY_END);
  define_key("\033OH", KEY_HOME);
  define_key("\033OF", KEY_END);
  nodelay(stdscr, TRUE);
  set_escdelay(25);
  curs_set(0);
  if (has_colors()) {
    start_color();
    use_default_colors();
    init_pair(1, COLOR_CYAN, -1);
    init_pair(2, COLOR_BLACK, COLOR_CYAN);
  }
  return 0;
}

int top_term_wait(int timeout_ms) {
  struct pollfd pf = {STDIN_FILENO, POLLIN, 0};
  struct timespec ts = {timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000L};
  int r = ppoll(&pf, 1, timeout_ms < 0 ? NULL : &ts, &wait_mask);
  if (r > 0 && (pf.revents & (POLLHUP | POLLERR | POLLNVAL)) && events)
    events->quit = SIGHUP; /* the terminal went away */
  return r > 0 ? 1 : 0;
}

void top_term_resize(void) {
  struct winsize ws;
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0)
    resizeterm(ws.ws_row, ws.ws_col);
}

void top_term_stop(void) {
  if (!active)
    return;
  active = 0;
  curs_set(1);
  endwin();
  tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tio);
}
