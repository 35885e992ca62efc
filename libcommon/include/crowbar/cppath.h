/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The path rules of `docker cp`, as Go's path/filepath and moby's pkg/archive
 * (copy.go) apply them, so that crowbar cp decides file vs folder, "SRC/.", trailing
 * slashes and renames exactly as Docker does. Pure string functions; results malloc'd. */
#ifndef CROWBAR_CPPATH_H
#define CROWBAR_CPPATH_H

#include <stdbool.h>

/* Go's filepath.Clean: "a//b/./../c/" -> "a/c", "" -> ".", "/../x" -> "/x". */
char *cb_go_clean(const char *path);
/* Go's filepath.Base and filepath.Dir. */
char *cb_go_base(const char *path);
char *cb_go_dir(const char *path);

/* filepath.Base(path) == "." */
bool cb_cp_specifies_current_dir(const char *path);
/* Ends with "/" or specifies the current folder: the path must be a folder. */
bool cb_cp_asserts_dir(const char *path);
/* archive.PreserveTrailingDotOrSeparator: cleaned keeps original's trailing "/." or "/". */
char *cb_cp_preserve_trailing(const char *cleaned, const char *original);
/* A container path as Docker takes it: relative to "/", cleaned, trailing "/." or "/"
 * kept ("etc/" -> "/etc/", "/../../x" -> "/x", "d/." -> "/d/."). */
char *cb_cp_container_path(const char *path);
/* A local path made absolute against cwd, cleaned, trailing "/." or "/" kept. */
char *cb_cp_local_path(const char *path, const char *cwd);
/* archive.SplitPathDirEntry: "/a/b/." -> ("/a/b", "."), "/a/b/" -> ("/a", "b"). */
void cb_cp_split(const char *path, char **dir, char **base);

#endif
