/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "crowbar/dirlist.h"
#include "crowbar/util.h"

static int cmp_dirent(const void *a, const void *b) {
  return strcmp(((const struct cb_dirent *)a)->name, ((const struct cb_dirent *)b)->name);
}

int cb_dir_read(int fd, bool sorted, struct cb_dirent **out, size_t *n, char **names,
                cb_error_t *err) {
  size_t cap = 64, len = 0, ncap = 4096, nlen = 0;
  struct cb_dirent *v = xmalloc(cap * sizeof *v);
  char *nm = xmalloc(ncap);
  /* One buffer per thread, on the heap: the walks that call this may run on small stacks. */
  enum { BUFSZ = 64 * 1024 };
  static __thread char *buf;
  if (!buf)
    buf = xmalloc(BUFSZ);
  for (;;) {
    long r = syscall(SYS_getdents64, fd, buf, BUFSZ);
    if (r < 0) {
      free(v);
      free(nm);
      return cb_error_sys(err, "read a folder");
    }
    if (r == 0)
      break;
    for (long off = 0; off < r;) {
      struct {
        uint64_t ino;
        int64_t off;
        unsigned short reclen;
        unsigned char type;
        char name[];
      } *d = (void *)(buf + off);
      off += d->reclen;
      if (d->name[0] == '.' && (!d->name[1] || (d->name[1] == '.' && !d->name[2])))
        continue;
      size_t l = strlen(d->name) + 1;
      if (nlen + l > ncap) {
        while (nlen + l > ncap)
          ncap *= 2;
        nm = xrealloc(nm, ncap);
      }
      memcpy(nm + nlen, d->name, l);
      if (len == cap)
        v = xrealloc(v, (cap *= 2) * sizeof *v);
      v[len].name = (char *)(uintptr_t)nlen; /* an offset until nm stops moving */
      v[len].type = d->type;
      len++;
      nlen += l;
    }
  }
  /* No slack: a deep walk holds one listing per level. */
  if (ncap > nlen + 256)
    nm = xrealloc(nm, nlen ? nlen : 1);
  if (cap > len + 16)
    v = xrealloc(v, (len ? len : 1) * sizeof *v);
  for (size_t i = 0; i < len; i++)
    v[i].name = nm + (uintptr_t)v[i].name;
  if (sorted && len)
    qsort(v, len, sizeof *v, cmp_dirent);
  *out = v;
  *n = len;
  *names = nm;
  return 0;
}
