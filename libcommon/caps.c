/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Docker's default capability set, with --cap-add/--cap-drop, through libcap. */
#include <ctype.h>
#include <stdint.h>
#include <errno.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include "crowbar/cleanup.h"
#include "crowbar/security.h"
#include "crowbar/util.h"

static const cap_value_t docker_default[] = {
    CAP_CHOWN,   CAP_DAC_OVERRIDE, CAP_FSETID,           CAP_FOWNER,
    CAP_MKNOD,   CAP_NET_RAW,      CAP_SETGID,           CAP_SETUID,
    CAP_SETFCAP, CAP_SETPCAP,      CAP_NET_BIND_SERVICE, CAP_SYS_CHROOT,
    CAP_KILL,    CAP_AUDIT_WRITE,
};

/* "NET_ADMIN", "CAP_NET_ADMIN", "net_admin" -> value; "ALL" -> -2; unknown -> -1. */
static int cap_parse(const char *s) {
  if (!strcasecmp(s, "ALL"))
    return -2;
  char name[64] = "cap_";
  const char *p = strncasecmp(s, "CAP_", 4) ? s : s + 4;
  size_t i = 4;
  for (; *p && i < sizeof name - 1; p++)
    name[i++] = (char)tolower((unsigned char)*p);
  name[i] = '\0';
  cap_value_t v;
  if (cap_from_name(name, &v) < 0)
    return -1;
  return v;
}

int cb_cap_value(const char *name) {
  return cap_parse(name);
}

int cb_caps_validate(char *const *names, cb_error_t *err) {
  for (char *const *p = names; p && *p; p++)
    if (cap_parse(*p) == -1)
      return cb_error_make(err, 0, "unknown capability: \"%s\"", *p);
  return 0;
}

int cb_caps_bounding(char *const *add, char *const *drop, uint64_t *set, cb_error_t *err) {
  int last = (int)cap_max_bits() - 1;
  if (last > 63)
    last = 63;
  uint64_t want = 0;
  for (size_t i = 0; i < sizeof docker_default / sizeof docker_default[0]; i++)
    want |= UINT64_C(1) << docker_default[i];
  /* Docker applies drops of ALL first, then adds, then named drops. */
  for (char *const *p = drop; p && *p; p++)
    if (cap_parse(*p) == -2)
      want = 0;
  for (char *const *p = add; p && *p; p++) {
    int v = cap_parse(*p);
    if (v == -1)
      return cb_error_make(err, 0, "unknown capability: \"%s\"", *p);
    if (v == -2)
      want |= last == 63 ? UINT64_MAX : (UINT64_C(1) << (last + 1)) - 1;
    else if (v <= last)
      want |= UINT64_C(1) << v;
  }
  for (char *const *p = drop; p && *p; p++) {
    int v = cap_parse(*p);
    if (v == -1)
      return cb_error_make(err, 0, "unknown capability: \"%s\"", *p);
    if (v >= 0 && v <= last)
      want &= ~(UINT64_C(1) << v);
  }
  *set = want;
  return 0;
}

int cb_caps_apply(char *const *add, char *const *drop, cb_error_t *err) {
  int last = (int)cap_max_bits() - 1;
  if (last > 63)
    last = 63;
  uint64_t set;
  if (cb_caps_bounding(add, drop, &set, err) < 0)
    return -1;
  bool want[64] = {false};
  for (int k = 0; k <= last; k++)
    want[k] = set >> k & 1;
  /* After a switch to another user (PR_SET_KEEPCAPS), the permitted set survives but the
   * effective one is empty: raise it again so that CAP_SETPCAP allows the drops below. */
  cap_t cur = cap_get_proc();
  if (cur) {
    for (int k = 0; k <= last; k++) {
      cap_flag_value_t v;
      cap_value_t one = k;
      if (cap_get_flag(cur, one, CAP_PERMITTED, &v) == 0 && v == CAP_SET)
        cap_set_flag(cur, CAP_EFFECTIVE, 1, &one, CAP_SET);
    }
    cap_set_proc(cur);
    cap_free(cur);
  }
  for (int k = 0; k <= last; k++)
    if (!want[k] && prctl(PR_CAPBSET_DROP, k, 0, 0, 0) < 0 && errno != EINVAL)
      return cb_error_sys(err, "drop capability %d from the bounding set", k);
  cap_t caps = cap_init();
  if (!caps)
    return cb_error_sys(err, "cap_init");
  cap_value_t list[64];
  int n = 0;
  for (int k = 0; k <= last; k++)
    if (want[k])
      list[n++] = k;
  if (n && (cap_set_flag(caps, CAP_EFFECTIVE, n, list, CAP_SET) < 0 ||
            cap_set_flag(caps, CAP_PERMITTED, n, list, CAP_SET) < 0)) {
    cap_free(caps);
    return cb_error_sys(err, "cap_set_flag");
  }
  int r = cap_set_proc(caps);
  cap_free(caps);
  if (r < 0)
    return cb_error_sys(err, "set capabilities");
  /* No ambient capabilities survive into the command. */
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  return 0;
}
