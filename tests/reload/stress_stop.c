/*
 * tests/reload/stress_stop.c - stopping an engine while files keep
 * changing.  The watcher and the debouncer take the control lock for every
 * event they handle, so fsrs_engine_stop must not hold a lock they need
 * while it joins them: each stop here has to finish well within its
 * timeout, round after round, with a writer saving the watched script
 * nonstop.  A plain program (not Criterion) so that the TSan build runs it.
 */
#include "helpers.h"

#include <pthread.h>
#include <stdatomic.h>

#define ROUNDS 40
#define STOP_TIMEOUT_MS 3000
#define STOP_FAST_MS 1000

static atomic_bool writing;

static void *writer(void *arg)
{
    const char *path = arg;
    char text[64];
    for (int i = 0; atomic_load(&writing); i++) {
        snprintf(text, sizeof text, "let x = %d\n", i);
        save_in_place(path, text);
    }
    return NULL;
}

int main(void)
{
    int failures = 0;
    for (int round = 0; round < ROUNDS; round++) {
        char *dir = make_tmpdir();
        if (!dir) {
            fprintf(stderr, "cannot create a temporary directory\n");
            return 1;
        }
        char *path = path_in(dir, "main.fsrs");
        save_in_place(path, "let x = 0\n");
        fsrs_engine_config cfg;
        fsrs_engine_config_init(&cfg);
        cfg.debounce_ms = 0;
        fsrs_engine *e;
        if (fsrs_engine_new(&cfg, &e) != FSRS_OK || fsrs_engine_watch(e, dir) != FSRS_OK ||
            fsrs_engine_start(e) != FSRS_OK) {
            fprintf(stderr, "engine setup failed: %s\n", fsrs_error_last()->message);
            return 1;
        }
        atomic_store(&writing, true);
        pthread_t t;
        if (pthread_create(&t, NULL, writer, path) != 0) {
            fprintf(stderr, "cannot start the writer\n");
            return 1;
        }
        /* let events flow through every stage */
        uint64_t until = now_ms() + 20;
        while (now_ms() < until && fsrs_engine_reload_count(e) < 3)
            sleep_ms(1);

        uint64_t t0 = now_ms();
        int rc = fsrs_engine_stop(e, STOP_TIMEOUT_MS);
        uint64_t took = now_ms() - t0;
        atomic_store(&writing, false);
        pthread_join(t, NULL);
        if (rc != FSRS_OK || took > STOP_FAST_MS) {
            fprintf(stderr, "round %d: fsrs_engine_stop returned %d after %llu ms\n", round, rc,
                    (unsigned long long)took);
            failures++;
            /* a thread may still be running: let it finish before freeing */
            if (rc != FSRS_OK && fsrs_engine_stop(e, STOP_TIMEOUT_MS) != FSRS_OK) {
                fprintf(stderr, "round %d: the engine never stopped\n", round);
                return 1;
            }
        }
        fsrs_engine_free(e);
        remove_tree(dir);
        free(path);
        free(dir);
    }
    if (failures) {
        fprintf(stderr, "%d of %d stops were slow or failed\n", failures, ROUNDS);
        return 1;
    }
    printf("%d stops under load, each within %d ms\n", ROUNDS, STOP_FAST_MS);
    return 0;
}
