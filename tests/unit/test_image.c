/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The pure parts of the image store: digests, references, Dockerfile changes, configs. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crowbar/digest.h"
#include "crowbar/image.h"
#include "crowbar/json.h"
#include "crowbar/util.h"

#define EMPTY_SHA "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define ABC_SHA "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

static void test_sha256_vectors(void **state) {
  char d[CB_DIGEST_LEN + 1];
  cb_error_t err = NULL;
  assert_int_equal(cb_sha256_buf("", 0, d, &err), 0);
  assert_string_equal(d, EMPTY_SHA);
  assert_int_equal(cb_sha256_buf("abc", 3, d, &err), 0);
  assert_string_equal(d, ABC_SHA);
  /* Streaming in pieces gives the same digest. */
  struct cb_sha256 s;
  assert_int_equal(cb_sha256_init(&s, &err), 0);
  assert_int_equal(cb_sha256_update(&s, "a", 1, &err), 0);
  assert_int_equal(cb_sha256_update(&s, "", 0, &err), 0);
  assert_int_equal(cb_sha256_update(&s, "bc", 2, &err), 0);
  assert_int_equal(cb_sha256_final(&s, d, &err), 0);
  assert_string_equal(d, ABC_SHA);
  assert_null(s.md);
  cb_sha256_release(&s); /* harmless after final */
  assert_null(err);
}

static void test_sha256_fd(void **state) {
  char path[] = "/tmp/crowbar-test-digest.XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  unlink(path);
  /* 1 MiB of a pattern, longer than one read. */
  static char buf[1 << 20];
  for (size_t i = 0; i < sizeof buf; i++)
    buf[i] = (char)(i * 7);
  assert_int_equal(cb_write_all(fd, buf, sizeof buf), 0);
  lseek(fd, 0, SEEK_SET);
  char a[CB_DIGEST_LEN + 1], b[CB_DIGEST_LEN + 1];
  cb_error_t err = NULL;
  assert_int_equal(cb_sha256_fd(fd, a, &err), 0);
  assert_int_equal(cb_sha256_buf(buf, sizeof buf, b, &err), 0);
  assert_string_equal(a, b);
  close(fd);
}

static void test_digest_valid(void **state) {
  assert_true(cb_digest_valid(EMPTY_SHA));
  assert_false(cb_digest_valid("sha256:abc"));
  assert_false(cb_digest_valid(EMPTY_SHA + 7));
  assert_false(
      cb_digest_valid("sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"));
  assert_false(cb_digest_valid(NULL));
  assert_string_equal(cb_digest_hex(EMPTY_SHA), EMPTY_SHA + 7);
  assert_string_equal(cb_digest_hex("abc"), "abc");
  char s[CB_SHORT_ID_LEN + 1];
  assert_string_equal(cb_image_short_id(EMPTY_SHA, s), "e3b0c44298fc");
  assert_string_equal(cb_image_short_id(EMPTY_SHA + 7, s), "e3b0c44298fc");
}

static void check_norm(const char *in, const char *want) {
  char *got = cb_image_normalize_ref(in);
  if (!want) {
    if (got)
      fail_msg("`%s` normalised to `%s`, want an error", in, got);
    return;
  }
  if (!got)
    fail_msg("`%s` refused, want `%s`", in, want);
  assert_string_equal(got, want);
  free(got);
}

static void test_normalize_ref(void **state) {
  check_norm("busybox", "busybox:latest");
  check_norm("busybox:1.36", "busybox:1.36");
  check_norm("library/busybox", "busybox:latest");
  check_norm("docker.io/library/busybox:x", "busybox:x");
  check_norm("index.docker.io/library/busybox", "busybox:latest");
  check_norm("docker.io/foo/bar", "foo/bar:latest");
  check_norm("foo/bar/baz:v_1.2-3", "foo/bar/baz:v_1.2-3");
  check_norm("localhost/foo", "localhost/foo:latest");
  check_norm("localhost:5000/foo:1", "localhost:5000/foo:1");
  check_norm("registry.example.com/a/b", "registry.example.com/a/b:latest");
  check_norm("a__b", "a__b:latest");
  check_norm("a---b.c_d", "a---b.c_d:latest");
  check_norm("Registry.Example/x", "Registry.Example/x:latest");
  check_norm("", NULL);
  check_norm("Busybox", NULL);
  check_norm("a___b", NULL);
  check_norm("a..b", NULL);
  check_norm("-a", NULL);
  check_norm("a-", NULL);
  check_norm("a:", NULL);
  check_norm("a:-x", NULL);
  check_norm("a:b:c", NULL);
  check_norm("a//b", NULL);
  check_norm("a/", NULL);
  check_norm("busybox@sha256:" EMPTY_SHA, NULL);
  check_norm(EMPTY_SHA + 7, NULL);
  char tag[140];
  memset(tag, 'x', 129);
  tag[129] = '\0';
  char ref[150];
  snprintf(ref, sizeof ref, "a:%s", tag);
  check_norm(ref, NULL);
  tag[128] = '\0';
  snprintf(ref, sizeof ref, "a:%s", tag);
  check_norm(ref, ref);
}

static void test_parse_ref_errors(void **state) {
  cb_error_t err = NULL;
  char *n = NULL, *t = NULL;
  assert_int_equal(cb_image_parse_ref("Foo", &n, &t, &err), -1);
  assert_string_equal(cb_error_text(err),
                      "invalid reference format: repository name (library/Foo) must be "
                      "lowercase");
  cb_error_release(&err);
  assert_int_equal(cb_image_parse_ref(EMPTY_SHA + 7, &n, &t, &err), -1);
  assert_non_null(strstr(cb_error_text(err), "cannot specify 64-byte hexadecimal strings"));
  cb_error_release(&err);
  assert_int_equal(cb_image_parse_ref("a b", &n, &t, &err), -1);
  assert_string_equal(cb_error_text(err), "invalid reference format");
  cb_error_release(&err);
  assert_int_equal(cb_image_parse_ref("x/y:1", &n, &t, &err), 0);
  assert_string_equal(n, "x/y");
  assert_string_equal(t, "1");
  free(n);
  free(t);
}

/* Apply changes to a fresh config; returns its "config" as compact JSON (static buffer). */
static const char *changes(const char *const *c, int want_rc, const char *want_err) {
  static char out[4096];
  json_object *cfg = cb_image_config_new(1);
  cb_error_t err = NULL;
  json_object *inner = cb_json_get(cfg, "config");
  int rc = cb_image_apply_changes(inner, (char *const *)c, &err);
  assert_int_equal(rc, want_rc);
  if (rc < 0) {
    if (want_err)
      assert_string_equal(cb_error_text(err), want_err);
    cb_error_release(&err);
  }
  snprintf(out, sizeof out, "%s",
           json_object_to_json_string_ext(inner,
                                          JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
  json_object_put(cfg);
  return out;
}

#define CH(want, ...)                                                                              \
  do {                                                                                             \
    const char *const c_[] = {__VA_ARGS__, NULL};                                                  \
    assert_string_equal(changes(c_, 0, NULL), want);                                               \
  } while (0)
#define CH_ERR(msg, ...)                                                                           \
  do {                                                                                             \
    const char *const c_[] = {__VA_ARGS__, NULL};                                                  \
    changes(c_, -1, msg);                                                                          \
  } while (0)

static void test_changes_cmd_entrypoint(void **state) {
  CH("{\"Cmd\":[\"sh\",\"-c\",\"echo hi\"]}", "CMD [\"sh\", \"-c\", \"echo hi\"]");
  CH("{\"Cmd\":[\"/bin/sh\",\"-c\",\"echo $HOME  two\"]}", "cmd echo $HOME  two");
  /* Not a JSON array of strings: the shell form. */
  CH("{\"Cmd\":[\"/bin/sh\",\"-c\",\"[1, 2]\"]}", "CMD [1, 2]");
  CH("{\"Entrypoint\":[\"/bin/app\"],\"Cmd\":null}", "ENTRYPOINT [\"/bin/app\"]");
  /* CMD set by the same changes survives a later ENTRYPOINT. */
  CH("{\"Cmd\":[\"x\"],\"Entrypoint\":[\"/bin/sh\",\"-c\",\"run\"]}", "CMD [\"x\"]",
     "ENTRYPOINT run");
  CH("{\"Entrypoint\":[],\"Cmd\":null}", "ENTRYPOINT []");
  CH_ERR("cmd requires at least one argument", "CMD");
}

static void test_changes_env(void **state) {
  CH("{\"Env\":[\"A=1\",\"B=two words\",\"C=1-two words\"]}", "ENV A=1 B=\"two words\" C=${A}-$B");
  CH("{\"Env\":[\"GREETING=hello big world\"]}", "ENV GREETING hello big world");
  CH("{\"Env\":[\"A=2\"]}", "ENV A=1", "ENV A=2");
  CH("{\"Env\":[\"P=/x:/usr/bin\"]}", "ENV P=/usr/bin", "ENV P=/x:$P");
  CH("{\"Env\":[\"Q=$lit\"]}", "ENV Q='$lit'");
  CH("{\"Env\":[\"E=a\\\"b\"]}", "ENV E=a\\\"b");
  CH_ERR("ENV must have two arguments", "ENV ONLY");
  CH_ERR("Syntax error - can't find = in \"b\". Must be of the form: name=value", "ENV a=1 b");
  CH_ERR("ENV names can not be blank", "ENV =x");
}

static void test_changes_misc(void **state) {
  CH("{\"WorkingDir\":\"/app\"}", "WORKDIR /app");
  CH("{\"WorkingDir\":\"/app/sub\"}", "WORKDIR /app", "WORKDIR sub/");
  CH("{\"WorkingDir\":\"/rel\"}", "WORKDIR rel");
  CH("{\"WorkingDir\":\"/\"}", "WORKDIR /a/../..");
  CH("{\"Env\":[\"D=/srv\"],\"WorkingDir\":\"/srv/x\"}", "ENV D=/srv", "WORKDIR $D/x");
  CH("{\"User\":\"app:app\"}", "USER app:app");
  CH("{\"ExposedPorts\":{\"80/tcp\":{},\"53/udp\":{},\"8000/tcp\":{},\"8001/tcp\":{}}}",
     "EXPOSE 80 53/UDP", "EXPOSE 8000-8001");
  CH_ERR("invalid containerPort: x", "EXPOSE x");
  CH_ERR("invalid proto: foo", "EXPOSE 1/foo");
  CH("{\"Labels\":{\"a\":\"1\",\"b c\":\"d e\"}}", "LABEL a=1 \"b c\"=\"d e\"");
  CH("{\"Labels\":{\"k\":\"legacy value\"}}", "LABEL k legacy value");
  CH("{\"Volumes\":{\"/data\":{},\"/b\":{}}}", "VOLUME [\"/data\"]", "VOLUME /b");
  CH_ERR("VOLUME specified can not be an empty string", "VOLUME [\"\"]");
  /* Docker 20.10 refuses STOPSIGNAL in a change, and takes HEALTHCHECK. */
  CH_ERR("stopsignal is not a valid change command", "STOPSIGNAL SIGINT");
  CH("{\"Healthcheck\":{\"Test\":[\"NONE\"]}}", "HEALTHCHECK NONE");
  CH("{\"Healthcheck\":{\"Test\":[\"NONE\"]}}", "healthcheck none");
  CH("{\"Healthcheck\":{\"Test\":[\"CMD-SHELL\",\"echo $HOME\"]}}", "HEALTHCHECK cmd echo $HOME");
  CH("{\"Healthcheck\":{\"Test\":[\"CMD\",\"a\",\"b\"],\"Interval\":3600000000000,"
     "\"Timeout\":3000000000,\"StartPeriod\":60000000000,\"Retries\":4}}",
     "HEALTHCHECK --timeout=3s --start-period=1m --retries=4 --interval=1h CMD [\"a\",\"b\"]");
  CH_ERR("HEALTHCHECK NONE takes no arguments", "HEALTHCHECK NONE x");
  CH_ERR("Unknown type \"FOO\" in HEALTHCHECK (try CMD)", "HEALTHCHECK FOO true");
  CH_ERR("Missing command after HEALTHCHECK CMD", "HEALTHCHECK CMD");
  CH_ERR("HEALTHCHECK requires at least one argument", "HEALTHCHECK");
  CH_ERR("Interval \"interval\" cannot be less than 1ms", "HEALTHCHECK --interval=0s CMD true");
  CH_ERR("Interval \"timeout\" cannot be less than 1ms", "HEALTHCHECK --timeout=500us CMD true");
  CH_ERR("--retries must be at least 1 (not 0)", "HEALTHCHECK --retries=0 CMD true");
  CH_ERR("strconv.ParseInt: parsing \"x\": invalid syntax", "HEALTHCHECK --retries=x CMD true");
  CH_ERR("time: missing unit in duration \"5\"", "HEALTHCHECK --interval=5 CMD true");
  CH_ERR("Unknown flag: nope", "HEALTHCHECK --nope=1 CMD true");
  CH_ERR("Missing a value on flag: interval", "HEALTHCHECK --interval 5s CMD true");
  CH("{\"OnBuild\":[\"RUN echo hi\"]}", "ONBUILD RUN echo hi");
  CH_ERR("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed", "ONBUILD ONBUILD RUN x");
  CH_ERR("from is not a valid change command", "FROM scratch");
  CH_ERR("run is not a valid change command", "RUN true");
  CH_ERR("empty change instruction", "   ");
}

static void test_config_new(void **state) {
  json_object *c = cb_image_config_new(1700000000123456789LL);
  assert_string_equal(cb_json_get_str(c, "os", ""), "linux");
  assert_string_equal(cb_json_get_str(c, "created", ""), "2023-11-14T22:13:20.123456789Z");
  assert_string_equal(cb_json_get_str(c, "rootfs.type", ""), "layers");
  assert_non_null(cb_json_get(c, "rootfs.diff_ids"));
  assert_non_null(cb_json_get(c, "config"));
#if defined(__x86_64__)
  assert_string_equal(cb_json_get_str(c, "architecture", ""), "amd64");
#endif
  json_object_put(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sha256_vectors),   cmocka_unit_test(test_sha256_fd),
      cmocka_unit_test(test_digest_valid),     cmocka_unit_test(test_normalize_ref),
      cmocka_unit_test(test_parse_ref_errors), cmocka_unit_test(test_changes_cmd_entrypoint),
      cmocka_unit_test(test_changes_env),      cmocka_unit_test(test_changes_misc),
      cmocka_unit_test(test_config_new),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
