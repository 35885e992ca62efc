/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Docker-style times, durations and sizes. Templates are in template.h, tables in tabwriter.h. */
#ifndef CROWBAR_FORMAT_H
#define CROWBAR_FORMAT_H

#include <stdint.h>

#include "crowbar/error.h"

#define CB_RFC3339_LEN 40
/* Go's time.RFC3339Nano in UTC: "2026-11-22T08:00:00.123456789Z", trailing zeros of the
 * fraction trimmed (and the dot when nothing is left). ns == 0 gives Docker's unset time,
 * "0001-01-01T00:00:00Z". */
void cb_format_rfc3339nano(int64_t ns, char buf[CB_RFC3339_LEN]);
/* Like Docker's `logs -t`: always nine fraction digits. */
void cb_format_rfc3339nano_fixed(int64_t ns, char buf[CB_RFC3339_LEN]);
/* Parse RFC 3339 (with or without fraction, Z or +hh:mm, or a bare date "2026-11-22"). */
int cb_parse_rfc3339(const char *s, int64_t *ns);
/* A time argument as `docker logs --since/--until` takes it: RFC 3339, Unix seconds with an
 * optional fraction, or a Go duration ("10m", "1h30m", "2.5s") meaning that long before now. */
int cb_parse_time_arg(const char *s, int64_t now_ns, int64_t *out, cb_error_t *err);
/* A Go duration ("1h30m", "250ms", "10s") in nanoseconds. */
int cb_parse_duration(const char *s, int64_t *out);

/* Docker's units.HumanDuration: "Less than a second", "About a minute", "5 hours", ... */
char *cb_human_duration(int64_t ns);
/* to_ns - from_ns, saturated to the int64 range (times read from records may be anything). */
int64_t cb_ns_between(int64_t from_ns, int64_t to_ns);
/* "5 minutes ago" (CREATED columns). */
char *cb_time_ago(int64_t then_ns, int64_t now_ns);
/* Docker's units.HumanSize: decimal units, 4 significant digits ("1.234MB", "5.58MB", "0B"). */
char *cb_human_size(double bytes);
/* HumanSizeWithPrecision: `docker images` SIZE and `ps --size` use precision 3
 * ("5.58MB"); cb_human_size is precision 4. */
char *cb_human_size_precision(double bytes, int precision);

#endif
