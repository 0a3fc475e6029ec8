/*
 * fsrs/reload.h - the hot-reload engine and its readers.
 *
 * An engine watches script files and directories (inotify), debounces
 * bursts of changes, compiles changed scripts and publishes each new
 * version, on four threads of its own connected by lock-free rings:
 *
 *   watcher --events--> debouncer --requests--> compiler --chunks--> executor
 *
 * Host threads that run scripts are *readers*: each has an fsrs_reader with
 * its own VM per script.  Readers never take a lock and never wait for a
 * reload: a reader enters an epoch section (fsrs_reader_enter), sees each
 * script's current version as one whole immutable chunk, and the engine
 * frees a replaced version only after every reader has left the sections
 * that could see it (Concurrency Kit epoch reclamation).
 *
 * A compile error never replaces working code: the previous version keeps
 * serving and the diagnostic is reported (stats, callback, waiters).
 *
 * What survives a reload: everything the host owns, and nothing a script
 * owns.  When a reader first runs a new version, that version's top-level
 * code runs again in the reader's VM for that script, so script globals
 * start from their initial values.  Values the host got from the old
 * version stay valid until the host releases them (fsrs_vm_release).
 *
 * Threads: see each function.  docs/threading.md has the whole picture.
 */
#ifndef FSRS_RELOAD_H
#define FSRS_RELOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chunk.h"
#include "error.h"
#include "value.h"
#include "vm.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fsrs_engine fsrs_engine;
typedef struct fsrs_reader fsrs_reader;

/* One reload attempt, as passed to callbacks and waiters. */
typedef struct fsrs_reload_info {
    const char *path;        /* the script's path as watched */
    uint64_t version;        /* version published (ok) or still serving (failed) */
    bool ok;                 /* compiled and published */
    const char *error;       /* "FILE:LINE:COL: message" when !ok, else NULL */
    size_t source_size;      /* bytes compiled */
    /* CLOCK_MONOTONIC microseconds: */
    uint64_t event_us;       /* first file event of this burst seen */
    uint64_t debounce_end_us;/* debouncer released the request */
    uint64_t compile_start_us;
    uint64_t compile_end_us;
    uint64_t publish_us;     /* version visible to readers (0 if failed, or
                                pending until fsrs_engine_sync) */
    bool compiled_ahead;     /* compiled during the debounce window
                                (compile_ahead): compile_*_us then precede
                                debounce_end_us */
} fsrs_reload_info;

/* Called on the executor thread after each reload attempt (never on a
 * reader thread).  info is valid during the call only. */
typedef void (*fsrs_reload_fn)(const fsrs_reload_info *info, void *userdata);

/*
 * A pluggable compiler.  compile turns source into an artifact (for the
 * default compiler, an fsrs_chunk *); on failure it returns non-zero and
 * writes "FILE:LINE:COL: message" into err (errcap bytes).  free releases
 * an artifact.  Both run on the compiler thread (free also on the executor
 * and, at shutdown, the thread calling fsrs_engine_free).
 */
typedef struct fsrs_compiler {
    int (*compile)(const char *path, const char *source, size_t len, void **artifact_out,
                   char *err, size_t errcap, void *userdata);
    void (*free)(void *artifact, void *userdata);
    void *userdata;
} fsrs_compiler;

typedef enum fsrs_publish_mode {
    FSRS_PUBLISH_IMMEDIATE, /* the executor swaps a version in as soon as it is compiled */
    FSRS_PUBLISH_AT_SYNC    /* new versions wait until the host calls fsrs_engine_sync */
} fsrs_publish_mode;

typedef struct fsrs_engine_config {
    unsigned debounce_ms;           /* quiet time after the last finished save (close
                                       after write, rename into place) before compiling,
                                       so that a burst of saves compiles once; default 10,
                                       0 compiles each save at once.  A change with no
                                       finished save waits max(debounce_ms, 1 s). */
    bool compile_ahead;             /* with a window: compile a finished save while its
                                       window runs, and publish that result when the
                                       window ends if the file still holds what was
                                       compiled (else compile again), so the window
                                       and the compile overlap.  The compiler then
                                       also runs for saves that a later one replaces,
                                       and its result for some bytes is used for the
                                       same bytes read later: a hook must depend on
                                       the source alone.  Default true. */
    fsrs_publish_mode publish;      /* default FSRS_PUBLISH_IMMEDIATE */
    const char *const *extensions;  /* NULL-terminated; default {".fsrs", ".fs", ".fsx"} */
    bool recursive;                 /* watch subdirectories of watched directories,
                                       including ones created later; default false */
    const char *const *include;     /* NULL-terminated fnmatch(3) globs; a script's path
                                       relative to the watched directory must match one
                                       (e.g. "api-*.fsrs"); default NULL: all */
    const char *const *exclude;     /* ... and must match none; default NULL */
    unsigned max_scripts;           /* default 1024 */
    unsigned ring_size;             /* entries per ring, a power of two; default 256 */
    fsrs_compiler compiler;         /* default (compile NULL): the Mini-F# compiler */
    fsrs_compile_options compile_options; /* for the default compiler; host_names are
                                             copied at fsrs_engine_new */
    fsrs_reload_fn on_reload;       /* default NULL */
    void *userdata;                 /* passed to on_reload */
} fsrs_engine_config;

void fsrs_engine_config_init(fsrs_engine_config *cfg);

/* Reload counters (fsrs_engine_stats). */
typedef struct fsrs_engine_stats {
    uint64_t reloads_ok;
    uint64_t reloads_failed;
    uint64_t skipped_unchanged;   /* content hash equal to the last compile */
    uint64_t events;              /* file events seen */
    uint64_t events_coalesced;    /* events merged into a pending request */
    uint64_t compiled_ahead;      /* reloads compiled during their window */
    uint64_t ahead_discarded;     /* compiles during a window that a later save
                                     made useless */
    uint64_t overflows;           /* inotify queue overflows (each triggers a rescan) */
    uint64_t versions_retired;    /* replaced versions handed to epoch reclamation */
    uint64_t versions_freed;      /* ... and freed once no reader could see them */
} fsrs_engine_stats;

/* Create an engine (threads not started).  Any thread.  FSRS_ENOMEM,
 * FSRS_EINVAL (bad config), FSRS_EIO (inotify or eventfd unavailable). */
int fsrs_engine_new(const fsrs_engine_config *cfg, fsrs_engine **out);

/*
 * Watch a script file, or a directory's script files (those with one of the
 * configured extensions).  The scripts found are compiled and published
 * (asynchronously once started).  FSRS_ENOTFOUND if path does not exist,
 * FSRS_EINVAL for a file with another extension, FSRS_EIO if inotify
 * refuses (e.g. the watch limit).  Any host thread; takes the engine's
 * control lock.
 */
int fsrs_engine_watch(fsrs_engine *e, const char *path);

/* Start the four threads.  FSRS_EIO if a thread cannot be created. */
int fsrs_engine_start(fsrs_engine *e);
/* Stop and join the threads (within timeout_ms; FSRS_ELIMIT if one did
 * not stop in time).  Published versions stay readable.  May block. */
int fsrs_engine_stop(fsrs_engine *e, unsigned timeout_ms);
bool fsrs_engine_is_watching(const fsrs_engine *e);

/* Queue a reload of path as if it had changed.  Any host thread.
 * FSRS_ENOTFOUND if it is not a watched script. */
int fsrs_engine_reload(fsrs_engine *e, const char *path);

/* Number of reload attempts finished so far (ok or failed).  Any thread. */
uint64_t fsrs_engine_reload_count(const fsrs_engine *e);

/*
 * Block until more than `after` reload attempts have finished, or
 * timeout_ms passes.  Take `after` from fsrs_engine_reload_count() before
 * making the change you wait for, so a reload that finishes first is not
 * missed.  Fills *info (may be NULL) with the latest attempt; its strings
 * stay valid until the next wait on this thread.  FSRS_ELIMIT on timeout.
 * Any host thread outside a reader section; blocks.
 */
int fsrs_engine_wait_reload(fsrs_engine *e, uint64_t after, unsigned timeout_ms,
                            fsrs_reload_info *info);

/* Publish every version waiting for a safe point (FSRS_PUBLISH_AT_SYNC).
 * Call it from one host thread, e.g. once per simulation tick, outside any
 * reader section.  Returns how many versions became visible.  Lock-free. */
int fsrs_engine_sync(fsrs_engine *e);

void fsrs_engine_stats_get(const fsrs_engine *e, fsrs_engine_stats *out);

/* Current published version number of a script (0 if none).  Any thread. */
uint64_t fsrs_engine_version(const fsrs_engine *e, const char *path);

/*
 * Stop the threads (with a 5 s deadline), free every version and the
 * engine.  Every reader must have been freed before.  NULL ok.
 */
void fsrs_engine_free(fsrs_engine *e);

/*
 * Scripts are named by their path as watched ("dir/name.fsrs" for a
 * script found in a watched directory "dir").  Every function of this
 * header that takes a script path (fsrs_engine_reload, fsrs_engine_version,
 * the readers' functions) also accepts the bare file name ("name.fsrs")
 * when exactly one watched script has it.
 */

/* ------------------------------------------------------------- readers --- */

/* Called for each VM a reader creates, before any chunk is loaded: register
 * host functions here. */
typedef int (*fsrs_vm_setup_fn)(fsrs_vm *vm, void *userdata);

/*
 * Create a reader for the calling thread.  vm_cfg (may be NULL) configures
 * the VMs it creates, setup (may be NULL) prepares each.  The reader belongs
 * to the thread that uses it; create one per thread.
 */
int fsrs_reader_new(fsrs_engine *e, const fsrs_config *vm_cfg, fsrs_vm_setup_fn setup,
                    void *setup_userdata, fsrs_reader **out);
/* Free the reader and its VMs.  Not inside a section.  NULL ok. */
void fsrs_reader_free(fsrs_reader *r);

/* Enter / leave a read section.  Versions seen inside stay alive until
 * leave.  Wait-free (one atomic exchange).  Sections may nest. */
void fsrs_reader_enter(fsrs_reader *r);
void fsrs_reader_leave(fsrs_reader *r);

/*
 * Deferred leave (off by default).  When on, the outermost
 * fsrs_reader_leave keeps the epoch section open unless the engine is
 * waiting to free a replaced version, so enter and leave cost a few plain
 * loads and stores instead of an atomic exchange.  Versions still switch
 * at once (every call reads the current version); only freeing the old
 * ones waits for the reader's next leave.  The price: a thread that stops
 * calling holds its section, and with it every version replaced since,
 * until it calls fsrs_reader_quiesce.  Call that before the thread blocks
 * or idles (before epoll_wait, before sleeping to the next tick).
 * Turning it off ends a held section.  Reader thread only; wait-free.
 */
void fsrs_reader_defer_leave(fsrs_reader *r, bool on);
/* End a section held open by deferred leave (no-op otherwise).  Reader
 * thread only, outside any section; wait-free (one atomic store). */
void fsrs_reader_quiesce(fsrs_reader *r);

/*
 * Call top-level function `fn` of script `path` with the script's current
 * version, loading that version into this reader's VM first if it is new
 * (which runs its top-level code).  Outside a section, the call makes its
 * own.  Same results as fsrs_vm_call, plus FSRS_ENOTFOUND when the script
 * has no version yet.  The result is kept alive until fsrs_reader_release.
 * Never blocks and never waits for a reload.
 */
int fsrs_reader_call(fsrs_reader *r, const char *path, const char *fn, int argc,
                     const fsrs_value *argv, fsrs_value *out);

/*
 * Bring the reader's VM for `path` to the script's current version: if it
 * is newer than the one loaded, load it (running its top-level code).
 * FSRS_OK, FSRS_ENOTFOUND (no version yet), or the load's error.  Outside
 * a section it makes its own.  Never blocks.
 */
int fsrs_reader_load(fsrs_reader *r, const char *path);

/*
 * The artifact of a script's current version, for engines with a custom
 * compiler (with the default compiler it is the fsrs_chunk).  Call it inside
 * a section: the pointer stays valid until fsrs_reader_leave.  *version_out
 * (may be NULL) receives its version number.  NULL if none yet.
 */
const void *fsrs_reader_artifact(fsrs_reader *r, const char *path, uint64_t *version_out);

/* Version this reader last ran for the script (0 if none). */
uint64_t fsrs_reader_version(const fsrs_reader *r, const char *path);

/* The reader's VM for a script (created on demand; NULL on failure). */
fsrs_vm *fsrs_reader_vm(fsrs_reader *r, const char *path);

/* Release every value the reader's calls returned. */
void fsrs_reader_release(fsrs_reader *r);

#ifdef __cplusplus
}
#endif
#endif
