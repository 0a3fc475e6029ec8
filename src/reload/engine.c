/*
 * reload/engine.c - the engine's life cycle and control API: creating it,
 * watching paths, starting and stopping the four stage threads, manual
 * reloads, waiting for reloads, safe-point publishing, stats, and the
 * script registry shared by the stages.
 *
 * Threads: the public functions here run on host threads.  Watching and
 * manual reloads take the control lock (never held by readers or across a
 * stage's work; the watcher and debouncer take it too), start and stop the
 * run lock (held while joining, so no stage takes it).  The registry is
 * append-only: the debouncer adds scripts (engine_add_script), everyone
 * else reads them after an acquire load of nscripts.
 */
#define _GNU_SOURCE
#include "reload/engine.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lang/chunk.h"
#include "util/clock.h"
#include "util/error.h"

#ifdef FSRS_TSAN
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#endif

static const char *const default_extensions[] = {".fsrs", ".fs", ".fsx", NULL};

/* ------------------------------------------------- the default compiler --- */

typedef struct DefaultCompiler {
    fsrs_compile_options opts;
} DefaultCompiler;

static int default_compile(const char *path, const char *source, size_t len, void **out,
                           char *err, size_t errcap, void *userdata)
{
    fsrs_engine *e = userdata;
    fsrs_chunk *chunk;
    if (fsrs_compile(&e->cfg.compile_options, path, source, len, &chunk) != FSRS_OK) {
        const fsrs_error *er = fsrs_error_last();
        if (er && er->line)
            snprintf(err, errcap, "%s:%d:%d: %s", path, er->line, er->col, er->message);
        else
            snprintf(err, errcap, "%s: %s", path, er ? er->message : "compile failed");
        return -1;
    }
    *out = chunk;
    return 0;
}

static void default_free(void *artifact, void *userdata)
{
    (void)userdata;
    fsrs_chunk_free(artifact);
}

/* ----------------------------------------------------------- versions --- */

static void version_free_cb(ck_epoch_entry_t *entry)
{
    Version *v = (Version *)entry; /* epoch_entry is the first member */
    fsrs_engine *e = v->engine;
#ifdef FSRS_TSAN
    /* readers' sections end with a release on &e->epoch: the free happens
     * after every access they made (ck's fences are invisible to TSan) */
    __tsan_acquire(&e->epoch);
#endif
    e->cfg.compiler.free(v->artifact, e->cfg.compiler.userdata);
    free(v);
    atomic_fetch_add_explicit(&e->st_freed, 1, memory_order_relaxed);
}

/* Hand a version nobody can reach any more through Script.current/pending
 * to epoch reclamation on record rec (owned by the calling thread). */
void version_retire(fsrs_engine *e, ck_epoch_record_t *rec, Version *v)
{
    atomic_fetch_add_explicit(&e->st_retired, 1, memory_order_relaxed);
    ck_epoch_call(rec, &v->epoch_entry, version_free_cb);
}

/* ----------------------------------------------------------- registry --- */

bool engine_has_extension(const fsrs_engine *e, const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    size_t n = strlen(base);
    for (char **x = e->extensions; *x; x++) {
        size_t m = strlen(*x);
        if (n > m && strcmp(base + n - m, *x) == 0)
            return true;
    }
    return false;
}

/* The script among the first n whose path is exactly `path`, or NULL. */
static Script *find_exact(fsrs_engine *e, const char *path, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (strcmp(e->scripts[i].path, path) == 0)
            return &e->scripts[i];
    return NULL;
}

/* Exact path, else the only script whose file name is `path`. */
Script *engine_find_script(fsrs_engine *e, const char *path)
{
    /* acquire: pairs with the release in engine_add_script */
    unsigned n = atomic_load_explicit(&e->nscripts, memory_order_acquire);
    Script *exact = find_exact(e, path, n);
    if (exact || strchr(path, '/'))
        return exact;
    Script *found = NULL;
    for (unsigned i = 0; i < n; i++) {
        const char *slash = strrchr(e->scripts[i].path, '/');
        if (slash && strcmp(slash + 1, path) == 0) {
            if (found)
                return NULL; /* ambiguous */
            found = &e->scripts[i];
        }
    }
    return found;
}

/* Debouncer thread only (the registry's single writer). */
Script *engine_add_script(fsrs_engine *e, const char *path)
{
    unsigned n = atomic_load_explicit(&e->nscripts, memory_order_relaxed);
    Script *known = find_exact(e, path, n);
    if (known)
        return known;
    if (n >= e->cfg.max_scripts)
        return NULL;
    Script *s = &e->scripts[n];
    s->path = strdup(path);
    if (!s->path)
        return NULL;
    atomic_init(&s->current, NULL);
    atomic_init(&s->pending, NULL);
    atomic_init(&s->queued, false);
    atomic_init(&s->published_number, 0);
    atomic_init(&s->change_seq, 0);
    atomic_init(&s->writing, false);
    atomic_init(&s->change_us, 0);
    /* release: the slot is complete before readers can see it */
    atomic_store_explicit(&e->nscripts, n + 1, memory_order_release);
    return s;
}

/* ------------------------------------------------------------- create --- */

void fsrs_engine_config_init(fsrs_engine_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->debounce_ms = 10;
    cfg->compile_ahead = true;
    cfg->publish = FSRS_PUBLISH_IMMEDIATE;
    cfg->max_scripts = 1024;
    cfg->ring_size = 256;
    fsrs_compile_options_init(&cfg->compile_options);
}

static char **copy_strings(const char *const *src)
{
    size_t n = 0;
    while (src && src[n])
        n++;
    char **out = calloc(n + 1, sizeof(char *));
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (!(out[i] = strdup(src[i]))) {
            for (size_t j = 0; j < i; j++)
                free(out[j]);
            free(out);
            return NULL;
        }
    return out;
}

static void free_strings(char **v)
{
    for (char **p = v; p && *p; p++)
        free(*p);
    free(v);
}

static ck_epoch_record_t *new_record(fsrs_engine *e)
{
    /* ck_epoch_record_t is cache-line aligned; a registered record is never
     * freed before the engine (ck keeps it on its list) */
    ck_epoch_record_t *r = aligned_alloc(64, (sizeof *r + 63) & ~(size_t)63);
    if (!r)
        return NULL;
    memset(r, 0, sizeof *r);
    pthread_mutex_lock(&e->records_lock);
    if (e->nrecords == e->caprecords) {
        unsigned cap = e->caprecords ? e->caprecords * 2 : 8;
        ck_epoch_record_t **nr = realloc(e->records, cap * sizeof *nr);
        if (!nr) {
            pthread_mutex_unlock(&e->records_lock);
            free(r);
            return NULL;
        }
        e->records = nr;
        e->caprecords = cap;
    }
    e->records[e->nrecords++] = r;
    ck_epoch_register(&e->epoch, r, NULL);
    pthread_mutex_unlock(&e->records_lock);
    return r;
}

/* A record for a new reader: a recycled one if a reader was freed. */
ck_epoch_record_t *engine_reader_record(fsrs_engine *e);
ck_epoch_record_t *engine_reader_record(fsrs_engine *e)
{
    pthread_mutex_lock(&e->records_lock);
    ck_epoch_record_t *r = ck_epoch_recycle(&e->epoch, NULL);
    pthread_mutex_unlock(&e->records_lock);
    return r ? r : new_record(e);
}

void engine_release_record(fsrs_engine *e, ck_epoch_record_t *r);
void engine_release_record(fsrs_engine *e, ck_epoch_record_t *r)
{
    pthread_mutex_lock(&e->records_lock);
    ck_epoch_unregister(r);
    pthread_mutex_unlock(&e->records_lock);
}

int fsrs_engine_new(const fsrs_engine_config *cfg, fsrs_engine **out)
{
    fsrs_engine_config defaults;
    if (!out)
        return fsrs__error_set(FSRS_EINVAL, NULL, 0, 0, "fsrs_engine_new: NULL out");
    if (!cfg) {
        fsrs_engine_config_init(&defaults);
        cfg = &defaults;
    }
    unsigned ring = cfg->ring_size ? cfg->ring_size : 256;
    if (ring < 4 || (ring & (ring - 1)))
        return fsrs__error_set(FSRS_EINVAL, NULL, 0, 0,
                               "ring_size must be a power of two >= 4, not %u", ring);
    if ((cfg->compiler.compile == NULL) != (cfg->compiler.free == NULL))
        return fsrs__error_set(FSRS_EINVAL, NULL, 0, 0,
                               "a custom compiler needs both compile and free");
    fsrs_engine *e = calloc(1, sizeof *e);
    if (!e)
        return fsrs__error_set(FSRS_ENOMEM, NULL, 0, 0, "out of memory");
    e->cfg = *cfg;
    e->ring_size = ring;
    if (!e->cfg.max_scripts)
        e->cfg.max_scripts = 1024;
    e->inotify_fd = -1;
    e->watcher.bell.fd = e->debouncer.bell.fd = e->compiler.bell.fd = e->executor.bell.fd = -1;
    pthread_mutex_init(&e->lock, NULL);
    pthread_mutex_init(&e->run_lock, NULL);
    pthread_mutex_init(&e->records_lock, NULL);
    pthread_mutex_init(&e->wait_lock, NULL);
    pthread_cond_init(&e->wait_cond, NULL);
    ck_epoch_init(&e->epoch);

    int rc = FSRS_ENOMEM;
    e->extensions = copy_strings(cfg->extensions ? cfg->extensions : default_extensions);
    e->scripts = calloc(e->cfg.max_scripts, sizeof(Script));
    if (!e->extensions || !e->scripts)
        goto fail;
    if ((cfg->include && !(e->include = copy_strings(cfg->include))) ||
        (cfg->exclude && !(e->exclude = copy_strings(cfg->exclude))))
        goto fail;
    e->cfg.include = NULL;
    e->cfg.exclude = NULL;
    e->cfg.extensions = NULL;
    if (!cfg->compiler.compile) {
        size_t nh = cfg->compile_options.host_count;
        e->host_names = calloc(nh + 1, sizeof(char *));
        if (!e->host_names)
            goto fail;
        for (size_t i = 0; i < nh; i++)
            if (!(e->host_names[i] = strdup(cfg->compile_options.host_names[i])))
                goto fail;
        e->cfg.compile_options.host_names = (const char *const *)e->host_names;
        e->cfg.compiler.compile = default_compile;
        e->cfg.compiler.free = default_free;
        e->cfg.compiler.userdata = e;
    }
    if (!ring_init(&e->events, ring) || !ring_init(&e->requests, ring) ||
        !ring_init(&e->results, ring))
        goto fail;
    e->exec_rec = new_record(e);
    e->sync_rec = new_record(e);
    if (!e->exec_rec || !e->sync_rec)
        goto fail;
    rc = FSRS_EIO;
    e->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (e->inotify_fd < 0 || !doorbell_init(&e->watcher.bell) ||
        !doorbell_init(&e->debouncer.bell) || !doorbell_init(&e->compiler.bell) ||
        !doorbell_init(&e->executor.bell)) {
        fsrs__error_set(FSRS_EIO, NULL, 0, 0, "cannot create inotify or eventfd: %s",
                        strerror(errno));
        fsrs_engine_free(e);
        return FSRS_EIO;
    }
    *out = e;
    return FSRS_OK;
fail:
    fsrs_engine_free(e);
    return fsrs__error_set(rc, NULL, 0, 0, "out of memory creating the engine");
}

/* -------------------------------------------------------------- watch --- */

int fsrs_engine_watch(fsrs_engine *e, const char *path)
{
    if (!e || !path || !*path)
        return fsrs__error_set(FSRS_EINVAL, NULL, 0, 0, "fsrs_engine_watch: no path");
    struct stat st;
    if (stat(path, &st) != 0)
        return fsrs__error_set(FSRS_ENOTFOUND, path, 0, 0, "cannot watch '%s': %s", path,
                               strerror(errno));
    char dir[FSRS_PATH_MAX];
    const char *only = NULL;
    if (S_ISDIR(st.st_mode)) {
        snprintf(dir, sizeof dir, "%s", path);
        size_t n = strlen(dir);
        while (n > 1 && dir[n - 1] == '/')
            dir[--n] = '\0';
    } else if (S_ISREG(st.st_mode)) {
        if (!engine_has_extension(e, path)) {
            char exts[256] = "";
            for (char **x = e->extensions; *x; x++)
                snprintf(exts + strlen(exts), sizeof exts - strlen(exts), "%s%s",
                         x == e->extensions ? "" : ", ", *x);
            return fsrs__error_set(FSRS_EINVAL, path, 0, 0,
                                   "cannot watch '%s': not a script file (expected %s)", path,
                                   exts);
        }
        const char *slash = strrchr(path, '/');
        if (slash) {
            snprintf(dir, sizeof dir, "%.*s", (int)(slash - path > 0 ? slash - path : 1), path);
            only = slash + 1;
        } else {
            snprintf(dir, sizeof dir, ".");
            only = path;
        }
    } else {
        return fsrs__error_set(FSRS_EINVAL, path, 0, 0,
                               "cannot watch '%s': not a file or directory", path);
    }
    pthread_mutex_lock(&e->lock);
    int rc = watch_dir(e, dir, only, dir, e->cfg.recursive && !only, true);
    pthread_mutex_unlock(&e->lock);
    if (rc == FSRS_OK)
        doorbell_ring(&e->debouncer.bell);
    return rc;
}

/* ---------------------------------------------------------- start/stop --- */

/* Each stage's thread carries the stage's name (at most 15 bytes), so
 * that top -H, perf and debuggers show which stage is which. */
static int start_stage(Stage *s, void *(*fn)(void *), fsrs_engine *e, const char *name)
{
    if (pthread_create(&s->thread, NULL, fn, e) != 0)
        return -1;
    (void)pthread_setname_np(s->thread, name);
    s->running = true;
    return 0;
}

static int stop_stage(Stage *s, const struct timespec *deadline)
{
    if (!s->running)
        return 0;
    doorbell_ring(&s->bell);
    if (pthread_timedjoin_np(s->thread, NULL, deadline) != 0)
        return -1;
    s->running = false;
    return 0;
}

/* CLOCK_REALTIME time timeout_ms from now, for timed joins and waits. */
static struct timespec deadline_after(unsigned timeout_ms)
{
    struct timespec d;
    clock_gettime(CLOCK_REALTIME, &d);
    d.tv_sec += timeout_ms / 1000;
    d.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (d.tv_nsec >= 1000000000L) {
        d.tv_sec++;
        d.tv_nsec -= 1000000000L;
    }
    return d;
}

int fsrs_engine_stop(fsrs_engine *e, unsigned timeout_ms)
{
    if (!e)
        return FSRS_EINVAL;
    pthread_mutex_lock(&e->run_lock);
    atomic_store(&e->stopping, true);
    struct timespec deadline = deadline_after(timeout_ms);
    int bad = 0;
    bad |= stop_stage(&e->watcher, &deadline);
    bad |= stop_stage(&e->debouncer, &deadline);
    bad |= stop_stage(&e->compiler, &deadline);
    bad |= stop_stage(&e->executor, &deadline);
    if (!bad)
        atomic_store(&e->started, false);
    pthread_mutex_unlock(&e->run_lock);
    if (bad)
        return fsrs__error_set(FSRS_ELIMIT, NULL, 0, 0,
                               "an engine thread did not stop within %u ms", timeout_ms);
    return FSRS_OK;
}

int fsrs_engine_start(fsrs_engine *e)
{
    if (!e)
        return FSRS_EINVAL;
    pthread_mutex_lock(&e->run_lock);
    if (atomic_load(&e->started)) {
        pthread_mutex_unlock(&e->run_lock);
        return FSRS_OK;
    }
    atomic_store(&e->stopping, false);
    int bad = start_stage(&e->executor, executor_main, e, "fsrs-publish") ||
              start_stage(&e->compiler, compiler_main, e, "fsrs-compile") ||
              start_stage(&e->debouncer, debouncer_main, e, "fsrs-debounce") ||
              start_stage(&e->watcher, watcher_main, e, "fsrs-watch");
    if (!bad)
        atomic_store(&e->started, true);
    pthread_mutex_unlock(&e->run_lock);
    if (bad) {
        fsrs_engine_stop(e, 5000);
        return fsrs__error_set(FSRS_EIO, NULL, 0, 0, "cannot start the engine's threads");
    }
    return FSRS_OK;
}

bool fsrs_engine_is_watching(const fsrs_engine *e)
{
    if (!e)
        return false;
    fsrs_engine *m = (fsrs_engine *)e;
    pthread_mutex_lock(&m->lock);
    bool r = atomic_load(&m->started) && m->nwatches > 0;
    pthread_mutex_unlock(&m->lock);
    return r;
}

/* ------------------------------------------------------ manual reload --- */

int fsrs_engine_reload(fsrs_engine *e, const char *path)
{
    if (!e || !path)
        return FSRS_EINVAL;
    Script *s = engine_find_script(e, path);
    if (!s)
        return fsrs__error_set(FSRS_ENOTFOUND, path, 0, 0, "'%s' is not a watched script", path);
    FileEvent *ev = event_new(EV_MANUAL, s->path, clock_us());
    if (!ev)
        return fsrs__error_set(FSRS_ENOMEM, NULL, 0, 0, "out of memory");
    pthread_mutex_lock(&e->lock);
    ev->next = e->manual;
    e->manual = ev;
    pthread_mutex_unlock(&e->lock);
    doorbell_ring(&e->debouncer.bell);
    return FSRS_OK;
}

/* ---------------------------------------------------------- waiting --- */

uint64_t fsrs_engine_reload_count(const fsrs_engine *e)
{
    if (!e)
        return 0;
    fsrs_engine *m = (fsrs_engine *)e;
    pthread_mutex_lock(&m->wait_lock);
    uint64_t n = m->reload_seq;
    pthread_mutex_unlock(&m->wait_lock);
    return n;
}

int fsrs_engine_wait_reload(fsrs_engine *e, uint64_t after, unsigned timeout_ms,
                            fsrs_reload_info *info)
{
    static _Thread_local char path_copy[FSRS_PATH_MAX], error_copy[1024];
    if (!e)
        return FSRS_EINVAL;
    struct timespec deadline = deadline_after(timeout_ms);
    pthread_mutex_lock(&e->wait_lock);
    int rc = 0;
    while (e->reload_seq <= after && rc == 0)
        rc = pthread_cond_timedwait(&e->wait_cond, &e->wait_lock, &deadline);
    if (e->reload_seq <= after) {
        pthread_mutex_unlock(&e->wait_lock);
        return fsrs__error_set(FSRS_ELIMIT, NULL, 0, 0, "no reload within %u ms", timeout_ms);
    }
    if (info) {
        *info = e->last_info;
        snprintf(path_copy, sizeof path_copy, "%s", e->last_path);
        info->path = path_copy;
        if (e->last_info.error) {
            snprintf(error_copy, sizeof error_copy, "%s", e->last_error);
            info->error = error_copy;
        }
    }
    pthread_mutex_unlock(&e->wait_lock);
    return FSRS_OK;
}

/* ---------------------------------------------------------- safe point --- */

int fsrs_engine_sync(fsrs_engine *e)
{
    if (!e)
        return 0;
    int n = 0;
    unsigned count = atomic_load_explicit(&e->nscripts, memory_order_acquire);
    for (unsigned i = 0; i < count; i++) {
        Script *s = &e->scripts[i];
        if (!atomic_load_explicit(&s->pending, memory_order_relaxed))
            continue;
        /* acq_rel: take the executor's finished version (pairs with its
         * release exchange) ... */
        Version *v = atomic_exchange_explicit(&s->pending, NULL, memory_order_acq_rel);
        if (!v)
            continue;
        /* ... and publish it to readers (pairs with their acquire load) */
        Version *old = atomic_exchange_explicit(&s->current, v, memory_order_acq_rel);
        atomic_store_explicit(&s->published_number, v->number, memory_order_relaxed);
        if (old)
            version_retire(e, e->sync_rec, old);
        n++;
    }
    ck_epoch_poll(e->sync_rec);
    return n;
}

/* -------------------------------------------------------------- stats --- */

void fsrs_engine_stats_get(const fsrs_engine *e, fsrs_engine_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!e)
        return;
    fsrs_engine *m = (fsrs_engine *)e;
    out->reloads_ok = atomic_load(&m->st_ok);
    out->reloads_failed = atomic_load(&m->st_failed);
    out->skipped_unchanged = atomic_load(&m->st_skipped);
    out->events = atomic_load(&m->st_events);
    out->events_coalesced = atomic_load(&m->st_coalesced);
    out->compiled_ahead = atomic_load(&m->st_ahead_used);
    out->ahead_discarded = atomic_load(&m->st_ahead_discarded);
    out->overflows = atomic_load(&m->st_overflows);
    out->versions_retired = atomic_load(&m->st_retired);
    out->versions_freed = atomic_load(&m->st_freed);
}

uint64_t fsrs_engine_version(const fsrs_engine *e, const char *path)
{
    if (!e || !path)
        return 0;
    Script *s = engine_find_script((fsrs_engine *)e, path);
    return s ? atomic_load_explicit(&s->published_number, memory_order_relaxed) : 0;
}

/* --------------------------------------------------------------- free --- */

static void free_event_list(FileEvent *ev)
{
    while (ev) {
        FileEvent *next = ev->next;
        free(ev);
        ev = next;
    }
}

void fsrs_engine_free(fsrs_engine *e)
{
    if (!e)
        return;
    if (fsrs_engine_stop(e, 5000) != FSRS_OK)
        return; /* a thread is stuck: freeing would pull memory from under it */
    /* drain the rings */
    void *item;
    while (ring_is_init(&e->events) && ring_pop_spsc(&e->events, &item))
        free(item);
    while (ring_is_init(&e->requests) && ring_pop_spsc(&e->requests, &item))
        free(item);
    while (ring_is_init(&e->results) && ring_pop_spsc(&e->results, &item)) {
        Result *r = item;
        if (r->artifact)
            e->cfg.compiler.free(r->artifact, e->cfg.compiler.userdata);
        free(r);
    }
    /* every reader is gone: run the deferred frees, then free what is live */
    if (e->exec_rec)
        ck_epoch_barrier(e->exec_rec);
    if (e->sync_rec)
        ck_epoch_barrier(e->sync_rec);
    unsigned n = atomic_load(&e->nscripts);
    for (unsigned i = 0; i < n; i++) {
        Script *s = &e->scripts[i];
        Version *v = atomic_load(&s->current);
        Version *p = atomic_load(&s->pending);
        if (v) {
            e->cfg.compiler.free(v->artifact, e->cfg.compiler.userdata);
            free(v);
        }
        if (p) {
            e->cfg.compiler.free(p->artifact, e->cfg.compiler.userdata);
            free(p);
        }
        ahead_free(e, s);
        free(s->path);
    }
    free(e->scripts);
    free_event_list(e->manual);
    for (unsigned i = 0; i < e->nwatches; i++) {
        free(e->watches[i].dir);
        free(e->watches[i].only);
        free(e->watches[i].root);
        free(e->watches[i].name);
    }
    free(e->watches);
    for (unsigned i = 0; i < e->nrecords; i++)
        free(e->records[i]);
    free(e->records);
    ring_destroy(&e->events);
    ring_destroy(&e->requests);
    ring_destroy(&e->results);
    if (e->inotify_fd >= 0)
        close(e->inotify_fd);
    doorbell_destroy(&e->watcher.bell);
    doorbell_destroy(&e->debouncer.bell);
    doorbell_destroy(&e->compiler.bell);
    doorbell_destroy(&e->executor.bell);
    free_strings(e->extensions);
    free_strings(e->include);
    free_strings(e->exclude);
    free_strings(e->host_names);
    pthread_mutex_destroy(&e->lock);
    pthread_mutex_destroy(&e->run_lock);
    pthread_mutex_destroy(&e->records_lock);
    pthread_mutex_destroy(&e->wait_lock);
    pthread_cond_destroy(&e->wait_cond);
    free(e);
}
