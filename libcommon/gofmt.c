/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Go's fmt.Sprintf over decoded JSON values (see gofmt.h). Written from the behaviour of
 * Go's fmt package: the format is read as doPrintf reads it, each argument printed as
 * printArg/printValue print the interface{} values of encoding/json. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crowbar/cleanup.h"
#include "crowbar/gofmt.h"
#include "crowbar/json.h"

/* Go's fmt: a width or precision of larger magnitude is refused. */
#define GO_FMT_MAX 1000000

struct out {
  char *s;
  size_t len, cap, limit;
  bool over; /* the output passed the limit: nothing more is written */
};

static bool room(struct out *o, size_t n) {
  if (o->over)
    return false;
  if (n > o->limit - o->len) {
    o->over = true;
    return false;
  }
  if (o->len + n + 1 > o->cap) {
    size_t c = o->cap ? o->cap : 64;
    while (c < o->len + n + 1)
      c *= 2;
    o->s = xrealloc(o->s, c);
    o->cap = c;
  }
  return true;
}

static void put(struct out *o, const char *s, size_t n) {
  if (!room(o, n))
    return;
  memcpy(o->s + o->len, s, n);
  o->len += n;
  o->s[o->len] = '\0';
}

static void puts_(struct out *o, const char *s) {
  put(o, s, strlen(s));
}

static void putc_(struct out *o, char c) {
  put(o, &c, 1);
}

static void fill(struct out *o, char c, size_t n) {
  if (!room(o, n))
    return;
  memset(o->s + o->len, c, n);
  o->len += n;
  o->s[o->len] = '\0';
}

static void put_rune(struct out *o, uint32_t cp) {
  char b[4];
  if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
    cp = 0xfffd;
  if (cp < 0x80) {
    putc_(o, (char)cp);
  } else if (cp < 0x800) {
    b[0] = (char)(0xc0 | (cp >> 6)), b[1] = (char)(0x80 | (cp & 0x3f));
    put(o, b, 2);
  } else if (cp < 0x10000) {
    b[0] = (char)(0xe0 | (cp >> 12)), b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
    b[2] = (char)(0x80 | (cp & 0x3f));
    put(o, b, 3);
  } else {
    b[0] = (char)(0xf0 | (cp >> 18)), b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    b[2] = (char)(0x80 | ((cp >> 6) & 0x3f)), b[3] = (char)(0x80 | (cp & 0x3f));
    put(o, b, 4);
  }
}

/* The length of the UTF-8 sequence at s (n > 0 bytes left) and its code point; an invalid
 * byte is one byte, U+FFFD (as Go's utf8.DecodeRune). */
static size_t decode_rune(const unsigned char *s, size_t n, uint32_t *cp) {
  size_t len;
  uint32_t c, min;
  if (s[0] < 0x80) {
    *cp = s[0];
    return 1;
  }
  if ((s[0] & 0xe0) == 0xc0)
    len = 2, c = s[0] & 0x1fu, min = 0x80;
  else if ((s[0] & 0xf0) == 0xe0)
    len = 3, c = s[0] & 0x0fu, min = 0x800;
  else if ((s[0] & 0xf8) == 0xf0)
    len = 4, c = s[0] & 0x07u, min = 0x10000;
  else
    goto bad;
  if (len > n)
    goto bad;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xc0) != 0x80)
      goto bad;
    c = (c << 6) | (s[i] & 0x3fu);
  }
  if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
    goto bad;
  *cp = c;
  return len;
bad:
  *cp = 0xfffd;
  return 1;
}

static size_t rune_count(const char *s, size_t n) {
  size_t k = 0;
  uint32_t cp;
  for (size_t i = 0; i < n; k++)
    i += decode_rune((const unsigned char *)s + i, n - i, &cp);
  return k;
}

/* ---- flags ------------------------------------------------------------------------- */

struct flags {
  bool minus, plus, sharp, space, zero, plus_v, sharp_v;
  bool wid_present, prec_present;
  int wid, prec;
};

/* Pad b to the width: spaces, or zeros on the left with the 0 flag. */
static void pad(struct out *o, const struct flags *f, const char *b, size_t n) {
  size_t runes = f->wid_present && f->wid > 0 ? rune_count(b, n) : 0;
  size_t width = f->wid_present && (size_t)f->wid > runes ? (size_t)f->wid - runes : 0;
  if (!f->minus)
    fill(o, f->zero ? '0' : ' ', width);
  put(o, b, n);
  if (f->minus)
    fill(o, ' ', width);
}

static void pad_str(struct out *o, const struct flags *f, const char *s) {
  pad(o, f, s, strlen(s));
}

/* ---- Go's strconv.Quote ------------------------------------------------------------------ */

/* Whether Go's strconv.IsPrint holds, close enough: not a control character, and not one
 * of the few invisible code points a terminal would hide. */
static bool is_print(uint32_t cp) {
  if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || cp == 0xad || cp == 0xfffd)
    return false;
  if ((cp >= 0x200b && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202e) ||
      (cp >= 0x2060 && cp <= 0x206f) || cp == 0xfeff || (cp >= 0xfff9 && cp <= 0xfffb))
    return false;
  if ((cp & 0xfffe) == 0xfffe || (cp >= 0xe000 && cp <= 0xf8ff) || cp >= 0xf0000)
    return false;
  return true;
}

static void quote_rune_into(struct out *o, uint32_t cp, size_t width, const unsigned char *raw,
                            char q, bool ascii) {
  static const char hex[] = "0123456789abcdef";
  char b[12];
  if (width == 1 && cp == 0xfffd) { /* an invalid byte */
    b[0] = '\\', b[1] = 'x', b[2] = hex[raw[0] >> 4], b[3] = hex[raw[0] & 15];
    put(o, b, 4);
    return;
  }
  if (cp == (uint32_t)q || cp == '\\') {
    b[0] = '\\', b[1] = (char)cp;
    put(o, b, 2);
    return;
  }
  if (ascii ? cp < 0x80 && is_print(cp) : is_print(cp)) {
    put_rune(o, cp);
    return;
  }
  switch (cp) {
  case '\a': puts_(o, "\\a"); return;
  case '\b': puts_(o, "\\b"); return;
  case '\f': puts_(o, "\\f"); return;
  case '\n': puts_(o, "\\n"); return;
  case '\r': puts_(o, "\\r"); return;
  case '\t': puts_(o, "\\t"); return;
  case '\v': puts_(o, "\\v"); return;
  default: break;
  }
  if (cp < ' ' || cp == 0x7f)
    snprintf(b, sizeof b, "\\x%02x", cp);
  else if (cp < 0x10000)
    snprintf(b, sizeof b, "\\u%04x", cp);
  else
    snprintf(b, sizeof b, "\\U%08x", cp);
  puts_(o, b);
}

/* s quoted as Go's strconv.Quote (ascii: QuoteToASCII), into o. */
static void quote_into(struct out *o, const char *s, size_t n, bool ascii) {
  putc_(o, '"');
  for (size_t i = 0; i < n && !o->over;) {
    uint32_t cp;
    size_t l = decode_rune((const unsigned char *)s + i, n - i, &cp);
    quote_rune_into(o, cp, l, (const unsigned char *)s + i, '"', ascii);
    i += l;
  }
  putc_(o, '"');
}

/* ---- the verbs ------------------------------------------------------------------------ */

static void print_value(struct out *o, struct flags *f, json_object *v, char verb, int depth);

const char *cb_go_type_name(json_object *v) {
  switch (json_object_get_type(v)) {
  case json_type_null: return "<nil>";
  case json_type_boolean: return "bool";
  case json_type_int: return "int";
  case json_type_double: return "float64";
  case json_type_string: return "string";
  case json_type_array: return "[]interface {}";
  case json_type_object: return "map[string]interface {}";
  }
  return "?";
}

/* %!d(string=x): a verb that does not fit the value. */
static void bad_verb(struct out *o, struct flags *f, json_object *v, char verb) {
  puts_(o, "%!");
  putc_(o, verb);
  putc_(o, '(');
  if (!v) {
    puts_(o, "<nil>");
  } else {
    puts_(o, cb_go_type_name(v));
    putc_(o, '=');
    print_value(o, f, v, 'v', 0);
  }
  putc_(o, ')');
}

static void fmt_integer(struct out *o, const struct flags *f, uint64_t u, bool negative,
                        unsigned base, char verb, bool upper) {
  const char *digits = upper ? "0123456789ABCDEFX" : "0123456789abcdefx";
  /* At least the width and the precision: refuse what cannot fit before making it. */
  size_t least = (size_t)(f->wid_present ? f->wid : 0);
  if (f->prec_present && (size_t)f->prec > least && (f->prec > 0 || u != 0))
    least = (size_t)f->prec;
  if (least > o->limit - o->len) {
    o->over = true;
    return;
  }
  /* Digits are written right to left; zero padding is at most the width. */
  size_t cap = 80 + (size_t)(f->wid_present ? f->wid : 0) + (size_t)(f->prec_present ? f->prec : 0);
  cleanup_free char *buf = xmalloc(cap);
  size_t i = cap;
  size_t prec = 0;
  if (f->prec_present) {
    prec = (size_t)f->prec;
    if (prec == 0 && u == 0) { /* nothing but the padding */
      fill(o, ' ', f->wid_present ? (size_t)f->wid : 0);
      return;
    }
  } else if (f->zero && !f->minus && f->wid_present) {
    prec = (size_t)f->wid;
    if ((negative || f->plus || f->space) && prec > 0)
      prec--; /* room for the sign */
  }
  do {
    buf[--i] = digits[u % base];
    u /= base;
  } while (u);
  while (i > 8 && prec > cap - i)
    buf[--i] = '0';
  if (f->sharp) {
    if (base == 2) {
      buf[--i] = 'b';
      buf[--i] = '0';
    } else if (base == 8 && buf[i] != '0') {
      buf[--i] = '0';
    } else if (base == 16) {
      buf[--i] = digits[16];
      buf[--i] = '0';
    }
  }
  if (verb == 'O') {
    buf[--i] = 'o';
    buf[--i] = '0';
  }
  if (negative)
    buf[--i] = '-';
  else if (f->plus)
    buf[--i] = '+';
  else if (f->space)
    buf[--i] = ' ';
  struct flags g = *f;
  g.zero = false; /* zeros, if any, are in the digits already */
  pad(o, &g, buf + i, cap - i);
}

/* A number formatted by C's printf (digits only, no sign) padded as Go pads floats: the sign
 * before zero padding, Inf and NaN never zero padded. */
static void pad_number(struct out *o, const struct flags *f, bool negative, const char *digits,
                       bool finite) {
  cleanup_free char *num = xasprintf("%s%s",
                                     negative   ? "-"
                                     : f->plus  ? "+"
                                     : f->space ? " "
                                                : "",
                                     digits);
  size_t n = strlen(num);
  if (f->zero && !f->minus && f->wid_present && finite && (size_t)f->wid > n) {
    size_t sign = (num[0] == '-' || num[0] == '+' || num[0] == ' ') ? 1 : 0;
    put(o, num, sign);
    fill(o, '0', (size_t)f->wid - n);
    put(o, num + sign, n - sign);
    return;
  }
  struct flags g = *f;
  g.zero = false;
  pad(o, &g, num, n);
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static void fmt_float(struct out *o, struct flags *f, json_object *v, double d, char verb) {
  bool neg = signbit(d) && !isnan(d);
  double a = fabs(d);
  if (!isfinite(d)) {
    const char *s = isnan(d) ? "NaN" : "Inf";
    struct flags g = *f;
    if (isnan(d))
      g.plus = g.space = false, neg = false;
    else if (!neg)
      g.plus = true; /* Go prints +Inf */
    pad_number(o, &g, neg, s, false);
    return;
  }
  cleanup_free char *digits = NULL;
  int prec = f->prec_present ? f->prec : -1;
  /* %f and %e print at least the precision's digits: refuse what cannot fit first. */
  if ((verb == 'f' || verb == 'F' || verb == 'e' || verb == 'E') && prec > 0 &&
      (size_t)prec > o->limit - o->len) {
    o->over = true;
    return;
  }
  switch (verb) {
  case 'v':
  case 'g':
  case 'G':
    if (prec < 0) {
      char s[40];
      cb_go_format_float(a, s);
      if (verb == 'G')
        for (char *p = s; *p; p++)
          if (*p == 'e')
            *p = 'E';
      digits = xstrdup(s);
    } else {
      digits =
          xasprintf(f->sharp ? (verb == 'G' ? "%#.*G" : "%#.*g") : (verb == 'G' ? "%.*G" : "%.*g"),
                    prec == 0 ? 1 : prec, a);
    }
    break;
  case 'f':
  case 'F':
  case 'e':
  case 'E': {
    char spec[8] = "%.*";
    size_t k = 3;
    if (f->sharp)
      spec[1] = '#', spec[2] = '.', spec[3] = '*', k = 4;
    spec[k++] = verb == 'F' ? 'f' : verb;
    spec[k] = '\0';
    digits = xasprintf(spec, prec < 0 ? 6 : prec, a);
    break;
  }
  case 'x':
  case 'X': {
    /* Go: -0x1.8p+01, an exponent of two digits at least. */
    char *s = xasprintf(verb == 'X' ? "%.*A" : "%.*a", prec < 0 ? 13 : prec, a);
    if (prec < 0) { /* shortest: no trailing zeros */
      char *p = strchr(s, verb == 'X' ? 'P' : 'p');
      char *q = p;
      while (q > s && q[-1] == '0')
        q--;
      if (q > s && q[-1] == '.')
        q--;
      memmove(q, p, strlen(p) + 1);
    }
    char *p = strchr(s, verb == 'X' ? 'P' : 'p');
    if (p && p[2] && !p[3]) { /* one exponent digit */
      digits = xasprintf("%.*s%c%c0%c", (int)(p - s), s, p[0], p[1], p[2]);
      free(s);
    } else {
      digits = s;
    }
    break;
  }
  case 'b': {
    int e;
    double m = frexp(a, &e);
    uint64_t mant = (uint64_t)ldexp(m, 53);
    digits = a == 0 ? xstrdup("0p-1074") : xasprintf("%llup%+d", (unsigned long long)mant, e - 53);
    break;
  }
  default: bad_verb(o, f, v, verb); return;
  }
  pad_number(o, f, neg, digits, true);
}
#pragma GCC diagnostic pop

static void fmt_int(struct out *o, struct flags *f, json_object *v, char verb) {
  int64_t i = json_object_get_int64(v);
  bool neg = i < 0;
  uint64_t u = neg ? (uint64_t)0 - (uint64_t)i : (uint64_t)i;
  if (!neg && i == INT64_MAX) /* json-c keeps larger unsigned numbers as uint64 */
    u = json_object_get_uint64(v);
  switch (verb) {
  case 'v':
  case 'd': fmt_integer(o, f, u, neg, 10, verb, false); return;
  case 'b': fmt_integer(o, f, u, neg, 2, verb, false); return;
  case 'o':
  case 'O': fmt_integer(o, f, u, neg, 8, verb, false); return;
  case 'x': fmt_integer(o, f, u, neg, 16, verb, false); return;
  case 'X': fmt_integer(o, f, u, neg, 16, verb, true); return;
  case 'c': {
    struct out r = {.limit = 8};
    put_rune(&r, neg || u > 0x10ffff ? 0xfffd : (uint32_t)u);
    pad(o, f, r.s, r.len);
    free(r.s);
    return;
  }
  case 'q': {
    struct out r = {.limit = 32};
    uint32_t cp = neg || u > 0x10ffff ? 0xfffd : (uint32_t)u;
    if (f->sharp && cp != '\'' && cp != '`' && is_print(cp)) {
      putc_(&r, '\'');
      put_rune(&r, cp);
      putc_(&r, '\'');
    } else {
      putc_(&r, '\'');
      quote_rune_into(&r, cp, 0, NULL, '\'', f->plus);
      putc_(&r, '\'');
    }
    pad(o, f, r.s, r.len);
    free(r.s);
    return;
  }
  case 'U': {
    char b[64];
    uint32_t cp = neg || u > 0x10ffff ? 0xfffd : (uint32_t)u;
    int k = snprintf(b, sizeof b, "U+%04llX", (unsigned long long)(neg ? (uint64_t)i : u));
    if (f->sharp && is_print(cp)) {
      struct out r = {.limit = 64};
      put(&r, b, (size_t)k);
      puts_(&r, " '");
      put_rune(&r, cp);
      putc_(&r, '\'');
      pad(o, f, r.s, r.len);
      free(r.s);
      return;
    }
    pad(o, f, b, (size_t)k);
    return;
  }
  case 'e':
  case 'E':
  case 'f':
  case 'F':
  case 'g':
  case 'G':
  default: bad_verb(o, f, v, verb); return;
  }
}

static void fmt_string(struct out *o, struct flags *f, json_object *v, char verb) {
  const char *s = json_object_get_string(v);
  size_t n = (size_t)json_object_get_string_len(v);
  if (f->prec_present &&
      (verb == 'v' || verb == 's' || verb == 'q' || verb == 'x' || verb == 'X')) {
    /* The precision cuts the string: runes (bytes for x and X). */
    size_t keep = 0, runes = 0;
    if (verb == 'x' || verb == 'X') {
      keep = (size_t)f->prec < n ? (size_t)f->prec : n;
    } else {
      uint32_t cp;
      while (keep < n && runes < (size_t)f->prec) {
        keep += decode_rune((const unsigned char *)s + keep, n - keep, &cp);
        runes++;
      }
    }
    n = keep;
  }
  switch (verb) {
  case 'v':
    if (f->sharp_v) {
      struct out r = {.limit = o->limit};
      quote_into(&r, s, n, false);
      if (r.over)
        o->over = true;
      else
        pad(o, f, r.s ? r.s : "", r.len);
      free(r.s);
      return;
    }
    /* fall through */
  case 's': pad(o, f, s, n); return;
  case 'q': {
    struct out r = {.limit = o->limit};
    bool raw = f->sharp && !memchr(s, '`', n);
    for (size_t i = 0; raw && i < n;) {
      uint32_t cp;
      size_t l = decode_rune((const unsigned char *)s + i, n - i, &cp);
      if ((l == 1 && cp == 0xfffd) || (cp != '\t' && !is_print(cp)))
        raw = false;
      i += l;
    }
    if (raw) {
      putc_(&r, '`');
      put(&r, s, n);
      putc_(&r, '`');
    } else {
      quote_into(&r, s, n, f->plus);
    }
    if (r.over)
      o->over = true;
    else
      pad(o, f, r.s ? r.s : "", r.len);
    free(r.s);
    return;
  }
  case 'x':
  case 'X': {
    const char *digits = verb == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
    struct out r = {.limit = o->limit};
    for (size_t i = 0; i < n && !r.over; i++) {
      if (f->space && i > 0)
        putc_(&r, ' ');
      if (f->sharp && (f->space || i == 0)) {
        putc_(&r, '0');
        putc_(&r, verb == 'X' ? 'X' : 'x');
      }
      putc_(&r, digits[(unsigned char)s[i] >> 4]);
      putc_(&r, digits[(unsigned char)s[i] & 15]);
    }
    if (r.over)
      o->over = true;
    else
      pad(o, f, r.s ? r.s : "", r.len);
    free(r.s);
    return;
  }
  default: bad_verb(o, f, v, verb); return;
  }
}

static int cmp_keys(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* printValue: depth > 0 inside an array or a map, where nil prints <nil> whatever the verb. */
static void print_value(struct out *o, struct flags *f, json_object *v, char verb, int depth) {
  if (o->over)
    return;
  if (!v) {
    if (depth > 0)
      puts_(o, f->sharp_v ? "interface {}(nil)" : "<nil>");
    else if (verb == 'v' || verb == 'T')
      pad_str(o, f, "<nil>");
    else
      bad_verb(o, f, v, verb);
    return;
  }
  if (verb == 'T') {
    pad_str(o, f, cb_go_type_name(v));
    return;
  }
  switch (json_object_get_type(v)) {
  case json_type_null: print_value(o, f, NULL, verb, depth); return;
  case json_type_boolean:
    if (verb == 't' || verb == 'v')
      pad_str(o, f, json_object_get_boolean(v) ? "true" : "false");
    else
      bad_verb(o, f, v, verb);
    return;
  case json_type_int: fmt_int(o, f, v, verb); return;
  case json_type_double: {
    double d = json_object_get_double(v);
    /* As the templates print a number (template.c): an integral one as an integer. */
    if (verb == 'v' && !f->sharp_v && isfinite(d) && d == floor(d) && fabs(d) < 1e21) {
      char num[32];
      snprintf(num, sizeof num, "%.0f", fabs(d));
      pad_number(o, f, signbit(d), num, true);
      return;
    }
    fmt_float(o, f, v, d, verb);
    return;
  }
  case json_type_string: fmt_string(o, f, v, verb); return;
  case json_type_array: {
    size_t n = json_object_array_length(v);
    puts_(o, f->sharp_v ? "[]interface {}{" : "[");
    for (size_t i = 0; i < n && !o->over; i++) {
      if (i)
        puts_(o, f->sharp_v ? ", " : " ");
      print_value(o, f, json_object_array_get_idx(v, i), verb, depth + 1);
    }
    putc_(o, f->sharp_v ? '}' : ']');
    return;
  }
  case json_type_object: {
    size_t n = (size_t)json_object_object_length(v), k = 0;
    cleanup_free const char **keys = xcalloc(n + 1, sizeof *keys);
    json_object_object_foreach(v, key, val) {
      (void)val;
      keys[k++] = key;
    }
    qsort(keys, k, sizeof *keys, cmp_keys);
    puts_(o, f->sharp_v ? "map[string]interface {}{" : "map[");
    for (size_t i = 0; i < k && !o->over; i++) {
      if (i)
        puts_(o, f->sharp_v ? ", " : " ");
      json_object *ks = json_object_new_string(keys[i]);
      print_value(o, f, ks, verb, depth + 1);
      json_object_put(ks);
      putc_(o, ':');
      print_value(o, f, json_object_object_get(v, keys[i]), verb, depth + 1);
    }
    putc_(o, f->sharp_v ? '}' : ']');
    return;
  }
  }
}

/* ---- the format ------------------------------------------------------------------------ */

/* Digits at format[*i]; Go's parsenum: a number that grows past 1e6 ends the format. */
static bool parse_num(const char *fmt, size_t end, size_t *i, int *num) {
  bool any = false;
  long n = 0;
  *num = 0;
  if (*i >= end)
    return false;
  for (; *i < end && fmt[*i] >= '0' && fmt[*i] <= '9'; (*i)++) {
    if (n > GO_FMT_MAX) {
      *i = end;
      return false;
    }
    n = n * 10 + (fmt[*i] - '0');
    any = true;
  }
  *num = (int)n;
  return any;
}

/* An integer argument for "*": Go's intFromArg. */
static bool int_arg(json_object *const *args, size_t n, size_t *argnum, int *num) {
  *num = 0;
  if (*argnum >= n)
    return false;
  json_object *v = args[(*argnum)++];
  if (!v || !json_object_is_type(v, json_type_int))
    return false;
  int64_t x = json_object_get_int64(v);
  if (x == INT64_MAX && json_object_get_uint64(v) > (uint64_t)INT64_MAX)
    return false;
  if (x > GO_FMT_MAX || x < -GO_FMT_MAX)
    return false;
  *num = (int)x;
  return true;
}

struct state {
  json_object *const *args;
  size_t n, argnum;
  bool reordered, good_argnum;
};

/* "[n]" at format[*i]: Go's argNumber. Returns whether an index was there. */
static bool arg_number(struct state *st, const char *fmt, size_t end, size_t *i) {
  if (*i >= end || fmt[*i] != '[')
    return false;
  st->reordered = true;
  /* parseArgNumber: "[n]", n >= 1. */
  size_t j = *i + 1;
  if (end - *i < 3) {
    st->good_argnum = false;
    *i += 1;
    return false;
  }
  for (; j < end; j++) {
    if (fmt[j] != ']')
      continue;
    size_t k = *i + 1;
    int idx = 0;
    bool ok = parse_num(fmt, j, &k, &idx) && k == j;
    *i = j + 1;
    if (ok && idx >= 1 && (size_t)(idx - 1) < st->n) {
      st->argnum = (size_t)(idx - 1);
      return true;
    }
    st->good_argnum = false;
    return ok;
  }
  st->good_argnum = false;
  *i += 1;
  return false;
}

char *cb_go_sprintf(const char *fmt, size_t end, json_object *const *args, size_t n, size_t limit,
                    size_t *len) {
  struct out o = {.limit = limit};
  struct state st = {.args = args, .n = n};
  bool after_index = false;
  for (size_t i = 0; i < end && !o.over;) {
    st.good_argnum = true;
    size_t last = i;
    while (i < end && fmt[i] != '%')
      i++;
    put(&o, fmt + last, i - last);
    if (i >= end)
      break;
    i++;
    struct flags f = {0};
    bool simple = false;
    for (; i < end; i++) {
      char c = fmt[i];
      if (c == '#')
        f.sharp = true;
      else if (c == '0')
        f.zero = true;
      else if (c == '+')
        f.plus = true;
      else if (c == '-')
        f.minus = true;
      else if (c == ' ')
        f.space = true;
      else {
        simple = c >= 'a' && c <= 'z' && st.argnum < n;
        break;
      }
    }
    if (simple) {
      char verb = fmt[i++];
      if (verb == 'v') {
        f.sharp_v = f.sharp, f.sharp = false;
        f.plus_v = f.plus, f.plus = false;
      }
      print_value(&o, &f, args[st.argnum++], verb, 0);
      continue;
    }
    after_index = arg_number(&st, fmt, end, &i);
    if (i < end && fmt[i] == '*') {
      i++;
      f.wid_present = int_arg(args, n, &st.argnum, &f.wid);
      if (!f.wid_present)
        puts_(&o, "%!(BADWIDTH)");
      if (f.wid < 0) {
        f.wid = -f.wid;
        f.minus = true;
        f.zero = false;
      }
      after_index = false;
    } else {
      f.wid_present = parse_num(fmt, end, &i, &f.wid);
      if (after_index && f.wid_present)
        st.good_argnum = false;
    }
    if (i + 1 < end && fmt[i] == '.') {
      i++;
      if (after_index)
        st.good_argnum = false;
      after_index = arg_number(&st, fmt, end, &i);
      if (i < end && fmt[i] == '*') {
        i++;
        f.prec_present = int_arg(args, n, &st.argnum, &f.prec);
        if (f.prec < 0) {
          f.prec = 0;
          f.prec_present = false;
        }
        if (!f.prec_present)
          puts_(&o, "%!(BADPREC)");
        after_index = false;
      } else {
        f.prec_present = parse_num(fmt, end, &i, &f.prec);
        if (!f.prec_present) {
          f.prec = 0;
          f.prec_present = true;
        }
      }
    }
    if (!after_index)
      after_index = arg_number(&st, fmt, end, &i);
    if (i >= end) {
      puts_(&o, "%!(NOVERB)");
      break;
    }
    uint32_t verb;
    i += decode_rune((const unsigned char *)fmt + i, end - i, &verb);
    if (verb == '%') {
      putc_(&o, '%');
    } else if (!st.good_argnum || st.argnum >= n) {
      puts_(&o, "%!");
      put_rune(&o, verb);
      puts_(&o, st.good_argnum ? "(MISSING)" : "(BADINDEX)");
    } else if (verb >= 0x80) {
      /* No verb of ours is beyond ASCII: print it as a bad one. */
      json_object *v = args[st.argnum++];
      puts_(&o, "%!");
      put_rune(&o, verb);
      putc_(&o, '(');
      if (v) {
        puts_(&o, cb_go_type_name(v));
        putc_(&o, '=');
        print_value(&o, &f, v, 'v', 0);
      } else {
        puts_(&o, "<nil>");
      }
      putc_(&o, ')');
    } else {
      if (verb == 'v') {
        f.sharp_v = f.sharp, f.sharp = false;
        f.plus_v = f.plus, f.plus = false;
      }
      print_value(&o, &f, args[st.argnum++], (char)verb, 0);
    }
  }
  if (!st.reordered && st.argnum < n) {
    puts_(&o, "%!(EXTRA ");
    struct flags f = {0};
    for (size_t k = st.argnum; k < n; k++) {
      if (k > st.argnum)
        puts_(&o, ", ");
      if (!args[k]) {
        puts_(&o, "<nil>");
        continue;
      }
      puts_(&o, cb_go_type_name(args[k]));
      putc_(&o, '=');
      print_value(&o, &f, args[k], 'v', 0);
    }
    putc_(&o, ')');
  }
  if (o.over) {
    free(o.s);
    return NULL;
  }
  if (!o.s)
    o.s = xstrdup("");
  *len = o.len;
  return o.s;
}
