/*
 * examples/server/worker.c - one worker thread of the example server: its
 * epoll loop, the connections it accepted, reading requests, running them
 * through the script in order (pipelined requests included) and writing the
 * responses back.
 *
 * A worker and everything in it (epoll instance, connections, buffers, the
 * script_ctx with its reader) is touched only by the worker's own thread,
 * except worker_start/worker_join, which main calls.  The listening socket is
 * shared: every worker's epoll waits on it with EPOLLEXCLUSIVE, so one
 * connection wakes one worker, and the connection then stays on that
 * worker.  Shutdown: main makes srv->stop_fd readable; each worker notices,
 * closes its connections, frees its reader on its own thread and returns.
 */
#define _GNU_SOURCE
#include "server.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define READ_CHUNK 16384
/* Stop reading a connection while this many response bytes wait to be sent
 * (a client that pipelines without reading is not buffered without bound). */
#define OUT_HIGH_WATER (4u * 1024 * 1024)
#define MAX_EVENTS 64

typedef struct conn {
    int fd;
    uint32_t events;       /* registered epoll events */
    bool closing;          /* close once out is sent; read no more */
    http_buf in;           /* received, not yet parsed */
    http_buf out;          /* responses not yet sent ... */
    size_t out_sent;       /* ... from this offset */
    struct conn *prev, *next;
} conn;

struct worker {
    server *srv;
    unsigned index;
    pthread_t thread;
    int epfd;
    conn *conns;           /* every open connection, for shutdown */
    script_ctx script;
    bool started;
};

/* epoll data of the two shared descriptors */
static char listen_tag, stop_tag;

/* ---------------------------------------------------------- connections --- */

static void conn_close(worker *w, conn *c)
{
    epoll_ctl(w->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    if (c->prev)
        c->prev->next = c->next;
    else
        w->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    http_buf_free(&c->in);
    http_buf_free(&c->out);
    free(c);
}

static void accept_all(worker *w)
{
    for (;;) {
        int fd = accept4(w->srv->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                server_log_limited("server: accept: %s", strerror(errno));
            return;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        conn *c = calloc(1, sizeof *c);
        if (!c) {
            close(fd);
            continue;
        }
        c->fd = fd;
        c->events = EPOLLIN;
        struct epoll_event ev = {.events = c->events, .data.ptr = c};
        if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
            server_log_limited("server: epoll_ctl: %s", strerror(errno));
            close(fd);
            free(c);
            continue;
        }
        c->next = w->conns;
        if (w->conns)
            w->conns->prev = c;
        w->conns = c;
    }
}

/* Parse and answer every complete request in c->in, in order. */
static bool handle_input(worker *w, conn *c)
{
    size_t used = 0;
    while (!c->closing && c->out.len - c->out_sent < OUT_HIGH_WATER) {
        http_request req;
        int rc = http_parse_request(c->in.data + used, c->in.len - used, &req);
        if (rc == 0)
            break;
        if (rc == 1) {
            if (!script_respond(&w->script, &req, req.keep_alive, &c->out))
                return false;
            used += req.size;
            if (!req.keep_alive)
                c->closing = true;
        } else {
            /* a refused request ends the connection: what follows it
             * cannot be framed */
            char body[64];
            snprintf(body, sizeof body, "%d %s\n", rc, http_reason(rc));
            if (!http_simple_response(&c->out, rc, body, false, 1))
                return false;
            c->closing = true;
            used = c->in.len;
        }
    }
    memmove(c->in.data, c->in.data + used, c->in.len - used);
    c->in.len -= used;
    return true;
}

/* Read what is there.  False when the connection is finished. */
static bool conn_read(worker *w, conn *c)
{
    for (;;) {
        if (c->closing || c->out.len - c->out_sent >= OUT_HIGH_WATER)
            return true;
        if (c->in.cap - c->in.len < READ_CHUNK) {
            /* one request is at most head + body; more than that waiting
             * means pipelined requests, handled before reading on */
            if (c->in.len >= HTTP_MAX_HEAD + HTTP_MAX_BODY + READ_CHUNK)
                return handle_input(w, c);
            size_t need = c->in.len + READ_CHUNK;
            size_t cap = c->in.cap ? c->in.cap : READ_CHUNK;
            while (cap < need)
                cap *= 2;
            char *d = realloc(c->in.data, cap);
            if (!d)
                return false;
            c->in.data = d;
            c->in.cap = cap;
        }
        ssize_t n = read(c->fd, c->in.data + c->in.len, c->in.cap - c->in.len);
        if (n > 0) {
            c->in.len += (size_t)n;
            if (!handle_input(w, c))
                return false;
            continue;
        }
        if (n == 0) {
            /* the peer finished sending: answer what came, then close */
            c->closing = true;
            return c->out.len > c->out_sent;
        }
        if (errno == EINTR)
            continue;
        return errno == EAGAIN || errno == EWOULDBLOCK;
    }
}

/* Send what is pending.  False when the connection is finished. */
static bool conn_write(conn *c)
{
    while (c->out_sent < c->out.len) {
        ssize_t n = send(c->fd, c->out.data + c->out_sent, c->out.len - c->out_sent,
                         MSG_NOSIGNAL);
        if (n > 0) {
            c->out_sent += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return true;
        return false;
    }
    c->out.len = c->out_sent = 0;
    return !c->closing;
}

/* Register the events the connection now waits for. */
static bool conn_rearm(worker *w, conn *c)
{
    size_t pending = c->out.len - c->out_sent;
    uint32_t want = 0;
    if (pending)
        want |= EPOLLOUT;
    if (!c->closing && pending < OUT_HIGH_WATER)
        want |= EPOLLIN;
    if (want == c->events)
        return true;
    struct epoll_event ev = {.events = want, .data.ptr = c};
    if (epoll_ctl(w->epfd, EPOLL_CTL_MOD, c->fd, &ev) != 0)
        return false;
    c->events = want;
    return true;
}

static void conn_event(worker *w, conn *c, uint32_t events)
{
    bool alive = true;
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
        alive = conn_read(w, c);
    if (alive)
        alive = conn_write(c);
    /* the input may have waited for room in the output */
    if (alive && !c->closing && c->in.len && c->out.len - c->out_sent < OUT_HIGH_WATER) {
        alive = handle_input(w, c) && conn_write(c);
    }
    if (alive)
        alive = conn_rearm(w, c);
    if (!alive)
        conn_close(w, c);
}

/* ----------------------------------------------------------------- loop --- */

static void *worker_main(void *arg)
{
    worker *w = arg;
    struct epoll_event events[MAX_EVENTS];
    for (;;) {
        script_ctx_idle(&w->script);
        int n = epoll_wait(w->epfd, events, MAX_EVENTS, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            server_log_limited("server: worker %u: epoll_wait: %s", w->index, strerror(errno));
            break;
        }
        bool stop = false;
        for (int i = 0; i < n; i++) {
            void *tag = events[i].data.ptr;
            if (tag == &stop_tag)
                stop = true;
            else if (tag == &listen_tag)
                accept_all(w);
            else
                conn_event(w, tag, events[i].events);
        }
        if (stop)
            break;
    }
    while (w->conns)
        conn_close(w, w->conns);
    /* the reader belongs to this thread: free it here */
    script_ctx_free(&w->script);
    return NULL;
}

/* ----------------------------------------------------------- life cycle --- */

/* Runs on the new thread: the reader must be created there. */
typedef struct start_arg {
    worker *w;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int state; /* 0 starting, 1 running, -1 failed */
} start_arg;

static void *worker_entry(void *p)
{
    start_arg *sa = p;
    worker *w = sa->w;
    bool ok = script_ctx_init(&w->script, w->srv, w->index);
    pthread_mutex_lock(&sa->lock);
    sa->state = ok ? 1 : -1;
    pthread_cond_signal(&sa->cond);
    pthread_mutex_unlock(&sa->lock);
    /* sa lives on worker_start's stack: not touched after the signal */
    return ok ? worker_main(w) : NULL;
}

worker *worker_start(server *srv, unsigned index)
{
    worker *w = calloc(1, sizeof *w);
    if (!w) {
        fprintf(stderr, "server: out of memory\n");
        return NULL;
    }
    w->srv = srv;
    w->index = index;
    w->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (w->epfd < 0) {
        fprintf(stderr, "server: epoll_create1: %s\n", strerror(errno));
        free(w);
        return NULL;
    }
    struct epoll_event ls = {.events = EPOLLIN | EPOLLEXCLUSIVE, .data.ptr = &listen_tag};
    struct epoll_event st = {.events = EPOLLIN, .data.ptr = &stop_tag};
    if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, srv->listen_fd, &ls) != 0 ||
        epoll_ctl(w->epfd, EPOLL_CTL_ADD, srv->stop_fd, &st) != 0) {
        fprintf(stderr, "server: epoll_ctl: %s\n", strerror(errno));
        close(w->epfd);
        free(w);
        return NULL;
    }
    start_arg sa = {.w = w, .state = 0};
    pthread_mutex_init(&sa.lock, NULL);
    pthread_cond_init(&sa.cond, NULL);
    int err = pthread_create(&w->thread, NULL, worker_entry, &sa);
    if (err == 0) {
        pthread_mutex_lock(&sa.lock);
        while (sa.state == 0)
            pthread_cond_wait(&sa.cond, &sa.lock);
        pthread_mutex_unlock(&sa.lock);
    }
    pthread_mutex_destroy(&sa.lock);
    pthread_cond_destroy(&sa.cond);
    if (err != 0 || sa.state < 0) {
        if (err == 0)
            pthread_join(w->thread, NULL);
        else
            fprintf(stderr, "server: cannot start worker %u: %s\n", index, strerror(err));
        close(w->epfd);
        free(w);
        return NULL;
    }
    char name[16];
    snprintf(name, sizeof name, "worker-%u", index);
    pthread_setname_np(w->thread, name);
    w->started = true;
    return w;
}

void worker_join(worker *w)
{
    if (!w)
        return;
    if (w->started)
        pthread_join(w->thread, NULL);
    close(w->epfd);
    free(w);
}
