/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Small helpers every part of crowbar uses: files, strings, numbers, ids, time. */
#ifndef CROWBAR_UTIL_H
#define CROWBAR_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "crowbar/error.h"

#define CB_ID_LEN 64
#define CB_SHORT_ID_LEN 12

/* Read a whole file (at dirfd/path, dirfd may be AT_FDCWD) into a NUL-terminated buffer. */
int cb_read_file_at(int dirfd, const char *path, char **out, size_t *len, cb_error_t *err);
int cb_read_file(const char *path, char **out, size_t *len, cb_error_t *err);
/* Write data to dirfd/name atomically: temp file, fsync, rename, fsync dir. */
int cb_write_file_atomic_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
                            cb_error_t *err);
int cb_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode,
                         cb_error_t *err);
/* Write all bytes, retrying on EINTR and short writes. Returns 0 or -1 with errno set. */
int cb_write_all(int fd, const void *buf, size_t len);
/* Write a small string to a file (sysfs/cgroupfs style), no temp file. */
int cb_write_string(const char *path, const char *s, cb_error_t *err);
/* mkdir -p with mode; existing directories are fine. */
int cb_mkdir_p(const char *path, mode_t mode, cb_error_t *err);
/* rm -rf under dirfd; missing is fine; never crosses mount points; any depth, at most
 * CB_FDSTACK_MAX_OPEN descriptors (rmtree.c). */
int cb_rm_rf_at(int dirfd, const char *name, cb_error_t *err);
int cb_rm_rf(const char *path, cb_error_t *err);

/* A path cleaned lexically and confined below its root: "/a//b/./c/" -> "a/b/c",
 * "" or "./" -> "."; NULL when it climbs out ("../x", "a/../../x"). Malloc'd. */
char *cb_path_clean(const char *name);
/* The same for a path inside a root, as filepath.Clean treats a rooted path: ".." at the
 * top stays at the top, never NULL; the root itself is "". */
char *cb_path_clean_in_root(const char *name);

/* A path for a message: as it is up to max bytes, else its first and last bytes around
 * "...", max in all (a 100,000-level path is 200 kB). Malloc'd. */
char *cb_path_abbrev(const char *path, size_t max);

/* Random lower-case hex id of CB_ID_LEN characters, into buf[CB_ID_LEN + 1]. */
int cb_random_id(char *buf, cb_error_t *err);
bool cb_is_hex(const char *s, size_t n);

/* Wall clock in nanoseconds since the epoch. */
int64_t cb_now_ns(void);
/* Monotonic clock in nanoseconds. */
int64_t cb_monotonic_ns(void);

/* Strict number parsing: the whole string, in range; returns -1 on error (no err fill). */
int cb_parse_long(const char *s, long *out);
int cb_parse_int(const char *s, int *out);
/* "512m", "1g", "1024", "100k", "1.5g": bytes (docker's RAMInBytes). */
int cb_parse_bytes(const char *s, int64_t *out);

/* NULL-terminated string vectors. */
size_t cb_strv_len(char *const *v);
char **cb_strv_dup(char *const *v);
void cb_strv_free(char **v);
/* Append a copy of s, growing *v (which may be NULL). */
void cb_strv_append(char ***v, const char *s);

bool cb_str_has_prefix(const char *s, const char *prefix);
bool cb_str_has_suffix(const char *s, const char *suffix);

/* Signals by name ("TERM", "SIGTERM", "term") or number; -1 if unknown. */
int cb_signal_parse(const char *s);
/* "TERM" for SIGTERM, or NULL. */
const char *cb_signal_name(int sig);

/* Mark every descriptor >= from close-on-exec (close_range, or /proc/self/fd). */
int cb_cloexec_from(int from);

/* Process-wide ignore of SIGPIPE for tools that stream. */
void cb_ignore_sigpipe(void);

/* getopt_long(3), read as Docker's flag parser (pflag) reads short options: a value
 * attached with '=' loses it ("-e=A=1" sets A=1, "-w=/tmp" is /tmp, "-n=1", "-ie=A=1"),
 * while a value in the next argument keeps it ("-e =A" is "=A"). Every verb parses with
 * it. */
struct option;
int cb_getopt_long(int argc, char *const *argv, const char *optstring,
                   const struct option *longopts, int *longindex);

/* getopt_long failed: it returned c, '?' or ':' (the optstring starts with ':', after a
 * '+' if any, and opterr is 0). Prints the one-line `Error: unknown flag: --x` (or
 * `flag needs an argument: -t`) and the hint `See 'crowbar VERB --help'.` on stderr, and
 * returns 125, Docker's exit code for a flag error, for the verb to return. */
int cb_opt_error(const char *verb, char *const *argv, int c);

/* Under AddressSanitizer, run the leak check now instead of at exit: call it before
 * entering another PID namespace, where LeakSanitizer's exit-time check (which clones a
 * tracer into the namespace of our children) would hang. A no-op otherwise. */
void cb_leak_check_now(void);

/* Check stdout for lost output (fflush/ferror/fclose); returns 0 or -1 (util-linux close_stdout).
 */
int cb_close_stdout(void);

#endif
