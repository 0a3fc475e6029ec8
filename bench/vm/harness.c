/*
 * bench/vm/harness.c - the VM benchmark harness (built as `bench_vm`).
 *
 * For every benchmark program NAME in the bench directory it runs
 *     <fsrs> run NAME.fsrs      and      <lua> NAME.lua
 * alternately (fsrs, lua, fsrs, lua, ...) N times each, captures each run's
 * standard output through a pipe, checks that every run of both twins
 * printed exactly the same thing, and records the wall time of each run
 * (CLOCK_MONOTONIC, from fork to waitpid, so process start-up is included
 * on both sides). It then prints a Markdown table of medians, minimums and
 * the fsrs/lua ratio of medians.
 *
 * Usage:
 *   bench_vm FSRS [options]
 *     --lua PATH        Lua 5.4 interpreter (default: lua5.4, looked up in PATH)
 *     --runs N          timed runs per side and program (default: 5)
 *     --dir DIR         directory holding the programs (default: BENCH_VM_DIR)
 *     --only A,B,...    run only the named programs
 *     --timeout SEC     kill a run after SEC seconds and count it as failed
 *                       (default: 300)
 *     --fsrs-ext EXT    debugging aid for the harness itself: run
 *                       `FSRS NAME.EXT` (no `run` subcommand), e.g.
 *                       `bench_vm lua5.4 --fsrs-ext lua` times Lua twice
 *
 * Exit status: 0 when every run succeeded and all outputs agreed, 1 when a
 * run failed or outputs differed, 2 on a usage error.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef BENCH_VM_DIR
#define BENCH_VM_DIR "bench/vm"
#endif

static const char *const PROGRAMS[] = {"fib", "tailloop", "closures", "list", "strings",
                                       "records", "maps"};
#define NPROGRAMS (sizeof PROGRAMS / sizeof PROGRAMS[0])

enum { SIDE_FSRS = 0, SIDE_LUA = 1, NSIDES = 2 };
static const char *const SIDE_NAME[NSIDES] = {"fsrs", "lua"};

typedef struct Buf {
    char *data;
    size_t len, cap;
} Buf;

typedef struct Options {
    const char *fsrs;
    const char *lua;
    const char *dir;
    const char *fsrs_ext; /* NULL: `fsrs run NAME.fsrs` */
    const char *only;     /* comma-separated list, or NULL */
    int runs;
    double timeout;
} Options;

typedef struct RunResult {
    int ok;        /* exited normally with status 0 */
    int timed_out;
    int status;    /* raw waitpid status */
    double seconds;
    Buf out;
} RunResult;

typedef struct ProgramResult {
    const char *name;
    int ran;
    int failed[NSIDES];
    int mismatch;
    int ntimes[NSIDES];
    double *times[NSIDES];
} ProgramResult;

/* The process group of the run in progress, so that a timeout or an
 * interrupt of the harness also ends whatever the run started. */
static volatile sig_atomic_t running_pgid = 0;

static void on_fatal_signal(int sig)
{
    if (running_pgid > 0)
        kill(-(pid_t)running_pgid, SIGKILL);
    signal(sig, SIG_DFL);
    raise(sig);
}

static void install_signal_handlers(void)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_fatal_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(sigs[i], &sa, NULL);
    }
}

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        die("malloc");
    return p;
}

static double now_seconds(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        die("clock_gettime");
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void buf_append(Buf *b, const char *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (b->len + n + 1 > cap)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d)
            die("realloc");
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void buf_free(Buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

static char *path_join(const char *dir, const char *name, const char *ext)
{
    size_t n = strlen(dir) + 1 + strlen(name) + 1 + strlen(ext) + 1;
    char *p = xmalloc(n);
    snprintf(p, n, "%s/%s.%s", dir, name, ext);
    return p;
}

/* Run argv[0] with argv, stdin from /dev/null, stdout captured into
 * r->out, stderr inherited. Times the run from just before fork to just
 * after waitpid. */
static void run_command(char *const argv[], double timeout, RunResult *r)
{
    memset(r, 0, sizeof *r);
    int fds[2];
    if (pipe(fds) != 0)
        die("pipe");

    fflush(stdout);
    fflush(stderr);
    double t0 = now_seconds();
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        setpgid(0, 0);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0) {
            dup2(devnull, STDIN_FILENO);
            close(devnull);
        }
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execvp(argv[0], argv);
        fprintf(stderr, "bench_vm: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    setpgid(pid, pid); /* also here, so it holds before either side goes on */
    running_pgid = (sig_atomic_t)pid;
    close(fds[1]);

    double deadline = t0 + timeout;
    char chunk[65536];
    for (;;) {
        double left = deadline - now_seconds();
        if (left <= 0) {
            r->timed_out = 1;
            kill(-pid, SIGKILL);
            break;
        }
        struct pollfd pfd = {.fd = fds[0], .events = POLLIN, .revents = 0};
        int pr = poll(&pfd, 1, left > 1e6 ? 1000000000 : (int)(left * 1000.0) + 1);
        if (pr < 0) {
            if (errno == EINTR)
                continue;
            die("poll");
        }
        if (pr == 0)
            continue; /* the deadline check above handles it */
        ssize_t n = read(fds[0], chunk, sizeof chunk);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            die("read");
        }
        if (n == 0)
            break;
        buf_append(&r->out, chunk, (size_t)n);
    }
    close(fds[0]);

    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            die("waitpid");
    }
    r->seconds = now_seconds() - t0;
    running_pgid = 0;
    r->status = status;
    r->ok = !r->timed_out && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (!r->out.data)
        buf_append(&r->out, "", 0);
}

static void describe_failure(const RunResult *r, char *msg, size_t n)
{
    if (r->timed_out)
        snprintf(msg, n, "timed out after %.1f s", r->seconds);
    else if (WIFEXITED(r->status))
        snprintf(msg, n, "exit status %d", WEXITSTATUS(r->status));
    else if (WIFSIGNALED(r->status))
        snprintf(msg, n, "killed by signal %d", WTERMSIG(r->status));
    else
        snprintf(msg, n, "wait status 0x%x", (unsigned)r->status);
}

/* Print at most `max` bytes of s, escaping control characters. */
static void print_snippet(FILE *f, const Buf *b, size_t max)
{
    fputc('"', f);
    for (size_t i = 0; i < b->len && i < max; i++) {
        unsigned char c = (unsigned char)b->data[i];
        if (c == '\n')
            fputs("\\n", f);
        else if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            fprintf(f, "\\x%02x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
    if (b->len > max)
        fprintf(f, "... (%zu bytes in all)", b->len);
}

static size_t first_difference(const Buf *a, const Buf *b)
{
    size_t i = 0;
    while (i < a->len && i < b->len && a->data[i] == b->data[i])
        i++;
    return i;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(const double *v, int n)
{
    double *s = xmalloc((size_t)n * sizeof *s);
    memcpy(s, v, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    double m = (n % 2) ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2.0;
    free(s);
    return m;
}

static double minimum(const double *v, int n)
{
    double m = v[0];
    for (int i = 1; i < n; i++)
        if (v[i] < m)
            m = v[i];
    return m;
}

static int selected(const char *only, const char *name)
{
    if (!only)
        return 1;
    size_t len = strlen(name);
    const char *p = only;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == len && strncmp(p, name, n) == 0)
            return 1;
        if (!end)
            break;
        p = end + 1;
    }
    return 0;
}

static long machine_nproc(void)
{
    long n = -1;
    FILE *p = popen("nproc 2>/dev/null", "r");
    if (p) {
        char line[64];
        if (fgets(line, sizeof line, p))
            n = strtol(line, NULL, 10);
        pclose(p);
    }
#ifdef _SC_NPROCESSORS_ONLN
    if (n <= 0)
        n = sysconf(_SC_NPROCESSORS_ONLN);
#endif
    return n;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bench_vm FSRS [--lua PATH] [--runs N] [--dir DIR] [--only A,B,...]\n"
            "                [--timeout SEC] [--fsrs-ext EXT]\n"
            "  FSRS            the fsrs binary (run as `FSRS run NAME.fsrs`)\n"
            "  --lua PATH      Lua 5.4 interpreter (default: lua5.4)\n"
            "  --runs N        timed runs per side and program (default: 5)\n"
            "  --dir DIR       benchmark directory (default: %s)\n"
            "  --only A,B      run only these programs (of: fib tailloop closures list strings)\n"
            "  --timeout SEC   kill a run after SEC seconds (default: 300)\n"
            "  --fsrs-ext EXT  debugging aid: run `FSRS NAME.EXT` instead of `FSRS run NAME.fsrs`\n",
            BENCH_VM_DIR);
}

static void parse_args(int argc, char **argv, Options *o)
{
    o->fsrs = NULL;
    o->lua = "lua5.4";
    o->dir = BENCH_VM_DIR;
    o->fsrs_ext = NULL;
    o->only = NULL;
    o->runs = 5;
    o->timeout = 300.0;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = (i + 1 < argc) ? argv[i + 1] : NULL;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            exit(0);
        } else if (strcmp(a, "--lua") == 0 || strcmp(a, "--runs") == 0 ||
                   strcmp(a, "--dir") == 0 || strcmp(a, "--only") == 0 ||
                   strcmp(a, "--timeout") == 0 || strcmp(a, "--fsrs-ext") == 0) {
            if (!val) {
                fprintf(stderr, "bench_vm: %s needs a value\n", a);
                usage(stderr);
                exit(2);
            }
            i++;
            if (strcmp(a, "--lua") == 0) {
                o->lua = val;
            } else if (strcmp(a, "--dir") == 0) {
                o->dir = val;
            } else if (strcmp(a, "--only") == 0) {
                o->only = val;
            } else if (strcmp(a, "--fsrs-ext") == 0) {
                o->fsrs_ext = val;
            } else if (strcmp(a, "--runs") == 0) {
                char *end;
                long n = strtol(val, &end, 10);
                if (*end || n < 1 || n > 10000) {
                    fprintf(stderr, "bench_vm: --runs wants a count from 1 to 10000\n");
                    exit(2);
                }
                o->runs = (int)n;
            } else {
                char *end;
                double t = strtod(val, &end);
                if (*end || !(t > 0)) {
                    fprintf(stderr, "bench_vm: --timeout wants a positive number of seconds\n");
                    exit(2);
                }
                o->timeout = t;
            }
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "bench_vm: unknown option %s\n", a);
            usage(stderr);
            exit(2);
        } else if (!o->fsrs) {
            o->fsrs = a;
        } else {
            fprintf(stderr, "bench_vm: unexpected argument %s\n", a);
            usage(stderr);
            exit(2);
        }
    }
    if (!o->fsrs) {
        usage(stderr);
        exit(2);
    }
    if (o->only) {
        int any = 0;
        for (size_t p = 0; p < NPROGRAMS; p++)
            any |= selected(o->only, PROGRAMS[p]);
        if (!any) {
            fprintf(stderr, "bench_vm: --only %s names no program\n", o->only);
            exit(2);
        }
    }
}

/* Run one program N times per side, alternating; fill in pr. */
static void bench_program(const Options *o, ProgramResult *pr)
{
    const char *name = pr->name;
    const char *fsrs_ext = o->fsrs_ext ? o->fsrs_ext : "fsrs";
    char *script[NSIDES] = {path_join(o->dir, name, fsrs_ext), path_join(o->dir, name, "lua")};
    char *argvs[NSIDES][4];
    if (o->fsrs_ext) {
        argvs[SIDE_FSRS][0] = (char *)o->fsrs;
        argvs[SIDE_FSRS][1] = script[SIDE_FSRS];
        argvs[SIDE_FSRS][2] = NULL;
    } else {
        argvs[SIDE_FSRS][0] = (char *)o->fsrs;
        argvs[SIDE_FSRS][1] = (char *)"run";
        argvs[SIDE_FSRS][2] = script[SIDE_FSRS];
        argvs[SIDE_FSRS][3] = NULL;
    }
    argvs[SIDE_LUA][0] = (char *)o->lua;
    argvs[SIDE_LUA][1] = script[SIDE_LUA];
    argvs[SIDE_LUA][2] = NULL;

    for (int s = 0; s < NSIDES; s++) {
        pr->times[s] = xmalloc((size_t)o->runs * sizeof(double));
        pr->ntimes[s] = 0;
        pr->failed[s] = 0;
        if (access(script[s], R_OK) != 0) {
            fprintf(stderr, "bench_vm: %s: cannot read %s: %s\n", name, script[s], strerror(errno));
            pr->failed[s] = 1;
        }
    }
    pr->mismatch = 0;
    pr->ran = 1;

    Buf ref = {0};
    int have_ref = 0, ref_side = 0, ref_run = 0;

    for (int run = 0; run < o->runs; run++) {
        for (int s = 0; s < NSIDES; s++) {
            if (pr->failed[s])
                continue; /* one failure is enough: skip the rest of that side */
            RunResult r;
            run_command(argvs[s], o->timeout, &r);
            if (!r.ok) {
                char why[128];
                describe_failure(&r, why, sizeof why);
                fprintf(stderr, "bench_vm: %-8s %-4s run %d/%d FAILED (%s); output: ", name,
                        SIDE_NAME[s], run + 1, o->runs, why);
                print_snippet(stderr, &r.out, 200);
                fputc('\n', stderr);
                pr->failed[s] = 1;
                buf_free(&r.out);
                continue;
            }
            pr->times[s][pr->ntimes[s]++] = r.seconds;
            fprintf(stderr, "bench_vm: %-8s %-4s run %d/%d %9.4f s\n", name, SIDE_NAME[s], run + 1,
                    o->runs, r.seconds);
            if (!have_ref) {
                ref = r.out;
                r.out.data = NULL;
                have_ref = 1;
                ref_side = s;
                ref_run = run;
            } else if (r.out.len != ref.len || memcmp(r.out.data, ref.data, ref.len) != 0) {
                size_t at = first_difference(&r.out, &ref);
                fprintf(stderr,
                        "\n*** OUTPUT MISMATCH: %s: %s run %d differs from %s run %d"
                        " at byte %zu ***\n  %s run %d: ",
                        name, SIDE_NAME[s], run + 1, SIDE_NAME[ref_side], ref_run + 1, at,
                        SIDE_NAME[s], run + 1);
                print_snippet(stderr, &r.out, 200);
                fprintf(stderr, "\n  %s run %d: ", SIDE_NAME[ref_side], ref_run + 1);
                print_snippet(stderr, &ref, 200);
                fputs("\n\n", stderr);
                pr->mismatch = 1;
            }
            buf_free(&r.out);
        }
    }
    if (have_ref && !pr->mismatch && !pr->failed[SIDE_FSRS] && !pr->failed[SIDE_LUA]) {
        fprintf(stderr, "bench_vm: %-8s outputs agree: ", name);
        print_snippet(stderr, &ref, 60);
        fputc('\n', stderr);
    }
    buf_free(&ref);
    free(script[SIDE_FSRS]);
    free(script[SIDE_LUA]);
}

static void print_header(const Options *o)
{
    char date[64] = "unknown";
    time_t t = time(NULL);
    struct tm tm;
    if (localtime_r(&t, &tm))
        strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S %z", &tm);
    struct utsname u;
    char machine[3 * sizeof u.sysname + 8] = "unknown";
    if (uname(&u) == 0)
        snprintf(machine, sizeof machine, "%s %s %s", u.sysname, u.release, u.machine);

    printf("## fsrs VM benchmarks\n\n");
    printf("- date: %s\n", date);
    printf("- nproc: %ld\n", machine_nproc());
    printf("- machine: %s\n", machine);
    if (o->fsrs_ext)
        printf("- fsrs: `%s NAME.%s`\n", o->fsrs, o->fsrs_ext);
    else
        printf("- fsrs: `%s run NAME.fsrs`\n", o->fsrs);
    printf("- lua: `%s NAME.lua`\n", o->lua);
    printf("- runs: %d per side, alternating fsrs/lua; wall time of the whole process\n\n",
           o->runs);
}

int main(int argc, char **argv)
{
    Options o;
    parse_args(argc, argv, &o);
    install_signal_handlers();

    ProgramResult results[NPROGRAMS];
    memset(results, 0, sizeof results);
    for (size_t p = 0; p < NPROGRAMS; p++) {
        results[p].name = PROGRAMS[p];
        if (selected(o.only, PROGRAMS[p]))
            bench_program(&o, &results[p]);
    }

    print_header(&o);
    printf("| program | fsrs median (s) | fsrs min (s) | lua median (s) | lua min (s) "
           "| ratio fsrs/lua (median) | verdict |\n");
    printf("|---|---:|---:|---:|---:|---:|---|\n");

    int bad = 0;
    for (size_t p = 0; p < NPROGRAMS; p++) {
        ProgramResult *pr = &results[p];
        if (!pr->ran)
            continue;
        char cell[NSIDES][2][32];
        double med[NSIDES] = {0, 0};
        int usable[NSIDES];
        for (int s = 0; s < NSIDES; s++) {
            usable[s] = !pr->failed[s] && pr->ntimes[s] > 0;
            if (usable[s]) {
                med[s] = median(pr->times[s], pr->ntimes[s]);
                snprintf(cell[s][0], sizeof cell[s][0], "%.4f", med[s]);
                snprintf(cell[s][1], sizeof cell[s][1], "%.4f",
                         minimum(pr->times[s], pr->ntimes[s]));
            } else {
                snprintf(cell[s][0], sizeof cell[s][0], "FAILED");
                snprintf(cell[s][1], sizeof cell[s][1], "-");
            }
        }
        char ratio[32] = "-";
        if (usable[SIDE_FSRS] && usable[SIDE_LUA] && med[SIDE_LUA] > 0)
            snprintf(ratio, sizeof ratio, "%.2f", med[SIDE_FSRS] / med[SIDE_LUA]);
        const char *verdict;
        if (pr->failed[SIDE_FSRS] || pr->failed[SIDE_LUA])
            verdict = pr->mismatch ? "FAILED, MISMATCH" : "FAILED";
        else if (pr->mismatch)
            verdict = "MISMATCH";
        else
            verdict = med[SIDE_FSRS] < med[SIDE_LUA] ? "faster" : "slower";
        if (pr->failed[SIDE_FSRS] || pr->failed[SIDE_LUA] || pr->mismatch)
            bad = 1;
        printf("| %s | %s | %s | %s | %s | %s | %s |\n", pr->name, cell[SIDE_FSRS][0],
               cell[SIDE_FSRS][1], cell[SIDE_LUA][0], cell[SIDE_LUA][1], ratio, verdict);
        free(pr->times[SIDE_FSRS]);
        free(pr->times[SIDE_LUA]);
    }

    int any_mismatch = 0;
    for (size_t p = 0; p < NPROGRAMS; p++)
        any_mismatch |= results[p].mismatch;
    if (any_mismatch) {
        printf("\n*** OUTPUT MISMATCH in:");
        for (size_t p = 0; p < NPROGRAMS; p++)
            if (results[p].mismatch)
                printf(" %s", results[p].name);
        printf(" ***\n");
    }
    if (bad)
        printf("\nbench_vm: FAILED (see the messages above)\n");
    return bad ? 1 : 0;
}
