/*
 * examples/sim/main.c - a fixed-timestep particle simulation whose update
 * rule is a hot-reloaded Mini-F# script (examples/sim/sim.fsrs).
 *
 * Owns the command line, the engine and the reader, the host-owned particle
 * array, the tick loop and the headless JSON report.  The engine runs in
 * FSRS_PUBLISH_AT_SYNC mode: a new version becomes visible only when the
 * tick loop calls fsrs_engine_sync() between two ticks, so every particle of
 * a tick runs under one version.  Each tick is one reader section; the
 * script gets each particle as a record and returns the next one, which the
 * host copies back into its array, so the state survives every reload.
 *
 * Threads: everything here runs on the main thread, except on_reload, which
 * the engine calls on its executor thread and which only touches the
 * mailbox.  The signal handler only sets a flag.
 *
 *   sim [--script PATH] [--hz N] [--particles N] [--ticks N] [--json]
 */
#define _GNU_SOURCE
#include "sim.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef SIM_SOURCE_DIR
#define SIM_SOURCE_DIR "examples/sim"
#endif

/* A script call that runs longer than this (calls + loop iterations) ends
 * with an error instead of stalling the tick. */
#define STEP_BUDGET 20000
/* Catch-up bound: further behind than this, the schedule restarts from now
 * instead of running the missed ticks back to back. */
#define MAX_BEHIND_MS 250
#define FRAMES_PER_SECOND 30

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static uint64_t clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_until_ns(uint64_t t)
{
    struct timespec ts = {(time_t)(t / 1000000000u), (long)(t % 1000000000u)};
    /* EINTR: a signal; the loop looks at stop_requested */
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

/* Copy src into dst (cap bytes) with control characters as spaces, so an
 * error message fits on one status line and in a JSON string. */
static void copy_line(char *dst, size_t cap, const char *src)
{
    size_t i = 0;
    for (; src && src[i] && i + 1 < cap; i++)
        dst[i] = (unsigned char)src[i] < 0x20 ? ' ' : src[i];
    dst[i] = '\0';
}

/* ------------------------------------------------------------ options --- */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: sim [--script PATH] [--hz N] [--particles N] [--ticks N] [--json]\n"
            "  --script PATH    the update rule (default examples/sim/sim.fsrs)\n"
            "  --hz N           ticks per second, 1..10000 (default 240)\n"
            "  --particles N    1..200000 (default 600)\n"
            "  --ticks N        stop after N ticks (default: run until Ctrl-C)\n"
            "  --json           no terminal view: one JSON line per simulated second\n"
            "                   and at each reload, then a summary line\n");
}

static bool parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    if (!s || !*s || *s == '-' || *s == '+')
        return false;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

/* 0 ok, 1 printed help, 2 bad usage (message printed). */
static int parse_options(int argc, char **argv, Options *o)
{
    *o = (Options){.hz = 240, .particles = 600};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t v;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 1;
        } else if (!strcmp(a, "--json")) {
            o->json = true;
        } else if (!strcmp(a, "--script")) {
            if (!val || !*val) {
                fprintf(stderr, "sim: --script needs a path\n");
                return 2;
            }
            o->script = val;
            i++;
        } else if (!strcmp(a, "--hz") || !strcmp(a, "--particles") || !strcmp(a, "--ticks")) {
            uint64_t hi = !strcmp(a, "--hz") ? 10000 : !strcmp(a, "--particles") ? 200000
                                                                                  : UINT64_MAX / 2;
            if (!parse_u64(val, 1, hi, &v)) {
                fprintf(stderr, "sim: %s needs a whole number from 1 to %" PRIu64 ", not '%s'\n",
                        a, hi, val ? val : "");
                return 2;
            }
            if (!strcmp(a, "--hz"))
                o->hz = (unsigned)v;
            else if (!strcmp(a, "--particles"))
                o->particles = (unsigned)v;
            else
                o->ticks = v;
            i++;
        } else {
            fprintf(stderr, "sim: unknown argument '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (o->json && o->ticks == 0) {
        fprintf(stderr, "sim: --json needs --ticks N\n");
        return 2;
    }
    if (!o->script) {
        /* from the repository root, or wherever the build came from */
        static const char rel[] = "examples/sim/sim.fsrs";
        o->script = access(rel, R_OK) == 0 ? rel : SIM_SOURCE_DIR "/sim.fsrs";
    }
    return 0;
}

/* ------------------------------------------------------------ reloads --- */

/* Executor thread: queue the attempt for the tick loop. */
static void on_reload(const fsrs_reload_info *info, void *ud)
{
    Mailbox *mb = ud;
    pthread_mutex_lock(&mb->lock);
    if (mb->count == MAILBOX_SIZE) {
        memmove(&mb->ev[0], &mb->ev[1], sizeof mb->ev[0] * (MAILBOX_SIZE - 1));
        mb->count--;
        mb->dropped++;
    }
    ReloadEvent *ev = &mb->ev[mb->count++];
    ev->ok = info->ok;
    ev->version = info->version;
    ev->event_us = info->event_us;
    ev->debounce_us = info->compile_start_us > info->event_us
                          ? info->compile_start_us - info->event_us : 0;
    ev->compile_us = info->compile_end_us > info->compile_start_us
                         ? info->compile_end_us - info->compile_start_us : 0;
    copy_line(ev->error, sizeof ev->error, info->ok ? "" : info->error);
    pthread_mutex_unlock(&mb->lock);
}

static void json_string(FILE *f, const char *s)
{
    if (!s || !*s) {
        fputs("null", f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static void json_reload_line(const Sim *s, const ReloadEvent *ev)
{
    printf("{\"event\":\"reload\",\"ticks\":%" PRIu64 ",\"ok\":%s,\"version\":%" PRIu64
           ",\"debounce_us\":%" PRIu64 ",\"compile_us\":%" PRIu64 ",\"error\":",
           s->ticks, ev->ok ? "true" : "false", ev->version, ev->debounce_us, ev->compile_us);
    json_string(stdout, ev->error);
    printf("}\n");
    fflush(stdout);
}

/* Main thread, between ticks: take what the executor reported, without
 * waiting if it holds the lock right now (next tick then). */
static void drain_mailbox(Sim *s)
{
    ReloadEvent ev[MAILBOX_SIZE];
    unsigned n;
    if (pthread_mutex_trylock(&s->mailbox.lock) != 0)
        return;
    n = s->mailbox.count;
    memcpy(ev, s->mailbox.ev, sizeof ev[0] * n);
    s->mailbox.count = 0;
    pthread_mutex_unlock(&s->mailbox.lock);
    for (unsigned i = 0; i < n; i++) {
        if (ev[i].ok) {
            s->reloads_ok++;
            s->ok_version = ev[i].version;
            s->ok_event_us = ev[i].event_us;
            s->reload_error[0] = '\0';
        } else {
            s->reloads_failed++;
            snprintf(s->reload_error, sizeof s->reload_error, "%s", ev[i].error);
        }
        if (s->opt.json)
            json_reload_line(s, &ev[i]);
    }
}

/* ---------------------------------------------------------- the script --- */

static void script_error(Sim *s, const char *what)
{
    s->script_errors++;
    const fsrs_error *e = fsrs_error_last();
    char msg[400];
    copy_line(msg, sizeof msg, e ? e->message : "unknown error");
    if (e && e->file && e->line > 0)
        snprintf(s->script_error, sizeof s->script_error, "%s: %s:%d: %s", what, e->file,
                 e->line, msg);
    else
        snprintf(s->script_error, sizeof s->script_error, "%s: %s", what, msg);
}

/* The looks a version chooses: `palette` (int), `glyph` (string), `hot`
 * (float).  Missing or ill-typed ones keep their defaults. */
static void read_looks(Sim *s, fsrs_vm *vm)
{
    fsrs_value v;
    s->palette = 0;
    snprintf(s->glyph, sizeof s->glyph, "o");
    s->hot = 2.0;
    if (fsrs_vm_global(vm, "palette", &v) == FSRS_OK && fsrs_value_type(v) == FSRS_TYPE_INT)
        s->palette = (int)fsrs_value_as_int(v);
    if (fsrs_vm_global(vm, "hot", &v) == FSRS_OK && fsrs_value_type(v) == FSRS_TYPE_FLOAT &&
        fsrs_value_as_float(v) > 0)
        s->hot = fsrs_value_as_float(v);
    if (fsrs_vm_global(vm, "glyph", &v) == FSRS_OK && fsrs_value_type(v) == FSRS_TYPE_STRING) {
        /* one printable character (up to 4 bytes of UTF-8) */
        size_t len;
        const unsigned char *g = (const unsigned char *)fsrs_value_as_string(v, &len);
        size_t n = 0;
        if (len > 0 && g[0] >= 0x20 && g[0] != 0x7f) {
            n = g[0] < 0x80 ? 1 : g[0] >= 0xf0 ? 4 : g[0] >= 0xe0 ? 3 : 2;
            if (n > len)
                n = 0;
            for (size_t i = 1; i < n; i++)
                if ((g[i] & 0xc0) != 0x80)
                    n = 0;
        }
        if (n) {
            memcpy(s->glyph, g, n);
            s->glyph[n] = '\0';
        }
    }
}

static const char *const field_names[4] = {"X", "Y", "VX", "VY"};

/* The new state from a step result, or false with fsrs's error set. */
static bool read_particle(fsrs_value rec, Particle *out)
{
    double f[4];
    if (fsrs_value_type(rec) != FSRS_TYPE_RECORD) {
        fsrs_error_clear();
        return false;
    }
    for (int i = 0; i < 4; i++) {
        fsrs_value v;
        if (fsrs_record_get(rec, field_names[i], &v) != FSRS_OK ||
            fsrs_value_type(v) != FSRS_TYPE_FLOAT || !isfinite(fsrs_value_as_float(v)))
            return false;
        f[i] = fsrs_value_as_float(v);
    }
    *out = (Particle){f[0], f[1], f[2], f[3]};
    return true;
}

static void step_particle(Sim *s, fsrs_vm *vm, Particle *p, double dt)
{
    size_t mark = fsrs_vm_mark(vm);
    fsrs_value vals[4] = {fsrs_float(p->x), fsrs_float(p->y), fsrs_float(p->vx),
                          fsrs_float(p->vy)};
    fsrs_value args[2], out;
    int rc = fsrs_record_new(vm, 4, field_names, vals, &args[0]);
    if (rc != FSRS_OK) {
        script_error(s, "making a Particle");
    } else {
        args[1] = fsrs_float(dt);
        rc = fsrs_reader_call(s->reader, s->opt.script, "step", 2, args, &out);
        if (rc != FSRS_OK) {
            script_error(s, "step");
        } else if (!read_particle(out, p)) {
            /* the particle keeps its state */
            s->script_errors++;
            snprintf(s->script_error, sizeof s->script_error,
                     "step must return a Particle with float fields X, Y, VX, VY (got %s)",
                     fsrs_type_name(fsrs_value_type(out)));
        } else {
            s->steps_ok++;
        }
    }
    fsrs_vm_release(vm, mark);
}

/* ---------------------------------------------------------- tick stats --- */

static int stats_init(TickStats *t, unsigned hz)
{
    memset(t, 0, sizeof *t);
    t->cap = hz;
    t->window = calloc(hz, sizeof *t->window);
    t->stall = calloc(hz, sizeof *t->stall);
    t->hist = calloc(HIST_BUCKETS, sizeof *t->hist);
    /* the main thread's own scheduler statistics (ticks run on it) */
    t->schedstat_fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
    return t->window && t->stall && t->hist ? 0 : -1;
}

static void stats_free(TickStats *t)
{
    free(t->window);
    free(t->stall);
    free(t->hist);
    if (t->schedstat_fd >= 0)
        close(t->schedstat_fd);
}

/* Nanoseconds this thread has waited on a run queue so far (the second
 * field of schedstat), or 0 if unknown. */
static uint64_t runqueue_wait_ns(const TickStats *t)
{
    char buf[96];
    if (t->schedstat_fd < 0)
        return 0;
    ssize_t n = pread(t->schedstat_fd, buf, sizeof buf - 1, 0);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    char *end;
    strtoull(buf, &end, 10);
    return strtoull(end, NULL, 10);
}

static uint32_t cap32(uint64_t ns) { return ns > UINT32_MAX ? UINT32_MAX : (uint32_t)ns; }

static void stats_add(TickStats *t, uint64_t ns, uint64_t stall_ns)
{
    t->window[t->pos] = cap32(ns);
    t->stall[t->pos] = cap32(stall_ns);
    t->pos = (t->pos + 1) % t->cap;
    if (t->len < t->cap)
        t->len++;
    uint64_t us = ns / 1000;
    t->hist[us < HIST_BUCKETS ? us : HIST_BUCKETS - 1]++;
    t->count++;
    if (ns > t->max_ns)
        t->max_ns = ns;
    if (stall_ns > t->stall_max_ns)
        t->stall_max_ns = stall_ns;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

TickSummary sim_window_summary(const Sim *s)
{
    const TickStats *t = &s->stats;
    TickSummary r = {0, 0, 0, 0};
    if (t->len == 0)
        return r;
    uint32_t stall = 0;
    for (unsigned i = 0; i < t->len; i++)
        if (t->stall[i] > stall)
            stall = t->stall[i];
    r.stall_max = stall / 1000.0;
    uint32_t sorted[10000];
    memcpy(sorted, t->window, sizeof sorted[0] * t->len);
    qsort(sorted, t->len, sizeof sorted[0], cmp_u32);
    r.p50 = sorted[(t->len - 1) * 50 / 100] / 1000.0;
    r.p99 = sorted[(t->len - 1) * 99 / 100] / 1000.0;
    r.max = sorted[t->len - 1] / 1000.0;
    return r;
}

/* Whole-run percentile from the histogram (µs, bucket upper bound). */
static double stats_run_percentile(const TickStats *t, unsigned pct)
{
    if (t->count == 0)
        return 0;
    uint64_t want = (t->count - 1) * pct / 100 + 1, seen = 0;
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        seen += t->hist[i];
        if (seen >= want)
            return i + 1;
    }
    return HIST_BUCKETS;
}

/* ---------------------------------------------------------------- tick --- */

static void json_version_line(const Sim *s);

static void tick(Sim *s, double dt)
{
    uint64_t rq0 = runqueue_wait_ns(&s->stats);
    uint64_t t0 = clock_ns();

    /* Safe point: outside the reader section, between two ticks. */
    if (fsrs_engine_sync(s->engine) > 0) {
        s->pub_version = fsrs_engine_version(s->engine, s->opt.script);
        s->pub_us = t0 / 1000;
        s->latency_us = -1;
    }
    drain_mailbox(s);
    if (s->latency_us < 0 && s->pub_version && s->ok_version == s->pub_version &&
        s->pub_us >= s->ok_event_us)
        s->latency_us = (int64_t)(s->pub_us - s->ok_event_us);

    fsrs_reader_enter(s->reader);
    int rc = fsrs_reader_load(s->reader, s->opt.script);
    if (rc == FSRS_OK) {
        fsrs_vm *vm = fsrs_reader_vm(s->reader, s->opt.script);
        uint64_t v = fsrs_reader_version(s->reader, s->opt.script);
        if (v != s->version) {
            s->version = v;
            s->script_error[0] = '\0'; /* the count stays */
            read_looks(s, vm);
            if (s->opt.json)
                json_version_line(s);
        }
        for (size_t i = 0; i < s->n; i++)
            step_particle(s, vm, &s->p[i], dt);
    } else if (rc != FSRS_ENOTFOUND) {
        /* the version's top-level code failed: nothing moves this tick */
        script_error(s, "loading the script");
    }
    fsrs_reader_leave(s->reader);
    fsrs_reader_release(s->reader);

    s->ticks++;
    uint64_t wall = clock_ns() - t0, waited = runqueue_wait_ns(&s->stats) - rq0;
    stats_add(&s->stats, wall, waited < wall ? wall - waited : 0);
}

/* ---------------------------------------------------------- JSON lines --- */

static void mean_position(const Sim *s, double *x, double *y)
{
    double sx = 0, sy = 0;
    for (size_t i = 0; i < s->n; i++) {
        sx += s->p[i].x;
        sy += s->p[i].y;
    }
    *x = sx / (double)s->n;
    *y = sy / (double)s->n;
}

static void json_common(const Sim *s)
{
    double mx, my;
    mean_position(s, &mx, &my);
    printf("\"ticks\":%" PRIu64 ",\"version\":%" PRIu64 ",\"reloads\":%" PRIu64
           ",\"reload_errors\":%" PRIu64 ",\"script_errors\":%" PRIu64
           ",\"reload_latency_us\":%" PRId64 ",\"late_ticks\":%" PRIu64
           ",\"resets\":%" PRIu64 ",\"steps\":%" PRIu64 ",\"mean_x\":%.9f,\"mean_y\":%.9f",
           s->ticks, s->version, s->reloads_ok, s->reloads_failed, s->script_errors,
           s->latency_us, s->late_ticks, s->resets, s->steps_ok, mx, my);
    printf(",\"reload_error\":");
    json_string(stdout, s->reload_error);
    printf(",\"script_error\":");
    json_string(stdout, s->script_error);
}

/* The tick loop runs version s->version from this tick on; the state is
 * the one the previous version left. */
static void json_version_line(const Sim *s)
{
    printf("{\"event\":\"version\",");
    json_common(s);
    printf("}\n");
    fflush(stdout);
}

static void json_second(const Sim *s)
{
    TickSummary w = sim_window_summary(s);
    printf("{\"event\":\"second\",");
    json_common(s);
    printf(",\"tick_p50_us\":%.1f,\"tick_p99_us\":%.1f,\"tick_max_us\":%.1f"
           ",\"tick_stall_max_us\":%.1f}\n",
           w.p50, w.p99, w.max, w.stall_max);
    fflush(stdout);
}

static void json_summary(const Sim *s)
{
    printf("{\"event\":\"summary\",");
    json_common(s);
    printf(",\"tick_p50_us\":%.0f,\"tick_p99_us\":%.0f,\"tick_max_us\":%.1f"
           ",\"tick_stall_max_us\":%.1f,\"interrupted\":%s}\n",
           stats_run_percentile(&s->stats, 50), stats_run_percentile(&s->stats, 99),
           s->stats.max_ns / 1000.0, s->stats.stall_max_ns / 1000.0,
           stop_requested ? "true" : "false");
    fflush(stdout);
}

/* ---------------------------------------------------------------- loop --- */

/* Ticks at a fixed rate until --ticks or a signal; draws ~30 frames a
 * second when scr is set.  Tick k is due at start + k / hz exactly (no
 * accumulated rounding); ticks that fell behind run back to back, but never
 * more than MAX_BEHIND_MS worth: then the schedule restarts from now. */
static void run(Sim *s, Screen *scr)
{
    const uint64_t hz = s->opt.hz;
    const double dt = 1.0 / (double)hz;
    const uint64_t period = 1000000000u / hz;
    const uint64_t frame = 1000000000u / FRAMES_PER_SECOND;
    uint64_t start = clock_ns(), k = 0; /* k: ticks since start */
    uint64_t next_frame = start;

    while (!stop_requested && (s->opt.ticks == 0 || s->ticks < s->opt.ticks)) {
        uint64_t now = clock_ns();
        uint64_t due = start + k * 1000000000u / hz;
        if (now >= due) {
            if (now - due > (uint64_t)MAX_BEHIND_MS * 1000000u) {
                s->resets++;
                start = now;
                k = 0;
            } else if (now - due > period) {
                s->late_ticks++;
            }
            tick(s, dt);
            k++;
            if (s->opt.json && s->ticks % hz == 0)
                json_second(s);
            continue;
        }
        if (scr && now >= next_frame) {
            screen_draw(scr, s);
            next_frame += frame;
            if (next_frame < now)
                next_frame = now + frame;
            continue;
        }
        uint64_t wake = due;
        if (scr && next_frame < wake)
            wake = next_frame;
        sleep_until_ns(wake);
    }
}

/* ---------------------------------------------------------------- main --- */

static void place_particles(Sim *s)
{
    uint64_t seed = 0x9e3779b97f4a7c15u; /* fixed: every run starts alike */
    for (size_t i = 0; i < s->n; i++) {
        double r[4];
        for (int j = 0; j < 4; j++) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            r[j] = (double)(seed >> 11) / 9007199254740992.0; /* [0, 1) */
        }
        s->p[i] = (Particle){0.1 + 0.8 * r[0], 0.1 + 0.8 * r[1], r[2] - 0.5, r[3] - 0.5};
    }
}

static int fail(const char *what, int rc)
{
    const fsrs_error *e = fsrs_error_last();
    fprintf(stderr, "sim: %s: %s%s%s\n", what, fsrs_strerror(rc), e ? ": " : "",
            e ? e->message : "");
    return 1;
}

int main(int argc, char **argv)
{
    Sim sim;
    memset(&sim, 0, sizeof sim);
    Sim *s = &sim;
    s->stats.schedstat_fd = -1;
    int rc = parse_options(argc, argv, &s->opt);
    if (rc)
        return rc == 1 ? 0 : 2;
    if (access(s->opt.script, R_OK) != 0) {
        fprintf(stderr, "sim: cannot read the script %s: %s\n", s->opt.script, strerror(errno));
        return 1;
    }

    int status = 1;
    Screen *scr = NULL;
    s->n = s->opt.particles;
    s->p = calloc(s->n, sizeof *s->p);
    s->latency_us = -1;
    snprintf(s->glyph, sizeof s->glyph, "o");
    s->hot = 2.0;
    pthread_mutex_init(&s->mailbox.lock, NULL);
    if (!s->p || stats_init(&s->stats, s->opt.hz) != 0) {
        fprintf(stderr, "sim: out of memory\n");
        goto out;
    }
    place_particles(s);

    fsrs_engine_config ecfg;
    fsrs_engine_config_init(&ecfg);
    ecfg.publish = FSRS_PUBLISH_AT_SYNC;
    ecfg.on_reload = on_reload;
    ecfg.userdata = &s->mailbox;
    if ((rc = fsrs_engine_new(&ecfg, &s->engine)) != FSRS_OK) {
        fail("starting the engine", rc);
        goto out;
    }
    if ((rc = fsrs_engine_watch(s->engine, s->opt.script)) != FSRS_OK) {
        fail(s->opt.script, rc);
        goto out;
    }
    fsrs_config vcfg;
    fsrs_config_init(&vcfg);
    vcfg.instruction_budget = STEP_BUDGET;
    if ((rc = fsrs_reader_new(s->engine, &vcfg, NULL, NULL, &s->reader)) != FSRS_OK) {
        fail("making a reader", rc);
        goto out;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: the sleep ends at once */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);

    if (!s->opt.json && screen_open(&scr) != 0) {
        fprintf(stderr, "sim: cannot set up the terminal\n");
        goto out;
    }
    uint64_t before = fsrs_engine_reload_count(s->engine);
    if ((rc = fsrs_engine_start(s->engine)) != FSRS_OK) {
        screen_close(scr);
        scr = NULL;
        fail("starting the engine", rc);
        goto out;
    }
    /* Give the first compile a moment, so that tick 1 already runs the
     * script.  If it fails (or is slow) the sim starts anyway and shows it. */
    fsrs_engine_wait_reload(s->engine, before, 2000, NULL);
    fsrs_error_clear();

    run(s, scr);

    screen_close(scr);
    scr = NULL;
    drain_mailbox(s);
    if (s->opt.json)
        json_summary(s);
    else
        printf("sim: %" PRIu64 " ticks, version %" PRIu64 ", %" PRIu64 " reloads, %" PRIu64
               " failed, %" PRIu64 " script errors\n",
               s->ticks, s->version, s->reloads_ok, s->reloads_failed, s->script_errors);
    status = 0;

out:
    /* readers first, then the engine (which stops and joins its threads) */
    fsrs_reader_free(s->reader);
    if (s->engine && fsrs_engine_stop(s->engine, 5000) != FSRS_OK)
        fprintf(stderr, "sim: the engine did not stop within 5 s\n");
    fsrs_engine_free(s->engine);
    pthread_mutex_destroy(&s->mailbox.lock);
    stats_free(&s->stats);
    free(s->p);
    return status;
}
