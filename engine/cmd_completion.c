/* SPDX-License-Identifier: GPL-2.0-or-later */
/* crowbar completion bash: a bash completion script for crowbar, generated from what the
 * programs themselves say: the verbs of the dispatcher's table (build/gen/verbs.h), each
 * program's options and operands read from its --help, the global options from the
 * dispatcher's --help. Container and image names are asked of crowbar at completion
 * time (ps -a, images), with the global options typed on the line (--root DIR). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crowbar/cleanup.h"
#include "crowbar/context.h"
#include "crowbar/util.h"
#include "crowbar/verb.h"

CB_VERB(completion, "Print a shell completion script (bash)");

struct verb_info {
  const char *name;
};
#define CB_ENGINE_VERB(n, s) {#n},
#define CB_TOOL_VERB(n, s) {#n},
static const struct verb_info verbs[] = {
#include "verbs.h"
};
#define NVERBS (sizeof verbs / sizeof verbs[0])

static void usage(FILE *out) {
  fputs("Usage: crowbar completion bash\n\n"
        "Print a bash completion script for crowbar: verbs, their options, container and\n"
        "image names. Load it with `source <(crowbar completion bash)`; `make install`\n"
        "installs it into bash-completion's folder.\n\n"
        "Options:\n"
        "      --help   show this help\n\n"
        "See crowbar-completion(1).\n",
        out);
}

/* The standard output of `path --help` (at most 64 KiB), or NULL. */
static char *help_of(const char *path) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0)
    return NULL;
  pid_t pid = fork();
  if (pid < 0) {
    close(p[0]);
    close(p[1]);
    return NULL;
  }
  if (pid == 0) {
    dup2(p[1], 1);
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
      dup2(null, 0);
      dup2(null, 2);
    }
    execl(path, path, "--help", (char *)NULL);
    _exit(127);
  }
  close(p[1]);
  size_t cap = 65536, len = 0;
  char *buf = xmalloc(cap + 1);
  ssize_t r;
  while (len < cap && ((r = read(p[0], buf + len, cap - len)) > 0 || (r < 0 && errno == EINTR)))
    if (r > 0)
      len += (size_t)r;
  close(p[0]);
  int st;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
    ;
  buf[len] = '\0';
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    free(buf);
    return NULL;
  }
  return buf;
}

struct opts {
  char **flags;     /* every spelling: -a --attach */
  char **arg_flags; /* those that take a value in the next word */
};

/* The option lines of a --help text: "  -a, --all   text", "      --format T  text",
 * "  -H, --human[=BOOL]  text". An option that names a value (an upper-case word after
 * it) takes the next word; "[=X]" does not. */
static void parse_options(const char *help, struct opts *o) {
  for (const char *line = help; line && *line;) {
    const char *end = strchrnul(line, '\n');
    size_t indent = strspn(line, " ");
    if (indent >= 1 && indent <= 6 && line[indent] == '-') {
      /* The option part ends at the first run of two blanks. */
      const char *p = line + indent, *stop = p;
      while (stop < end && !(stop[0] == ' ' && stop + 1 < end && stop[1] == ' '))
        stop++;
      cleanup_free char *spec = xasprintf("%.*s", (int)(stop - p), p);
      /* "-a, --all" / "--detach-keys KEYS" / "-e, --env KEY=VALUE" */
      bool takes_arg = false;
      char *save = NULL;
      char **names = NULL;
      for (char *item = strtok_r(spec, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        while (*item == ' ')
          item++;
        if (item[0] != '-')
          continue;
        size_t nl = strcspn(item, " [=");
        if (item[nl] == ' ' && item[nl + 1] && item[nl + 1] != '[')
          takes_arg = true;
        cleanup_free char *name = xasprintf("%.*s", (int)nl, item);
        if (strcmp(name, "-") && strcmp(name, "--"))
          cb_strv_append(&names, name);
      }
      for (char **n = names; n && *n; n++) {
        cb_strv_append(&o->flags, *n);
        if (takes_arg)
          cb_strv_append(&o->arg_flags, *n);
      }
      cb_strv_free(names);
    }
    line = *end ? end + 1 : end;
  }
}

/* What the operands of a verb are, from its Usage line: containers, images or both, and
 * whether more than one ("CONTAINER [CONTAINER...]"). */
static void parse_usage(const char *help, const char **kind, bool *multi) {
  *kind = "";
  *multi = false;
  const char *u = strstr(help, "Usage:");
  if (!u)
    return;
  cleanup_free char *line = xasprintf("%.*s", (int)strcspn(u, "\n"), u);
  bool c = strstr(line, "CONTAINER") != NULL, i = strstr(line, "IMAGE") != NULL,
       n = strstr(line, " NAME") != NULL;
  *kind = n || (c && i) ? "container image" : c ? "container" : i ? "image" : "";
  *multi = strstr(line, "...]") && (strstr(line, "[CONTAINER...]") || strstr(line, "[IMAGE...]") ||
                                    strstr(line, "[NAME...]"));
}

/* A verb with subcommands lists them under "Commands:", one a line, each with its usage:
 * "  rm [-f] NAME...  remove volumes". Prints _crowbar_subcmds[VERB] and, for those that
 * take names of the verb's objects (NAME...), _crowbar_kind[VERB:SUB]. */
static void print_subcommands(const char *verb, const char *help) {
  const char *p = strstr(help, "\nCommands:\n");
  if (!p)
    return;
  p += strlen("\nCommands:\n");
  char **subs = NULL;
  for (const char *line = p; *line && *line != '\n';) {
    const char *end = strchrnul(line, '\n');
    if (line[0] == ' ' && line[1] == ' ' && line[2] >= 'a' && line[2] <= 'z') {
      size_t n = strcspn(line + 2, " \n");
      cleanup_free char *sub = xasprintf("%.*s", (int)n, line + 2);
      /* Its usage: up to the two blanks before the description. */
      const char *u = line + 2, *ue = u;
      while (ue < end && !(ue[0] == ' ' && ue + 1 < end && ue[1] == ' '))
        ue++;
      cleanup_free char *usage_text = xasprintf("%.*s", (int)(ue - u), u);
      cb_strv_append(&subs, sub);
      if (strstr(usage_text, " NAME..."))
        printf("_crowbar_kind[%s:%s]='%s'\n_crowbar_multi[%s:%s]=1\n", verb, sub, verb, verb, sub);
    }
    line = *end ? end + 1 : end;
  }
  printf("_crowbar_subcmds[%s]='", verb);
  for (char **s = subs; s && *s; s++)
    printf("%s%s", s == subs ? "" : " ", *s);
  fputs("'\n", stdout);
  cb_strv_free(subs);
}

static void print_words(const char *prefix, char **v, const char *suffix) {
  fputs(prefix, stdout);
  for (char **p = v; p && *p; p++)
    printf("%s%s", p == v ? "" : " ", *p);
  fputs(suffix, stdout);
}

/* The dispatcher: next to us (a build), or bin/ of an installed tree (we are in
 * libexec/crowbar/). */
static char *find_dispatcher(void) {
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0)
    return NULL;
  self[n] = '\0';
  char *slash = strrchr(self, '/');
  if (!slash)
    return NULL;
  *slash = '\0';
  static const char *const rel[] = {"crowbar", "../../bin/crowbar"};
  for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
    char *p = xasprintf("%s/%s", self, rel[i]);
    if (access(p, X_OK) == 0)
      return p;
    free(p);
  }
  return NULL;
}

static const char script_body[] =
    "\n"
    "# The crowbar command line typed so far, split into words at blanks.\n"
    "_crowbar_words() {\n"
    "  local line=${COMP_LINE:0:COMP_POINT}\n"
    "  read -ra _crowbar_w <<<\"$line\"\n"
    "  [[ $line == *[[:space:]] || -z $line ]] && _crowbar_w+=(\"\")\n"
    "}\n"
    "\n"
    "# Names of KIND (container, image), from crowbar itself with the global options typed.\n"
    "_crowbar_names() {\n"
    "  local kind=$1\n"
    "  shift\n"
    "  case $kind in\n"
    "  container) \"${_crowbar_w[0]}\" \"$@\" ps -a --format '{{.Names}}' 2>/dev/null ;;\n"
    "  image) \"${_crowbar_w[0]}\" \"$@\" images --format '{{.Repository}}:{{.Tag}}' 2>/dev/null "
    "|\n"
    "    grep -v '<none>' ;;\n"
    "  volume) \"${_crowbar_w[0]}\" \"$@\" volume ls -q 2>/dev/null ;;\n"
    "  esac\n"
    "}\n"
    "\n"
    "_crowbar() {\n"
    "  local _crowbar_w i w verb= vi=0 global=() cur prev\n"
    "  _crowbar_words\n"
    "  local n=${#_crowbar_w[@]}\n"
    "  cur=${_crowbar_w[n - 1]}\n"
    "  prev=${_crowbar_w[n - 2]:-}\n"
    "  COMPREPLY=()\n"
    "  for ((i = 1; i < n - 1; i++)); do\n"
    "    w=${_crowbar_w[i]}\n"
    "    if [[ \" $_crowbar_global_arg_flags \" == *\" $w \"* ]]; then\n"
    "      global+=(\"$w\" \"${_crowbar_w[i + 1]}\")\n"
    "      ((i++))\n"
    "      continue\n"
    "    fi\n"
    "    case $w in\n"
    "    --*=*) global+=(\"$w\") ;;\n"
    "    -*) ;;\n"
    "    *) verb=$w vi=$i; break ;;\n"
    "    esac\n"
    "  done\n"
    "  if [[ -z $verb ]]; then\n"
    "    if [[ \" $_crowbar_global_arg_flags \" == *\" $prev \"* && $n -gt 2 ]]; then\n"
    "      COMPREPLY=($(compgen -d -- \"$cur\"))\n"
    "    elif [[ $cur == -* ]]; then\n"
    "      COMPREPLY=($(compgen -W \"$_crowbar_global_flags\" -- \"$cur\"))\n"
    "    else\n"
    "      COMPREPLY=($(compgen -W \"$_crowbar_verbs help\" -- \"$cur\"))\n"
    "    fi\n"
    "    return 0\n"
    "  fi\n"
    "  if [[ $verb == help ]]; then\n"
    "    ((n - 1 == vi + 1)) && COMPREPLY=($(compgen -W \"$_crowbar_verbs\" -- \"$cur\"))\n"
    "    return 0\n"
    "  fi\n"
    "  local flags=${_crowbar_flags[$verb]-} argflags=${_crowbar_arg_flags[$verb]-}\n"
    "  # The value of an option: files.\n"
    "  if ((n - 2 > vi)) && [[ \" $argflags \" == *\" $prev \"* ]]; then\n"
    "    COMPREPLY=($(compgen -f -- \"$cur\"))\n"
    "    return 0\n"
    "  fi\n"
    "  if [[ $cur == -* ]]; then\n"
    "    COMPREPLY=($(compgen -W \"$flags\" -- \"$cur\"))\n"
    "    return 0\n"
    "  fi\n"
    "  # The operands typed before this one (options and their values left out).\n"
    "  local ops=0 first=\n"
    "  for ((i = vi + 1; i < n - 1; i++)); do\n"
    "    w=${_crowbar_w[i]}\n"
    "    if [[ $w == -* ]]; then\n"
    "      [[ \" $argflags \" == *\" $w \"* ]] && ((i++))\n"
    "      continue\n"
    "    fi\n"
    "    ((ops++ == 0)) && first=$w\n"
    "  done\n"
    "  local key=$verb\n"
    "  # A verb with subcommands (volume): the subcommand first, then its operands.\n"
    "  if [[ -n ${_crowbar_subcmds[$verb]-} ]]; then\n"
    "    if ((ops == 0)); then\n"
    "      COMPREPLY=($(compgen -W \"${_crowbar_subcmds[$verb]}\" -- \"$cur\"))\n"
    "      return 0\n"
    "    fi\n"
    "    key=$verb:$first\n"
    "    ((ops--))\n"
    "  fi\n"
    "  local kind=${_crowbar_kind[$key]-} k\n"
    "  if [[ -n $kind ]] && { ((ops == 0)) || [[ -n ${_crowbar_multi[$key]-} ]]; }; then\n"
    "    local names=\n"
    "    for k in $kind; do\n"
    "      names+=\" $(_crowbar_names \"$k\" \"${global[@]}\")\"\n"
    "    done\n"
    "    COMPREPLY=($(compgen -W \"$names\" -- \"$cur\"))\n"
    "    # bash splits words at ':' (busybox:latest): leave what it already has.\n"
    "    if [[ $cur == *:* && $COMP_WORDBREAKS == *:* ]]; then\n"
    "      local pre=${cur%\"${cur##*:}\"}\n"
    "      COMPREPLY=(\"${COMPREPLY[@]#\"$pre\"}\")\n"
    "    fi\n"
    "    return 0\n"
    "  fi\n"
    "  COMPREPLY=($(compgen -f -- \"$cur\"))\n"
    "  return 0\n"
    "}\n"
    "\n"
    "complete -F _crowbar crowbar\n";

static int print_bash(const char *argv0, cb_error_t *err) {
  struct cb_ctx ctx;
  if (cb_ctx_init(&ctx, argv0, 0, err) < 0)
    return -1;
  printf("# bash completion for crowbar(1), generated by `crowbar completion bash` (crowbar "
         "%s)\n# from the programs' own --help: regenerate it after an upgrade.\n",
         CROWBAR_VERSION);
  char **names = NULL;
  for (size_t i = 0; i < NVERBS; i++)
    cb_strv_append(&names, verbs[i].name);
  print_words("_crowbar_verbs='", names, "'\n");
  cb_strv_free(names);

  struct opts global = {0};
  cleanup_free char *disp = find_dispatcher();
  cleanup_free char *dhelp = disp ? help_of(disp) : NULL;
  if (dhelp) {
    /* Only the "Global options:" block: the rest lists verbs. */
    const char *g = strstr(dhelp, "Global options:");
    if (g) {
      const char *e = strstr(g, "\n\n");
      cleanup_free char *block = xasprintf("%.*s", e ? (int)(e - g) : (int)strlen(g), g);
      parse_options(block, &global);
    }
  }
  print_words("_crowbar_global_flags='", global.flags, "'\n");
  print_words("_crowbar_global_arg_flags='", global.arg_flags, "'\n");
  cb_strv_free(global.flags);
  cb_strv_free(global.arg_flags);

  fputs("declare -gA _crowbar_flags _crowbar_arg_flags _crowbar_kind _crowbar_multi "
        "_crowbar_subcmds\n",
        stdout);
  for (size_t i = 0; i < NVERBS; i++) {
    cleanup_free char *prog = xasprintf("crowbar-%s", verbs[i].name);
    cb_error_t e2 = NULL;
    cleanup_free char *path = cb_ctx_find_program(&ctx, prog, &e2);
    cb_error_release(&e2);
    cleanup_free char *help = path ? help_of(path) : NULL;
    if (!help)
      continue; /* not installed: no options to offer */
    struct opts o = {0};
    parse_options(help, &o);
    const char *kind;
    bool multi;
    parse_usage(help, &kind, &multi);
    printf("_crowbar_flags[%s]='", verbs[i].name);
    print_words("", o.flags, "'\n");
    printf("_crowbar_arg_flags[%s]='", verbs[i].name);
    print_words("", o.arg_flags, "'\n");
    if (*kind)
      printf("_crowbar_kind[%s]='%s'\n", verbs[i].name, kind);
    if (multi)
      printf("_crowbar_multi[%s]=1\n", verbs[i].name);
    print_subcommands(verbs[i].name, help);
    cb_strv_free(o.flags);
    cb_strv_free(o.arg_flags);
  }
  fputs(script_body, stdout);
  cb_ctx_release(&ctx);
  return 0;
}

int cmd_completion(int argc, char **argv) {
  static const struct option longopts[] = {
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  int c;
  opterr = 0;
  while ((c = cb_getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
    switch (c) {
    case 'h': usage(stdout); return cb_close_stdout() < 0 ? 1 : 0;
    default: return cb_opt_error("completion", argv, c);
    }
  }
  if (argc - optind != 1 || strcmp(argv[optind], "bash")) {
    fputs("Error: \"crowbar completion\" requires one argument: bash\n"
          "See 'crowbar completion --help'.\n",
          stderr);
    return 1;
  }
  cb_error_t err = NULL;
  if (print_bash(argv[0], &err) < 0) {
    cb_error_print(&err);
    return 1;
  }
  return cb_close_stdout() < 0 ? 1 : 0;
}
