/*
 * tests/reload/stress_readers.c - two reader threads call a script without
 * pause while the main thread saves it 10,000 times (FSRS_STRESS_RELOADS
 * overrides), waiting for each version to be published.  Every call checks
 * that the version it ran is whole (the two halves of the script agree) and
 * that versions only move forward; at the end every replaced version must
 * have been freed.  A plain program (exit 0 = pass) so that the TSan build
 * runs it too.
 */
#include "helpers.h"

#include <pthread.h>
#include <stdatomic.h>

static fsrs_engine *engine;
static char *script;
static atomic_bool done;
static atomic_int failures;
static atomic_long calls;

#define FAIL(...)                                                                  \
    do {                                                                           \
        fprintf(stderr, "stress_readers: " __VA_ARGS__);                            \
        fputc('\n', stderr);                                                       \
        atomic_fetch_add(&failures, 1);                                            \
    } while (0)

static void write_version(int n)
{
    char text[256];
    /* both halves derive from n: a torn or freed chunk would disagree */
    snprintf(text, sizeof text,
             "let n = %d\nlet k = n * 7 + 3\nlet check () = (n, k)\n", n);
    save_in_place(script, text);
}

static void *reader_main(void *arg)
{
    (void)arg;
    fsrs_reader *r;
    if (fsrs_reader_new(engine, NULL, NULL, NULL, &r) != FSRS_OK) {
        FAIL("reader_new failed");
        return NULL;
    }
    int64_t last = -1;
    fsrs_value unit = fsrs_unit();
    while (!atomic_load(&done)) {
        /* one section over several calls, as a host would per request */
        fsrs_reader_enter(r);
        for (int i = 0; i < 4; i++) {
            fsrs_value out;
            int rc = fsrs_reader_call(r, script, "check", 1, &unit, &out);
            if (rc != FSRS_OK) {
                FAIL("call failed: %s", fsrs_error_last() ? fsrs_error_last()->message : "?");
                break;
            }
            int64_t n = fsrs_value_as_int(fsrs_tuple_get(out, 0));
            int64_t k = fsrs_value_as_int(fsrs_tuple_get(out, 1));
            if (k != n * 7 + 3)
                FAIL("torn version: n=%lld k=%lld", (long long)n, (long long)k);
            if (n < last)
                FAIL("version went backwards: %lld after %lld", (long long)n, (long long)last);
            last = n;
            atomic_fetch_add_explicit(&calls, 1, memory_order_relaxed);
        }
        fsrs_reader_leave(r);
        fsrs_reader_release(r);
    }
    fsrs_reader_free(r);
    return NULL;
}

int main(void)
{
    int reloads = 10000;
    const char *env = getenv("FSRS_STRESS_RELOADS");
    if (env && atoi(env) > 0)
        reloads = atoi(env);
    char *dir = make_tmpdir();
    script = path_in(dir, "main.fsrs");
    write_version(0);
    fsrs_engine_config cfg;
    fsrs_engine_config_init(&cfg);
    cfg.debounce_ms = 0;
    if (fsrs_engine_new(&cfg, &engine) != FSRS_OK || fsrs_engine_watch(engine, dir) != FSRS_OK ||
        fsrs_engine_start(engine) != FSRS_OK) {
        fprintf(stderr, "stress_readers: engine setup failed\n");
        return 1;
    }
    uint64_t end = now_ms() + 10000;
    while (fsrs_engine_version(engine, script) < 1 && now_ms() < end)
        sleep_ms(1);
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, reader_main, NULL);
    uint64_t t0 = now_ms();
    for (int i = 1; i <= reloads && !atomic_load(&failures); i++) {
        write_version(i);
        uint64_t want = (uint64_t)i + 1, deadline = now_ms() + 10000;
        while (fsrs_engine_version(engine, script) < want) {
            if (now_ms() > deadline) {
                FAIL("version %llu not published in 10 s", (unsigned long long)want);
                break;
            }
            struct timespec ts = {0, 50000};
            nanosleep(&ts, NULL);
        }
    }
    uint64_t elapsed = now_ms() - t0;
    atomic_store(&done, true);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    /* with no reader left, every replaced version is freed soon */
    fsrs_engine_stats st;
    end = now_ms() + 10000;
    do {
        fsrs_engine_stats_get(engine, &st);
        if (st.versions_freed == st.versions_retired)
            break;
        sleep_ms(5);
    } while (now_ms() < end);
    if (st.versions_freed != st.versions_retired)
        FAIL("%llu versions retired but only %llu freed", (unsigned long long)st.versions_retired,
             (unsigned long long)st.versions_freed);
    if (st.reloads_ok < (uint64_t)reloads + 1)
        FAIL("only %llu reloads", (unsigned long long)st.reloads_ok);
    printf("stress_readers: %d reloads in %llu ms, %ld calls by 2 readers, %llu versions freed\n",
           reloads, (unsigned long long)elapsed, atomic_load(&calls),
           (unsigned long long)st.versions_freed);
    fsrs_engine_free(engine);
    remove_tree(dir);
    free(script);
    free(dir);
    int f = atomic_load(&failures);
    printf("stress_readers: %d passed, %d failed\n", f ? 0 : 1, f ? 1 : 0);
    return f ? 1 : 0;
}
