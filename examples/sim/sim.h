/*
 * examples/sim/sim.h - the state shared by the sim's files: the host-owned
 * particles, what the host knows about the script and its reloads, and the
 * tick-time statistics.  Everything here belongs to the main thread, except
 * the reload mailbox, which the engine's executor thread fills.
 */
#ifndef FSRS_EXAMPLE_SIM_H
#define FSRS_EXAMPLE_SIM_H

#include <fsrs/fsrs.h>

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One particle in the unit box (Y up).  The host owns the array: a reload
 * replaces the rule, never the state. */
typedef struct Particle {
    double x, y, vx, vy;
} Particle;

/* One reload attempt as the executor thread reported it. */
typedef struct ReloadEvent {
    bool ok;
    uint64_t version;   /* compiled (ok) or still serving (failed) */
    uint64_t event_us;  /* the save was seen (CLOCK_MONOTONIC) */
    uint64_t debounce_us, compile_us; /* save seen -> compile started; compiling */
    char error[512];    /* "FILE:LINE:COL: message" when !ok */
} ReloadEvent;

#define MAILBOX_SIZE 16

/* on_reload (executor thread) -> the tick loop (main thread).  The executor
 * may block on the lock; the main thread only tries it, so a tick never
 * waits for the engine. */
typedef struct Mailbox {
    pthread_mutex_t lock;
    ReloadEvent ev[MAILBOX_SIZE];
    unsigned count;
    uint64_t dropped;   /* events that found the mailbox full */
} Mailbox;

/* Tick durations: the last second in a ring (for p50/p99/max of the status
 * line and of each JSON line) and the whole run in a 1 µs histogram.
 *
 * A tick's wall time includes any time the kernel gave the CPU to other
 * processes.  Its *stall* time leaves that out (wall time minus the time
 * the thread waited on a run queue, from /proc/thread-self/schedstat): it
 * is what the tick itself spent computing or blocked, which is what a
 * reload must never inflate, whatever else the machine is doing. */
#define HIST_BUCKETS 100000 /* 1 µs each; longer ticks count in the last */

typedef struct TickStats {
    uint32_t *window;   /* wall nanoseconds, capped at UINT32_MAX */
    uint32_t *stall;    /* stall nanoseconds, same ring positions */
    unsigned cap, len, pos;
    uint32_t *hist;
    uint64_t count, max_ns, stall_max_ns;
    int schedstat_fd;   /* /proc/thread-self/schedstat, or -1: stall = wall */
} TickStats;

typedef struct Options {
    unsigned hz;        /* ticks per second (--hz, default 240) */
    uint64_t ticks;     /* stop after this many (--ticks; 0: run until Ctrl-C) */
    bool json;          /* --json: no terminal, one JSON line per second */
    unsigned particles; /* --particles, default 600 */
    const char *script; /* --script */
} Options;

typedef struct Sim {
    Options opt;
    fsrs_engine *engine;
    fsrs_reader *reader;
    Mailbox mailbox;

    Particle *p;
    size_t n;

    uint64_t ticks;         /* host-owned tick counter */
    uint64_t steps_ok;      /* particle updates the script made */
    uint64_t version;       /* version the last tick ran (0: none yet) */

    /* reloads, as drained from the mailbox */
    uint64_t reloads_ok, reloads_failed;
    char reload_error[512]; /* last failed save; "" once a good one followed */
    uint64_t ok_version, ok_event_us;   /* newest compiled version and its save */
    uint64_t pub_version, pub_us;       /* newest version fsrs_engine_sync published */
    int64_t latency_us;                 /* save -> publish of pub_version; -1 unknown */

    /* script runtime errors (the particle keeps its state) */
    uint64_t script_errors;
    char script_error[512]; /* the last one */

    /* looks the script chooses (read after each reload) */
    int palette;
    char glyph[8];
    double hot;

    TickStats stats;
    uint64_t late_ticks;    /* started more than one period after their time */
    uint64_t resets;        /* fell so far behind that the schedule restarted */
} Sim;

/* Percentiles of the last second's ticks, in µs. */
typedef struct TickSummary {
    double p50, p99, max, stall_max;
} TickSummary;

TickSummary sim_window_summary(const Sim *s);

/* render.c: draw one frame of the terminal view (main thread). */
typedef struct Screen Screen;
int screen_open(Screen **out);          /* alternate screen, hidden cursor, no echo */
void screen_close(Screen *scr);         /* restores everything; NULL ok */
void screen_draw(Screen *scr, const Sim *s);

#endif
