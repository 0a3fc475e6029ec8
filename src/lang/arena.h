/*
 * lang/arena.h - bump allocator for everything the compiler builds and
 * throws away (tokens, AST, scopes).  One arena per compilation; freed whole.
 * Compiling thread only.
 */
#ifndef FSRS_LANG_ARENA_H
#define FSRS_LANG_ARENA_H

#include <stddef.h>

#include "util/mem.h"

typedef struct ArenaBlock ArenaBlock;

typedef struct Arena {
    const Mem *mem;
    ArenaBlock *head;
    char *cur, *end;
    int cached;         /* blocks come from and go back to the thread's cache */
} Arena;

void arena_init(Arena *a, const Mem *mem);
/* A scratch arena for one compile: with the default allocator its blocks
 * are kept for the next compile on this thread (util/tcache.h).  Not for
 * memory that outlives the compile or is freed on another thread. */
void arena_init_scratch(Arena *a, const Mem *mem);
void arena_free(Arena *a);
/* Zeroed memory, 16-byte aligned; NULL when out of memory. */
void *arena_alloc(Arena *a, size_t size);
char *arena_strndup(Arena *a, const char *s, size_t n);

#endif
