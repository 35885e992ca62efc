/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The main() of every engine verb's program: the Makefile compiles this file once per
 * verb with -DCB_VERB_FN=cmd_<verb> and links it with engine.a, so that crowbar-run,
 * crowbar-ps, ... are separate programs that load only what they use. */
#ifndef CB_VERB_FN
#error "compile with -DCB_VERB_FN=cmd_<verb>"
#endif

int CB_VERB_FN(int argc, char **argv);

int main(int argc, char **argv) {
  return CB_VERB_FN(argc, argv);
}
