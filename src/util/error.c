/*
 * util/error.c - the per-thread last error behind fsrs_error_last().
 *
 * Each thread owns one record in thread-local storage; its strings live in
 * fixed buffers so recording an error never allocates (an out-of-memory
 * error must be reportable).  Any thread; wait-free.
 */
#include "util/error.h"

#include <stdio.h>
#include <string.h>

#define MSG_MAX 1024
#define FILE_MAX 512
#define TRACE_MAX 4096

typedef struct ErrorSlot {
    fsrs_error err;
    int set;
    char message[MSG_MAX];
    char file[FILE_MAX];
    char trace[TRACE_MAX];
} ErrorSlot;

static _Thread_local ErrorSlot slot;

const fsrs_error *fsrs_error_last(void) { return slot.set ? &slot.err : NULL; }

void fsrs_error_clear(void) { slot.set = 0; }

int fsrs__error_vset(int code, const char *file, int line, int col, const char *fmt, va_list ap)
{
    vsnprintf(slot.message, sizeof slot.message, fmt, ap);
    slot.err.code = code;
    slot.err.message = slot.message;
    if (file) {
        snprintf(slot.file, sizeof slot.file, "%s", file);
        slot.err.file = slot.file;
    } else {
        slot.err.file = NULL;
    }
    slot.err.line = line;
    slot.err.col = col;
    slot.err.trace = NULL;
    slot.set = 1;
    return code;
}

int fsrs__error_set(int code, const char *file, int line, int col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fsrs__error_vset(code, file, line, col, fmt, ap);
    va_end(ap);
    return code;
}

void fsrs__error_set_trace(const char *trace)
{
    snprintf(slot.trace, sizeof slot.trace, "%s", trace);
    slot.err.trace = slot.trace;
}

const char *fsrs_strerror(int code)
{
    switch (code) {
    case FSRS_OK: return "ok";
    case FSRS_ERROR: return "error";
    case FSRS_ENOMEM: return "out of memory";
    case FSRS_ECOMPILE: return "compile error";
    case FSRS_ERUNTIME: return "runtime error";
    case FSRS_ENOTFOUND: return "not found";
    case FSRS_EINVAL: return "invalid argument";
    case FSRS_ELIMIT: return "limit exceeded";
    case FSRS_EINTR: return "interrupted";
    case FSRS_EIO: return "i/o error";
    default: return "unknown error";
    }
}
