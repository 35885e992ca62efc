/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The subset of Go's text/template that Docker users script with (see template.h).
 *
 * A template is lexed into tokens (text, {{, }}, and the words of actions), parsed into a
 * tree of text, actions, if/with/range blocks, and executed against a JSON value. Values
 * printed as Go's fmt prints the interface{} values of decoded JSON: strings raw,
 * integral numbers as integers, arrays as [a b c], objects as map[k:v] with sorted keys,
 * null as <no value>. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crowbar/cleanup.h"
#include "crowbar/gofmt.h"
#include "crowbar/json.h"
#include "crowbar/template.h"

/* ---- a growing string ------------------------------------------------------------- */

/* A string never grows past CB_TEMPLATE_MAX_OUTPUT: what would pass it is dropped and the
 * string marked, and whoever made it fails (exec_too_big) rather than use it. */
struct buf {
  char *s;
  size_t len, cap;
  bool over;
};

static void buf_add(struct buf *b, const char *s, size_t n) {
  if (b->over)
    return;
  if (n > CB_TEMPLATE_MAX_OUTPUT - b->len) {
    b->over = true;
    return;
  }
  if (b->len + n + 1 > b->cap) {
    size_t c = b->cap ? b->cap : 128;
    while (c < b->len + n + 1)
      c *= 2;
    b->s = xrealloc(b->s, c);
    b->cap = c;
  }
  memcpy(b->s + b->len, s, n);
  b->len += n;
  b->s[b->len] = '\0';
}
static void buf_adds(struct buf *b, const char *s) {
  buf_add(b, s, strlen(s));
}
static void buf_addc(struct buf *b, char c) {
  buf_add(b, &c, 1);
}
static char *buf_steal(struct buf *b) {
  if (!b->s)
    return xstrdup("");
  char *r = b->s;
  b->s = NULL;
  b->len = b->cap = 0;
  return r;
}

/* ---- tokens --------------------------------------------------------------------------- */

enum tok {
  T_EOF,
  T_TEXT,
  T_LEFT,
  T_RIGHT,
  T_FIELD, /* .A.B: s = "A.B" */
  T_DOT,
  T_VAR, /* $x: s = "$x" */
  T_IDENT,
  T_STRING, /* s = the unquoted value */
  T_NUMBER, /* s = the literal */
  T_CHAR,   /* s = the code point as a decimal literal */
  T_BOOL,
  T_NIL,
  T_PIPE,
  T_LPAREN,
  T_RPAREN,
  T_DECLARE,
  T_ASSIGN,
  T_COMMA,
};

struct token {
  enum tok t;
  char *s;
  size_t len;
  bool adjacent; /* no space before it (field chains after ")" and "$x") */
  int line;
};

struct lexer {
  const char *text;
  size_t pos, n;
  int line;
  struct token *v;
  size_t cnt, cap;
  cb_error_t *err;
};

static void emit(struct lexer *lx, enum tok t, const char *s, size_t len, bool adjacent) {
  if (lx->cnt == lx->cap) {
    lx->cap = lx->cap ? lx->cap * 2 : 32;
    lx->v = xrealloc(lx->v, lx->cap * sizeof *lx->v);
  }
  struct token *k = &lx->v[lx->cnt++];
  k->t = t;
  k->s = xmalloc(len + 1);
  memcpy(k->s, s, len);
  k->s[len] = '\0';
  k->len = len;
  k->adjacent = adjacent;
  k->line = lx->line;
}

static bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}
static bool is_alnum_(char c) {
  return isalnum((unsigned char)c) || c == '_' || (unsigned char)c >= 0x80;
}

static int lex_error(struct lexer *lx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int lex_error(struct lexer *lx, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *m;
  if (vasprintf(&m, fmt, ap) < 0)
    oom();
  va_end(ap);
  cb_error_make(lx->err, 0, "template: %d: %s", lx->line, m);
  free(m);
  return -1;
}

/* Append the UTF-8 encoding of cp. */
static void put_utf8(struct buf *b, uint32_t cp) {
  char o[4];
  if (cp < 0x80) {
    buf_addc(b, (char)cp);
  } else if (cp < 0x800) {
    o[0] = (char)(0xc0 | (cp >> 6)), o[1] = (char)(0x80 | (cp & 0x3f));
    buf_add(b, o, 2);
  } else if (cp < 0x10000) {
    o[0] = (char)(0xe0 | (cp >> 12)), o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[2] = (char)(0x80 | (cp & 0x3f));
    buf_add(b, o, 3);
  } else {
    o[0] = (char)(0xf0 | (cp >> 18)), o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f)), o[3] = (char)(0x80 | (cp & 0x3f));
    buf_add(b, o, 4);
  }
}

static int hexval(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* A Go escape sequence after the backslash at p; appends to b; returns bytes consumed or -1. */
static int unescape(const char *p, struct buf *b) {
  switch (*p) {
  case 'n': buf_addc(b, '\n'); return 1;
  case 't': buf_addc(b, '\t'); return 1;
  case 'r': buf_addc(b, '\r'); return 1;
  case 'a': buf_addc(b, '\a'); return 1;
  case 'b': buf_addc(b, '\b'); return 1;
  case 'f': buf_addc(b, '\f'); return 1;
  case 'v': buf_addc(b, '\v'); return 1;
  case '\\': buf_addc(b, '\\'); return 1;
  case '"': buf_addc(b, '"'); return 1;
  case '\'': buf_addc(b, '\''); return 1;
  case 'x':
  case 'u':
  case 'U': {
    int n = *p == 'x' ? 2 : *p == 'u' ? 4 : 8;
    uint32_t v = 0;
    for (int i = 1; i <= n; i++) {
      int h = hexval(p[i]);
      if (h < 0)
        return -1;
      v = v * 16 + (uint32_t)h;
    }
    if (*p == 'x')
      buf_addc(b, (char)v);
    else if (v > 0x10ffff)
      return -1;
    else
      put_utf8(b, v);
    return n + 1;
  }
  default:
    if (*p >= '0' && *p <= '7' && p[1] >= '0' && p[1] <= '7' && p[2] >= '0' && p[2] <= '7') {
      buf_addc(b, (char)((p[0] - '0') * 64 + (p[1] - '0') * 8 + (p[2] - '0')));
      return 3;
    }
    return -1;
  }
}

/* Lex the inside of one action, from lx->pos (just after "{{" and a trim marker).
 * Emits the tokens and T_RIGHT; sets *trim_right. */
static int lex_action(struct lexer *lx, bool *trim_right) {
  const char *t = lx->text;
  bool adjacent = false;
  for (;;) {
    size_t p = lx->pos;
    if (p >= lx->n)
      return lex_error(lx, "unclosed action");
    char c = t[p];
    if (is_space(c)) {
      /* " -}}" closes with a right trim. */
      if (p + 3 < lx->n + 0 && t[p + 1] == '-' && t[p + 2] == '}' && t[p + 3] == '}') {
        lx->pos = p + 4;
        *trim_right = true;
        emit(lx, T_RIGHT, "}}", 2, false);
        return 0;
      }
      if (c == '\n')
        lx->line++;
      lx->pos++;
      adjacent = false;
      continue;
    }
    if (c == '}' && p + 1 < lx->n && t[p + 1] == '}') {
      lx->pos = p + 2;
      *trim_right = false;
      emit(lx, T_RIGHT, "}}", 2, false);
      return 0;
    }
    bool adj = adjacent;
    adjacent = true;
    switch (c) {
    case '|':
      emit(lx, T_PIPE, "|", 1, adj);
      lx->pos++;
      continue;
    case '(':
      emit(lx, T_LPAREN, "(", 1, adj);
      lx->pos++;
      continue;
    case ')':
      emit(lx, T_RPAREN, ")", 1, adj);
      lx->pos++;
      continue;
    case ',':
      emit(lx, T_COMMA, ",", 1, adj);
      lx->pos++;
      continue;
    case '=':
      emit(lx, T_ASSIGN, "=", 1, adj);
      lx->pos++;
      continue;
    case ':':
      if (p + 1 < lx->n && t[p + 1] == '=') {
        emit(lx, T_DECLARE, ":=", 2, adj);
        lx->pos += 2;
        continue;
      }
      return lex_error(lx, "expected :=");
    case '"': {
      struct buf b = {0};
      size_t q = p + 1;
      for (;;) {
        if (q >= lx->n) {
          free(b.s);
          return lex_error(lx, "unterminated quoted string");
        }
        if (t[q] == '"')
          break;
        if (t[q] == '\\') {
          int k = q + 1 < lx->n ? unescape(t + q + 1, &b) : -1;
          if (k < 0) {
            free(b.s);
            return lex_error(lx, "invalid syntax in quoted string");
          }
          q += 1 + (size_t)k;
          continue;
        }
        buf_addc(&b, t[q++]);
      }
      emit(lx, T_STRING, b.s ? b.s : "", b.len, adj);
      free(b.s);
      lx->pos = q + 1;
      continue;
    }
    case '`': {
      const char *end = memchr(t + p + 1, '`', lx->n - p - 1);
      if (!end)
        return lex_error(lx, "unterminated raw quoted string");
      emit(lx, T_STRING, t + p + 1, (size_t)(end - t - p - 1), adj);
      lx->pos = (size_t)(end - t) + 1;
      continue;
    }
    case '\'': {
      struct buf b = {0};
      size_t q = p + 1;
      uint32_t cp = 0;
      if (q < lx->n && t[q] == '\\') {
        int k = unescape(t + q + 1, &b);
        if (k < 0 || b.len == 0) {
          free(b.s);
          return lex_error(lx, "invalid character constant");
        }
        q += 1 + (size_t)k;
      } else {
        while (q < lx->n && t[q] != '\'')
          buf_addc(&b, t[q++]);
      }
      if (q >= lx->n || t[q] != '\'' || b.len == 0 || b.len > 4) {
        free(b.s);
        return lex_error(lx, "unterminated character constant");
      }
      /* Decode the (UTF-8) character. */
      const unsigned char *u = (const unsigned char *)b.s;
      if (u[0] < 0x80)
        cp = u[0];
      else if ((u[0] & 0xe0) == 0xc0 && b.len >= 2)
        cp = ((u[0] & 0x1fu) << 6) | (u[1] & 0x3fu);
      else if ((u[0] & 0xf0) == 0xe0 && b.len >= 3)
        cp = ((u[0] & 0x0fu) << 12) | ((u[1] & 0x3fu) << 6) | (u[2] & 0x3fu);
      else if (b.len >= 4)
        cp = ((u[0] & 0x07u) << 18) | ((u[1] & 0x3fu) << 12) | ((u[2] & 0x3fu) << 6) |
             (u[3] & 0x3fu);
      free(b.s);
      char num[16];
      int l = snprintf(num, sizeof num, "%u", cp);
      emit(lx, T_CHAR, num, (size_t)l, adj);
      lx->pos = q + 1;
      continue;
    }
    case '$': {
      size_t q = p + 1;
      while (q < lx->n && is_alnum_(t[q]))
        q++;
      emit(lx, T_VAR, t + p, q - p, adj);
      lx->pos = q;
      continue;
    }
    case '.':
      if (p + 1 < lx->n && isdigit((unsigned char)t[p + 1]))
        break; /* a number */
      if (p + 1 < lx->n && is_alnum_(t[p + 1])) {
        size_t q = p;
        while (q < lx->n && t[q] == '.' && q + 1 < lx->n && is_alnum_(t[q + 1])) {
          q++;
          while (q < lx->n && is_alnum_(t[q]))
            q++;
        }
        emit(lx, T_FIELD, t + p + 1, q - p - 1, adj);
        lx->pos = q;
        continue;
      }
      emit(lx, T_DOT, ".", 1, adj);
      lx->pos++;
      continue;
    default: break;
    }
    if (isdigit((unsigned char)c) || c == '.' ||
        ((c == '-' || c == '+') && p + 1 < lx->n &&
         (isdigit((unsigned char)t[p + 1]) || t[p + 1] == '.'))) {
      size_t q = p + 1;
      while (q < lx->n && (isalnum((unsigned char)t[q]) || t[q] == '.' || t[q] == '_' ||
                           ((t[q] == '+' || t[q] == '-') && (t[q - 1] == 'e' || t[q - 1] == 'E' ||
                                                             t[q - 1] == 'p' || t[q - 1] == 'P'))))
        q++;
      emit(lx, T_NUMBER, t + p, q - p, adj);
      lx->pos = q;
      continue;
    }
    if (isalpha((unsigned char)c) || c == '_') {
      size_t q = p;
      while (q < lx->n && is_alnum_(t[q]))
        q++;
      size_t len = q - p;
      enum tok k = T_IDENT;
      if ((len == 4 && !memcmp(t + p, "true", 4)) || (len == 5 && !memcmp(t + p, "false", 5)))
        k = T_BOOL;
      else if (len == 3 && !memcmp(t + p, "nil", 3))
        k = T_NIL;
      emit(lx, k, t + p, len, adj);
      lx->pos = q;
      continue;
    }
    if (c == '-' && p + 2 < lx->n && t[p + 1] == '}' && t[p + 2] == '}')
      return lex_error(lx, "unexpected \"-\" in command (a trim marker needs a space before it)");
    return lex_error(lx, "unexpected \"%c\" in command", c);
  }
}

static int lex(struct lexer *lx) {
  const char *t = lx->text;
  bool trim_next = false;
  while (lx->pos <= lx->n) {
    const char *open = strstr(t + lx->pos, "{{");
    size_t end = open ? (size_t)(open - t) : lx->n;
    size_t start = lx->pos;
    if (trim_next)
      while (start < end && is_space(t[start]))
        start++;
    trim_next = false;
    size_t stop = end;
    bool trim_left = open && open[2] == '-' && is_space(open[3]);
    if (trim_left)
      while (stop > start && is_space(t[stop - 1]))
        stop--;
    if (stop > start)
      emit(lx, T_TEXT, t + start, stop - start, false);
    for (size_t i = lx->pos; i < end; i++)
      if (t[i] == '\n')
        lx->line++;
    if (!open)
      break;
    lx->pos = end + 2 + (trim_left ? 2 : 0);
    /* A comment action: slash-star ... star-slash between the delimiters. */
    if (lx->pos + 1 < lx->n && t[lx->pos] == '/' && t[lx->pos + 1] == '*') {
      const char *close = strstr(t + lx->pos + 2, "*/");
      if (!close)
        return lex_error(lx, "unclosed comment");
      size_t q = (size_t)(close - t) + 2;
      if (!strncmp(t + q, "}}", 2)) {
        lx->pos = q + 2;
      } else if (is_space(t[q]) && !strncmp(t + q + 1, "-}}", 3)) {
        lx->pos = q + 4;
        trim_next = true;
      } else {
        return lex_error(lx, "comment ends before closing delimiter");
      }
      continue;
    }
    emit(lx, T_LEFT, "{{", 2, false);
    if (lex_action(lx, &trim_next) < 0)
      return -1;
  }
  emit(lx, T_EOF, "", 0, false);
  return 0;
}

/* ---- the tree --------------------------------------------------------------------------- */

struct func;

enum arg_type { A_FIELD, A_DOT, A_VAR, A_FUNC, A_STRING, A_NUMBER, A_BOOL, A_NIL, A_PIPE };

struct pipe;

struct arg {
  enum arg_type t;
  char *s;      /* A_STRING value, A_VAR name, A_NUMBER literal */
  char **chain; /* field names after the term (A_FIELD: all of them) */
  size_t nchain;
  bool is_int;
  int64_t i;
  double d;
  bool b;
  const struct func *fn;
  struct pipe *pipe; /* A_PIPE */
};

struct cmd {
  struct arg *args;
  size_t nargs;
};

struct pipe {
  char *decl[2];
  size_t ndecl;
  bool assign; /* "=" rather than ":=" */
  struct cmd *cmds;
  size_t ncmds;
};

enum node_type { N_TEXT, N_ACTION, N_IF, N_WITH, N_RANGE };

struct node {
  enum node_type t;
  char *text;
  size_t len;
  struct pipe *pipe;
  struct node *list, *else_list;
  struct node *next;
};

struct cb_template {
  bool table;
  struct node *root;
};

/* ---- values ----------------------------------------------------------------------------- */

/* A value: a JSON value we hold a reference on (NULL is JSON null), or "no value" (a
 * missing map key, Go's invalid reflect.Value). */
struct val {
  json_object *j;
  bool missing;
  const struct cb_gotype *t; /* its Go type, when the data has one (typed execution) */
};

static struct val v_ref(json_object *j) {
  return (struct val){json_object_get(j), false, NULL};
}
static struct val v_own(json_object *j) {
  return (struct val){j, false, NULL};
}
static struct val v_missing(void) {
  return (struct val){NULL, true, NULL};
}
static struct val v_copy(struct val v) {
  return (struct val){json_object_get(v.j), v.missing, v.t};
}

/* The type a pointer points to (the type itself otherwise). */
static const struct cb_gotype *go_deref(const struct cb_gotype *t) {
  while (t && t->kind == CB_GO_PTR && t->elem)
    t = t->elem;
  return t;
}

/* The type of field NAME of a value of type t (a struct's field, a map's element), or NULL. */
static const struct cb_gotype *go_field(const struct cb_gotype *t, const char *name) {
  t = go_deref(t);
  if (!t)
    return NULL;
  if (t->kind == CB_GO_MAP)
    return t->elem;
  if (t->kind != CB_GO_STRUCT)
    return NULL;
  for (const struct cb_gofield *f = t->fields; f && f->name; f++)
    if (!strcmp(f->name, name))
      return f->type;
  return NULL;
}

/* The type of an element of a slice or map of type t, or NULL. */
static const struct cb_gotype *go_elem(const struct cb_gotype *t) {
  t = go_deref(t);
  return t && (t->kind == CB_GO_SLICE || t->kind == CB_GO_MAP) ? t->elem : NULL;
}
static void v_put(struct val *v) {
  json_object_put(v->j);
  v->j = NULL;
}
static struct val v_str(const char *s, size_t n) {
  return v_own(json_object_new_string_len(s, (int)n));
}
static struct val v_bool(bool b) {
  return v_own(json_object_new_boolean(b));
}

static const char *go_type(struct val v) {
  if (v.missing)
    return "<nil>";
  switch (json_object_get_type(v.j)) {
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

static bool is_truthy(struct val v) {
  if (v.missing || !v.j)
    return false;
  switch (json_object_get_type(v.j)) {
  case json_type_boolean: return json_object_get_boolean(v.j);
  case json_type_int: return json_object_get_int64(v.j) != 0;
  case json_type_double: return json_object_get_double(v.j) != 0;
  case json_type_string: return json_object_get_string_len(v.j) > 0;
  case json_type_array: return json_object_array_length(v.j) > 0;
  case json_type_object: return json_object_object_length(v.j) > 0;
  default: return false;
  }
}

static int cmp_keys(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The keys of an object, sorted (Go's map order in fmt and range). */
static const char **sorted_keys(json_object *o, size_t *n) {
  size_t cnt = (size_t)json_object_object_length(o), k = 0;
  const char **keys = xcalloc(cnt + 1, sizeof *keys);
  json_object_object_foreach(o, key, v) {
    (void)v;
    keys[k++] = key;
  }
  qsort(keys, k, sizeof *keys, cmp_keys);
  *n = k;
  return keys;
}

static void print_number(struct buf *b, json_object *j) {
  char num[48];
  if (json_object_is_type(j, json_type_int)) {
    int64_t v = json_object_get_int64(j);
    if (v == INT64_MAX)
      snprintf(num, sizeof num, "%llu", (unsigned long long)json_object_get_uint64(j));
    else
      snprintf(num, sizeof num, "%lld", (long long)v);
  } else {
    double d = json_object_get_double(j);
    if (isfinite(d) && d == floor(d) && fabs(d) < 1e21)
      snprintf(num, sizeof num, "%.0f", d);
    else
      cb_go_format_float(d, num);
  }
  buf_adds(b, num);
}

/* The zero value of a Go type, as fmt prints it: what a field that JSON leaves out or
 * holds as null prints in Docker's structs (nil slice [], nil map map[], nil pointer <nil>). */
static bool print_zero(struct buf *b, const struct cb_gotype *t) {
  switch (t ? t->kind : CB_GO_ANY) {
  case CB_GO_PTR: buf_adds(b, "<nil>"); return true;
  case CB_GO_SLICE: buf_adds(b, "[]"); return true;
  case CB_GO_MAP: buf_adds(b, "map[]"); return true;
  case CB_GO_EMPTY: buf_adds(b, "{}"); return true;
  case CB_GO_STRING: return true;
  case CB_GO_INT: buf_adds(b, "0"); return true;
  case CB_GO_BOOL: buf_adds(b, "false"); return true;
  default: return false;
  }
}

static void print_val(struct buf *b, struct val v, bool top);

/* A struct whose fields the type lists in full: Go's {v1 v2 ...}. */
static void print_struct(struct buf *b, json_object *j, const struct cb_gotype *t) {
  buf_addc(b, '{');
  for (const struct cb_gofield *f = t->fields; f && f->name; f++) {
    if (f != t->fields)
      buf_addc(b, ' ');
    json_object *c = NULL;
    json_object_object_get_ex(j, f->name, &c);
    print_val(b, (struct val){c, false, f->type}, false);
  }
  buf_addc(b, '}');
}

/* Go's fmt %v of a decoded JSON value. top: a nil at the top prints "<no value>". With a
 * type (typed execution), as fmt prints Docker's structs. */
static void print_val(struct buf *b, struct val v, bool top) {
  if (v.missing || !v.j) {
    if (!v.missing && v.t && v.t->kind == CB_GO_STRUCT && v.t->complete) {
      print_struct(b, NULL, v.t); /* a struct's zero value: its fields' */
      return;
    }
    if (!v.missing && print_zero(b, v.t))
      return;
    buf_adds(b, top || v.missing ? "<no value>" : "<nil>");
    return;
  }
  json_object *j = v.j;
  const struct cb_gotype *t = go_deref(v.t);
  if (t && t->kind == CB_GO_EMPTY) {
    buf_adds(b, "{}");
    return;
  }
  if (t && t->kind == CB_GO_STRUCT && t->complete && json_object_is_type(j, json_type_object)) {
    print_struct(b, j, t);
    return;
  }
  switch (json_object_get_type(j)) {
  case json_type_null: buf_adds(b, "<nil>"); break;
  case json_type_boolean: buf_adds(b, json_object_get_boolean(j) ? "true" : "false"); break;
  case json_type_int:
  case json_type_double: print_number(b, j); break;
  case json_type_string:
    buf_add(b, json_object_get_string(j), (size_t)json_object_get_string_len(j));
    break;
  case json_type_array: {
    buf_addc(b, '[');
    size_t n = json_object_array_length(j);
    for (size_t i = 0; i < n; i++) {
      if (i)
        buf_addc(b, ' ');
      print_val(b, (struct val){json_object_array_get_idx(j, i), false, go_elem(t)}, false);
    }
    buf_addc(b, ']');
    break;
  }
  case json_type_object: {
    size_t n;
    cleanup_free const char **keys = sorted_keys(j, &n);
    buf_adds(b, "map[");
    for (size_t i = 0; i < n; i++) {
      if (i)
        buf_addc(b, ' ');
      buf_adds(b, keys[i]);
      buf_addc(b, ':');
      print_val(b, (struct val){json_object_object_get(j, keys[i]), false, go_elem(t)}, false);
    }
    buf_addc(b, ']');
    break;
  }
  }
}

/* The value as a string (strings as they are; anything else as fmt prints it); NULL when
 * that would pass CB_TEMPLATE_MAX_OUTPUT. */
static char *to_str(struct val v, size_t *len) {
  struct buf b = {0};
  if (!v.missing && v.j && json_object_is_type(v.j, json_type_string))
    buf_add(&b, json_object_get_string(v.j), (size_t)json_object_get_string_len(v.j));
  else
    print_val(&b, v, false);
  if (b.over) {
    free(b.s);
    return NULL;
  }
  if (len)
    *len = b.len;
  return buf_steal(&b);
}

static bool is_number(struct val v) {
  return !v.missing && v.j &&
         (json_object_is_type(v.j, json_type_int) || json_object_is_type(v.j, json_type_double));
}

/* ---- execution state --------------------------------------------------------------- */

struct exec {
  struct buf out;
  json_object *root;
  bool header;
  char **var_names;
  struct val *var_vals;
  size_t nvars, capvars;
  cb_error_t *err;
  int depth;
  uint64_t steps; /* work done: see charge() */
};

static int exec_error(struct exec *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int exec_error(struct exec *e, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *m;
  if (vasprintf(&m, fmt, ap) < 0)
    oom();
  va_end(ap);
  cb_error_make(e->err, 0, "template: %s", m);
  free(m);
  return -1;
}

static int exec_too_big(struct exec *e) {
  return exec_error(e, "the output exceeds the limit of %u MiB", CB_TEMPLATE_MAX_OUTPUT >> 20);
}

/* Count work: a node, a range iteration, a call are a step each, and every 16 bytes a
 * function builds are one more. Past CB_TEMPLATE_MAX_STEPS the execution fails. */
static int charge(struct exec *e, uint64_t steps) {
  e->steps += steps;
  if (e->steps > CB_TEMPLATE_MAX_STEPS)
    return exec_error(e, "the execution exceeds the limit of %u steps", CB_TEMPLATE_MAX_STEPS);
  return 0;
}

/* A string a function built (b, consumed) as its result. */
static int buf_result(struct exec *e, struct buf *b, struct val *out) {
  if (b->over) {
    free(b->s);
    return exec_too_big(e);
  }
  if (charge(e, b->len / 16) < 0) {
    free(b->s);
    return -1;
  }
  *out = v_str(b->s ? b->s : "", b->len);
  free(b->s);
  return 0;
}

static void var_push(struct exec *e, const char *name, struct val v) {
  if (e->nvars == e->capvars) {
    e->capvars = e->capvars ? e->capvars * 2 : 8;
    e->var_names = xrealloc(e->var_names, e->capvars * sizeof *e->var_names);
    e->var_vals = xrealloc(e->var_vals, e->capvars * sizeof *e->var_vals);
  }
  e->var_names[e->nvars] = (char *)name;
  e->var_vals[e->nvars++] = v_copy(v);
}

static void var_pop_to(struct exec *e, size_t mark) {
  while (e->nvars > mark)
    v_put(&e->var_vals[--e->nvars]);
}

/* The variable, or NULL (*failed set when the look-up went past the budget). */
static struct val *var_find(struct exec *e, const char *name, bool *failed) {
  size_t scanned = 0;
  struct val *r = NULL;
  for (size_t i = e->nvars; i-- > 0 && !r;) {
    scanned++;
    if (!strcmp(e->var_names[i], name))
      r = &e->var_vals[i];
  }
  /* A template may declare thousands of variables: every 16 looked at are a step. */
  *failed = charge(e, scanned / 16) < 0;
  return *failed ? NULL : r;
}

/* ---- functions ----------------------------------------------------------------------------- */

typedef int (*func_fn)(struct exec *e, struct val *a, size_t n, struct val *out);

struct func {
  const char *name;
  int min, max; /* max -1: variadic */
  func_fn fn;
  bool header_passthrough; /* Docker's HeaderFunctions: the header text stays intact */
};

static int want_string(struct exec *e, const char *fn, struct val v, char **s, size_t *len) {
  if (v.missing || !v.j || !json_object_is_type(v.j, json_type_string)) {
    if (is_number(v) || (v.j && json_object_is_type(v.j, json_type_boolean))) {
      *s = to_str(v, len); /* lenient: a scalar reads as its text */
      return *s ? 0 : exec_too_big(e);
    }
    return exec_error(e, "error calling %s: wrong type for value; expected string; got %s", fn,
                      go_type(v));
  }
  *len = (size_t)json_object_get_string_len(v.j);
  if (charge(e, *len / 16) < 0)
    return -1;
  *s = xmalloc(*len + 1);
  memcpy(*s, json_object_get_string(v.j), *len + 1);
  return 0;
}

static int want_int(struct exec *e, const char *fn, struct val v, int64_t *out) {
  if (!is_number(v))
    return exec_error(e, "error calling %s: wrong type for value; expected int; got %s", fn,
                      go_type(v));
  *out = json_object_get_int64(v.j);
  return 0;
}

static int f_json(struct exec *e, struct val *a, size_t n, struct val *out) {
  struct buf b = {0};
  b.s = cb_json_go_string(a[0].missing ? NULL : a[0].j, 0);
  b.len = b.cap = strlen(b.s);
  b.over = b.len > CB_TEMPLATE_MAX_OUTPUT;
  return buf_result(e, &b, out);
}

static int f_split(struct exec *e, struct val *a, size_t n, struct val *out) {
  cleanup_free char *s = NULL, *sep = NULL;
  size_t sl, pl;
  if (want_string(e, "split", a[0], &s, &sl) < 0 || want_string(e, "split", a[1], &sep, &pl) < 0)
    return -1;
  /* Every element costs a JSON string: count them as work (8 steps each). */
  size_t parts = 1;
  if (pl == 0)
    parts = sl;
  else
    for (const char *q = s; (q = memmem(q, sl - (size_t)(q - s), sep, pl)); q += pl)
      parts++;
  if (charge(e, 8 * (uint64_t)parts) < 0)
    return -1;
  json_object *arr = json_object_new_array();
  if (pl == 0) {
    /* Go splits into UTF-8 sequences. */
    for (size_t i = 0; i < sl;) {
      size_t l = 1;
      unsigned char c = (unsigned char)s[i];
      if (c >= 0xf0)
        l = 4;
      else if (c >= 0xe0)
        l = 3;
      else if (c >= 0xc0)
        l = 2;
      if (i + l > sl)
        l = sl - i;
      json_object_array_add(arr, json_object_new_string_len(s + i, (int)l));
      i += l;
    }
  } else {
    const char *p = s;
    for (;;) {
      const char *q = memmem(p, sl - (size_t)(p - s), sep, pl);
      if (!q) {
        json_object_array_add(arr, json_object_new_string_len(p, (int)(sl - (size_t)(p - s))));
        break;
      }
      json_object_array_add(arr, json_object_new_string_len(p, (int)(q - p)));
      p = q + pl;
    }
  }
  *out = v_own(arr);
  return 0;
}

static int f_join(struct exec *e, struct val *a, size_t n, struct val *out) {
  cleanup_free char *sep = NULL;
  size_t pl;
  if (want_string(e, "join", a[1], &sep, &pl) < 0)
    return -1;
  if (a[0].missing || !a[0].j) {
    *out = v_str("", 0);
    return 0;
  }
  if (!json_object_is_type(a[0].j, json_type_array))
    return exec_error(e, "error calling join: wrong type for value; expected []string; got %s",
                      go_type(a[0]));
  struct buf b = {0};
  size_t cnt = json_object_array_length(a[0].j);
  for (size_t i = 0; i < cnt && !b.over; i++) {
    if (i)
      buf_add(&b, sep, pl);
    size_t l;
    cleanup_free char *s = to_str((struct val){json_object_array_get_idx(a[0].j, i), false}, &l);
    if (!s)
      b.over = true;
    else
      buf_add(&b, s, l);
  }
  return buf_result(e, &b, out);
}

static int map_string(struct exec *e, const char *fn, struct val v, struct val *out, int mode) {
  cleanup_free char *s = NULL;
  size_t l;
  if (want_string(e, fn, v, &s, &l) < 0)
    return -1;
  bool word_start = true;
  for (size_t i = 0; i < l; i++) {
    unsigned char c = (unsigned char)s[i];
    if (mode == 0)
      s[i] = (char)tolower(c);
    else if (mode == 1)
      s[i] = (char)toupper(c);
    else {
      /* strings.Title: a letter after a separator (ASCII but letters, digits, '_')
       * becomes upper case. Non-ASCII bytes are not separators. */
      bool sep = c < 0x80 && !isalnum(c) && c != '_';
      if (word_start && !sep)
        s[i] = (char)toupper(c);
      word_start = sep;
    }
  }
  *out = v_str(s, l);
  return 0;
}

static int f_lower(struct exec *e, struct val *a, size_t n, struct val *out) {
  return map_string(e, "lower", a[0], out, 0);
}
static int f_upper(struct exec *e, struct val *a, size_t n, struct val *out) {
  return map_string(e, "upper", a[0], out, 1);
}
static int f_title(struct exec *e, struct val *a, size_t n, struct val *out) {
  return map_string(e, "title", a[0], out, 2);
}

static int f_pad(struct exec *e, struct val *a, size_t n, struct val *out) {
  cleanup_free char *s = NULL;
  size_t l;
  int64_t pre = 0, post = 0;
  if (want_string(e, "pad", a[0], &s, &l) < 0 || want_int(e, "pad", a[1], &pre) < 0 ||
      want_int(e, "pad", a[2], &post) < 0)
    return -1;
  if (l == 0) {
    *out = v_str("", 0);
    return 0;
  }
  struct buf b = {0};
  for (int64_t i = 0; i < pre && i < 4096; i++)
    buf_addc(&b, ' ');
  buf_add(&b, s, l);
  for (int64_t i = 0; i < post && i < 4096; i++)
    buf_addc(&b, ' ');
  return buf_result(e, &b, out);
}

static int f_truncate(struct exec *e, struct val *a, size_t n, struct val *out) {
  cleanup_free char *s = NULL;
  size_t l;
  int64_t max = 0;
  if (want_string(e, "truncate", a[0], &s, &l) < 0 || want_int(e, "truncate", a[1], &max) < 0)
    return -1;
  if (max >= 0 && (size_t)max < l)
    l = (size_t)max;
  *out = v_str(s, l);
  return 0;
}

/* fmt.Sprint: a space between operands when neither side is a string. */
static int f_print(struct exec *e, struct val *a, size_t n, struct val *out) {
  struct buf b = {0};
  for (size_t i = 0; i < n; i++) {
    bool is_s = a[i].j && json_object_is_type(a[i].j, json_type_string);
    bool prev_s = i > 0 && a[i - 1].j && json_object_is_type(a[i - 1].j, json_type_string);
    if (i > 0 && !is_s && !prev_s)
      buf_addc(&b, ' ');
    print_val(&b, a[i], false);
  }
  return buf_result(e, &b, out);
}

static int f_println(struct exec *e, struct val *a, size_t n, struct val *out) {
  struct buf b = {0};
  for (size_t i = 0; i < n; i++) {
    if (i)
      buf_addc(&b, ' ');
    print_val(&b, a[i], false);
  }
  buf_addc(&b, '\n');
  return buf_result(e, &b, out);
}

/* fmt.Sprintf (gofmt.h): a missing value is nil, as text/template passes it. */
static int f_printf(struct exec *e, struct val *a, size_t n, struct val *out) {
  cleanup_free char *fmt = NULL;
  size_t fl;
  if (want_string(e, "printf", a[0], &fmt, &fl) < 0)
    return -1;
  cleanup_free json_object **args = xcalloc(n, sizeof *args);
  for (size_t i = 1; i < n; i++)
    args[i - 1] = a[i].missing ? NULL : a[i].j;
  size_t len;
  struct buf b = {0};
  b.s = cb_go_sprintf(fmt, fl, args, n - 1, CB_TEMPLATE_MAX_OUTPUT, &len);
  if (!b.s)
    return exec_too_big(e);
  b.len = b.cap = len;
  return buf_result(e, &b, out);
}

static int f_len(struct exec *e, struct val *a, size_t n, struct val *out) {
  struct val v = a[0];
  const struct cb_gotype *t = go_deref(v.t);
  if (!v.missing && !v.j && t && (t->kind == CB_GO_SLICE || t->kind == CB_GO_MAP)) {
    *out = v_own(json_object_new_int(0)); /* len of a nil slice or map */
    return 0;
  }
  if (!v.missing && v.j) {
    switch (json_object_get_type(v.j)) {
    case json_type_string:
      *out = v_own(json_object_new_int(json_object_get_string_len(v.j)));
      return 0;
    case json_type_array:
      *out = v_own(json_object_new_int64((int64_t)json_object_array_length(v.j)));
      return 0;
    case json_type_object:
      *out = v_own(json_object_new_int(json_object_object_length(v.j)));
      return 0;
    default: break;
    }
  }
  return exec_error(e, "error calling len: len of type %s", go_type(v));
}

static bool all_string_values(json_object *o) {
  json_object_object_foreach(o, k, v) {
    (void)k;
    if (!json_object_is_type(v, json_type_string))
      return false;
  }
  return true;
}

static int f_index(struct exec *e, struct val *a, size_t n, struct val *out) {
  struct val cur = v_copy(a[0]);
  for (size_t i = 1; i < n; i++) {
    struct val k = a[i];
    if (cur.missing || !cur.j) {
      v_put(&cur);
      return exec_error(e, "error calling index: index of untyped nil");
    }
    if (json_object_is_type(cur.j, json_type_array) ||
        json_object_is_type(cur.j, json_type_string)) {
      if (!is_number(k)) {
        v_put(&cur);
        return exec_error(e, "error calling index: cannot index slice/array with type %s",
                          go_type(k));
      }
      int64_t idx = json_object_get_int64(k.j);
      bool is_s = json_object_is_type(cur.j, json_type_string);
      int64_t len =
          is_s ? json_object_get_string_len(cur.j) : (int64_t)json_object_array_length(cur.j);
      if (idx < 0 || idx >= len) {
        v_put(&cur);
        return exec_error(e, "error calling index: index out of range: %lld", (long long)idx);
      }
      struct val next =
          is_s ? v_own(json_object_new_int((unsigned char)json_object_get_string(cur.j)[idx]))
               : v_ref(json_object_array_get_idx(cur.j, (size_t)idx));
      v_put(&cur);
      cur = next;
    } else if (json_object_is_type(cur.j, json_type_object)) {
      cleanup_free char *key = NULL;
      size_t kl;
      if (want_string(e, "index", k, &key, &kl) < 0) {
        v_put(&cur);
        return -1;
      }
      json_object *child;
      struct val next;
      if (json_object_object_get_ex(cur.j, key, &child))
        next = v_ref(child);
      else if (charge(e, (uint64_t)json_object_object_length(cur.j) / 16) < 0) {
        v_put(&cur);
        return -1;
      } else if (all_string_values(cur.j))
        next = v_str("", 0); /* map[string]string's zero value */
      else
        next = v_missing();
      v_put(&cur);
      cur = next;
    } else {
      struct val bad = cur;
      int r = exec_error(e, "error calling index: can't index item of type %s", go_type(bad));
      v_put(&cur);
      return r;
    }
  }
  *out = cur;
  return 0;
}

/* Go's slice: item[i], item[i:j], item[i:j:k] of a string (bytes) or a list. */
static int f_slice(struct exec *e, struct val *a, size_t n, struct val *out) {
  struct val item = a[0];
  if (item.missing || !item.j)
    return exec_error(e, "error calling slice: slice of untyped nil");
  if (n - 1 > 3)
    return exec_error(e, "error calling slice: too many slice indexes: %zu", n - 1);
  bool is_s = json_object_is_type(item.j, json_type_string);
  if (!is_s && !json_object_is_type(item.j, json_type_array))
    return exec_error(e, "error calling slice: can't slice item of type %s", go_type(item));
  if (is_s && n - 1 == 3)
    return exec_error(e, "error calling slice: cannot 3-index slice a string");
  int64_t len =
      is_s ? json_object_get_string_len(item.j) : (int64_t)json_object_array_length(item.j);
  int64_t idx[3] = {0, len, len};
  for (size_t i = 1; i < n; i++) {
    if (a[i].missing || !a[i].j)
      return exec_error(e, "error calling slice: cannot index slice/array with nil");
    if (!json_object_is_type(a[i].j, json_type_int))
      return exec_error(e, "error calling slice: cannot index slice/array with type %s",
                        go_type(a[i]));
    int64_t x = json_object_get_int64(a[i].j);
    if (x < 0 || x > len)
      return exec_error(e, "error calling slice: index out of range: %lld", (long long)x);
    idx[i - 1] = x;
  }
  if (idx[0] > idx[1])
    return exec_error(e, "error calling slice: invalid slice index: %lld > %lld", (long long)idx[0],
                      (long long)idx[1]);
  if (n - 1 == 3 && idx[1] > idx[2])
    return exec_error(e, "error calling slice: invalid slice index: %lld > %lld", (long long)idx[1],
                      (long long)idx[2]);
  if (charge(e, (uint64_t)(idx[1] - idx[0]) / 16) < 0)
    return -1;
  if (is_s) {
    *out = v_str(json_object_get_string(item.j) + idx[0], (size_t)(idx[1] - idx[0]));
    return 0;
  }
  json_object *arr = json_object_new_array();
  for (int64_t i = idx[0]; i < idx[1]; i++)
    json_object_array_add(arr, json_object_get(json_object_array_get_idx(item.j, (size_t)i)));
  *out = v_own(arr);
  out->t = item.t;
  return 0;
}

/* text/template's evalArgs: one string as it is, else fmt.Sprint of the arguments. */
static char *eval_args(struct exec *e, struct val *a, size_t n, size_t *len) {
  if (n == 1 && !a[0].missing && a[0].j && json_object_is_type(a[0].j, json_type_string)) {
    *len = (size_t)json_object_get_string_len(a[0].j);
    return xstrdup(json_object_get_string(a[0].j));
  }
  struct val v = {NULL, false, NULL};
  if (f_print(e, a, n, &v) < 0)
    return NULL;
  *len = (size_t)json_object_get_string_len(v.j);
  char *s = xstrdup(json_object_get_string(v.j));
  v_put(&v);
  return s;
}

/* Go's template.HTMLEscapeString. */
static int f_html(struct exec *e, struct val *a, size_t n, struct val *out) {
  size_t len;
  cleanup_free char *s = eval_args(e, a, n, &len);
  if (!s)
    return -1;
  struct buf b = {0};
  for (size_t i = 0; i < len; i++) {
    switch (s[i]) {
    case '"': buf_adds(&b, "&#34;"); break;
    case '\'': buf_adds(&b, "&#39;"); break;
    case '&': buf_adds(&b, "&amp;"); break;
    case '<': buf_adds(&b, "&lt;"); break;
    case '>': buf_adds(&b, "&gt;"); break;
    case '\0': buf_adds(&b, "\xef\xbf\xbd"); break;
    default: buf_addc(&b, s[i]);
    }
  }
  if (charge(e, len / 16) < 0) {
    free(b.s);
    return -1;
  }
  return buf_result(e, &b, out);
}

/* Go's url.QueryEscape. */
static int f_urlquery(struct exec *e, struct val *a, size_t n, struct val *out) {
  size_t len;
  cleanup_free char *s = eval_args(e, a, n, &len);
  if (!s)
    return -1;
  struct buf b = {0};
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      buf_addc(&b, (char)c);
    } else if (c == ' ') {
      buf_addc(&b, '+');
    } else {
      char hex[4];
      snprintf(hex, sizeof hex, "%%%02X", c);
      buf_adds(&b, hex);
    }
  }
  if (charge(e, len / 16) < 0) {
    free(b.s);
    return -1;
  }
  return buf_result(e, &b, out);
}

/* Whether Go's unicode.IsPrint says no to rune r (the ones a container name or label
 * might hold: C1 controls, format characters, line and paragraph separators). */
static bool go_unprintable(uint32_t r) {
  return (r >= 0x80 && r <= 0x9f) || r == 0xad || (r >= 0x200b && r <= 0x200f) ||
         (r >= 0x2028 && r <= 0x202e) || (r >= 0x2060 && r <= 0x2064) || r == 0xfeff;
}

/* One UTF-8 sequence at s (at most n bytes): its rune and length, or U+FFFD and 1. */
static uint32_t utf8_decode(const unsigned char *s, size_t n, size_t *size) {
  uint32_t r;
  size_t k;
  if (s[0] >= 0xf0 && s[0] < 0xf5) {
    r = s[0] & 0x07;
    k = 4;
  } else if (s[0] >= 0xe0 && s[0] < 0xf0) {
    r = s[0] & 0x0f;
    k = 3;
  } else if (s[0] >= 0xc2 && s[0] < 0xe0) {
    r = s[0] & 0x1f;
    k = 2;
  } else {
    *size = 1;
    return 0xfffd;
  }
  if (k > n)
    goto bad;
  for (size_t i = 1; i < k; i++) {
    if ((s[i] & 0xc0) != 0x80)
      goto bad;
    r = r << 6 | (s[i] & 0x3f);
  }
  if ((k == 3 && (r < 0x800 || (r >= 0xd800 && r <= 0xdfff))) ||
      (k == 4 && (r < 0x10000 || r > 0x10ffff)))
    goto bad;
  *size = k;
  return r;
bad:
  *size = 1;
  return 0xfffd;
}

/* Go's template.JSEscapeString. */
static int f_js(struct exec *e, struct val *a, size_t n, struct val *out) {
  size_t len;
  cleanup_free char *s = eval_args(e, a, n, &len);
  if (!s)
    return -1;
  struct buf b = {0};
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    char tmp[16];
    switch (c) {
    case '\\': buf_adds(&b, "\\\\"); continue;
    case '\'': buf_adds(&b, "\\'"); continue;
    case '"': buf_adds(&b, "\\\""); continue;
    case '<': buf_adds(&b, "\\u003C"); continue;
    case '>': buf_adds(&b, "\\u003E"); continue;
    case '&': buf_adds(&b, "\\u0026"); continue;
    case '=': buf_adds(&b, "\\u003D"); continue;
    default: break;
    }
    if (c < ' ') {
      snprintf(tmp, sizeof tmp, "\\u00%02X", c);
      buf_adds(&b, tmp);
    } else if (c < 0x80) {
      buf_addc(&b, (char)c);
    } else {
      size_t size;
      uint32_t r = utf8_decode((const unsigned char *)s + i, len - i, &size);
      if (go_unprintable(r)) {
        snprintf(tmp, sizeof tmp, "\\u%04X", r);
        buf_adds(&b, tmp);
      } else {
        buf_add(&b, s + i, size);
      }
      i += size - 1;
    }
  }
  if (charge(e, len / 16) < 0) {
    free(b.s);
    return -1;
  }
  return buf_result(e, &b, out);
}

static int f_not(struct exec *e, struct val *a, size_t n, struct val *out) {
  *out = v_bool(!is_truthy(a[0]));
  return 0;
}

static int f_and(struct exec *e, struct val *a, size_t n, struct val *out) {
  for (size_t i = 0; i < n; i++)
    if (!is_truthy(a[i]) || i + 1 == n) {
      *out = v_copy(a[i]);
      return 0;
    }
  return 0;
}

static int f_or(struct exec *e, struct val *a, size_t n, struct val *out) {
  for (size_t i = 0; i < n; i++)
    if (is_truthy(a[i]) || i + 1 == n) {
      *out = v_copy(a[i]);
      return 0;
    }
  return 0;
}

/* -2: incomparable; else -1, 0, 1. */
static int compare(struct val x, struct val y, bool ordered) {
  if (is_number(x) && is_number(y)) {
    if (json_object_is_type(x.j, json_type_int) && json_object_is_type(y.j, json_type_int)) {
      int64_t p = json_object_get_int64(x.j), q = json_object_get_int64(y.j);
      return p < q ? -1 : p > q;
    }
    double p = json_object_get_double(x.j), q = json_object_get_double(y.j);
    return p < q ? -1 : p > q;
  }
  json_type tx = x.missing ? json_type_null : json_object_get_type(x.j);
  json_type ty = y.missing ? json_type_null : json_object_get_type(y.j);
  if (tx != ty)
    return -2;
  switch (tx) {
  case json_type_string: {
    int c = strcmp(json_object_get_string(x.j), json_object_get_string(y.j));
    return c < 0 ? -1 : c > 0;
  }
  case json_type_boolean:
    if (ordered)
      return -2;
    return json_object_get_boolean(x.j) != json_object_get_boolean(y.j);
  case json_type_null: return ordered ? -2 : 0;
  default: return -2;
  }
}

/* Comparing strings reads them: every 16 bytes are a step. */
static int charge_compare(struct exec *e, struct val x, struct val y) {
  size_t l = 0;
  if (x.j && json_object_is_type(x.j, json_type_string) && y.j &&
      json_object_is_type(y.j, json_type_string))
    l = (size_t)json_object_get_string_len(x.j);
  return charge(e, l / 16);
}

static int f_eq(struct exec *e, struct val *a, size_t n, struct val *out) {
  for (size_t i = 1; i < n; i++) {
    if (charge_compare(e, a[0], a[i]) < 0)
      return -1;
    int c = compare(a[0], a[i], false);
    if (c == -2)
      return exec_error(e, "error calling eq: incompatible types for comparison");
    if (c == 0) {
      *out = v_bool(true);
      return 0;
    }
  }
  *out = v_bool(false);
  return 0;
}

static int f_ne(struct exec *e, struct val *a, size_t n, struct val *out) {
  if (charge_compare(e, a[0], a[1]) < 0)
    return -1;
  int c = compare(a[0], a[1], false);
  if (c == -2)
    return exec_error(e, "error calling ne: incompatible types for comparison");
  *out = v_bool(c != 0);
  return 0;
}

static int ordered(struct exec *e, const char *name, struct val *a, struct val *out, int lo,
                   int hi) {
  if (charge_compare(e, a[0], a[1]) < 0)
    return -1;
  int c = compare(a[0], a[1], true);
  if (c == -2)
    return exec_error(e, "error calling %s: incompatible types for comparison", name);
  *out = v_bool(c >= lo && c <= hi);
  return 0;
}
static int f_lt(struct exec *e, struct val *a, size_t n, struct val *out) {
  return ordered(e, "lt", a, out, -1, -1);
}
static int f_le(struct exec *e, struct val *a, size_t n, struct val *out) {
  return ordered(e, "le", a, out, -1, 0);
}
static int f_gt(struct exec *e, struct val *a, size_t n, struct val *out) {
  return ordered(e, "gt", a, out, 1, 1);
}
static int f_ge(struct exec *e, struct val *a, size_t n, struct val *out) {
  return ordered(e, "ge", a, out, 0, 1);
}

static const struct func funcs[] = {
    /* Docker's template functions (cli/templates) */
    {"json", 1, 1, f_json, true},
    {"split", 2, 2, f_split, true},
    {"join", 2, 2, f_join, true},
    {"title", 1, 1, f_title, true},
    {"lower", 1, 1, f_lower, true},
    {"upper", 1, 1, f_upper, true},
    {"pad", 3, 3, f_pad, false},
    {"truncate", 2, 2, f_truncate, true},
    /* text/template's builtins */
    {"print", 0, -1, f_print, false},
    {"println", 0, -1, f_println, false},
    {"printf", 1, -1, f_printf, false},
    {"len", 1, 1, f_len, false},
    {"index", 1, -1, f_index, false},
    {"not", 1, 1, f_not, false},
    {"and", 1, -1, f_and, false},
    {"or", 1, -1, f_or, false},
    {"eq", 1, -1, f_eq, false},
    {"ne", 2, 2, f_ne, false},
    {"lt", 2, 2, f_lt, false},
    {"le", 2, 2, f_le, false},
    {"gt", 2, 2, f_gt, false},
    {"ge", 2, 2, f_ge, false},
    {"slice", 1, -1, f_slice, false},
    {"html", 0, -1, f_html, false},
    {"urlquery", 0, -1, f_urlquery, false},
    {"js", 0, -1, f_js, false},
};

static const struct func *find_func(const char *name) {
  for (size_t i = 0; i < sizeof funcs / sizeof funcs[0]; i++)
    if (!strcmp(funcs[i].name, name))
      return &funcs[i];
  return NULL;
}

/* ---- parser ---------------------------------------------------------------------------- */

struct parser {
  struct token *v;
  size_t pos, n;
  cb_error_t *err;
  int depth; /* blocks and parentheses open */
};

static struct token *peek(struct parser *p) {
  return &p->v[p->pos];
}
static struct token *next(struct parser *p) {
  struct token *t = &p->v[p->pos];
  if (t->t != T_EOF)
    p->pos++;
  return t;
}

static int parse_error(struct parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int parse_error(struct parser *p, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *m;
  if (vasprintf(&m, fmt, ap) < 0)
    oom();
  va_end(ap);
  cb_error_make(p->err, 0, "template: %d: %s", peek(p)->line, m);
  free(m);
  return -1;
}

static void free_pipe(struct pipe *pp);

static void free_arg(struct arg *a) {
  free(a->s);
  for (size_t i = 0; i < a->nchain; i++)
    free(a->chain[i]);
  free(a->chain);
  free_pipe(a->pipe);
}

static void free_pipe(struct pipe *pp) {
  if (!pp)
    return;
  for (size_t i = 0; i < pp->ndecl; i++)
    free(pp->decl[i]);
  for (size_t i = 0; i < pp->ncmds; i++) {
    for (size_t j = 0; j < pp->cmds[i].nargs; j++)
      free_arg(&pp->cmds[i].args[j]);
    free(pp->cmds[i].args);
  }
  free(pp->cmds);
  free(pp);
}

static void free_nodes(struct node *n) {
  while (n) {
    struct node *nx = n->next;
    free(n->text);
    free_pipe(n->pipe);
    free_nodes(n->list);
    free_nodes(n->else_list);
    free(n);
    n = nx;
  }
}

/* Split "A.B.C" into the chain of an arg. */
static void add_chain(struct arg *a, const char *fields) {
  const char *p = fields;
  while (*p) {
    const char *dot = strchr(p, '.');
    size_t l = dot ? (size_t)(dot - p) : strlen(p);
    a->chain = xrealloc(a->chain, (a->nchain + 1) * sizeof *a->chain);
    a->chain[a->nchain] = xmalloc(l + 1);
    memcpy(a->chain[a->nchain], p, l);
    a->chain[a->nchain++][l] = '\0';
    p += l;
    if (*p == '.')
      p++;
  }
}

static int parse_number(struct parser *p, struct token *t, struct arg *a) {
  const char *s = t->s;
  char clean[64];
  size_t k = 0;
  for (const char *q = s; *q && k < sizeof clean - 1; q++)
    if (*q != '_')
      clean[k++] = *q;
  clean[k] = '\0';
  char *end;
  errno = 0;
  long long ll = strtoll(clean, &end, 0);
  if (!*end && !errno) {
    a->is_int = true;
    a->i = ll;
    a->d = (double)ll;
    return 0;
  }
  errno = 0;
  double d = strtod(clean, &end);
  if (*end || errno || end == clean)
    return parse_error(p, "bad number syntax: \"%s\"", s);
  a->d = d;
  /* As text/template: a literal with a fraction or an exponent is a float64 (1.0, 1e3), a
   * character constant or another integral one an int. */
  bool hex = clean[0] == '0' && (clean[1] == 'x' || clean[1] == 'X');
  bool float_syntax = strpbrk(clean, hex ? ".pP" : ".eEpP") != NULL;
  if (d == floor(d) && fabs(d) < 9e18 && !float_syntax) {
    a->is_int = true;
    a->i = (int64_t)d;
  }
  return 0;
}

static struct pipe *parse_pipeline(struct parser *p, bool decl_ok, enum tok end);

/* One operand: a term and an optional field chain right after it. */
static int parse_operand(struct parser *p, struct arg *a) {
  struct token *t = next(p);
  memset(a, 0, sizeof *a);
  switch (t->t) {
  case T_FIELD:
    a->t = A_FIELD;
    add_chain(a, t->s);
    return 0; /* .A.B is lexed as one chain */
  case T_DOT: a->t = A_DOT; break;
  case T_VAR:
    a->t = A_VAR;
    a->s = xstrdup(t->s);
    break;
  case T_STRING:
    a->t = A_STRING;
    a->s = xmalloc(t->len + 1);
    memcpy(a->s, t->s, t->len + 1);
    a->i = (int64_t)t->len; /* the length (strings may hold NULs) */
    break;
  case T_NUMBER:
  case T_CHAR:
    a->t = A_NUMBER;
    a->s = xstrdup(t->s);
    if (parse_number(p, t, a) < 0)
      return -1;
    break;
  case T_BOOL:
    a->t = A_BOOL;
    a->b = !strcmp(t->s, "true");
    break;
  case T_NIL: a->t = A_NIL; break;
  case T_IDENT: {
    static const char *const kw[] = {"if",     "else",     "end",   "range", "with",
                                     "define", "template", "block", "break", "continue"};
    for (size_t i = 0; i < sizeof kw / sizeof kw[0]; i++)
      if (!strcmp(t->s, kw[i])) {
        p->pos--;
        return parse_error(p, "unexpected <%s> in command", t->s);
      }
    a->t = A_FUNC;
    a->fn = find_func(t->s);
    if (!a->fn) {
      p->pos--;
      return parse_error(p, "function \"%s\" not defined", t->s);
    }
    a->s = xstrdup(t->s);
    return 0;
  }
  case T_LPAREN:
    a->t = A_PIPE;
    if (p->depth >= CB_TEMPLATE_MAX_DEPTH)
      return parse_error(p, "max nesting depth exceeded");
    p->depth++;
    a->pipe = parse_pipeline(p, false, T_RPAREN);
    p->depth--;
    if (!a->pipe)
      return -1;
    if (peek(p)->t != T_RPAREN)
      return parse_error(p, "unclosed left paren");
    next(p);
    break;
  case T_EOF:
  case T_RIGHT: p->pos--; return parse_error(p, "missing value for command");
  default: p->pos--; return parse_error(p, "unexpected \"%s\" in operand", t->s);
  }
  if (peek(p)->t == T_FIELD && peek(p)->adjacent) {
    if (a->t != A_DOT && a->t != A_VAR && a->t != A_PIPE)
      return parse_error(p, "unexpected . after term \"%s\"", t->s);
    add_chain(a, next(p)->s);
  }
  return 0;
}

static int parse_command(struct parser *p, struct cmd *c, enum tok end) {
  memset(c, 0, sizeof *c);
  for (;;) {
    enum tok t = peek(p)->t;
    if (t == T_PIPE || t == end || t == T_EOF || (t == T_RIGHT && end == T_RPAREN))
      break;
    c->args = xrealloc(c->args, (c->nargs + 1) * sizeof *c->args);
    if (parse_operand(p, &c->args[c->nargs]) < 0) {
      free_arg(&c->args[c->nargs]);
      return -1;
    }
    c->nargs++;
  }
  if (c->nargs == 0)
    return parse_error(p, "missing value for command");
  if (c->args[0].t == A_FUNC) {
    /* Arity is checked when the piped value is known, at execution. */
  } else if (c->nargs > 1) {
    return parse_error(p, "can't give argument to non-function %s",
                       c->args[0].t == A_FIELD ? c->args[0].chain[0] : "value");
  }
  return 0;
}

static struct pipe *parse_pipeline(struct parser *p, bool decl_ok, enum tok end) {
  struct pipe *pp = xcalloc(1, sizeof *pp);
  /* Declarations: $x := / $x = / $i, $e := */
  struct token *t0 = peek(p);
  if (t0->t == T_VAR) {
    struct token *t1 = &p->v[p->pos + 1];
    if (t1->t == T_DECLARE || t1->t == T_ASSIGN) {
      pp->decl[pp->ndecl++] = xstrdup(t0->s);
      pp->assign = t1->t == T_ASSIGN;
      p->pos += 2;
    } else if (t1->t == T_COMMA && decl_ok && p->v[p->pos + 2].t == T_VAR &&
               p->v[p->pos + 3].t == T_DECLARE) {
      pp->decl[pp->ndecl++] = xstrdup(t0->s);
      pp->decl[pp->ndecl++] = xstrdup(p->v[p->pos + 2].s);
      p->pos += 4;
    }
  }
  for (;;) {
    pp->cmds = xrealloc(pp->cmds, (pp->ncmds + 1) * sizeof *pp->cmds);
    if (parse_command(p, &pp->cmds[pp->ncmds], end) < 0) {
      pp->ncmds++;
      free_pipe(pp);
      return NULL;
    }
    pp->ncmds++;
    if (peek(p)->t != T_PIPE)
      break;
    next(p);
  }
  if (peek(p)->t != end) {
    parse_error(p, end == T_RPAREN ? "unclosed left paren" : "unexpected \"%s\" in command",
                peek(p)->s);
    free_pipe(pp);
    return NULL;
  }
  /* Literal-only later commands cannot take the piped value. */
  for (size_t i = 1; i < pp->ncmds; i++)
    if (pp->cmds[i].args[0].t != A_FUNC) {
      parse_error(p, "non executable command in pipeline stage %zu", i + 1);
      free_pipe(pp);
      return NULL;
    }
  return pp;
}

enum term { TERM_EOF, TERM_END, TERM_ELSE, TERM_ELSE_IF, TERM_ELSE_WITH };

static int parse_list(struct parser *p, struct node **out, enum term *term);

static struct node *parse_control_in(struct parser *p, enum node_type type);

static struct node *parse_control(struct parser *p, enum node_type type) {
  if (p->depth >= CB_TEMPLATE_MAX_DEPTH) {
    parse_error(p, "max nesting depth exceeded");
    return NULL;
  }
  p->depth++;
  struct node *n = parse_control_in(p, type);
  p->depth--;
  return n;
}

static struct node *parse_control_in(struct parser *p, enum node_type type) {
  struct node *n = xcalloc(1, sizeof *n);
  n->t = type;
  n->pipe = parse_pipeline(p, type == N_RANGE, T_RIGHT);
  if (!n->pipe)
    goto fail;
  next(p); /* }} */
  enum term term;
  if (parse_list(p, &n->list, &term) < 0)
    goto fail;
  if (term == TERM_ELSE) {
    enum term t2;
    if (parse_list(p, &n->else_list, &t2) < 0)
      goto fail;
    if (t2 != TERM_END) {
      parse_error(p, t2 == TERM_EOF ? "unexpected EOF" : "expected end; found {{else}}");
      goto fail;
    }
  } else if (term == TERM_ELSE_IF || term == TERM_ELSE_WITH) {
    if ((term == TERM_ELSE_IF) != (type == N_IF)) {
      parse_error(p, "unexpected else %s", term == TERM_ELSE_IF ? "if" : "with");
      goto fail;
    }
    /* {{else if X}} ... {{end}} is {{else}}{{if X}} ... {{end}}{{end}} sharing the end. */
    n->else_list = parse_control(p, type);
    if (!n->else_list)
      goto fail;
  } else if (term != TERM_END) {
    parse_error(p, "unexpected EOF");
    goto fail;
  }
  return n;
fail:
  free_nodes(n);
  return NULL;
}

static int parse_list(struct parser *p, struct node **out, enum term *term) {
  struct node *head = NULL, **tail = &head;
  for (;;) {
    struct token *t = next(p);
    if (t->t == T_EOF) {
      *term = TERM_EOF;
      break;
    }
    if (t->t == T_TEXT) {
      struct node *n = xcalloc(1, sizeof *n);
      n->t = N_TEXT;
      n->text = xmalloc(t->len + 1);
      memcpy(n->text, t->s, t->len + 1);
      n->len = t->len;
      *tail = n;
      tail = &n->next;
      continue;
    }
    /* T_LEFT */
    struct token *k = peek(p);
    struct node *n = NULL;
    if (k->t == T_IDENT && !strcmp(k->s, "end")) {
      next(p);
      if (peek(p)->t != T_RIGHT)
        goto unexpected;
      next(p);
      *term = TERM_END;
      break;
    }
    if (k->t == T_IDENT && !strcmp(k->s, "else")) {
      next(p);
      struct token *k2 = peek(p);
      if (k2->t == T_IDENT && (!strcmp(k2->s, "if") || !strcmp(k2->s, "with"))) {
        next(p);
        *term = !strcmp(k2->s, "if") ? TERM_ELSE_IF : TERM_ELSE_WITH;
        break;
      }
      if (k2->t != T_RIGHT)
        goto unexpected;
      next(p);
      *term = TERM_ELSE;
      break;
    }
    if (k->t == T_IDENT &&
        (!strcmp(k->s, "if") || !strcmp(k->s, "range") || !strcmp(k->s, "with"))) {
      next(p);
      n = parse_control(p, !strcmp(k->s, "if") ? N_IF : !strcmp(k->s, "range") ? N_RANGE : N_WITH);
      if (!n)
        goto fail;
    } else if (k->t == T_IDENT &&
               (!strcmp(k->s, "define") || !strcmp(k->s, "template") || !strcmp(k->s, "block") ||
                !strcmp(k->s, "break") || !strcmp(k->s, "continue"))) {
      parse_error(p, "{{%s}} is not supported", k->s);
      goto fail;
    } else {
      n = xcalloc(1, sizeof *n);
      n->t = N_ACTION;
      n->pipe = parse_pipeline(p, false, T_RIGHT);
      if (!n->pipe) {
        free(n);
        goto fail;
      }
      next(p); /* }} */
    }
    *tail = n;
    tail = &n->next;
  }
  *out = head;
  return 0;
unexpected:
  parse_error(p, "unexpected \"%s\" in %s", peek(p)->s, "action");
fail:
  free_nodes(head);
  *out = NULL;
  return -1;
}

int cb_template_parse(const char *text, struct cb_template **out, cb_error_t *err) {
  struct cb_template *t = xcalloc(1, sizeof *t);
  /* As the docker CLI prepares a format: strip "table", trim spaces, expand \t and \n. */
  const char *s = text ? text : "";
  if (!strncmp(s, "table", 5)) {
    t->table = true;
    s += 5;
  }
  size_t l = strlen(s);
  while (l && *s == ' ')
    s++, l--;
  while (l && s[l - 1] == ' ')
    l--;
  struct buf b = {0};
  buf_add(&b, "", 0);
  for (size_t i = 0; i < l; i++) {
    if (s[i] == '\\' && i + 1 < l && (s[i + 1] == 't' || s[i + 1] == 'n')) {
      buf_addc(&b, s[i + 1] == 't' ? '\t' : '\n');
      i++;
    } else {
      buf_addc(&b, s[i]);
    }
  }
  struct lexer lx = {.text = b.s, .n = b.len, .line = 1, .err = err};
  int r = lex(&lx);
  if (r == 0) {
    struct parser p = {.v = lx.v, .n = lx.cnt, .err = err};
    enum term term;
    r = parse_list(&p, &t->root, &term);
    if (r == 0 && term != TERM_EOF) {
      p.pos--;
      while (p.pos > 0 && p.v[p.pos].t != T_LEFT)
        p.pos--;
      r = parse_error(&p, "unexpected {{%s}}", term == TERM_END ? "end" : "else");
      free_nodes(t->root);
      t->root = NULL;
    }
  }
  for (size_t i = 0; i < lx.cnt; i++)
    free(lx.v[i].s);
  free(lx.v);
  free(b.s);
  if (r < 0) {
    free(t);
    return -1;
  }
  *out = t;
  return 0;
}

bool cb_template_is_table(const struct cb_template *t) {
  return t->table;
}

void cb_template_free(struct cb_template *t) {
  if (!t)
    return;
  free_nodes(t->root);
  free(t);
}

/* ---- execution ------------------------------------------------------------------------ */

static int eval_pipe(struct exec *e, const struct pipe *pp, struct val dot, struct val *out);

/* Walk a field chain from v (a reference we own; consumed). */
static int walk(struct exec *e, struct val v, char *const *chain, size_t n, struct val *out) {
  if (charge(e, n) < 0) {
    v_put(&v);
    return -1;
  }
  for (size_t i = 0; i < n; i++) {
    const char *name = chain[i];
    const struct cb_gotype *vt = go_deref(v.t);
    if (!v.missing && !v.j && vt && vt->kind == CB_GO_MAP) {
      v = v_missing(); /* a key of a nil map: no value */
      continue;
    }
    if (v.missing || !v.j) {
      v_put(&v);
      return exec_error(e, "nil pointer evaluating .%s", name);
    }
    if (!json_object_is_type(v.j, json_type_object)) {
      int r = exec_error(e, "can't evaluate field %s in type %s", name, go_type(v));
      v_put(&v);
      return r;
    }
    json_object *child;
    const struct cb_gotype *ct = go_field(v.t, name);
    if (!json_object_object_get_ex(v.j, name, &child) && ct &&
        go_deref(v.t)->kind == CB_GO_STRUCT) {
      /* A field of Docker's struct that its JSON leaves out (omitempty): its zero value. */
      v_put(&v);
      v = (struct val){NULL, false, ct};
      continue;
    }
    if (!child && !json_object_object_get_ex(v.j, name, NULL)) {
      v_put(&v);
      /* A capitalised name is a field of Docker's structs, where a missing one is an
       * error; anything else reads like a map key (Labels), where it is <no value>. */
      if (!e->header && isupper((unsigned char)name[0]))
        return exec_error(e, "no field \"%s\"", name);
      v = v_missing();
      continue;
    }
    struct val nv = v_ref(child);
    nv.t = ct;
    v_put(&v);
    v = nv;
  }
  *out = v;
  return 0;
}

static int eval_arg(struct exec *e, const struct arg *a, struct val dot, struct val *out);

static int call(struct exec *e, const struct cmd *c, struct val dot, struct val *final,
                struct val *out) {
  const struct func *f = c->args[0].fn;
  size_t n = c->nargs - 1 + (final ? 1 : 0);
  if ((int)n < f->min || (f->max >= 0 && (int)n > f->max)) {
    if (f->min == f->max)
      return exec_error(e, "wrong number of args for %s: want %d got %zu", f->name, f->min, n);
    return exec_error(e, "wrong number of args for %s: want at least %d got %zu", f->name, f->min,
                      n);
  }
  if (charge(e, 1 + c->nargs) < 0)
    return -1;
  struct val *args = xcalloc(n + 1, sizeof *args);
  size_t k = 0;
  int r = 0;
  for (size_t i = 1; i < c->nargs; i++) {
    if (eval_arg(e, &c->args[i], dot, &args[k]) < 0) {
      r = -1;
      break;
    }
    k++;
  }
  if (r == 0 && final)
    args[k++] = v_copy(*final);
  if (r == 0) {
    if (e->header && f->header_passthrough)
      *out = v_copy(args[0]);
    else {
      *out = (struct val){NULL, false};
      r = f->fn(e, args, k, out);
    }
  }
  for (size_t i = 0; i < k; i++)
    v_put(&args[i]);
  free(args);
  return r;
}

static int eval_arg(struct exec *e, const struct arg *a, struct val dot, struct val *out) {
  switch (a->t) {
  case A_FIELD: return walk(e, v_copy(dot), a->chain, a->nchain, out);
  case A_DOT: return walk(e, v_copy(dot), a->chain, a->nchain, out);
  case A_VAR: {
    bool failed;
    struct val *v = var_find(e, a->s, &failed);
    if (failed)
      return -1;
    if (!v)
      return exec_error(e, "undefined variable \"%s\"", a->s);
    return walk(e, v_copy(*v), a->chain, a->nchain, out);
  }
  case A_FUNC: {
    struct cmd c = {(struct arg *)a, 1};
    return call(e, &c, dot, NULL, out);
  }
  case A_STRING:
    if (charge(e, (uint64_t)a->i / 16) < 0)
      return -1;
    *out = v_str(a->s, (size_t)a->i);
    return 0;
  case A_NUMBER:
    *out = v_own(a->is_int ? json_object_new_int64(a->i) : json_object_new_double(a->d));
    return 0;
  case A_BOOL: *out = v_bool(a->b); return 0;
  case A_NIL: *out = (struct val){NULL, false}; return 0;
  case A_PIPE: {
    struct val v;
    if (eval_pipe(e, a->pipe, dot, &v) < 0)
      return -1;
    return walk(e, v, a->chain, a->nchain, out);
  }
  }
  return exec_error(e, "bad argument");
}

static int eval_cmd(struct exec *e, const struct cmd *c, struct val dot, struct val *final,
                    struct val *out) {
  if (c->args[0].t == A_FUNC)
    return call(e, c, dot, final, out);
  if (final)
    return exec_error(e, "can't give argument to non-function");
  if (c->args[0].t == A_NIL)
    return exec_error(e, "nil is not a command");
  return eval_arg(e, &c->args[0], dot, out);
}

/* Evaluate the commands of a pipeline (declarations are the caller's business). */
static int eval_pipe(struct exec *e, const struct pipe *pp, struct val dot, struct val *out) {
  struct val cur = {NULL, false};
  for (size_t i = 0; i < pp->ncmds; i++) {
    struct val nv;
    if (eval_cmd(e, &pp->cmds[i], dot, i ? &cur : NULL, &nv) < 0) {
      v_put(&cur);
      return -1;
    }
    v_put(&cur);
    cur = nv;
  }
  *out = cur;
  return 0;
}

static int declare(struct exec *e, const struct pipe *pp, struct val v) {
  if (pp->ndecl == 0)
    return 0;
  if (pp->assign) {
    bool failed;
    struct val *slot = var_find(e, pp->decl[0], &failed);
    if (failed)
      return -1;
    if (!slot)
      return exec_error(e, "undefined variable \"%s\"", pp->decl[0]);
    v_put(slot);
    *slot = v_copy(v);
    return 0;
  }
  var_push(e, pp->decl[0], v);
  return 0;
}

static int exec_list(struct exec *e, const struct node *n, struct val dot);

static int exec_range(struct exec *e, const struct node *n, struct val dot) {
  struct val v;
  if (eval_pipe(e, n->pipe, dot, &v) < 0)
    return -1;
  int r = 0;
  size_t mark = e->nvars;
  bool any = false;
  if (!v.missing && v.j && json_object_is_type(v.j, json_type_array)) {
    size_t cnt = json_object_array_length(v.j);
    for (size_t i = 0; i < cnt && r == 0 && (r = charge(e, 1)) == 0; i++) {
      any = true;
      struct val elem = {json_object_array_get_idx(v.j, i), false, go_elem(v.t)};
      if (n->pipe->ndecl == 2) {
        struct val idx = v_own(json_object_new_int64((int64_t)i));
        var_push(e, n->pipe->decl[0], idx);
        var_push(e, n->pipe->decl[1], elem);
        v_put(&idx);
      } else if (n->pipe->ndecl == 1) {
        var_push(e, n->pipe->decl[0], elem);
      }
      r = exec_list(e, n->list, elem);
      var_pop_to(e, mark);
    }
  } else if (!v.missing && v.j && json_object_is_type(v.j, json_type_object)) {
    size_t cnt;
    cleanup_free const char **keys = sorted_keys(v.j, &cnt);
    for (size_t i = 0; i < cnt && r == 0 && (r = charge(e, 1)) == 0; i++) {
      any = true;
      struct val elem = {json_object_object_get(v.j, keys[i]), false, go_elem(v.t)};
      if (n->pipe->ndecl == 2) {
        struct val key = v_str(keys[i], strlen(keys[i]));
        var_push(e, n->pipe->decl[0], key);
        var_push(e, n->pipe->decl[1], elem);
        v_put(&key);
      } else if (n->pipe->ndecl == 1) {
        var_push(e, n->pipe->decl[0], elem);
      }
      r = exec_list(e, n->list, elem);
      var_pop_to(e, mark);
    }
  } else if (!v.missing && v.j && json_object_is_type(v.j, json_type_int)) {
    int64_t cnt = json_object_get_int64(v.j);
    for (int64_t i = 0; i < cnt && r == 0 && (r = charge(e, 1)) == 0; i++) {
      any = true;
      struct val elem = v_own(json_object_new_int64(i));
      if (n->pipe->ndecl >= 1)
        var_push(e, n->pipe->decl[0], elem);
      r = exec_list(e, n->list, elem);
      v_put(&elem);
      var_pop_to(e, mark);
    }
  } else if (!v.missing && v.j) {
    r = exec_error(e, "range can't iterate over %s", go_type(v));
  }
  if (r == 0 && !any && n->else_list)
    r = exec_list(e, n->else_list, dot);
  v_put(&v);
  return r;
}

static int exec_list(struct exec *e, const struct node *n, struct val dot) {
  if (++e->depth > 100000) {
    e->depth--;
    return exec_error(e, "exceeded maximum template depth");
  }
  int r = 0;
  size_t mark = e->nvars;
  for (; n && r == 0; n = n->next) {
    if ((r = charge(e, 1)) < 0)
      break;
    switch (n->t) {
    case N_TEXT: buf_add(&e->out, n->text, n->len); break;
    case N_ACTION: {
      struct val v;
      if ((r = eval_pipe(e, n->pipe, dot, &v)) < 0)
        break;
      if (n->pipe->ndecl)
        r = declare(e, n->pipe, v);
      else
        print_val(&e->out, v, true);
      v_put(&v);
      break;
    }
    case N_IF:
    case N_WITH: {
      struct val v;
      size_t m2 = e->nvars;
      if ((r = eval_pipe(e, n->pipe, dot, &v)) < 0)
        break;
      if ((r = declare(e, n->pipe, v)) == 0) {
        if (is_truthy(v))
          r = exec_list(e, n->list, n->t == N_WITH ? v : dot);
        else if (n->else_list)
          r = exec_list(e, n->else_list, dot);
      }
      var_pop_to(e, m2);
      v_put(&v);
      break;
    }
    case N_RANGE: r = exec_range(e, n, dot); break;
    }
    if (r == 0 && e->out.over)
      r = exec_too_big(e);
  }
  var_pop_to(e, mark);
  e->depth--;
  return r;
}

static int run(const struct cb_template *t, json_object *data, const struct cb_gotype *type,
               bool header, char **out, cb_error_t *err) {
  struct exec e = {.root = data, .header = header, .err = err};
  struct val dot = {data, false, type};
  var_push(&e, "$", dot);
  int r = exec_list(&e, t->root, dot);
  var_pop_to(&e, 0);
  free(e.var_names);
  free(e.var_vals);
  if (r < 0) {
    free(e.out.s);
    return -1;
  }
  *out = buf_steal(&e.out);
  return 0;
}

int cb_template_exec(const struct cb_template *t, json_object *data, char **out, cb_error_t *err) {
  return run(t, data, NULL, false, out, err);
}

int cb_template_exec_typed(const struct cb_template *t, json_object *data,
                           const struct cb_gotype *type, char **out, cb_error_t *err) {
  return run(t, data, type, false, out, err);
}

int cb_template_exec_header(const struct cb_template *t, json_object *header, char **out,
                            cb_error_t *err) {
  return run(t, header, NULL, true, out, err);
}
