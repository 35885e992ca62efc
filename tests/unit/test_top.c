/* SPDX-License-Identifier: GPL-2.0-or-later */
/* top's data layer without a terminal: real samples of processes put in a real crowbar
 * cgroup (host and container PIDs, users from the root's passwd, %CPU over an interval,
 * limits), the rows (sort keys, trees, blocks or flat, the container filter), the text and
 * JSON printers, and the small pieces (%CPU, printable text, passwd names, units). The
 * tool's sources are included so that its static functions are tested as built. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "../../tools/top/batch.c"
#include "../../tools/top/order.c"
#include "../../tools/top/sample.c"
#include "../../tools/top/text.c"
#include "crowbar/cgroup.h"

/* ---- small pieces ---- */

static void test_cpu_percent(void **state) {
  /* 100 ticks over one second at 100 Hz: one whole CPU. */
  assert_true(fabs(top_cpu_percent(400, 300, true, 1.0, 0, 50, 100) - 100.0) < 1e-9);
  /* Two CPUs' worth: 200% (top's Irix mode). */
  assert_true(fabs(top_cpu_percent(500, 300, true, 1.0, 0, 50, 100) - 200.0) < 1e-9);
  /* A process new since the last sample: all its ticks over the interval. */
  assert_true(fabs(top_cpu_percent(30, 0, false, 3.0, 0, 50, 100) - 10.0) < 1e-9);
  /* A first sample: over its life, as ps: 50 ticks in the 10 s since it started at 1 s. */
  assert_true(fabs(top_cpu_percent(50, 0, false, 0, 100, 11.0, 100) - 5.0) < 1e-9);
  /* Counters never go back; a broken clock gives 0, not garbage. */
  assert_true(top_cpu_percent(100, 200, true, 1.0, 0, 50, 100) == 0);
  assert_true(top_cpu_percent(50, 0, false, 0, 2000, 11.0, 100) == 0);
}

static void test_printable(void **state) {
  char *s = top_printable("a\033[2Jb\tc\x80", 9, false);
  assert_string_equal(s, "a?[2Jb?c?");
  free(s);
  s = top_printable("sleep\0"
                    "10\0",
                    8, true);
  assert_string_equal(s, "sleep 10");
  free(s);
}

static void test_names(void **state) {
  const char text[] = "root:x:0:0:root:/root:/bin/sh\n"
                      "\n"
                      "garbage line\n"
                      "evil\033]0;pwned\007:x:666:666::/:/bin/sh\n"
                      "app:x:1000:1000:app:/home/app:/bin/sh\n"
                      "again:x:1000:1000::/:/bin/sh\n"
                      "a-very-long-user-name-that-goes-on-and-on:x:7:7::/:\n"
                      "neg:x:-1:0::/:\n"
                      "big:x:99999999999:0::/:\n"
                      "wrap:x:4294967296:0::/:\n"
                      "nobody:x:65534:65534:nobody:/nonexistent:/bin/false";
  struct top_names *n = top_names_parse(text, sizeof text - 1);
  assert_string_equal(top_names_find(n, 0), "root");
  /* The first line of a uid wins, as getpwuid finds it. */
  assert_string_equal(top_names_find(n, 1000), "app");
  assert_string_equal(top_names_find(n, 65534), "nobody");
  /* A container's name is its own to choose: no escape reaches a terminal. */
  assert_string_equal(top_names_find(n, 666), "evil?]0;pwned?");
  assert_int_equal(strlen(top_names_find(n, 7)), TOP_USER_LEN - 1);
  assert_null(top_names_find(n, 1));
  assert_null(top_names_find(n, (uid_t)-1));
  top_names_free(n);
  assert_null(top_names_find(NULL, 0));
}

static void test_units(void **state) {
  char b[64];
  top_fmt_bytes(0, b, sizeof b);
  assert_string_equal(b, "0B");
  top_fmt_bytes(1536, b, sizeof b);
  assert_string_equal(b, "1.5KiB");
  top_fmt_bytes(64.0 * 1024 * 1024, b, sizeof b);
  assert_string_equal(b, "64MiB");
  top_fmt_bytes(12.34 * 1024 * 1024, b, sizeof b);
  assert_string_equal(b, "12.34MiB");
  top_fmt_ticks(12345, 100, b, sizeof b);
  assert_string_equal(b, "2:03.45");
  top_fmt_ticks(0, 100, b, sizeof b);
  assert_string_equal(b, "0:00.00");
  top_fmt_ticks(100ULL * 60 * 20000, 100, b, sizeof b);
  assert_string_equal(b, "333h");
  top_fmt_uptime(9 * 60 + 5, b, sizeof b);
  assert_string_equal(b, "9 min");
  top_fmt_uptime(3900, b, sizeof b);
  assert_string_equal(b, "1:05");
  top_fmt_uptime(2 * 86400 + 3900, b, sizeof b);
  assert_string_equal(b, "2 days, 1:05");
  assert_int_equal(top_sort_parse("MEM"), TOP_SORT_MEM);
  assert_int_equal(top_sort_parse("%cpu"), TOP_SORT_CPU);
  assert_int_equal(top_sort_parse("nope"), -1);
}

/* ---- rows of a made-up snapshot ---- */

/* Two containers: web (PID 1 = 100, its children 101 and 102, 102's child 103) and db (200,
 * whose parent 50 is outside it). */
static void make_snapshot(struct top_snapshot *s) {
  memset(s, 0, sizeof *s);
  s->nctrs = 2;
  s->ctrs = xcalloc(2, sizeof *s->ctrs);
  const char *names[] = {"db", "web"};
  for (size_t i = 0; i < 2; i++) {
    s->ctrs[i].name = xstrdup(names[i]);
    s->ctrs[i].cgroup = xasprintf("/crowbar/%s", names[i]);
    memset(s->ctrs[i].id, i ? 'b' : 'a', CB_ID_LEN);
    s->ctrs[i].usage = (struct cb_cgroup_usage){1 << 20, 64 << 20, 3, 100, false};
  }
  struct {
    pid_t pid, cpid, ppid;
    double cpu;
    uint64_t rss, ticks;
    size_t ctr;
  } p[] = {
      {200, 1, 50, 5.0, 800, 900, 0},  {100, 1, 90, 1.0, 100, 50, 1},
      {101, 2, 100, 50.0, 300, 10, 1}, {102, 3, 100, 2.0, 900, 700, 1},
      {103, 4, 102, 0.5, 50, 5, 1},
  };
  s->nprocs = sizeof p / sizeof p[0];
  s->procs = xcalloc(s->nprocs, sizeof *s->procs);
  for (size_t i = 0; i < s->nprocs; i++) {
    struct top_proc *q = &s->procs[i];
    q->pid = p[i].pid;
    q->cpid = p[i].cpid;
    q->ppid = p[i].ppid;
    q->cpu = p[i].cpu;
    q->rss_kb = p[i].rss;
    q->ticks = p[i].ticks;
    q->ctr = p[i].ctr;
    q->state = 'S';
    q->threads = 1;
    strcpy(q->user, "root");
    q->cmd = xasprintf("cmd-%d --flag", q->pid);
  }
}

static pid_t row_pid(const struct top_snapshot *s, const struct top_row *r) {
  return r->kind == TOP_ROW_PROC ? s->procs[r->idx].pid : -(pid_t)r->idx - 1;
}

static void test_rows(void **state) {
  struct top_snapshot s;
  make_snapshot(&s);
  size_t n;
  /* Blocks by container name, processes by %CPU. */
  struct top_order o = {.sort = TOP_SORT_CPU};
  struct top_row *r = top_order_rows(&s, &o, &n);
  pid_t want1[] = {-1, 200, -2, 101, 102, 100, 103};
  assert_int_equal(n, 7);
  for (size_t i = 0; i < n; i++)
    assert_int_equal(row_pid(&s, &r[i]), want1[i]);
  free(r);
  /* By memory, reversed: the smallest first. */
  o = (struct top_order){.sort = TOP_SORT_MEM, .reverse = true};
  r = top_order_rows(&s, &o, &n);
  pid_t want2[] = {-1, 200, -2, 103, 100, 101, 102};
  for (size_t i = 0; i < n; i++)
    assert_int_equal(row_pid(&s, &r[i]), want2[i]);
  free(r);
  /* Flat, by time: no container rows. */
  o = (struct top_order){.sort = TOP_SORT_TIME, .flat = true};
  r = top_order_rows(&s, &o, &n);
  pid_t want3[] = {200, 102, 100, 101, 103};
  assert_int_equal(n, 5);
  for (size_t i = 0; i < n; i++)
    assert_int_equal(row_pid(&s, &r[i]), want3[i]);
  free(r);
  /* Trees: children under their parents (sorted by PID among siblings), depths. */
  o = (struct top_order){.sort = TOP_SORT_PID, .tree = true};
  r = top_order_rows(&s, &o, &n);
  pid_t want4[] = {-1, 200, -2, 100, 101, 102, 103};
  int depth4[] = {0, 0, 0, 0, 1, 1, 2};
  for (size_t i = 0; i < n; i++) {
    assert_int_equal(row_pid(&s, &r[i]), want4[i]);
    assert_int_equal(r[i].depth, depth4[i]);
  }
  free(r);
  /* Siblings sorted by %CPU inside the tree. */
  o = (struct top_order){.sort = TOP_SORT_CPU, .tree = true, .flat = true};
  r = top_order_rows(&s, &o, &n);
  pid_t want5[] = {200, 100, 101, 102, 103};
  for (size_t i = 0; i < n; i++)
    assert_int_equal(row_pid(&s, &r[i]), want5[i]);
  free(r);
  /* The filter: a name's part or an ID's prefix. */
  o = (struct top_order){.sort = TOP_SORT_PID, .filter = "we"};
  r = top_order_rows(&s, &o, &n);
  assert_int_equal(n, 5);
  assert_int_equal(row_pid(&s, &r[0]), -2);
  free(r);
  o.filter = "aaaa";
  r = top_order_rows(&s, &o, &n);
  assert_int_equal(n, 2);
  assert_int_equal(row_pid(&s, &r[1]), 200);
  free(r);
  o.filter = "nothing";
  o.flat = true;
  r = top_order_rows(&s, &o, &n);
  assert_int_equal(n, 0);
  free(r);
  /* A cycle of parents (a sample is not atomic, PIDs are reused) loses no row. */
  s.procs[1].ppid = 103;
  o = (struct top_order){.sort = TOP_SORT_PID, .tree = true};
  r = top_order_rows(&s, &o, &n);
  assert_int_equal(n, 7);
  int seen = 0;
  for (size_t i = 0; i < n; i++)
    if (r[i].kind == TOP_ROW_PROC)
      seen++;
  assert_int_equal(seen, 5);
  free(r);
  top_snapshot_release(&s);
}

static char *print_to_string(int (*fn)(FILE *, const struct top_snapshot *,
                                       const struct top_order *, long),
                             const struct top_snapshot *s, const struct top_order *o) {
  FILE *f = tmpfile();
  assert_non_null(f);
  assert_int_equal(fn(f, s, o, 100), 0);
  long len = ftell(f);
  rewind(f);
  char *buf = xmalloc((size_t)len + 1);
  assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
  buf[len] = '\0';
  fclose(f);
  return buf;
}

static void test_print(void **state) {
  struct top_snapshot s;
  make_snapshot(&s);
  s.procs[1].state = 'R';
  s.procs[1].ticks = 12345;
  struct top_order o = {.sort = TOP_SORT_PID};
  char *text = print_to_string(top_print_text, &s, &o);
  /* The titles, each container headed by its totals, the rows with both PIDs. */
  assert_non_null(
      strstr(text, "\nCONTAINER   PID  CPID USER S  %CPU   RSS THR      TIME COMMAND\n"
                   "db (aaaaaaaaaaaa): CPU 0.0%, MEM 1MiB / 64MiB, PIDS 3 / 100\n"
                   "db          200     1 root S   5.0   800   1   0:09.00 cmd-200 --flag\n"
                   "web (bbbbbbbbbbbb): CPU 0.0%, MEM 1MiB / 64MiB, PIDS 3 / 100\n"
                   "web         100     1 root R   1.0   100   1   2:03.45 cmd-100 --flag\n"
                   "web         101     2 root S  50.0   300   1   0:00.10 cmd-101 --flag\n"));
  /* A tree: the command indented under its parent's. */
  o.tree = true;
  free(text);
  text = print_to_string(top_print_text, &s, &o);
  assert_non_null(strstr(text, "   0:00.10  \\_ cmd-101 --flag\n"));
  assert_non_null(strstr(text, "   0:00.05      \\_ cmd-103 --flag\n"));
  o.tree = false;
  free(text);

  char *js = print_to_string(top_print_json, &s, &o);
  assert_int_equal(strchr(js, '\n') - js, (long)strlen(js) - 1); /* one line */
  json_object *j = json_tokener_parse(js);
  assert_non_null(j);
  json_object *ctrs, *c, *procs, *p, *v;
  assert_true(json_object_object_get_ex(j, "Containers", &ctrs));
  assert_int_equal(json_object_array_length(ctrs), 2);
  c = json_object_array_get_idx(ctrs, 1);
  assert_true(json_object_object_get_ex(c, "Name", &v));
  assert_string_equal(json_object_get_string(v), "web");
  assert_true(json_object_object_get_ex(c, "MemoryLimit", &v));
  assert_int_equal(json_object_get_int64(v), 64 << 20);
  assert_true(json_object_object_get_ex(c, "Processes", &procs));
  assert_int_equal(json_object_array_length(procs), 4);
  p = json_object_array_get_idx(procs, 0);
  assert_true(json_object_object_get_ex(p, "PID", &v));
  assert_int_equal(json_object_get_int(v), 100);
  assert_true(json_object_object_get_ex(p, "CPID", &v));
  assert_int_equal(json_object_get_int(v), 1);
  assert_true(json_object_object_get_ex(p, "Time", &v));
  assert_true(fabs(json_object_get_double(v) - 123.45) < 1e-9);
  assert_true(json_object_object_get_ex(p, "RSS", &v));
  assert_int_equal(json_object_get_int64(v), 100 * 1024);
  assert_true(json_object_object_get_ex(p, "Command", &v));
  assert_string_equal(json_object_get_string(v), "cmd-100 --flag");
  json_object_put(j);
  free(js);
  top_snapshot_release(&s);
}

/* ---- real samples ---- */

struct fake {
  char id[CB_ID_LEN + 1];
  pid_t sleeper, spinner;
  bool made;
};

static int fake_setup(void **state) {
  if (geteuid() != 0 || cb_cgroup_detect() == CB_CGROUP_NONE)
    return 0;
  struct fake *f = xcalloc(1, sizeof *f);
  cb_error_t err = NULL;
  assert_int_equal(cb_random_id(f->id, &err), 0);
  struct cb_cgroup_limits lim = {.memory = 64 << 20, .pids = 50};
  if (cb_cgroup_create(f->id, &lim, &err) < 0) {
    cb_error_release(&err);
    free(f);
    return 0;
  }
  f->made = true;
  /* A sleeper as nobody, and a spinner. They join the cgroup before they exec. */
  int go[2];
  assert_int_equal(pipe(go), 0);
  f->sleeper = fork();
  if (f->sleeper == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    char c;
    close(go[1]);
    if (read(go[0], &c, 1) != 1 || setgid(65534) < 0 || setuid(65534) < 0)
      _exit(1);
    /* A change of credentials clears the parent-death signal: set it again. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() == 1)
      _exit(1);
    execl("/bin/sleep", "sleep", "1000", (char *)NULL);
    _exit(127);
  }
  f->spinner = fork();
  if (f->spinner == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    char c;
    close(go[1]);
    if (read(go[0], &c, 1) != 1)
      _exit(1);
    for (volatile unsigned long i = 0;; i++)
      ;
  }
  close(go[0]);
  assert_int_equal(cb_cgroup_add_pid(f->id, f->sleeper, &err), 0);
  assert_int_equal(cb_cgroup_add_pid(f->id, f->spinner, &err), 0);
  assert_int_equal(write(go[1], "gg", 2), 2);
  close(go[1]);
  /* Wait (no clock: until it is so) for the sleeper's exec. */
  char comm[64] = "";
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/comm", f->sleeper);
  while (strcmp(comm, "sleep\n") != 0) {
    FILE *fp = fopen(path, "r");
    if (fp) {
      if (!fgets(comm, sizeof comm, fp))
        comm[0] = '\0';
      fclose(fp);
    }
    usleep(1000);
  }
  *state = f;
  return 0;
}

static int fake_teardown(void **state) {
  struct fake *f = *state;
  if (!f)
    return 0;
  int st;
  if (f->sleeper > 0) {
    kill(f->sleeper, SIGKILL);
    waitpid(f->sleeper, &st, 0);
  }
  if (f->spinner > 0) {
    kill(f->spinner, SIGKILL);
    waitpid(f->spinner, &st, 0);
  }
  cb_error_t err = NULL;
  if (f->made && cb_cgroup_destroy(f->id, &err) < 0)
    cb_error_release(&err);
  free(f);
  return 0;
}

static const struct top_ctr *find_ctr(const struct top_snapshot *s, const char *id) {
  for (size_t i = 0; i < s->nctrs; i++)
    if (!strcmp(s->ctrs[i].id, id))
      return &s->ctrs[i];
  return NULL;
}

static const struct top_proc *find_proc(const struct top_snapshot *s, pid_t pid) {
  for (size_t i = 0; i < s->nprocs; i++)
    if (s->procs[i].pid == pid)
      return &s->procs[i];
  return NULL;
}

static uint64_t ticks_of(pid_t pid) {
  struct cb_proc_stat st;
  cb_error_t err = NULL;
  if (cb_proc_stat(pid, &st, &err) < 0) {
    cb_error_release(&err);
    return 0;
  }
  return st.utime + st.stime;
}

static void test_sample(void **state) {
  struct fake *f = *state;
  if (!f)
    skip(); /* not root, or no cgroups to make */
  struct top_sampler s;
  cb_error_t err = NULL;
  assert_int_equal(top_sampler_init(&s, NULL, &err), 0);
  struct top_snapshot snap = {0};
  assert_int_equal(top_sample(&s, &snap, &err), 0);
  assert_true(snap.interval == 0);
  const struct top_ctr *c = find_ctr(&snap, f->id);
  assert_non_null(c);
  assert_int_equal(c->nprocs, 2);
  assert_int_equal(c->usage.mem_limit, 64 << 20);
  assert_int_equal(c->usage.pids_limit, 50);
  assert_true(c->usage.pids >= 2);
  assert_false(c->usage.frozen);
  const struct top_proc *p = find_proc(&snap, f->sleeper);
  assert_non_null(p);
  assert_ptr_equal(&snap.ctrs[p->ctr], c);
  assert_string_equal(p->cmd, "sleep 1000");
  assert_string_equal(p->comm, "sleep");
  assert_int_equal(p->uid, 65534);
  assert_int_equal(p->cpid, f->sleeper); /* no PID namespace here: the same number */
  assert_int_equal(p->ppid, getpid());
  assert_true(p->rss_kb > 0);
  assert_int_equal(p->threads, 1);
  /* The name from the passwd of the container's root: here, the host's. */
  char line[256], want[64] = "65534";
  FILE *pw = fopen("/etc/passwd", "r");
  while (pw && fgets(line, sizeof line, pw))
    if (strstr(line, ":x:65534:") || strstr(line, ":*:65534:"))
      snprintf(want, sizeof want, "%.*s", (int)strcspn(line, ":"), line);
  if (pw)
    fclose(pw);
  assert_string_equal(p->user, want);
  /* The process's container, from its own cgroup file. */
  const struct cb_cgroup_engine *engines[] = {&cb_cgroup_engine_crowbar};
  char id[CB_ID_LEN + 1];
  assert_int_equal(cb_cgroup_container_of(AT_FDCWD, f->sleeper, engines, 1, id, NULL, &err), 1);
  assert_string_equal(id, f->id);

  /* %CPU over an interval: wait until the spinner has used a few ticks more. */
  uint64_t t0 = ticks_of(f->spinner);
  while (ticks_of(f->spinner) < t0 + 5)
    usleep(10000);
  const struct top_proc *q = find_proc(&snap, f->spinner);
  assert_non_null(q);
  uint64_t before = q->ticks;
  assert_int_equal(top_sample(&s, &snap, &err), 0);
  assert_true(snap.interval > 0);
  q = find_proc(&snap, f->spinner);
  assert_non_null(q);
  assert_true(q->ticks >= before + 5);
  double want_cpu = (double)(q->ticks - before) * 100.0 / ((double)s.hz * snap.interval);
  assert_true(fabs(q->cpu - want_cpu) < 1e-6);
  assert_true(q->cpu > 0);
  p = find_proc(&snap, f->sleeper);
  assert_true(p->cpu == 0);
  c = find_ctr(&snap, f->id);
  assert_true(fabs(c->cpu - (p->cpu + q->cpu)) < 1e-6);

  /* The ids from the ioctls (the container's PID namespace, from its PID 1 as the engine
   * would say; here the sleeper's, the host's) and from status agree. */
  for (int fast = 0; fast < 2; fast++) {
    struct top_sampler s2;
    struct top_snapshot snap2 = {0};
    assert_int_equal(top_sampler_init(&s2, NULL, &err), 0);
    s2.fast_ids = fast;
    top_sampler_only(&s2, f->id, "ids", f->sleeper);
    assert_int_equal(top_sample(&s2, &snap2, &err), 0);
    const struct top_proc *a = find_proc(&snap2, f->sleeper);
    const struct top_proc *b = find_proc(&snap2, f->spinner);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(a->cpid, f->sleeper);
    assert_int_equal(a->uid, 65534);
    assert_int_equal(b->cpid, f->spinner);
    assert_int_equal(b->uid, 0);
    assert_string_equal(snap2.ctrs[0].name, "ids");
    top_snapshot_release(&snap2);
    top_sampler_release(&s2);
  }

  /* One process gone: the next sample drops it. */
  int st;
  kill(f->spinner, SIGKILL);
  waitpid(f->spinner, &st, 0);
  f->spinner = 0;
  for (int i = 0; i < 3; i++) {
    assert_int_equal(top_sample(&s, &snap, &err), 0);
    assert_null(find_proc(&snap, (pid_t)-1));
    c = find_ctr(&snap, f->id);
    assert_non_null(c);
    assert_int_equal(c->nprocs, 1);
    p = find_proc(&snap, f->sleeper);
    assert_non_null(p);
    /* status and cmdline are not read every time: what they said is kept. */
    assert_string_equal(p->cmd, "sleep 1000");
    assert_int_equal(p->uid, 65534);
  }

  /* Only the containers asked for. */
  char other[CB_ID_LEN + 1];
  memset(other, 'f', CB_ID_LEN);
  other[CB_ID_LEN] = '\0';
  top_sampler_only(&s, other, "other", 0);
  assert_int_equal(top_sample(&s, &snap, &err), 0);
  assert_int_equal(snap.nctrs, 0);
  top_sampler_only(&s, f->id, "mine", 0);
  assert_int_equal(top_sample(&s, &snap, &err), 0);
  c = find_ctr(&snap, f->id);
  assert_non_null(c);
  assert_int_equal(snap.nctrs, 1);
  /* Known already (without an engine, by its short ID): the name stays. */
  assert_int_equal(strncmp(c->name, f->id, 12), 0);
  assert_int_equal(c->nprocs, 1);
  top_snapshot_release(&snap);
  top_sampler_release(&s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cpu_percent),
      cmocka_unit_test(test_printable),
      cmocka_unit_test(test_names),
      cmocka_unit_test(test_units),
      cmocka_unit_test(test_rows),
      cmocka_unit_test(test_print),
      cmocka_unit_test_setup_teardown(test_sample, fake_setup, fake_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
