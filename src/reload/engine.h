/*
 * reload/engine.h - the hot-reload engine's shared state (private).
 *
 * The engine is a pipeline of four threads:
 *
 *   watcher (watch_linux.c) --FileEvent--> debouncer (debounce.c)
 *     --Script* request--> compiler (compile_stage.c)
 *     --Result--> executor (publish.c) --> Script.current (readers)
 *
 * Each arrow is an SPSC ring (util/ring.h) with the consumer's doorbell
 * (util/doorbell.h).  Who writes what:
 *   - Script.path/name are written once, before the script is published in
 *     the registry (release on nscripts); readers and stages only read them.
 *   - Script.queued: set by the debouncer when it sends a request, cleared by
 *     the compiler before it reads the file (so a change after the clear
 *     always causes a new request).
 *   - Script.last_hash, compiled, ahead: compiler thread only.
 *   - Script.ahead_queued: like queued, for compile-ahead requests.
 *   - Script.current: written by the executor (immediate mode) or by the
 *     thread calling fsrs_engine_sync (sync mode), read by readers.
 *   - Script.pending: executor and sync thread, by atomic exchange only.
 *   - Script.next_version: executor only.
 *   - Script.change_seq/writing/change_us: written by the watcher, read by
 *     the compiler to avoid compiling a file while a writer is busy.
 */
#ifndef FSRS_RELOAD_ENGINE_H
#define FSRS_RELOAD_ENGINE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <ck_epoch.h>

#include <fsrs/reload.h>

#include "util/doorbell.h"
#include "util/ring.h"

#define FSRS_PATH_MAX 4096

/* A change without a finished save (a writer that keeps the file open)
 * counts as finished after this long without events.  Long, because a
 * save can stall between its truncation and its writes (disk writeback,
 * a starved editor) and the file must not be taken while it is half
 * written; writers that never close a script are rare. */
#define CHANGED_QUIET_US 1000000u

/* A compile done during a debounce window (compile_ahead), kept until
 * the window's request shows whether the file still holds src. */
typedef struct Ahead {
    char *src;                    /* what was compiled (NULL: nothing kept) */
    size_t len;
    uint64_t hash;                /* of src */
    uint64_t seq;                 /* Script.change_seq before src was read */
    int rc;                       /* the compiler's return */
    void *artifact;
    uint64_t start_us, end_us;
    char error[1024];
} Ahead;

/* A published version: immutable once visible. */
typedef struct Version {
    ck_epoch_entry_t epoch_entry; /* first: CK_EPOCH_CONTAINER */
    struct fsrs_engine *engine;
    void *artifact;               /* fsrs_chunk * with the default compiler */
    uint64_t number;
} Version;

typedef struct Script {
    char *path;                   /* as watched (absolute or as given) */
    _Atomic(Version *) current;
    _Atomic(Version *) pending;   /* sync mode: waiting for fsrs_engine_sync */
    atomic_bool queued;
    atomic_bool ahead_queued;     /* a compile-ahead request is in flight */
    atomic_uint_fast64_t published_number;
    /* watcher thread writes, compiler reads: a writer may be busy */
    atomic_uint_fast64_t change_seq; /* events seen for this path */
    atomic_bool writing;             /* the last one was a change, not a finished save */
    atomic_uint_fast64_t change_us;  /* when it was seen */
    /* compiler thread */
    uint64_t last_hash;
    bool compiled;
    Ahead *ahead;                 /* NULL until the first compile ahead */
    /* executor thread */
    uint64_t next_version;
    /* debouncer thread */
    uint64_t first_event_us;      /* of the current burst, 0 if none */
    uint64_t deadline_us;         /* when to send, 0 if nothing pending */
    bool want;                    /* changed since the last request */
    bool force;                   /* a manual reload: compile even if unchanged */
    bool ahead_wanted;            /* a finished save not yet compiled ahead */
} Script;

typedef enum FileEventKind {
    EV_CHANGED,   /* content may have changed; writer still busy */
    EV_SAVED,     /* writer closed the file or it was renamed into place */
    EV_DELETED,
    EV_RESCAN,    /* inotify overflowed: every script may have changed */
    EV_MANUAL,    /* fsrs_engine_reload */
} FileEventKind;

typedef struct FileEvent {
    FileEventKind kind;
    uint64_t t_us;
    struct FileEvent *next;       /* watcher's overflow list */
    char path[];                  /* full path */
} FileEvent;

typedef struct Request {
    Script *script;
    bool force;                   /* skip the unchanged-content check */
    bool ahead;                   /* compile now, publish nothing (compile_ahead) */
    uint64_t retry_at_us;         /* when to retry (compiler's retry list) */
    uint64_t event_us, debounce_end_us;
    struct Request *next;
} Request;

typedef struct Result {
    Script *script;
    bool ok;
    void *artifact;
    char error[1024];
    size_t source_size;
    uint64_t event_us, debounce_end_us, compile_start_us, compile_end_us;
    bool compiled_ahead;
    struct Result *next;
} Result;

typedef struct Watch {
    int wd;                       /* -1 while the directory does not exist */
    char *dir;                    /* directory watched */
    char *only;                   /* watch one file of it (basename), or NULL */
    char *root;                   /* the directory fsrs_engine_watch was given:
                                     globs match paths relative to it */
    bool recursive;               /* subdirectories are watched too */
    int parent_wd;                /* watch on dir's parent, to see dir come back
                                     after a delete (-1: none) */
    char *name;                   /* basename of dir in its parent */
} Watch;

typedef struct Stage {
    pthread_t thread;
    bool running;
    Doorbell bell;
} Stage;

struct fsrs_engine {
    fsrs_engine_config cfg;
    char **extensions;
    char **include, **exclude;    /* globs, NULL if none */
    char **host_names;
    unsigned ring_size;

    /* script registry: slots written once, count published with release */
    Script *scripts;
    atomic_uint nscripts;

    /* control: watches, manual requests; never taken by readers */
    pthread_mutex_t lock;
    Watch *watches;
    unsigned nwatches, capwatches;
    FileEvent *manual;            /* manual reload events for the debouncer */
    /* start/stop: held while the threads are joined, so never taken by a
     * stage thread (the watcher and debouncer take the control lock) */
    pthread_mutex_t run_lock;
    atomic_bool stopping;
    atomic_bool started;          /* written under run_lock */

    int inotify_fd;
    atomic_bool watcher_busy;     /* the watcher holds events it read but has not
                                     processed (see compile_stage.c) */
    Stage watcher, debouncer, compiler, executor;
    Ring events, requests, results;
    atomic_bool results_full;     /* the compiler waits for room in results */

    /* epoch reclamation */
    ck_epoch_t epoch;
    ck_epoch_record_t *exec_rec;  /* executor's record (publish + poll) */
    ck_epoch_record_t *sync_rec;  /* the record fsrs_engine_sync retires with */
    pthread_mutex_t records_lock; /* reader records: create/free only */
    ck_epoch_record_t **records;
    unsigned nrecords, caprecords;

    /* statistics */
    atomic_uint_fast64_t st_ahead_used, st_ahead_discarded;
    atomic_uint_fast64_t st_ok, st_failed, st_skipped, st_events, st_coalesced, st_overflows,
        st_retired, st_freed;

    /* waiters of fsrs_engine_wait_reload */
    pthread_mutex_t wait_lock;
    pthread_cond_t wait_cond;
    uint64_t reload_seq;
    fsrs_reload_info last_info;
    char last_path[FSRS_PATH_MAX];
    char last_error[1024];
};

/* engine.c */
Script *engine_find_script(fsrs_engine *e, const char *path);
Script *engine_add_script(fsrs_engine *e, const char *path);
bool engine_has_extension(const fsrs_engine *e, const char *path);
void version_retire(fsrs_engine *e, ck_epoch_record_t *rec, Version *v);

/* stage thread bodies */
void *watcher_main(void *engine);
void *debouncer_main(void *engine);
void *compiler_main(void *engine);
/* compile_stage.c: free what a script compiled ahead (at engine free) */
void ahead_free(fsrs_engine *e, Script *s);
void *executor_main(void *engine);

/* watch_linux.c (control lock held):
 * watch_dir adds a watch on dir (and its subdirectories when recursive) and
 * queues an event per script file found; watch_scan queues them again. */
int watch_dir(fsrs_engine *e, const char *dir, const char *only, const char *root,
              bool recursive, bool with_parent);
void watch_scan(fsrs_engine *e, const Watch *w, FileEventKind kind);
bool watch_accepts(const fsrs_engine *e, const Watch *w, const char *path);
FileEvent *event_new(FileEventKind kind, const char *path, uint64_t t_us);

#endif
