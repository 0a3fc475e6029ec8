/*
 * tests/reload/helpers.h - shared helpers of the reload tests: temporary
 * directories, the common ways editors and tools save a file, and polling
 * with a deadline.
 */
#ifndef FSRS_TESTS_RELOAD_HELPERS_H
#define FSRS_TESTS_RELOAD_HELPERS_H

#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <fsrs/fsrs.h>

static inline uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static inline void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Poll cond(arg) every millisecond until it holds or timeout_ms passes. */
static inline bool wait_until(bool (*cond)(void *), void *arg, unsigned timeout_ms)
{
    uint64_t end = now_ms() + timeout_ms;
    while (!cond(arg)) {
        if (now_ms() > end)
            return false;
        sleep_ms(1);
    }
    return true;
}

static inline char *make_tmpdir(void)
{
    char tmpl[] = "/tmp/fsrs-test-XXXXXX";
    char *d = mkdtemp(tmpl);
    return d ? strdup(d) : NULL;
}

static inline void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        char *path = malloc(strlen(dir) + strlen(de->d_name) + 2);
        sprintf(path, "%s/%s", dir, de->d_name);
        struct stat st;
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
            remove_tree(path);
        else
            unlink(path);
        free(path);
    }
    closedir(d);
    rmdir(dir);
}

static inline char *path_in(const char *dir, const char *name)
{
    char *p = malloc(strlen(dir) + strlen(name) + 2);
    sprintf(p, "%s/%s", dir, name);
    return p;
}

static inline void write_all(int fd, const char *s, size_t n)
{
    while (n) {
        ssize_t w = write(fd, s, n);
        if (w <= 0)
            abort();
        s += w;
        n -= (size_t)w;
    }
}

/* open(O_TRUNC), write, close: most editors' in-place save */
static inline void save_in_place(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    write_all(fd, text, strlen(text));
    close(fd);
}

/* open without truncating, ftruncate, write in two pieces with a pause */
static inline void save_truncate_then_write(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT, 0644);
    if (ftruncate(fd, 0) != 0)
        abort();
    size_t n = strlen(text), half = n / 2;
    write_all(fd, text, half);
    sleep_ms(2);
    write_all(fd, text + half, n - half);
    close(fd);
}

/* write a temporary file next to it, then rename over it (vim, JetBrains,
 * sed -i, rsync) */
static inline void save_by_rename(const char *path, const char *text)
{
    char *tmp = malloc(strlen(path) + 6);
    sprintf(tmp, "%s.tmp~", path);
    save_in_place(tmp, text);
    if (rename(tmp, path) != 0)
        abort();
    free(tmp);
}

/* delete, then create anew */
static inline void save_delete_create(const char *path, const char *text)
{
    unlink(path);
    sleep_ms(5);
    save_in_place(path, text);
}

#endif
