/*
 * vm/vm.h - the per-thread virtual machine state (private).
 *
 * Everything here belongs to the one thread that owns the VM, except
 * `interrupt`, which any thread may set (atomic, relaxed: it is a request,
 * polled at calls and back-edges, and carries no data).
 */
#ifndef FSRS_VM_VM_H
#define FSRS_VM_VM_H

#include <setjmp.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <fsrs/vm.h>

#include "lang/chunk.h"
#include "util/mem.h"
#include "vm/object.h"

typedef struct Frame {
    const Proto *proto;
    const uint32_t *ip;   /* saved when the frame is not the running one */
    Value *base;          /* base[-1] is the callee, base[0..] args/locals */
    uint32_t extra;       /* over-application: arguments waiting below */
    bool entry;           /* returning from it leaves the run loop */
} Frame;

/* A replaced chunk and its globals, kept while closures made by its code
 * are reachable (they read those globals). */
typedef struct OldProgram {
    fsrs_chunk *chunk;
    Value *globals;
    uint32_t nglobals;
    bool marked;
} OldProgram;

typedef struct HostFn {
    char *name;
    ObjNative *native;    /* owned by the VM, not on the GC heap */
} HostFn;

/* One level of running code: a public entry point (vm_run_call) or a
 * function called from a native (vm_apply_x).  Errors longjmp to the
 * innermost level; handlers at or above `nhandlers` belong to it. */
typedef struct ErrorJmp {
    jmp_buf buf;
    struct ErrorJmp *prev;
    uint32_t nhandlers;
} ErrorJmp;

/* A running `try` (OP_TRY): where to resume when an exception reaches it. */
typedef struct Handler {
    uint32_t nframes;      /* frames when the try began: its frame is the top */
    uint32_t native_depth; /* vm->native_depth then */
    size_t sp;             /* stack index the exception value is pushed at */
    size_t nhandles;       /* vm->nhandles then */
    const uint32_t *ip;    /* the handler's first instruction */
} Handler;

/* The built-in exceptions: F#'s Failure (System.Exception) and the .NET
 * exceptions the VM and the library raise.  builtin_exn_shape gives their
 * union cases (type exn). */
enum {
    EXN_FAILURE,
    EXN_ARGUMENT,
    EXN_DIVIDE_BY_ZERO,
    EXN_KEY_NOT_FOUND,
    EXN_INDEX_OUT_OF_RANGE,
    EXN_INVALID_OPERATION,
    EXN_MATCH_FAILURE,
    EXN__COUNT
};

/* A copy of the error an exception was raised with, so that rethrowing it
 * reports where it was first raised. */
typedef struct SavedError {
    int code, line;
    char file[256];
    char message[1024];
    char trace[4096];
} SavedError;

/* Natives that call functions (vm_apply_x) nest C frames; past this depth
 * the call fails with a stack overflow error instead of exhausting the C
 * stack. */
#define VM_MAX_NATIVE_DEPTH 200

/* Small heap objects are carved from slabs in size classes of
 * GC_SLAB_GRAIN bytes up to GC_SLAB_MAX (gc.c). */
#define GC_SLAB_GRAIN 16
#define GC_SLAB_CLASSES 8
#define GC_SLAB_MAX (GC_SLAB_GRAIN * GC_SLAB_CLASSES)

struct fsrs_vm {
    fsrs_config cfg;
    Mem mem;

    /* value stack and frames */
    Value *stack, *stack_end, *sp;
    Frame *frames;
    uint32_t nframes, frames_cap;

    /* heap (gc.c): objects of up to GC_SLAB_MAX bytes live in slabs, one
     * list of pages per size class with a free list of slots; larger ones
     * are on the `objects` list */
    Obj *objects;
    struct Slab *slabs[GC_SLAB_CLASSES];
    Obj *free_slots[GC_SLAB_CLASSES];
    size_t bytes, next_gc;
    Obj **gray;
    size_t ngray, capgray;

    /* the loaded program */
    fsrs_chunk *chunk;
    Value *globals;
    uint32_t nglobals;
    Value *imports;       /* one per chunk->hosts entry */
    OldProgram *old;      /* replaced programs that heap values may still use */
    uint32_t nold, capold;

    HostFn *hostfns;
    uint32_t nhostfns;

    /* record shapes made by fsrs_record_new, one per list of field names;
     * they live as long as the VM (its records never leave it) */
    struct HostShape **host_shapes;
    uint32_t nhost_shapes, caphost_shapes;

    /* values handed to the host (see value.h) */
    Value *handles;
    size_t nhandles, caphandles;

    /* errors and limits */
    ErrorJmp *jmp;
    int32_t ticks;        /* calls/back-edges until the next limit check */
    int32_t tick_chunk;   /* what ticks was last set to */
    uint64_t budget_left;
    atomic_int interrupt;
    char raised[512];     /* message from fsrs_vm_raise */
    bool has_raised;

    /* exceptions */
    Handler *handlers;    /* running `try`s, innermost last */
    uint32_t nhandlers, caphandlers;
    uint32_t native_depth; /* vm_apply_x calls running */
    Value exn;            /* the exception in flight; unit: made at the catch
                             from exn_kind and exn_msg */
    int exn_kind;         /* EXN_* */
    bool exn_catchable;   /* runtime errors are; limits, interrupts and out
                             of memory are not */
    char exn_msg[1024];   /* its Message */
    Value caught;         /* the exception the latest handler took (reraise) */
    SavedError *caught_err; /* and the error it was raised with (lazily made) */
    bool caught_err_ok;
};

/* Keeps rarely taken work out of the interpreter loop and the collector's
 * marking, so that their own code stays small and in registers. */
#if defined(__GNUC__)
#define VM_COLD __attribute__((noinline, cold))
#else
#define VM_COLD
#endif

/* vm.c */
_Noreturn void vm_throw(fsrs_vm *vm, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* As vm_throw, for an error that scripts see as the built-in exception
 * `kind` (EXN_*) with Message `message` (NULL: the formatted text). */
_Noreturn void vm_throw_exn(fsrs_vm *vm, int kind, const char *message, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
/* Raise the exception value exn (`raise`); reraise keeps the error and
 * trace exn was first raised with when it is the one a handler took. */
_Noreturn void vm_raise_value(fsrs_vm *vm, Value exn);
_Noreturn void vm_reraise(fsrs_vm *vm, Value exn);
/* The Message of an exception value, into out. */
struct Buf;
void vm_exn_message(struct Buf *out, Value exn);
void vm_output(fsrs_vm *vm, bool err, const char *s, size_t n);
/* Apply stack[pos] to the argc values above it and run to completion. */
int vm_run_call(fsrs_vm *vm, size_t pos, int argc, Value *out);

/*
 * Calling script functions from natives.
 *
 * vm_apply_x applies f (a closure, partial application or native) to the
 * argc (0..8) values at args and returns the result, running the called
 * code in a nested run of the interpreter.  Errors and exceptions are not
 * returned: they unwind to the nearest handler (a script `try` or the
 * public entry point), skipping the C frames of the native.  The
 * instruction budget, interrupts and max_call_depth apply as to any call;
 * natives calling functions may nest VM_MAX_NATIVE_DEPTH deep.
 *
 * Rules for a native that calls it:
 *  - the VM stack may move during the call: a pointer into it (the
 *    native's own `args`, anything from vm->stack) is stale afterwards.
 *    Keep indices (vm_native_base) and recompute pointers after each call.
 *  - the collector may run during the call: every heap value the native
 *    still needs (its arguments are safe in their slots) must be in a VM
 *    stack slot (vm_push_x), not only in a C local.  The result is
 *    returned unrooted: store it before the next call or allocation.
 *  - args may point into the VM stack: they are copied first.
 *  - never write `vm->stack[i] = vm_apply_x(...)`: C may compute the
 *    slot's address before the call; take the result in a local first.
 * Only inside the VM (a native, with an enclosing run level).
 */
Value vm_apply_x(fsrs_vm *vm, Value f, int argc, const Value *args);
static inline Value vm_apply1_x(fsrs_vm *vm, Value f, Value x)
{
    return vm_apply_x(vm, f, 1, &x);
}
static inline Value vm_apply2_x(fsrs_vm *vm, Value f, Value x, Value y)
{
    Value xy[2] = {x, y};
    return vm_apply_x(vm, f, 2, xy);
}
static inline Value vm_apply3_x(fsrs_vm *vm, Value f, Value x, Value y, Value z)
{
    Value xyz[3] = {x, y, z};
    return vm_apply_x(vm, f, 3, xyz);
}
/* Push v above the stack top (growing the stack: pointers into it go
 * stale) and return its index; values pushed by a native are dropped when
 * it returns. */
size_t vm_push_x(fsrs_vm *vm, Value v);
/* The stack index of a native's args pointer. */
static inline size_t vm_native_base(const fsrs_vm *vm, const Value *args)
{
    return (size_t)(args - vm->stack);
}

/* gc.c.  The *_x variants throw (inside the VM only); the others return
 * NULL on failure and never jump (host API paths). */
void *gc_alloc(fsrs_vm *vm, size_t size, int type);
void *gc_alloc_x(fsrs_vm *vm, size_t size, int type);
void gc_collect(fsrs_vm *vm);
void gc_free_all(fsrs_vm *vm);
ObjString *str_new_x(fsrs_vm *vm, const char *s, size_t n);
ObjString *str_new(fsrs_vm *vm, const char *s, size_t n);
Value cons_x(fsrs_vm *vm, Value head, Value tail);
bool handle_push(fsrs_vm *vm, Value v);
/* Keep a replaced chunk and its globals until no closure on the heap
 * refers to the chunk.  gc_retire_reserve makes room first (false: out of
 * memory); gc_retire_chunk then cannot fail and takes ownership. */
bool gc_retire_reserve(fsrs_vm *vm);
void gc_retire_chunk(fsrs_vm *vm, fsrs_chunk *chunk, Value *globals, uint32_t nglobals);

/* builtins.c.  A builtin's index is its table's position in the list of
 * tables (builtins.c) times BUILTIN_TABLE_SPAN plus its place in the
 * table, so OP_BUILTIN finds it without a search. */
#define BUILTIN_TABLE_SPAN 0x1000
const Obj *builtin_get(int index);
const Shape *builtin_exn_shape(int kind);
/* Options for the library: Some v (v is rooted while the case is made,
 * without touching the VM stack), None, and reading one: false for None,
 * true for Some with its value in *v; a value that is not an option
 * raises "'fn' expects <what>, not <type>". */
Value vm_some_x(fsrs_vm *vm, Value v);
Value vm_none(void);
bool vm_option_get(fsrs_vm *vm, Value o, Value *v, const char *fn, const char *what);
/* A pair of the values in VM stack slots x and y (slots keep them rooted
 * while the pair is allocated). */
Value vm_pair_x(fsrs_vm *vm, size_t x, size_t y);
/* value_compare for natives: values it cannot compare (functions) raise
 * its error. */
int vm_compare(fsrs_vm *vm, Value x, Value y);
/* x + y for the library's sums (ints wrap, floats add); anything else
 * raises "'fn' expects numbers, not <type> and <type>". */
Value vm_add_numbers(fsrs_vm *vm, Value x, Value y, const char *fn);
/* The bool a script function passed to `fn` returned; anything else
 * raises "'fn' expects a function returning bool, not <type>". */
bool vm_returns_bool(fsrs_vm *vm, Value v, const char *fn);
/* vm_option_get of what a script function passed to `fn` returned. */
static inline bool vm_returns_some(fsrs_vm *vm, Value o, Value *v, const char *fn)
{
    return vm_option_get(vm, o, v, fn, "a function returning an option");
}

/* A library file's natives (lib_*.c), names qualified ("List.map"), and a
 * few other static values ("Map.empty"), found by name the same way. */
typedef struct LibValue {
    const char *name;
    const Obj *obj;
} LibValue;

typedef struct NativeTable {
    const ObjNative *fns;
    int n;
    const LibValue *values;
    int nvalues;
} NativeTable;

#define VM_NATIVE(fname, ar, cname)                                                         \
    {                                                                                       \
        .obj = {.next = NULL, .type = O_NATIVE, .marked = 0, .is_static = 1, .size = 0},   \
        .fn = cname, .arity = ar, .aux = 0, .name = fname, .userdata = NULL, .data = NULL,  \
        .owner = NULL                                                                       \
    }
#define VM_COUNT(array) ((int)(sizeof(array) / sizeof((array)[0])))
#define VM_NATIVE_TABLE(fns) {fns, VM_COUNT(fns), NULL, 0}

extern const NativeTable lib_list_table;
extern const NativeTable lib_option_table;
extern const NativeTable lib_math_table;
extern const NativeTable lib_array_table;
extern const NativeTable lib_string_table;
extern const NativeTable lib_map_table;   /* Map and Set */


/* format.c */
struct Buf;
void fmt_apply(fsrs_vm *vm, struct Buf *out, const ObjString *fmt, const Value *args, int nargs);
void fmt_show(struct Buf *out, Value v);      /* %A */
void fmt_tostring(struct Buf *out, Value v);  /* string v */
Value fmt_native_new(fsrs_vm *vm, int kind, const ObjString *fmt, int nargs);
/* perform a format of the given kind; returns the result value */
Value fmt_run(fsrs_vm *vm, int kind, const ObjString *fmt, const Value *args, int nargs);

#endif
