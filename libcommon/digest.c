/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <openssl/evp.h>
#include <string.h>
#include <unistd.h>

#include "crowbar/digest.h"
#include "crowbar/util.h"

int cb_sha256_init(struct cb_sha256 *d, cb_error_t *err) {
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  if (!md)
    oom();
  if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
    EVP_MD_CTX_free(md);
    d->md = NULL;
    return cb_error_make(err, 0, "sha256: cannot initialise the digest");
  }
  d->md = md;
  return 0;
}

int cb_sha256_update(struct cb_sha256 *d, const void *buf, size_t len, cb_error_t *err) {
  if (!d->md)
    return cb_error_make(err, EINVAL, "sha256: digest not initialised");
  if (len && EVP_DigestUpdate(d->md, buf, len) != 1)
    return cb_error_make(err, 0, "sha256: digest update failed");
  return 0;
}

int cb_sha256_final(struct cb_sha256 *d, char out[CB_DIGEST_LEN + 1], cb_error_t *err) {
  unsigned char raw[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (!d->md)
    return cb_error_make(err, EINVAL, "sha256: digest not initialised");
  int ok = EVP_DigestFinal_ex(d->md, raw, &n);
  cb_sha256_release(d);
  if (ok != 1 || n != 32)
    return cb_error_make(err, 0, "sha256: digest failed");
  static const char hex[] = "0123456789abcdef";
  memcpy(out, CB_DIGEST_PREFIX, 7);
  for (unsigned i = 0; i < n; i++) {
    out[7 + 2 * i] = hex[raw[i] >> 4];
    out[7 + 2 * i + 1] = hex[raw[i] & 15];
  }
  out[CB_DIGEST_LEN] = '\0';
  return 0;
}

void cb_sha256_release(struct cb_sha256 *d) {
  if (d->md)
    EVP_MD_CTX_free(d->md);
  d->md = NULL;
}

int cb_sha256_buf(const void *buf, size_t len, char out[CB_DIGEST_LEN + 1], cb_error_t *err) {
  struct cb_sha256 d;
  if (cb_sha256_init(&d, err) < 0)
    return -1;
  if (cb_sha256_update(&d, buf, len, err) < 0) {
    cb_sha256_release(&d);
    return -1;
  }
  return cb_sha256_final(&d, out, err);
}

int cb_sha256_fd(int fd, char out[CB_DIGEST_LEN + 1], cb_error_t *err) {
  struct cb_sha256 d;
  if (cb_sha256_init(&d, err) < 0)
    return -1;
  char buf[65536];
  for (;;) {
    ssize_t r = read(fd, buf, sizeof buf);
    if (r < 0) {
      if (errno == EINTR)
        continue;
      cb_sha256_release(&d);
      return cb_error_sys(err, "sha256: read");
    }
    if (r == 0)
      break;
    if (cb_sha256_update(&d, buf, (size_t)r, err) < 0) {
      cb_sha256_release(&d);
      return -1;
    }
  }
  return cb_sha256_final(&d, out, err);
}
