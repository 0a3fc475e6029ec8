/*
 * vm/gc.c - the per-VM heap: allocation, limits and mark-and-sweep.
 *
 * Objects of up to GC_SLAB_MAX bytes (cons cells, tree nodes, closures,
 * small tuples, records and strings: nearly all of them) live in slabs:
 * pages of equal slots, one list of pages and one free list of slots per
 * size class of GC_SLAB_GRAIN bytes.  Allocating one is popping its free
 * list, and the sweep walks the pages in address order instead of
 * chasing a list through the whole heap.  Larger objects are allocated
 * one by one and kept on the VM's `objects` list.  Pages come from the
 * VM's allocator hook like everything else; a page left without a live
 * object is given back at the sweep.  vm->bytes counts the slots and
 * large objects in use (what the memory limit bounds), not free slots.
 *
 * Collection marks from the roots (value stack, globals, host imports,
 * host handles) with an explicit gray stack, so deep lists cannot
 * overflow the C stack, then sweeps the slabs and the list.  Static
 * objects (chunk constants, builtins, host function objects, record and
 * union shapes) are skipped without being written: they may be shared
 * with other threads.  Only the VM's owner thread runs any of this.
 */
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define GC_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GC_ASAN 1
#endif
#endif
#ifdef GC_ASAN
#include <sanitizer/asan_interface.h>
#endif

#include "util/error.h"
#include "vm/tree.h"
#include "vm/vm.h"

#define GC_MIN_THRESHOLD (1u << 20)

/* ---------------------------------------------------------------- slabs --- */

/* A page of slots of one size class.  The slots follow the header from
 * the first cache-line boundary, so that a 64-byte object (a tree node)
 * is one line; a free slot has type O_FREE_SLOT and is linked through
 * obj.next. */
typedef struct Slab {
    struct Slab *next;
    uint32_t slot;      /* bytes per slot */
    uint32_t nslots;
    uint32_t first;     /* offset of slot 0 */
} Slab;

#define SLAB_PAGE (16u << 10)
#define SLAB_LINE 64
#define O_FREE_SLOT 0xff

/* Under AddressSanitizer the body of a free slot (all but the header the
 * allocator links it by) is poisoned, so that a use of a collected object
 * is still reported. */
#ifdef GC_ASAN
#define SLOT_POISON(o, n) ASAN_POISON_MEMORY_REGION((char *)(o) + sizeof(Obj), (n) - sizeof(Obj))
#define SLOT_UNPOISON(o, n) ASAN_UNPOISON_MEMORY_REGION((char *)(o) + sizeof(Obj), (n) - sizeof(Obj))
#define PAGE_UNPOISON(s) ASAN_UNPOISON_MEMORY_REGION((s), SLAB_PAGE)
#else
#define SLOT_POISON(o, n) ((void)(o), (void)(n))
#define SLOT_UNPOISON(o, n) ((void)(o), (void)(n))
#define PAGE_UNPOISON(s) ((void)(s))
#endif

static inline Obj *slab_slot(Slab *s, uint32_t i)
{
    return (Obj *)((char *)s + s->first + (size_t)i * s->slot);
}

/* Add a page to class k, its slots in address order on the free list. */
static bool slab_grow(fsrs_vm *vm, unsigned k)
{
    Slab *s = mem_alloc(&vm->mem, SLAB_PAGE);
    if (!s)
        return false;
    uintptr_t start = (uintptr_t)(s + 1);
    s->first = (uint32_t)(((start + SLAB_LINE - 1) & ~(uintptr_t)(SLAB_LINE - 1)) - (uintptr_t)s);
    s->slot = (k + 1) * GC_SLAB_GRAIN;
    s->nslots = (SLAB_PAGE - s->first) / s->slot;
    s->next = vm->slabs[k];
    vm->slabs[k] = s;
    Obj *head = vm->free_slots[k];
    for (uint32_t i = s->nslots; i-- > 0;) {
        Obj *o = slab_slot(s, i);
        o->type = O_FREE_SLOT;
        o->marked = 0;
        o->next = head;
        head = o;
        SLOT_POISON(o, s->slot);
    }
    vm->free_slots[k] = head;
    return true;
}

/* Free every unmarked object of the slabs and clear the marks of the
 * others, rebuilding the free lists in address order.  A page left with
 * nothing live is kept while its class has fewer free slots than live
 * ones (the heap may grow by its live size before the next collection,
 * so the next cycle would fetch such a page again) and given back to the
 * allocator hook otherwise. */
static void sweep_slabs(fsrs_vm *vm)
{
    size_t freed = 0;
    for (unsigned k = 0; k < GC_SLAB_CLASSES; k++) {
        Obj *free_list = NULL, **tail = &free_list;
        Slab **link = &vm->slabs[k], *empty = NULL;
        size_t nlive = 0, nfree = 0;
        while (*link) {
            Slab *s = *link;
            Obj **page_tail = tail;
            uint32_t live = 0;
            for (uint32_t i = 0; i < s->nslots; i++) {
                Obj *o = slab_slot(s, i);
                if (o->type != O_FREE_SLOT) {
                    if (o->marked) {
                        o->marked = 0;
                        live++;
                        continue;
                    }
                    freed += s->slot;
                    o->type = O_FREE_SLOT;
                    SLOT_POISON(o, s->slot);
                }
                *tail = o;
                tail = &o->next;
            }
            if (live) {
                nlive += live;
                nfree += s->nslots - live;
                link = &s->next;
            } else {
                tail = page_tail; /* drop the page's slots from the list */
                *link = s->next;
                s->next = empty;
                empty = s;
            }
        }
        while (empty) {
            Slab *s = empty;
            empty = s->next;
            if (nfree >= nlive) {
                PAGE_UNPOISON(s);
                mem_free(&vm->mem, s, SLAB_PAGE);
                continue;
            }
            nfree += s->nslots;
            s->next = vm->slabs[k];
            vm->slabs[k] = s;
            for (uint32_t i = 0; i < s->nslots; i++) {
                Obj *o = slab_slot(s, i);
                *tail = o;
                tail = &o->next;
            }
        }
        *tail = NULL;
        vm->free_slots[k] = free_list;
    }
    vm->bytes -= freed;
}

static void slabs_unmark(fsrs_vm *vm)
{
    for (unsigned k = 0; k < GC_SLAB_CLASSES; k++)
        for (Slab *s = vm->slabs[k]; s; s = s->next)
            for (uint32_t i = 0; i < s->nslots; i++)
                slab_slot(s, i)->marked = 0;
}

static void slabs_free_all(fsrs_vm *vm)
{
    for (unsigned k = 0; k < GC_SLAB_CLASSES; k++) {
        Slab *s = vm->slabs[k];
        while (s) {
            Slab *next = s->next;
            for (uint32_t i = 0; i < s->nslots; i++) {
                Obj *o = slab_slot(s, i);
                if (o->type != O_FREE_SLOT)
                    vm->bytes -= o->size;
            }
            PAGE_UNPOISON(s);
            mem_free(&vm->mem, s, SLAB_PAGE);
            s = next;
        }
        vm->slabs[k] = NULL;
        vm->free_slots[k] = NULL;
    }
}

/* ---------------------------------------------------------------- mark --- */

/* The gray stack holds objects still to visit, unchecked: an object is
 * tested and marked when it is visited, after a prefetch (see drain), so
 * pushing never touches it.  false: the stack could not grow. */
static VM_COLD bool gray_grow(fsrs_vm *vm)
{
    size_t cap = vm->capgray ? vm->capgray * 2 : 256;
    Obj **g = mem_realloc(&vm->mem, vm->gray, vm->capgray * sizeof(Obj *), cap * sizeof(Obj *));
    if (!g)
        return false;
    vm->gray = g;
    vm->capgray = cap;
    return true;
}

static inline bool mark_obj(fsrs_vm *vm, Obj *o)
{
    if (vm->ngray == vm->capgray && !gray_grow(vm))
        return false; /* handled by gc_collect: it then frees nothing */
    vm->gray[vm->ngray++] = o;
    return true;
}

static bool mark_chunk(fsrs_vm *vm, const fsrs_chunk *c);

/* A constant of a chunk (a string literal, a union case without fields)
 * may outlive the program that made it: keep a replaced chunk while such a
 * value lives. */
static VM_COLD bool mark_static(fsrs_vm *vm, const Obj *o)
{
    if (o->type == O_DATA)
        return mark_chunk(vm, ((const ObjData *)o)->shape->chunk);
    return mark_chunk(vm, o->owner);
}

static inline bool mark_value(fsrs_vm *vm, Value v)
{
    if (IS_OBJ(v))
        return mark_obj(vm, AS_OBJ(v));
    return true;
}

/* A closure or native of a replaced program is alive: so are the program's
 * chunk and globals. */
static bool mark_chunk(fsrs_vm *vm, const fsrs_chunk *c)
{
    bool ok = true;
    if (c == vm->chunk || !c)
        return ok;
    for (uint32_t i = 0; i < vm->nold; i++) {
        OldProgram *o = &vm->old[i];
        if (o->chunk != c || o->marked)
            continue;
        o->marked = true;
        for (uint32_t g = 0; g < o->nglobals; g++)
            ok &= mark_value(vm, o->globals[g]);
    }
    return ok;
}

static bool blacken(fsrs_vm *vm, Obj *o)
{
    bool ok = true;
    switch (o->type) {
    case O_STRING:
        break;
    case O_NATIVE:
        if (vm->nold)
            ok &= mark_chunk(vm, ((ObjNative *)o)->owner);
        break;
    case O_TUPLE: {
        ObjTuple *t = (ObjTuple *)o;
        for (uint32_t i = 0; i < t->n; i++)
            ok &= mark_value(vm, t->items[i]);
        break;
    }
    case O_ARRAY: {
        ObjArray *a = (ObjArray *)o;
        for (uint32_t i = 0; i < a->n; i++)
            ok &= mark_value(vm, a->items[i]);
        break;
    }
    case O_CONS: {
        ObjCons *c = (ObjCons *)o;
        ok &= mark_value(vm, c->head);
        ok &= mark_value(vm, c->tail);
        break;
    }
    case O_CLOSURE: {
        ObjClosure *c = (ObjClosure *)o;
        if (vm->nold)
            ok &= mark_chunk(vm, c->proto->chunk);
        for (uint32_t i = 0; i < c->ncaps; i++)
            ok &= mark_value(vm, c->caps[i]);
        break;
    }
    case O_PARTIAL: {
        ObjPartial *p = (ObjPartial *)o;
        ok &= mark_value(vm, p->fn);
        for (uint32_t i = 0; i < p->nargs; i++)
            ok &= mark_value(vm, p->args[i]);
        break;
    }
    case O_DATA: {
        ObjData *d = (ObjData *)o;
        if (vm->nold)
            ok &= mark_chunk(vm, d->shape->chunk);
        for (uint32_t i = 0; i < d->n; i++)
            ok &= mark_value(vm, d->items[i]);
        break;
    }
    case O_MAP:
    case O_SET: {
        ObjTree *t = (ObjTree *)o;
        if (t->root)
            ok &= mark_obj(vm, &t->root->obj);
        break;
    }
    case O_TREENODE: {
        TreeNode *n = (TreeNode *)o;
        ok &= mark_value(vm, n->key);
        ok &= mark_value(vm, n->val);
        if (n->left)
            ok &= mark_obj(vm, &n->left->obj);
        if (n->right)
            ok &= mark_obj(vm, &n->right->obj);
        break;
    }
    }
    return ok;
}

static inline bool visit(fsrs_vm *vm, Obj *o)
{
    if (o->is_static)
        return vm->nold ? mark_static(vm, o) : true;
    if (o->marked)
        return true;
    o->marked = 1;
    return blacken(vm, o);
}

/* Visit everything reachable from the gray stack.  Marking a large live
 * structure (a big Map's tree, a long list) is one cache miss per object,
 * so each popped object is prefetched and visited MARK_AHEAD pops later,
 * which keeps that many misses in flight. */
#define MARK_AHEAD 8

static bool drain(fsrs_vm *vm)
{
    bool ok = true;
    Obj *ring[MARK_AHEAD];
    unsigned head = 0, n = 0;
    for (;;) {
        Obj *o;
        if (vm->ngray > 0) {
            Obj *p = vm->gray[--vm->ngray];
#if defined(__GNUC__)
            __builtin_prefetch(p, 1);
#endif
            if (n < MARK_AHEAD) {
                ring[(head + n++) % MARK_AHEAD] = p;
                continue;
            }
            o = ring[head];
            ring[head] = p;
            head = (head + 1) % MARK_AHEAD;
        } else if (n > 0) {
            o = ring[head];
            head = (head + 1) % MARK_AHEAD;
            n--;
        } else {
            return ok;
        }
        ok &= visit(vm, o);
    }
}

static void free_obj(fsrs_vm *vm, Obj *o)
{
    vm->bytes -= o->size;
    mem_free(&vm->mem, o, o->size);
}

void gc_collect(fsrs_vm *vm)
{
    bool ok = true;
    for (Value *v = vm->stack; v < vm->sp; v++)
        ok &= mark_value(vm, *v);
    for (uint32_t i = 0; i < vm->nglobals; i++)
        ok &= mark_value(vm, vm->globals[i]);
    if (vm->chunk)
        for (uint32_t i = 0; i < vm->chunk->nhosts; i++)
            ok &= mark_value(vm, vm->imports[i]);
    for (size_t i = 0; i < vm->nhandles; i++)
        ok &= mark_value(vm, vm->handles[i]);
    /* the exception in flight and the one a handler took */
    ok &= mark_value(vm, vm->exn);
    ok &= mark_value(vm, vm->caught);
    ok &= drain(vm);
    if (!ok) {
        for (uint32_t i = 0; i < vm->nold; i++)
            vm->old[i].marked = false;
        /* The gray stack could not grow: some reachable objects may be
         * unmarked.  Freeing nothing is the only safe outcome. */
        for (Obj *o = vm->objects; o; o = o->next)
            o->marked = 0;
        slabs_unmark(vm);
        vm->ngray = 0;
        return;
    }
    /* a replaced chunk no live closure refers to can go */
    for (uint32_t i = 0; i < vm->nold;) {
        OldProgram *o = &vm->old[i];
        if (!o->marked) {
            fsrs_chunk_free(o->chunk);
            mem_free(&vm->mem, o->globals, (o->nglobals + 1) * sizeof(Value));
            *o = vm->old[--vm->nold];
        } else {
            o->marked = false;
            i++;
        }
    }
    Obj **link = &vm->objects;
    while (*link) {
        Obj *o = *link;
        if (o->marked) {
            o->marked = 0;
            link = &o->next;
        } else {
            *link = o->next;
            free_obj(vm, o);
        }
    }
    sweep_slabs(vm);
    vm->next_gc = vm->bytes * 2 > GC_MIN_THRESHOLD ? vm->bytes * 2 : GC_MIN_THRESHOLD;
}

void gc_free_all(fsrs_vm *vm)
{
    Obj *o = vm->objects;
    while (o) {
        Obj *next = o->next;
        free_obj(vm, o);
        o = next;
    }
    vm->objects = NULL;
    slabs_free_all(vm);
    for (uint32_t i = 0; i < vm->nold; i++) {
        fsrs_chunk_free(vm->old[i].chunk);
        mem_free(&vm->mem, vm->old[i].globals, (vm->old[i].nglobals + 1) * sizeof(Value));
    }
    mem_free(&vm->mem, vm->old, vm->capold * sizeof(OldProgram));
    vm->old = NULL;
    vm->nold = vm->capold = 0;
    mem_free(&vm->mem, vm->gray, vm->capgray * sizeof(Obj *));
    vm->gray = NULL;
    vm->ngray = vm->capgray = 0;
}

/* ------------------------------------------------------------ allocate --- */

/* 0 ok, FSRS_ELIMIT over the memory limit, FSRS_ENOMEM allocator failed */
static int alloc_raw(fsrs_vm *vm, size_t size, int type, void **out)
{
    unsigned k = 0;
    if (size <= GC_SLAB_MAX) {
        k = (unsigned)(size - 1) / GC_SLAB_GRAIN;
        size = (size_t)(k + 1) * GC_SLAB_GRAIN; /* the slot is what it costs */
    }
    if (vm->bytes + size > vm->next_gc)
        gc_collect(vm);
    if (vm->cfg.memory_limit && vm->bytes + size > vm->cfg.memory_limit) {
        gc_collect(vm);
        if (vm->bytes + size > vm->cfg.memory_limit)
            return FSRS_ELIMIT;
    }
    Obj *o;
    if (size <= GC_SLAB_MAX) {
        if (!vm->free_slots[k] && !slab_grow(vm, k)) {
            gc_collect(vm);
            if (!vm->free_slots[k] && !slab_grow(vm, k))
                return FSRS_ENOMEM;
        }
        o = vm->free_slots[k];
        vm->free_slots[k] = o->next;
        o->next = NULL;
        SLOT_UNPOISON(o, size);
    } else {
        o = mem_alloc(&vm->mem, size);
        if (!o) {
            gc_collect(vm);
            o = mem_alloc(&vm->mem, size);
            if (!o)
                return FSRS_ENOMEM;
        }
        o->next = vm->objects;
        vm->objects = o;
    }
    o->type = (uint8_t)type;
    o->marked = 0;
    o->is_static = 0;
    o->aux = 0;
    o->size = (uint32_t)size;
    vm->bytes += size;
    *out = o;
    return 0;
}

void *gc_alloc(fsrs_vm *vm, size_t size, int type)
{
    void *o = NULL;
    if (size > UINT32_MAX)
        return NULL;
    return alloc_raw(vm, size, type, &o) ? NULL : o;
}

void *gc_alloc_x(fsrs_vm *vm, size_t size, int type)
{
    void *o = NULL;
    if (size > UINT32_MAX)
        vm_throw(vm, FSRS_ELIMIT, "object too large (%zu bytes)", size);
    int rc = alloc_raw(vm, size, type, &o);
    if (rc == FSRS_ELIMIT)
        vm_throw(vm, FSRS_ELIMIT, "memory limit exceeded (%zu bytes)", vm->cfg.memory_limit);
    if (rc)
        vm_throw(vm, FSRS_ENOMEM, "out of memory");
    return o;
}

static void str_fill(ObjString *s, const char *src, size_t n)
{
    s->len = (uint32_t)n;
    s->hash = string_hash(src, n);
    memcpy(s->chars, src, n);
    s->chars[n] = '\0';
}

ObjString *str_new_x(fsrs_vm *vm, const char *s, size_t n)
{
    if (n >= UINT32_MAX - sizeof(ObjString) - 1)
        vm_throw(vm, FSRS_ELIMIT, "string too long");
    ObjString *str = gc_alloc_x(vm, sizeof(ObjString) + n + 1, O_STRING);
    str_fill(str, s, n);
    return str;
}

ObjString *str_new(fsrs_vm *vm, const char *s, size_t n)
{
    if (n >= UINT32_MAX - sizeof(ObjString) - 1)
        return NULL;
    ObjString *str = gc_alloc(vm, sizeof(ObjString) + n + 1, O_STRING);
    if (str)
        str_fill(str, s, n);
    return str;
}

/* head and tail must be reachable by the caller (on the stack) if they are
 * heap objects: allocation may collect. */
Value cons_x(fsrs_vm *vm, Value head, Value tail)
{
    ObjCons *c = gc_alloc_x(vm, sizeof(ObjCons), O_CONS);
    c->head = head;
    c->tail = tail;
    return mk_obj(c);
}

bool gc_retire_reserve(fsrs_vm *vm)
{
    if (vm->nold < vm->capold)
        return true;
    uint32_t cap = vm->capold ? vm->capold * 2 : 4;
    OldProgram *o = mem_realloc(&vm->mem, vm->old, vm->capold * sizeof(OldProgram),
                                cap * sizeof(OldProgram));
    if (!o)
        return false;
    vm->old = o;
    vm->capold = cap;
    return true;
}

void gc_retire_chunk(fsrs_vm *vm, fsrs_chunk *chunk, Value *globals, uint32_t nglobals)
{
    /* gc_retire_reserve made room */
    OldProgram *o = &vm->old[vm->nold++];
    o->chunk = chunk;
    o->globals = globals;
    o->nglobals = nglobals;
    o->marked = false;
}

bool handle_push(fsrs_vm *vm, Value v)
{
    if (vm->nhandles == vm->caphandles) {
        size_t cap = vm->caphandles ? vm->caphandles * 2 : 64;
        Value *h = mem_realloc(&vm->mem, vm->handles, vm->caphandles * sizeof(Value),
                               cap * sizeof(Value));
        if (!h)
            return false;
        vm->handles = h;
        vm->caphandles = cap;
    }
    vm->handles[vm->nhandles++] = v;
    return true;
}
