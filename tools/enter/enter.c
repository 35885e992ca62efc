/* SPDX-License-Identifier: GPL-2.0-or-later */
/* enter: nsenter for containers. Unlike exec, which makes a process the container would
 * have made (its user, capabilities, cgroup, environment), enter keeps the caller's full
 * root privileges and environment: it is the host looking in.
 *
 * Everything that comes from the host is loaded before the first setns: the target's
 * pidfd and root, the container's record, the environment, the toolbox binary and its
 * applet folder. Nothing is looked up by name inside afterwards except the command
 * itself (and no NSS, no libraries: exec is the next step). */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crowbar/cgroup.h"
#include "crowbar/cleanup.h"
#include "crowbar/container.h"
#include "crowbar/json.h"
#include "crowbar/lookpath.h"
#include "crowbar/ns.h"
#include "crowbar/proc.h"
#include "crowbar/util.h"
#include "enter.h"

extern char **environ;

/* What we enter: a container's PID 1 or any process. */
struct target {
  char *label; /* "container web", "process 1234": for messages */
  pid_t pid;
  int pidfd;
  bool paused;
  struct cb_container *c; /* NULL for --pid */
};

static void target_release(struct target *t) {
  free(t->label);
  if (t->pidfd >= 0)
    close(t->pidfd);
  if (t->c)
    cb_container_free(t->c);
}

/* The readable name of a namespace, for messages. */
static const char *ns_human(unsigned bit) {
  switch (bit) {
  case CB_NS_MNT: return "mount";
  case CB_NS_UTS: return "UTS";
  case CB_NS_IPC: return "IPC";
  case CB_NS_NET: return "network";
  case CB_NS_PID: return "PID";
  case CB_NS_USER: return "user";
  case CB_NS_CGROUP: return "cgroup";
  case CB_NS_TIME: return "time";
  }
  return "?";
}

/* True when pid sits in a frozen cgroup (v1 freezer, or v2 cgroup.freeze). */
static bool process_frozen(pid_t pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/cgroup", pid);
  cleanup_free char *text = NULL;
  cb_error_t err = NULL;
  if (cb_read_file(path, &text, NULL, &err) < 0) {
    cb_error_release(&err);
    return false;
  }
  bool v2 = cb_cgroup_detect() == CB_CGROUP_V2;
  char *save = NULL;
  for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
    char *c1 = strchr(l, ':');
    char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2)
      continue;
    *c2 = '\0';
    const char *ctl = c1 + 1, *cpath = c2 + 1;
    cleanup_free char *file = NULL;
    const char *want;
    if (!strcmp(ctl, "freezer")) {
      file = xasprintf("/sys/fs/cgroup/freezer%s/freezer.state", cpath);
      want = "F"; /* FROZEN or FREEZING */
    } else if (!*ctl) {
      file = xasprintf("/sys/fs/cgroup%s%s/cgroup.events", v2 ? "" : "/unified", cpath);
      want = "frozen 1";
    } else {
      continue;
    }
    cleanup_free char *state = NULL;
    if (cb_read_file(file, &state, NULL, &err) < 0) {
      cb_error_release(&err);
      continue;
    }
    if (want[0] == 'F' ? state[0] == 'F' : strstr(state, want) != NULL)
      return true;
  }
  return false;
}

static int target_open(const struct cb_ctx *ctx, const struct enter_opts *o, struct target *t,
                       cb_error_t *err) {
  if (o->container) {
    t->label = xasprintf("container %s", o->container);
    if (cb_container_locate(ctx, o->container, &t->c, err) < 0)
      return -1;
    if (!cb_container_is_running(t->c) || !cb_container_pid_alive(t->c))
      return cb_error_make(err, 0,
                           "container %s is not running (%s): it has no namespaces to enter",
                           o->container, cb_status_name(t->c->state.status));
    t->pid = t->c->state.pid;
    t->pidfd = cb_pidfd_open_checked(t->pid, t->c->state.pid_start);
    if (t->pidfd < 0)
      return cb_error_make(err, 0, "container %s is not running: its PID 1 is gone", o->container);
    t->paused = t->c->state.status == CB_STATUS_PAUSED;
  } else {
    t->label = xasprintf("process %d", o->pid);
    t->pid = o->pid;
    uint64_t start = cb_proc_start_time(o->pid);
    if (!start)
      return cb_error_make(err, 0, "no such process: %d", o->pid);
    t->pidfd = cb_pidfd_open_checked(o->pid, start);
    if (t->pidfd < 0)
      return cb_error_sys(err, "process %d", o->pid);
  }
  /* Only --cgroup cares, and --pid has no record that says "paused". */
  if (o->join_cgroup && !t->paused)
    t->paused = process_frozen(t->pid);
  return 0;
}

/* Remove KEY from a KEY=VALUE vector. */
static void env_drop(char **env, const char *key) {
  size_t kl = strlen(key), j = 0;
  for (size_t i = 0; env && env[i]; i++) {
    if (!strncmp(env[i], key, kl) && env[i][kl] == '=')
      free(env[i]);
    else
      env[j++] = env[i];
  }
  if (env)
    env[j] = NULL;
}

/* The environment: ours (as nsenter does), or with --env the target's own: a container's
 * Config.Env over PATH and HOSTNAME, as its processes get it, a process's initial
 * environment.
 * TERM stays ours unless theirs sets it: the terminal is ours. */
static int build_env(const struct enter_opts *o, const struct target *t, char ***out,
                     cb_error_t *err) {
  char **env = NULL;
  if (!o->take_env) {
    *out = cb_strv_dup(environ);
    return 0;
  }
  if (t->c) {
    cleanup_strv char **config_env = cb_json_get_strv(t->c->json, "Config.Env");
    env = cb_env_for_process(config_env, cb_json_get_str(t->c->json, "Config.Hostname", ""), false);
  } else {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/environ", t->pid);
    cleanup_free char *text = NULL;
    size_t len = 0;
    if (cb_read_file(path, &text, &len, err) < 0)
      return cb_error_wrap(err, "--env");
    for (size_t i = 0; i < len; i += strlen(text + i) + 1)
      if (strchr(text + i, '='))
        cb_strv_append(&env, text + i);
  }
  /* The toolbox's shell runs with the host's privileges: nothing of the target's may make
   * it run code (a startup file named by ENV, a command substitution in a prompt). */
  if (o->toolbox) {
    static const char *const code[] = {"ENV", "BASH_ENV", "PS1", "PS2", "PS4", "PROMPT_COMMAND"};
    for (size_t i = 0; i < sizeof code / sizeof code[0]; i++)
      env_drop(env, code[i]);
  }
  const char *term = getenv("TERM");
  if (term && !cb_env_get(env, "TERM")) {
    cleanup_free char *kv = xasprintf("TERM=%s", term);
    cb_env_set(&env, kv);
  }
  if (!env)
    env = xcalloc(1, sizeof *env);
  *out = env;
  return 0;
}

/* Everything between setns and exec, in the process that execs (a child when the PID
 * namespace was entered). Returns only on failure. */
static int enter_exec(const struct enter_opts *o, unsigned which, int rootfd,
                      const struct toolbox *tb, char ***envp, cb_error_t *err) {
  char **env = *envp; /* cb_env_set may move the vector: *envp follows it */
  /* Until exec this is our binary, with every privilege, maybe in the target's PID
   * namespace: non-dumpable, none of its processes can open our /proc/PID/exe, fd/ or
   * mem. Exec makes the command dumpable again. */
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  if (which & CB_NS_USER) {
    /* As nsenter: become root of the user namespace we entered. */
    setgroups(0, NULL);
    if (setgid(0) < 0 || setuid(0) < 0)
      return cb_error_sys(err, "become root in the user namespace");
  }
  /* The target's own root (its PID 1's, after pivot_root), opened before entering. */
  if (rootfd >= 0 && (fchdir(rootfd) < 0 || chroot(".") < 0))
    return cb_error_sys(err, "change to the container's root");
  if (o->workdir) {
    if (chdir(o->workdir) < 0) {
      cb_error_sys(err, "chdir to `%s`", o->workdir);
      return cb_error_set_code(err, 126);
    }
  } else if (rootfd >= 0 && chdir("/") < 0) {
    return cb_error_sys(err, "chdir to /");
  }
  /* The working folder must be inside the root we are in (runc's CVE-2024-21626). */
  char cwd[PATH_MAX];
  if (rootfd >= 0 && (!getcwd(cwd, sizeof cwd) || cwd[0] != '/'))
    return cb_error_make(err, 0, "the working directory is outside the container's root");

  cleanup_strv char **argv = NULL;
  cleanup_free char *prog = NULL;
  if (tb) {
    argv = o->argv && o->argv[0] ? cb_strv_dup(o->argv) : NULL;
    if (!argv)
      cb_strv_append(&argv, "sh");
  } else if (o->argv && o->argv[0]) {
    argv = cb_strv_dup(o->argv);
    prog = cb_look_path(argv[0], env, err);
    if (!prog)
      return -1;
  } else {
    /* A shell: $SHELL if the root we are in has it, else /bin/sh. */
    const char *sh = cb_env_get(env, "SHELL");
    cb_error_t e = NULL;
    if (sh && *sh && (prog = cb_look_path(sh, env, &e)) != NULL) {
      cb_strv_append(&argv, sh);
    } else {
      cb_error_release(&e);
      prog = cb_look_path("/bin/sh", env, &e);
      if (!prog) {
        cb_error_release(&e);
        cb_error_make(err, 0, "no shell to run: %s%s/bin/sh not found%s", sh && *sh ? sh : "",
                      sh && *sh ? " and " : "",
                      rootfd >= 0 ? " in the container (try --toolbox)" : "");
        return cb_error_set_code(err, 127);
      }
      cb_strv_append(&argv, "/bin/sh");
    }
  }

  /* No descriptor of ours crosses into the container, but the applet folder. */
  if (cb_cloexec_from(3) < 0)
    return cb_error_sys(err, "mark descriptors close-on-exec");
  if (tb && tb->dirfd >= 0) {
    /* /proc/self/fd/N resolves only where /proc knows us: on the host's /proc, or on the
     * container's with its PID namespace entered. */
    if (!(which & CB_NS_MNT) || (which & CB_NS_PID)) {
      int d = fcntl(tb->dirfd, F_DUPFD, 100);
      if (d >= 0) {
        /* The applet folder alone: no folder of the container (its programs could not run
         * anyway, see landlock.c). */
        cleanup_free char *kv = xasprintf("PATH=/proc/self/fd/%d", d);
        cb_env_set(envp, kv);
        env = *envp;
      }
    }
  }
  if (tb) {
    /* A busybox built to save its shell's history would write $HOME/.ash_history into
     * the container: an empty HISTFILE turns that off (unless the caller set one). */
    if (!cb_env_get(env, "HISTFILE")) {
      cb_env_set(envp, "HISTFILE=");
      env = *envp;
    }
    if (toolbox_confine(tb->ruleset, err) < 0)
      return -1;
    execveat(tb->exe, "", argv, env, AT_EMPTY_PATH);
    cb_error_sys(err, "exec the toolbox %s as \"%s\"", tb->path, argv[0]);
  } else {
    execve(prog, argv, env);
    cb_error_sys(err, "exec: \"%s\"", argv[0]);
  }
  return cb_error_set_code(err, errno == ENOENT ? 127 : 126);
}

static volatile sig_atomic_t child_pid;
static void forward_signal(int sig) {
  if (child_pid > 0)
    kill(child_pid, sig);
}

int enter_run(const struct cb_ctx *ctx, const struct enter_opts *o, int *exit_code, bool *entered,
              cb_error_t *err) {
  *entered = false;
  struct target t __attribute__((cleanup(target_release))) = {.pidfd = -1};
  if (target_open(ctx, o, &t, err) < 0)
    return -1;

  unsigned have = cb_ns_differing(t.pid);
  unsigned which = o->ns ? o->ns : have;
  for (unsigned bit = 1; bit <= CB_NS_TIME; bit <<= 1)
    if ((o->ns & bit) && !(have & bit))
      return cb_error_make(err, 0, "%s has no %s namespace of its own", t.label, ns_human(bit));

  if (o->join_cgroup && t.paused)
    return cb_error_make(err, 0,
                         "%s is paused: with --cgroup the command would join its frozen cgroup "
                         "and freeze too; unpause it first, or leave out --cgroup",
                         t.label);

  cleanup_strv char **env = NULL;
  if (build_env(o, &t, &env, err) < 0)
    return -1;

  struct toolbox tb
      __attribute__((cleanup(toolbox_release))) = {.fd = -1, .exe = -1, .dirfd = -1, .ruleset = -1};
  if (o->toolbox) {
    if (toolbox_open(o->toolbox_path, &tb, err) < 0)
      return -1;
    cb_error_t e = NULL;
    if (toolbox_make_applet_dir(&tb, &e) < 0) {
      fprintf(stderr,
              "crowbar enter: warning: %s: only the applets busybox's shell runs "
              "itself are found by name\n",
              cb_error_text(e));
      cb_error_release(&e);
    }
  }

  cleanup_close int rootfd = -1;
  if (which & CB_NS_MNT) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/root", t.pid);
    rootfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
      return cb_error_sys(err, "open the root of %s", t.label);
  }
  if (o->toolbox && (tb.ruleset = toolbox_ruleset(&tb, rootfd, err)) < 0)
    return -1;

  /* The cgroup first, while /sys/fs/cgroup is still the host's. */
  if (o->join_cgroup && cb_cgroup_join_process(t.pid, getpid(), err) < 0)
    return cb_error_wrap(err, "join the cgroup of %s", t.label);
  if (which & CB_NS_PID)
    cb_leak_check_now();
  if (cb_ns_enter(t.pidfd, t.pid, which, err) < 0)
    return -1;
  *entered = which != 0;

  /* A new PID namespace is for our children only: run the command in one. */
  if (!(which & CB_NS_PID))
    return enter_exec(o, which, rootfd, o->toolbox ? &tb : NULL, &env, err);

  int errp[2];
  if (pipe2(errp, O_CLOEXEC) < 0)
    return cb_error_sys(err, "pipe");
  fflush(NULL);
  /* Signals wait until the parent's handlers are in place (the child keeps ours). */
  sigset_t block, saved;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGHUP);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGQUIT);
  sigprocmask(SIG_BLOCK, &block, &saved);
  pid_t pid = fork();
  if (pid < 0) {
    sigprocmask(SIG_SETMASK, &saved, NULL);
    close(errp[0]);
    close(errp[1]);
    return cb_error_sys(err, "fork");
  }
  if (pid == 0) {
    sigprocmask(SIG_SETMASK, &saved, NULL);
    close(errp[0]);
    cb_error_t e = NULL;
    enter_exec(o, which, rootfd, o->toolbox ? &tb : NULL, &env, &e);
    int code = e && e->exit_code ? e->exit_code : 125;
    dprintf(errp[1], "%d %s", code, cb_error_text(e));
    _exit(code);
  }
  close(errp[1]);
  child_pid = pid;
  /* The terminal's signals reach the command itself (same process group); we wait. */
  signal(SIGINT, SIG_IGN);
  signal(SIGQUIT, SIG_IGN);
  struct sigaction sa = {.sa_handler = forward_signal};
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  sigprocmask(SIG_SETMASK, &saved, NULL);

  char msg[2048];
  ssize_t n;
  do
    n = read(errp[0], msg, sizeof msg - 1);
  while (n < 0 && errno == EINTR);
  close(errp[0]);
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
  if (n > 0) {
    msg[n] = '\0';
    char *sp = strchr(msg, ' ');
    int code = atoi(msg);
    cb_error_make(err, 0, "%s", sp ? sp + 1 : msg);
    return cb_error_set_code(err, code == 125 ? 0 : code);
  }
  *exit_code = WIFEXITED(status)     ? WEXITSTATUS(status)
               : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
                                     : 255;
  return 0;
}
