/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crowbar/format.h"
#include "crowbar/util.h"

#define NS 1000000000LL

static void format_base(int64_t ns, char *buf, size_t size, int *frac) {
  int64_t sec = ns / NS;
  int64_t f = ns % NS;
  if (f < 0) {
    f += NS;
    sec--;
  }
  time_t t = (time_t)sec;
  struct tm tm;
  gmtime_r(&t, &tm);
  /* Not strftime: it loads the time zone (tzset reads /etc/localtime) for nothing. */
  snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
           tm.tm_hour, tm.tm_min, tm.tm_sec);
  *frac = (int)f;
}

void cb_format_rfc3339nano(int64_t ns, char buf[CB_RFC3339_LEN]) {
  if (ns == 0) {
    strcpy(buf, "0001-01-01T00:00:00Z");
    return;
  }
  int frac;
  format_base(ns, buf, CB_RFC3339_LEN, &frac);
  size_t n = strlen(buf);
  if (frac) {
    char f[16];
    snprintf(f, sizeof f, ".%09d", frac);
    size_t l = strlen(f);
    while (l > 1 && f[l - 1] == '0')
      f[--l] = '\0';
    snprintf(buf + n, CB_RFC3339_LEN - n, "%sZ", f);
  } else {
    snprintf(buf + n, CB_RFC3339_LEN - n, "Z");
  }
}

void cb_format_rfc3339nano_fixed(int64_t ns, char buf[CB_RFC3339_LEN]) {
  int frac;
  format_base(ns, buf, CB_RFC3339_LEN, &frac);
  size_t n = strlen(buf);
  snprintf(buf + n, CB_RFC3339_LEN - n, ".%09dZ", frac);
}

static int digits(const char **p, int n, int *out) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (!isdigit((unsigned char)(*p)[i]))
      return -1;
    v = v * 10 + ((*p)[i] - '0');
  }
  *p += n;
  *out = v;
  return 0;
}

int cb_parse_rfc3339(const char *s, int64_t *ns) {
  int Y, M, D, h = 0, m = 0, sec = 0;
  const char *p = s;
  if (digits(&p, 4, &Y) < 0 || *p++ != '-' || digits(&p, 2, &M) < 0 || *p++ != '-' ||
      digits(&p, 2, &D) < 0)
    return -1;
  int64_t frac = 0, off = 0;
  if (*p == 'T' || *p == 't' || *p == ' ') {
    p++;
    if (digits(&p, 2, &h) < 0 || *p++ != ':' || digits(&p, 2, &m) < 0)
      return -1;
    if (*p == ':') {
      p++;
      if (digits(&p, 2, &sec) < 0)
        return -1;
    }
    if (*p == '.' || *p == ',') {
      p++;
      int64_t scale = NS / 10;
      if (!isdigit((unsigned char)*p))
        return -1;
      while (isdigit((unsigned char)*p)) {
        frac += (*p - '0') * scale;
        scale /= 10;
        p++;
      }
    }
    if (*p == 'Z' || *p == 'z') {
      p++;
    } else if (*p == '+' || *p == '-') {
      int sign = *p == '-' ? -1 : 1, oh, om;
      p++;
      if (digits(&p, 2, &oh) < 0)
        return -1;
      if (*p == ':')
        p++;
      if (digits(&p, 2, &om) < 0)
        return -1;
      off = sign * (oh * 3600 + om * 60);
    } else if (*p) {
      return -1;
    }
  }
  if (*p)
    return -1;
  if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60)
    return -1;
  struct tm tm = {
      .tm_year = Y - 1900, .tm_mon = M - 1, .tm_mday = D, .tm_hour = h, .tm_min = m, .tm_sec = sec};
  time_t t = timegm(&tm);
  int64_t secs = (int64_t)t - off;
  if (Y == 1 && M == 1 && D == 1 && secs + off == -62135596800LL && !frac) {
    *ns = 0; /* Go's zero time, Docker's "unset" */
    return 0;
  }
  if (secs < INT64_MIN / NS || secs > INT64_MAX / NS - 1)
    return -1;
  *ns = secs * NS + frac;
  return 0;
}

int cb_parse_duration(const char *s, int64_t *out) {
  const char *p = s;
  int neg = 0;
  if (*p == '-' || *p == '+') {
    neg = *p == '-';
    p++;
  }
  if (!*p)
    return -1;
  if (!strcmp(p, "0")) {
    *out = 0;
    return 0;
  }
  double total = 0;
  while (*p) {
    /* A number is [0-9]*(.[0-9]*)? as in Go (no sign, exponent, hex, inf or nan). */
    char num[64];
    size_t k = 0;
    bool dot = false, digit = false;
    for (; isdigit((unsigned char)*p) || (*p == '.' && !dot); p++) {
      if (*p == '.')
        dot = true;
      else
        digit = true;
      if (k < sizeof num - 1)
        num[k++] = *p;
    }
    num[k] = '\0';
    if (!digit)
      return -1;
    double v = strtod(num, NULL);
    double unit;
    if (!strncmp(p, "ns", 2)) {
      unit = 1;
      p += 2;
    } else if (!strncmp(p, "us", 2) || !strncmp(p, "\xc2\xb5s", 3)) {
      unit = 1e3;
      p += p[0] == 'u' ? 2 : 3;
    } else if (!strncmp(p, "ms", 2)) {
      unit = 1e6;
      p += 2;
    } else if (*p == 's') {
      unit = 1e9;
      p++;
    } else if (*p == 'm') {
      unit = 60e9;
      p++;
    } else if (*p == 'h') {
      unit = 3600e9;
      p++;
    } else {
      return -1;
    }
    total += v * unit;
  }
  /* Past what an int64 holds (292 years), as Go's "invalid duration". */
  if (!(total < 9.2e18))
    return -1;
  *out = (int64_t)(neg ? -total : total);
  return 0;
}

int cb_parse_time_arg(const char *s, int64_t now_ns, int64_t *out, cb_error_t *err) {
  int64_t d;
  if (!s || !*s)
    return cb_error_make(err, 0, "empty time value");
  if (cb_parse_rfc3339(s, out) == 0)
    return 0;
  /* Unix seconds, with an optional fraction ("1700000000.5"). */
  const char *p = s;
  int dot = 0, ok = 1;
  for (; *p; p++) {
    if (*p == '.' && !dot)
      dot = 1;
    else if (!isdigit((unsigned char)*p))
      ok = 0;
  }
  if (ok && s[0] != '.') {
    char *end;
    errno = 0;
    long long secs = strtoll(s, &end, 10);
    if (errno || secs > INT64_MAX / NS - 1)
      return cb_error_make(err, 0, "invalid time value \"%s\": out of range", s);
    int64_t frac = 0;
    if (*end == '.') {
      int64_t scale = NS / 10;
      for (const char *q = end + 1; *q && scale; q++, scale /= 10)
        frac += (*q - '0') * scale;
    }
    *out = (int64_t)secs * NS + frac;
    return 0;
  }
  if (cb_parse_duration(s, &d) == 0) {
    if (__builtin_sub_overflow(now_ns, d, out))
      return cb_error_make(err, 0, "invalid time value \"%s\": out of range", s);
    return 0;
  }
  return cb_error_make(err, 0,
                       "invalid time value \"%s\": use an RFC 3339 time, Unix seconds or a "
                       "duration such as 10m",
                       s);
}

char *cb_human_duration(int64_t ns) {
  /* github.com/docker/go-units HumanDuration */
  int64_t seconds = ns / NS;
  if (seconds < 1)
    return xstrdup("Less than a second");
  if (seconds == 1)
    return xstrdup("1 second");
  if (seconds < 60)
    return xasprintf("%lld seconds", (long long)seconds);
  int64_t minutes = ns / (60 * NS);
  if (minutes == 1)
    return xstrdup("About a minute");
  if (minutes < 60)
    return xasprintf("%lld minutes", (long long)minutes);
  double hours_f = (double)ns / (3600.0 * NS);
  int64_t hours = (int64_t)llround(hours_f);
  if (hours == 1)
    return xstrdup("About an hour");
  if (hours < 48)
    return xasprintf("%lld hours", (long long)hours);
  if (hours < 24 * 7 * 2)
    return xasprintf("%lld days", (long long)(hours / 24));
  if (hours < 24 * 30 * 2)
    return xasprintf("%lld weeks", (long long)(hours / 24 / 7));
  if (hours < 24 * 365 * 2)
    return xasprintf("%lld months", (long long)(hours / 24 / 30));
  /* go-units takes the hours truncated here, not rounded. */
  return xasprintf("%lld years", (long long)(ns / (3600 * NS) / 24 / 365));
}

int64_t cb_ns_between(int64_t from_ns, int64_t to_ns) {
  int64_t d;
  if (__builtin_sub_overflow(to_ns, from_ns, &d))
    return to_ns < from_ns ? INT64_MIN : INT64_MAX;
  return d;
}

char *cb_time_ago(int64_t then_ns, int64_t now_ns) {
  int64_t d = cb_ns_between(then_ns, now_ns);
  if (d < 0)
    d = 0;
  char *h = cb_human_duration(d);
  char *r = xasprintf("%s ago", h);
  free(h);
  return r;
}

char *cb_human_size(double size) {
  return cb_human_size_precision(size, 4);
}

char *cb_human_size_precision(double size, int precision) {
  /* go-units HumanSizeWithPrecision with the decimal abbreviations. */
  static const char *const units[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"};
  int i = 0;
  while (size >= 1000 && i < 8) {
    size /= 1000;
    i++;
  }
  /* %.*g, as Go's fmt with that precision */
  char num[32];
  snprintf(num, sizeof num, "%.*g", precision, size);
  return xasprintf("%s%s", num, units[i]);
}
