/*
 * reload/compile_stage.c - the compiler stage: reload requests -> compiled
 * versions or diagnostics.
 *
 * For each request: clear the script's in-flight flag (so that any change
 * from here on causes a new request), read the file, skip it if its content
 * hash equals the last compiled one, otherwise compile it with the engine's
 * compiler hook and pass the result to the executor.  A compile-ahead
 * request (sent when a finished save starts its debounce window) compiles
 * the file at once and keeps the result on the script; the request at the
 * window's end uses it if the file still holds the same bytes, and
 * compiles again otherwise.  A file that vanished
 * is skipped: its last good version keeps serving.  If the result ring is
 * full the stage waits for the executor (it is the only thing this thread
 * could do anyway); nothing is dropped.
 *
 * Threads: compiler thread only (also the only user of Script.last_hash
 * and Script.ahead); ahead_free runs in fsrs_engine_free, once the
 * threads are gone.
 */
#define _GNU_SOURCE
#include "reload/engine.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "util/clock.h"
#include "util/hash.h"

/* Read a whole file; NULL if it cannot be read (errno set). */
static char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n - 1, fp);
        n += got;
        if (n + 1 < cap) {
            if (ferror(fp)) {
                free(buf);
                buf = NULL;
            }
            break;
        }
        char *nb = realloc(buf, cap * 2);
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    fclose(fp);
    if (buf) {
        buf[n] = '\0';
        *len = n;
    }
    return buf;
}

static void push_result(fsrs_engine *e, Result *r)
{
    while (!ring_push_spsc(&e->results, r)) {
        /* seq_cst, then push again: the executor either sees the flag
         * after it pops or made room before this retry */
        atomic_store(&e->results_full, true);
        if (ring_push_spsc(&e->results, r))
            break;
        if (atomic_load(&e->stopping)) {
            if (r->artifact)
                e->cfg.compiler.free(r->artifact, e->cfg.compiler.userdata);
            free(r);
            return;
        }
        doorbell_ring(&e->executor.bell);
        doorbell_wait(&e->compiler.bell, 1000);
    }
    atomic_store(&e->results_full, false);
    doorbell_ring(&e->executor.bell);
}

/* How long to wait for the watcher to catch up, and when to try again
 * if it has not (a watcher starved of CPU). */
#define SYNC_WAIT_US 20000u
#define SYNC_RETRY_US 5000u

/*
 * Wait until the watcher has processed every inotify event queued so far.
 * A save that truncates the file queues IN_MODIFY inside its open(), before
 * any byte is written; so after this, if we read a partial file, its
 * Script.change_seq has moved.  FIONREAD == 0 means the events were read;
 * watcher_busy, set before that read, means they are not yet processed.
 * False when the watcher did not catch up in time: what was read cannot be
 * trusted yet (the events it has not seen may be a save in progress).
 */
static bool sync_with_watcher(fsrs_engine *e)
{
    uint64_t deadline = clock_us() + SYNC_WAIT_US;
    for (;;) {
        int pending = 0;
        if (ioctl(e->inotify_fd, FIONREAD, &pending) != 0)
            return true; /* no queue to wait for */
        if (pending == 0 && !atomic_load(&e->watcher_busy))
            return true;
        if (clock_us() > deadline || atomic_load(&e->stopping))
            return false;
        struct timespec ts = {0, 20000};
        nanosleep(&ts, NULL);
    }
}

/* Requests to look at again later, oldest first (compiler thread only). */
static _Thread_local Request *retry_head, *retry_tail;

static void retry_add(Request *r)
{
    r->next = NULL;
    if (retry_tail)
        retry_tail->next = r;
    else
        retry_head = r;
    retry_tail = r;
}

/* Is a writer busy with the file (a change seen, its save not yet)?  Its
 * close or rename will bring a new request. */
static bool writer_busy(const Script *s)
{
    return atomic_load(&s->writing) &&
           clock_us() - atomic_load(&s->change_us) < CHANGED_QUIET_US;
}

/* Drop what was compiled ahead, if anything. */
static void ahead_drop(fsrs_engine *e, Ahead *a)
{
    if (a->src && a->rc == 0 && a->artifact)
        e->cfg.compiler.free(a->artifact, e->cfg.compiler.userdata);
    free(a->src);
    a->src = NULL;
    a->artifact = NULL;
}

/* Drop a compile that a later save made useless (counted). */
static void ahead_discard(fsrs_engine *e, Ahead *a)
{
    if (a && a->src) {
        atomic_fetch_add_explicit(&e->st_ahead_discarded, 1, memory_order_relaxed);
        ahead_drop(e, a);
    }
}

void ahead_free(fsrs_engine *e, Script *s)
{
    if (s->ahead) {
        ahead_drop(e, s->ahead);
        free(s->ahead);
        s->ahead = NULL;
    }
}

/* Does the script hold a compile of exactly these bytes? */
static bool ahead_matches(const Script *s, const char *src, size_t len)
{
    const Ahead *a = s->ahead;
    return a && a->src && a->len == len && memcmp(a->src, src, len) == 0;
}

/* A compile-ahead request: compile what the file holds now and keep it.
 * No stability check here: the request at the window's end compares the
 * bytes it reads with these, and checks that file as usual. */
static void compile_ahead(fsrs_engine *e, Request *req)
{
    Script *s = req->script;
    atomic_store_explicit(&s->ahead_queued, false, memory_order_seq_cst);
    if (writer_busy(s))
        return;
    uint64_t seq = atomic_load(&s->change_seq); /* before the read */
    size_t len = 0;
    char *src = slurp(s->path, &len);
    if (!src)
        return;
    uint64_t h = len ? hash64(src, len) : 0;
    if (len == 0 || (s->compiled && h == s->last_hash) || ahead_matches(s, src, len) ||
        (!s->ahead && !(s->ahead = calloc(1, sizeof *s->ahead)))) {
        free(src); /* nothing to publish, compiled already, or out of memory */
        return;
    }
    Ahead *a = s->ahead;
    ahead_discard(e, a);
    a->error[0] = '\0';
    a->artifact = NULL;
    a->start_us = clock_us();
    a->rc = e->cfg.compiler.compile(s->path, src, len, &a->artifact, a->error, sizeof a->error,
                                    e->cfg.compiler.userdata);
    a->end_us = clock_us();
    a->src = src;
    a->len = len;
    a->hash = h;
    a->seq = seq;
}

/* Move what was compiled ahead into r. */
static void *take_ahead(Script *s, Result *r, int *rc)
{
    Ahead *a = s->ahead;
    void *artifact = a->artifact;
    *rc = a->rc;
    memcpy(r->error, a->error, sizeof r->error);
    r->compile_start_us = a->start_us;
    r->compile_end_us = a->end_us;
    r->compiled_ahead = true;
    free(a->src);
    a->src = NULL;
    a->artifact = NULL;
    return artifact;
}

/* Hand a compiled file to the executor (and take its hash as the last
 * compiled one). */
static void finish(fsrs_engine *e, Result *r, void *artifact, int rc, uint64_t h)
{
    Script *s = r->script;
    r->ok = rc == 0 && artifact;
    r->artifact = r->ok ? artifact : NULL;
    if (r->compiled_ahead)
        atomic_fetch_add_explicit(&e->st_ahead_used, 1, memory_order_relaxed);
    if (!r->ok && !r->error[0])
        snprintf(r->error, sizeof r->error, "%s: compile failed", s->path);
    s->last_hash = h;
    s->compiled = true;
    push_result(e, r);
}

/* Look at req again in a little while (the watcher is behind). */
static void retry_later(const Request *req)
{
    Request *again = malloc(sizeof *again);
    if (again) {
        *again = *req;
        again->retry_at_us = clock_us() + SYNC_RETRY_US;
        retry_add(again);
    }
}

/*
 * The window's request, when the file has not been touched since the
 * compile ahead read it: no event for it since (change_seq has not moved
 * once the watcher has caught up) and no writer busy.  Every write queues
 * an event, and a read that caught a save half done was followed by that
 * save's events, so the bytes compiled are the file's, whole: publish them
 * without reading the file again.  False when that cannot be shown; the
 * caller then reads and checks the file as usual.
 */
static bool take_over_unread(fsrs_engine *e, Request *req)
{
    Script *s = req->script;
    Ahead *a = s->ahead;
    if (!a || !a->src || !sync_with_watcher(e) || atomic_load(&s->change_seq) != a->seq ||
        writer_busy(s))
        return false;
    if (s->compiled && a->hash == s->last_hash && !req->force) {
        atomic_fetch_add_explicit(&e->st_skipped, 1, memory_order_relaxed);
        ahead_drop(e, a);
        return true;
    }
    Result *r = calloc(1, sizeof *r);
    if (!r)
        return false;
    r->script = s;
    r->source_size = a->len;
    r->event_us = req->event_us;
    r->debounce_end_us = req->debounce_end_us;
    uint64_t h = a->hash;
    int rc;
    void *artifact = take_ahead(s, r, &rc);
    finish(e, r, artifact, rc, h);
    return true;
}

static void handle(fsrs_engine *e, Request *req)
{
    Script *s = req->script;
    if (req->ahead) {
        compile_ahead(e, req);
        return;
    }
    /* seq_cst: ordered before the read below; pairs with the debouncer's
     * check of the flag (see debounce.c) */
    atomic_store_explicit(&s->queued, false, memory_order_seq_cst);
    if (writer_busy(s) || take_over_unread(e, req))
        return;
    uint64_t seq = atomic_load(&s->change_seq);
    size_t len = 0;
    char *src = slurp(s->path, &len);
    if (!src)
        return; /* deleted or unreadable: keep the last good version */
    if (len == 0) {
        /* An empty script defines nothing.  It is a save caught between its
         * open(O_TRUNC) and its first write (the kernel shows the
         * truncation before it queues the event for it, and a writer
         * preempted there shows it for as long as it waits), or a file
         * emptied on purpose.  Either way it would break every caller: like
         * a deleted file, it keeps the last good version serving, and the
         * next save with content is compiled as usual. */
        free(src);
        return;
    }
    uint64_t h = hash64(src, len);
    if (s->compiled && h == s->last_hash && !req->force) {
        atomic_fetch_add_explicit(&e->st_skipped, 1, memory_order_relaxed);
        free(src);
        return;
    }
    Result *r = calloc(1, sizeof *r);
    if (!r) {
        free(src);
        return;
    }
    r->script = s;
    r->source_size = len;
    r->event_us = req->event_us;
    r->debounce_end_us = req->debounce_end_us;
    void *artifact = NULL;
    int rc;
    if (ahead_matches(s, src, len)) {
        artifact = take_ahead(s, r, &rc); /* compiled during the window */
    } else {
        ahead_discard(e, s->ahead);
        r->compile_start_us = clock_us();
        rc = e->cfg.compiler.compile(s->path, src, len, &artifact, r->error, sizeof r->error,
                                     e->cfg.compiler.userdata);
        r->compile_end_us = clock_us();
    }
    /* A save that began while we read (open(O_TRUNC) then write) may have
     * given us a partial file.  If the file changed since, or a writer is
     * busy, drop this compile: the change's own event brings a new request.
     * Reading again catches a change whose event has not arrived yet.  A
     * watcher that has not caught up may not have seen such a change
     * either: then look again a little later, since the events it has
     * not read may concern other files and bring no request for this one. */
    if (!sync_with_watcher(e)) {
        if (rc == 0 && artifact)
            e->cfg.compiler.free(artifact, e->cfg.compiler.userdata);
        free(r);
        free(src);
        retry_later(req);
        return;
    }
    size_t len2 = 0;
    char *again = slurp(s->path, &len2);
    bool stable = again && len2 == len && memcmp(again, src, len) == 0 &&
                  atomic_load(&s->change_seq) == seq && !writer_busy(s);
    free(again);
    free(src);
    if (!stable) {
        if (rc == 0 && artifact)
            e->cfg.compiler.free(artifact, e->cfg.compiler.userdata);
        free(r);
        return;
    }
    finish(e, r, artifact, rc, h);
}

void *compiler_main(void *arg)
{
    fsrs_engine *e = arg;
    while (!atomic_load(&e->stopping)) {
        if (retry_head && retry_head->retry_at_us <= clock_us()) {
            Request *r = retry_head;
            retry_head = r->next;
            if (!retry_head)
                retry_tail = NULL;
            handle(e, r);
            free(r);
            continue;
        }
        void *item;
        if (!ring_pop_spsc(&e->requests, &item)) {
            int64_t timeout = -1;
            if (retry_head) {
                uint64_t now = clock_us();
                timeout = retry_head->retry_at_us > now
                              ? (int64_t)(retry_head->retry_at_us - now)
                              : 0;
            }
            doorbell_wait(&e->compiler.bell, timeout);
            doorbell_drain(&e->compiler.bell);
            continue;
        }
        handle(e, item);
        free(item);
    }
    while (retry_head) {
        Request *next = retry_head->next;
        free(retry_head);
        retry_head = next;
    }
    retry_tail = NULL;
    return NULL;
}
