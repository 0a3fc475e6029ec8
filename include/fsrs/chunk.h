/*
 * fsrs/chunk.h - compiling Mini-F# source into immutable chunks.
 *
 * A chunk holds a compiled script: bytecode, constants, function prototypes
 * and a line table.  Once fsrs_compile returns it, a chunk is never written
 * again, so any number of threads may run it at once.  Chunks are reference
 * counted: fsrs_chunk_retain adds a reference, fsrs_chunk_free drops one and
 * frees the chunk with the last.  A VM that loads a chunk holds a reference.
 *
 * Threads: fsrs_compile* may run on any thread (it touches no shared state).
 * fsrs_chunk_retain/free are atomic and may be called from any thread.
 */
#ifndef FSRS_CHUNK_H
#define FSRS_CHUNK_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fsrs_chunk fsrs_chunk;

/* realloc-style allocator: new_size 0 frees ptr and returns NULL; ptr NULL
 * allocates.  old_size is the size previously asked for (0 for ptr NULL). */
typedef void *(*fsrs_alloc_fn)(void *ptr, size_t old_size, size_t new_size, void *userdata);

/* Receives text the library produces (script output, disassembly). */
typedef void (*fsrs_output_fn)(const char *text, size_t len, void *userdata);

typedef struct fsrs_compile_options {
    fsrs_alloc_fn alloc;      /* default NULL: the C library's realloc/free */
    void *alloc_userdata;     /* passed to alloc; default NULL */
    /* Names of host functions the script may call (see fsrs_vm_register).
     * Default NULL/0: none.  Compiling checks names against this list; the
     * VM binds them when the chunk is loaded.  The strings are copied. */
    const char *const *host_names;
    size_t host_count;
} fsrs_compile_options;

/* Fill opts with the defaults documented above. */
void fsrs_compile_options_init(fsrs_compile_options *opts);

/*
 * Compile `len` bytes of `source`.  `name` (copied) is the file name used in
 * diagnostics and stack traces.  opts may be NULL for the defaults.
 * On success *out is a new chunk with one reference.  On failure returns
 * FSRS_ECOMPILE (fsrs_error_last() gives "message" with file, line, col)
 * or FSRS_ENOMEM, and *out is untouched.
 */
int fsrs_compile(const fsrs_compile_options *opts, const char *name, const char *source,
                 size_t len, fsrs_chunk **out);

/* Read the file at `path` and compile it; FSRS_EIO if it cannot be read. */
int fsrs_compile_file(const fsrs_compile_options *opts, const char *path, fsrs_chunk **out);

void fsrs_chunk_retain(fsrs_chunk *chunk);
/* Drop one reference; NULL is accepted. */
void fsrs_chunk_free(fsrs_chunk *chunk);

const char *fsrs_chunk_name(const fsrs_chunk *chunk);

/* Write a human-readable listing of the chunk's bytecode to out. */
void fsrs_chunk_disasm(const fsrs_chunk *chunk, fsrs_output_fn out, void *userdata);

#ifdef __cplusplus
}
#endif
#endif
