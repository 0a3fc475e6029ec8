/*
 * bench/tail/harness.c - host tail latency while scripts are reloaded.
 *
 * Two threads call a small script function in a tight loop and record the
 * latency of every call (p50, p99, p99.9, p99.99, max), first with no
 * reloads, then while the script is reloaded 1,000 times a second.  The
 * same is measured for a baseline that keeps the current chunk behind a
 * pthread mutex: each call locks it, loads the chunk into the thread's VM if
 * it changed, calls and unlocks; the swapper compiles a new chunk and swaps
 * it under the same mutex.
 *
 *   bench_tail [--seconds N] [--rate R] [--repeat N]
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <fsrs/fsrs.h>

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------------ histogram --- */
/* Exact below 1024 ns, then 64 sub-buckets per power of two (1.6% wide). */

#define SUB 64
#define NB (1024 + 40 * SUB)

typedef struct Hist {
    uint64_t b[NB];
    uint64_t n, max;
} Hist;

static int bucket_of(uint64_t v)
{
    if (v < 1024)
        return (int)v;
    int lg = 63 - __builtin_clzll(v); /* >= 10 */
    int sub = (int)((v >> (lg - 6)) & (SUB - 1));
    int i = 1024 + (lg - 10) * SUB + sub;
    return i < NB ? i : NB - 1;
}

static uint64_t value_of(int i)
{
    if (i < 1024)
        return (uint64_t)i;
    int lg = (i - 1024) / SUB + 10, sub = (i - 1024) % SUB;
    return ((uint64_t)1 << lg) + ((uint64_t)sub << (lg - 6));
}

static void hist_add(Hist *h, uint64_t v)
{
    h->b[bucket_of(v)]++;
    h->n++;
    if (v > h->max)
        h->max = v;
}

static void hist_merge(Hist *into, const Hist *h)
{
    for (int i = 0; i < NB; i++)
        into->b[i] += h->b[i];
    into->n += h->n;
    if (h->max > into->max)
        into->max = h->max;
}

static uint64_t hist_pct(const Hist *h, double p)
{
    uint64_t want = (uint64_t)ceil((double)h->n * p), seen = 0;
    for (int i = 0; i < NB; i++) {
        seen += h->b[i];
        if (seen >= want && want)
            return value_of(i);
    }
    return h->max;
}

/* ---------------------------------------------------------------- setup --- */

static const char *script_text(int v)
{
    static _Thread_local char buf[256];
    snprintf(buf, sizeof buf,
             "let v = %d\nlet handle x = if x > 100 then x - v else x + v\n", v);
    return buf;
}

static atomic_bool stop;

/* Sleep until the next tick of a fixed-rate loop. */
static void pace(uint64_t *next, uint64_t period)
{
    *next += period;
    uint64_t now = now_ns();
    if (*next > now) {
        struct timespec ts = {0, (long)(*next - now)};
        nanosleep(&ts, NULL);
    }
}
static double seconds = 3;
static int rate = 1000;
static int repeat = 3;

/* fsrs */
static fsrs_engine *engine;
static char path[512];

static void *fsrs_caller(void *arg)
{
    Hist *h = arg;
    fsrs_reader *r;
    fsrs_reader_new(engine, NULL, NULL, NULL, &r);
    fsrs_value x = fsrs_int(7), out;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        uint64_t t0 = now_ns();
        fsrs_reader_enter(r);
        fsrs_reader_call(r, path, "handle", 1, &x, &out);
        fsrs_reader_leave(r);
        hist_add(h, now_ns() - t0);
        if ((h->n & 1023) == 0)
            fsrs_reader_release(r);
    }
    fsrs_reader_free(r);
    return NULL;
}

/* Saves by writing a temporary file and renaming it over the script, as
 * most editors do: one event per save.  (A save in place every
 * millisecond overlaps the next one, and the engine rightly skips a file
 * whose writer is still busy, so fewer saves become reloads.) */
static void *fsrs_writer(void *arg)
{
    (void)arg;
    static int v = 1;
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    uint64_t period = 1000000000u / (uint64_t)rate, next = now_ns();
    while (!atomic_load(&stop)) {
        const char *t = script_text(++v);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            if (write(fd, t, strlen(t)) < 0)
                perror("bench_tail: write");
            close(fd);
            if (rename(tmp, path) != 0)
                perror("bench_tail: rename");
        }
        pace(&next, period);
    }
    return NULL;
}

/* mutex baseline */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static fsrs_chunk *current;
static uint64_t current_gen;

static void *mutex_caller(void *arg)
{
    Hist *h = arg;
    fsrs_vm *vm;
    fsrs_vm_new(NULL, &vm);
    uint64_t loaded = 0;
    fsrs_value x = fsrs_int(7), out;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        uint64_t t0 = now_ns();
        pthread_mutex_lock(&lock);
        if (current_gen != loaded) {
            fsrs_vm_load(vm, current);
            loaded = current_gen;
        }
        fsrs_vm_call(vm, "handle", 1, &x, &out);
        pthread_mutex_unlock(&lock);
        hist_add(h, now_ns() - t0);
        if ((h->n & 1023) == 0)
            fsrs_vm_release(vm, 0);
    }
    fsrs_vm_free(vm);
    return NULL;
}

static void *mutex_swapper(void *arg)
{
    (void)arg;
    static int v = 1;
    uint64_t period = 1000000000u / (uint64_t)rate, next = now_ns();
    while (!atomic_load(&stop)) {
        const char *t = script_text(++v);
        fsrs_chunk *c;
        if (fsrs_compile(NULL, "main.fsrs", t, strlen(t), &c) == FSRS_OK) {
            pthread_mutex_lock(&lock);
            fsrs_chunk *old = current;
            current = c;
            current_gen++;
            pthread_mutex_unlock(&lock);
            fsrs_chunk_free(old); /* VMs hold their own reference */
        }
        pace(&next, period);
    }
    return NULL;
}

/* Runs one setup for `seconds` and adds its calls to *out. */
static void run(bool use_fsrs, bool storm, Hist *out)
{
    Hist h[2];
    memset(h, 0, sizeof h);
    atomic_store(&stop, false);
    pthread_t t[2], w;
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, use_fsrs ? fsrs_caller : mutex_caller, &h[i]);
    if (storm)
        pthread_create(&w, NULL, use_fsrs ? fsrs_writer : mutex_swapper, NULL);
    struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    nanosleep(&ts, NULL);
    atomic_store(&stop, true);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    if (storm)
        pthread_join(w, NULL);
    hist_merge(out, &h[0]);
    hist_merge(out, &h[1]);
}

static void row(const char *name, const Hist *h, uint64_t reloads)
{
    printf("| %s | %llu | %llu | %llu | %llu | %llu | %llu | %llu |\n", name,
           (unsigned long long)h->n, (unsigned long long)reloads,
           (unsigned long long)hist_pct(h, 0.50), (unsigned long long)hist_pct(h, 0.99),
           (unsigned long long)hist_pct(h, 0.999), (unsigned long long)hist_pct(h, 0.9999),
           (unsigned long long)h->max);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--rate") && i + 1 < argc)
            rate = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--repeat") && i + 1 < argc)
            repeat = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_tail [--seconds N] [--rate R] [--repeat N]\n");
            return 2;
        }
    }
    if (seconds <= 0 || rate < 1 || repeat < 1)
        return 2;
    char dir[] = "/tmp/fsrs-tail-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    snprintf(path, sizeof path, "%s/main.fsrs", dir);
    FILE *fp = fopen(path, "w");
    fputs(script_text(1), fp);
    fclose(fp);
    fsrs_engine_config cfg;
    fsrs_engine_config_init(&cfg);
    cfg.debounce_ms = 0;
    fsrs_engine_new(&cfg, &engine);
    fsrs_engine_watch(engine, dir);
    fsrs_engine_start(engine);
    while (fsrs_engine_version(engine, path) < 1)
        usleep(100);
    fsrs_compile(NULL, "main.fsrs", script_text(1), strlen(script_text(1)), &current);
    current_gen = 1;

    char date[64];
    time_t tt = time(NULL);
    strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S %z", localtime(&tt));
    printf("## fsrs host tail latency under reload storms\n\n- date: %s\n- nproc: %ld\n- 2 "
           "calling threads; each row is %d runs of %.1f s, the four setups taking turns, so "
           "that changes in the machine's load touch them all alike\n- storm: %d saves/s "
           "(fsrs: saved by rename; baseline: compiled and swapped in process)\n- latency of "
           "one call in ns\n\n",
           date, sysconf(_SC_NPROCESSORS_ONLN), repeat, seconds, rate);
    printf("| setup | calls | reloads | p50 | p99 | p99.9 | p99.99 | max |\n");
    printf("|---|---:|---:|---:|---:|---:|---:|---:|\n");
    static Hist fq, fs, mq, ms;
    uint64_t fsrs_reloads = 0, mutex_swaps = 0;
    for (int k = 0; k < repeat; k++) {
        fsrs_engine_stats a, b;
        run(true, false, &fq);
        fsrs_engine_stats_get(engine, &a);
        run(true, true, &fs);
        fsrs_engine_stats_get(engine, &b);
        fsrs_reloads += b.reloads_ok - a.reloads_ok;
        run(false, false, &mq);
        uint64_t g0 = current_gen;
        run(false, true, &ms);
        mutex_swaps += current_gen - g0;
    }
    row("fsrs, quiet", &fq, 0);
    row("fsrs, storm", &fs, fsrs_reloads);
    row("mutex swap, quiet", &mq, 0);
    row("mutex swap, storm", &ms, mutex_swaps);
    printf("\np99.9 storm/quiet: fsrs %.2f, mutex swap %.2f\n",
           (double)hist_pct(&fs, 0.999) / (double)hist_pct(&fq, 0.999),
           (double)hist_pct(&ms, 0.999) / (double)hist_pct(&mq, 0.999));
    fsrs_engine_free(engine);
    fsrs_chunk_free(current);
    unlink(path);
    rmdir(dir);
    return 0;
}
