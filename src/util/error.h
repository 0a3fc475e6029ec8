/*
 * util/error.h - setting the calling thread's fsrs_error_last().
 * Any thread; each thread has its own record (thread-local storage).
 */
#ifndef FSRS_UTIL_ERROR_H
#define FSRS_UTIL_ERROR_H

#include <stdarg.h>

#include <fsrs/error.h>

/* Record an error on this thread and return `code`.  file may be NULL. */
int fsrs__error_set(int code, const char *file, int line, int col, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;
int fsrs__error_vset(int code, const char *file, int line, int col, const char *fmt, va_list ap);
/* Attach a stack trace (copied) to the current error. */
void fsrs__error_set_trace(const char *trace);

#endif
