/*
 * examples/server/main.c - the example server's command line and life
 * cycle: parses the options, starts the hot-reload engine on the scripts
 * directory, opens the listening socket, starts the workers, then waits for
 * SIGINT or SIGTERM and shuts everything down in order (workers joined and
 * their readers freed, engine stopped with a deadline and freed).
 *
 *   server [--port N] [--threads N] [--scripts DIR] [--debounce MS]
 *
 * Only the main thread runs this file, except on_reload, which the engine
 * calls on its executor thread.  SIGINT, SIGTERM are blocked in every thread
 * and taken with sigtimedwait here; SIGPIPE is ignored.
 */
#define _GNU_SOURCE
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 64
#define ENGINE_STOP_MS 5000
#define FIRST_VERSION_WAIT_MS 5000

typedef struct options {
    int port;
    unsigned threads;
    const char *scripts;
    unsigned debounce_ms;
} options;

static void usage(FILE *to)
{
    fprintf(to, "usage: server [--port N] [--threads N] [--scripts DIR] [--debounce MS]\n"
                "  --port N       TCP port on 127.0.0.1 (default 8080; 0 picks a free one)\n"
                "  --threads N    worker threads, 1..%d (default 2)\n"
                "  --scripts DIR  directory with " SERVER_SCRIPT
                " (default examples/server/scripts)\n"
                "  --debounce MS  reload debounce (default 10)\n",
                MAX_THREADS);
}

static bool parse_uint(const char *s, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 0 || v > max)
        return false;
    *out = v;
    return true;
}

/* 0 ok, 1 bad usage (message printed), 2 --help */
static int parse_options(int argc, char **argv, options *o)
{
    o->port = 8080;
    o->threads = 2;
    o->scripts = "examples/server/scripts";
    o->debounce_ms = 10;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help"))
            return 2;
        if (i + 1 >= argc) {
            fprintf(stderr, "server: unknown option or missing value: %s\n", a);
            usage(stderr);
            return 1;
        }
        const char *v = argv[++i];
        long n;
        if (!strcmp(a, "--port") && parse_uint(v, 65535, &n)) {
            o->port = (int)n;
        } else if (!strcmp(a, "--threads") && parse_uint(v, MAX_THREADS, &n) && n >= 1) {
            o->threads = (unsigned)n;
        } else if (!strcmp(a, "--scripts")) {
            o->scripts = v;
        } else if (!strcmp(a, "--debounce") && parse_uint(v, 60000, &n)) {
            o->debounce_ms = (unsigned)n;
        } else {
            fprintf(stderr, "server: bad option: %s %s\n", a, v);
            usage(stderr);
            return 1;
        }
    }
    return 0;
}

/* Engine executor thread: one line per reload attempt on stderr. */
static void on_reload(const fsrs_reload_info *info, void *ud)
{
    (void)ud;
    if (info->ok)
        fprintf(stderr, "reload: %s version %" PRIu64 " (compiled in %" PRIu64 " us)\n",
                info->path, info->version, info->compile_end_us - info->compile_start_us);
    else
        fprintf(stderr, "reload failed: %s (version %" PRIu64 " keeps serving)\n", info->error,
                info->version);
    fflush(stderr);
}

static int open_listener(int port, int *port_out)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        fprintf(stderr, "server: socket: %s\n", strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(fd, SOMAXCONN) != 0 ||
        getsockname(fd, (struct sockaddr *)&addr, &len) != 0) {
        fprintf(stderr, "server: cannot listen on 127.0.0.1:%d: %s\n", port, strerror(errno));
        close(fd);
        return -1;
    }
    *port_out = ntohs(addr.sin_port);
    return fd;
}

/* Wait (bounded) for the handler's first version, so the first requests do
 * not get 503; report if it does not come. */
static void wait_first_version(fsrs_engine *e)
{
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    uint64_t seen = 0;
    while (fsrs_engine_version(e, SERVER_SCRIPT) == 0) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        long waited = (long)(now.tv_sec - start.tv_sec) * 1000 +
                      (now.tv_nsec - start.tv_nsec) / 1000000;
        if (waited >= FIRST_VERSION_WAIT_MS ||
            fsrs_engine_wait_reload(e, seen, (unsigned)(FIRST_VERSION_WAIT_MS - waited), NULL) !=
                FSRS_OK)
            break;
        seen++;
        fsrs_engine_stats st;
        fsrs_engine_stats_get(e, &st);
        if (st.reloads_failed && fsrs_engine_version(e, SERVER_SCRIPT) == 0)
            break;
    }
    if (fsrs_engine_version(e, SERVER_SCRIPT) == 0)
        fprintf(stderr, "server: no compiled %s yet: requests get 503 until it compiles\n",
                SERVER_SCRIPT);
}

int main(int argc, char **argv)
{
    options opt;
    int prc = parse_options(argc, argv, &opt);
    if (prc) {
        if (prc == 2)
            usage(stdout);
        return prc == 2 ? 0 : 2;
    }

    /* signals: blocked here, so every thread started later has them blocked */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    server srv = {.listen_fd = -1, .stop_fd = -1, .nworkers = opt.threads};
    int status = 1;
    worker *workers[MAX_THREADS] = {0};

    fsrs_engine_config ecfg;
    fsrs_engine_config_init(&ecfg);
    ecfg.debounce_ms = opt.debounce_ms;
    ecfg.compile_options.host_names = script_host_names;
    ecfg.compile_options.host_count = script_host_count;
    ecfg.on_reload = on_reload;
    int rc = fsrs_engine_new(&ecfg, &srv.engine);
    if (rc != FSRS_OK) {
        fprintf(stderr, "server: cannot create the engine: %s\n", fsrs_strerror(rc));
        return 1;
    }
    if ((rc = fsrs_engine_watch(srv.engine, opt.scripts)) != FSRS_OK) {
        const fsrs_error *e = fsrs_error_last();
        fprintf(stderr, "server: cannot watch %s: %s\n", opt.scripts,
                e ? e->message : fsrs_strerror(rc));
        goto out;
    }
    if ((rc = fsrs_engine_start(srv.engine)) != FSRS_OK) {
        fprintf(stderr, "server: cannot start the engine: %s\n", fsrs_strerror(rc));
        goto out;
    }
    wait_first_version(srv.engine);

    int port;
    if ((srv.listen_fd = open_listener(opt.port, &port)) < 0)
        goto out;
    srv.stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (srv.stop_fd < 0) {
        fprintf(stderr, "server: eventfd: %s\n", strerror(errno));
        goto out;
    }
    for (unsigned i = 0; i < opt.threads; i++)
        if (!(workers[i] = worker_start(&srv, i)))
            goto out;

    printf("listening on 127.0.0.1:%d\n", port);
    fflush(stdout);

    for (;;) {
        int sig = sigwaitinfo(&sigs, NULL);
        if (sig == SIGINT || sig == SIGTERM)
            break;
    }
    status = 0;

out:
    if (srv.stop_fd >= 0) {
        uint64_t one = 1;
        if (write(srv.stop_fd, &one, sizeof one) != sizeof one)
            fprintf(stderr, "server: cannot signal the workers: %s\n", strerror(errno));
    }
    for (unsigned i = 0; i < opt.threads; i++)
        worker_join(workers[i]);
    server_log_flush();
    if (fsrs_engine_stop(srv.engine, ENGINE_STOP_MS) != FSRS_OK)
        fprintf(stderr, "server: the engine did not stop within %d ms\n", ENGINE_STOP_MS);
    fsrs_engine_stats st;
    fsrs_engine_stats_get(srv.engine, &st);
    if (status == 0) {
        printf("stopped: %" PRIu64 " requests, %" PRIu64 " script errors, %" PRIu64
               " reloads ok, %" PRIu64 " failed, %" PRIu64 " file events (%" PRIu64
               " coalesced), %" PRIu64 " saves unchanged\n",
               (uint64_t)atomic_load(&srv.requests), (uint64_t)atomic_load(&srv.script_errors),
               st.reloads_ok, st.reloads_failed, st.events, st.events_coalesced,
               st.skipped_unchanged);
        fflush(stdout);
    }
    fsrs_engine_free(srv.engine);
    if (srv.listen_fd >= 0)
        close(srv.listen_fd);
    if (srv.stop_fd >= 0)
        close(srv.stop_fd);
    return status;
}
