/*
 * tests/reload/stress_engine.c - the engine's threads through a sequence of
 * real saves (in place, by rename, broken, manual reloads, stop and start,
 * safe-point publishing) while a reader thread calls the script without
 * pause.  A plain program (exit 0 = pass) so that the TSan build, which
 * cannot run Criterion, checks every path between the engine's threads,
 * the callback and the waiters.
 */
#include "helpers.h"

#include <pthread.h>
#include <stdatomic.h>

static atomic_int failures;
static atomic_bool done;
static atomic_int callbacks;

#define CHECK(cond, ...)                                                                   \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "stress_engine: line %d: ", __LINE__);                         \
            fprintf(stderr, __VA_ARGS__);                                                  \
            fputc('\n', stderr);                                                           \
            atomic_fetch_add(&failures, 1);                                                \
        }                                                                                  \
    } while (0)

typedef struct Ctx {
    fsrs_engine *engine;
    const char *path;
} Ctx;

static void on_reload(const fsrs_reload_info *info, void *ud)
{
    (void)ud;
    if (info->ok && info->publish_us && info->publish_us < info->compile_end_us)
        atomic_fetch_add(&failures, 1);
    atomic_fetch_add(&callbacks, 1);
}

static void *reader_main(void *arg)
{
    Ctx *c = arg;
    fsrs_reader *r;
    if (fsrs_reader_new(c->engine, NULL, NULL, NULL, &r) != FSRS_OK)
        return NULL;
    fsrs_value unit = fsrs_unit(), out;
    while (!atomic_load(&done)) {
        if (fsrs_reader_call(r, c->path, "pair", 1, &unit, &out) == FSRS_OK) {
            int64_t a = fsrs_value_as_int(fsrs_tuple_get(out, 0));
            int64_t b = fsrs_value_as_int(fsrs_tuple_get(out, 1));
            CHECK(b == a + 1000, "torn version %lld %lld", (long long)a, (long long)b);
        }
        fsrs_reader_release(r);
    }
    fsrs_reader_free(r);
    return NULL;
}

static const char *version_text(int n)
{
    static char buf[128];
    snprintf(buf, sizeof buf, "let n = %d\nlet pair () = (n, n + 1000)\n", n);
    return buf;
}

static bool wait_version(fsrs_engine *e, const char *p, uint64_t v)
{
    uint64_t end = now_ms() + 10000;
    while (fsrs_engine_version(e, p) < v)
        if (now_ms() > end)
            return false;
        else
            sleep_ms(1);
    return true;
}

static void scenario(fsrs_publish_mode mode)
{
    char *dir = make_tmpdir();
    char *p = path_in(dir, "main.fsrs");
    save_in_place(p, version_text(0));
    fsrs_engine_config cfg;
    fsrs_engine_config_init(&cfg);
    cfg.debounce_ms = 0;
    cfg.publish = mode;
    cfg.on_reload = on_reload;
    fsrs_engine *e;
    CHECK(fsrs_engine_new(&cfg, &e) == FSRS_OK, "engine_new");
    CHECK(fsrs_engine_watch(e, dir) == FSRS_OK, "watch");
    CHECK(fsrs_engine_start(e) == FSRS_OK, "start");
    Ctx c = {e, p};
    pthread_t t;
    atomic_store(&done, false);
    pthread_create(&t, NULL, reader_main, &c);
    bool sync = mode == FSRS_PUBLISH_AT_SYNC;
    CHECK(fsrs_engine_wait_reload(e, 0, 10000, NULL) == FSRS_OK, "no initial load");
    if (sync)
        fsrs_engine_sync(e);
    CHECK(wait_version(e, p, 1), "version 1 not visible");
    uint64_t expect = 1;
    int rounds = getenv("ROUNDS") ? atoi(getenv("ROUNDS")) : 60;
    for (int i = 1; i <= rounds; i++) {
        uint64_t seq = fsrs_engine_reload_count(e);
        switch (i % 6) {
        case 0: save_in_place(p, "let n = \nlet pair () = n\n"); break; /* broken */
        case 1: save_by_rename(p, version_text(i)); break;
        case 2: save_truncate_then_write(p, version_text(i)); break;
        case 3: CHECK(fsrs_engine_reload(e, p) == FSRS_OK, "manual reload"); break;
        case 4: save_delete_create(p, version_text(i)); break;
        default: save_in_place(p, version_text(i)); break;
        }
        fsrs_reload_info info;
        CHECK(fsrs_engine_wait_reload(e, seq, 10000, &info) == FSRS_OK, "no reload after save %d", i);
        CHECK(info.ok == (i % 6 != 0), "save %d: ok=%d error=%s", i, info.ok,
              info.error ? info.error : "");
        if (info.ok)
            expect++;
        if (getenv("DEBUG"))
            fprintf(stderr, "save %d: ok=%d version=%llu visible=%llu expect=%llu\n", i, info.ok,
                    (unsigned long long)info.version, (unsigned long long)fsrs_engine_version(e, p),
                    (unsigned long long)expect);
        if (sync)
            fsrs_engine_sync(e);
        CHECK(wait_version(e, p, expect), "version %llu not visible", (unsigned long long)expect);
        if (i == 30) {
            CHECK(fsrs_engine_stop(e, 5000) == FSRS_OK, "stop");
            CHECK(fsrs_engine_start(e) == FSRS_OK, "restart");
        }
    }
    atomic_store(&done, true);
    pthread_join(t, NULL);
    fsrs_engine_stats st;
    fsrs_engine_stats_get(e, &st);
    CHECK(st.reloads_failed == 10, "failed reloads: %llu", (unsigned long long)st.reloads_failed);
    fsrs_engine_free(e);
    remove_tree(dir);
    free(p);
    free(dir);
}

int main(void)
{
    scenario(FSRS_PUBLISH_IMMEDIATE);
    scenario(FSRS_PUBLISH_AT_SYNC);
    int f = atomic_load(&failures);
    printf("stress_engine: %d callbacks; %d passed, %d failed\n", atomic_load(&callbacks),
           f ? 0 : 1, f ? 1 : 0);
    return f ? 1 : 0;
}
