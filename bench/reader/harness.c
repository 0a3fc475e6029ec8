/*
 * bench/reader/harness.c - what a reader pays to run scripts while reloads
 * may happen: fsrs's epoch sections beside the usual ways of protecting a
 * swappable pointer, measured in the same run with 1 and 2 threads.
 *
 *   atomic load     a bare acquire load of the current pointer (the floor;
 *                   protects nothing once the old object is freed)
 *   mutex           pthread_mutex_lock/unlock around the load
 *   rwlock          pthread_rwlock_rdlock/unlock around the load
 *   liburcu (memb)  rcu_read_lock/unlock (urcu-memb flavour, inlined)
 *   fsrs            fsrs_reader_enter/leave (ck_epoch_begin/end)
 *   fsrs, deferred  the same with fsrs_reader_defer_leave: the section
 *                   stays open between calls unless a replaced version
 *                   waits to be freed
 *
 * Two figures per row: enter+leave alone, and enter + call an empty script
 * function + leave (every row calls the same function in the same kind of
 * VM; only the protection differs; fsrs uses fsrs_reader_call).
 *
 *   bench_reader [--quick]
 */
#define _GNU_SOURCE
#define _LGPL_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <urcu/urcu-memb.h>

#include <fsrs/fsrs.h>

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

enum { M_ATOMIC, M_MUTEX, M_RWLOCK, M_URCU, M_FSRS, M_FSRS_DEFER, M_COUNT };
static const char *const names[] = {"atomic load",  "pthread_mutex", "pthread_rwlock",
                                    "liburcu-memb", "fsrs reader",   "fsrs reader, deferred leave"};

static fsrs_chunk *chunk;
static _Atomic(fsrs_chunk *) current;
static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t rwlock = PTHREAD_RWLOCK_INITIALIZER;
static fsrs_engine *engine;
static char script_path[256];

typedef struct Job {
    int method;
    bool call;
    long iters;
    pthread_barrier_t *start;
    uint64_t ns;
    long sink;
} Job;

static void *worker(void *arg)
{
    Job *j = arg;
    fsrs_vm *vm = NULL;
    fsrs_reader *reader = NULL;
    fsrs_value unit = fsrs_unit(), out;
    if (j->method == M_FSRS || j->method == M_FSRS_DEFER) {
        fsrs_reader_new(engine, NULL, NULL, NULL, &reader);
        fsrs_reader_load(reader, script_path);
        fsrs_reader_defer_leave(reader, j->method == M_FSRS_DEFER);
    } else if (j->call) {
        fsrs_vm_new(NULL, &vm);
        fsrs_vm_load(vm, chunk);
    }
    if (j->method == M_URCU)
        urcu_memb_register_thread();
    pthread_barrier_wait(j->start);
    uint64_t t0 = now_ns();
    long sink = 0;
    for (long i = 0; i < j->iters; i++) {
        switch (j->method) {
        case M_ATOMIC: {
            fsrs_chunk *c = atomic_load_explicit(&current, memory_order_acquire);
            sink += c != NULL;
            if (j->call)
                fsrs_vm_call(vm, "f", 1, &unit, &out);
            break;
        }
        case M_MUTEX: {
            pthread_mutex_lock(&mutex);
            fsrs_chunk *c = atomic_load_explicit(&current, memory_order_relaxed);
            sink += c != NULL;
            if (j->call)
                fsrs_vm_call(vm, "f", 1, &unit, &out);
            pthread_mutex_unlock(&mutex);
            break;
        }
        case M_RWLOCK: {
            pthread_rwlock_rdlock(&rwlock);
            fsrs_chunk *c = atomic_load_explicit(&current, memory_order_relaxed);
            sink += c != NULL;
            if (j->call)
                fsrs_vm_call(vm, "f", 1, &unit, &out);
            pthread_rwlock_unlock(&rwlock);
            break;
        }
        case M_URCU: {
            urcu_memb_read_lock();
            fsrs_chunk *c = rcu_dereference(*(fsrs_chunk **)&current);
            sink += c != NULL;
            if (j->call)
                fsrs_vm_call(vm, "f", 1, &unit, &out);
            urcu_memb_read_unlock();
            break;
        }
        case M_FSRS:
        case M_FSRS_DEFER:
            fsrs_reader_enter(reader);
            if (j->call)
                fsrs_reader_call(reader, script_path, "f", 1, &unit, &out);
            else
                sink++;
            fsrs_reader_leave(reader);
            break;
        }
        if (j->call && (i & 1023) == 0) {
            if (vm)
                fsrs_vm_release(vm, 0);
            if (reader)
                fsrs_reader_release(reader);
        }
    }
    j->ns = now_ns() - t0;
    j->sink = sink;
    if (j->method == M_URCU)
        urcu_memb_unregister_thread();
    fsrs_reader_free(reader);
    fsrs_vm_free(vm);
    return NULL;
}

/* ns per operation, averaged over threads */
static double run(int method, bool call, int threads, long iters)
{
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, (unsigned)threads);
    Job jobs[2];
    pthread_t t[2];
    for (int i = 0; i < threads; i++) {
        jobs[i] = (Job){.method = method, .call = call, .iters = iters, .start = &start};
        pthread_create(&t[i], NULL, worker, &jobs[i]);
    }
    double total = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        total += (double)jobs[i].ns / (double)iters;
    }
    pthread_barrier_destroy(&start);
    return total / threads;
}

int main(int argc, char **argv)
{
    long iters = 20000000, call_iters = 2000000;
    if (argc > 1 && !strcmp(argv[1], "--quick")) {
        iters /= 10;
        call_iters /= 10;
    }
    const char *src = "let f () = ()\n";
    fsrs_compile(NULL, "empty.fsrs", src, strlen(src), &chunk);
    atomic_store(&current, chunk);

    char dir[] = "/tmp/fsrs-bench-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    snprintf(script_path, sizeof script_path, "%s/empty.fsrs", dir);
    FILE *fp = fopen(script_path, "w");
    fputs(src, fp);
    fclose(fp);
    fsrs_engine_new(NULL, &engine);
    fsrs_engine_watch(engine, dir);
    fsrs_engine_start(engine);
    while (fsrs_engine_version(engine, script_path) < 1)
        usleep(100);

    char date[64];
    time_t tt = time(NULL);
    strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S %z", localtime(&tt));
    printf("## fsrs reader cost\n\n- date: %s\n- nproc: %ld\n- iterations per thread: %ld "
           "(enter+leave), %ld (with a call)\n- ns per operation per thread, median of 3 runs\n\n",
           date, sysconf(_SC_NPROCESSORS_ONLN), iters, call_iters);
    printf("| method | enter+leave, 1 thread | 2 threads | enter+call+leave, 1 thread | 2 threads |\n");
    printf("|---|---:|---:|---:|---:|\n");
    double res[M_COUNT][4];
    for (int m = 0; m < M_COUNT; m++) {
        int col = 0;
        for (int call = 0; call < 2; call++)
            for (int th = 1; th <= 2; th++) {
                double r[3];
                for (int k = 0; k < 3; k++)
                    r[k] = run(m, call, th, call ? call_iters : iters);
                /* median of three */
                double a = r[0], b = r[1], c = r[2];
                double med = a > b ? (b > c ? b : (a > c ? c : a)) : (a > c ? a : (b > c ? c : b));
                res[m][col++] = med;
            }
        printf("| %s | %.2f | %.2f | %.1f | %.1f |\n", names[m], res[m][0], res[m][1], res[m][2],
               res[m][3]);
        fflush(stdout);
    }
    printf("\nratios with 2 threads (enter+leave): fsrs/liburcu %.2f, rwlock/fsrs %.1f, "
           "mutex/fsrs %.1f\n",
           res[M_FSRS][1] / res[M_URCU][1], res[M_RWLOCK][1] / res[M_FSRS][1],
           res[M_MUTEX][1] / res[M_FSRS][1]);
    printf("ratios with 2 threads (with a call): fsrs/liburcu %.2f, rwlock/fsrs %.2f\n",
           res[M_FSRS][3] / res[M_URCU][3], res[M_RWLOCK][3] / res[M_FSRS][3]);
    printf("deferred leave, 2 threads (enter+leave): fsrs/liburcu %.2f, rwlock/fsrs %.1f; "
           "(with a call): fsrs/liburcu %.2f, rwlock/fsrs %.2f\n",
           res[M_FSRS_DEFER][1] / res[M_URCU][1], res[M_RWLOCK][1] / res[M_FSRS_DEFER][1],
           res[M_FSRS_DEFER][3] / res[M_URCU][3], res[M_RWLOCK][3] / res[M_FSRS_DEFER][3]);
    fsrs_engine_free(engine);
    unlink(script_path);
    rmdir(dir);
    fsrs_chunk_free(chunk);
    return 0;
}
