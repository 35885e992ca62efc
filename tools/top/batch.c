/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "batch.h"
#include "crowbar/format.h"
#include "text.h"

int top_print_text(FILE *out, const struct top_snapshot *snap, const struct top_order *o, long hz) {
  char l1[256], l2[256], l3[256];
  top_fmt_header(snap, l1, l2, l3);
  fprintf(out, "%s\n%s\n%s\n\n", l1, l2, l3);
  size_t n = 0;
  struct top_row *rows = top_order_rows(snap, o, &n);
  struct top_widths w;
  top_widths_compute(snap, rows, n, true, &w);
  char buf[512];
  top_fmt_titles(&w, buf, sizeof buf);
  fprintf(out, "%s\n", buf);
  for (size_t i = 0; i < n; i++) {
    if (rows[i].kind == TOP_ROW_CTR) {
      top_fmt_ctr(&snap->ctrs[rows[i].idx], buf, sizeof buf);
      fputs_unlocked(buf, out);
      putc_unlocked('\n', out);
      continue;
    }
    const struct top_proc *p = &snap->procs[rows[i].idx];
    top_fmt_proc_prefix(snap, p, rows[i].depth, hz, &w, buf, sizeof buf);
    fputs_unlocked(buf, out);
    fputs_unlocked(p->cmd, out);
    putc_unlocked('\n', out);
  }
  putc_unlocked('\n', out);
  free(rows);
  return ferror(out) ? -1 : 0;
}

/* A number with one decimal, printed as such (json-c would print 0.30000000000000004). */
static json_object *one_decimal(double v) {
  char text[32];
  if (!isfinite(v))
    v = 0;
  snprintf(text, sizeof text, "%.1f", v);
  return json_object_new_double_s(strtod(text, NULL), text);
}

static json_object *limit_json(int64_t v) {
  return v < 0 ? NULL : json_object_new_int64(v);
}

int top_print_json(FILE *out, const struct top_snapshot *snap, const struct top_order *o, long hz) {
  json_object *root = json_object_new_object();
  char ts[CB_RFC3339_LEN];
  cb_format_rfc3339nano(snap->wall_ns, ts);
  json_object_object_add(root, "Time", json_object_new_string(ts));
  json_object_object_add(root, "Uptime", one_decimal(snap->uptime));
  char iv[32];
  snprintf(iv, sizeof iv, "%.3f", snap->interval);
  json_object_object_add(root, "Interval", json_object_new_double_s(snap->interval, iv));
  json_object *load = json_object_new_array();
  for (int i = 0; i < 3; i++) {
    char t[16];
    snprintf(t, sizeof t, "%.2f", snap->host.load[i]);
    json_object_array_add(load, json_object_new_double_s(snap->host.load[i], t));
  }
  json_object_object_add(root, "Load", load);
  json_object_object_add(root, "MemTotal",
                         json_object_new_int64((int64_t)snap->host.mem_total * 1024));
  json_object_object_add(root, "MemAvailable",
                         json_object_new_int64((int64_t)snap->host.mem_avail * 1024));
  json_object *ctrs = json_object_new_array();
  json_object_object_add(root, "Containers", ctrs);

  size_t n = 0;
  struct top_row *rows = top_order_rows(snap, o, &n);
  /* The containers in row order; in a flat order, each once, in the order of the
   * snapshot. */
  json_object **procs_of = calloc(snap->nctrs ? snap->nctrs : 1, sizeof *procs_of);
  if (!procs_of)
    oom();
  for (size_t ci = 0; ci < snap->nctrs; ci++) {
    const struct top_ctr *c = &snap->ctrs[ci];
    if (!top_ctr_matches(c, o->filter))
      continue;
    json_object *jc = json_object_new_object();
    json_object_object_add(jc, "ID", json_object_new_string(c->id));
    json_object_object_add(jc, "Name", json_object_new_string(c->name));
    json_object_object_add(jc, "CPU", one_decimal(c->cpu));
    json_object_object_add(jc, "Memory", limit_json(c->usage.mem_usage));
    json_object_object_add(jc, "MemoryLimit", limit_json(c->usage.mem_limit));
    json_object_object_add(jc, "Pids", limit_json(c->usage.pids));
    json_object_object_add(jc, "PidsLimit", limit_json(c->usage.pids_limit));
    json_object_object_add(jc, "Paused", json_object_new_boolean(c->usage.frozen));
    procs_of[ci] = json_object_new_array();
    json_object_object_add(jc, "Processes", procs_of[ci]);
    json_object_array_add(ctrs, jc);
  }
  for (size_t i = 0; i < n; i++) {
    if (rows[i].kind != TOP_ROW_PROC)
      continue;
    const struct top_proc *p = &snap->procs[rows[i].idx];
    json_object *jp = json_object_new_object();
    json_object_object_add(jp, "PID", json_object_new_int(p->pid));
    json_object_object_add(jp, "CPID", json_object_new_int(p->cpid));
    json_object_object_add(jp, "PPID", json_object_new_int(p->ppid));
    json_object_object_add(jp, "User", json_object_new_string(p->user));
    json_object_object_add(jp, "UID", json_object_new_int64(p->uid));
    char st[2] = {p->state, '\0'};
    json_object_object_add(jp, "State", json_object_new_string(st));
    json_object_object_add(jp, "CPU", one_decimal(p->cpu));
    json_object_object_add(jp, "RSS", json_object_new_int64((int64_t)p->rss_kb * 1024));
    json_object_object_add(jp, "Threads", json_object_new_int64(p->threads));
    char secs[32];
    snprintf(secs, sizeof secs, "%.2f", hz > 0 ? (double)p->ticks / (double)hz : 0);
    json_object_object_add(jp, "Time", json_object_new_double_s(strtod(secs, NULL), secs));
    json_object_object_add(jp, "Command", json_object_new_string(p->cmd));
    json_object_array_add(procs_of[p->ctr], jp);
  }
  free(rows);
  free(procs_of);
  fputs_unlocked(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN), out);
  putc_unlocked('\n', out);
  json_object_put(root);
  return ferror(out) ? -1 : 0;
}

static void sleep_secs(double s) {
  struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
    ;
}

int top_batch(struct top_sampler *s, const struct top_batch_opts *o, cb_error_t *err) {
  struct top_snapshot snap = {0};
  int rc = 0;
  for (long i = 0; o->iterations == 0 || i < o->iterations; i++) {
    if (i > 0)
      sleep_secs(o->delay);
    if (top_sample(s, &snap, err) < 0) {
      rc = -1;
      break;
    }
    int w = o->json ? top_print_json(stdout, &snap, &o->order, s->hz)
                    : top_print_text(stdout, &snap, &o->order, s->hz);
    if (w < 0 || fflush(stdout) != 0) {
      rc = cb_error_sys(err, "write");
      break;
    }
  }
  top_snapshot_release(&snap);
  return rc;
}
