/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ports.c: -p parsing as nat.ParsePortSpec, ps's PORTS column as the docker CLI's
 * DisplayablePorts, `docker port`'s natural order, and binding (a port taken, the same port
 * on both families, nothing left bound after a failure). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "crowbar/json.h"
#include "crowbar/ports.h"

static void check_spec(const char *spec, const char *exposed_want, const char *bindings_want) {
  json_object *e = json_object_new_object(), *b = json_object_new_object();
  cb_error_t err = NULL;
  if (cb_port_spec_parse(spec, e, b, &err) < 0)
    fail_msg("%s: %s", spec, cb_error_text(err));
  const char *es =
      json_object_to_json_string_ext(e, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
  const char *bs =
      json_object_to_json_string_ext(b, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
  if (strcmp(es, exposed_want) || strcmp(bs, bindings_want))
    fail_msg("%s: got %s %s", spec, es, bs);
  json_object_put(e);
  json_object_put(b);
}

static void check_bad(const char *spec, const char *msg) {
  json_object *e = json_object_new_object(), *b = json_object_new_object();
  cb_error_t err = NULL;
  if (cb_port_spec_parse(spec, e, b, &err) == 0)
    fail_msg("%s: accepted", spec);
  if (strcmp(cb_error_text(err), msg))
    fail_msg("%s: \"%s\", want \"%s\"", spec, cb_error_text(err), msg);
  cb_error_release(&err);
  json_object_put(e);
  json_object_put(b);
}

static void test_spec(void **state) {
  check_spec("80", "{\"80/tcp\":{}}", "{\"80/tcp\":[{\"HostIp\":\"\",\"HostPort\":\"\"}]}");
  check_spec("8080:80", "{\"80/tcp\":{}}",
             "{\"80/tcp\":[{\"HostIp\":\"\",\"HostPort\":\"8080\"}]}");
  check_spec("127.0.0.1:8080:80/UDP", "{\"80/udp\":{}}",
             "{\"80/udp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"8080\"}]}");
  check_spec("[::1]:8080:80", "{\"80/tcp\":{}}",
             "{\"80/tcp\":[{\"HostIp\":\"::1\",\"HostPort\":\"8080\"}]}");
  check_spec("127.0.0.1::80", "{\"80/tcp\":{}}",
             "{\"80/tcp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"\"}]}");
  check_spec("8000-8001:80-81", "{\"80/tcp\":{},\"81/tcp\":{}}",
             "{\"80/tcp\":[{\"HostIp\":\"\",\"HostPort\":\"8000\"}],"
             "\"81/tcp\":[{\"HostIp\":\"\",\"HostPort\":\"8001\"}]}");
  /* A host range for one container port: the first free one of it. */
  check_spec("8000-8010:80", "{\"80/tcp\":{}}",
             "{\"80/tcp\":[{\"HostIp\":\"\",\"HostPort\":\"8000-8010\"}]}");
  check_bad("", "no port specified: <empty>");
  check_bad("8080:", "no port specified: 8080:<empty>");
  check_bad("x", "invalid containerPort: x");
  check_bad("0", "invalid containerPort: 0");
  check_bad("65536", "invalid containerPort: 65536");
  check_bad("a:80", "invalid hostPort: a");
  check_bad("80/icmp", "invalid proto: icmp");
  check_bad("1.2.3.4.5:80:80", "invalid IP address: 1.2.3.4.5");
  check_bad("8000-8002:80-81",
            "invalid ranges specified for container and host Ports: 80-81 and 8000-8002");
}

static void check_display(const char *ports, const char *want) {
  json_object *p = json_tokener_parse(ports);
  char *got = cb_ports_display(p);
  if (strcmp(got, want))
    fail_msg("%s: \"%s\", want \"%s\"", ports, got, want);
  free(got);
  json_object_put(p);
}

static void test_display(void **state) {
  check_display("{}", "");
  check_display("{\"80/tcp\":null}", "80/tcp");
  check_display("{\"80/tcp\":null,\"81/tcp\":null,\"82/tcp\":null,\"53/udp\":null}",
                "53/udp, 80-82/tcp");
  check_display("{\"80/tcp\":[{\"HostIp\":\"0.0.0.0\",\"HostPort\":\"8080\"},"
                "{\"HostIp\":\"::\",\"HostPort\":\"8080\"}]}",
                "0.0.0.0:8080->80/tcp, [::]:8080->80/tcp");
  /* Same port inside and out: grouped by address. */
  check_display("{\"80/tcp\":[{\"HostIp\":\"0.0.0.0\",\"HostPort\":\"80\"}],"
                "\"81/tcp\":[{\"HostIp\":\"0.0.0.0\",\"HostPort\":\"81\"}]}",
                "0.0.0.0:80-81->80-81/tcp");
  check_display("{\"90/tcp\":null,\"80/tcp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"8080\"}]}",
                "90/tcp, 127.0.0.1:8080->80/tcp");
}

static void test_natural(void **state) {
  assert_true(cb_natural_cmp("80/tcp -> 0.0.0.0:9", "80/tcp -> 0.0.0.0:10") < 0);
  assert_true(cb_natural_cmp("443/tcp", "80/tcp") > 0);
  assert_true(cb_natural_cmp("0.0.0.0:8080", "[::]:8080") < 0);
  assert_true(cb_natural_cmp("a2", "a02") < 0);
  assert_true(cb_natural_cmp("ab", "ab") == 0);
  assert_true(cb_natural_cmp("ab", "abc") < 0);
}

static uint16_t port_of(int fd) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  getsockname(fd, (struct sockaddr *)&ss, &len);
  return ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                       : ((struct sockaddr_in6 *)&ss)->sin6_port);
}

static void test_bind(void **state) {
  json_object *b = json_object_new_object(), *e = json_object_new_object();
  cb_error_t err = NULL;
  assert_int_equal(cb_port_spec_parse("127.0.0.1::80", e, b, &err), 0);
  assert_int_equal(cb_port_spec_parse("81", e, b, &err), 0);
  struct cb_port_socks s;
  if (cb_ports_bind(b, false, e, &s, &err) < 0)
    fail_msg("%s", cb_error_text(err));
  /* 127.0.0.1 alone for 80; 0.0.0.0 and (with IPv6) [::] on one port for 81. */
  assert_true(s.n == 2 || s.n == 3);
  assert_int_equal(s.v[0].ctr_port, 80);
  assert_int_equal(s.v[1].ctr_port, 81);
  if (s.n == 3)
    assert_int_equal(port_of(s.v[1].fd), port_of(s.v[2].fd));
  json_object *ns = cb_ports_settings(e, s.v, s.n);
  char want[128];
  snprintf(want, sizeof want, "{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"%u\"}", port_of(s.v[0].fd));
  assert_string_equal(json_object_to_json_string_ext(
                          json_object_array_get_idx(json_object_object_get(ns, "80/tcp"), 0),
                          JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
                      want);
  json_object_put(ns);
  /* The port taken: Docker's words, and nothing of the attempt stays bound. */
  char spec[64];
  snprintf(spec, sizeof spec, "127.0.0.1:%u:90", port_of(s.v[0].fd));
  json_object *b2 = json_object_new_object(), *e2 = json_object_new_object();
  assert_int_equal(cb_port_spec_parse("91", e2, b2, &err), 0);
  assert_int_equal(cb_port_spec_parse(spec, e2, b2, &err), 0);
  struct cb_port_socks s2;
  assert_int_equal(cb_ports_bind(b2, false, e2, &s2, &err), -1);
  snprintf(want, sizeof want, "Bind for 127.0.0.1:%u failed: port is already allocated",
           port_of(s.v[0].fd));
  assert_string_equal(cb_error_text(err), want);
  cb_error_release(&err);
  assert_int_equal(s2.n, 0);
  cb_port_socks_close(&s);
  json_object_put(b);
  json_object_put(e);
  json_object_put(b2);
  json_object_put(e2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_spec),
      cmocka_unit_test(test_display),
      cmocka_unit_test(test_natural),
      cmocka_unit_test(test_bind),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
