/*
 * examples/sim/render.c - the terminal view of the sim: the particles as
 * coloured glyphs (colour by speed, in the script's palette) and two status
 * lines (version, reload latency, tick times, errors).
 *
 * Owns the terminal while the sim runs: alternate screen, hidden cursor,
 * no echo; screen_close restores all three.  Each frame is built in one
 * buffer and written with one write(2).  Threads: main thread only.
 */
#define _GNU_SOURCE
#include "sim.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

struct Screen {
    int cols, rows;
    float *cell;        /* fastest speed per cell of the field; < 0: empty */
    char *buf;          /* the frame being built */
    size_t len, cap;
    bool oom;           /* an append did not fit; the frame is dropped */
    bool have_termios;
    struct termios saved;
};

/* 256-colour ramps from slow to fast. */
static const unsigned char heat[] = {17, 18, 19, 20, 21, 27, 33, 39, 45, 51, 50, 49, 48, 47,
                                     46, 82, 118, 154, 190, 226, 220, 214, 208, 202, 196};
static const unsigned char ice[] = {17, 18, 19, 20, 21, 27, 33, 39, 45, 51,
                                    87, 123, 159, 195, 231};
static const unsigned char grass[] = {22, 28, 34, 40, 46, 82, 118, 154, 190, 226};

static const struct {
    const unsigned char *c;
    size_t n;
} palettes[] = {{heat, sizeof heat}, {ice, sizeof ice}, {grass, sizeof grass}};

/* ------------------------------------------------------------- buffer --- */

static void put(Screen *scr, const char *s, size_t n)
{
    if (scr->len + n > scr->cap) {
        size_t cap = scr->cap ? scr->cap : 1 << 16;
        while (scr->len + n > cap)
            cap *= 2;
        char *b = realloc(scr->buf, cap);
        if (!b) {
            scr->oom = true;
            return;
        }
        scr->buf = b;
        scr->cap = cap;
    }
    memcpy(scr->buf + scr->len, s, n);
    scr->len += n;
}

static void puts_(Screen *scr, const char *s) { put(scr, s, strlen(s)); }

static void putf(Screen *scr, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        put(scr, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* write(2) the whole buffer; a tty may take it in pieces. */
static void flush_all(const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(STDOUT_FILENO, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

/* Append at most `width` columns of an ASCII-or-UTF-8 line, then clear to
 * the end of the line. */
static void put_clipped(Screen *scr, const char *s, int width)
{
    int cols = 0;
    size_t i = 0;
    while (s[i] && cols < width) {
        size_t n = 1;
        while ((s[i + n] & 0xc0) == 0x80)
            n++;
        put(scr, s + i, n);
        i += n;
        cols++;
    }
    puts_(scr, "\x1b[K");
}

/* -------------------------------------------------------- open, close --- */

int screen_open(Screen **out)
{
    Screen *scr = calloc(1, sizeof *scr);
    if (!scr)
        return -1;
    if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &scr->saved) == 0) {
        struct termios raw = scr->saved;
        raw.c_lflag &= ~(tcflag_t)(ECHO | ICANON); /* keys do not scribble on the view */
        if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0)
            scr->have_termios = true;
    }
    /* alternate screen, hidden cursor, cleared */
    static const char enter[] = "\x1b[?1049h\x1b[?25l\x1b[2J";
    flush_all(enter, sizeof enter - 1);
    *out = scr;
    return 0;
}

void screen_close(Screen *scr)
{
    if (!scr)
        return;
    /* colours off, cursor shown, back to the normal screen */
    static const char leave[] = "\x1b[0m\x1b[?25h\x1b[?1049l";
    flush_all(leave, sizeof leave - 1);
    if (scr->have_termios)
        tcsetattr(STDIN_FILENO, TCSANOW, &scr->saved);
    free(scr->cell);
    free(scr->buf);
    free(scr);
}

/* -------------------------------------------------------------- frame --- */

static bool resize(Screen *scr)
{
    struct winsize ws;
    int cols = 80, rows = 24;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 && ws.ws_row > 0) {
        cols = ws.ws_col;
        rows = ws.ws_row;
    }
    if (cols == scr->cols && rows == scr->rows && scr->cell)
        return true;
    float *cell = realloc(scr->cell, sizeof *cell * (size_t)cols * (size_t)rows);
    if (!cell)
        return false;
    scr->cell = cell;
    scr->cols = cols;
    scr->rows = rows;
    puts_(scr, "\x1b[2J");
    return true;
}

static void format_latency(char *buf, size_t cap, int64_t us)
{
    if (us < 0)
        snprintf(buf, cap, "-");
    else if (us < 10000)
        snprintf(buf, cap, "%.2f ms", us / 1000.0);
    else
        snprintf(buf, cap, "%.0f ms", us / 1000.0);
}

void screen_draw(Screen *scr, const Sim *s)
{
    scr->len = 0;
    scr->oom = false;
    if (!resize(scr))
        return;
    int cols = scr->cols, rows = scr->rows;
    int fh = rows - 2; /* two status lines */
    puts_(scr, "\x1b[H\x1b[0m");
    if (cols < 20 || fh < 4) {
        put_clipped(scr, "terminal too small", cols);
        flush_all(scr->buf, scr->len);
        return;
    }

    /* the field: each cell shows its fastest particle */
    size_t cells = (size_t)cols * (size_t)fh;
    for (size_t i = 0; i < cells; i++)
        scr->cell[i] = -1.0f;
    for (size_t i = 0; i < s->n; i++) {
        const Particle *p = &s->p[i];
        double fx = p->x * cols, fy = (1.0 - p->y) * fh;
        int cx = fx < 0 ? 0 : fx >= cols ? cols - 1 : (int)fx;
        int cy = fy < 0 ? 0 : fy >= fh ? fh - 1 : (int)fy;
        float speed = (float)sqrt(p->vx * p->vx + p->vy * p->vy);
        float *c = &scr->cell[(size_t)cy * (size_t)cols + (size_t)cx];
        if (speed > *c)
            *c = speed;
    }
    int pi = s->palette >= 0 && s->palette < 3 ? s->palette : 0;
    const unsigned char *ramp = palettes[pi].c;
    size_t nramp = palettes[pi].n;
    for (int y = 0; y < fh; y++) {
        putf(scr, "\x1b[%d;1H", y + 1);
        int color = -1;
        for (int x = 0; x < cols; x++) {
            float v = scr->cell[(size_t)y * (size_t)cols + (size_t)x];
            if (v < 0) {
                put(scr, " ", 1);
                continue;
            }
            double t = v / s->hot;
            size_t k = t >= 1 ? nramp - 1 : (size_t)(t * (double)(nramp - 1));
            if (ramp[k] != color) {
                color = ramp[k];
                putf(scr, "\x1b[38;5;%dm", color);
            }
            puts_(scr, s->glyph);
        }
    }

    /* status line: version, reload latency, tick times, counts */
    TickSummary w = sim_window_summary(s);
    char lat[32], line[1024];
    format_latency(lat, sizeof lat, s->latency_us);
    snprintf(line, sizeof line,
             " v%" PRIu64 " | reload %s | tick p50 %.0f us  p99 %.0f us  max %.0f us | %zu "
             "particles @ %u Hz | reloads %" PRIu64 " ok %" PRIu64 " failed | script errors %" PRIu64,
             s->version, lat, w.p50, w.p99, w.max, s->n, s->opt.hz, s->reloads_ok,
             s->reloads_failed, s->script_errors);
    putf(scr, "\x1b[%d;1H\x1b[0;7m", fh + 1);
    put_clipped(scr, line, cols);

    /* second line: the reload error in place, else the last script error,
     * else how to play */
    putf(scr, "\x1b[%d;1H", fh + 2);
    if (s->reload_error[0]) {
        snprintf(line, sizeof line, " reload failed, v%" PRIu64 " keeps running: %s", s->version,
                 s->reload_error);
        puts_(scr, "\x1b[0;1;31m");
    } else if (s->script_error[0]) {
        snprintf(line, sizeof line, " script error (particles keep their state): %s",
                 s->script_error);
        puts_(scr, "\x1b[0;33m");
    } else {
        snprintf(line, sizeof line, " edit %s and save: the next tick runs it.  Ctrl-C quits.",
                 s->opt.script);
        puts_(scr, "\x1b[0;2m");
    }
    put_clipped(scr, line, cols);
    puts_(scr, "\x1b[0m");
    if (!scr->oom)
        flush_all(scr->buf, scr->len);
}
