/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Containers as the engine records them, and how a tool finds one.
 *
 * One record per container: $ROOT/containers/<id>/container.json, shaped like
 * `docker inspect` (Id, Created, Path, Args, State, Image, Name, Config, HostConfig,
 * GraphDriver, Mounts, LogPath, ...) plus a private "Crowbar" object (shim and PID
 * identity, nanosecond times, the image reference as given) that inspect strips.
 * container.json is written once, at create; what changes later (State, the Crowbar
 * object, and copies of the few fields a listing shows) is in state.json next to it,
 * laid over the record when it is loaded, so that `ps` reads one small file per
 * container. The JSON is the source of truth for everything but the State, which lives
 * in struct cb_state while loaded and is written back by cb_container_save(). Names are
 * reserved as symlinks $ROOT/names/<name> -> <id> (symlink(2) is atomic: one racer wins). */
#ifndef CROWBAR_CONTAINER_H
#define CROWBAR_CONTAINER_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "crowbar/context.h"
#include "crowbar/error.h"
#include "crowbar/util.h"

enum cb_status {
  CB_STATUS_CREATED,
  CB_STATUS_RUNNING,
  CB_STATUS_PAUSED,
  CB_STATUS_RESTARTING,
  CB_STATUS_REMOVING,
  CB_STATUS_EXITED,
  CB_STATUS_DEAD,
};

struct cb_state {
  enum cb_status status;
  bool oom_killed;
  pid_t pid;          /* host PID of the container's PID 1 */
  uint64_t pid_start; /* its start time (guards PID reuse) */
  pid_t shim_pid;
  uint64_t shim_start;
  char boot_id[37]; /* the boot the PIDs belong to */
  int exit_code;
  char *error;
  int64_t started_ns, finished_ns;
  int restart_count;
};

/* A record that could not be read back whole (see cb_container_parse). */
enum cb_damage {
  CB_RECORD_OK,
  CB_RECORD_STATE_DAMAGED, /* state.json; container.json is whole */
  CB_RECORD_DAMAGED,       /* container.json */
};

struct cb_container {
  char id[CB_ID_LEN + 1]; /* always its folder's name, never the record's word */
  char *name;             /* without the leading '/' */
  int64_t created_ns;
  json_object *json;
  struct cb_state state;
  enum cb_damage damaged;
};

const char *cb_status_name(enum cb_status s); /* "running", "exited", ... */
int cb_status_parse(const char *s);           /* -1 if unknown */

/* Load a container's record. A container whose folder is not there: -1, "No such
 * container: ID", errno_ ENOENT. A record that is there but damaged (missing, unreadable,
 * not JSON, not of the record's shape, another container's Id) still loads, as a Dead
 * container whose State.Error says what is wrong and whose `damaged` says which file: every
 * verb sees a container that does not run, ps lists it, rm removes it. */
int cb_container_load(const struct cb_ctx *ctx, const char *id, struct cb_container **out,
                      cb_error_t *err);
/* The parser under cb_container_load, on buffers (for tests and fuzzing): rec and st are
 * the text of container.json and state.json (NULL: no such file), id the folder's name.
 * Never fails; a damaged record gives a damaged container (its name then empty). With
 * CB_PARSE_LISTING, st alone makes the (partial) record of a listing when it is given. */
enum { CB_PARSE_LISTING = 1u << 0 };
struct cb_container *cb_container_parse(const char *id, const char *rec, size_t rlen,
                                        const char *st, size_t slen, unsigned flags);
/* Check a record (or a state, or a listing's record) against the shape the engine writes:
 * each key it knows of has its type and range; others are free. 0, or -1 with err saying
 * which key is wrong. */
int cb_container_record_check(json_object *rec, cb_error_t *err);
/* Write the record (state included) atomically. Hold the container's lock. A damaged
 * record is never written over: -1. */
int cb_container_save(const struct cb_ctx *ctx, struct cb_container *c, cb_error_t *err);
/* The text save writes into state.json (with its newline); *len its length. Malloc'd. */
char *cb_container_state_text(struct cb_container *c, size_t *len);

/* A full disk must not cost a container its exit status. Its monitor reserves, before the
 * container runs, the blocks its last write needs (containers/ID/.state.json.reserve, twice
 * the state's size and more); the exit is written into them and renamed over state.json,
 * so that it needs no new block. 0, or -1 with err ("disk full" when it is). */
int cb_container_reserve(const struct cb_ctx *ctx, struct cb_container *c, cb_error_t *err);
/* save through the reserve (and without one as save does). Hold the container's lock. */
int cb_container_save_reserved(const struct cb_ctx *ctx, struct cb_container *c, cb_error_t *err);
/* When even that failed: a note of the exit in the runtime folder ($RUNROOT/ID/exit, on
 * another file system as a rule), for the first verb that finds the container's monitor
 * gone (cb_container_refresh_locked) to record instead of "exit status unknown". why is
 * the errno of the failed write. 0, or -1 (errno). */
int cb_container_note_exit(const struct cb_ctx *ctx, const struct cb_container *c, int why);
/* Take the note of this run into c's state (exited, its code, times, and an Error saying
 * why it came late); true when there was one. */
bool cb_container_take_exit_note(const struct cb_ctx *ctx, struct cb_container *c);
void cb_container_drop_exit_note(const struct cb_ctx *ctx, const char *id);

/* Write a new container's container.json and state.json into the folder dir (which is
 * then renamed into place). */
int cb_container_write_new(struct cb_container *c, const char *dir, cb_error_t *err);
/* Copy the loaded state into the JSON record (save does this before writing). */
void cb_container_sync_json(struct cb_container *c);
void cb_container_free(struct cb_container *c);
static inline void cb_container_freep(struct cb_container **c) {
  if (*c)
    cb_container_free(*c);
}
#define cleanup_container __attribute__((cleanup(cb_container_freep)))

/* Resolve a full ID, an exact name, or a unique ID prefix (Docker's order) to an ID.
 * Errors: "No such container: X", "multiple containers match prefix X". */
int cb_container_resolve(const struct cb_ctx *ctx, const char *ref, char id[CB_ID_LEN + 1],
                         cb_error_t *err);
/* Resolve and load; the status is made truthful (cb_container_refresh). */
int cb_container_locate(const struct cb_ctx *ctx, const char *ref, struct cb_container **out,
                        cb_error_t *err);
/* The most recently created container. */
int cb_container_latest(const struct cb_ctx *ctx, struct cb_container **out, cb_error_t *err);
/* Every container, refreshed, newest first. Listing records are partial: their JSON holds
 * the fields listings use (Id, Name, Created, Path, Args, Image, Mounts, Config.Labels,
 * HostConfig.NetworkMode, Crowbar) and the state; load a container for the rest. */
int cb_container_list(const struct cb_ctx *ctx, struct cb_container ***out, size_t *n,
                      cb_error_t *err);
void cb_container_list_free(struct cb_container **v, size_t n);

/* Make the loaded state truthful: a "running" container whose shim and PID 1 are gone
 * (killed, host rebooted) becomes exited (255, with an Error), and the record is fixed on
 * disk under the lock. Returns 1 when it changed something. */
int cb_container_refresh(const struct cb_ctx *ctx, struct cb_container *c);
/* Read c's record and state again from disk (after a change under the lock). */
int cb_container_reload(const struct cb_ctx *ctx, struct cb_container *c, cb_error_t *err);
/* The same, for a caller that holds the container's lock (and loaded c under it). */
int cb_container_refresh_locked(const struct cb_ctx *ctx, struct cb_container *c);
/* True when PID 1 (the shim) is alive and is the one recorded: same boot, same start time.
 * A PID recorded without its boot ID or start time is never taken for the container's. */
bool cb_container_pid_alive(const struct cb_container *c);
bool cb_container_shim_alive(const struct cb_container *c);
/* A pidfd on PID 1 (the shim), opened only when its identity checks as above; -1 (ESRCH)
 * otherwise. Signal and enter a container's processes through these, never by PID. */
int cb_container_pidfd(const struct cb_container *c);
int cb_container_shim_pidfd(const struct cb_container *c);
/* True for running and paused. */
static inline bool cb_container_is_running(const struct cb_container *c) {
  return c->state.status == CB_STATUS_RUNNING || c->state.status == CB_STATUS_PAUSED;
}

/* Remove a container's record and all it owns (folder with upper/work/log, name, runtime
 * folder, cgroup). The caller holds the container's lock and knows it does not run. The
 * record disappears atomically (renamed aside first), so a killed removal leaves no
 * half-container in listings. */
int cb_container_destroy(const struct cb_ctx *ctx, struct cb_container *c, cb_error_t *err);
/* destroy in two steps: unlist (the record renamed aside, the name released; under the
 * lock), then purge (cgroup, runtime folder, files; may run after the lock is gone, and a
 * purge that never ran is swept later). */
int cb_container_unlist(const struct cb_ctx *ctx, struct cb_container *c, cb_error_t *err);
int cb_container_purge(const struct cb_ctx *ctx, const char *id, cb_error_t *err);

/* Remove what killed commands left behind: containers/.tmp-ID (a create that never
 * finished) and containers/.rm-ID (a removal that never finished), with their name
 * reservations. Creators and removers hold the ID's lock, so a folder whose lock is free
 * has no owner left. */
void cb_container_sweep(const struct cb_ctx *ctx);

/* Docker's ps STATUS ("Up 5 minutes", "Exited (137) 3 seconds ago", ...). */
char *cb_container_status_string(const struct cb_container *c, int64_t now_ns);
/* Paths. The caller frees. */
char *cb_container_dir(const struct cb_ctx *ctx, const char *id);
char *cb_container_rundir(const struct cb_ctx *ctx, const char *id);

/* Reserve a name for an ID: EEXIST becomes Docker's conflict message. The caller holds id's
 * lock until its record is in place (or it released the name). A reservation is stale, and
 * taken over, only when its owner's lock is free and its container does not exist. */
int cb_name_reserve(const struct cb_ctx *ctx, const char *name, const char *id, cb_error_t *err);
void cb_name_release(const struct cb_ctx *ctx, const char *name, const char *id);
/* Docker's rule: [a-zA-Z0-9][a-zA-Z0-9_.-]+ */
bool cb_name_valid(const char *name);
/* A random "adjective_noun" name not yet taken. */
char *cb_name_generate(const struct cb_ctx *ctx);

#endif
