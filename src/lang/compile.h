/*
 * lang/compile.h - syntax tree -> immutable chunk (private entry point).
 * Name resolution happens here: every name becomes a local slot, a captured
 * value, a global slot, a host import or a builtin, or a compile error.
 * Compiling thread only.
 */
#ifndef FSRS_LANG_COMPILE_H
#define FSRS_LANG_COMPILE_H

#include <fsrs/chunk.h>

#include "lang/parse.h"
#include "vm/object.h"

typedef struct CompileError {
    int line, col;
    char msg[256];
} CompileError;

/* Returns FSRS_OK with *out set, FSRS_ECOMPILE with err filled, or
 * FSRS_ENOMEM. */
int compile_program(const fsrs_compile_options *opts, Arena *scratch, const Program *prog,
                    const char *name, fsrs_chunk **out, CompileError *err);

/* builtins.c: index of a builtin function by name, or -1. */
int builtin_lookup(const char *name);
/* builtins.c: is there a builtin "name.x" (name is a library module)? */
bool builtin_module(const char *name);
/* builtins.c: a case of the built-in unions option and Result, or NULL. */
const Shape *builtin_case(const char *name);
/* builtins.c: the record shape whose one field, Message, compiles
 * `e.Message` on an exception. */
const Shape *builtin_exn_record(void);
/* lib_math.c: a named constant of the library (nan, Math.PI,
 * System.Int32.MaxValue, ...): true with its value in *out. */
bool builtin_constant(const char *name, Value *out);

/* format.c: count the arguments a printf-style format consumes; -1 with
 * *bad_offset set (byte offset in fmt) and msg filled if it is invalid. */
int fmt_count_args(const char *fmt, size_t len, size_t *bad_offset, char *msg, size_t msgcap);

#endif
