/*
 * lang/chunk.h - the layout of a compiled chunk (private).
 *
 * Everything a chunk owns lives in its arena and is written only while the
 * compiler builds it; afterwards the chunk is immutable and shared.  The one
 * mutable field is the reference count (atomic).
 * Threads: any thread may read a published chunk.
 */
#ifndef FSRS_LANG_CHUNK_H
#define FSRS_LANG_CHUNK_H

#include <stdatomic.h>
#include <stdint.h>

#include <fsrs/chunk.h>

#include "lang/arena.h"
#include "util/mem.h"
#include "vm/object.h"

enum { CAP_LOCAL, CAP_CAPTURE, CAP_SELF };

typedef struct CapDesc {
    uint32_t kind;   /* CAP_* */
    uint32_t index;  /* slot or capture index in the enclosing function */
} CapDesc;

struct Proto {
    const uint32_t *code;
    const uint32_t *lines; /* source line per code word */
    uint32_t ncode;
    const Value *consts;
    uint32_t nconsts;
    const CapDesc *caps;
    uint32_t ncaps;
    uint32_t arity;        /* 0 only for the chunk's top-level code */
    uint32_t maxstack;     /* slots above base the function may use */
    const char *name;
    int line;
    const fsrs_chunk *chunk;
};

struct fsrs_chunk {
    atomic_uint refs;
    Mem mem;
    Arena arena;
    const char *name;
    const Proto **protos;
    uint32_t nprotos;
    const Proto *main;
    const char **globals;   /* name of each global slot, in definition order */
    uint32_t nglobals;
    const char **hosts;     /* host functions the code refers to (OP_HOST) */
    uint32_t nhosts;
    size_t source_len;
};

#endif
