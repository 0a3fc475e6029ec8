/*
 * fsrs/error.h - status codes and the per-thread "last error".
 *
 * Every fallible public function returns an int status: FSRS_OK (0) on
 * success, one of the negative FSRS_E* codes on failure.  Details of the
 * most recent failure on the calling thread are kept in thread-local storage
 * and read with fsrs_error_last().  The library never prints and never exits.
 *
 * Threads: every function here may be called from any thread; each thread
 * sees only its own last error.  Wait-free.
 */
#ifndef FSRS_ERROR_H
#define FSRS_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

#define FSRS_OK         0
#define FSRS_ERROR     -1  /* generic failure */
#define FSRS_ENOMEM    -2  /* the allocator hook returned NULL */
#define FSRS_ECOMPILE  -3  /* a script did not compile (syntax, undefined name) */
#define FSRS_ERUNTIME  -4  /* a script raised a runtime error */
#define FSRS_ENOTFOUND -5  /* a name (function, file) does not exist */
#define FSRS_EINVAL    -6  /* an argument to the API is invalid */
#define FSRS_ELIMIT    -7  /* instruction budget, memory limit or stack depth hit */
#define FSRS_EINTR     -8  /* fsrs_vm_interrupt() stopped the call */
#define FSRS_EIO       -9  /* reading a file failed */

typedef struct fsrs_error {
    int code;            /* one of the FSRS_E* codes above */
    const char *message; /* human-readable message, never NULL */
    const char *file;    /* script name the error points into, or NULL */
    int line;            /* 1-based line, 0 when unknown */
    int col;             /* 1-based column, 0 when unknown */
    const char *trace;   /* runtime errors: script stack trace, one
                            "  at NAME (FILE:LINE)" per line; else NULL */
} fsrs_error;

/*
 * The last error raised on the calling thread, or NULL if none was raised
 * since the thread started or since fsrs_error_clear().  The pointer and the
 * strings it holds stay valid until the next failing fsrs call on this
 * thread.
 */
const fsrs_error *fsrs_error_last(void);

/* Forget the calling thread's last error. */
void fsrs_error_clear(void);

/* A static English name for a status code ("out of memory", ...). */
const char *fsrs_strerror(int code);

#ifdef __cplusplus
}
#endif
#endif
