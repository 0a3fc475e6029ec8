/*
 * examples/server/server.h - what the parts of the example server share:
 * the server-wide state (set up by main, read by the workers), the worker
 * pool, and the script binding that turns a request into a response.
 */
#ifndef FSRS_EXAMPLE_SERVER_H
#define FSRS_EXAMPLE_SERVER_H

#include <fsrs/fsrs.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "http.h"

/* The script every request goes to, and its entry function. */
#define SERVER_SCRIPT "handler.fsrs"
#define SERVER_ENTRY "handle"

typedef struct server {
    fsrs_engine *engine;
    int listen_fd;       /* non-blocking, shared by every worker's epoll */
    int stop_fd;         /* eventfd: readable once the server stops */
    unsigned nworkers;
    atomic_uint_fast64_t requests;     /* responses produced, all workers */
    atomic_uint_fast64_t script_errors;/* requests answered 500 because of the script */
} server;

/* ------------------------------------------------------------- workers --- */

typedef struct worker worker;

/* Start worker number index (its thread creates its reader and epoll).
 * Returns NULL with a message on stderr when it cannot start. */
worker *worker_start(server *srv, unsigned index);
/* Join the worker (after srv->stop_fd became readable) and free it. */
void worker_join(worker *w);

/* -------------------------------------------------------- script binding --- */

/* Names of the host functions the script may call (for the compiler). */
extern const char *const script_host_names[];
extern const unsigned script_host_count;

/* A worker's view of the script: its reader and what the host functions
 * report.  Used only by the worker thread that owns it. */
typedef struct script_ctx {
    server *srv;
    unsigned worker_index;
    fsrs_reader *reader;
} script_ctx;

/* Create ctx->reader on the calling thread.  False with a message on stderr. */
bool script_ctx_init(script_ctx *ctx, server *srv, unsigned worker_index);
void script_ctx_free(script_ctx *ctx);
/* The worker is about to wait for events: let go of the read section that
 * deferred leave keeps open between requests. */
void script_ctx_idle(script_ctx *ctx);

/*
 * Run the script's handle function for req and append the HTTP response to
 * out (keep_alive decides the Connection header).  A script that fails or
 * returns a malformed response gives 500, a script without a compiled
 * version 503.  False only when out of memory.
 */
bool script_respond(script_ctx *ctx, const http_request *req, bool keep_alive, http_buf *out);

/* Print a line on stderr, at most a few per second over the whole process
 * (the others are counted and summarised).  Any thread. */
void server_log_limited(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
/* Print the count of lines server_log_limited left out, if any.  Any thread. */
void server_log_flush(void);

#endif
