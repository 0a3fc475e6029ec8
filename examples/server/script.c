/*
 * examples/server/script.c - the binding between HTTP and the handler
 * script: builds the Request record, calls `handle` through the worker's
 * reader (one read section per request), checks the Response record the
 * script returns and frames it; also the host functions scripts may call
 * (queryParam, serverStats) and the rate-limited error log.
 *
 * Each script_ctx belongs to one worker thread: its reader and the reader's
 * VMs are only touched there.  The server counters are atomics; the error
 * log takes a mutex (only on the error path).
 */
#define _GNU_SOURCE
#include "server.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Bounds on one handle call: a runaway script ends with a 500, the server
 * keeps serving. */
#define SCRIPT_INSTRUCTION_BUDGET 10000000u
#define SCRIPT_MEMORY_LIMIT (64u * 1024 * 1024)

/* ---------------------------------------------------------- error log --- */

#define LOG_LINES_PER_SECOND 5

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static time_t log_window;
static unsigned log_in_window;
static unsigned long log_dropped;

void server_log_limited(const char *fmt, ...)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    pthread_mutex_lock(&log_lock);
    if (ts.tv_sec != log_window) {
        log_window = ts.tv_sec;
        log_in_window = 0;
        if (log_dropped) {
            fprintf(stderr, "(%lu more errors not shown)\n", log_dropped);
            log_dropped = 0;
        }
    }
    if (log_in_window < LOG_LINES_PER_SECOND) {
        log_in_window++;
        va_list ap;
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        fflush(stderr);
    } else {
        log_dropped++;
    }
    pthread_mutex_unlock(&log_lock);
}

void server_log_flush(void)
{
    pthread_mutex_lock(&log_lock);
    if (log_dropped) {
        fprintf(stderr, "(%lu more errors not shown)\n", log_dropped);
        fflush(stderr);
        log_dropped = 0;
    }
    pthread_mutex_unlock(&log_lock);
}

/* ------------------------------------------------------ host functions --- */

const char *const script_host_names[] = {"queryParam", "serverStats"};
const unsigned script_host_count = 2;

static int hex(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decode application/x-www-form-urlencoded bytes into out (n bytes room);
 * returns the decoded length.  A malformed escape is kept as it is. */
static size_t url_decode(const char *s, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+') {
            out[o++] = ' ';
        } else if (s[i] == '%' && i + 2 < n && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
            out[o++] = (char)(hex(s[i + 1]) * 16 + hex(s[i + 2]));
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    return o;
}

/* queryParam : string -> string -> string
 * `queryParam "name" req.Query` is the decoded value of the first name=...
 * in the query string, "" when there is none. */
static int host_query_param(fsrs_vm *vm, const fsrs_value *args, int argc, fsrs_value *out,
                            void *ud)
{
    (void)argc;
    (void)ud;
    if (fsrs_value_type(args[0]) != FSRS_TYPE_STRING ||
        fsrs_value_type(args[1]) != FSRS_TYPE_STRING)
        return fsrs_vm_raise(vm, "queryParam expects a name and a query string");
    size_t klen, qlen;
    const char *key = fsrs_value_as_string(args[0], &klen);
    const char *q = fsrs_value_as_string(args[1], &qlen);
    char *scratch = malloc(qlen + 1);
    if (!scratch)
        return fsrs_vm_raise(vm, "queryParam: out of memory");
    const char *p = q, *end = q + qlen;
    size_t vlen = 0;
    bool found = false;
    while (p < end && !found) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        const char *kend = eq ? eq : stop;
        size_t dk = url_decode(p, (size_t)(kend - p), scratch);
        if (dk == klen && memcmp(scratch, key, klen) == 0) {
            found = true;
            vlen = eq ? url_decode(eq + 1, (size_t)(stop - eq - 1), scratch) : 0;
        }
        p = amp ? amp + 1 : end;
    }
    int rc = fsrs_string_new(vm, scratch, found ? vlen : 0, out);
    free(scratch);
    return rc == FSRS_OK ? FSRS_OK : fsrs_vm_raise(vm, "queryParam: out of memory");
}

/* serverStats : unit -> { Requests: int; Errors: int; Reloads: int;
 *                         Worker: int; Workers: int } */
static int host_server_stats(fsrs_vm *vm, const fsrs_value *args, int argc, fsrs_value *out,
                             void *ud)
{
    (void)args;
    (void)argc;
    script_ctx *ctx = ud;
    fsrs_engine_stats st;
    fsrs_engine_stats_get(ctx->srv->engine, &st);
    static const char *const names[] = {"Requests", "Errors", "Reloads", "Worker", "Workers"};
    fsrs_value values[5] = {
        /* relaxed: statistics only */
        fsrs_int((int64_t)atomic_load_explicit(&ctx->srv->requests, memory_order_relaxed)),
        fsrs_int((int64_t)atomic_load_explicit(&ctx->srv->script_errors, memory_order_relaxed)),
        fsrs_int((int64_t)st.reloads_ok),
        fsrs_int((int64_t)ctx->worker_index),
        fsrs_int((int64_t)ctx->srv->nworkers),
    };
    if (fsrs_record_new(vm, 5, names, values, out) != FSRS_OK)
        return fsrs_vm_raise(vm, "serverStats: out of memory");
    return FSRS_OK;
}

static int setup_vm(fsrs_vm *vm, void *ud)
{
    int rc = fsrs_vm_register(vm, "queryParam", 2, host_query_param, ud);
    if (rc == FSRS_OK)
        rc = fsrs_vm_register(vm, "serverStats", 1, host_server_stats, ud);
    return rc;
}

/* ----------------------------------------------------------- life cycle --- */

bool script_ctx_init(script_ctx *ctx, server *srv, unsigned worker_index)
{
    ctx->srv = srv;
    ctx->worker_index = worker_index;
    fsrs_config cfg;
    fsrs_config_init(&cfg);
    cfg.instruction_budget = SCRIPT_INSTRUCTION_BUDGET;
    cfg.memory_limit = SCRIPT_MEMORY_LIMIT;
    int rc = fsrs_reader_new(srv->engine, &cfg, setup_vm, ctx, &ctx->reader);
    if (rc != FSRS_OK) {
        fprintf(stderr, "server: worker %u: cannot create a reader: %s\n", worker_index,
                fsrs_strerror(rc));
        return false;
    }
    /* Requests come in bursts between two epoll_waits: with deferred
     * leave, only the first request of a burst pays for entering the
     * epoch section, and script_ctx_idle ends it before the worker sleeps
     * so that replaced handlers are freed while the server is idle. */
    fsrs_reader_defer_leave(ctx->reader, true);
    return true;
}

void script_ctx_idle(script_ctx *ctx) { fsrs_reader_quiesce(ctx->reader); }

void script_ctx_free(script_ctx *ctx)
{
    fsrs_reader_free(ctx->reader);
    ctx->reader = NULL;
}

/* ------------------------------------------------------------ requests --- */

static int make_string(fsrs_vm *vm, http_slice s, fsrs_value *out)
{
    return fsrs_string_new(vm, s.p, s.n, out);
}

/* The Request record, fields in the order the script declares them.
 * Header names are lower-cased so scripts can match them literally. */
static int build_request(fsrs_vm *vm, const http_request *req, fsrs_value *out)
{
    static const char *const names[] = {"Method", "Path", "Query", "Headers", "Body"};
    fsrs_value f[5];
    fsrs_value hdrs[HTTP_MAX_HEADERS];
    char lname[HTTP_MAX_HEAD];
    int rc;
    if ((rc = make_string(vm, req->method, &f[0])) || (rc = make_string(vm, req->path, &f[1])) ||
        (rc = make_string(vm, req->query, &f[2])))
        return rc;
    for (size_t i = 0; i < req->nheaders; i++) {
        const http_header *h = &req->headers[i];
        size_t n = h->name.n < sizeof lname ? h->name.n : sizeof lname;
        for (size_t k = 0; k < n; k++) {
            char c = h->name.p[k];
            lname[k] = c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
        }
        fsrs_value pair[2];
        if ((rc = fsrs_string_new(vm, lname, n, &pair[0])) ||
            (rc = make_string(vm, h->value, &pair[1])) ||
            (rc = fsrs_tuple_new(vm, 2, pair, &hdrs[i])))
            return rc;
    }
    if ((rc = fsrs_list_new(vm, req->nheaders, hdrs, &f[3])) ||
        (rc = make_string(vm, req->body, &f[4])))
        return rc;
    return fsrs_record_new(vm, 5, names, f, out);
}

/* Append the script's response to out.  NULL on success, else what is
 * wrong with it (out is then left as it was). */
static const char *frame_response(fsrs_value resp, const http_request *req, bool keep_alive,
                                  http_buf *out, bool *oom)
{
    fsrs_value status, headers, body;
    if (fsrs_value_type(resp) != FSRS_TYPE_RECORD)
        return "handle did not return a record";
    if (fsrs_record_get(resp, "Status", &status) != FSRS_OK ||
        fsrs_value_type(status) != FSRS_TYPE_INT)
        return "Status is missing or not an int";
    if (fsrs_record_get(resp, "Headers", &headers) != FSRS_OK ||
        fsrs_value_type(headers) != FSRS_TYPE_LIST)
        return "Headers is missing or not a list";
    if (fsrs_record_get(resp, "Body", &body) != FSRS_OK ||
        fsrs_value_type(body) != FSRS_TYPE_STRING)
        return "Body is missing or not a string";
    int64_t code = fsrs_value_as_int(status);
    if (code < 200 || code > 599)
        return "Status is not between 200 and 599";
    size_t body_len;
    const char *body_bytes = fsrs_value_as_string(body, &body_len);

    size_t start = out->len;
    bool ok = http_begin_response(out, (int)code, body_len, keep_alive, req->minor);
    bool have_type = false;
    const char *bad = NULL;
    for (fsrs_value l = headers; ok && !fsrs_list_is_empty(l); l = fsrs_list_tail(l)) {
        fsrs_value h = fsrs_list_head(l);
        if (fsrs_value_type(h) != FSRS_TYPE_TUPLE || fsrs_tuple_size(h) != 2 ||
            fsrs_value_type(fsrs_tuple_get(h, 0)) != FSRS_TYPE_STRING ||
            fsrs_value_type(fsrs_tuple_get(h, 1)) != FSRS_TYPE_STRING) {
            bad = "a header is not a (string * string) pair";
            break;
        }
        size_t nn, vn;
        const char *name = fsrs_value_as_string(fsrs_tuple_get(h, 0), &nn);
        const char *value = fsrs_value_as_string(fsrs_tuple_get(h, 1), &vn);
        if (!http_is_token(name, nn)) {
            bad = "a header name is not a token";
            break;
        }
        if (!http_is_field_value(value, vn)) {
            bad = "a header value contains CR, LF or NUL";
            break;
        }
        http_slice ns = {name, nn};
        /* the host owns the framing */
        if (http_slice_eq(ns, "content-length") || http_slice_eq(ns, "connection") ||
            http_slice_eq(ns, "transfer-encoding"))
            continue;
        have_type |= http_slice_eq(ns, "content-type");
        ok = http_buf_append(out, name, nn) && http_buf_append(out, ": ", 2) &&
             http_buf_append(out, value, vn) && http_buf_append(out, "\r\n", 2);
    }
    if (!bad && ok && !have_type)
        ok = http_buf_printf(out, "Content-Type: text/plain; charset=utf-8\r\n");
    if (!bad && ok)
        ok = http_buf_append(out, "\r\n", 2) &&
             (http_slice_eq(req->method, "HEAD") || http_buf_append(out, body_bytes, body_len));
    if (bad || !ok) {
        out->len = start;
        *oom = !ok && !bad;
        return bad ? bad : "out of memory";
    }
    return NULL;
}

static void log_script_error(const http_request *req, int rc)
{
    const fsrs_error *e = fsrs_error_last();
    const char *msg = e ? e->message : fsrs_strerror(rc);
    char where[512] = "";
    if (e && e->file && e->line > 0 && e->col > 0)
        snprintf(where, sizeof where, "%s:%d:%d: ", e->file, e->line, e->col);
    else if (e && e->file && e->line > 0)
        snprintf(where, sizeof where, "%s:%d: ", e->file, e->line);
    server_log_limited("server: %.*s %.*s: handler failed: %s%s", (int)req->method.n,
                       req->method.p, (int)req->path.n, req->path.p, where, msg);
}

bool script_respond(script_ctx *ctx, const http_request *req, bool keep_alive, http_buf *out)
{
    fsrs_reader *r = ctx->reader;
    const char *fail_body = NULL;
    int fail_status = 500;
    bool oom = false;

    fsrs_reader_enter(r);
    int rc = fsrs_reader_load(r, SERVER_SCRIPT);
    fsrs_vm *vm = rc == FSRS_OK ? fsrs_reader_vm(r, SERVER_SCRIPT) : NULL;
    fsrs_value request, response;
    if (rc == FSRS_ENOTFOUND && fsrs_engine_version(ctx->srv->engine, SERVER_SCRIPT) == 0) {
        fail_status = 503;
        fail_body = "no handler has compiled yet\n";
    } else if (rc != FSRS_OK || !vm) {
        log_script_error(req, rc);
        fail_body = "handler error\n";
    } else if ((rc = build_request(vm, req, &request)) != FSRS_OK) {
        server_log_limited("server: cannot build the request record: %s", fsrs_strerror(rc));
        fail_body = "handler error\n";
    } else if ((rc = fsrs_reader_call(r, SERVER_SCRIPT, SERVER_ENTRY, 1, &request, &response)) !=
               FSRS_OK) {
        log_script_error(req, rc);
        fail_body = "handler error\n";
    } else {
        const char *bad = frame_response(response, req, keep_alive, out, &oom);
        if (bad) {
            server_log_limited("server: %.*s %.*s: bad response from handle: %s",
                               (int)req->method.n, req->method.p, (int)req->path.n, req->path.p,
                               bad);
            fail_body = "handler returned a bad response\n";
        }
    }
    fsrs_reader_leave(r);
    fsrs_reader_release(r);

    /* relaxed: statistics only */
    atomic_fetch_add_explicit(&ctx->srv->requests, 1, memory_order_relaxed);
    if (oom)
        return false;
    if (fail_body) {
        if (fail_status == 500)
            atomic_fetch_add_explicit(&ctx->srv->script_errors, 1, memory_order_relaxed);
        return http_simple_response(out, fail_status, fail_body, keep_alive, req->minor);
    }
    return true;
}
