/*
 * reload/compile_stage.c - the compiler stage: reload requests -> compiled
 * versions or diagnostics.
 *
 * For each request: clear the script's in-flight flag (so that any change
 * from here on causes a new request), read the file, skip it if its content
 * hash equals the last compiled one, otherwise compile it with the engine's
 * compiler hook and pass the result to the executor.  A file that vanished
 * is skipped: its last good version keeps serving.  If the result ring is
 * full the stage waits for the executor (it is the only thing this thread
 * could do anyway); nothing is dropped.
 *
 * Threads: compiler thread only (also the only user of Script.last_hash).
 */
#define _GNU_SOURCE
#include "reload/engine.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
        if (atomic_load(&e->stopping)) {
            if (r->artifact)
                e->cfg.compiler.free(r->artifact, e->cfg.compiler.userdata);
            free(r);
            return;
        }
        doorbell_ring(&e->executor.bell);
        doorbell_wait(&e->compiler.bell, 1);
    }
    doorbell_ring(&e->executor.bell);
}

static void handle(fsrs_engine *e, Request *req)
{
    Script *s = req->script;
    /* seq_cst: ordered before the read below; pairs with the debouncer's
     * check of the flag (see debounce.c) */
    atomic_store_explicit(&s->queued, false, memory_order_seq_cst);
    size_t len = 0;
    char *src = slurp(s->path, &len);
    if (!src)
        return; /* deleted or unreadable: keep the last good version */
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
    r->compile_start_us = clock_us();
    void *artifact = NULL;
    int rc = e->cfg.compiler.compile(s->path, src, len, &artifact, r->error, sizeof r->error,
                                     e->cfg.compiler.userdata);
    r->compile_end_us = clock_us();
    free(src);
    r->ok = rc == 0 && artifact;
    r->artifact = r->ok ? artifact : NULL;
    if (!r->ok && !r->error[0])
        snprintf(r->error, sizeof r->error, "%s: compile failed", s->path);
    s->last_hash = h;
    s->compiled = true;
    push_result(e, r);
}

void *compiler_main(void *arg)
{
    fsrs_engine *e = arg;
    while (!atomic_load(&e->stopping)) {
        void *item;
        if (!ring_pop_spsc(&e->requests, &item)) {
            doorbell_wait(&e->compiler.bell, -1);
            doorbell_drain(&e->compiler.bell);
            continue;
        }
        handle(e, item);
        free(item);
    }
    return NULL;
}
