/*
 * bench/server/harness.c - the handler saver of the server benchmark
 * (bench/server/run.sh): saves a script RATE times a second for SECONDS
 * seconds, alternating two valid versions (the file as it was, plus one of
 * two different comment lines), so that every save changes the content and
 * is a real reload.  Each save writes a temporary file next to it and
 * renames it into place, as most editors do, so the server never reads a
 * half-written file.  Saves are paced on absolute deadlines, so a slow save
 * does not shift the following ones.  Prints how many saves it made.  The
 * file is left with one of the two comment lines.
 *
 *   bench_server FILE [--rate R] [--seconds S]
 *
 * Single-threaded; it links nothing of fsrs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *d = malloc(cap);
    size_t got;
    while (d && (got = fread(d + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *nd = realloc(d, cap *= 2);
            if (!nd)
                free(d);
            d = nd;
        }
    }
    fclose(f);
    *len = n;
    return d;
}

static int save(const char *path, const char *tmp, const char *a, size_t an, const char *b,
                size_t bn)
{
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    int ok = write(fd, a, an) == (ssize_t)an && write(fd, b, bn) == (ssize_t)bn;
    if (close(fd) != 0 || !ok)
        return -1;
    return rename(tmp, path);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_server FILE [--rate R] [--seconds S]\n");
        return 2;
    }
    const char *path = argv[1];
    double rate = 100, seconds = 10;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--rate"))
            rate = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--seconds"))
            seconds = atof(argv[i + 1]);
        else {
            fprintf(stderr, "bench_server: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (rate <= 0 || rate > 100000 || seconds <= 0) {
        fprintf(stderr, "bench_server: bad --rate or --seconds\n");
        return 2;
    }
    size_t len;
    char *text = read_all(path, &len);
    if (!text) {
        fprintf(stderr, "bench_server: cannot read %s: %s\n", path, strerror(errno));
        return 1;
    }
    size_t tn = strlen(path) + 8;
    char *tmp = malloc(tn);
    snprintf(tmp, tn, "%s.save~", path);
    static const char *const tails[2] = {"\n// saved by bench_server: a\n",
                                         "\n// saved by bench_server: b\n"};

    long period_ns = (long)(1e9 / rate);
    long total = (long)(rate * seconds);
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    long saves = 0;
    for (long i = 0; i < total; i++) {
        const char *tail = tails[i & 1];
        if (save(path, tmp, text, len, tail, strlen(tail)) != 0) {
            fprintf(stderr, "bench_server: saving %s: %s\n", path, strerror(errno));
            break;
        }
        saves++;
        next.tv_nsec += period_ns;
        while (next.tv_nsec >= 1000000000L) {
            next.tv_nsec -= 1000000000L;
            next.tv_sec++;
        }
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
            ;
    }
    printf("saves %ld\n", saves);
    free(tmp);
    free(text);
    return saves == total ? 0 : 1;
}
