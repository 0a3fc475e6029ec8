/*
 * lang/arena.c - the compiler's bump allocator (see arena.h).
 * Compiling thread only.
 */
#include "lang/arena.h"

#include <string.h>

#include "util/tcache.h"

struct ArenaBlock {
    ArenaBlock *next;
    size_t size;
};

#define BLOCK_MIN (64 * 1024)
#define HDR ((sizeof(ArenaBlock) + 15) & ~(size_t)15)

void arena_init(Arena *a, const Mem *mem)
{
    a->mem = mem;
    a->head = NULL;
    a->cur = a->end = NULL;
    a->cached = 0;
}

void arena_init_scratch(Arena *a, const Mem *mem)
{
    arena_init(a, mem);
    a->cached = mem->is_default;
}

void arena_free(Arena *a)
{
    ArenaBlock *b = a->head;
    while (b) {
        ArenaBlock *next = b->next;
        if (a->cached)
            tcache_give(b, b->size); /* the next compile on this thread reuses it */
        else
            mem_free(a->mem, b, b->size);
        b = next;
    }
    a->head = NULL;
    a->cur = a->end = NULL;
}

void *arena_alloc(Arena *a, size_t size)
{
    size = (size + 15) & ~(size_t)15;
    if ((size_t)(a->end - a->cur) < size) {
        size_t bsize = HDR + size > BLOCK_MIN ? HDR + size : BLOCK_MIN;
        size_t got = 0;
        ArenaBlock *b = a->cached ? tcache_take(bsize, &got) : NULL;
        if (b)
            bsize = got;
        else if (!(b = mem_alloc(a->mem, bsize)))
            return NULL;
        b->size = bsize;
        b->next = a->head;
        a->head = b;
        a->cur = (char *)b + HDR;
        a->end = (char *)b + bsize;
    }
    void *p = a->cur;
    a->cur += size;
    memset(p, 0, size);
    return p;
}

char *arena_strndup(Arena *a, const char *s, size_t n)
{
    char *d = arena_alloc(a, n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}
