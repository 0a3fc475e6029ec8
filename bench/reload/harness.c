/*
 * bench/reload/harness.c - save-to-publish latency of the hot-reload engine.
 *
 * For each script size (10, 100 and 10,000 lines), save style (in place,
 * write-then-rename) and debounce window (0 and the default 10 ms), the
 * harness saves a new version of a watched script N times (default 1,000)
 * and measures from the moment the save completes (its last syscall, close
 * or rename, starts) to the moment a reader thread, calling the script in a tight
 * loop, first runs the new version.  Beside it, in the same run, the
 * baseline: the same saves observed by a thread blocked in read(2) on a raw
 * inotify descriptor (the floor any watcher pays), which for a window
 * then sleeps the window in ppoll (the floor any debouncer pays: on a
 * virtual machine a timer can fire late by far more than the engine's own
 * work).  It also prints the
 * engine's own per-stage breakdown (debounce, queue, compile, publish).
 *
 * With --worst N, each row is followed by the N slowest saves, each with
 * its engine timestamps relative to the save: where a tail comes from.
 *
 * The scripts live in a new directory under --dir (default /tmp): the
 * file system's own work on a save (journal, discard) is part of what a
 * reload pays, so compare a disk and a tmpfs such as /dev/shm.
 *
 * With --repeat N, every row runs N times, the rows interleaved, and the
 * table gives the median p50 and p99 over the runs and each run's p99: a
 * virtual machine's scheduling noise comes and goes in stretches.
 *
 *   bench_reload [--saves N] [--quick] [--lines 10|100|10000] [--worst N] [--dir DIR]
 *                [--repeat N]
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <fsrs/fsrs.h>

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

typedef struct Summary {
    uint64_t p50, p99, max;
} Summary;

#define MAX_REPEAT 9

static uint64_t median_u64(uint64_t *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_u64);
    return v[n / 2];
}

/* Medians of p50 and p99 over runs, and the largest max. */
static Summary median_of(const Summary *runs, int n)
{
    uint64_t p50[MAX_REPEAT], p99[MAX_REPEAT];
    Summary m = {0, 0, 0};
    for (int i = 0; i < n; i++) {
        p50[i] = runs[i].p50;
        p99[i] = runs[i].p99;
        if (runs[i].max > m.max)
            m.max = runs[i].max;
    }
    m.p50 = median_u64(p50, n);
    m.p99 = median_u64(p99, n);
    return m;
}

static Summary summarize(uint64_t *v, int n)
{
    Summary s = {0, 0, 0};
    if (n <= 0)
        return s;
    qsort(v, (size_t)n, sizeof *v, cmp_u64);
    s.p50 = v[n / 2];
    s.p99 = v[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1];
    s.max = v[n - 1];
    return s;
}

/* ------------------------------------------------------------- scripts --- */

static char *script_text(int lines, int version, size_t *len)
{
    size_t cap = (size_t)lines * 80 + 256;
    char *s = malloc(cap);
    size_t n = (size_t)snprintf(s, cap, "let version () = %d\n", version);
    for (int i = 1; i < lines; i++)
        n += (size_t)snprintf(s + n, cap - n, "let f%d x = if x > %d then x * 2 else x + %d\n", i,
                              i, i);
    *len = n;
    return s;
}

/* Returns the time just before the save's last syscall (close, or rename):
 * the kernel reports the save while that call runs. */
static uint64_t save(const char *dir, const char *path, const char *text, size_t len,
                     bool rename_)
{
    char tmp[4096];
    const char *target = path;
    if (rename_) {
        snprintf(tmp, sizeof tmp, "%s/.main.fsrs.tmp", dir);
        target = tmp;
    }
    int fd = open(target, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, text, len) != (ssize_t)len) {
        perror("bench_reload: write");
        exit(1);
    }
    uint64_t t = now_us();
    close(fd);
    if (rename_) {
        t = now_us();
        if (rename(tmp, path) != 0) {
            perror("bench_reload: rename");
            exit(1);
        }
    }
    return t;
}

/* ------------------------------------------------------------- the engine --- */

typedef struct Run {
    fsrs_engine *engine;
    const char *script;
    int saves;
    _Atomic uint64_t *seen_at;   /* [version value] -> first time the reader ran it */
    atomic_bool stop;
    int seen_fd; /* eventfd: the reader saw a new version */
    /* each successful reload's report (callback, executor thread) */
    fsrs_reload_info *reports;
    atomic_int nreports;
} Run;

static void on_reload(const fsrs_reload_info *info, void *ud)
{
    Run *r = ud;
    if (!info->ok)
        return;
    int i = atomic_load(&r->nreports);
    if (i >= r->saves + 1)
        return;
    r->reports[i] = *info;
    atomic_store(&r->nreports, i + 1);
}

static void *reader_main(void *arg)
{
    Run *r = arg;
    fsrs_reader *rd;
    if (fsrs_reader_new(r->engine, NULL, NULL, NULL, &rd) != FSRS_OK)
        return NULL;
    fsrs_value unit = fsrs_unit(), out;
    while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) {
        if (fsrs_reader_call(rd, r->script, "version", 1, &unit, &out) == FSRS_OK) {
            int64_t v = fsrs_value_as_int(out);
            if (v >= 0 && v <= r->saves) {
                uint64_t expected = 0;
                if (atomic_compare_exchange_strong(&r->seen_at[v], &expected, now_us())) {
                    uint64_t one = 1;
                    (void)!write(r->seen_fd, &one, sizeof one);
                }
            }
        }
        fsrs_reader_release(rd);
    }
    fsrs_reader_free(rd);
    return NULL;
}

static int worst = 0;                 /* --worst N */
static const char *base_dir = "/tmp"; /* --dir DIR */

typedef struct Slow {
    uint64_t lat;
    int save;
} Slow;

static int cmp_slow(const void *a, const void *b)
{
    const Slow *x = a, *y = b;
    return x->lat > y->lat ? -1 : x->lat < y->lat;
}

static long rel(uint64_t t, uint64_t done) { return t ? (long)(t - done) : 0; }

/* The slowest saves with the engine's timestamps, in microseconds after
 * the save (report i is save i when no save was coalesced). */
static void print_worst(const Run *r, const uint64_t *done, const uint64_t *lat, int n)
{
    Slow *v = malloc((size_t)n * sizeof *v);
    for (int i = 0; i < n; i++)
        v[i] = (Slow){lat[i], i + 1};
    qsort(v, (size_t)n, sizeof *v, cmp_slow);
    int nr = atomic_load(&r->nreports);
    printf("\n| save | latency | event | debounce end | compile start | compile end | publish "
           "|\n|---:|---:|---:|---:|---:|---:|---:|\n");
    for (int k = 0; k < worst && k < n; k++) {
        int i = v[k].save;
        uint64_t d = done[i - 1];
        if (i < nr) {
            const fsrs_reload_info *in = &r->reports[i];
            printf("| %d | %llu | %ld | %ld | %ld | %ld | %ld |\n", i,
                   (unsigned long long)v[k].lat, rel(in->event_us, d),
                   rel(in->debounce_end_us, d), rel(in->compile_start_us, d),
                   rel(in->compile_end_us, d), rel(in->publish_us, d));
        } else {
            printf("| %d | %llu | | | | | |\n", i, (unsigned long long)v[k].lat);
        }
    }
    printf("\n");
    free(v);
}

/* One row's run: the latency to the reader, split at the publish. */
typedef struct EngineRun {
    Summary lat;       /* save -> a reader runs the new version */
    Summary published; /* save -> the engine published it (its own clock) */
    Summary lag;       /* published -> the reader ran it */
    Summary stages[4]; /* debounce, queue, compile, publish */
    int ahead;         /* reloads compiled during their window */
} EngineRun;

static void bench_engine(int lines, bool rename_, unsigned window, int saves, EngineRun *out)
{
    char dirt[4096];
    snprintf(dirt, sizeof dirt, "%s/fsrs-bench-XXXXXX", base_dir);
    char *dir = mkdtemp(dirt);
    if (!dir) {
        perror("bench_reload: mkdtemp");
        exit(1);
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/main.fsrs", dir);
    size_t len;
    char *text = script_text(lines, 0, &len);
    save(dir, path, text, len, false);
    free(text);

    Run r;
    memset(&r, 0, sizeof r);
    r.script = path;
    r.saves = saves;
    r.seen_at = calloc((size_t)saves + 1, sizeof *r.seen_at);
    r.reports = calloc((size_t)saves + 1, sizeof *r.reports);
    r.seen_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    fsrs_engine_config cfg;
    fsrs_engine_config_init(&cfg);
    cfg.debounce_ms = window;
    cfg.on_reload = on_reload;
    cfg.userdata = &r;
    if (fsrs_engine_new(&cfg, &r.engine) != FSRS_OK || fsrs_engine_watch(r.engine, dir) != FSRS_OK ||
        fsrs_engine_start(r.engine) != FSRS_OK) {
        fprintf(stderr, "bench_reload: engine: %s\n", fsrs_error_last()->message);
        exit(1);
    }
    while (fsrs_engine_version(r.engine, path) < 1)
        usleep(100);
    pthread_t reader;
    pthread_create(&reader, NULL, reader_main, &r);
    while (atomic_load(&r.seen_at[0]) == 0)
        usleep(100);

    uint64_t *lat_us = calloc((size_t)saves, sizeof(uint64_t));
    uint64_t *done_at = calloc((size_t)saves, sizeof(uint64_t));
    int n = 0;
    for (int i = 1; i <= saves; i++) {
        text = script_text(lines, i, &len);
        uint64_t done = save(dir, path, text, len, rename_);
        free(text);
        uint64_t deadline = done + 5000000;
        /* the reader timestamps what it sees and rings: this thread sleeps
         * until then, leaving the other core to the engine */
        while (atomic_load(&r.seen_at[i]) == 0 && now_us() < deadline) {
            struct pollfd pfd = {.fd = r.seen_fd, .events = POLLIN};
            if (poll(&pfd, 1, 100) > 0) {
                uint64_t count;
                (void)!read(r.seen_fd, &count, sizeof count);
            }
        }
        uint64_t seen = atomic_load(&r.seen_at[i]);
        if (!seen) {
            fprintf(stderr, "bench_reload: version %d never ran\n", i);
            exit(1);
        }
        done_at[n] = done;
        lat_us[n++] = seen > done ? seen - done : 0;
    }
    atomic_store(&r.stop, true);
    pthread_join(reader, NULL);
    if (worst)
        print_worst(&r, done_at, lat_us, n);
    int nr = atomic_load(&r.nreports);
    /* report i is save i when no save was coalesced (report 0 is the
     * initial load) */
    uint64_t *published = calloc((size_t)saves, sizeof(uint64_t));
    uint64_t *lag = calloc((size_t)saves, sizeof(uint64_t));
    int np = 0;
    for (int i = 1; i <= n && i < nr; i++) {
        uint64_t pub = r.reports[i].publish_us, seen = atomic_load(&r.seen_at[i]);
        published[np] = pub > done_at[i - 1] ? pub - done_at[i - 1] : 0;
        lag[np++] = seen > pub ? seen - pub : 0;
    }
    out->lat = summarize(lat_us, n);
    out->published = summarize(published, np);
    out->lag = summarize(lag, np);
    /* the engine's breakdown of every save's reload; compiled ahead, the
     * compile ran inside the window: no queue, and publishing starts when
     * the later of the two ends */
    uint64_t *stage[4];
    for (int k = 0; k < 4; k++)
        stage[k] = calloc((size_t)saves + 1, sizeof(uint64_t));
    out->ahead = 0;
    for (int i = 0; i < nr; i++) {
        const fsrs_reload_info *in = &r.reports[i];
        out->ahead += in->compiled_ahead;
        if (i == 0)
            continue; /* the initial load */
        uint64_t ready = in->compile_end_us > in->debounce_end_us ? in->compile_end_us
                                                                  : in->debounce_end_us;
        stage[0][i - 1] = in->debounce_end_us - in->event_us;
        stage[1][i - 1] = in->compiled_ahead ? 0 : in->compile_start_us - in->debounce_end_us;
        stage[2][i - 1] = in->compile_end_us - in->compile_start_us;
        stage[3][i - 1] = in->publish_us - ready;
    }
    for (int k = 0; k < 4; k++) {
        out->stages[k] = summarize(stage[k], nr - 1);
        free(stage[k]);
    }
    free(published);
    free(lag);
    fsrs_engine_free(r.engine);
    unlink(path);
    rmdir(dir);
    free(lat_us);
    free(done_at);
    close(r.seen_fd);
    free(r.reports);
    free((void *)r.seen_at);
}

/* ------------------------------------------------------------- baseline --- */

typedef struct Raw {
    int fd;
    int seen_fd;        /* eventfd: rung after each save seen */
    unsigned window_ms; /* sleep this long (ppoll) after the event */
    atomic_bool stop;
    _Atomic uint64_t last_event;
    atomic_int events;
} Raw;

static void *raw_main(void *arg)
{
    Raw *w = arg;
    char buf[4096] __attribute__((aligned(8)));
    while (!atomic_load(&w->stop)) {
        ssize_t n = read(w->fd, buf, sizeof buf);
        if (n <= 0)
            continue;
        bool saved = false;
        for (char *p = buf; p < buf + n;) {
            struct inotify_event *ie = (struct inotify_event *)p;
            p += sizeof *ie + ie->len;
            if ((ie->mask & (IN_CLOSE_WRITE | IN_MOVED_TO)) && ie->len &&
                strcmp(ie->name, "main.fsrs") == 0)
                saved = true;
        }
        if (!saved)
            continue;
        if (w->window_ms) {
            /* what any debouncer pays: one timer of the window */
            struct timespec ts = {0, (long)w->window_ms * 1000000L};
            ppoll(NULL, 0, &ts, NULL);
        }
        atomic_store(&w->last_event, now_us());
        atomic_fetch_add(&w->events, 1);
        uint64_t one = 1;
        (void)!write(w->seen_fd, &one, sizeof one);
    }
    return NULL;
}

static Summary bench_raw(int lines, bool rename_, unsigned window, int saves)
{
    char dirt[4096];
    snprintf(dirt, sizeof dirt, "%s/fsrs-bench-XXXXXX", base_dir);
    char *dir = mkdtemp(dirt);
    if (!dir) {
        perror("bench_reload: mkdtemp");
        exit(1);
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/main.fsrs", dir);
    Raw w;
    memset(&w, 0, sizeof w);
    w.fd = inotify_init1(IN_CLOEXEC);
    w.seen_fd = eventfd(0, EFD_CLOEXEC);
    w.window_ms = window;
    inotify_add_watch(w.fd, dir, IN_CLOSE_WRITE | IN_MOVED_TO);
    pthread_t t;
    pthread_create(&t, NULL, raw_main, &w);
    uint64_t *lat = calloc((size_t)saves, sizeof(uint64_t));
    int n = 0;
    for (int i = 1; i <= saves; i++) {
        size_t len;
        char *text = script_text(lines, i, &len);
        int before = atomic_load(&w.events);
        uint64_t done = save(dir, path, text, len, rename_);
        free(text);
        while (atomic_load(&w.events) == before) {
            uint64_t count;
            (void)!read(w.seen_fd, &count, sizeof count);
        }
        uint64_t seen = atomic_load(&w.last_event);
        lat[n++] = seen > done ? seen - done : 0;
    }
    atomic_store(&w.stop, true);
    save(dir, path, "x", 1, false); /* wake the reader */
    pthread_join(t, NULL);
    close(w.fd);
    close(w.seen_fd);
    unlink(path);
    rmdir(dir);
    Summary s = summarize(lat, n);
    free(lat);
    return s;
}

int main(int argc, char **argv)
{
    int saves = 1000, only_lines = 0, repeat = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--saves") && i + 1 < argc)
            saves = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--quick"))
            saves = 100;
        else if (!strcmp(argv[i], "--lines") && i + 1 < argc)
            only_lines = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--worst") && i + 1 < argc)
            worst = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--dir") && i + 1 < argc)
            base_dir = argv[++i];
        else if (!strcmp(argv[i], "--repeat") && i + 1 < argc)
            repeat = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_reload [--saves N] [--quick] [--lines 10|100|10000] "
                            "[--worst N] [--dir DIR] [--repeat N]\n");
            return 2;
        }
    }
    if (saves < 1)
        saves = 1;
    if (repeat < 1 || repeat > MAX_REPEAT) {
        fprintf(stderr, "bench_reload: --repeat takes 1 to %d\n", MAX_REPEAT);
        return 2;
    }
    char date[64];
    time_t tt = time(NULL);
    strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S %z", localtime(&tt));
    printf("## fsrs save-to-publish latency\n\n- date: %s\n- nproc: %ld\n- saves per row: %d\n"
           "- runs per row: %d, interleaved; p50, p99 and the baseline are medians over runs, "
           "max the largest; the breakdown is the first run's\n"
           "- scripts under: %s\n"
           "- latency: the save's last syscall (close or rename) starts -> a reader thread first runs the "
           "new version; published: -> the engine swapped it in (its publish_us); reader lag: "
           "published -> the reader ran it\n- raw inotify: same saves -> a thread blocked in read(2) on inotify sees "
           "IN_CLOSE_WRITE/IN_MOVED_TO, then (window > 0) sleeps the window in ppoll\n\n",
           date, sysconf(_SC_NPROCESSORS_ONLN), saves, repeat, base_dir);
    printf("| lines | save | window | fsrs p50 (us) | p99 | p99 per run | max | published p50 | "
           "p99 | reader lag p50 | p99 | raw inotify (+ window) p50 | p99 | ratio p50 | engine: "
           "debounce p50 | queue | compile | publish | compiled ahead |\n");
    printf("|---:|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
           "---:|---:|\n");
    static const int sizes[] = {10, 100, 10000};
    typedef struct Row {
        int lines;
        bool rename_;
        unsigned window;
        EngineRun run[MAX_REPEAT];
        Summary raw[MAX_REPEAT];
    } Row;
    Row rows[12];
    int nrows = 0;
    for (int si = 0; si < 3; si++)
        for (int mode = 0; mode < 2 && (!only_lines || only_lines == sizes[si]); mode++)
            for (int wi = 0; wi < 2; wi++)
                rows[nrows++] = (Row){.lines = sizes[si], .rename_ = mode == 1,
                                      .window = wi ? 10u : 0u};
    /* runs interleaved, so that a noisy stretch of the machine is shared
     * out rather than landing on one row */
    for (int run = 0; run < repeat; run++)
        for (int i = 0; i < nrows; i++) {
            Row *w = &rows[i];
            bench_engine(w->lines, w->rename_, w->window, saves, &w->run[run]);
            w->raw[run] = bench_raw(w->lines, w->rename_, w->window, saves);
        }
    for (int i = 0; i < nrows; i++) {
        Row *w = &rows[i];
        Summary lat[MAX_REPEAT], published[MAX_REPEAT], lag[MAX_REPEAT];
        for (int run = 0; run < repeat; run++) {
            lat[run] = w->run[run].lat;
            published[run] = w->run[run].published;
            lag[run] = w->run[run].lag;
        }
        Summary l = median_of(lat, repeat), raw = median_of(w->raw, repeat);
        Summary pub = median_of(published, repeat), lg = median_of(lag, repeat);
        char runs[256] = "";
        size_t n = 0;
        for (int run = 0; run < repeat && n < sizeof runs; run++)
            n += (size_t)snprintf(runs + n, sizeof runs - n, "%s%llu", run ? " / " : "",
                                  (unsigned long long)lat[run].p99);
        const EngineRun *first = &w->run[0];
        printf("| %d | %s | %u ms | %llu | %llu | %s | %llu | %llu | %llu | %llu | %llu | %llu "
               "| %llu | %.1f | %llu | %llu | %llu | %llu | %d |\n",
               w->lines, w->rename_ ? "rename" : "in place", w->window,
               (unsigned long long)l.p50, (unsigned long long)l.p99, runs,
               (unsigned long long)l.max, (unsigned long long)pub.p50,
               (unsigned long long)pub.p99, (unsigned long long)lg.p50,
               (unsigned long long)lg.p99, (unsigned long long)raw.p50,
               (unsigned long long)raw.p99, raw.p50 ? (double)l.p50 / (double)raw.p50 : 0.0,
               (unsigned long long)first->stages[0].p50, (unsigned long long)first->stages[1].p50,
               (unsigned long long)first->stages[2].p50, (unsigned long long)first->stages[3].p50,
               first->ahead);
    }
    return 0;
}
