/*
 * bench/stress/harness.c - readers and reload storms for a given time.
 *
 * Reader threads call a watched script without pause, holding each read
 * section for a random while (up to --max-hold-us) across several calls;
 * every second reader uses deferred leave (fsrs_reader_defer_leave);
 * a writer saves new versions in random ways (in place, truncate-then-write,
 * by rename, broken) with random pauses.  Every call checks that the
 * version it ran is whole (the script's values are tied by a checksum) and
 * that versions never go backwards.  Chunks are allocated through a hook
 * that poisons memory on free, so running a freed chunk shows up as a bad
 * checksum (and as a use-after-free under ASan).  At the end the published
 * version must be the last good content written.  Exits non-zero on any
 * violation.
 *
 * With --debounce-ms N (default 0) the saves fall inside debounce windows:
 * they are compiled ahead, during the window, and most of those compiles
 * are replaced by a later save before the window ends.
 *
 *   bench_stress [--seconds N] [--readers N] [--max-hold-us N] [--debounce-ms N]
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static atomic_long violations, calls, sections;
static atomic_bool stop;
static fsrs_engine *engine;
static char script[512];
static int max_hold_us = 200;

#define VIOLATION(...)                                                                    \
    do {                                                                                  \
        if (atomic_fetch_add(&violations, 1) < 20) {                                      \
            fprintf(stderr, "bench_stress: VIOLATION: " __VA_ARGS__);                      \
            fputc('\n', stderr);                                                          \
        }                                                                                 \
    } while (0)

/* ---------------------------------------------------- poisoning allocator --- */

static atomic_long live_bytes;

static void *poison_alloc(void *ptr, size_t old_size, size_t new_size, void *ud)
{
    (void)ud;
    if (new_size == 0) {
        if (ptr) {
            memset(ptr, 0xDB, old_size); /* a reader of freed memory sees garbage */
            atomic_fetch_sub(&live_bytes, (long)old_size);
            free(ptr);
        }
        return NULL;
    }
    void *p = realloc(ptr, new_size);
    if (p)
        atomic_fetch_add(&live_bytes, (long)new_size - (long)old_size);
    return p;
}

/* ------------------------------------------------------------- scripts --- */

static int64_t checksum(int64_t n) { return n * 7919 + 104729; }

static void version_text(int64_t n, char *buf, size_t cap)
{
    snprintf(buf, cap,
             "let n = %lld\n"
             "let k = n * 7919 + 104729\n"
             "let tag = sprintf \"v%%d\" n\n"
             "let check () = (n, k, tag)\n",
             (long long)n);
}

static void write_file(const char *path, const char *text, int how)
{
    char tmp[600];
    size_t n = strlen(text);
    switch (how) {
    case 0: { /* in place */
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || write(fd, text, n) != (ssize_t)n)
            perror("bench_stress: write");
        close(fd);
        break;
    }
    case 1: { /* truncate, then two writes */
        int fd = open(path, O_WRONLY | O_CREAT, 0644);
        if (fd < 0 || ftruncate(fd, 0) != 0 || write(fd, text, n / 2) != (ssize_t)(n / 2) ||
            write(fd, text + n / 2, n - n / 2) != (ssize_t)(n - n / 2))
            perror("bench_stress: write");
        close(fd);
        break;
    }
    default: { /* temporary file renamed into place */
        snprintf(tmp, sizeof tmp, "%s.tmp~", path);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || write(fd, text, n) != (ssize_t)n)
            perror("bench_stress: write");
        close(fd);
        if (rename(tmp, path) != 0)
            perror("bench_stress: rename");
        break;
    }
    }
}

/* ------------------------------------------------------------- readers --- */

static void check_result(fsrs_value out, int64_t *last)
{
    int64_t n = fsrs_value_as_int(fsrs_tuple_get(out, 0));
    int64_t k = fsrs_value_as_int(fsrs_tuple_get(out, 1));
    size_t len;
    const char *tag = fsrs_value_as_string(fsrs_tuple_get(out, 2), &len);
    char want[32];
    snprintf(want, sizeof want, "v%lld", (long long)n);
    if (k != checksum(n) || !tag || strcmp(tag, want) != 0)
        VIOLATION("torn or freed version: n=%lld k=%lld tag=%s", (long long)n, (long long)k,
                  tag ? tag : "(null)");
    if (n < *last)
        VIOLATION("version went backwards: %lld after %lld", (long long)n, (long long)*last);
    *last = n;
}

static void *reader_main(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg * 2654435761u;
    fsrs_reader *r;
    if (fsrs_reader_new(engine, NULL, NULL, NULL, &r) != FSRS_OK) {
        VIOLATION("reader_new failed");
        return NULL;
    }
    /* every second reader holds its sections open between calls (deferred
     * leave), so both ways of leaving run against the same reload storm */
    if ((uintptr_t)arg % 2 == 0)
        fsrs_reader_defer_leave(r, true);
    int64_t last = -1;
    fsrs_value unit = fsrs_unit(), out;
    while (!atomic_load(&stop)) {
        fsrs_reader_enter(r);
        uint64_t hold_until = now_us() + (uint64_t)(rand_r(&seed) % (unsigned)(max_hold_us + 1));
        do {
            int rc = fsrs_reader_call(r, script, "check", 1, &unit, &out);
            if (rc == FSRS_OK)
                check_result(out, &last);
            else
                VIOLATION("call failed: %s", fsrs_error_last() ? fsrs_error_last()->message : "?");
            atomic_fetch_add_explicit(&calls, 1, memory_order_relaxed);
        } while (now_us() < hold_until);
        fsrs_reader_leave(r);
        fsrs_reader_release(r);
        atomic_fetch_add_explicit(&sections, 1, memory_order_relaxed);
    }
    fsrs_reader_free(r);
    return NULL;
}

int main(int argc, char **argv)
{
    int seconds = 10, readers = 2, debounce_ms = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            seconds = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--readers") && i + 1 < argc)
            readers = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--max-hold-us") && i + 1 < argc)
            max_hold_us = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--debounce-ms") && i + 1 < argc)
            debounce_ms = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_stress [--seconds N] [--readers N] [--max-hold-us N] "
                            "[--debounce-ms N]\n");
            return 2;
        }
    }
    if (readers < 1 || readers > 64 || seconds < 1 || max_hold_us < 0 || debounce_ms < 0)
        return 2;
    char dir[] = "/tmp/fsrs-stress-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    snprintf(script, sizeof script, "%s/main.fsrs", dir);
    char text[512];
    version_text(0, text, sizeof text);
    write_file(script, text, 0);

    fsrs_engine_config cfg;
    fsrs_engine_config_init(&cfg);
    cfg.debounce_ms = (unsigned)debounce_ms;
    cfg.compile_options.alloc = poison_alloc;
    if (fsrs_engine_new(&cfg, &engine) != FSRS_OK || fsrs_engine_watch(engine, dir) != FSRS_OK ||
        fsrs_engine_start(engine) != FSRS_OK) {
        fprintf(stderr, "bench_stress: engine: %s\n", fsrs_error_last()->message);
        return 1;
    }
    uint64_t t_end = now_us() + 10000000;
    while (fsrs_engine_version(engine, script) < 1 && now_us() < t_end)
        usleep(1000);
    pthread_t *t = calloc((size_t)readers, sizeof *t);
    for (int i = 0; i < readers; i++)
        pthread_create(&t[i], NULL, reader_main, (void *)(uintptr_t)(i + 1));

    unsigned seed = 12345;
    int64_t n = 0, last_good = 0, saves = 0, broken = 0;
    t_end = now_us() + (uint64_t)seconds * 1000000u;
    while (now_us() < t_end && atomic_load(&violations) == 0) {
        int how = (int)(rand_r(&seed) % 10);
        if (how == 9) {
            write_file(script, "let n = \nlet check () = n\n", 0); /* broken */
            broken++;
        } else {
            version_text(++n, text, sizeof text);
            write_file(script, text, how % 3);
            last_good = n;
        }
        saves++;
        unsigned pause = rand_r(&seed) % 2000;
        if (pause > 1000)
            usleep(pause - 1000);
    }
    /* the last save must be good, and be what ends up published */
    version_text(++n, text, sizeof text);
    write_file(script, text, 2);
    last_good = n;
    saves++;
    fsrs_reader *fr;
    fsrs_reader_new(engine, NULL, NULL, NULL, &fr);
    fsrs_value unit = fsrs_unit(), out;
    int64_t got = -1;
    t_end = now_us() + 10000000;
    while (now_us() < t_end) {
        if (fsrs_reader_call(fr, script, "check", 1, &unit, &out) == FSRS_OK)
            got = fsrs_value_as_int(fsrs_tuple_get(out, 0));
        fsrs_reader_release(fr);
        if (got == last_good)
            break;
        usleep(1000);
    }
    if (got != last_good)
        VIOLATION("final version runs n=%lld, last content written has n=%lld", (long long)got,
                  (long long)last_good);
    atomic_store(&stop, true);
    for (int i = 0; i < readers; i++)
        pthread_join(t[i], NULL);
    fsrs_reader_free(fr);
    fsrs_engine_stats st;
    t_end = now_us() + 10000000;
    do {
        fsrs_engine_stats_get(engine, &st);
        if (st.versions_freed == st.versions_retired)
            break;
        usleep(2000);
    } while (now_us() < t_end);
    if (st.versions_freed != st.versions_retired)
        VIOLATION("%llu versions retired, %llu freed", (unsigned long long)st.versions_retired,
                  (unsigned long long)st.versions_freed);
    fsrs_engine_free(engine);
    if (atomic_load(&live_bytes) != 0)
        VIOLATION("%ld chunk bytes still allocated after the engine was freed",
                  atomic_load(&live_bytes));
    unlink(script);
    rmdir(dir);
    free(t);
    long v = atomic_load(&violations);
    printf("bench_stress: %d s, %d readers, %lld saves (%lld broken), %llu reloads ok, %llu "
           "failed, %llu skipped; %ld calls in %ld sections; %llu versions retired and freed; "
           "window %d ms: %llu compiled ahead, %llu compiles ahead discarded\n",
           seconds, readers, (long long)saves, (long long)broken,
           (unsigned long long)st.reloads_ok, (unsigned long long)st.reloads_failed,
           (unsigned long long)st.skipped_unchanged, atomic_load(&calls), atomic_load(&sections),
           (unsigned long long)st.versions_freed, debounce_ms,
           (unsigned long long)st.compiled_ahead, (unsigned long long)st.ahead_discarded);
    printf("bench_stress: %d passed, %d failed\n", v ? 0 : 1, v ? 1 : 0);
    return v ? 1 : 0;
}
