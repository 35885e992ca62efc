/* SPDX-License-Identifier: GPL-2.0-or-later */
/* JSON and numbers printed as Go prints them, so that crowbar's output is byte-identical
 * to Docker's: encoding/json for `inspect` and the `json` template function, fmt's %v
 * for floats in templates. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crowbar/json.h"

struct gbuf {
  char **s;
  size_t *len, *cap;
};

static void gb_add(struct gbuf *b, const char *s, size_t n) {
  if (*b->len + n + 1 > *b->cap) {
    size_t c = *b->cap ? *b->cap : 256;
    while (c < *b->len + n + 1)
      c *= 2;
    *b->s = xrealloc(*b->s, c);
    *b->cap = c;
  }
  memcpy(*b->s + *b->len, s, n);
  *b->len += n;
  (*b->s)[*b->len] = '\0';
}

static void gb_adds(struct gbuf *b, const char *s) {
  gb_add(b, s, strlen(s));
}

/* Length of the valid UTF-8 sequence at s (n bytes left) and its code point; 0 if invalid. */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp) {
  if (s[0] < 0x80) {
    *cp = s[0];
    return 1;
  }
  size_t len;
  uint32_t c, min;
  if ((s[0] & 0xe0) == 0xc0) {
    len = 2, c = s[0] & 0x1f, min = 0x80;
  } else if ((s[0] & 0xf0) == 0xe0) {
    len = 3, c = s[0] & 0x0f, min = 0x800;
  } else if ((s[0] & 0xf8) == 0xf0) {
    len = 4, c = s[0] & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (len > n)
    return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xc0) != 0x80)
      return 0;
    c = (c << 6) | (s[i] & 0x3f);
  }
  if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
    return 0;
  *cp = c;
  return len;
}

static void gb_string(struct gbuf *b, const char *str, size_t n) {
  static const char hex[] = "0123456789abcdef";
  const unsigned char *s = (const unsigned char *)str;
  gb_add(b, "\"", 1);
  size_t start = 0, i = 0;
  while (i < n) {
    unsigned char c = s[i];
    if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
      i++;
      continue;
    }
    if (c < 0x80) {
      gb_add(b, str + start, i - start);
      char esc[7] = "\\";
      switch (c) {
      case '"': gb_add(b, "\\\"", 2); break;
      case '\\': gb_add(b, "\\\\", 2); break;
      case '\n': gb_add(b, "\\n", 2); break;
      case '\r': gb_add(b, "\\r", 2); break;
      case '\t': gb_add(b, "\\t", 2); break;
      case '\b': gb_add(b, "\\b", 2); break;
      case '\f': gb_add(b, "\\f", 2); break;
      default:
        esc[1] = 'u', esc[2] = '0', esc[3] = '0', esc[4] = hex[c >> 4], esc[5] = hex[c & 15];
        gb_add(b, esc, 6);
      }
      i++;
      start = i;
      continue;
    }
    uint32_t cp;
    size_t l = utf8_decode(s + i, n - i, &cp);
    if (l == 0) {
      gb_add(b, str + start, i - start);
      gb_adds(b, "\\ufffd");
      i++;
      start = i;
      continue;
    }
    if (cp == 0x2028 || cp == 0x2029) {
      gb_add(b, str + start, i - start);
      gb_adds(b, cp == 0x2028 ? "\\u2028" : "\\u2029");
      i += l;
      start = i;
      continue;
    }
    i += l;
  }
  gb_add(b, str + start, n - start);
  gb_add(b, "\"", 1);
}

/* The shortest decimal digits that read back as f: digits (no dot) and the exponent of
 * the first digit, as strconv does with precision -1. */
static void shortest(double f, char digits[24], int *exp10) {
  char tmp[40];
  for (int p = 0; p < 17; p++) {
    snprintf(tmp, sizeof tmp, "%.*e", p, f);
    if (strtod(tmp, NULL) == f)
      break;
  }
  /* tmp: [-]d[.ddd]e[+-]xx */
  const char *q = tmp;
  if (*q == '-')
    q++;
  size_t k = 0;
  for (; *q && *q != 'e'; q++)
    if (*q != '.')
      digits[k++] = *q;
  digits[k] = '\0';
  /* Trim trailing zeros (keeping one digit). */
  while (k > 1 && digits[k - 1] == '0')
    digits[--k] = '\0';
  *exp10 = atoi(q + 1);
}

/* %e-style with shortest digits: d[.ddd]e±XX (two exponent digits at least). */
static void fmt_e(bool neg, const char *d, int exp10, char *out, size_t size) {
  size_t n = strlen(d);
  snprintf(out, size, "%s%c%s%se%c%02d", neg ? "-" : "", d[0], n > 1 ? "." : "", d + 1,
           exp10 < 0 ? '-' : '+', abs(exp10));
}

/* %f-style with shortest digits. */
static void fmt_f(bool neg, const char *d, int exp10, char *out, size_t size) {
  size_t n = strlen(d), k = 0;
  char buf[400];
  if (neg)
    buf[k++] = '-';
  if (exp10 < 0) {
    buf[k++] = '0';
    buf[k++] = '.';
    for (int i = 0; i < -exp10 - 1 && k < sizeof buf - 40; i++)
      buf[k++] = '0';
    for (size_t i = 0; i < n; i++)
      buf[k++] = d[i];
  } else {
    for (int i = 0; i <= exp10 && k < sizeof buf - 40; i++)
      buf[k++] = (size_t)i < n ? d[i] : '0';
    if ((size_t)exp10 + 1 < n) {
      buf[k++] = '.';
      for (size_t i = exp10 + 1; i < n; i++)
        buf[k++] = d[i];
    }
  }
  buf[k] = '\0';
  snprintf(out, size, "%s", buf);
}

void cb_go_format_float(double f, char out[40]) {
  if (isnan(f)) {
    strcpy(out, "NaN");
    return;
  }
  if (isinf(f)) {
    strcpy(out, f < 0 ? "-Inf" : "+Inf");
    return;
  }
  if (f == 0) {
    strcpy(out, signbit(f) ? "-0" : "0");
    return;
  }
  char d[24];
  int e;
  shortest(fabs(f), d, &e);
  if (e < -4 || e >= 6) /* strconv's 'g' with the shortest precision */
    fmt_e(f < 0, d, e, out, 40);
  else
    fmt_f(f < 0, d, e, out, 40);
}

static void gb_double(struct gbuf *b, double f) {
  char out[400];
  if (!isfinite(f)) {
    gb_adds(b, "null"); /* Go refuses; null is the least surprising */
    return;
  }
  if (f == 0) {
    gb_adds(b, signbit(f) ? "-0" : "0");
    return;
  }
  char d[24];
  int e;
  double a = fabs(f);
  shortest(a, d, &e);
  if (a < 1e-6 || a >= 1e21) {
    fmt_e(f < 0, d, e, out, sizeof out);
    /* Go cleans e-09 up to e-9 (and e+21 stays). */
    size_t n = strlen(out);
    if (n >= 4 && out[n - 4] == 'e' && out[n - 3] == '-' && out[n - 2] == '0') {
      out[n - 2] = out[n - 1];
      out[n - 1] = '\0';
    }
  } else {
    fmt_f(f < 0, d, e, out, sizeof out);
  }
  gb_adds(b, out);
}

static void gb_indent(struct gbuf *b, int indent, int depth) {
  gb_add(b, "\n", 1);
  for (int i = 0; i < indent * depth; i++)
    gb_add(b, " ", 1);
}

static void gb_value(struct gbuf *b, json_object *o, int indent, int depth) {
  char num[32];
  switch (json_object_get_type(o)) {
  case json_type_null: gb_adds(b, "null"); break;
  case json_type_boolean: gb_adds(b, json_object_get_boolean(o) ? "true" : "false"); break;
  case json_type_int: {
    int64_t v = json_object_get_int64(o);
    if (v == INT64_MAX)
      snprintf(num, sizeof num, "%llu", (unsigned long long)json_object_get_uint64(o));
    else
      snprintf(num, sizeof num, "%lld", (long long)v);
    gb_adds(b, num);
    break;
  }
  case json_type_double: gb_double(b, json_object_get_double(o)); break;
  case json_type_string:
    gb_string(b, json_object_get_string(o), (size_t)json_object_get_string_len(o));
    break;
  case json_type_array: {
    size_t n = json_object_array_length(o);
    gb_add(b, "[", 1);
    for (size_t i = 0; i < n; i++) {
      if (i)
        gb_add(b, ",", 1);
      if (indent)
        gb_indent(b, indent, depth + 1);
      gb_value(b, json_object_array_get_idx(o, i), indent, depth + 1);
    }
    if (indent && n)
      gb_indent(b, indent, depth);
    gb_add(b, "]", 1);
    break;
  }
  case json_type_object: {
    gb_add(b, "{", 1);
    int first = 1;
    json_object_object_foreach(o, k, v) {
      if (!first)
        gb_add(b, ",", 1);
      if (indent)
        gb_indent(b, indent, depth + 1);
      first = 0;
      gb_string(b, k, strlen(k));
      gb_add(b, indent ? ": " : ":", indent ? 2 : 1);
      gb_value(b, v, indent, depth + 1);
    }
    if (indent && !first)
      gb_indent(b, indent, depth);
    gb_add(b, "}", 1);
    break;
  }
  }
}

void cb_json_go_append(char **buf, size_t *len, size_t *cap, json_object *o, int indent) {
  struct gbuf b = {buf, len, cap};
  gb_value(&b, o, indent, 0);
}

char *cb_json_go_string(json_object *o, int indent) {
  char *s = NULL;
  size_t len = 0, cap = 0;
  cb_json_go_append(&s, &len, &cap, o, indent);
  return s;
}
