/*
 * lang/chunk.c - the public compile entry points and chunk lifetime.
 *
 * fsrs_compile runs the phases in order (lex.c, parse.c, compile.c) with a
 * scratch arena that is dropped afterwards, and turns the first diagnostic
 * into the thread's last error.  Chunks are reference counted with an
 * atomic counter: retain/free may be called from any thread.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lang/chunk.h"
#include "lang/compile.h"
#include "lang/lex.h"
#include "lang/parse.h"
#include "util/error.h"

void fsrs_compile_options_init(fsrs_compile_options *opts)
{
    memset(opts, 0, sizeof *opts);
}

int fsrs_compile(const fsrs_compile_options *opts, const char *name, const char *source,
                 size_t len, fsrs_chunk **out)
{
    fsrs_compile_options defaults;
    if (!opts) {
        fsrs_compile_options_init(&defaults);
        opts = &defaults;
    }
    if (!out || (!source && len))
        return fsrs__error_set(FSRS_EINVAL, NULL, 0, 0, "fsrs_compile: NULL argument");
    if (!name)
        name = "<script>";
    if (!source)
        source = "";
    Mem mem;
    mem_init(&mem, opts->alloc, opts->alloc_userdata);
    Arena scratch;
    arena_init_scratch(&scratch, &mem);

    int rc;
    LexResult lr;
    memset(&lr, 0, sizeof lr);
    int lrc = lex_source(&scratch, source, len, &lr);
    if (lrc == -2) {
        rc = fsrs__error_set(FSRS_ENOMEM, name, 0, 0, "out of memory while compiling");
        goto done;
    }
    if (lrc) {
        rc = fsrs__error_set(FSRS_ECOMPILE, name, lr.err_line, lr.err_col, "%s", lr.err_msg);
        goto done;
    }
    Parser parser;
    Program prog;
    int prc = parse_program(&parser, &scratch, lr.toks, lr.ntoks, &prog);
    if (prc == -2) {
        rc = fsrs__error_set(FSRS_ENOMEM, name, 0, 0, "out of memory while compiling");
        goto done;
    }
    if (prc) {
        rc = fsrs__error_set(FSRS_ECOMPILE, name, parser.err_line, parser.err_col, "%s",
                             parser.err_msg);
        goto done;
    }
    CompileError cerr = {0};
    rc = compile_program(opts, &scratch, &prog, name, out, &cerr);
    if (rc == FSRS_ECOMPILE)
        fsrs__error_set(FSRS_ECOMPILE, name, cerr.line, cerr.col, "%s", cerr.msg);
    else if (rc == FSRS_ENOMEM)
        fsrs__error_set(FSRS_ENOMEM, name, 0, 0, "out of memory while compiling");
    else
        (*out)->source_len = len;
done:
    lex_free(&scratch, &lr);
    arena_free(&scratch);
    return rc;
}

int fsrs_compile_file(const fsrs_compile_options *opts, const char *path, fsrs_chunk **out)
{
    if (!path || !out)
        return fsrs__error_set(FSRS_EINVAL, NULL, 0, 0, "fsrs_compile_file: NULL argument");
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return fsrs__error_set(FSRS_EIO, path, 0, 0, "cannot open '%s': %s", path,
                               strerror(errno));
    Mem mem;
    mem_init(&mem, opts ? opts->alloc : NULL, opts ? opts->alloc_userdata : NULL);
    Buf b;
    buf_init(&b, &mem);
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, fp)) > 0)
        buf_put(&b, tmp, n);
    int read_err = ferror(fp);
    fclose(fp);
    int rc;
    if (read_err)
        rc = fsrs__error_set(FSRS_EIO, path, 0, 0, "cannot read '%s'", path);
    else if (b.failed)
        rc = fsrs__error_set(FSRS_ENOMEM, path, 0, 0, "out of memory reading '%s'", path);
    else
        rc = fsrs_compile(opts, path, b.data ? b.data : "", b.len, out);
    buf_free(&b);
    return rc;
}

void fsrs_chunk_retain(fsrs_chunk *chunk)
{
    if (chunk)
        atomic_fetch_add_explicit(&chunk->refs, 1, memory_order_relaxed);
}

void fsrs_chunk_free(fsrs_chunk *chunk)
{
    if (!chunk)
        return;
    /* acq_rel: the last owner must see every other owner's reads done */
    if (atomic_fetch_sub_explicit(&chunk->refs, 1, memory_order_acq_rel) != 1)
        return;
    Mem mem = chunk->mem;
    arena_free(&chunk->arena);
    mem_free(&mem, chunk, sizeof *chunk);
}

const char *fsrs_chunk_name(const fsrs_chunk *chunk) { return chunk ? chunk->name : NULL; }
