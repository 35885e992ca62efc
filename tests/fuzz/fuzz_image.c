/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Image configs: the input is CONFIG_JSON [NUL CHANGES], CHANGES being Dockerfile
 * instructions one a line (`import -c`, `commit -c`). The config goes through `load`'s
 * check (engine/cmd_load.c, included for its static check_config), then is written into a
 * scratch image store and read back as every verb reads an image (cb_image_locate, the
 * layer folders, the go-json print of inspect), and the changes are applied to it. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

#pragma GCC diagnostic ignored "-Wunused-function"
#include "../../engine/cmd_load.c"

static struct cb_ctx ctx;
static char *scratch;
static const char hex[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

static void cleanup(void) {
  cb_error_t err = NULL;
  cb_rm_rf(scratch, &err);
  cb_error_release(&err);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  if (scratch)
    return 0;
  /* tmpfs when there is one: records are written with fsync. */
  char tmpl[] = "/dev/shm/cb-fuzz-image-XXXXXX", tmpl2[] = "/tmp/cb-fuzz-image-XXXXXX";
  char *dir = mkdtemp(tmpl) ? tmpl : mkdtemp(tmpl2);
  if (!dir)
    abort();
  scratch = xstrdup(dir);
  ctx.root = xasprintf("%s/root", dir);
  ctx.runroot = xasprintf("%s/run", dir);
  ctx.exec_dir = xstrdup(dir);
  atexit(cleanup);
  cb_error_t err = NULL;
  char *d = cb_ctx_path(&ctx, "images/%s", hex);
  char *repos = xasprintf("{\"img:latest\":\"sha256:%s\"}", hex);
  char *rp = cb_ctx_path(&ctx, "repositories.json");
  if (cb_mkdir_p(d, 0700, &err) < 0 ||
      cb_write_file_atomic(rp, repos, strlen(repos), 0600, &err) < 0)
    abort();
  free(d);
  free(repos);
  free(rp);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 256 * 1024)
    return 0;
  char *buf = malloc(size + 1);
  const char *config, *rest;
  size_t rlen;
  fuzz_split(data, size, buf, &config, &rest, &rlen);
  cb_error_t err = NULL;
  char **diff_ids = NULL;
  if (check_config(config, strlen(config), "config", &diff_ids, &err) == 0)
    cb_strv_free(diff_ids);
  cb_error_release(&err);

  char *path = cb_ctx_path(&ctx, "images/%s/config.json", hex);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || cb_write_all(fd, config, strlen(config)) < 0)
    abort();
  close(fd);
  free(path);
  struct cb_image *img = NULL;
  if (cb_image_locate(&ctx, "img", &img, &err) == 0) {
    char **dirs = cb_image_layer_dirs(&ctx, img);
    cb_strv_free(dirs);
    char *s = cb_json_go_string(img->config, 4);
    free(s);
    if (rest) {
      /* One change a line, as repeated -c options. */
      char **changes = NULL;
      char *copy = strndup(rest, rlen), *save = NULL;
      for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
        cb_strv_append(&changes, line);
      json_object *cfg = NULL;
      if (json_object_deep_copy(img->config, &cfg, NULL) == 0 &&
          cb_image_apply_changes(cfg, changes ? changes : (char *[]){NULL}, &err) == 0) {
        s = cb_json_go_string(cfg, 0);
        free(s);
      }
      json_object_put(cfg);
      cb_error_release(&err);
      cb_strv_free(changes);
      free(copy);
    }
    cb_image_free(img);
  }
  cb_error_release(&err);
  free(buf);
  return 0;
}
