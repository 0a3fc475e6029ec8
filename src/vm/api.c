/*
 * vm/api.c - the public VM API (fsrs/vm.h, the allocating part of
 * fsrs/value.h): creating and freeing VMs, host functions, loading chunks
 * and calling into scripts.
 *
 * Every function here runs on the VM's owner thread, except
 * fsrs_vm_interrupt (any thread).  Errors become return codes and the
 * thread's fsrs_error_last(); nothing here longjmps out to the host.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lang/chunk.h"
#include "util/error.h"
#include "vm/vm.h"

#define INITIAL_STACK 1024
#define INITIAL_FRAMES 64

void fsrs_config_init(fsrs_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->max_call_depth = 200000;
}

int fsrs_vm_new(const fsrs_config *cfg, fsrs_vm **out)
{
    fsrs_config defaults;
    if (!out)
        return fsrs__error_set(FSRS_EINVAL, NULL, 0, 0, "fsrs_vm_new: NULL out");
    if (!cfg) {
        fsrs_config_init(&defaults);
        cfg = &defaults;
    }
    Mem mem;
    mem_init(&mem, cfg->alloc, cfg->alloc_userdata);
    fsrs_vm *vm = mem_alloc(&mem, sizeof *vm);
    if (!vm)
        return fsrs__error_set(FSRS_ENOMEM, NULL, 0, 0, "out of memory creating a VM");
    memset(vm, 0, sizeof *vm);
    vm->cfg = *cfg;
    if (!vm->cfg.max_call_depth)
        vm->cfg.max_call_depth = 200000;
    vm->mem = mem;
    /* the frame array never grows past max_call_depth (vm.c relies on it) */
    uint32_t nframes = INITIAL_FRAMES < vm->cfg.max_call_depth ? INITIAL_FRAMES
                                                                 : vm->cfg.max_call_depth;
    vm->stack = mem_alloc(&mem, INITIAL_STACK * sizeof(Value));
    vm->frames = mem_alloc(&mem, nframes * sizeof(Frame));
    if (!vm->stack || !vm->frames) {
        mem_free(&mem, vm->stack, INITIAL_STACK * sizeof(Value));
        mem_free(&mem, vm->frames, nframes * sizeof(Frame));
        mem_free(&mem, vm, sizeof *vm);
        return fsrs__error_set(FSRS_ENOMEM, NULL, 0, 0, "out of memory creating a VM");
    }
    vm->stack_end = vm->stack + INITIAL_STACK;
    vm->sp = vm->stack;
    vm->frames_cap = nframes;
    vm->next_gc = 1u << 20;
    atomic_init(&vm->interrupt, 0);
    *out = vm;
    return FSRS_OK;
}

/* Forget the loaded program.  retire: heap values may still use its
 * chunk, so hand it to the collector; otherwise free it now. */
static void drop_program(fsrs_vm *vm, bool retire)
{
    if (!vm->chunk)
        return;
    mem_free(&vm->mem, vm->imports, (vm->chunk->nhosts + 1) * sizeof(Value));
    /* closures made by the old code may still be reachable, and they read
     * the old globals: the collector frees both once none is */
    if (retire) {
        gc_retire_chunk(vm, vm->chunk, vm->globals, vm->nglobals);
    } else {
        mem_free(&vm->mem, vm->globals, (vm->nglobals + 1) * sizeof(Value));
        fsrs_chunk_free(vm->chunk);
    }
    vm->globals = NULL;
    vm->imports = NULL;
    vm->nglobals = 0;
    vm->chunk = NULL;
}

static void host_shapes_free(fsrs_vm *vm);

void fsrs_vm_free(fsrs_vm *vm)
{
    if (!vm)
        return;
    Mem mem = vm->mem;
    gc_free_all(vm);
    drop_program(vm, false);
    for (uint32_t i = 0; i < vm->nhostfns; i++) {
        mem_free(&mem, vm->hostfns[i].name, strlen(vm->hostfns[i].name) + 1);
        mem_free(&mem, vm->hostfns[i].native, sizeof(ObjNative));
    }
    mem_free(&mem, vm->hostfns, vm->nhostfns * sizeof(HostFn));
    host_shapes_free(vm);
    mem_free(&mem, vm->handles, vm->caphandles * sizeof(Value));
    mem_free(&mem, vm->handlers, vm->caphandlers * sizeof(Handler));
    mem_free(&mem, vm->caught_err, sizeof(SavedError));
    mem_free(&mem, vm->stack, (size_t)(vm->stack_end - vm->stack) * sizeof(Value));
    mem_free(&mem, vm->frames, vm->frames_cap * sizeof(Frame));
    mem_free(&mem, vm, sizeof *vm);
}

static bool valid_name(const char *s)
{
    if (!s || !*s)
        return false;
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
        return false;
    for (const char *p = s + 1; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '\'' || *p == '.'))
            return false;
    return true;
}

int fsrs_vm_register(fsrs_vm *vm, const char *name, int arity, fsrs_host_fn fn, void *userdata)
{
    if (!vm || !fn || !valid_name(name))
        return fsrs__error_set(FSRS_EINVAL, NULL, 0, 0, "fsrs_vm_register: invalid name '%s'",
                               name ? name : "(null)");
    if (arity < 1 || arity > 16)
        return fsrs__error_set(FSRS_EINVAL, NULL, 0, 0,
                               "fsrs_vm_register: arity of '%s' must be 1..16, not %d", name,
                               arity);
    for (uint32_t i = 0; i < vm->nhostfns; i++)
        if (strcmp(vm->hostfns[i].name, name) == 0) {
            vm->hostfns[i].native->fn = (NativeFn)fn;
            vm->hostfns[i].native->arity = arity;
            vm->hostfns[i].native->userdata = userdata;
            return FSRS_OK;
        }
    /* grow the table last: its size is implied by nhostfns */
    char *copy = mem_strdup(&vm->mem, name);
    ObjNative *n = mem_alloc(&vm->mem, sizeof(ObjNative));
    HostFn *h = copy && n ? mem_realloc(&vm->mem, vm->hostfns, vm->nhostfns * sizeof(HostFn),
                                        (vm->nhostfns + 1) * sizeof(HostFn))
                          : NULL;
    if (!h) {
        mem_free(&vm->mem, copy, strlen(name) + 1);
        mem_free(&vm->mem, n, sizeof(ObjNative));
        return fsrs__error_set(FSRS_ENOMEM, NULL, 0, 0, "out of memory");
    }
    vm->hostfns = h;
    memset(n, 0, sizeof *n);
    n->obj.type = O_NATIVE;
    n->obj.is_static = 1; /* owned by the VM's registry, not the heap */
    n->fn = (NativeFn)fn;
    n->arity = arity;
    n->name = copy;
    n->userdata = userdata;
    h[vm->nhostfns].name = copy;
    h[vm->nhostfns].native = n;
    vm->nhostfns++;
    return FSRS_OK;
}

int fsrs_vm_load(fsrs_vm *vm, fsrs_chunk *chunk)
{
    if (!vm || !chunk)
        return fsrs__error_set(FSRS_EINVAL, NULL, 0, 0, "fsrs_vm_load: NULL argument");
    if (vm->jmp)
        return fsrs__error_set(FSRS_EINVAL, NULL, 0, 0,
                               "fsrs_vm_load: cannot load while the VM is running");
    if (vm->chunk && !gc_retire_reserve(vm))
        return fsrs__error_set(FSRS_ENOMEM, chunk->name, 0, 0, "out of memory loading a chunk");
    Value *imports = mem_alloc(&vm->mem, (chunk->nhosts + 1) * sizeof(Value));
    Value *globals = mem_alloc(&vm->mem, (chunk->nglobals + 1) * sizeof(Value));
    if (!imports || !globals) {
        mem_free(&vm->mem, imports, (chunk->nhosts + 1) * sizeof(Value));
        mem_free(&vm->mem, globals, (chunk->nglobals + 1) * sizeof(Value));
        return fsrs__error_set(FSRS_ENOMEM, chunk->name, 0, 0, "out of memory loading a chunk");
    }
    for (uint32_t i = 0; i < chunk->nhosts; i++) {
        uint32_t j = 0;
        while (j < vm->nhostfns && strcmp(vm->hostfns[j].name, chunk->hosts[i]) != 0)
            j++;
        if (j == vm->nhostfns) {
            mem_free(&vm->mem, imports, (chunk->nhosts + 1) * sizeof(Value));
            mem_free(&vm->mem, globals, (chunk->nglobals + 1) * sizeof(Value));
            return fsrs__error_set(FSRS_ENOTFOUND, chunk->name, 0, 0,
                                   "host function '%s' is not registered on this VM",
                                   chunk->hosts[i]);
        }
        imports[i] = mk_obj(vm->hostfns[j].native);
    }
    for (uint32_t i = 0; i < chunk->nglobals; i++)
        globals[i] = mk_unit();
    fsrs_chunk_retain(chunk);
    drop_program(vm, true);
    vm->chunk = chunk;
    vm->globals = globals;
    vm->nglobals = chunk->nglobals;
    vm->imports = imports;
    /* run the top-level code: a closure of the main function, no args */
    ObjClosure *c = gc_alloc(vm, sizeof(ObjClosure), O_CLOSURE);
    if (!c)
        return fsrs__error_set(FSRS_ENOMEM, chunk->name, 0, 0, "out of memory");
    c->proto = chunk->main;
    c->globals = vm->globals;
    c->ncaps = 0;
    size_t pos = (size_t)(vm->sp - vm->stack);
    if (vm->sp >= vm->stack_end)
        return fsrs__error_set(FSRS_ELIMIT, chunk->name, 0, 0, "stack full");
    *vm->sp++ = mk_obj(c);
    Value result;
    return vm_run_call(vm, pos, 0, &result);
}

fsrs_chunk *fsrs_vm_chunk(const fsrs_vm *vm) { return vm ? vm->chunk : NULL; }

static int find_global(fsrs_vm *vm, const char *name, Value *out)
{
    if (!vm->chunk)
        return fsrs__error_set(FSRS_ENOTFOUND, NULL, 0, 0, "no chunk is loaded");
    for (uint32_t i = vm->chunk->nglobals; i-- > 0;)
        if (strcmp(vm->chunk->globals[i], name) == 0) {
            *out = vm->globals[i];
            return FSRS_OK;
        }
    return fsrs__error_set(FSRS_ENOTFOUND, vm->chunk->name, 0, 0,
                           "'%s' is not defined at the top level of '%s'", name, vm->chunk->name);
}

int fsrs_vm_global(fsrs_vm *vm, const char *name, fsrs_value *out)
{
    if (!vm || !name)
        return fsrs__error_set(FSRS_EINVAL, NULL, 0, 0, "fsrs_vm_global: NULL argument");
    Value v;
    int rc = find_global(vm, name, &v);
    if (rc)
        return rc;
    if (!handle_push(vm, v))
        return fsrs__error_set(FSRS_ENOMEM, NULL, 0, 0, "out of memory");
    if (out)
        *out = v;
    return FSRS_OK;
}

int fsrs_vm_apply(fsrs_vm *vm, fsrs_value fn, int argc, const fsrs_value *argv, fsrs_value *out)
{
    if (!vm || argc < 0 || (argc && !argv))
        return fsrs__error_set(FSRS_EINVAL, NULL, 0, 0, "fsrs_vm_apply: invalid argument");
    if (argc == 0 && !is_function(fn)) {
        if (out)
            *out = fn;
        return FSRS_OK;
    }
    if (vm->sp + argc + 16 > vm->stack_end) {
        size_t used = (size_t)(vm->sp - vm->stack), cap = (size_t)(vm->stack_end - vm->stack);
        size_t ncap = cap * 2 + (size_t)argc + 16;
        Value *ns = mem_realloc(&vm->mem, vm->stack, cap * sizeof(Value), ncap * sizeof(Value));
        if (!ns)
            return fsrs__error_set(FSRS_ENOMEM, NULL, 0, 0, "out of memory");
        ptrdiff_t delta = ns - vm->stack;
        for (uint32_t i = 0; i < vm->nframes; i++)
            vm->frames[i].base += delta;
        vm->stack = ns;
        vm->stack_end = ns + ncap;
        vm->sp = ns + used;
    }
    size_t pos = (size_t)(vm->sp - vm->stack);
    *vm->sp++ = fn;
    for (int i = 0; i < argc; i++)
        *vm->sp++ = argv[i];
    Value r;
    int rc = vm_run_call(vm, pos, argc, &r);
    if (rc)
        return rc;
    if (!handle_push(vm, r))
        return fsrs__error_set(FSRS_ENOMEM, NULL, 0, 0, "out of memory");
    if (out)
        *out = r;
    return FSRS_OK;
}

int fsrs_vm_call(fsrs_vm *vm, const char *name, int argc, const fsrs_value *argv, fsrs_value *out)
{
    if (!vm || !name)
        return fsrs__error_set(FSRS_EINVAL, NULL, 0, 0, "fsrs_vm_call: NULL argument");
    Value fn;
    int rc = find_global(vm, name, &fn);
    if (rc)
        return rc;
    return fsrs_vm_apply(vm, fn, argc, argv, out);
}

size_t fsrs_vm_mark(fsrs_vm *vm) { return vm ? vm->nhandles : 0; }

void fsrs_vm_release(fsrs_vm *vm, size_t mark)
{
    if (vm && mark <= vm->nhandles)
        vm->nhandles = mark;
}

void fsrs_vm_interrupt(fsrs_vm *vm)
{
    /* relaxed: a request polled by the owner (vm_check_limits); it carries
     * no data */
    if (vm)
        atomic_store_explicit(&vm->interrupt, 1, memory_order_relaxed);
}

int fsrs_vm_raise(fsrs_vm *vm, const char *fmt, ...)
{
    if (!vm)
        return FSRS_ERUNTIME;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(vm->raised, sizeof vm->raised, fmt, ap);
    va_end(ap);
    vm->has_raised = true;
    return FSRS_ERUNTIME;
}

size_t fsrs_vm_memory(const fsrs_vm *vm) { return vm ? vm->bytes : 0; }

void fsrs_vm_gc(fsrs_vm *vm)
{
    if (vm)
        gc_collect(vm);
}

/* ------------------------------------------------------ heap constructors --- */

static int keep_value(fsrs_vm *vm, Value v, fsrs_value *out)
{
    if (!handle_push(vm, v))
        return fsrs__error_set(FSRS_ENOMEM, NULL, 0, 0, "out of memory");
    *out = v;
    return FSRS_OK;
}

/* A heap allocation of `size` bytes failed: over the memory limit (the
 * heap after the collection gc_alloc ran has no room for it) or out of
 * memory (the allocator refused). */
static int alloc_failed(fsrs_vm *vm, size_t size)
{
    if (vm->cfg.memory_limit && (size > vm->cfg.memory_limit ||
                                 vm->bytes > vm->cfg.memory_limit - size))
        return fsrs__error_set(FSRS_ELIMIT, NULL, 0, 0, "memory limit exceeded");
    return fsrs__error_set(FSRS_ENOMEM, NULL, 0, 0, "out of memory");
}

int fsrs_string_new(fsrs_vm *vm, const char *bytes, size_t len, fsrs_value *out)
{
    if (!vm || !out || (!bytes && len))
        return fsrs__error_set(FSRS_EINVAL, NULL, 0, 0, "fsrs_string_new: invalid argument");
    ObjString *s = str_new(vm, bytes ? bytes : "", len);
    if (!s)
        return alloc_failed(vm, sizeof(ObjString) + len + 1);
    return keep_value(vm, mk_obj(s), out);
}

int fsrs_tuple_new(fsrs_vm *vm, size_t n, const fsrs_value *items, fsrs_value *out)
{
    if (!vm || !out || (n && !items) || n > 0xFFFFFF)
        return fsrs__error_set(FSRS_EINVAL, NULL, 0, 0, "fsrs_tuple_new: invalid argument");
    ObjTuple *t = gc_alloc(vm, sizeof(ObjTuple) + n * sizeof(Value), O_TUPLE);
    if (!t)
        return alloc_failed(vm, sizeof(ObjTuple) + n * sizeof(Value));
    t->n = (uint32_t)n;
    if (n)
        memcpy(t->items, items, n * sizeof(Value));
    return keep_value(vm, mk_obj(t), out);
}

int fsrs_array_new(fsrs_vm *vm, size_t n, const fsrs_value *items, fsrs_value *out)
{
    if (!vm || !out || (n && !items) || n > (UINT32_MAX - sizeof(ObjArray)) / sizeof(Value))
        return fsrs__error_set(FSRS_EINVAL, NULL, 0, 0, "fsrs_array_new: invalid argument");
    size_t size = sizeof(ObjArray) + n * sizeof(Value);
    ObjArray *a = gc_alloc(vm, size, O_ARRAY);
    if (!a)
        return alloc_failed(vm, size);
    a->n = (uint32_t)n;
    if (n)
        memcpy(a->items, items, n * sizeof(Value));
    return keep_value(vm, mk_obj(a), out);
}

int fsrs_list_new(fsrs_vm *vm, size_t n, const fsrs_value *items, fsrs_value *out)
{
    if (!vm || !out || (n && !items))
        return fsrs__error_set(FSRS_EINVAL, NULL, 0, 0, "fsrs_list_new: invalid argument");
    /* the list under construction is rooted as a handle */
    size_t mark = vm->nhandles;
    if (!handle_push(vm, mk_nil()))
        return fsrs__error_set(FSRS_ENOMEM, NULL, 0, 0, "out of memory");
    Value acc = mk_nil();
    for (size_t i = n; i-- > 0;) {
        if (IS_OBJ(acc))
            vm->handles[mark] = acc;
        ObjCons *c = gc_alloc(vm, sizeof(ObjCons), O_CONS);
        if (!c) {
            vm->nhandles = mark;
            return alloc_failed(vm, sizeof(ObjCons));
        }
        c->head = items[i];
        c->tail = acc;
        acc = mk_obj(c);
    }
    vm->nhandles = mark;
    return keep_value(vm, acc, out);
}

/* -------------------------------------------------------------- records --- */

/* A record shape for fsrs_record_new: the Shape, then its field-name
 * pointers, then the names' bytes, in one allocation of `size` bytes. */
typedef struct HostShape {
    Shape shape;
    size_t size;
    const char *names[];
} HostShape;

static void host_shapes_free(fsrs_vm *vm)
{
    for (uint32_t i = 0; i < vm->nhost_shapes; i++)
        mem_free(&vm->mem, vm->host_shapes[i], vm->host_shapes[i]->size);
    mem_free(&vm->mem, vm->host_shapes, vm->caphost_shapes * sizeof(HostShape *));
}

static bool same_names(const HostShape *h, size_t n, const char *const *names)
{
    if (h->shape.nfields != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (strcmp(h->names[i], names[i]) != 0)
            return false;
    return true;
}

/* The VM's shape for exactly these field names in this order, made on
 * first use; NULL when out of memory. */
static const Shape *host_shape(fsrs_vm *vm, size_t n, const char *const *names)
{
    for (uint32_t i = vm->nhost_shapes; i-- > 0;)
        if (same_names(vm->host_shapes[i], n, names))
            return &vm->host_shapes[i]->shape;
    if (vm->nhost_shapes == vm->caphost_shapes) {
        uint32_t cap = vm->caphost_shapes ? vm->caphost_shapes * 2 : 8;
        HostShape **a = mem_realloc(&vm->mem, vm->host_shapes,
                                    vm->caphost_shapes * sizeof(HostShape *),
                                    cap * sizeof(HostShape *));
        if (!a)
            return NULL;
        vm->host_shapes = a;
        vm->caphost_shapes = cap;
    }
    size_t size = sizeof(HostShape) + n * sizeof(char *);
    for (size_t i = 0; i < n; i++)
        size += strlen(names[i]) + 1;
    HostShape *h = mem_alloc(&vm->mem, size);
    if (!h)
        return NULL;
    memset(h, 0, sizeof *h);
    h->size = size;
    char *bytes = (char *)(h->names + n);
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(names[i]) + 1;
        memcpy(bytes, names[i], len);
        h->names[i] = bytes;
        bytes += len;
    }
    h->shape.obj.type = O_SHAPE;
    h->shape.obj.is_static = 1;
    h->shape.kind = SHAPE_RECORD;
    h->shape.flags = SHAPE_ANONYMOUS;
    h->shape.nfields = (uint32_t)n;
    h->shape.name = "";
    h->shape.type_name = "";
    h->shape.fields = h->names;
    vm->host_shapes[vm->nhost_shapes++] = h;
    return &h->shape;
}

static bool valid_fields(size_t n, const char *const *names)
{
    if (n == 0 || n > 0xFFFF || !names)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!valid_name(names[i]) || strchr(names[i], '.'))
            return false;
        for (size_t j = 0; j < i; j++)
            if (strcmp(names[i], names[j]) == 0)
                return false;
    }
    return true;
}

int fsrs_record_new(fsrs_vm *vm, size_t n, const char *const *names, const fsrs_value *values,
                    fsrs_value *out)
{
    if (!vm || !out || !values || !valid_fields(n, names))
        return fsrs__error_set(FSRS_EINVAL, NULL, 0, 0,
                               "fsrs_record_new: invalid argument (a record needs at least one "
                               "field, and distinct field names that are identifiers)");
    const Shape *shape = host_shape(vm, n, names);
    if (!shape)
        return fsrs__error_set(FSRS_ENOMEM, NULL, 0, 0, "out of memory");
    size_t size = sizeof(ObjData) + n * sizeof(Value);
    ObjData *d = gc_alloc(vm, size, O_DATA);
    if (!d)
        return alloc_failed(vm, size);
    d->shape = shape;
    d->tag = 0;
    d->n = (uint32_t)n;
    memcpy(d->items, values, n * sizeof(Value));
    return keep_value(vm, mk_obj(d), out);
}
