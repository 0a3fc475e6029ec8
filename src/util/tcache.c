/*
 * util/tcache.c - per-thread block cache (see tcache.h).  Blocks come from
 * and go back to malloc/free; each thread's list is reached through a
 * pthread key whose destructor frees it at thread exit.
 */
#include "util/tcache.h"

#include <pthread.h>
#include <stdlib.h>

#define CACHE_MAX_BYTES ((size_t)64 << 20)
#define CACHE_MIN_BLOCK ((size_t)32 << 10) /* smaller blocks are not worth it */

typedef struct CachedBlock {
    struct CachedBlock *next;
    size_t size;
} CachedBlock;

typedef struct Cache {
    CachedBlock *head;
    size_t bytes;
} Cache;

static pthread_key_t key;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int key_ok;

static void destroy(void *p)
{
    Cache *c = p;
    while (c->head) {
        CachedBlock *next = c->head->next;
        free(c->head);
        c->head = next;
    }
    free(c);
}

static void make_key(void) { key_ok = pthread_key_create(&key, destroy) == 0; }

static Cache *cache(int create)
{
    pthread_once(&once, make_key);
    if (!key_ok)
        return NULL;
    Cache *c = pthread_getspecific(key);
    if (!c && create) {
        c = calloc(1, sizeof *c);
        if (c && pthread_setspecific(key, c) != 0) {
            free(c);
            c = NULL;
        }
    }
    return c;
}

void *tcache_take(size_t size, size_t *size_out)
{
    Cache *c = cache(0);
    if (!c)
        return NULL;
    /* best fit: the smallest cached block that is big enough */
    CachedBlock **best = NULL;
    for (CachedBlock **b = &c->head; *b; b = &(*b)->next)
        if ((*b)->size >= size && (!best || (*b)->size < (*best)->size))
            best = b;
    if (!best)
        return NULL;
    CachedBlock *blk = *best;
    *best = blk->next;
    c->bytes -= blk->size;
    *size_out = blk->size;
    return blk;
}

void tcache_give(void *p, size_t size)
{
    if (!p)
        return;
    Cache *c = size >= CACHE_MIN_BLOCK ? cache(1) : NULL;
    if (!c || c->bytes + size > CACHE_MAX_BYTES) {
        free(p);
        return;
    }
    CachedBlock *blk = p;
    blk->size = size;
    blk->next = c->head;
    c->head = blk;
    c->bytes += size;
}
