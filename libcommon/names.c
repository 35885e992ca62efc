/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Random "adjective_noun" container names, from word lists of our own (tools and
 * materials of a workshop, since this is a crowbar). */
#include <stdio.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crowbar/cleanup.h"
#include "crowbar/container.h"

static const char *const adjectives[] = {
    "amber",   "ample",    "bold",     "brisk",    "calm",    "candid",   "clever",  "cosmic",
    "crisp",   "dapper",   "deft",     "eager",    "earnest", "fearless", "fervent", "frank",
    "gentle",  "gleaming", "glossy",   "graceful", "hardy",   "hearty",   "humble",  "jolly",
    "keen",    "kind",     "lively",   "lucid",    "merry",   "mellow",   "nimble",  "noble",
    "patient", "plucky",   "polished", "prudent",  "quiet",   "quick",    "radiant", "rapid",
    "rugged",  "rustic",   "serene",   "sharp",    "shiny",   "sober",    "solid",   "spry",
    "stoic",   "sturdy",   "sunny",    "swift",    "tender",  "thrifty",  "tidy",    "trusty",
    "upbeat",  "valiant",  "vivid",    "wary",     "witty",   "zesty",
};

static const char *const nouns[] = {
    "anvil",  "auger",    "awl",     "bellows", "bolt",    "brace",    "chisel",  "clamp",
    "crank",  "crucible", "dowel",   "drill",   "file",    "flange",   "forge",   "gauge",
    "gimlet", "grinder",  "hacksaw", "hammer",  "hinge",   "jack",     "jigsaw",  "kiln",
    "ladder", "lathe",    "level",   "lever",   "mallet",  "mandrel",  "nail",    "pincer",
    "plane",  "pliers",   "plumb",   "pulley",  "punch",   "rasp",     "ratchet", "reamer",
    "rivet",  "router",   "sander",  "saw",     "scraper", "screw",    "shears",  "shovel",
    "sledge", "socket",   "spanner", "spindle", "spoke",   "sprocket", "square",  "tongs",
    "trowel", "vise",     "washer",  "wedge",   "winch",   "wrench",
};

char *cb_name_generate(const struct cb_ctx *ctx) {
  const size_t na = sizeof adjectives / sizeof adjectives[0];
  const size_t nn = sizeof nouns / sizeof nouns[0];
  for (int attempt = 0;; attempt++) {
    unsigned int r[2] = {0, 0};
    if (getrandom(r, sizeof r, 0) < 0)
      r[0] = (unsigned)getpid(), r[1] = (unsigned)attempt * 7919u;
    char *name;
    if (attempt < 10)
      name = xasprintf("%s_%s", adjectives[r[0] % na], nouns[r[1] % nn]);
    else
      name = xasprintf("%s_%s%u", adjectives[r[0] % na], nouns[r[1] % nn], r[0] % 10);
    cleanup_free char *np = cb_ctx_path(ctx, "names/%s", name);
    struct stat st;
    /* lstat: a reservation is a symlink whose target means nothing as a path. */
    if (lstat(np, &st) != 0)
      return name;
    free(name);
  }
}
