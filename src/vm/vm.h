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

typedef struct ErrorJmp {
    jmp_buf buf;
    struct ErrorJmp *prev;
} ErrorJmp;

struct fsrs_vm {
    fsrs_config cfg;
    Mem mem;

    /* value stack and frames */
    Value *stack, *stack_end, *sp;
    Frame *frames;
    uint32_t nframes, frames_cap;

    /* heap */
    Obj *objects;
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
void vm_output(fsrs_vm *vm, bool err, const char *s, size_t n);
/* Apply stack[pos] to the argc values above it and run to completion. */
int vm_run_call(fsrs_vm *vm, size_t pos, int argc, Value *out);

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

/* builtins.c */
const Obj *builtin_get(int index);
int builtin_count(void);

/* A library of builtins in a file of its own (lib_*.c): static natives
 * found by their names ("String.length") and a few other static values
 * ("Map.empty").  builtins.c lists the libraries the compiler searches. */
typedef struct LibValue {
    const char *name;
    const Obj *obj;
} LibValue;

typedef struct Lib {
    const ObjNative *fns;
    int nfns;
    const LibValue *values;
    int nvalues;
} Lib;

#define LIB_NATIVE(fname, ar, cname)                                                         \
    {                                                                                        \
        .obj = {.next = NULL, .type = O_NATIVE, .marked = 0, .is_static = 1, .size = 0},    \
        .fn = cname, .arity = ar, .aux = 0, .name = fname, .userdata = NULL, .data = NULL,   \
        .owner = NULL                                                                        \
    }
#define LIB_COUNT(array) ((int)(sizeof(array) / sizeof((array)[0])))

extern const Lib lib_string; /* lib_string.c */
extern const Lib lib_map;    /* lib_map.c: Map and Set */

/* format.c */
struct Buf;
void fmt_apply(fsrs_vm *vm, struct Buf *out, const ObjString *fmt, const Value *args, int nargs);
void fmt_show(struct Buf *out, Value v);      /* %A */
void fmt_tostring(struct Buf *out, Value v);  /* string v */
Value fmt_native_new(fsrs_vm *vm, int kind, const ObjString *fmt, int nargs);
/* perform a format of the given kind; returns the result value */
Value fmt_run(fsrs_vm *vm, int kind, const ObjString *fmt, const Value *args, int nargs);

#endif
