/*
 * util/mem.c - allocator hook plumbing and the Buf byte buffer.
 * Pure helpers; the thread that owns the Mem/Buf calls them.
 */
#include "util/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *default_alloc(void *ptr, size_t old_size, size_t new_size, void *ud)
{
    (void)old_size;
    (void)ud;
    if (new_size == 0) {
        free(ptr);
        return NULL;
    }
    return realloc(ptr, new_size);
}

void mem_init(Mem *m, fsrs_alloc_fn fn, void *ud)
{
    m->fn = fn ? fn : default_alloc;
    m->ud = fn ? ud : NULL;
    m->is_default = fn == NULL;
}

void *mem_alloc(const Mem *m, size_t size)
{
    return m->fn(NULL, 0, size ? size : 1, m->ud);
}

void *mem_realloc(const Mem *m, void *p, size_t old_size, size_t new_size)
{
    return m->fn(p, old_size, new_size ? new_size : 1, m->ud);
}

void mem_free(const Mem *m, void *p, size_t size)
{
    if (p)
        m->fn(p, size, 0, m->ud);
}

char *mem_strdup(const Mem *m, const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = mem_alloc(m, n);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* ------------------------------------------------------------------ Buf --- */

void buf_init(Buf *b, const Mem *mem)
{
    b->mem = mem;
    b->data = NULL;
    b->len = b->cap = 0;
    b->failed = 0;
}

void buf_free(Buf *b)
{
    mem_free(b->mem, b->data, b->cap);
    b->data = NULL;
    b->len = b->cap = 0;
}

static int buf_reserve(Buf *b, size_t extra)
{
    if (b->failed)
        return 0;
    if (b->len + extra + 1 <= b->cap)
        return 1;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *d = mem_realloc(b->mem, b->data, b->cap, cap);
    if (!d) {
        b->failed = 1;
        return 0;
    }
    b->data = d;
    b->cap = cap;
    return 1;
}

void buf_put(Buf *b, const char *s, size_t n)
{
    if (!buf_reserve(b, n))
        return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void buf_puts(Buf *b, const char *s) { buf_put(b, s, strlen(s)); }

void buf_putc(Buf *b, char c) { buf_put(b, &c, 1); }

void buf_vprintf(Buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0 || !buf_reserve(b, (size_t)n))
        return;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void buf_printf(Buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(b, fmt, ap);
    va_end(ap);
}
