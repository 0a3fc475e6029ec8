/*
 * cli/watch.c - `fsrs watch PATH`: the hot-reload demo.
 *
 * Watches a script or a directory of scripts, and for every new version runs
 * the entry function (--entry NAME, called with ()) or, by default, the
 * version's top-level code, printing one status line per reload: the
 * version and its latency breakdown, or the compile error with a caret while
 * the previous version keeps serving.  Ctrl-C stops it with a summary.
 * With --json, stdout carries only JSON lines.
 *
 * Threads: the engine's callback (executor thread) queues reload reports;
 * the main thread is the only reader and does all the printing.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fsrs/fsrs.h>

#include "cli/cli.h"

typedef struct Report {
    fsrs_reload_info info;
    char path[1024];
    char error[1024];
} Report;

typedef struct Queue {
    pthread_mutex_t lock;
    Report *items;
    size_t n, cap;
} Queue;

static volatile sig_atomic_t interrupted;
static bool json;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

static void on_reload(const fsrs_reload_info *info, void *ud)
{
    Queue *q = ud;
    pthread_mutex_lock(&q->lock);
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 16;
        Report *r = realloc(q->items, cap * sizeof *r);
        if (!r) {
            pthread_mutex_unlock(&q->lock);
            return;
        }
        q->items = r;
        q->cap = cap;
    }
    Report *r = &q->items[q->n++];
    r->info = *info;
    snprintf(r->path, sizeof r->path, "%s", info->path);
    snprintf(r->error, sizeof r->error, "%s", info->error ? info->error : "");
    pthread_mutex_unlock(&q->lock);
}

static void json_string(FILE *to, const char *s, size_t n)
{
    fputc('"', to);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"': fputs("\\\"", to); break;
        case '\\': fputs("\\\\", to); break;
        case '\n': fputs("\\n", to); break;
        case '\r': fputs("\\r", to); break;
        case '\t': fputs("\\t", to); break;
        default:
            if (c < 0x20)
                fprintf(to, "\\u%04x", c);
            else
                fputc(c, to);
        }
    }
    fputc('"', to);
}

static void script_output(const char *text, size_t len, void *ud)
{
    (void)ud;
    if (json) {
        fputs("{\"event\":\"output\",\"text\":", stdout);
        json_string(stdout, text, len);
        fputs("}\n", stdout);
    } else {
        fwrite(text, 1, len, stdout);
    }
    fflush(stdout);
}

static void report_reload(const Report *r)
{
    const fsrs_reload_info *in = &r->info;
    uint64_t compile_us = in->compile_end_us - in->compile_start_us;
    uint64_t total_us = (in->ok && in->publish_us ? in->publish_us : in->compile_end_us) -
                        in->event_us;
    if (json) {
        printf("{\"event\":\"reload\",\"path\":");
        json_string(stdout, r->path, strlen(r->path));
        printf(",\"version\":%llu,\"ok\":%s,\"error\":", (unsigned long long)in->version,
               in->ok ? "true" : "false");
        if (in->ok)
            fputs("null", stdout);
        else
            json_string(stdout, r->error, strlen(r->error));
        printf(",\"size\":%zu,\"debounce_us\":%llu,\"compile_us\":%llu,\"total_us\":%llu}\n",
               in->source_size,
               (unsigned long long)(in->debounce_end_us - in->event_us),
               (unsigned long long)compile_us, (unsigned long long)total_us);
    } else if (in->ok) {
        printf("[reload] %s v%llu ok: %zu bytes in %llu us (debounce %llu, queue %llu, compile "
               "%llu, publish %llu)\n",
               r->path, (unsigned long long)in->version, in->source_size,
               (unsigned long long)total_us,
               (unsigned long long)(in->debounce_end_us - in->event_us),
               (unsigned long long)(in->compile_start_us - in->debounce_end_us),
               (unsigned long long)compile_us,
               (unsigned long long)(in->publish_us ? in->publish_us - in->compile_end_us : 0));
    } else {
        fflush(stdout);
        printf("[reload] %s failed; still serving v%llu\n", r->path,
               (unsigned long long)in->version);
        fflush(stdout);
        /* "FILE:LINE:COL: message" */
        int line = 0, col = 0;
        const char *p = r->error;
        const char *c1 = strchr(p, ':');
        if (c1 && sscanf(c1 + 1, "%d:%d", &line, &col) == 2) {
            const char *msg = strchr(strchr(c1 + 1, ':') + 1, ':');
            fprintf(stderr, "%.*s:%d:%d: error: %s\n", (int)(c1 - p), p, line, col,
                    msg ? msg + 2 : p);
            cli_show_caret(r->path, line, col);
        } else {
            fprintf(stderr, "%s\n", r->error);
        }
    }
    fflush(stdout);
}

static void report_runtime_error(const char *path, int rc)
{
    const fsrs_error *e = fsrs_error_last();
    if (json) {
        printf("{\"event\":\"error\",\"path\":");
        json_string(stdout, path, strlen(path));
        printf(",\"error\":");
        const char *m = e ? e->message : fsrs_strerror(rc);
        json_string(stdout, m, strlen(m));
        printf(",\"line\":%d}\n", e ? e->line : 0);
        fflush(stdout);
        return;
    }
    fflush(stdout);
    if (e) {
        fprintf(stderr, "%s:%d: runtime error: %s\n", e->file ? e->file : path, e->line,
                e->message);
        if (e->trace)
            fprintf(stderr, "stack trace:\n%s", e->trace);
    } else {
        fprintf(stderr, "%s: runtime error: %s\n", path, fsrs_strerror(rc));
    }
}

int cli_watch(int argc, char **argv)
{
    const char *path = NULL, *entry = NULL;
    unsigned debounce = 10;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (strcmp(argv[i], "--entry") == 0 && i + 1 < argc)
            entry = argv[++i];
        else if (strcmp(argv[i], "--debounce") == 0 && i + 1 < argc) {
            char *end;
            long v = strtol(argv[++i], &end, 10);
            if (*end || v < 0 || v > 60000) {
                fprintf(stderr, "fsrs watch: --debounce takes milliseconds (0..60000)\n");
                return 64;
            }
            debounce = (unsigned)v;
        } else if (argv[i][0] == '-' || path) {
            fprintf(stderr, "usage: fsrs watch PATH [--entry NAME] [--debounce MS] [--json]\n");
            return 64;
        } else {
            path = argv[i];
        }
    }
    if (!path) {
        fprintf(stderr, "usage: fsrs watch PATH [--entry NAME] [--debounce MS] [--json]\n");
        return 64;
    }

    Queue q = {.lock = PTHREAD_MUTEX_INITIALIZER};
    fsrs_engine_config cfg;
    fsrs_engine_config_init(&cfg);
    cfg.debounce_ms = debounce;
    cfg.on_reload = on_reload;
    cfg.userdata = &q;
    fsrs_engine *engine;
    if (fsrs_engine_new(&cfg, &engine) != FSRS_OK) {
        fprintf(stderr, "fsrs watch: %s\n", fsrs_error_last()->message);
        return 1;
    }
    if (fsrs_engine_watch(engine, path) != FSRS_OK) {
        fprintf(stderr, "fsrs watch: %s\n", fsrs_error_last()->message);
        fsrs_engine_free(engine);
        return 1;
    }
    fsrs_config vm_cfg;
    fsrs_config_init(&vm_cfg);
    vm_cfg.output = script_output;
    fsrs_reader *reader;
    if (fsrs_reader_new(engine, &vm_cfg, NULL, NULL, &reader) != FSRS_OK ||
        fsrs_engine_start(engine) != FSRS_OK) {
        fprintf(stderr, "fsrs watch: %s\n", fsrs_error_last()->message);
        fsrs_engine_free(engine);
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (!json) {
        printf("watching %s (debounce %u ms); edit it to reload, Ctrl-C to stop\n", path, debounce);
        fflush(stdout);
    }

    uint64_t seen = 0;
    while (!interrupted) {
        fsrs_engine_wait_reload(engine, seen, 100, NULL);
        seen = fsrs_engine_reload_count(engine);
        pthread_mutex_lock(&q.lock);
        size_t n = q.n;
        Report *items = q.items;
        q.items = NULL;
        q.n = q.cap = 0;
        pthread_mutex_unlock(&q.lock);
        for (size_t i = 0; i < n; i++) {
            report_reload(&items[i]);
            if (!items[i].info.ok)
                continue;
            int rc;
            if (entry) {
                fsrs_value unit = fsrs_unit();
                rc = fsrs_reader_call(reader, items[i].path, entry, 1, &unit, NULL);
            } else {
                rc = fsrs_reader_load(reader, items[i].path);
            }
            if (rc != FSRS_OK)
                report_runtime_error(items[i].path, rc);
            fsrs_reader_release(reader);
        }
        free(items);
    }

    fsrs_engine_stats st;
    fsrs_engine_stats_get(engine, &st);
    fsrs_reader_free(reader);
    fsrs_engine_free(engine);
    free(q.items);
    if (json) {
        printf("{\"event\":\"summary\",\"reloads_ok\":%llu,\"reloads_failed\":%llu,"
               "\"skipped_unchanged\":%llu,\"events\":%llu,\"overflows\":%llu}\n",
               (unsigned long long)st.reloads_ok, (unsigned long long)st.reloads_failed,
               (unsigned long long)st.skipped_unchanged, (unsigned long long)st.events,
               (unsigned long long)st.overflows);
    } else {
        printf("\nstopped: %llu reloads ok, %llu failed, %llu unchanged skipped, %llu file "
               "events, %llu versions freed\n",
               (unsigned long long)st.reloads_ok, (unsigned long long)st.reloads_failed,
               (unsigned long long)st.skipped_unchanged, (unsigned long long)st.events,
               (unsigned long long)st.versions_freed);
    }
    fflush(stdout);
    return 0;
}
