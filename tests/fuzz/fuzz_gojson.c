/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The go-json printer (gojson.c): any JSON that json-c accepts is printed as Go's
 * encoding/json would, compact and indented (what `inspect` and {{json}} print); the
 * printed text must parse back. The first 8 bytes also go through the float printer. */
#include <stdlib.h>
#include <string.h>

#include "crowbar/json.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 256 * 1024)
    return 0;
  if (size >= sizeof(double)) {
    double d;
    memcpy(&d, data, sizeof d);
    char num[40];
    cb_go_format_float(d, num);
  }
  json_tokener *tok = json_tokener_new();
  json_object *o = json_tokener_parse_ex(tok, (const char *)data, (int)size);
  bool ok = json_tokener_get_error(tok) == json_tokener_success;
  json_tokener_free(tok);
  if (!ok) {
    json_object_put(o);
    return 0;
  }
  for (int indent = 0; indent <= 4; indent += 4) {
    char *s = cb_json_go_string(o, indent);
    /* What we print must be JSON again. */
    json_object *back = json_tokener_parse(s);
    if (!back && o && !json_object_is_type(o, json_type_double))
      abort();
    json_object_put(back);
    free(s);
  }
  json_object_put(o);
  return 0;
}
