/*
 * tests/examples/test_sim.c - examples/sim (FSRS_SIM) as a child process,
 * headless (--ticks N --json): saves of its script during the run (a good
 * one, a broken one, another good one) and what its JSON lines say about
 * versions, errors, tick times and the host-owned state.  Every wait has a
 * deadline; nothing sleeps for a fixed time.
 */
#include "../cli/proc.h"

#include <criterion/criterion.h>
#include <inttypes.h>
#include <math.h>

/* How long one reload may take to show up (generous for sanitizer builds
 * on a loaded two-core machine). */
#define STEP_MS 15000
/* No tick may stall longer than this, reloads included: 100 ms, 24 periods
 * at 240 Hz.  A tick's stall time is its wall time minus the time the
 * kernel ran other processes instead (the sim reads its run-queue wait from
 * /proc/thread-self/schedstat), so a busy machine does not count, but
 * anything the tick computes or waits for does: a compile on the tick
 * thread, a lock held across a compile, a wait for readers.  A Release
 * build stays near 2 ms; the bound leaves room for ASan+UBSan. */
#define MAX_STALL_US 100000.0

#define HZ 240
#define PARTICLES 100
/* 6 s of simulated time: enough for three reloads under ASan. */
#define TICKS "1440"
#define NTICKS 1440

static char *dir, *script;

static void setup(void)
{
    dir = make_tmpdir();
    cr_assert_not_null(dir);
    script = path_in(dir, "sim.fsrs");
}

static void teardown(void)
{
    remove_tree(dir);
    free(script);
    free(dir);
}

TestSuite(sim, .init = setup, .fini = teardown);

static const char *sim_path(void)
{
    const char *p = getenv("FSRS_SIM");
    cr_assert(p && *p, "FSRS_SIM is not set: run the tests through ctest");
    return p;
}

/* ------------------------------------------------------------- JSON --- */

/* The number after "key": in a JSON line. */
static double num(const char *line, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *at = strstr(line, pat);
    cr_assert_not_null(at, "no %s in %s", key, line);
    char *end;
    double v = strtod(at + strlen(pat), &end);
    cr_assert(end != at + strlen(pat), "%s is not a number in %s", key, line);
    return v;
}

static bool is_event(const char *line, const char *event)
{
    char pat[64];
    snprintf(pat, sizeof pat, "{\"event\":\"%s\",", event);
    return strncmp(line, pat, strlen(pat)) == 0;
}

/* Every stdout line so far, kept to check the whole run at the end. */
typedef struct Lines {
    char **v;
    size_t n;
} Lines;

static char *next_line(Child *c, Lines *all, const char *waiting_for)
{
    char *line = cli_next_line(c, now_ms() + STEP_MS);
    cr_assert_not_null(line,
                       "no line while waiting for %s\n--- stdout so far:\n%s\n--- stderr:\n%s",
                       waiting_for, text_str(&c->out), text_str(&c->err));
    cr_assert_eq(line[strlen(line) - 1], '}', "not a JSON object: %s", line);
    all->v = realloc(all->v, sizeof *all->v * (all->n + 1));
    cr_assert_not_null(all->v);
    all->v[all->n++] = line;
    return line;
}

/* Lines up to the first `event` line that contains `part`; returns it. */
static const char *wait_for(Child *c, Lines *all, const char *event, const char *part)
{
    char what[128];
    snprintf(what, sizeof what, "a %s line with %s", event, part);
    for (;;) {
        const char *line = next_line(c, all, what);
        cr_assert(!is_event(line, "summary"), "the sim ended while waiting for %s:\n%s", what,
                  text_str(&c->out));
        if (is_event(line, event) && strstr(line, part))
            return line;
    }
}

static void lines_free(Lines *all)
{
    for (size_t i = 0; i < all->n; i++)
        free(all->v[i]);
    free(all->v);
}

/* ----------------------------------------------------------- scripts --- */

/* A rule that moves every particle right at `speed` units per second and
 * nothing else, so the host's state after the run is known exactly. */
static void save_drift(double speed, bool by_rename)
{
    char text[512];
    snprintf(text, sizeof text,
             "type Particle = { X: float; Y: float; VX: float; VY: float }\n"
             "let speed = %.1f\n"
             "let step (p: Particle) (dt: float) : Particle = { p with X = p.X + speed * dt }\n",
             speed);
    if (by_rename)
        save_by_rename(script, text);
    else
        save_in_place(script, text);
}

static Child start_sim(const char *ticks)
{
    const char *args[] = {"--script", script,  "--ticks", ticks, "--hz", "240", "--particles",
                          "100",      "--json", NULL};
    Child c;
    cr_assert(proc_spawn(&c, dir, sim_path(), args), "cannot start %s", sim_path());
    return c;
}

/* Everything up to EOF and the exit; returns the exit code. */
static int finish(Child *c)
{
    uint64_t deadline = now_ms() + 4 * STEP_MS;
    while (cli_pump(c, deadline))
        ;
    cr_assert(cli_wait(c, deadline), "the sim still runs\n--- stdout:\n%s", text_str(&c->out));
    return cli_exit_code(c);
}

/* ------------------------------------------------------------- tests --- */

/* Read the run's lines up to its summary, then wait for the process: it
 * must exit with 0.  Returns the summary line. */
static const char *run_to_summary(Child *c, Lines *all)
{
    const char *summary = NULL;
    while (!summary) {
        const char *line = next_line(c, all, "the summary");
        if (is_event(line, "summary"))
            summary = line;
    }
    int code = finish(c);
    cr_assert_eq(code, 0, "exit code %d\n--- stderr:\n%s", code, text_str(&c->err));
    return summary;
}

Test(sim, reloads_keep_state_and_ticks_never_stall, .timeout = 180)
{
    char *src_dir = getenv("FSRS_SOURCE_DIR");
    cr_assert(src_dir && *src_dir, "FSRS_SOURCE_DIR is not set: run the tests through ctest");
    char *shipped_path = path_in(src_dir, "examples/sim/sim.fsrs");
    char *shipped = text_read_file(shipped_path);
    cr_assert_not_null(shipped, "cannot open %s", shipped_path);
    free(shipped_path);
    save_in_place(script, shipped);
    free(shipped);

    Lines all = {0};
    Child c = start_sim(TICKS);

    /* the shipped script runs a whole second without a script error */
    const char *v1 = wait_for(&c, &all, "version", "\"version\":1,");
    uint64_t t1 = (uint64_t)num(v1, "ticks");
    const char *sec = wait_for(&c, &all, "second", "\"ticks\":240,");
    cr_assert_eq(num(sec, "version"), 1);
    cr_assert_eq(num(sec, "script_errors"), 0, "%s", sec);

    /* a good save: version 2 from some tick on */
    save_drift(0.5, false);
    const char *v2 = wait_for(&c, &all, "version", "\"version\":2,");
    uint64_t t2 = (uint64_t)num(v2, "ticks");
    double x2 = num(v2, "mean_x");

    /* a broken save: reported with its location; version 2 keeps running */
    save_in_place(script, "type Particle = { X: float; Y: float; VX: float; VY: float }\n"
                          "let speed = 0.7 +\n"
                          "let step (p: Particle) (dt: float) = p\n");
    const char *bad = wait_for(&c, &all, "reload", "\"ok\":false");
    cr_assert(strstr(bad, "\"ok\":false"), "%s", bad);
    cr_assert(strstr(bad, "sim.fsrs:3:1: "), "no FILE:LINE:COL in %s", bad);
    cr_assert_eq(num(bad, "version"), 2, "%s", bad);
    /* the next per-second line still runs version 2 and shows the error */
    const char *after_bad = wait_for(&c, &all, "second", "\"version\":2,");
    cr_assert_geq(num(after_bad, "reload_errors"), 1, "%s", after_bad);
    cr_assert(strstr(after_bad, "\"reload_error\":\""), "%s", after_bad);

    /* another good save, by rename: version 3, the error cleared */
    save_drift(1.0, true);
    const char *v3 = wait_for(&c, &all, "version", "\"version\":3,");
    uint64_t t3 = (uint64_t)num(v3, "ticks");
    cr_assert(strstr(v3, "\"reload_error\":null"), "%s", v3);

    /* the rest of the run */
    const char *summary = run_to_summary(&c, &all);
    cr_assert_str_eq(text_str(&c.err), "", "stderr:\n%s", text_str(&c.err));

    cr_assert_eq(num(summary, "ticks"), NTICKS, "%s", summary);
    cr_assert_eq(num(summary, "version"), 3, "%s", summary);
    cr_assert_eq(num(summary, "reloads"), 3, "%s", summary);
    cr_assert_eq(num(summary, "reload_errors"), 1, "%s", summary);
    cr_assert_eq(num(summary, "script_errors"), 0, "%s", summary);
    cr_assert(strstr(summary, "\"reload_error\":null"), "%s", summary);

    /* The host tick counter is continuous: one line per simulated second,
     * each exactly HZ ticks after the one before, and versions only go up. */
    double last_ticks = 0, last_version = 0, last_x = -1;
    for (size_t i = 0; i < all.n; i++) {
        const char *l = all.v[i];
        if (is_event(l, "reload"))
            continue;
        double v = num(l, "version");
        cr_assert_geq(v, last_version, "version went back: %s", l);
        last_version = v;
        if (!is_event(l, "second"))
            continue;
        cr_assert_eq(num(l, "ticks"), last_ticks + HZ, "a second is not %d ticks: %s", HZ, l);
        last_ticks = num(l, "ticks");
        cr_assert_lt(num(l, "tick_stall_max_us"), MAX_STALL_US,
                     "a tick stalled %.0f us (bound %.0f): %s", num(l, "tick_stall_max_us"),
                     MAX_STALL_US, l);
        /* under the drift rules the particles only move right */
        if (num(l, "ticks") > (double)t2) {
            cr_assert_gt(num(l, "mean_x"), last_x, "positions went back: %s", l);
            last_x = num(l, "mean_x");
        }
    }
    cr_assert_eq(last_ticks, NTICKS, "last per-second line at %.0f ticks", last_ticks);
    cr_assert_lt(num(summary, "tick_stall_max_us"), MAX_STALL_US, "%s", summary);

    /* The state carried over both reloads: every particle ran every tick
     * (no tick lost a particle to a reload), and the mean X is exactly
     * where version 2's state plus the drift of versions 2 and 3 puts it.
     * A state reset at a reload would lose the first part. */
    cr_assert_eq(num(summary, "steps"), (double)(NTICKS - t1) * PARTICLES, "%s", summary);
    double want = x2 + 0.5 * (double)(t3 - t2) / HZ + 1.0 * (double)(NTICKS - t3) / HZ;
    cr_assert(fabs(num(summary, "mean_x") - want) < 1e-6,
              "mean_x %.9f, want %.9f (v2 at tick %" PRIu64 " with %.9f, v3 at %" PRIu64 ")",
              num(summary, "mean_x"), want, t2, x2, t3);

    lines_free(&all);
    cli_close(&c);
}

Test(sim, script_runtime_errors_leave_the_particle_and_the_sim_running, .timeout = 120)
{
    save_in_place(script,
                  "type Particle = { X: float; Y: float; VX: float; VY: float }\n"
                  "let step (p: Particle) (dt: float) : Particle =\n"
                  "    if p.X > 0.5 then failwith \"too far right\"\n"
                  "    else { p with X = p.X + 0.1 * dt }\n");
    Child c = start_sim("240");
    Lines all = {0};
    const char *summary = run_to_summary(&c, &all);
    cr_assert_eq(num(summary, "ticks"), 240, "%s", summary);
    cr_assert_gt(num(summary, "script_errors"), 0, "%s", summary);
    cr_assert_gt(num(summary, "steps"), 0, "%s", summary);
    cr_assert(strstr(summary, "sim.fsrs:3: too far right"), "%s", summary);
    lines_free(&all);
    cli_close(&c);
}

/* Runs the sim with args to completion; returns the exit code, stderr in
 * *err (malloc'd). */
static int run_sim(const char *const *args, char **err)
{
    Child c;
    cr_assert(proc_spawn(&c, dir, sim_path(), args));
    int code = finish(&c);
    *err = strdup(text_str(&c.err));
    cli_close(&c);
    return code;
}

Test(sim, bad_arguments_give_clear_errors, .timeout = 60)
{
    char *err;
    const char *hz0[] = {"--hz", "0", "--ticks", "1", "--json", NULL};
    cr_assert_eq(run_sim(hz0, &err), 2);
    cr_assert(strstr(err, "--hz needs a whole number from 1 to 10000, not '0'"), "%s", err);
    free(err);

    const char *missing[] = {"--script", "nope.fsrs", "--ticks", "1", "--json", NULL};
    cr_assert_eq(run_sim(missing, &err), 1);
    cr_assert(strstr(err, "cannot read the script nope.fsrs"), "%s", err);
    free(err);

    const char *no_ticks[] = {"--script", script, "--json", NULL};
    cr_assert_eq(run_sim(no_ticks, &err), 2);
    cr_assert(strstr(err, "--json needs --ticks N"), "%s", err);
    free(err);
}
