/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The help screen: the keys. */
#include <curses.h>
#include <stdio.h>

#include "live.h"

void top_draw_help(const struct top_live *l) {
  static const char *const lines[] = {
      "crowbar top: the processes of running containers, host PIDs and container PIDs",
      "",
      "  Up/Down, j/k, PgUp/PgDn, Home/End   select a row",
      "  Enter, Right                        details of the selected process (a container's",
      "                                      row: its PID 1): namespaces, cgroup,",
      "                                      capabilities, seccomp, open files, environment",
      "  P  M  N  T                          sort by %CPU, memory (RSS), PID, CPU time;",
      "                                      the same key again reverses",
      "  R                                   reverse the order",
      "  t  V                                process trees on or off",
      "  g                                   one block per container, or one flat list",
      "  /                                   filter containers by name or ID prefix",
      "                                      (empty: all)",
      "  Space                               refresh now",
      "  h  ?                                this help",
      "  q                                   quit (in details: back to the list)",
      "",
      "Columns: PID (host), CPID (inside the container), USER (the container's own name",
      "for the user), S (state), %CPU (over the interval; 100 is one CPU), RSS (KiB),",
      "THR (threads), TIME (CPU time, minutes:seconds.hundredths), COMMAND.",
      "",
      "Press any key to go back.",
  };
  erase();
  attron(A_REVERSE);
  char title[128];
  snprintf(title, sizeof title, "Help (refresh every %.1f s)", l->delay);
  mvaddnstr(0, 0, title, COLS);
  attroff(A_REVERSE);
  for (size_t i = 0; i < sizeof lines / sizeof lines[0] && (int)i + 2 < LINES; i++)
    mvaddnstr((int)i + 2, 0, lines[i], COLS);
  refresh();
}
