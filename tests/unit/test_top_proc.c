/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What top reads through libcommon: stat and status parsed (a comm with parentheses and
 * blanks, NSpid, capability sets, seccomp), one process read in one pass, capability
 * names, descriptors and the sockets behind them, and the crowbar cgroup pattern. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/capability.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crowbar/cgroupmap.h"
#include "crowbar/proc.h"
#include "crowbar/util.h"

static void test_stat_parse(void **state) {
  /* A comm may hold ") (" and blanks: it ends at the last ')'. */
  char text[] = "4242 (a) b) (c d) S 17 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0 "
                "123456 10000000 321 18446744073709551615\n";
  struct cb_proc_stat st;
  assert_int_equal(cb_proc_stat_parse(text, 4242, &st), 0);
  assert_string_equal(st.comm, "a) b) (c d");
  assert_int_equal(st.state, 'S');
  assert_int_equal(st.ppid, 17);
  assert_int_equal(st.utime, 250);
  assert_int_equal(st.stime, 50);
  assert_int_equal(st.nice, 0);
  assert_int_equal(st.threads, 3);
  assert_int_equal(st.start_time, 123456);
  assert_int_equal(st.vsize, 10000000);
  assert_int_equal(st.rss_pages, 321);

  char shortline[] = "1 (init) S 0 1 1";
  assert_int_equal(cb_proc_stat_parse(shortline, 1, &st), -1);
  char nocomm[] = "1 init S 0 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0";
  assert_int_equal(cb_proc_stat_parse(nocomm, 1, &st), -1);
}

static void test_status_parse(void **state) {
  const char *text = "Name:\tsleep\n"
                     "Tgid:\t9001\n"
                     "Uid:\t1000\t1001\t1002\t1003\n"
                     "Gid:\t50\t51\t52\t53\n"
                     "NSpid:\t9001\t77\t1\n"
                     "Threads:\t4\n"
                     "CapInh:\t0000000000000000\n"
                     "CapPrm:\t00000000a80425fb\n"
                     "CapEff:\t00000000a80425fb\n"
                     "CapBnd:\t000001ffffffffff\n"
                     "CapAmb:\t0000000000000000\n"
                     "NoNewPrivs:\t1\n"
                     "Seccomp:\t2\n"
                     "Seccomp_filters:\t3\n";
  struct cb_proc_status st;
  cb_proc_status_parse(text, &st);
  assert_int_equal(st.tgid, 9001);
  assert_int_equal(st.uid[0], 1000);
  assert_int_equal(st.uid[1], 1001);
  assert_int_equal(st.uid[3], 1003);
  assert_int_equal(st.gid[2], 52);
  assert_int_equal(st.nspid_n, 3);
  assert_int_equal(st.nspid[0], 9001);
  assert_int_equal(cb_proc_status_cpid(&st), 1);
  assert_int_equal(st.threads, 4);
  assert_int_equal(st.cap_eff, 0xa80425fbULL);
  assert_int_equal(st.cap_bnd, 0x1ffffffffffULL);
  assert_int_equal(st.no_new_privs, 1);
  assert_int_equal(st.seccomp, 2);
  assert_int_equal(st.seccomp_filters, 3);

  /* An old kernel says nothing of these: unknown, not "off". */
  cb_proc_status_parse("Name:\tx\nUid:\t0\t0\t0\t0\n", &st);
  assert_int_equal(st.no_new_privs, -1);
  assert_int_equal(st.seccomp, -1);
  assert_int_equal(st.nspid_n, 0);
  assert_int_equal(cb_proc_status_cpid(&st), 0);
}

static void test_read_self(void **state) {
  int procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  assert_true(procfd >= 0);
  struct cb_proc_info pi;
  cb_error_t err = NULL;
  assert_int_equal(cb_proc_read(procfd, getpid(),
                                CB_PROC_READ_STAT | CB_PROC_READ_STATUS | CB_PROC_READ_STATM |
                                    CB_PROC_READ_CMDLINE,
                                &pi, &err),
                   0);
  assert_int_equal(pi.stat.pid, getpid());
  assert_int_equal(pi.stat.ppid, getppid());
  assert_int_equal(pi.stat.state, 'R');
  assert_int_equal(pi.status.uid[1], geteuid());
  assert_int_equal(pi.status.nspid[0], getpid());
  assert_true(pi.statm.resident > 0);
  /* argv[0] first, NUL-separated, no trailing NUL counted. */
  assert_true(pi.cmdline_len > 0);
  assert_non_null(strstr(pi.cmdline, "test_top_proc"));
  assert_true(pi.cmdline[pi.cmdline_len - 1] != '\0');
  cb_proc_info_release(&pi);

  /* Through AT_FDCWD too, and the stat descriptor read again and again. */
  assert_int_equal(cb_proc_read(AT_FDCWD, getpid(), CB_PROC_READ_STAT, &pi, &err), 0);
  int fd = cb_proc_stat_open(procfd, getpid());
  assert_true(fd >= 0);
  struct cb_proc_stat st;
  assert_int_equal(cb_proc_stat_pread(fd, getpid(), &st), 0);
  assert_int_equal(cb_proc_stat_pread(fd, getpid(), &st), 0);
  assert_int_equal(st.start_time, pi.stat.start_time);
  close(fd);

  /* A process that is gone. */
  pid_t child = fork();
  if (child == 0)
    _exit(0);
  int fd2 = cb_proc_stat_open(procfd, child);
  assert_true(fd2 >= 0);
  int status;
  waitpid(child, &status, 0);
  assert_int_equal(cb_proc_stat_pread(fd2, child, &st), -1);
  close(fd2);
  assert_int_equal(cb_proc_read(procfd, child, CB_PROC_READ_STAT, &pi, &err), -1);
  cb_error_release(&err);
  close(procfd);
}

static void test_ids_without_status(void **state) {
  struct cb_proc_ids ids;
  if (cb_proc_ids(getpid(), &ids) == 0) {
    assert_int_equal(ids.euid, geteuid());
    assert_int_equal(ids.ruid, getuid());
    assert_int_equal(ids.egid, getegid());
    assert_int_equal(ids.ppid, getppid());
  } else {
    assert_true(errno == ENOTTY || errno == EINVAL); /* a kernel before 6.13 */
  }
  int nsfd = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
  assert_true(nsfd >= 0);
  pid_t t = cb_pidns_tgid(nsfd, getpid());
  if (t >= 0)
    assert_int_equal(t, getpid());
  else
    assert_true(errno == ENOTTY || errno == EINVAL); /* before 6.10 */
  /* A PID nobody has: not in the namespace. */
  if (t >= 0)
    assert_int_equal(cb_pidns_tgid(nsfd, 0x3fffffff), 0);
  close(nsfd);
  assert_int_equal(cb_proc_ids(0x3fffffff, &ids), -1);
}

static void test_caps_names(void **state) {
  char *s = cb_caps_names(0);
  assert_string_equal(s, "");
  free(s);
  s = cb_caps_names((1ULL << CAP_CHOWN) | (1ULL << CAP_KILL) | (1ULL << CAP_NET_BIND_SERVICE));
  assert_string_equal(s, "CAP_CHOWN CAP_KILL CAP_NET_BIND_SERVICE");
  free(s);
  /* Docker's default set, as /proc shows it for a container's process. */
  s = cb_caps_names(0xa80425fbULL);
  assert_non_null(strstr(s, "CAP_SETFCAP"));
  assert_non_null(strstr(s, "CAP_AUDIT_WRITE"));
  assert_null(strstr(s, "CAP_SYS_ADMIN"));
  free(s);
  /* Every capability this kernel knows: ALL; a bit libcap has no name for: its number. */
  uint64_t all = 0;
  for (unsigned i = 0; i < (unsigned)cap_max_bits(); i++)
    all |= 1ULL << i;
  s = cb_caps_names(all);
  assert_string_equal(s, "ALL");
  free(s);
  s = cb_caps_names(1ULL << 63);
  assert_string_equal(s, "CAP_63");
  free(s);
}

static void test_fds_and_sockets(void **state) {
  int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
  assert_true(null >= 0);
  int tcp = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(tcp >= 0);
  struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  assert_int_equal(bind(tcp, (struct sockaddr *)&sin, sizeof sin), 0);
  assert_int_equal(listen(tcp, 1), 0);
  socklen_t sl = sizeof sin;
  getsockname(tcp, (struct sockaddr *)&sin, &sl);
  int ux = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un sun = {.sun_family = AF_UNIX};
  char name[64];
  snprintf(name, sizeof name, "crowbar-test-top-%d", getpid());
  memcpy(sun.sun_path + 1, name, strlen(name)); /* abstract */
  assert_int_equal(bind(ux, (struct sockaddr *)&sun,
                        (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name))),
                   0);
  assert_int_equal(listen(ux, 1), 0);

  struct cb_proc_fd *fds = NULL;
  size_t n = 0;
  cb_error_t err = NULL;
  assert_int_equal(cb_proc_fds(AT_FDCWD, getpid(), &fds, &n, &err), 0);
  bool saw_null = false;
  uint64_t tcp_ino = 0, ux_ino = 0;
  struct stat st;
  fstat(tcp, &st);
  tcp_ino = st.st_ino;
  fstat(ux, &st);
  ux_ino = st.st_ino;
  char want[64];
  snprintf(want, sizeof want, "socket:[%llu]", (unsigned long long)tcp_ino);
  bool saw_tcp = false;
  for (size_t i = 0; i < n; i++) {
    if (i)
      assert_true(fds[i].fd > fds[i - 1].fd); /* sorted */
    if (fds[i].fd == null)
      saw_null = !strcmp(fds[i].target, "/dev/null");
    if (fds[i].fd == tcp)
      saw_tcp = !strcmp(fds[i].target, want);
  }
  assert_true(saw_null);
  assert_true(saw_tcp);
  cb_proc_fds_free(fds, n);

  struct cb_proc_socket *socks = NULL;
  size_t ns = 0;
  assert_int_equal(cb_proc_sockets(AT_FDCWD, getpid(), &socks, &ns, &err), 0);
  const struct cb_proc_socket *s = cb_proc_socket_find(socks, ns, tcp_ino);
  assert_non_null(s);
  assert_string_equal(s->proto, "tcp");
  char local[64];
  snprintf(local, sizeof local, "127.0.0.1:%u", ntohs(sin.sin_port));
  assert_string_equal(s->local, local);
  assert_string_equal(s->remote, "*:*");
  assert_string_equal(s->state, "LISTEN");
  s = cb_proc_socket_find(socks, ns, ux_ino);
  assert_non_null(s);
  assert_string_equal(s->proto, "unix");
  char at[80];
  snprintf(at, sizeof at, "@%s", name);
  assert_string_equal(s->local, at);
  assert_string_equal(s->state, "LISTEN");
  assert_null(cb_proc_socket_find(socks, ns, 1));
  cb_proc_sockets_free(socks, ns);
  close(ux);
  close(tcp);
  close(null);
}

static void test_crowbar_pattern(void **state) {
  const struct cb_cgroup_engine *e = &cb_cgroup_engine_crowbar;
  char hex[CB_ID_LEN + 1];
  for (int i = 0; i < CB_ID_LEN; i++)
    hex[i] = "0123456789abcdef"[i % 16];
  hex[CB_ID_LEN] = '\0';
  char id[CB_ID_LEN + 1], path[256];
  snprintf(path, sizeof path, "/crowbar/%s", hex);
  assert_true(e->match(path, id));
  assert_string_equal(id, hex);
  snprintf(path, sizeof path, "/crowbar/%s/init.scope", hex);
  assert_true(e->match(path, id));
  assert_string_equal(id, hex);
  snprintf(path, sizeof path, "/crowbar/%sx", hex);
  assert_false(e->match(path, id));
  snprintf(path, sizeof path, "/crowbar/%.63s", hex);
  assert_false(e->match(path, id));
  snprintf(path, sizeof path, "/crowbarx/%s", hex);
  assert_false(e->match(path, id));
  snprintf(path, sizeof path, "/docker/%s", hex);
  assert_false(e->match(path, id));
  char upper[CB_ID_LEN + 1];
  memcpy(upper, hex, sizeof upper);
  upper[10] = 'A';
  snprintf(path, sizeof path, "/crowbar/%s", upper);
  assert_false(e->match(path, id));
  assert_false(e->match("/", id));
  assert_false(e->match("", id));

  /* This process is in no container. */
  const struct cb_cgroup_engine *engines[] = {e};
  cb_error_t err = NULL;
  assert_int_equal(cb_cgroup_container_of(AT_FDCWD, getpid(), engines, 1, id, NULL, &err), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_stat_parse),      cmocka_unit_test(test_status_parse),
      cmocka_unit_test(test_read_self),       cmocka_unit_test(test_ids_without_status),
      cmocka_unit_test(test_caps_names),      cmocka_unit_test(test_fds_and_sockets),
      cmocka_unit_test(test_crowbar_pattern),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
