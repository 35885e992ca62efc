/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The toolbox: a static binary from the host (busybox by default), opened before entering
 * and executed from its descriptor inside (through a private read-only mount of it), so
 * nothing is copied into the container and nothing in the container can change it.
 *
 * For busybox, its applets are also put on PATH: busybox's shell runs only some applets
 * by itself (the NOFORK/NOEXEC ones in Debian's build: ls, ps, find, ...), and looks the
 * others (cat, grep, vi, ...) up in PATH like any shell. So before entering, we make a
 * tmpfs that is mounted nowhere (fsopen + fsmount: a detached mount, in no mount
 * namespace), copy the binary into it with one hard link per applet, make it read-only,
 * and keep it open: inside, PATH is /proc/self/fd/N alone, the magic link to it. It
 * vanishes with the last process that holds it; the container's filesystem never sees it.
 * That link is resolved in a root the container's PID 1 chooses: landlock.c makes sure
 * that whatever it leads to, nothing but these files runs. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crowbar/cleanup.h"
#include "crowbar/hostfile.h"
#include "crowbar/lookpath.h"
#include "crowbar/util.h"
#include "enter.h"

extern char **environ;

void toolbox_release(struct toolbox *tb) {
  int *fds[] = {&tb->fd, &tb->exe, &tb->dirfd, &tb->ruleset};
  for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++) {
    if (*fds[i] >= 0)
      close(*fds[i]);
    *fds[i] = -1;
  }
  free(tb->path);
  tb->path = NULL;
}

static int read_at(int fd, void *buf, size_t n, off_t off) {
  ssize_t r = pread(fd, buf, n, off);
  return r == (ssize_t)n ? 0 : -1;
}

/* The program headers of a 32- or 64-bit ELF file in our byte order, as 64-bit ones. */
static int elf_interp(int fd, const char *name, char *interp, size_t isz, cb_error_t *err) {
  unsigned char ident[EI_NIDENT];
  interp[0] = '\0';
  if (read_at(fd, ident, sizeof ident, 0) < 0 || memcmp(ident, ELFMAG, SELFMAG) != 0) {
    if (read_at(fd, ident, 2, 0) == 0 && ident[0] == '#' && ident[1] == '!')
      return cb_error_make(err, 0,
                           "toolbox %s is a script: its interpreter would be looked up in the "
                           "container; give a static executable",
                           name);
    return cb_error_make(err, 0, "toolbox %s is not an ELF executable", name);
  }
  bool is64 = ident[EI_CLASS] == ELFCLASS64;
  if ((!is64 && ident[EI_CLASS] != ELFCLASS32) ||
      ident[EI_DATA] != (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? ELFDATA2LSB : ELFDATA2MSB))
    return cb_error_make(err, 0, "toolbox %s is an ELF file for another kind of machine", name);
  uint64_t phoff;
  unsigned phnum, phentsize, type;
  if (is64) {
    Elf64_Ehdr eh;
    if (read_at(fd, &eh, sizeof eh, 0) < 0)
      return cb_error_make(err, 0, "toolbox %s: truncated ELF header", name);
    phoff = eh.e_phoff, phnum = eh.e_phnum, phentsize = eh.e_phentsize, type = eh.e_type;
    if (phnum && phentsize < sizeof(Elf64_Phdr))
      return cb_error_make(err, 0, "toolbox %s: bad ELF program headers", name);
  } else {
    Elf32_Ehdr eh;
    if (read_at(fd, &eh, sizeof eh, 0) < 0)
      return cb_error_make(err, 0, "toolbox %s: truncated ELF header", name);
    phoff = eh.e_phoff, phnum = eh.e_phnum, phentsize = eh.e_phentsize, type = eh.e_type;
    if (phnum && phentsize < sizeof(Elf32_Phdr))
      return cb_error_make(err, 0, "toolbox %s: bad ELF program headers", name);
  }
  if (type != ET_EXEC && type != ET_DYN)
    return cb_error_make(err, 0, "toolbox %s is not an ELF executable", name);
  if (!phnum)
    return cb_error_make(err, 0, "toolbox %s: no ELF program headers", name);
  for (unsigned i = 0; i < phnum; i++) {
    uint64_t off = phoff + (uint64_t)i * phentsize;
    uint32_t ptype;
    uint64_t ioff, isize;
    if (is64) {
      Elf64_Phdr ph;
      if (read_at(fd, &ph, sizeof ph, (off_t)off) < 0)
        return cb_error_make(err, 0, "toolbox %s: truncated ELF program headers", name);
      ptype = ph.p_type, ioff = ph.p_offset, isize = ph.p_filesz;
    } else {
      Elf32_Phdr ph;
      if (read_at(fd, &ph, sizeof ph, (off_t)off) < 0)
        return cb_error_make(err, 0, "toolbox %s: truncated ELF program headers", name);
      ptype = ph.p_type, ioff = ph.p_offset, isize = ph.p_filesz;
    }
    if (ptype != PT_INTERP)
      continue;
    size_t n = isize < isz ? (size_t)isize : isz - 1;
    if (read_at(fd, interp, n, (off_t)ioff) < 0)
      n = 0;
    interp[n] = '\0';
    interp[strcspn(interp, "\n")] = '\0';
    if (!interp[0])
      snprintf(interp, isz, "?");
    return 0;
  }
  return 0;
}

int toolbox_check_static(int fd, const char *name, cb_error_t *err) {
  char interp[256];
  if (elf_interp(fd, name, interp, sizeof interp, err) < 0)
    return -1;
  if (interp[0])
    return cb_error_make(err, 0,
                         "toolbox %s is dynamically linked: its loader %s would be looked up in "
                         "the container; give a static binary (Debian: busybox-static)",
                         name, interp);
  return 0;
}

int toolbox_open(const char *path, struct toolbox *tb, cb_error_t *err) {
  tb->fd = tb->exe = tb->dirfd = tb->ruleset = -1;
  tb->path = NULL;
  if (!path || !*path)
    path = getenv("CROWBAR_TOOLBOX");
  if (!path || !*path) {
    cb_error_t lerr = NULL;
    tb->path = cb_look_path("busybox", environ, &lerr);
    if (!tb->path) {
      cb_error_release(&lerr);
      return cb_error_make(err, 0,
                           "no toolbox: busybox is not installed on the host (Debian: "
                           "apt-get install busybox-static); or give --toolbox=PATH");
    }
  } else {
    tb->path = xstrdup(path);
  }
  tb->fd = open(tb->path, O_RDONLY | O_CLOEXEC);
  if (tb->fd < 0)
    return cb_error_sys(err, "open the toolbox %s", tb->path);
  struct stat st;
  if (fstat(tb->fd, &st) < 0)
    return cb_error_sys(err, "stat the toolbox %s", tb->path);
  if (!S_ISREG(st.st_mode))
    return cb_error_make(err, 0, "toolbox %s is not a regular file", tb->path);
  if (!(st.st_mode & 0111))
    return cb_error_make(err, 0, "toolbox %s is not executable", tb->path);
  if (toolbox_check_static(tb->fd, tb->path, err) < 0)
    return -1;
  /* What runs is this very file, through a read-only mount of it: the toolbox's
   * /proc/PID/exe is no writable host file. */
  tb->exe = cb_hostfile_open_ro(tb->fd, "", err);
  return tb->exe < 0 ? cb_error_wrap(err, "toolbox %s", tb->path) : 0;
}

/* `busybox --list`, run on the host from the descriptor (nothing of the container is
 * involved yet). */
static int busybox_list(int fd, char **out, cb_error_t *err) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0)
    return cb_error_sys(err, "pipe");
  pid_t pid = fork();
  if (pid < 0) {
    close(p[0]);
    close(p[1]);
    return cb_error_sys(err, "fork");
  }
  if (pid == 0) {
    dup2(p[1], 1);
    int nul = open("/dev/null", O_RDWR);
    if (nul >= 0) {
      dup2(nul, 0);
      dup2(nul, 2);
    }
    char *argv[] = {"busybox", "--list", NULL};
    char *envp[] = {NULL};
    execveat(fd, "", argv, envp, AT_EMPTY_PATH);
    _exit(127);
  }
  close(p[1]);
  size_t len = 0, cap = 8192;
  char *buf = xmalloc(cap);
  for (;;) {
    if (len + 1 >= cap)
      buf = xrealloc(buf, cap *= 2);
    ssize_t n = read(p[0], buf + len, cap - len - 1);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    len += (size_t)n;
  }
  buf[len] = '\0';
  close(p[0]);
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !len) {
    free(buf);
    return cb_error_make(err, 0, "`%s --list` failed", "busybox");
  }
  *out = buf;
  return 0;
}

int toolbox_make_applet_dir(struct toolbox *tb, cb_error_t *err) {
  const char *base = strrchr(tb->path, '/');
  base = base ? base + 1 : tb->path;
  if (strncmp(base, "busybox", 7) != 0)
    return 0; /* Not busybox: nothing to list. */
  cleanup_free char *list = NULL;
  if (busybox_list(tb->exe, &list, err) < 0)
    return -1;
  cleanup_close int fsfd = fsopen("tmpfs", FSOPEN_CLOEXEC);
  if (fsfd < 0)
    return cb_error_sys(err, "fsopen tmpfs");
  if (fsconfig(fsfd, FSCONFIG_SET_STRING, "mode", "0755", 0) < 0 ||
      fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
    return cb_error_sys(err, "create a tmpfs");
  cleanup_close int mfd = fsmount(fsfd, FSMOUNT_CLOEXEC, MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID);
  if (mfd < 0)
    return cb_error_sys(err, "fsmount a tmpfs");
  {
    cleanup_close int out = openat(mfd, "busybox", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
    if (out < 0)
      return cb_error_sys(err, "create busybox in the applet folder");
    struct stat st;
    if (fstat(tb->fd, &st) < 0)
      return cb_error_sys(err, "stat %s", tb->path);
    off_t off = 0;
    while (off < st.st_size) {
      ssize_t n = sendfile(out, tb->fd, &off, (size_t)(st.st_size - off));
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return cb_error_sys(err, "copy %s into the applet folder", tb->path);
    }
    if (fchmod(out, 0755) < 0)
      return cb_error_sys(err, "chmod the applet folder's busybox");
  }
  char *save = NULL;
  for (char *name = strtok_r(list, "\n", &save); name; name = strtok_r(NULL, "\n", &save)) {
    if (!*name || strchr(name, '/') || !strcmp(name, "busybox") || name[0] == '.')
      continue;
    if (linkat(mfd, "busybox", mfd, name, 0) < 0 && errno != EEXIST)
      return cb_error_sys(err, "link applet %s", name);
  }
  struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};
  if (mount_setattr(mfd, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0)
    return cb_error_sys(err, "make the applet folder read-only");
  tb->dirfd = steal_fd(&mfd);
  return 0;
}
