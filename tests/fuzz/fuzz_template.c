/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The --format template engine: parse the input as a template and execute it against a
 * fixed record (a container as `ps`/`inspect` see it, untyped and with Docker's container
 * types as inspect runs it) and as a table header. An input
 * with a NUL byte is TEMPLATE NUL JSON: the JSON, when it parses, is the data instead. */
#include <stdlib.h>

#include "crowbar/dockertypes.h"
#include "crowbar/json.h"
#include "crowbar/template.h"
#include "fuzz.h"

static const char record[] =
    "{\"Id\":\"3f2a9c0d1e\",\"Name\":\"/web\",\"Created\":\"2026-01-02T03:04:05.123456789Z\","
    "\"Path\":\"sh\",\"Args\":[\"-c\",\"sleep 1\"],\"RestartCount\":0,\"Image\":\"sha256:ab\","
    "\"State\":{\"Status\":\"running\",\"Running\":true,\"Pid\":42,\"ExitCode\":0,\"Error\":\"\","
    "\"OOMKilled\":false},\"Config\":{\"Labels\":{\"a\":\"b\",\"com.x\":\"y\"},\"Env\":"
    "[\"PATH=/bin\",\"A=1\"],\"Tty\":false,\"Cmd\":null},\"Mounts\":[{\"Source\":\"/s\","
    "\"Destination\":\"/d\",\"RW\":true}],\"HostConfig\":{\"NetworkMode\":\"none\","
    "\"Memory\":1073741824,\"CpuShares\":0.5},\"Size\":12345,\"Ports\":\"\","
    "\"Nested\":[[1,2],[3,[4,5]],{\"k\":[6]}],\"Big\":9223372036854775807,\"Neg\":-7,"
    "\"F\":1.5e300,\"Tiny\":-1e-300}";
static const char header[] =
    "{\"ID\":\"CONTAINER ID\",\"Names\":\"NAMES\",\"Image\":\"IMAGE\",\"Status\":\"STATUS\"}";

static json_object *fixed_record, *fixed_header;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  if (!fixed_record)
    fixed_record = json_tokener_parse(record);
  if (!fixed_header)
    fixed_header = json_tokener_parse(header);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 64 * 1024)
    return 0;
  char *buf = malloc(size + 1);
  const char *text, *rest;
  size_t rlen;
  json_object *own = NULL;
  if (fuzz_split(data, size, buf, &text, &rest, &rlen)) {
    json_tokener *tok = json_tokener_new();
    own = json_tokener_parse_ex(tok, rest, (int)rlen);
    json_tokener_free(tok);
  }
  struct cb_template *t = NULL;
  cb_error_t err = NULL;
  if (cb_template_parse(text, &t, &err) == 0) {
    char *out = NULL;
    if (cb_template_exec(t, own ? own : fixed_record, &out, &err) == 0)
      free(out);
    cb_error_release(&err);
    out = NULL;
    if (cb_template_exec_typed(t, own ? own : fixed_record, &cb_docker_container, &out, &err) == 0)
      free(out);
    cb_error_release(&err);
    out = NULL;
    if (cb_template_exec_header(t, fixed_header, &out, &err) == 0)
      free(out);
    cb_template_free(t);
  }
  cb_error_release(&err);
  json_object_put(own);
  free(buf);
  return 0;
}
