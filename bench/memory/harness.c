/*
 * bench/memory/harness.c - compile throughput, and memory over many reloads.
 *
 * 1. Lines per second compiling a 10,000-line script in process
 *    (fsrs_compile), beside `luac5.4 -p` parsing a Lua file of the same
 *    10,000 functions, both timed in this run (luac as a whole process, so
 *    its start-up is subtracted using an empty file).
 * 2. Resident memory of this process before and during 100,000 reloads
 *    (--reloads), driven by real saves of a watched script while two reader
 *    threads call it without pause, and the counts of versions retired and
 *    freed.  Memory must not grow with the number of reloads.
 *
 *   bench_memory [--reloads N] [--lua-compiler PATH]
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <fsrs/fsrs.h>

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static long rss_kb(void)
{
    long pages = 0, rss = 0;
    FILE *fp = fopen("/proc/self/statm", "r");
    if (fp) {
        if (fscanf(fp, "%ld %ld", &pages, &rss) != 2)
            rss = 0;
        fclose(fp);
    }
    return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

/* ---------------------------------------------------- compile throughput --- */

static char *fsrs_source(int lines, size_t *len)
{
    size_t cap = (size_t)lines * 80 + 64, n = 0;
    char *s = malloc(cap);
    n += (size_t)snprintf(s + n, cap - n, "let version () = 1\n");
    for (int i = 1; i < lines; i++)
        n += (size_t)snprintf(s + n, cap - n, "let f%d x = if x > %d then x * 2 else x + %d\n", i,
                              i, i);
    *len = n;
    return s;
}

static void write_lua(const char *path, int lines)
{
    FILE *fp = fopen(path, "w");
    fprintf(fp, "function version() return 1 end\n");
    for (int i = 1; i < lines; i++)
        fprintf(fp, "function f%d(x) if x > %d then return x * 2 else return x + %d end end\n", i,
                i, i);
    fclose(fp);
}

/* seconds for one run of `prog -p file`, median of runs */
static double time_luac(const char *prog, const char *file, int runs)
{
    double best[32];
    for (int r = 0; r < runs; r++) {
        uint64_t t0 = now_ns();
        pid_t pid = fork();
        if (pid == 0) {
            int null = open("/dev/null", O_WRONLY);
            dup2(null, 1);
            execlp(prog, prog, "-p", file, (char *)NULL);
            _exit(127);
        }
        int st;
        waitpid(pid, &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            fprintf(stderr, "bench_memory: %s -p %s failed\n", prog, file);
            return -1;
        }
        best[r] = (double)(now_ns() - t0) / 1e9;
    }
    for (int i = 0; i < runs; i++)
        for (int j = i + 1; j < runs; j++)
            if (best[j] < best[i]) {
                double t = best[i];
                best[i] = best[j];
                best[j] = t;
            }
    return best[runs / 2];
}

/* ------------------------------------------------------------ reloads --- */

static fsrs_engine *engine;
static char path[512];
static atomic_bool stop;
static atomic_long calls;

static void *reader_main(void *arg)
{
    (void)arg;
    fsrs_reader *r;
    fsrs_reader_new(engine, NULL, NULL, NULL, &r);
    fsrs_value u = fsrs_unit(), out;
    while (!atomic_load(&stop)) {
        fsrs_reader_call(r, path, "value", 1, &u, &out);
        fsrs_reader_release(r);
        atomic_fetch_add_explicit(&calls, 1, memory_order_relaxed);
    }
    fsrs_reader_free(r);
    return NULL;
}

static void save(int n)
{
    char text[160];
    int len = snprintf(text, sizeof text, "let n = %d\nlet value () = (n, sprintf \"v%%d\" n)\n", n);
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp~", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, text, (size_t)len) != len)
        perror("bench_memory: write");
    close(fd);
    if (rename(tmp, path) != 0)
        perror("bench_memory: rename");
}

int main(int argc, char **argv)
{
    int reloads = 100000;
    const char *luac = "luac5.4";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--reloads") && i + 1 < argc)
            reloads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--lua-compiler") && i + 1 < argc)
            luac = argv[++i];
        else {
            fprintf(stderr, "usage: bench_memory [--reloads N] [--lua-compiler PATH]\n");
            return 2;
        }
    }
    char dir[] = "/tmp/fsrs-memory-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char date[64];
    time_t tt = time(NULL);
    strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S %z", localtime(&tt));
    printf("## fsrs compile throughput and memory over reloads\n\n- date: %s\n- nproc: %ld\n\n",
           date, sysconf(_SC_NPROCESSORS_ONLN));

    /* 1. compile throughput */
    const int lines = 10000, runs = 9;
    size_t len;
    char *src = fsrs_source(lines, &len);
    double t[9];
    for (int r = 0; r < runs; r++) {
        uint64_t t0 = now_ns();
        fsrs_chunk *c;
        if (fsrs_compile(NULL, "big.fsrs", src, len, &c) != FSRS_OK) {
            fprintf(stderr, "bench_memory: compile failed: %s\n", fsrs_error_last()->message);
            return 1;
        }
        t[r] = (double)(now_ns() - t0) / 1e9;
        fsrs_chunk_free(c);
    }
    for (int i = 0; i < runs; i++)
        for (int j = i + 1; j < runs; j++)
            if (t[j] < t[i]) {
                double x = t[i];
                t[i] = t[j];
                t[j] = x;
            }
    double fsrs_s = t[runs / 2];
    free(src);
    char lua_big[600], lua_empty[600];
    snprintf(lua_big, sizeof lua_big, "%s/big.lua", dir);
    snprintf(lua_empty, sizeof lua_empty, "%s/empty.lua", dir);
    write_lua(lua_big, lines);
    write_lua(lua_empty, 1);
    double lua_total = time_luac(luac, lua_big, runs), lua_start = time_luac(luac, lua_empty, runs);
    double lua_s = lua_total - lua_start;
    printf("| compiler | 10,000-line script (median of %d) | lines/s |\n|---|---:|---:|\n", runs);
    printf("| fsrs_compile (in process) | %.1f ms | %.0f |\n", fsrs_s * 1e3, lines / fsrs_s);
    if (lua_total > 0)
        printf("| %s -p (process time %.1f ms minus start-up %.1f ms) | %.1f ms | %.0f |\n", luac,
               lua_total * 1e3, lua_start * 1e3, lua_s * 1e3, lua_s > 0 ? lines / lua_s : 0);
    printf("\nratio fsrs/luac time: %.2f\n\n", lua_s > 0 ? fsrs_s / lua_s : 0);
    unlink(lua_big);
    unlink(lua_empty);
    fflush(stdout);

    /* 2. memory over reloads */
    snprintf(path, sizeof path, "%s/main.fsrs", dir);
    save(0);
    fsrs_engine_config cfg;
    fsrs_engine_config_init(&cfg);
    cfg.debounce_ms = 0;
    fsrs_engine_new(&cfg, &engine);
    fsrs_engine_watch(engine, dir);
    fsrs_engine_start(engine);
    while (fsrs_engine_version(engine, path) < 1)
        usleep(100);
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&th[i], NULL, reader_main, NULL);
    usleep(200000);
    printf("| reloads | RSS (KiB) | versions retired | versions freed |\n|---:|---:|---:|---:|\n");
    long rss0 = rss_kb();
    printf("| 0 | %ld | 0 | 0 |\n", rss0);
    fflush(stdout);
    int checkpoints[] = {1000, 10000, 25000, 50000, 75000, 100000};
    int ci = 0;
    uint64_t t0 = now_ns();
    for (int i = 1; i <= reloads; i++) {
        save(i);
        uint64_t want = (uint64_t)i + 1, deadline = now_ns() + 10000000000ull;
        while (fsrs_engine_version(engine, path) < want && now_ns() < deadline) {
            struct timespec ts = {0, 20000};
            nanosleep(&ts, NULL);
        }
        if (fsrs_engine_version(engine, path) < want) {
            fprintf(stderr, "bench_memory: reload %d not published\n", i);
            break;
        }
        if (ci < 6 && (i == checkpoints[ci] || i == reloads)) {
            fsrs_engine_stats st;
            fsrs_engine_stats_get(engine, &st);
            printf("| %d | %ld | %llu | %llu |\n", i, rss_kb(),
                   (unsigned long long)st.versions_retired, (unsigned long long)st.versions_freed);
            fflush(stdout);
            while (ci < 6 && checkpoints[ci] <= i)
                ci++;
        }
    }
    double el = (double)(now_ns() - t0) / 1e9;
    atomic_store(&stop, true);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    fsrs_engine_stats st;
    fsrs_engine_stats_get(engine, &st);
    printf("\n%d reloads in %.1f s with 2 readers (%ld calls); retired %llu, freed %llu; RSS "
           "%ld KiB -> %ld KiB\n",
           reloads, el, atomic_load(&calls), (unsigned long long)st.versions_retired,
           (unsigned long long)st.versions_freed, rss0, rss_kb());
    fsrs_engine_free(engine);
    unlink(path);
    rmdir(dir);
    return 0;
}
