/*
 * fsrs/vm.h - a virtual machine that runs compiled chunks.
 *
 * A VM is the per-thread execution state: value stack, call frames, heap and
 * garbage collector, the globals of the chunk it loaded and the host
 * functions registered on it.  A VM belongs to one thread at a time: every
 * function here except fsrs_vm_interrupt must be called by that thread, and
 * none of them takes a lock.  Many VMs on many threads may run the same
 * chunk at once, since chunks are immutable.
 */
#ifndef FSRS_VM_H
#define FSRS_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chunk.h"
#include "error.h"
#include "value.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Called with each script error (compile errors are not the VM's), on the
 * VM's thread, before the failing call returns.  err is valid during the
 * call only. */
typedef void (*fsrs_error_fn)(const fsrs_error *err, void *userdata);

/*
 * A host function.  args[0..argc) are the arguments (argc is the arity it
 * was registered with).  It writes its result to *out (left as unit if not
 * written) and returns FSRS_OK, or returns the result of fsrs_vm_raise() to
 * raise a script error.  It may call fsrs_*_new on vm; it must not call
 * fsrs_vm_call, fsrs_vm_load or fsrs_vm_free on vm.
 */
typedef int (*fsrs_host_fn)(fsrs_vm *vm, const fsrs_value *args, int argc, fsrs_value *out,
                            void *userdata);

typedef struct fsrs_config {
    fsrs_alloc_fn alloc;          /* default NULL: realloc/free */
    void *alloc_userdata;         /* default NULL */
    fsrs_output_fn output;        /* printf/printfn text; default NULL: discarded */
    fsrs_output_fn error_output;  /* eprintf/eprintfn text; default NULL: discarded */
    fsrs_error_fn error;          /* default NULL: no callback */
    void *userdata;               /* passed to output, error_output and error;
                                     default NULL */
    size_t memory_limit;          /* heap bytes; default 0: unlimited */
    uint64_t instruction_budget;  /* calls + back-edges per fsrs_vm_call;
                                     default 0: unlimited */
    uint32_t max_call_depth;      /* nested non-tail calls before "stack
                                     overflow"; default 200000 */
} fsrs_config;

void fsrs_config_init(fsrs_config *cfg);

/* Create a VM.  cfg NULL means defaults; it is copied.  FSRS_ENOMEM. */
int fsrs_vm_new(const fsrs_config *cfg, fsrs_vm **out);
/* Free the VM and everything on its heap; drops its chunk reference. NULL ok. */
void fsrs_vm_free(fsrs_vm *vm);

/*
 * Register a host function that scripts call as `name`, taking `arity`
 * curried arguments (1..16; a zero-argument function is called with unit:
 * register it with arity 1).  Must happen before fsrs_vm_load of a chunk
 * that uses it; registering a name again replaces it.
 * FSRS_EINVAL (bad name or arity), FSRS_ENOMEM.
 */
int fsrs_vm_register(fsrs_vm *vm, const char *name, int arity, fsrs_host_fn fn, void *userdata);

/*
 * Make `chunk` the VM's program and run its top-level code.  The VM takes a
 * reference to the chunk and drops the one to its previous chunk; globals of
 * the previous chunk are forgotten.  FSRS_ERUNTIME if the top-level code
 * fails (the chunk stays loaded, with the globals set so far), FSRS_ENOTFOUND
 * if a host function the chunk needs is not registered (nothing changes).
 */
int fsrs_vm_load(fsrs_vm *vm, fsrs_chunk *chunk);

/* The loaded chunk (borrowed), or NULL. */
fsrs_chunk *fsrs_vm_chunk(const fsrs_vm *vm);

/*
 * Call the top-level value `name` of the loaded chunk with argc arguments.
 * A value inside a module is named by its path: "M.f", "A.B.g".
 * A function value is applied (partial and over-application follow F#); a
 * non-function value with argc 0 is returned as is.  *out (may be NULL)
 * receives the result, kept alive as described in value.h.
 * FSRS_ENOTFOUND, FSRS_ERUNTIME, FSRS_ELIMIT, FSRS_EINTR, FSRS_ENOMEM.
 * After any error the VM stays usable.
 */
int fsrs_vm_call(fsrs_vm *vm, const char *name, int argc, const fsrs_value *argv,
                 fsrs_value *out);
/* Same with a function value instead of a name. */
int fsrs_vm_apply(fsrs_vm *vm, fsrs_value fn, int argc, const fsrs_value *argv, fsrs_value *out);

/* Look up a top-level value of the loaded chunk ("x", or "M.x" inside
 * module M).  FSRS_ENOTFOUND. */
int fsrs_vm_global(fsrs_vm *vm, const char *name, fsrs_value *out);

/* Handle scopes (see value.h). */
size_t fsrs_vm_mark(fsrs_vm *vm);
void fsrs_vm_release(fsrs_vm *vm, size_t mark);

/*
 * Ask the VM to stop the script it is running.  The VM looks for a request
 * once every 1024 calls and loop back-edges, so the running call ends with
 * FSRS_EINTR soon after; looking consumes the request.  A request made
 * while no call runs stops the next call that looks.  Any thread;
 * wait-free; async-signal-safe.
 */
void fsrs_vm_interrupt(fsrs_vm *vm);

/* For host functions: record a script error and return FSRS_ERUNTIME. */
int fsrs_vm_raise(fsrs_vm *vm, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Bytes currently allocated on the VM's heap. */
size_t fsrs_vm_memory(const fsrs_vm *vm);
/* Run a full garbage collection now. */
void fsrs_vm_gc(fsrs_vm *vm);

#ifdef __cplusplus
}
#endif
#endif
