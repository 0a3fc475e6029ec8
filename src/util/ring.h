/*
 * util/ring.h - a bounded single-producer single-consumer queue of pointers
 * between two pipeline stages.
 *
 * Normally a Concurrency Kit ck_ring (ck_ring_enqueue_spsc/dequeue_spsc):
 * wait-free on both sides.  ThreadSanitizer cannot see ck's inline-assembly
 * atomics, so under TSan the same interface is backed by a C11 <stdatomic.h>
 * ring with the same semantics, which TSan can check.
 *
 * Threads: exactly one producer thread calls ring_push_spsc and exactly one
 * consumer thread calls ring_pop_spsc; ring_init/ring_destroy run before
 * the threads start and after they stop.
 */
#ifndef FSRS_UTIL_RING_H
#define FSRS_UTIL_RING_H

#include <stdbool.h>
#include <stdlib.h>

#if defined(__SANITIZE_THREAD__)
#define FSRS_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define FSRS_TSAN 1
#endif
#endif

#ifndef FSRS_TSAN
#include <ck_ring.h>

typedef struct Ring {
    ck_ring_t ring;
    ck_ring_buffer_t *buf;
} Ring;

/* size: a power of two >= 4; the ring holds size - 1 entries. */
static inline bool ring_init(Ring *r, unsigned size)
{
    r->buf = calloc(size, sizeof(ck_ring_buffer_t));
    if (!r->buf)
        return false;
    ck_ring_init(&r->ring, size);
    return true;
}

static inline void ring_destroy(Ring *r)
{
    free(r->buf);
    r->buf = NULL;
}

static inline bool ring_is_init(const Ring *r) { return r->buf != NULL; }

/* false when full: the producer keeps the item and retries later. */
static inline bool ring_push_spsc(Ring *r, void *item)
{
    return ck_ring_enqueue_spsc(&r->ring, r->buf, item);
}

static inline bool ring_pop_spsc(Ring *r, void **out)
{
    return ck_ring_dequeue_spsc(&r->ring, r->buf, out);
}

#else /* TSan: C11 atomics */
#include <stdatomic.h>

typedef struct Ring {
    _Atomic unsigned head; /* next slot to read; written by the consumer */
    _Atomic unsigned tail; /* next slot to write; written by the producer */
    unsigned mask;
    void *_Atomic *slots;
} Ring;

static inline bool ring_init(Ring *r, unsigned size)
{
    r->slots = calloc(size, sizeof(void *));
    if (!r->slots)
        return false;
    atomic_init(&r->head, 0);
    atomic_init(&r->tail, 0);
    r->mask = size - 1;
    return true;
}

static inline void ring_destroy(Ring *r)
{
    free((void *)r->slots);
    r->slots = NULL;
}

static inline bool ring_is_init(const Ring *r) { return r->slots != NULL; }

static inline bool ring_push_spsc(Ring *r, void *item)
{
    unsigned t = atomic_load_explicit(&r->tail, memory_order_relaxed);
    /* acquire: pairs with the consumer's release of head, so the slot is free */
    unsigned h = atomic_load_explicit(&r->head, memory_order_acquire);
    if (((t + 1) & r->mask) == (h & r->mask))
        return false;
    atomic_store_explicit(&r->slots[t & r->mask], item, memory_order_relaxed);
    /* release: pairs with the consumer's acquire of tail */
    atomic_store_explicit(&r->tail, t + 1, memory_order_release);
    return true;
}

static inline bool ring_pop_spsc(Ring *r, void **out)
{
    unsigned h = atomic_load_explicit(&r->head, memory_order_relaxed);
    /* acquire: pairs with the producer's release of tail */
    unsigned t = atomic_load_explicit(&r->tail, memory_order_acquire);
    if (h == t)
        return false;
    *out = atomic_load_explicit(&r->slots[h & r->mask], memory_order_relaxed);
    /* release: pairs with the producer's acquire of head */
    atomic_store_explicit(&r->head, h + 1, memory_order_release);
    return true;
}
#endif

#endif
