/* SPDX-License-Identifier: GPL-2.0-or-later */
/* crowbar-engine: every engine verb in one program. It runs as `crowbar-engine VERB ...`
 * or through a link named crowbar-VERB (what the dispatcher executes). */
#include <stdio.h>
#include <string.h>

#include "crowbar/verb.h"

#define CB_ENGINE_VERB(n, s) int cmd_##n(int argc, char **argv);
#define CB_TOOL_VERB(n, s)
#include "verbs.h"
#undef CB_ENGINE_VERB

struct verb {
  const char *name;
  int (*fn)(int, char **);
};

#define CB_ENGINE_VERB(n, s) {#n, cmd_##n},
static const struct verb verbs[] = {
#include "verbs.h"
};

static const struct verb *find(const char *name) {
  for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
    if (!strcmp(verbs[i].name, name))
      return &verbs[i];
  return NULL;
}

int main(int argc, char **argv) {
  const char *base = strrchr(argv[0], '/');
  base = base ? base + 1 : argv[0];
  if (!strncmp(base, "crowbar-", 8) && strcmp(base, "crowbar-engine")) {
    const struct verb *v = find(base + 8);
    if (v)
      return v->fn(argc, argv);
  }
  if (argc < 2 || argv[1][0] == '-') {
    fprintf(stderr, "Usage: crowbar-engine VERB [ARGS...]\nVerbs:");
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
      fprintf(stderr, " %s", verbs[i].name);
    fputc('\n', stderr);
    return 1;
  }
  const struct verb *v = find(argv[1]);
  if (!v) {
    fprintf(stderr, "Error: unknown engine verb '%s'\n", argv[1]);
    return 1;
  }
  return v->fn(argc - 1, argv + 1);
}
