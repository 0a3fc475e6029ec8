/*
 * reload/watch_linux.c - the watcher stage: inotify -> file events.
 *
 * Watches directories (a watched file is its directory plus a name filter:
 * editors that save by renaming a temporary file replace the inode, so only
 * the directory sees the save).  Each relevant inotify event becomes a
 * FileEvent on the events ring to the debouncer:
 *   IN_CLOSE_WRITE, IN_MOVED_TO      -> EV_SAVED   (the save is complete)
 *   IN_MODIFY, IN_CREATE             -> EV_CHANGED (a writer may still be busy;
 *                                       IN_MODIFY fires at open(O_TRUNC),
 *                                       before any byte is written)
 *   IN_DELETE, IN_MOVED_FROM         -> EV_DELETED
 *   IN_Q_OVERFLOW                    -> rescan every watch
 * If the ring is full the watcher keeps events in order on a local list and
 * retries: nothing is dropped.
 *
 * Threads: watcher_main runs on the watcher thread.  watch_scan runs on
 * whichever thread holds the control lock (fsrs_engine_watch, or the
 * watcher on overflow).
 */
#define _GNU_SOURCE
#include "reload/engine.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/clock.h"

FileEvent *event_new(FileEventKind kind, const char *path, uint64_t t_us)
{
    size_t n = strlen(path);
    FileEvent *ev = malloc(sizeof *ev + n + 1);
    if (!ev)
        return NULL;
    ev->kind = kind;
    ev->t_us = t_us;
    ev->next = NULL;
    memcpy(ev->path, path, n + 1);
    return ev;
}

/* Queue an event per script file of w for the debouncer (control lock
 * held). */
void watch_scan(fsrs_engine *e, const Watch *w, FileEventKind kind)
{
    uint64_t now = clock_us();
    char path[FSRS_PATH_MAX];
    if (w->only) {
        snprintf(path, sizeof path, "%s/%s", w->dir, w->only);
        struct stat st;
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            FileEvent *ev = event_new(kind, path, now);
            if (ev) {
                ev->next = e->manual;
                e->manual = ev;
            }
        }
        return;
    }
    DIR *d = opendir(w->dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' || !engine_has_extension(e, de->d_name))
            continue;
        snprintf(path, sizeof path, "%s/%s", w->dir, de->d_name);
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        FileEvent *ev = event_new(kind, path, now);
        if (ev) {
            ev->next = e->manual;
            e->manual = ev;
        }
    }
    closedir(d);
}

/* Is name (in the directory of wd) a script we watch?  Writes its path.
 * Control lock held. */
static bool wanted(fsrs_engine *e, int wd, const char *name, char *path, size_t cap)
{
    if (!name[0] || !engine_has_extension(e, name))
        return false;
    for (unsigned i = 0; i < e->nwatches; i++) {
        Watch *w = &e->watches[i];
        if (w->wd != wd || (w->only && strcmp(w->only, name) != 0))
            continue;
        snprintf(path, cap, "%s/%s", w->dir, name);
        return true;
    }
    return false;
}

typedef struct Backlog {
    FileEvent *head, *tail;
} Backlog;

static void backlog_add(Backlog *b, FileEvent *ev)
{
    ev->next = NULL;
    if (b->tail)
        b->tail->next = ev;
    else
        b->head = ev;
    b->tail = ev;
}

/* Move what fits from the backlog to the ring, oldest first. */
static bool flush_backlog(fsrs_engine *e, Backlog *b)
{
    bool pushed = false;
    while (b->head) {
        FileEvent *ev = b->head;
        FileEvent *next = ev->next;
        if (!ring_push_spsc(&e->events, ev))
            break;
        pushed = true;
        b->head = next;
        if (!b->head)
            b->tail = NULL;
    }
    return pushed;
}

static void handle_overflow(fsrs_engine *e)
{
    atomic_fetch_add_explicit(&e->st_overflows, 1, memory_order_relaxed);
    pthread_mutex_lock(&e->lock);
    for (unsigned i = 0; i < e->nwatches; i++)
        watch_scan(e, &e->watches[i], EV_SAVED);
    pthread_mutex_unlock(&e->lock);
    doorbell_ring(&e->debouncer.bell);
}

void *watcher_main(void *arg)
{
    fsrs_engine *e = arg;
    Backlog backlog = {NULL, NULL};
    /* inotify_event is followed by a name; align the buffer for it */
    char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
    while (!atomic_load(&e->stopping)) {
        struct pollfd fds[2] = {{.fd = e->inotify_fd, .events = POLLIN},
                                {.fd = e->watcher.bell.fd, .events = POLLIN}};
        int n = poll(fds, 2, backlog.head ? 1 : -1);
        if (n < 0 && errno != EINTR)
            break;
        if (fds[1].revents & POLLIN)
            doorbell_drain(&e->watcher.bell);
        bool pushed = flush_backlog(e, &backlog);
        if (fds[0].revents & POLLIN) {
            for (;;) {
                ssize_t len = read(e->inotify_fd, buf, sizeof buf);
                if (len <= 0)
                    break;
                uint64_t now = clock_us();
                for (char *p = buf; p < buf + len;) {
                    struct inotify_event *ie = (struct inotify_event *)p;
                    p += sizeof *ie + ie->len;
                    if (ie->mask & IN_Q_OVERFLOW) {
                        handle_overflow(e);
                        continue;
                    }
                    if (!ie->len)
                        continue;
                    FileEventKind kind;
                    if (ie->mask & (IN_CLOSE_WRITE | IN_MOVED_TO))
                        kind = EV_SAVED;
                    else if (ie->mask & (IN_MODIFY | IN_CREATE))
                        kind = EV_CHANGED;
                    else if (ie->mask & (IN_DELETE | IN_MOVED_FROM))
                        kind = EV_DELETED;
                    else
                        continue;
                    char path[FSRS_PATH_MAX];
                    pthread_mutex_lock(&e->lock);
                    bool ok = wanted(e, ie->wd, ie->name, path, sizeof path);
                    pthread_mutex_unlock(&e->lock);
                    if (!ok)
                        continue;
                    atomic_fetch_add_explicit(&e->st_events, 1, memory_order_relaxed);
                    FileEvent *ev = event_new(kind, path, now);
                    if (!ev)
                        continue; /* out of memory: the next event retries */
                    if (backlog.head || !ring_push_spsc(&e->events, ev))
                        backlog_add(&backlog, ev);
                    else
                        pushed = true;
                }
            }
        }
        if (pushed)
            doorbell_ring(&e->debouncer.bell);
    }
    while (backlog.head) {
        FileEvent *next = backlog.head->next;
        free(backlog.head);
        backlog.head = next;
    }
    return NULL;
}
