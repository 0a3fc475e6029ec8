/*
 * reload/publish.c - the executor stage: compiled versions -> readers.
 *
 * Publishing a version is one atomic exchange of Script.current (release:
 * the version and its chunk are fully built before a reader can load the
 * pointer with acquire).  The replaced version is retired with
 * ck_epoch_call and freed by ck_epoch_poll once every reader section that
 * could have loaded it has ended; this thread never waits for readers
 * (no ck_epoch_synchronize or barrier outside shutdown).  A failed compile
 * publishes nothing: the previous version keeps serving.
 *
 * Correctness of reclamation: a reader loads Script.current only inside a
 * section (ck_epoch_begin), so a version it holds was current at some
 * point during its section.  The version is retired after it stopped being
 * current, so the reader's section began before the retirement's epoch
 * tick; ck_epoch_poll runs the free only after two epoch advances, which
 * need every active record to have observed a later epoch, i.e. to have
 * left that section.
 *
 * In FSRS_PUBLISH_AT_SYNC mode the version goes to Script.pending and the
 * host's fsrs_engine_sync makes it current at a safe point.
 *
 * Then: statistics, the on_reload callback (on this thread) and the
 * waiters of fsrs_engine_wait_reload.
 * Threads: executor thread only (exec_rec is its epoch record).
 */
#define _GNU_SOURCE
#include "reload/engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/clock.h"

/* How often to poll for reclaimable versions while some are pending. */
#define POLL_INTERVAL_US 10000

static void notify(fsrs_engine *e, const fsrs_reload_info *info)
{
    if (e->cfg.on_reload)
        e->cfg.on_reload(info, e->cfg.userdata);
    pthread_mutex_lock(&e->wait_lock);
    e->last_info = *info;
    snprintf(e->last_path, sizeof e->last_path, "%s", info->path);
    if (info->error)
        snprintf(e->last_error, sizeof e->last_error, "%s", info->error);
    e->reload_seq++;
    pthread_cond_broadcast(&e->wait_cond);
    pthread_mutex_unlock(&e->wait_lock);
}

static void publish(fsrs_engine *e, Result *r)
{
    Script *s = r->script;
    fsrs_reload_info info;
    memset(&info, 0, sizeof info);
    info.path = s->path;
    info.source_size = r->source_size;
    info.event_us = r->event_us;
    info.debounce_end_us = r->debounce_end_us;
    info.compile_start_us = r->compile_start_us;
    info.compile_end_us = r->compile_end_us;
    info.compiled_ahead = r->compiled_ahead;
    if (!r->ok) {
        atomic_fetch_add_explicit(&e->st_failed, 1, memory_order_relaxed);
        info.ok = false;
        info.error = r->error;
        info.version = s->next_version;
        notify(e, &info);
        return;
    }
    Version *v = malloc(sizeof *v);
    if (!v) {
        atomic_fetch_add_explicit(&e->st_failed, 1, memory_order_relaxed);
        e->cfg.compiler.free(r->artifact, e->cfg.compiler.userdata);
        info.error = "out of memory publishing a version";
        info.version = s->next_version;
        notify(e, &info);
        return;
    }
    memset(v, 0, sizeof *v);
    v->engine = e;
    v->artifact = r->artifact;
    v->number = ++s->next_version;
    r->artifact = NULL;
    if (e->cfg.publish == FSRS_PUBLISH_AT_SYNC) {
        /* release: pairs with fsrs_engine_sync's acq_rel exchange */
        Version *old = atomic_exchange_explicit(&s->pending, v, memory_order_acq_rel);
        if (old)
            version_retire(e, e->exec_rec, old); /* superseded before any sync */
    } else {
        /* release: pairs with the readers' acquire load of current */
        Version *old = atomic_exchange_explicit(&s->current, v, memory_order_acq_rel);
        atomic_store_explicit(&s->published_number, v->number, memory_order_relaxed);
        info.publish_us = clock_us();
        if (old)
            version_retire(e, e->exec_rec, old);
    }
    atomic_fetch_add_explicit(&e->st_ok, 1, memory_order_relaxed);
    info.ok = true;
    info.version = v->number;
    notify(e, &info);
}

void *executor_main(void *arg)
{
    fsrs_engine *e = arg;
    while (!atomic_load(&e->stopping)) {
        void *item;
        bool any = false;
        while (ring_pop_spsc(&e->results, &item)) {
            publish(e, item);
            free(item);
            any = true;
        }
        if (any) {
            /* a waiting compiler set the flag before its last try to
             * push: order our pops before reading it (store-load) */
            atomic_thread_fence(memory_order_seq_cst);
            if (atomic_load(&e->results_full))
                doorbell_ring(&e->compiler.bell); /* room in the ring again */
        }
        ck_epoch_poll(e->exec_rec);
        bool waiting = e->exec_rec->n_pending > 0;
        doorbell_wait(&e->executor.bell, waiting ? POLL_INTERVAL_US : -1);
        doorbell_drain(&e->executor.bell);
    }
    return NULL;
}
