/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The --format template subset against what Go's text/template and the docker CLI print. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "crowbar/json.h"
#include "crowbar/template.h"

static const char *data_text =
    "{\"Name\":\"web\",\"ID\":\"abc\",\"State\":{\"Status\":\"running\",\"Pid\":42},"
    "\"Args\":[\"-c\",\"sleep 1\"],\"Labels\":{\"k\":\"v\",\"a\":\"b\"},"
    "\"I\":12345,\"F\":1.5,\"D\":3.0,\"Big\":1e21,\"Tiny\":1e-7,\"B\":true,\"Off\":false,"
    "\"N\":null,\"Arr\":[1,\"a\",null],\"M\":{\"z\":1,\"a\":[1,2]},\"S\":\"MiXed\","
    "\"Words\":\"hello wide-world_x\",\"Csv\":\"a,b,c\",\"Empty\":\"\",\"EmptyArr\":[],"
    "\"Objs\":[{\"a\":1}],\"Html\":\"<b>&\\u0001\\u2028\\u00e9\\\"\"}";

static json_object *data(void) {
  json_object *o = json_tokener_parse(data_text);
  assert_non_null(o);
  return o;
}

static char *render_with(const char *tmpl, json_object *d) {
  struct cb_template *t = NULL;
  cb_error_t err = NULL;
  if (cb_template_parse(tmpl, &t, &err) < 0)
    fail_msg("parse %s: %s", tmpl, cb_error_text(err));
  char *out = NULL;
  if (cb_template_exec(t, d, &out, &err) < 0)
    fail_msg("exec %s: %s", tmpl, cb_error_text(err));
  cb_template_free(t);
  return out;
}

static void check(const char *tmpl, const char *want) {
  json_object *d = data();
  char *out = render_with(tmpl, d);
  if (strcmp(out, want))
    fail_msg("%s: got [%s], want [%s]", tmpl, out, want);
  free(out);
  json_object_put(d);
}

/* The error message of a template that fails to parse or to execute. */
static char *error_of(const char *tmpl) {
  struct cb_template *t = NULL;
  cb_error_t err = NULL;
  char *msg = NULL;
  if (cb_template_parse(tmpl, &t, &err) < 0) {
    msg = strdup(cb_error_text(err));
  } else {
    json_object *d = data();
    char *out = NULL;
    if (cb_template_exec(t, d, &out, &err) < 0)
      msg = strdup(cb_error_text(err));
    else
      fail_msg("%s: no error, printed [%s]", tmpl, out);
    free(out);
    json_object_put(d);
    cb_template_free(t);
  }
  cb_error_release(&err);
  return msg;
}

static void check_error(const char *tmpl, const char *want_substr) {
  char *m = error_of(tmpl);
  if (!strstr(m, want_substr))
    fail_msg("%s: error [%s] lacks [%s]", tmpl, m, want_substr);
  free(m);
}

static void test_fields(void **state) {
  check("{{.Name}}", "web");
  check("{{.State.Status}} {{.State.Pid}}", "running 42");
  check("name={{.Name}}!", "name=web!");
  check("plain text", "plain text");
  check("", "");
  check("{{ .Name }}", "web");
}

static void test_print_values(void **state) {
  check("{{.I}} {{.F}} {{.D}} {{.B}} {{.Off}}", "12345 1.5 3 true false");
  check("{{.N}}", "<no value>");
  check("{{.Arr}}", "[1 a <nil>]");
  check("{{.M}}", "map[a:[1 2] z:1]");
  check("{{.Labels}}", "map[a:b k:v]");
  check("{{.Objs}}", "[map[a:1]]");
  check("{{.EmptyArr}}", "[]");
  check("{{.Tiny}}", "1e-07");
  check("{{.Big}}", "1e+21");
}

static void test_dot(void **state) {
  json_object *d = json_tokener_parse("{\"b\":1,\"a\":\"x\"}");
  char *out = render_with("{{.}}", d);
  assert_string_equal(out, "map[a:x b:1]");
  free(out);
  json_object_put(d);
}

static void test_json(void **state) {
  check("{{json .Args}}", "[\"-c\",\"sleep 1\"]");
  check("{{json .State}}", "{\"Status\":\"running\",\"Pid\":42}");
  check("{{json .N}}", "null");
  check("{{json .Name}}", "\"web\"");
  check("{{json .F}} {{json .D}} {{json .Big}} {{json .Tiny}}", "1.5 3 1e+21 1e-7");
  /* Docker's json function does not escape <, > and & (SetEscapeHTML(false)); control
   * characters and U+2028 are escaped as Go does. */
  check("{{json .Html}}", "\"<b>&\\u0001\\u2028\xc3\xa9\\\"\"");
  check("{{json .EmptyArr}} {{json .M}}", "[] {\"z\":1,\"a\":[1,2]}");
}

static void test_functions(void **state) {
  check("{{join .Args \", \"}}", "-c, sleep 1");
  check("{{lower .S}} {{upper .S}}", "mixed MIXED");
  check("{{title .Words}}", "Hello Wide-World_x");
  check("{{split .Csv \",\"}}", "[a b c]");
  check("{{println .Name}}", "web\n");
  check("{{println .Name .I}}", "web 12345\n");
  check("{{len .Args}} {{len .Name}} {{len .Labels}}", "2 3 2");
  check("{{index .Args 1}}", "sleep 1");
  check("{{index .Labels \"k\"}}[{{index .Labels \"nope\"}}]", "v[]");
  check("{{printf \"%s-%d-%5s|%v\" .Name .I \"x\" .B}}", "web-12345-    x|true");
  check("{{pad .Name 1 2}}|{{pad .Empty 1 2}}|", " web  ||");
  check("{{truncate .Name 2}}", "we");
  check("{{print \"a\" \"b\" 1 2}}", "ab1 2");
}

static void test_pipelines_and_literals(void **state) {
  check("{{.Name | upper}}", "WEB");
  check("{{split .Csv \",\" | len}}", "3");
  check("{{\",\" | split .Csv}}", "[a b c]"); /* the piped value is the last argument */
  check("{{\"quoted\"}} {{`raw\\x`}} {{42}} {{-3}} {{true}}", "quoted raw\\x 42 -3 true");
  check("{{(index .Args 0) | upper}}", "-C");
  check("{{(.State).Status}}", "running");
  check("{{\"a\\\"b\"}}", "a\"b");
}

static void test_escapes_and_table(void **state) {
  check("{{.Name}}\\t{{.ID}}\\n", "web\tabc\n");
  struct cb_template *t = NULL;
  cb_error_t err = NULL;
  assert_int_equal(cb_template_parse("table {{.ID}}\\t{{.Name}}", &t, &err), 0);
  assert_true(cb_template_is_table(t));
  json_object *d = data();
  char *out = NULL;
  assert_int_equal(cb_template_exec(t, d, &out, &err), 0);
  assert_string_equal(out, "abc\tweb");
  free(out);
  json_object *h = json_tokener_parse("{\"ID\":\"CONTAINER ID\",\"Name\":\"NAMES\"}");
  assert_int_equal(cb_template_exec_header(t, h, &out, &err), 0);
  assert_string_equal(out, "CONTAINER ID\tNAMES");
  free(out);
  cb_template_free(t);
  /* Header functions keep the title; pad still applies; a missing key is <no value>. */
  assert_int_equal(
      cb_template_parse("table {{json .ID}} {{upper .Name}} {{lower .ID}} {{join .Name \",\"}} "
                        "{{pad .ID 1 0}} {{.Other}}",
                        &t, &err),
      0);
  assert_int_equal(cb_template_exec_header(t, h, &out, &err), 0);
  assert_string_equal(out, "CONTAINER ID NAMES CONTAINER ID NAMES  CONTAINER ID <no value>");
  free(out);
  cb_template_free(t);
  json_object_put(h);
  json_object_put(d);
  assert_int_equal(cb_template_parse("{{.ID}}", &t, &err), 0);
  assert_false(cb_template_is_table(t));
  cb_template_free(t);
}

static void test_control(void **state) {
  check("{{if .B}}yes{{else}}no{{end}}", "yes");
  check("{{if .Off}}yes{{else}}no{{end}}", "no");
  check("{{if .N}}yes{{end}}", "");
  check("{{if .EmptyArr}}a{{else if .Empty}}b{{else if .I}}c{{else}}d{{end}}", "c");
  check("{{if eq .Name \"web\"}}W{{end}}{{if ne .I 1}}N{{end}}{{if lt .F 2.0}}L{{end}}", "WNL");
  check("{{if and .B .I}}A{{end}}{{if or .Off .Empty}}O{{else}}o{{end}}{{if not .Off}}!{{end}}",
        "Ao!");
  check("{{range .Args}}[{{.}}]{{end}}", "[-c][sleep 1]");
  check("{{range $i, $a := .Args}}{{$i}}={{$a}};{{end}}", "0=-c;1=sleep 1;");
  check("{{range $k, $v := .Labels}}{{$k}}={{$v}} {{end}}", "a=b k=v ");
  check("{{range .EmptyArr}}x{{else}}none{{end}}", "none");
  check("{{range .N}}x{{end}}", "");
  check("{{range .Args}}{{$.Name}}{{end}}", "webweb");
  check("{{with .State}}{{.Status}}{{end}}{{with .Empty}}x{{else}}-{{end}}", "running-");
  check("{{$x := .Name}}{{$x}}{{$x = \"other\"}}-{{$x}}", "web-other");
  check("a  {{- .Name -}}  b", "awebb");
  check("a{{/* a comment */}}b{{- /* trimmed */ -}}  c", "abc");
}

static void test_missing_and_errors(void **state) {
  char *m = error_of("{{.Nope}}");
  assert_string_equal(m, "template: no field \"Nope\"");
  free(m);
  check("{{.Labels.nope}}", "<no value>");
  check_error("{{.State.Nope}}", "no field \"Nope\"");
  check_error("{{.Name.X}}", "can't evaluate field X in type string");
  check_error("{{nope .Name}}", "function \"nope\" not defined");
  check_error("{{.Name", "unclosed action");
  check_error("{{if .B}}x", "unexpected EOF");
  check_error("{{end}}", "unexpected {{end}}");
  check_error("{{join .Args}}", "wrong number of args for join: want 2 got 1");
  check_error("{{\"unterminated}}", "unterminated quoted string");
  check_error("{{.Name .ID}}", "can't give argument to non-function");
  check_error("{{}}", "missing value for command");
  check_error("{{$nope}}", "undefined variable");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fields),
      cmocka_unit_test(test_print_values),
      cmocka_unit_test(test_dot),
      cmocka_unit_test(test_json),
      cmocka_unit_test(test_functions),
      cmocka_unit_test(test_pipelines_and_literals),
      cmocka_unit_test(test_escapes_and_table),
      cmocka_unit_test(test_control),
      cmocka_unit_test(test_missing_and_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
