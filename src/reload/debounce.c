/*
 * reload/debounce.c - the debouncer stage: file events -> reload requests.
 *
 * Bursts of events for one script are coalesced: an unfinished write
 * (EV_CHANGED) waits for max(debounce_ms, 1 s) of quiet, a finished save
 * (EV_SAVED, EV_MANUAL) waits debounce_ms after the last save, so that a
 * burst of saves within the window gives one reload.  A script has at most one request in flight
 * (Script.queued): while the compiler has not started on it, newer events
 * are folded into it, since the compiler reads the file only after clearing
 * the flag and so sees at least the content those events announced.  The
 * last content written is therefore always compiled.  A full request ring
 * leaves the script pending and is retried: nothing is dropped.
 * With compile_ahead, a finished save also sends a compile-ahead request
 * at once, so that the compile overlaps the window (compile_stage.c).
 *
 * This thread is the only writer of the script registry.
 * Threads: debouncer thread only.
 */
#define _GNU_SOURCE
#include "reload/engine.h"

#include <stdlib.h>

#include "util/clock.h"

static void note_event(fsrs_engine *e, FileEvent *ev)
{
    Script *s = engine_add_script(e, ev->path);
    if (!s)
        return; /* registry full (max_scripts) or out of memory */
    uint64_t window = (uint64_t)e->cfg.debounce_ms * 1000u;
    switch (ev->kind) {
    case EV_DELETED:
        /* keep serving the last good version; a re-creation is an event */
        return;
    case EV_CHANGED: {
        /* IN_MODIFY fires at open(O_TRUNC), before any byte is written: a
         * change alone waits for the writer's close (EV_SAVED) or, for
         * writers that never close, for a quiet period */
        uint64_t wait = window > CHANGED_QUIET_US ? window : CHANGED_QUIET_US;
        if (s->want)
            atomic_fetch_add_explicit(&e->st_coalesced, 1, memory_order_relaxed);
        if (!s->first_event_us)
            s->first_event_us = ev->t_us;
        s->deadline_us = ev->t_us + wait;
        s->want = true;
        return;
    }
    case EV_SAVED:
    case EV_MANUAL:
        if (ev->kind == EV_SAVED && window && e->cfg.compile_ahead)
            s->ahead_wanted = true;
        if (s->want)
            atomic_fetch_add_explicit(&e->st_coalesced, 1, memory_order_relaxed);
        if (!s->first_event_us)
            s->first_event_us = ev->t_us;
        s->deadline_us = ev->t_us + (ev->kind == EV_MANUAL ? 0 : window);
        if (ev->kind == EV_MANUAL)
            s->force = true;
        s->want = true;
        return;
    default:
        return;
    }
}

/* A finished save in its window: ask the compiler to compile it now, so
 * that the request at the window's end finds it compiled.  Like a
 * request, at most one is in flight per script, and the compiler reads
 * the file only after clearing ahead_queued, so one in flight covers
 * this save too.  A full ring just skips it: the request at the
 * window's end compiles as usual. */
static void send_ahead(fsrs_engine *e, Script *s, bool *sent)
{
    s->ahead_wanted = false;
    if (atomic_load_explicit(&s->ahead_queued, memory_order_seq_cst))
        return;
    Request *r = calloc(1, sizeof *r);
    if (!r)
        return;
    r->script = s;
    r->ahead = true;
    atomic_store_explicit(&s->ahead_queued, true, memory_order_seq_cst);
    if (!ring_push_spsc(&e->requests, r)) {
        atomic_store_explicit(&s->ahead_queued, false, memory_order_seq_cst);
        free(r);
        return;
    }
    *sent = true;
}

/* Send the requests that are due; returns the next deadline (0: none). */
static uint64_t send_due(fsrs_engine *e, bool *sent)
{
    uint64_t now = clock_us(), next = 0;
    unsigned n = atomic_load_explicit(&e->nscripts, memory_order_relaxed);
    for (unsigned i = 0; i < n; i++) {
        Script *s = &e->scripts[i];
        if (!s->want)
            continue;
        if (s->deadline_us > now) {
            if (!next || s->deadline_us < next)
                next = s->deadline_us;
            if (s->ahead_wanted)
                send_ahead(e, s, sent);
            continue;
        }
        if (!s->force && atomic_load_explicit(&s->queued, memory_order_seq_cst)) {
            /* the compiler has not started on the previous request: it will
             * read this content too */
            atomic_fetch_add_explicit(&e->st_coalesced, 1, memory_order_relaxed);
            s->want = false;
            s->first_event_us = 0;
            continue;
        }
        Request *r = calloc(1, sizeof *r);
        if (!r) {
            next = now + 1000; /* retry soon */
            continue;
        }
        r->script = s;
        r->force = s->force;
        r->event_us = s->first_event_us ? s->first_event_us : now;
        r->debounce_end_us = now;
        atomic_store_explicit(&s->queued, true, memory_order_seq_cst);
        if (!ring_push_spsc(&e->requests, r)) {
            atomic_store_explicit(&s->queued, false, memory_order_seq_cst);
            free(r);
            next = now + 1000; /* ring full: retry when the compiler has room */
            continue;
        }
        s->want = false;
        s->force = false;
        s->first_event_us = 0;
        *sent = true;
    }
    return next;
}

void *debouncer_main(void *arg)
{
    fsrs_engine *e = arg;
    uint64_t next = 0;
    while (!atomic_load(&e->stopping)) {
        int64_t timeout = -1;
        if (next) {
            uint64_t now = clock_us();
            timeout = next > now ? (int64_t)(next - now) : 0;
        }
        doorbell_wait(&e->debouncer.bell, timeout);
        doorbell_drain(&e->debouncer.bell);
        if (atomic_load(&e->stopping))
            break;
        /* manual requests and rescans, oldest first */
        pthread_mutex_lock(&e->lock);
        FileEvent *manual = e->manual;
        e->manual = NULL;
        pthread_mutex_unlock(&e->lock);
        FileEvent *rev = NULL;
        while (manual) {
            FileEvent *next_ev = manual->next;
            manual->next = rev;
            rev = manual;
            manual = next_ev;
        }
        while (rev) {
            FileEvent *next_ev = rev->next;
            note_event(e, rev);
            free(rev);
            rev = next_ev;
        }
        void *item;
        while (ring_pop_spsc(&e->events, &item)) {
            note_event(e, item);
            free(item);
        }
        bool sent = false;
        next = send_due(e, &sent);
        if (sent)
            doorbell_ring(&e->compiler.bell);
    }
    return NULL;
}
