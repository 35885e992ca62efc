/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdlib.h>
#include <string.h>

#include "crowbar/cppath.h"
#include "crowbar/error.h"

char *cb_go_clean(const char *path) {
  size_t n = strlen(path);
  if (n == 0)
    return xstrdup(".");
  bool rooted = path[0] == '/';
  char *out = xmalloc(n + 2);
  size_t w = 0, r = 0, dotdot = 0;
  if (rooted) {
    out[w++] = '/';
    r = 1;
    dotdot = 1;
  }
  while (r < n) {
    if (path[r] == '/') {
      r++;
    } else if (path[r] == '.' && (r + 1 == n || path[r + 1] == '/')) {
      r++;
    } else if (path[r] == '.' && path[r + 1] == '.' && (r + 2 == n || path[r + 2] == '/')) {
      r += 2;
      if (w > dotdot) {
        w--;
        while (w > dotdot && out[w] != '/')
          w--;
      } else if (!rooted) {
        if (w > 0)
          out[w++] = '/';
        out[w++] = '.';
        out[w++] = '.';
        dotdot = w;
      }
    } else {
      if ((rooted && w != 1) || (!rooted && w != 0))
        out[w++] = '/';
      for (; r < n && path[r] != '/'; r++)
        out[w++] = path[r];
    }
  }
  if (w == 0)
    out[w++] = '.';
  out[w] = '\0';
  return out;
}

char *cb_go_base(const char *path) {
  size_t n = strlen(path);
  if (n == 0)
    return xstrdup(".");
  while (n > 0 && path[n - 1] == '/')
    n--;
  if (n == 0)
    return xstrdup("/");
  size_t b = n;
  while (b > 0 && path[b - 1] != '/')
    b--;
  return strndup(path + b, n - b) ?: (oom(), NULL);
}

char *cb_go_dir(const char *path) {
  const char *slash = strrchr(path, '/');
  size_t n = slash ? (size_t)(slash - path) + 1 : 0;
  char *d = strndup(path, n);
  if (!d)
    oom();
  char *c = cb_go_clean(d);
  free(d);
  return c;
}

bool cb_cp_specifies_current_dir(const char *path) {
  char *b = cb_go_base(path);
  bool r = !strcmp(b, ".");
  free(b);
  return r;
}

bool cb_cp_asserts_dir(const char *path) {
  size_t n = strlen(path);
  return (n > 0 && path[n - 1] == '/') || cb_cp_specifies_current_dir(path);
}

char *cb_cp_preserve_trailing(const char *cleaned, const char *original) {
  size_t n = strlen(cleaned);
  char *out = xmalloc(n + 4); /* "/." and "/" and the NUL */
  memcpy(out, cleaned, n + 1);
  if (!cb_cp_specifies_current_dir(out) && cb_cp_specifies_current_dir(original)) {
    if (n == 0 || out[n - 1] != '/')
      out[n++] = '/';
    out[n++] = '.';
    out[n] = '\0';
  }
  size_t on = strlen(original);
  if ((n == 0 || out[n - 1] != '/') && on > 0 && original[on - 1] == '/') {
    out[n++] = '/';
    out[n] = '\0';
  }
  return out;
}

char *cb_cp_container_path(const char *path) {
  char *joined = xasprintf("/%s", path);
  char *clean = cb_go_clean(joined);
  char *r = cb_cp_preserve_trailing(clean, path);
  free(joined);
  free(clean);
  return r;
}

char *cb_cp_local_path(const char *path, const char *cwd) {
  char *joined = path[0] == '/' ? xstrdup(path) : xasprintf("%s/%s", cwd, path);
  char *clean = cb_go_clean(joined);
  char *r = cb_cp_preserve_trailing(clean, path);
  free(joined);
  free(clean);
  return r;
}

void cb_cp_split(const char *path, char **dir, char **base) {
  char *clean = cb_go_clean(path);
  if (cb_cp_specifies_current_dir(path)) {
    char *c2 = xasprintf("%s/.", clean);
    free(clean);
    clean = c2;
  }
  *dir = cb_go_dir(clean);
  *base = cb_go_base(clean);
  free(clean);
}
