/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The listing cache (listcache.c), private to container.c. */
#ifndef CROWBAR_LISTCACHE_H
#define CROWBAR_LISTCACHE_H

#include <sys/stat.h>

#include "crowbar/container.h"

struct cb_listcache;
/* Open the cache of the containers folder dirfd (a missing or stale cache is empty). */
struct cb_listcache *cb_listcache_open(int dirfd);
/* The container, when the cache holds it for this very state.json (st) and container.json
 * (rst); NULL otherwise. */
struct cb_container *cb_listcache_get(struct cb_listcache *lc, const char *id,
                                      const struct stat *st, const struct stat *rst);
/* Remember a container parsed from its state.json (st), its container.json (rst) checked. */
void cb_listcache_add(struct cb_listcache *lc, const struct cb_container *c, const struct stat *st,
                      const struct stat *rst);
/* Write the cache back when it changed, and free it. */
void cb_listcache_close(struct cb_listcache *lc, int dirfd);

#endif
