/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Digest strings ("sha256:<hex>"), apart from the hashing itself: reading an image store
 * needs these, and should not load libcrypto for them. */
#include <string.h>

#include "crowbar/digest.h"
#include "crowbar/util.h"

int cb_digest_valid(const char *s) {
  return s && strlen(s) == CB_DIGEST_LEN && !strncmp(s, CB_DIGEST_PREFIX, 7) &&
         cb_is_hex(s + 7, CB_ID_LEN);
}

const char *cb_digest_hex(const char *s) {
  return strncmp(s, CB_DIGEST_PREFIX, 7) == 0 ? s + 7 : s;
}
