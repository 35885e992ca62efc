/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "text.h"

static int digits(long long v) {
  int d = 1;
  if (v < 0) {
    d++;
    v = -v;
  }
  while (v >= 10) {
    v /= 10;
    d++;
  }
  return d;
}

static int max_int(int a, int b) {
  return a > b ? a : b;
}

void top_widths_compute(const struct top_snapshot *snap, const struct top_row *rows, size_t n,
                        bool show_ctr, struct top_widths *w) {
  *w = (struct top_widths){.ctr = 9, .pid = 5, .cpid = 5, .user = 4, .rss = 5, .thr = 3};
  w->show_ctr = show_ctr;
  for (size_t i = 0; i < n; i++) {
    if (rows[i].kind != TOP_ROW_PROC)
      continue;
    const struct top_proc *p = &snap->procs[rows[i].idx];
    const struct top_ctr *c = &snap->ctrs[p->ctr];
    int cl = (int)strlen(c->name);
    w->ctr = max_int(w->ctr, cl > 24 ? 24 : cl);
    w->pid = max_int(w->pid, digits(p->pid));
    w->cpid = max_int(w->cpid, digits(p->cpid));
    int ul = (int)strlen(p->user);
    w->user = max_int(w->user, ul > 12 ? 12 : ul);
    w->rss = max_int(w->rss, digits((long long)p->rss_kb));
    w->thr = max_int(w->thr, digits(p->threads));
  }
}

void top_fmt_bytes(double bytes, char *buf, size_t size) {
  static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  size_t u = 0;
  while (bytes >= 1024 && u < sizeof units / sizeof units[0] - 1) {
    bytes /= 1024;
    u++;
  }
  snprintf(buf, size, "%.4g%s", bytes, units[u]);
}

void top_fmt_ticks(uint64_t ticks, long hz, char *buf, size_t size) {
  if (hz <= 0)
    hz = 100;
  uint64_t cs = ticks * 100 / (uint64_t)hz;
  uint64_t mins = cs / 6000, secs = cs / 100 % 60, hund = cs % 100;
  if (mins < 10000)
    snprintf(buf, size, "%llu:%02llu.%02llu", (unsigned long long)mins, (unsigned long long)secs,
             (unsigned long long)hund);
  else
    snprintf(buf, size, "%lluh", (unsigned long long)(mins / 60));
}

void top_fmt_uptime(double secs, char *buf, size_t size) {
  long s = (long)secs;
  long days = s / 86400, hours = s / 3600 % 24, mins = s / 60 % 60;
  char d[32] = "";
  if (days)
    snprintf(d, sizeof d, "%ld day%s, ", days, days == 1 ? "" : "s");
  if (hours)
    snprintf(buf, size, "%s%ld:%02ld", d, hours, mins);
  else
    snprintf(buf, size, "%s%ld min", d, mins);
}

void top_fmt_header(const struct top_snapshot *snap, char line1[256], char line2[256],
                    char line3[256]) {
  time_t t = (time_t)(snap->wall_ns / 1000000000);
  struct tm tm;
  char clock[16] = "";
  if (localtime_r(&t, &tm))
    strftime(clock, sizeof clock, "%H:%M:%S", &tm);
  char up[64];
  top_fmt_uptime(snap->uptime, up, sizeof up);
  snprintf(line1, 256, "crowbar top - %s up %s, load average: %.2f, %.2f, %.2f", clock, up,
           snap->host.load[0], snap->host.load[1], snap->host.load[2]);
  size_t paused = 0;
  for (size_t i = 0; i < snap->nctrs; i++)
    if (snap->ctrs[i].usage.frozen)
      paused++;
  snprintf(line2, 256, "Containers: %zu running, %zu paused; processes: %zu; CPUs: %ld",
           snap->nctrs - paused, paused, snap->nprocs, snap->host.ncpu);
  const struct top_host *h = &snap->host;
  uint64_t cache = h->mem_buffers + h->mem_cached;
  uint64_t used = h->mem_total > h->mem_free + cache ? h->mem_total - h->mem_free - cache : 0;
  snprintf(line3, 256, "MiB Mem: %.1f total, %.1f free, %.1f used, %.1f buff/cache, %.1f avail Mem",
           (double)h->mem_total / 1024, (double)h->mem_free / 1024, (double)used / 1024,
           (double)cache / 1024, (double)h->mem_avail / 1024);
}

void top_fmt_titles(const struct top_widths *w, char *buf, size_t size) {
  int n = 0;
  if (w->show_ctr)
    n = snprintf(buf, size, "%-*s ", w->ctr, "CONTAINER");
  if (n < 0 || (size_t)n >= size)
    return;
  snprintf(buf + n, size - (size_t)n, "%*s %*s %-*s S  %%CPU %*s %*s      TIME COMMAND", w->pid,
           "PID", w->cpid, "CPID", w->user, "USER", w->rss, "RSS", w->thr, "THR");
}

static void limit_text(int64_t v, bool bytes, char *buf, size_t size) {
  if (v < 0)
    snprintf(buf, size, "?");
  else if (v == 0)
    snprintf(buf, size, "unlimited");
  else if (bytes)
    top_fmt_bytes((double)v, buf, size);
  else
    snprintf(buf, size, "%lld", (long long)v);
}

void top_fmt_ctr(const struct top_ctr *c, char *buf, size_t size) {
  char mem[32], memlim[32], pids[32], pidlim[32];
  if (c->usage.mem_usage >= 0)
    top_fmt_bytes((double)c->usage.mem_usage, mem, sizeof mem);
  else
    top_fmt_bytes((double)c->rss_kb * 1024, mem, sizeof mem);
  limit_text(c->usage.mem_limit, true, memlim, sizeof memlim);
  if (c->usage.pids >= 0)
    snprintf(pids, sizeof pids, "%lld", (long long)c->usage.pids);
  else
    snprintf(pids, sizeof pids, "%zu", c->nprocs);
  limit_text(c->usage.pids_limit, false, pidlim, sizeof pidlim);
  snprintf(buf, size, "%s (%.12s): CPU %.1f%%, MEM %s / %s, PIDS %s / %s%s", c->name, c->id, c->cpu,
           mem, memlim, pids, pidlim, c->usage.frozen ? ", paused" : "");
}

void top_fmt_proc_prefix(const struct top_snapshot *snap, const struct top_proc *p, int depth,
                         long hz, const struct top_widths *w, char *buf, size_t size) {
  char tm[24];
  top_fmt_ticks(p->ticks, hz, tm, sizeof tm);
  int n = 0;
  if (w->show_ctr)
    n = snprintf(buf, size, "%-*.*s ", w->ctr, w->ctr, snap->ctrs[p->ctr].name);
  if (n < 0 || (size_t)n >= size)
    return;
  char cpid[16];
  if (p->cpid)
    snprintf(cpid, sizeof cpid, "%d", p->cpid);
  else
    strcpy(cpid, "-");
  int m = snprintf(buf + n, size - (size_t)n, "%*d %*s %-*.*s %c %5.1f %*llu %*ld %9s ", w->pid,
                   p->pid, w->cpid, cpid, w->user, w->user, p->user, p->state, p->cpu, w->rss,
                   (unsigned long long)p->rss_kb, w->thr, p->threads, tm);
  if (m < 0 || (size_t)(n + m) >= size)
    return;
  n += m;
  for (int d = 1; d < depth && (size_t)n + 4 < size; d++) {
    memcpy(buf + n, "    ", 4);
    n += 4;
  }
  if (depth > 0 && (size_t)n + 4 < size) {
    memcpy(buf + n, " \\_ ", 4);
    n += 4;
  }
  buf[n] = '\0';
}
