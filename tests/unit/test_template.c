/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The --format template subset against what Go's text/template and the docker CLI print. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
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

/* slice, html, urlquery and js: text/template's builtins, outputs as Go prints them. */
static void test_escape_functions(void **state) {
  check("{{slice .Name 1}}|{{slice .Name 1 2}}|{{slice .Name}}", "eb|e|web");
  check("{{slice .Args 1}} {{slice .Arr 0 1 2}} {{len (slice .Arr 1 1)}}", "[sleep 1] [1] 0");
  check_error("{{slice .Name 4}}", "error calling slice: index out of range: 4");
  check_error("{{slice .Name 2 1}}", "error calling slice: invalid slice index: 2 > 1");
  check_error("{{slice .Name 0 1 2}}", "error calling slice: cannot 3-index slice a string");
  check_error("{{slice .I 1}}", "error calling slice: can't slice item of type int");
  check_error("{{slice .N 1}}", "error calling slice: slice of untyped nil");
  check_error("{{slice .Name \"1\"}}", "cannot index slice/array with type string");
  check("{{html .Html}}", "&lt;b&gt;&amp;\x01\xe2\x80\xa8\xc3\xa9&#34;");
  check("{{html \"it's\" 1 2}}", "it&#39;s1 2");
  check("{{urlquery \"a b&c=d/\\u00e9~-_.\"}}", "a+b%26c%3Dd%2F%C3%A9~-_.");
  check("{{.Html | urlquery}}", "%3Cb%3E%26%01%E2%80%A8%C3%A9%22");
  check("{{js .Html}}", "\\u003Cb\\u003E\\u0026\\u0001\\u2028\xc3\xa9\\\"");
  check("{{js \"a\\\\b'c=\"}}", "a\\\\b\\'c\\u003D");
}

/* With Docker's types (cb_template_exec_typed), empty values print as Go prints them. */
static const struct cb_gotype t_str = {CB_GO_STRING}, t_int = {CB_GO_INT}, t_ptr = {CB_GO_PTR},
                              t_empty = {CB_GO_EMPTY};
static const struct cb_gotype t_strs = {CB_GO_SLICE, &t_str, NULL, false};
static const struct cb_gotype t_set = {CB_GO_MAP, &t_empty, NULL, false};
static const struct cb_gofield f_pair[] = {{"Type", &t_str}, {"Count", &t_int}, {NULL, NULL}};
static const struct cb_gotype t_pair = {CB_GO_STRUCT, NULL, f_pair, true};
static const struct cb_gofield f_root[] = {
    {"List", &t_strs}, {"Set", &t_set}, {"Ptr", &t_ptr}, {"Pair", &t_pair}, {NULL, NULL}};
static const struct cb_gotype t_root = {CB_GO_STRUCT, NULL, f_root, false};

static void check_typed(const char *text, const char *tmpl, const char *want) {
  json_object *d = json_tokener_parse(text);
  struct cb_template *t = NULL;
  cb_error_t err = NULL;
  char *out = NULL;
  if (cb_template_parse(tmpl, &t, &err) < 0 ||
      cb_template_exec_typed(t, d, &t_root, &out, &err) < 0)
    fail_msg("%s: %s", tmpl, cb_error_text(err));
  if (strcmp(out, want))
    fail_msg("%s: got [%s], want [%s]", tmpl, out, want);
  free(out);
  cb_template_free(t);
  json_object_put(d);
}

static void test_typed(void **state) {
  const char *nulls = "{\"List\":null,\"Set\":null,\"Ptr\":null,\"Pair\":{\"Type\":\"x\"}}";
  check_typed(nulls, "{{.List}} {{.Set}} {{.Ptr}} {{.Pair}}", "[] map[] <nil> {x 0}");
  check_typed(nulls, "{{len .List}} {{len .Set}} {{.Set.k}} {{if .Ptr}}y{{else}}n{{end}}",
              "0 0 <no value> n");
  check_typed(nulls, "{{json .List}} {{json .Ptr}}", "null null");
  /* Left out of the JSON (omitempty): the zero value, not an error. */
  check_typed("{}", "{{.List}} {{.Ptr}} {{.Pair}}", "[] <nil> { 0}");
  check_typed("{\"Set\":{\"80/tcp\":{}}}", "{{.Set}} {{range $k, $v := .Set}}{{$k}}={{$v}}{{end}}",
              "map[80/tcp:{}] 80/tcp={}");
  check_typed("{\"List\":[\"a\"],\"Other\":null}", "{{.List}} {{.Other}}", "[a] <no value>");
}

/* printf parses its format as Go's fmt does, and bounds widths and precisions as Go does:
 * a number in the format that grows past 1e6 ends it with %!(NOVERB) (the arguments left
 * are EXTRA), a "*" argument over 1e6 is %!(BADWIDTH) / %!(BADPREC). These used to go to
 * C's printf as they were: "%.2147483646f" ran 47 s in 10 GB, "%2000000000s" aborted. */
static void test_printf_bounds(void **state) {
  check("{{printf \"%.2147483646f\" 1.0}}", "%!(NOVERB)%!(EXTRA float64=1)");
  check("{{printf \"%2000000000s\" \"x\"}}", "%!(NOVERB)%!(EXTRA string=x)");
  check("{{printf \"a%99999999999999999999dz\" 1 2}}", "a%!(NOVERB)%!(EXTRA int=1, int=2)");
  check("{{printf \"%*d|\" 2000000 7}}", "%!(BADWIDTH)7|");
  check("{{printf \"%*d|\" \"x\" 7}}", "%!(BADWIDTH)7|");
  check("{{printf \"%.*f|\" 2000000 1.5}}", "%!(BADPREC)1.500000|");
  check("{{printf \"%.*f|\" -1 1.5}}", "%!(BADPREC)1.500000|");
  check("{{printf \"%*d|%-*d|\" 4 7 -3 8}}", "   7|8  |");
  check("{{printf \"%.*s|\" 2 \"hello\"}}", "he|");
  /* The largest that Go accepts still works (and is bounded by the output limit). */
  json_object *d = data();
  char *out = render_with("{{printf \"%1000000d\" 1}}", d);
  assert_int_equal(strlen(out), 1000000);
  free(out);
  json_object_put(d);
}

/* The rest of Go's fmt, as far as decoded JSON goes. */
static void test_printf_verbs(void **state) {
  check("{{printf \"%d\" 1 2}}", "1%!(EXTRA int=2)");
  check("{{printf \"%d %d %s\" 1 2 \"a\" true nil}}", "1 2 a%!(EXTRA bool=true, <nil>)");
  check("{{printf \"%d %d\" 1}}", "1 %!d(MISSING)");
  check("{{printf \"%d\" \"x\"}} {{printf \"%s\" nil}} {{printf \"%t\" 1}}",
        "%!d(string=x) %!s(<nil>) %!t(int=1)");
  check("{{printf \"%f\" 3}}", "%!f(int=3)");
  check("{{printf \"%[2]d %[1]d\" 1 2}} {{printf \"%[3]d\" 1}}", "2 1 %!d(BADINDEX)");
  check("{{printf \"%x %X %o %b %#x %#o\" -255 255 8 5 255 8}}", "-ff FF 10 101 0xff 010");
  check("{{printf \"%05d|%+d|% d|%-5d|%.3d\" -42 5 5 5 7}}", "-0042|+5| 5|5    |007");
  check("{{printf \"%08.3f|%e|%g|%g|%.2e|%G\" -1.5 123456.0 1234567.0 0.5 1234.5 1e-7}}",
        "-001.500|1.234560e+05|1.234567e+06|0.5|1.23e+03|1E-07");
  check("{{printf \"%5.1s|%-4s|%q|%#q|%+q\" \"h\\u00e9llo\" \"ab\" \"a\\\"b\" \"c\" \"\\u00e9\"}}",
        "    h|ab  |\"a\\\"b\"|`c`|\"\\u00e9\"");
  check("{{printf \"%x|% x|%#X\" \"hi\" \"hi\" \"hi\"}}", "6869|68 69|0X6869");
  check("{{printf \"%c|%q|%U\" 233 97 128512}}", "\xc3\xa9|'a'|U+1F600");
  check("{{printf \"%v|%d|%s\" .Arr .Arr .Arr}}", "[1 a <nil>]|[1 %!d(string=a) <nil>]|"
                                                  "[%!s(int=1) a <nil>]");
  check("{{printf \"%v %v\" .M .Labels}}", "map[a:[1 2] z:1] map[a:b k:v]");
  check("{{printf \"%T %T %T %T\" .F .I .Name .Args}}", "float64 int string []interface {}");
  check("{{printf \"%#v %#v\" .Name .Args}}", "\"web\" []interface {}{\"-c\", \"sleep 1\"}");
  check("{{printf \"%v %v %6.2f|\" .F .D 3.14159}}", "1.5 3   3.14|");
  check("{{printf \"100%%\"}} {{printf \"%!\"}} {{printf \"%\"}}", "100% %!!(MISSING) %!(NOVERB)");
  check("{{printf \"%z\" 1}}", "%!z(int=1)");
}

/* No template eats the machine: the output (and any string a function builds) is bounded,
 * and so is the work; each fails with a clear error instead. */
static void test_bounds(void **state) {
  /* 1000 times a million spaces: a gigabyte. */
  check_error("{{range 1000}}{{printf \"%1000000d\" 1}}{{end}}",
              "template: the output exceeds the limit of 16 MiB");
  /* A string doubled 40 times without printing it. */
  check_error("{{$x := \"xxxxxxxxxxxxxxxx\"}}{{range 40}}{{$x = printf \"%s%s\" $x $x}}{{end}}"
              "{{len $x}}",
              "template: the output exceeds the limit of 16 MiB");
  check_error("{{$x := \"x\"}}{{range 40}}{{$x = print $x $x}}{{end}}",
              "exceeds the limit of 16 MiB");
  check_error("{{range .Args}}{{range 100000}}{{range 100000}}x{{end}}{{end}}{{end}}",
              "exceeds the limit of");
  /* Work that prints nothing. */
  check_error("{{range 100000000000}}{{end}}",
              "template: the execution exceeds the limit of 16777216 steps");
  check_error("{{range 100000}}{{range 100000}}{{end}}{{end}}",
              "exceeds the limit of 16777216 steps");
  /* Work that reads or copies big strings, each step of the loop (a megabyte copied by
   * truncate, compared by eq, a 60 kB literal made again, 5000 variables looked through):
   * cheap in nodes, hours in bytes. */
  check_error("{{$x := printf \"%1000000s\" \"\"}}{{range 100000000}}{{truncate $x 1}}{{end}}",
              "exceeds the limit of 16777216 steps");
  check_error("{{$x := printf \"%1000000s\" \"\"}}{{range 100000000}}{{if eq $x $x}}{{end}}{{end}}",
              "exceeds the limit of 16777216 steps");
  char *big = malloc(200000);
  size_t n = (size_t)sprintf(big, "{{range 100000000}}{{len \"");
  memset(big + n, 'y', 60000);
  n += 60000;
  strcpy(big + n, "\"}}{{end}}");
  check_error(big, "exceeds the limit of 16777216 steps");
  n = (size_t)sprintf(big, "{{$first := 1}}");
  for (int i = 0; i < 5000; i++)
    n += (size_t)sprintf(big + n, "{{$v%d := 1}}", i);
  strcpy(big + n, "{{range 100000000}}{{$first}}{{end}}");
  check_error(big, "exceeds the limit of 16777216 steps");
  free(big);
  /* Nesting: parentheses and blocks. */
  char t[10000];
  size_t k = 0;
  k += (size_t)sprintf(t + k, "{{");
  for (int i = 0; i < 2000; i++)
    t[k++] = '(';
  k += (size_t)sprintf(t + k, "1");
  for (int i = 0; i < 2000; i++)
    t[k++] = ')';
  k += (size_t)sprintf(t + k, "}}");
  t[k] = '\0';
  check_error(t, "max nesting depth exceeded");
  k = 0;
  for (int i = 0; i < 1100; i++)
    k += (size_t)sprintf(t + k, "{{if 1}}");
  t[k] = '\0';
  check_error(t, "max nesting depth exceeded");
  /* Within the bounds, all is as before. */
  check("{{range 3}}{{range 2}}x{{end}}{{end}}", "xxxxxx");
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
      cmocka_unit_test(test_printf_bounds),
      cmocka_unit_test(test_printf_verbs),
      cmocka_unit_test(test_bounds),
      cmocka_unit_test(test_escape_functions),
      cmocka_unit_test(test_typed),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
