/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A verb declares itself with one line at file scope:
 *
 *     CB_VERB(run, "Create and run a new container from an image");
 *
 * tests/gen-verbs.sh collects these lines into build/gen/verbs.h, from which the engine
 * builds its verb table and the dispatcher its help listing. */
#ifndef CROWBAR_VERB_H
#define CROWBAR_VERB_H

#define CB_VERB(name, summary) int cmd_##name(int argc, char **argv)

#endif
