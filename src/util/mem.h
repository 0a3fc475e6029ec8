/*
 * util/mem.h - the allocator hook every allocation of the library goes
 * through, and a growable byte buffer built on it.
 *
 * Threads: a Mem is used by one thread at a time (the compiling thread or
 * the VM's owner); the default hook (realloc/free) is itself thread-safe.
 */
#ifndef FSRS_UTIL_MEM_H
#define FSRS_UTIL_MEM_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <fsrs/chunk.h>

typedef struct Mem {
    fsrs_alloc_fn fn;
    void *ud;
    int is_default;  /* fn is the C library's: blocks may be cached (tcache.h) */
} Mem;

/* Fill m from a (possibly NULL) hook; NULL means the C library. */
void mem_init(Mem *m, fsrs_alloc_fn fn, void *ud);
/* Return NULL on failure (never abort). */
void *mem_alloc(const Mem *m, size_t size);
void *mem_realloc(const Mem *m, void *p, size_t old_size, size_t new_size);
void mem_free(const Mem *m, void *p, size_t size);
char *mem_strdup(const Mem *m, const char *s);

/* ---------------------------------------------------------------- Buf --- */

/* A growable NUL-terminated byte buffer.  `failed` latches after the first
 * allocation failure, so callers may append freely and check once. */
typedef struct Buf {
    const Mem *mem;
    char *data;
    size_t len, cap;
    int failed;
} Buf;

void buf_init(Buf *b, const Mem *mem);
void buf_free(Buf *b);
void buf_put(Buf *b, const char *s, size_t n);
void buf_puts(Buf *b, const char *s);
void buf_putc(Buf *b, char c);
void buf_printf(Buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void buf_vprintf(Buf *b, const char *fmt, va_list ap);

#endif
