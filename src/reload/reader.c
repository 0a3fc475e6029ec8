/*
 * reload/reader.c - readers: host threads that run the engine's scripts.
 *
 * A reader owns an epoch record and, per script, a VM and the number of
 * the version that VM has loaded.  fsrs_reader_call loads the script's
 * current version inside an epoch section (acquire; pairs with the
 * publisher's release), loads it into the VM if it is newer than the one
 * there, and calls.  The VM holds its own reference to the chunk it loaded,
 * so the section only has to cover reading Script.current.  No lock, no
 * wait: a reload in progress is simply not seen until it is published.
 *
 * Threads: a reader is used by one thread at a time (the one running its
 * scripts); creating and freeing it takes the engine's records lock.
 */
#define _GNU_SOURCE
#include "reload/engine.h"

#include <stdlib.h>
#include <string.h>

#include "util/error.h"

#ifdef FSRS_TSAN
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#endif

ck_epoch_record_t *engine_reader_record(fsrs_engine *e);
void engine_release_record(fsrs_engine *e, ck_epoch_record_t *r);

typedef struct ReaderSlot {
    fsrs_vm *vm;
    uint64_t version;   /* loaded into vm; 0: none */
} ReaderSlot;

struct fsrs_reader {
    fsrs_engine *engine;
    ck_epoch_record_t *rec;
    unsigned depth;     /* nesting of enter/leave */
    bool defer;         /* fsrs_reader_defer_leave: keep the section open ... */
    bool open;          /* ... and it is open (with depth 0: held) */
    unsigned open_epoch;          /* the global epoch the open section began in */
    const unsigned *global_epoch; /* &engine->epoch.epoch */
    fsrs_config vm_cfg;
    fsrs_vm_setup_fn setup;
    void *setup_userdata;
    ReaderSlot *slots;  /* indexed like engine->scripts */
    unsigned nslots;
    char last_key[256];    /* the path of the last lookup ... */
    Script *last_script;   /* ... and its script (registry slots never move) */
};

int fsrs_reader_new(fsrs_engine *e, const fsrs_config *vm_cfg, fsrs_vm_setup_fn setup,
                    void *setup_userdata, fsrs_reader **out)
{
    if (!e || !out)
        return fsrs__error_set(FSRS_EINVAL, NULL, 0, 0, "fsrs_reader_new: NULL argument");
    fsrs_reader *r = calloc(1, sizeof *r);
    if (!r)
        return fsrs__error_set(FSRS_ENOMEM, NULL, 0, 0, "out of memory");
    r->engine = e;
    if (vm_cfg)
        r->vm_cfg = *vm_cfg;
    else
        fsrs_config_init(&r->vm_cfg);
    r->setup = setup;
    r->setup_userdata = setup_userdata;
    r->global_epoch = &e->epoch.epoch;
    r->rec = engine_reader_record(e);
    if (!r->rec) {
        free(r);
        return fsrs__error_set(FSRS_ENOMEM, NULL, 0, 0, "out of memory");
    }
    *out = r;
    return FSRS_OK;
}

void fsrs_reader_free(fsrs_reader *r)
{
    if (!r)
        return;
    r->depth = 0;
    fsrs_reader_quiesce(r);
    for (unsigned i = 0; i < r->nslots; i++)
        fsrs_vm_free(r->slots[i].vm);
    free(r->slots);
    engine_release_record(r->engine, r->rec);
    free(r);
}

/* ------------------------------------------------------------ sections --- */

/*
 * A section is an epoch section of the reader's record.  With deferred
 * leave, the outermost leave keeps the record active instead of ending the
 * section, so the next enter costs no atomic exchange.  That is safe: an
 * active record only ever delays reclamation.  It stays bounded because
 * the executor advances the global epoch (ck_epoch_poll) only while retired
 * versions wait to be freed, and every advance is seen by the next leave,
 * which then really ends the section: the record's epoch (set by
 * ck_epoch_begin) lags the global one.  A thread that stops calling holds
 * its section until fsrs_reader_quiesce, fsrs_reader_defer_leave(false)
 * or fsrs_reader_free.
 */

static void section_end(fsrs_reader *r)
{
#ifdef FSRS_TSAN
    __tsan_release(&r->engine->epoch);
#endif
    ck_epoch_end(r->rec, NULL);
    r->open = false;
}

void fsrs_reader_enter(fsrs_reader *r)
{
    if (r->depth++ == 0 && !r->open) {
        ck_epoch_begin(r->rec, NULL);
        r->open = true;
        r->open_epoch = r->rec->epoch;
    }
}

void fsrs_reader_leave(fsrs_reader *r)
{
    if (r->depth == 0 || --r->depth > 0)
        return;
    /* relaxed is enough: a stale value only ends the section one leave
     * later; ck_epoch_end's release orders the section's reads */
    if (!r->defer || ck_pr_load_uint(r->global_epoch) != r->open_epoch)
        section_end(r);
}

void fsrs_reader_quiesce(fsrs_reader *r)
{
    if (r && r->depth == 0 && r->open)
        section_end(r);
}

void fsrs_reader_defer_leave(fsrs_reader *r, bool on)
{
    if (!r)
        return;
    r->defer = on;
    if (!on)
        fsrs_reader_quiesce(r);
}

static ReaderSlot *slot_for(fsrs_reader *r, Script *s)
{
    unsigned idx = (unsigned)(s - r->engine->scripts);
    if (idx >= r->nslots) {
        unsigned n = idx + 8;
        ReaderSlot *ns = realloc(r->slots, n * sizeof *ns);
        if (!ns)
            return NULL;
        memset(ns + r->nslots, 0, (n - r->nslots) * sizeof *ns);
        r->slots = ns;
        r->nslots = n;
    }
    ReaderSlot *slot = &r->slots[idx];
    if (!slot->vm) {
        if (fsrs_vm_new(&r->vm_cfg, &slot->vm) != FSRS_OK)
            return NULL;
        if (r->setup && r->setup(slot->vm, r->setup_userdata) != FSRS_OK) {
            fsrs_vm_free(slot->vm);
            slot->vm = NULL;
            return NULL;
        }
    }
    return slot;
}

static bool default_compiler(const fsrs_engine *e)
{
    return e->cfg.compiler.userdata == e;
}

/* Load the script's current version into the slot's VM if it is newer.
 * Inside a section. */
static int load_current(fsrs_reader *r, Script *s, ReaderSlot *slot, const char *path)
{
    (void)r;
    /* acquire: pairs with the publisher's release exchange */
    Version *v = atomic_load_explicit(&s->current, memory_order_acquire);
    if (!v)
        return fsrs__error_set(FSRS_ENOTFOUND, path, 0, 0, "'%s' has no compiled version yet",
                               path);
    if (v->number == slot->version)
        return FSRS_OK;
    int rc = fsrs_vm_load(slot->vm, v->artifact);
    /* a failed top-level run is retried on the next call */
    slot->version = rc == FSRS_OK ? v->number : 0;
    return rc;
}

static int prepare(fsrs_reader *r, const char *path, Script **s_out, ReaderSlot **slot_out)
{
    if (!r || !path)
        return fsrs__error_set(FSRS_EINVAL, NULL, 0, 0, "fsrs_reader: NULL argument");
    fsrs_engine *e = r->engine;
    if (!default_compiler(e))
        return fsrs__error_set(FSRS_EINVAL, path, 0, 0,
                               "running scripts needs the default compiler; use "
                               "fsrs_reader_artifact");
    /* hosts usually call one script many times in a row: remember it */
    Script *s;
    if (r->last_script && strcmp(path, r->last_key) == 0) {
        s = r->last_script;
    } else {
        s = engine_find_script(e, path);
        if (!s)
            return fsrs__error_set(FSRS_ENOTFOUND, path, 0, 0, "no script '%s'", path);
        size_t n = strlen(path);
        if (n < sizeof r->last_key) {
            memcpy(r->last_key, path, n + 1);
            r->last_script = s;
        }
    }
    ReaderSlot *slot = slot_for(r, s);
    if (!slot)
        return fsrs__error_set(FSRS_ENOMEM, path, 0, 0, "out of memory creating a VM");
    *s_out = s;
    *slot_out = slot;
    return FSRS_OK;
}

int fsrs_reader_load(fsrs_reader *r, const char *path)
{
    Script *s = NULL;
    ReaderSlot *slot = NULL;
    int rc = prepare(r, path, &s, &slot);
    if (rc)
        return rc;
    fsrs_reader_enter(r);
    rc = load_current(r, s, slot, path);
    fsrs_reader_leave(r);
    return rc;
}

int fsrs_reader_call(fsrs_reader *r, const char *path, const char *fn, int argc,
                     const fsrs_value *argv, fsrs_value *out)
{
    Script *s = NULL;
    ReaderSlot *slot = NULL;
    if (!fn)
        return fsrs__error_set(FSRS_EINVAL, NULL, 0, 0, "fsrs_reader_call: NULL function name");
    int rc = prepare(r, path, &s, &slot);
    if (rc)
        return rc;
    fsrs_reader_enter(r);
    rc = load_current(r, s, slot, path);
    if (rc == FSRS_OK)
        rc = fsrs_vm_call(slot->vm, fn, argc, argv, out);
    fsrs_reader_leave(r);
    return rc;
}

const void *fsrs_reader_artifact(fsrs_reader *r, const char *path, uint64_t *version_out)
{
    if (version_out)
        *version_out = 0;
    if (!r || !path)
        return NULL;
    Script *s = engine_find_script(r->engine, path);
    if (!s)
        return NULL;
    /* acquire: pairs with the publisher's release exchange */
    Version *v = atomic_load_explicit(&s->current, memory_order_acquire);
    if (!v)
        return NULL;
    if (version_out)
        *version_out = v->number;
    return v->artifact;
}

uint64_t fsrs_reader_version(const fsrs_reader *r, const char *path)
{
    if (!r || !path)
        return 0;
    Script *s = engine_find_script(r->engine, path);
    if (!s)
        return 0;
    unsigned idx = (unsigned)(s - r->engine->scripts);
    return idx < r->nslots ? r->slots[idx].version : 0;
}

fsrs_vm *fsrs_reader_vm(fsrs_reader *r, const char *path)
{
    if (!r || !path)
        return NULL;
    Script *s = engine_find_script(r->engine, path);
    if (!s)
        return NULL;
    ReaderSlot *slot = slot_for(r, s);
    return slot ? slot->vm : NULL;
}

void fsrs_reader_release(fsrs_reader *r)
{
    if (!r)
        return;
    for (unsigned i = 0; i < r->nslots; i++)
        if (r->slots[i].vm)
            fsrs_vm_release(r->slots[i].vm, 0);
}
