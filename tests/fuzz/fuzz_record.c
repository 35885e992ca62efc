/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Container records: the input is CONTAINER_JSON NUL STATE_JSON (no NUL: container.json
 * alone), written as a container's record in a scratch CROWBAR_ROOT and read back the
 * ways the verbs read it: cb_container_load (inspect, start, ...), cb_container_list
 * (ps: the listing's own fast path and its cache), and what is derived from a record
 * (the status string, the state written back, the go-json print).
 *
 * To fuzz another record entry point (a validating loader, say), change fuzz_record_read()
 * only: it gets the scratch context and the id the files were written under. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crowbar/container.h"
#include "crowbar/context.h"
#include "crowbar/json.h"
#include "crowbar/util.h"
#include "fuzz.h"

static struct cb_ctx ctx;
static char *scratch;
static const char id[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

static void fuzz_record_read(const struct cb_ctx *c, const char *cid) {
  struct cb_container *ct = NULL;
  cb_error_t err = NULL;
  if (cb_container_load(c, cid, &ct, &err) == 0) {
    char *s = cb_container_status_string(ct, cb_now_ns());
    free(s);
    s = cb_json_go_string(ct->json, 4);
    free(s);
    cb_container_sync_json(ct);
    cb_container_free(ct);
  }
  cb_error_release(&err);
  struct cb_container **v = NULL;
  size_t n = 0;
  if (cb_container_list(c, &v, &n, &err) == 0) {
    for (size_t i = 0; i < n; i++) {
      char *s = cb_container_status_string(v[i], cb_now_ns());
      free(s);
    }
    cb_container_list_free(v, n);
  }
  cb_error_release(&err);
}

static void cleanup(void) {
  cb_error_t err = NULL;
  cb_rm_rf(scratch, &err);
  cb_error_release(&err);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  if (ctx.root)
    return 0;
  /* tmpfs when there is one: records are written with fsync. */
  char tmpl[] = "/dev/shm/cb-fuzz-record-XXXXXX", tmpl2[] = "/tmp/cb-fuzz-record-XXXXXX";
  char *dir = mkdtemp(tmpl) ? tmpl : mkdtemp(tmpl2);
  if (!dir)
    abort();
  ctx.root = xasprintf("%s/root", dir);
  ctx.runroot = xasprintf("%s/run", dir);
  ctx.exec_dir = xstrdup(dir);
  scratch = xstrdup(dir);
  atexit(cleanup);
  return 0;
}

static void put(const char *name, const char *data, size_t len) {
  char *p = cb_ctx_path(&ctx, "containers/%s/%s", id, name);
  int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd >= 0) {
    if (cb_write_all(fd, data, len) < 0)
      abort();
    close(fd);
  }
  free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 256 * 1024)
    return 0;
  cb_error_t err = NULL;
  char *dir = cb_ctx_path(&ctx, "containers/%s", id);
  char *locks = cb_ctx_runpath(&ctx, "locks");
  if (cb_mkdir_p(dir, 0700, &err) < 0 || cb_mkdir_p(locks, 0700, &err) < 0)
    abort();
  char *buf = malloc(size + 1);
  const char *rec, *state;
  size_t slen;
  if (fuzz_split(data, size, buf, &rec, &state, &slen)) {
    put("container.json", rec, strlen(rec));
    put("state.json", state, slen);
  } else {
    put("container.json", rec, size);
  }
  fuzz_record_read(&ctx, id);
  char *containers = cb_ctx_path(&ctx, "containers");
  if (cb_rm_rf(containers, &err) < 0)
    abort();
  free(containers);
  free(locks);
  free(dir);
  free(buf);
  return 0;
}
