/*
 * tests/unit/unit.h - helpers shared by the Criterion unit tests.
 *
 * Each tests/unit/test_*.c is its own executable, so everything here is
 * static inline: a file uses what it needs and the rest costs nothing.
 */
#ifndef FSRS_TESTS_UNIT_H
#define FSRS_TESTS_UNIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include <fsrs/fsrs.h>

#define UNIT_SCRIPT "test.fsrs"

/* The message of the calling thread's last error, never NULL. */
static inline const char *last_message(void)
{
    const fsrs_error *e = fsrs_error_last();
    return e && e->message ? e->message : "(no error recorded)";
}

/* ------------------------------------------------------------ output --- */

/* Collects what an fsrs_output_fn receives. */
typedef struct Capture {
    char *data;
    size_t len, cap;
} Capture;

static inline void capture_output(const char *text, size_t len, void *userdata)
{
    Capture *c = userdata;
    if (c->len + len + 1 > c->cap) {
        size_t cap = c->cap ? c->cap : 256;
        while (cap < c->len + len + 1)
            cap *= 2;
        char *d = realloc(c->data, cap);
        cr_assert_not_null(d);
        c->data = d;
        c->cap = cap;
    }
    memcpy(c->data + c->len, text, len);
    c->len += len;
    c->data[c->len] = '\0';
}

static inline const char *capture_text(const Capture *c) { return c->data ? c->data : ""; }

static inline void capture_free(Capture *c)
{
    free(c->data);
    c->data = NULL;
    c->len = c->cap = 0;
}

/* --------------------------------------------------------- compiling --- */

static inline int compile_src(const fsrs_compile_options *opts, const char *src,
                              fsrs_chunk **out)
{
    return fsrs_compile(opts, UNIT_SCRIPT, src, strlen(src), out);
}

/* Compile src, failing the test with the compiler's message if it does not. */
static inline fsrs_chunk *compile_ok(const char *src)
{
    fsrs_chunk *chunk = NULL;
    int rc = compile_src(NULL, src, &chunk);
    cr_assert_eq(rc, FSRS_OK, "compile failed (%d): %s", rc, last_message());
    cr_assert_not_null(chunk);
    return chunk;
}

/* Compile src, expect FSRS_ECOMPILE and return the recorded error. */
static inline const fsrs_error *compile_fails(const char *src)
{
    fsrs_chunk *chunk = NULL;
    int rc = compile_src(NULL, src, &chunk);
    if (rc == FSRS_OK)
        fsrs_chunk_free(chunk);
    cr_assert_eq(rc, FSRS_ECOMPILE, "expected a compile error, got %d", rc);
    const fsrs_error *e = fsrs_error_last();
    cr_assert_not_null(e);
    cr_assert_eq(e->code, FSRS_ECOMPILE);
    return e;
}

/* --------------------------------------------------------------- VMs --- */

/* A new VM (cfg may be NULL) with src compiled and loaded.  The VM holds
 * the only reference to the chunk. */
static inline fsrs_vm *vm_with(const fsrs_config *cfg, const char *src)
{
    fsrs_chunk *chunk = compile_ok(src);
    fsrs_vm *vm = NULL;
    cr_assert_eq(fsrs_vm_new(cfg, &vm), FSRS_OK);
    int rc = fsrs_vm_load(vm, chunk);
    fsrs_chunk_free(chunk);
    cr_assert_eq(rc, FSRS_OK, "load failed (%d): %s", rc, last_message());
    return vm;
}

static inline int64_t global_int(fsrs_vm *vm, const char *name)
{
    fsrs_value v;
    cr_assert_eq(fsrs_vm_global(vm, name, &v), FSRS_OK, "global '%s': %s", name,
                 last_message());
    cr_assert_eq(fsrs_value_type(v), FSRS_TYPE_INT, "global '%s' is a %s", name,
                 fsrs_type_name(fsrs_value_type(v)));
    return fsrs_value_as_int(v);
}

static inline bool global_bool(fsrs_vm *vm, const char *name)
{
    fsrs_value v;
    cr_assert_eq(fsrs_vm_global(vm, name, &v), FSRS_OK, "global '%s': %s", name,
                 last_message());
    cr_assert_eq(fsrs_value_type(v), FSRS_TYPE_BOOL, "global '%s' is a %s", name,
                 fsrs_type_name(fsrs_value_type(v)));
    return fsrs_value_as_bool(v);
}

/* fsrs_vm_call with int arguments, expecting an int result. */
static inline int64_t call_int(fsrs_vm *vm, const char *name, int argc, const int64_t *args)
{
    fsrs_value argv[16];
    cr_assert(argc >= 0 && argc <= 16);
    for (int i = 0; i < argc; i++)
        argv[i] = fsrs_int(args[i]);
    fsrs_value r;
    int rc = fsrs_vm_call(vm, name, argc, argv, &r);
    cr_assert_eq(rc, FSRS_OK, "call '%s' failed (%d): %s", name, rc, last_message());
    cr_assert_eq(fsrs_value_type(r), FSRS_TYPE_INT, "'%s' returned a %s", name,
                 fsrs_type_name(fsrs_value_type(r)));
    return fsrs_value_as_int(r);
}

/* %A rendering of v into a static buffer (one at a time). */
static inline const char *show(fsrs_value v)
{
    static char buf[512];
    fsrs_value_format(v, buf, sizeof buf);
    return buf;
}

/* --------------------------------------------------------- allocator --- */

/*
 * An allocator hook that keeps the size of every block in a header, so it
 * can count live bytes, check that the library passes back the sizes it
 * asked for, and fail one chosen request.
 */
typedef struct CountingAlloc {
    size_t live;           /* bytes currently allocated */
    size_t total;          /* bytes ever handed out */
    long requests;         /* allocation and growth requests seen */
    long fail_at;          /* index of the request to refuse; -1: none */
    long failed;           /* requests refused */
    long size_mismatches;  /* old_size differed from the recorded size */
} CountingAlloc;

#define COUNTING_HDR 16

static inline void counting_init(CountingAlloc *a)
{
    memset(a, 0, sizeof *a);
    a->fail_at = -1;
}

static inline void *counting_alloc(void *ptr, size_t old_size, size_t new_size, void *userdata)
{
    CountingAlloc *a = userdata;
    char *hdr = ptr ? (char *)ptr - COUNTING_HDR : NULL;
    size_t recorded = 0;
    if (hdr) {
        memcpy(&recorded, hdr, sizeof recorded);
        if (recorded != old_size)
            a->size_mismatches++;
    }
    if (new_size == 0) {
        if (hdr) {
            a->live -= recorded;
            free(hdr);
        }
        return NULL;
    }
    long idx = a->requests++;
    if (idx == a->fail_at) {
        a->failed++;
        return NULL;
    }
    char *n = realloc(hdr, new_size + COUNTING_HDR);
    if (!n)
        return NULL;
    memcpy(n, &new_size, sizeof new_size);
    a->live = a->live - recorded + new_size;
    if (new_size > recorded)
        a->total += new_size - recorded;
    return n + COUNTING_HDR;
}

#endif
