/* SPDX-License-Identifier: GPL-2.0-or-later */
/* SHA-256 digests in OCI's notation ("sha256:<64 hex>"), streaming, over OpenSSL's EVP. */
#ifndef CROWBAR_DIGEST_H
#define CROWBAR_DIGEST_H

#include <stddef.h>

#include "crowbar/error.h"

/* "sha256:" + 64 hex digits. */
#define CB_DIGEST_PREFIX "sha256:"
#define CB_DIGEST_LEN 71

struct cb_sha256 {
  void *md; /* EVP_MD_CTX */
};

int cb_sha256_init(struct cb_sha256 *d, cb_error_t *err);
int cb_sha256_update(struct cb_sha256 *d, const void *buf, size_t len, cb_error_t *err);
/* Write "sha256:<hex>" into out and release the context. */
int cb_sha256_final(struct cb_sha256 *d, char out[CB_DIGEST_LEN + 1], cb_error_t *err);
/* Release a context that was not finalised (safe on a released or zeroed one). */
void cb_sha256_release(struct cb_sha256 *d);

/* One-shot digests of a buffer and of everything readable from fd. */
int cb_sha256_buf(const void *buf, size_t len, char out[CB_DIGEST_LEN + 1], cb_error_t *err);
int cb_sha256_fd(int fd, char out[CB_DIGEST_LEN + 1], cb_error_t *err);

/* True for "sha256:" followed by exactly 64 lower-case hex digits. */
int cb_digest_valid(const char *s);
/* The hex part of a digest ("sha256:abc" -> "abc"), or s itself without the prefix. */
const char *cb_digest_hex(const char *s);

#endif
