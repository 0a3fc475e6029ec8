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
 * A watched directory that is deleted is noticed (IN_IGNORED) and, through
 * a watch on its parent, watched again and rescanned when it reappears.  In
 * a recursive watch, new subdirectories are watched and scanned as they
 * appear.
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
#include <fnmatch.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/error.h"

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

#define DIR_MASK                                                                           \
    (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_MODIFY |  \
     IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_MASK_ADD)
/* on a watched directory's parent: its re-creation */
#define PARENT_MASK (IN_CREATE | IN_MOVED_TO | IN_ONLYDIR | IN_MASK_ADD)

static void queue_event(fsrs_engine *e, FileEventKind kind, const char *path, uint64_t now)
{
    FileEvent *ev = event_new(kind, path, now);
    if (ev) {
        ev->next = e->manual;
        e->manual = ev;
    }
}

/* Does the script at path pass w's filters (extension, globs)? */
bool watch_accepts(const fsrs_engine *e, const Watch *w, const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    if (w->only)
        return strcmp(base, w->only) == 0;
    if (base[0] == '.' || !engine_has_extension(e, base))
        return false;
    size_t n = strlen(w->root);
    const char *rel = strncmp(path, w->root, n) == 0 && path[n] == '/' ? path + n + 1 : path;
    if (e->include) {
        bool any = false;
        for (char **g = e->include; *g && !any; g++)
            any = fnmatch(*g, rel, 0) == 0;
        if (!any)
            return false;
    }
    for (char **g = e->exclude; g && *g; g++)
        if (fnmatch(*g, rel, 0) == 0)
            return false;
    return true;
}

/* Queue an event per script file of w for the debouncer (control lock
 * held). */
void watch_scan(fsrs_engine *e, const Watch *w, FileEventKind kind)
{
    uint64_t now = clock_us();
    char path[FSRS_PATH_MAX];
    if (w->wd < 0)
        return;
    if (w->only) {
        snprintf(path, sizeof path, "%s/%s", w->dir, w->only);
        struct stat st;
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
            queue_event(e, kind, path, now);
        return;
    }
    DIR *d = opendir(w->dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", w->dir, de->d_name);
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || !watch_accepts(e, w, path))
            continue;
        queue_event(e, kind, path, now);
    }
    closedir(d);
}

static Watch *find_dir_watch(fsrs_engine *e, const char *dir, const char *only)
{
    for (unsigned i = 0; i < e->nwatches; i++) {
        Watch *w = &e->watches[i];
        if (strcmp(w->dir, dir) == 0 && ((!w->only && !only) || (w->only && only &&
                                                                 strcmp(w->only, only) == 0)))
            return w;
    }
    return NULL;
}

int watch_dir(fsrs_engine *e, const char *dir, const char *only, const char *root,
              bool recursive, bool with_parent)
{
    Watch *w = find_dir_watch(e, dir, only);
    if (w && w->wd >= 0) {
        watch_scan(e, w, EV_SAVED);
        return FSRS_OK;
    }
    int wd = inotify_add_watch(e->inotify_fd, dir, DIR_MASK);
    if (wd < 0) {
        int err = errno;
        return fsrs__error_set(err == ENOENT ? FSRS_ENOTFOUND : FSRS_EIO, dir, 0, 0,
                               "inotify cannot watch '%s': %s%s", dir, strerror(err),
                               err == ENOSPC ? " (raise fs.inotify.max_user_watches)" : "");
    }
    if (!w) {
        if (e->nwatches == e->capwatches) {
            unsigned cap = e->capwatches ? e->capwatches * 2 : 8;
            Watch *nw = realloc(e->watches, cap * sizeof *nw);
            if (!nw)
                return fsrs__error_set(FSRS_ENOMEM, NULL, 0, 0, "out of memory");
            e->watches = nw;
            e->capwatches = cap;
        }
        w = &e->watches[e->nwatches];
        memset(w, 0, sizeof *w);
        w->dir = strdup(dir);
        w->only = only ? strdup(only) : NULL;
        w->root = strdup(root);
        const char *slash = strrchr(dir, '/');
        w->name = strdup(slash ? slash + 1 : dir);
        w->parent_wd = -1;
        if (!w->dir || (only && !w->only) || !w->root || !w->name) {
            free(w->dir);
            free(w->only);
            free(w->root);
            free(w->name);
            return fsrs__error_set(FSRS_ENOMEM, NULL, 0, 0, "out of memory");
        }
        w->recursive = recursive;
        e->nwatches++;
        if (with_parent && !only) {
            char parent[FSRS_PATH_MAX];
            if (slash && slash != dir)
                snprintf(parent, sizeof parent, "%.*s", (int)(slash - dir), dir);
            else
                snprintf(parent, sizeof parent, "%s", slash ? "/" : ".");
            w->parent_wd = inotify_add_watch(e->inotify_fd, parent, PARENT_MASK);
        }
    }
    w->wd = wd;
    watch_scan(e, w, EV_SAVED);
    if (recursive) {
        DIR *d = opendir(dir);
        if (d) {
            struct dirent *de;
            char sub[FSRS_PATH_MAX];
            while ((de = readdir(d))) {
                if (de->d_name[0] == '.')
                    continue;
                snprintf(sub, sizeof sub, "%s/%s", dir, de->d_name);
                struct stat st;
                if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
                    watch_dir(e, sub, NULL, root, true, false);
            }
            closedir(d);
        }
    }
    return FSRS_OK;
}

/* Is name (in the directory of wd) a script we watch?  Writes its path.
 * Control lock held. */
static bool wanted(fsrs_engine *e, int wd, const char *name, char *path, size_t cap)
{
    if (!name[0])
        return false;
    for (unsigned i = 0; i < e->nwatches; i++) {
        Watch *w = &e->watches[i];
        if (w->wd != wd)
            continue;
        snprintf(path, cap, "%s/%s", w->dir, name);
        if (watch_accepts(e, w, path))
            return true;
    }
    return false;
}

/* A directory event: a watched directory went away, came back, or (in a
 * recursive watch) a subdirectory appeared.  Control lock held. */
static void directory_event(fsrs_engine *e, const struct inotify_event *ie)
{
    if (ie->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) {
        for (unsigned i = 0; i < e->nwatches; i++)
            if (e->watches[i].wd == ie->wd) {
                if (ie->mask & IN_MOVE_SELF)
                    inotify_rm_watch(e->inotify_fd, ie->wd);
                e->watches[i].wd = -1;
            }
        return;
    }
    if (!(ie->mask & IN_ISDIR) || !(ie->mask & (IN_CREATE | IN_MOVED_TO)) || !ie->len)
        return;
    unsigned n = e->nwatches;
    for (unsigned i = 0; i < n; i++) {
        Watch *w = &e->watches[i];
        if (w->parent_wd == ie->wd && w->wd < 0 && strcmp(w->name, ie->name) == 0) {
            /* the watched directory is back: watch it and load what it has */
            char dir[FSRS_PATH_MAX], root[FSRS_PATH_MAX];
            snprintf(dir, sizeof dir, "%s", w->dir);
            snprintf(root, sizeof root, "%s", w->root);
            watch_dir(e, dir, NULL, root, w->recursive, false);
            return;
        }
    }
    for (unsigned i = 0; i < n; i++) {
        Watch *w = &e->watches[i];
        if (w->wd == ie->wd && w->recursive) {
            char sub[FSRS_PATH_MAX], root[FSRS_PATH_MAX];
            snprintf(sub, sizeof sub, "%s/%s", w->dir, ie->name);
            snprintf(root, sizeof root, "%s", w->root);
            watch_dir(e, sub, NULL, root, true, false);
            return;
        }
    }
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
                /* seq_cst, set before the read: a compiler that finds the
                 * queue empty then sees either this flag or our updates */
                atomic_store(&e->watcher_busy, true);
                ssize_t len = read(e->inotify_fd, buf, sizeof buf);
                if (len <= 0) {
                    atomic_store(&e->watcher_busy, false);
                    break;
                }
                uint64_t now = clock_us();
                for (char *p = buf; p < buf + len;) {
                    struct inotify_event *ie = (struct inotify_event *)p;
                    p += sizeof *ie + ie->len;
                    if (ie->mask & IN_Q_OVERFLOW) {
                        handle_overflow(e);
                        continue;
                    }
                    if (ie->mask & (IN_ISDIR | IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) {
                        pthread_mutex_lock(&e->lock);
                        directory_event(e, ie);
                        bool queued = e->manual != NULL;
                        pthread_mutex_unlock(&e->lock);
                        if (queued)
                            pushed = true;
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
                    Script *s = engine_find_script(e, path);
                    if (s) {
                        /* tell the compiler a writer is (or was just) busy */
                        atomic_store(&s->change_us, now);
                        atomic_store(&s->writing, kind == EV_CHANGED);
                        atomic_fetch_add(&s->change_seq, 1);
                    }
                    FileEvent *ev = event_new(kind, path, now);
                    if (!ev)
                        continue; /* out of memory: the next event retries */
                    if (backlog.head || !ring_push_spsc(&e->events, ev))
                        backlog_add(&backlog, ev);
                    else
                        pushed = true;
                }
                atomic_store(&e->watcher_busy, false);
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
