/*
 * util/tcache.h - a per-thread cache of large memory blocks for the
 * compiler.
 *
 * Compiling a big script touches tens of megabytes that the C library hands
 * back to the kernel when they are freed, so the next compile on the same
 * thread (the engine's compiler thread recompiles on every save) pays a page
 * fault per page again: most of the compile time.  Blocks given back here
 * stay with the thread (up to 64 MiB) and are reused.  Only memory from the
 * default allocator is cached; a host's allocator hook sees every request.
 * Threads: each thread has its own cache, freed when the thread exits.
 */
#ifndef FSRS_UTIL_TCACHE_H
#define FSRS_UTIL_TCACHE_H

#include <stddef.h>

/* A cached block of at least `size` bytes (its real size in *size_out), or
 * NULL if none: then allocate normally. */
void *tcache_take(size_t size, size_t *size_out);
/* Keep block p of `size` bytes for reuse, or free it if the cache is full. */
void tcache_give(void *p, size_t size);

#endif
