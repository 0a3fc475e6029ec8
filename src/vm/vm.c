/*
 * vm/vm.c - the interpreter loop and the calling convention.
 *
 * A stack machine over 16-byte values with computed-goto dispatch under
 * GCC/Clang.  Calls of a closure with exactly its arity push a frame in
 * line; everything else (partial application, over-application, partials,
 * natives, host functions) goes through call_value, which follows F#'s
 * curried semantics.  Tail calls reuse the frame, so tail recursion runs in
 * constant stack.  Runtime errors longjmp to the innermost run level
 * (vm_throw): the public entry point that started the run, or a nested run
 * started by a native through vm_apply_x.  A level resumes the run loop in
 * a script handler (OP_TRY) of its own, or passes the error to the level
 * below, skipping the native's C frames; the public entry point turns it
 * into a status.  Nothing jumps across a host function: hosts return a
 * status and the VM raises after they return.
 *
 * Only the VM's owner thread runs this file; `interrupt` is the one field
 * other threads touch (vm_check_limits reads it).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lang/opcodes.h"
#include "lang/types.h"
#include "util/error.h"
#include "vm/member.h"
#include "vm/vm.h"

#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

#define TICK_INTERVAL 1024

/* ------------------------------------------------------------- errors --- */

static int frame_line(const Frame *f)
{
    const Proto *p = f->proto;
    if (!f->ip || f->ip <= p->code || f->ip > p->code + p->ncode)
        return p->ncode ? (int)p->lines[0] : p->line;
    return (int)p->lines[f->ip - p->code - 1];
}

/* Record the error (message, location, trace) and unwind to the innermost
 * run level, which hands the exception to a script handler or reports it. */
static _Noreturn void vm_vthrow(fsrs_vm *vm, int code, int kind, const char *message,
                                const char *fmt, va_list ap)
{
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    const char *file = vm->chunk ? vm->chunk->name : NULL;
    int line = 0;
    Buf trace;
    buf_init(&trace, &vm->mem);
    uint32_t shown = 0;
    for (uint32_t i = vm->nframes; i-- > 0;) {
        const Frame *f = &vm->frames[i];
        int l = frame_line(f);
        if (i == vm->nframes - 1) {
            line = l;
            file = f->proto->chunk->name;
        }
        if (shown < 20 || i < 3)
            buf_printf(&trace, "  at %s (%s:%d)\n", f->proto->name, f->proto->chunk->name, l);
        else if (shown == 20)
            buf_printf(&trace, "  ... %u more frames ...\n", i - 2);
        shown++;
    }
    fsrs__error_set(code, file, line, 0, "%s", msg);
    if (trace.data)
        fsrs__error_set_trace(trace.data);
    buf_free(&trace);
    vm->exn_kind = kind;
    vm->exn_catchable = code == FSRS_ERUNTIME;
    snprintf(vm->exn_msg, sizeof vm->exn_msg, "%s", message ? message : msg);
    longjmp(vm->jmp->buf, 1);
}

_Noreturn void vm_throw(fsrs_vm *vm, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vm->exn = mk_unit();
    vm_vthrow(vm, code, EXN_FAILURE, NULL, fmt, ap);
}

_Noreturn void vm_throw_exn(fsrs_vm *vm, int kind, const char *message, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vm->exn = mk_unit();
    vm_vthrow(vm, FSRS_ERUNTIME, kind, message, fmt, ap);
}

static _Noreturn void raise_with(fsrs_vm *vm, Value exn, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vm->exn = exn;
    vm_vthrow(vm, FSRS_ERUNTIME, EXN_FAILURE, NULL, fmt, ap);
}

void vm_exn_message(Buf *out, Value exn)
{
    if (IS_DATA(exn) && (AS_DATA(exn)->shape->flags & SHAPE_EXN) && !AS_DATA(exn)->shape->chunk &&
        AS_DATA(exn)->n == 1 && IS_STRING(AS_DATA(exn)->items[0])) {
        const ObjString *m = AS_STRING(AS_DATA(exn)->items[0]);
        buf_put(out, m->chars, m->len);
        return;
    }
    fmt_show(out, exn);
}

_Noreturn void vm_raise_value(fsrs_vm *vm, Value exn)
{
    if (!IS_DATA(exn) || !(AS_DATA(exn)->shape->flags & SHAPE_EXN))
        vm_throw(vm, FSRS_ERUNTIME, "'raise' expects an exception, not %s",
                 value_type_name(exn));
    Buf b;
    buf_init(&b, &vm->mem);
    vm_exn_message(&b, exn);
    char msg[512];
    snprintf(msg, sizeof msg, "%.*s", b.data ? (int)b.len : 0, b.data ? b.data : "");
    buf_free(&b);
    raise_with(vm, exn, "%s", msg);
}

_Noreturn void vm_reraise(fsrs_vm *vm, Value exn)
{
    if (!vm->caught_err_ok || !IS_OBJ(exn) || !IS_OBJ(vm->caught) ||
        AS_OBJ(exn) != AS_OBJ(vm->caught))
        vm_raise_value(vm, exn);
    const SavedError *e = vm->caught_err;
    fsrs__error_set(e->code, e->file[0] ? e->file : NULL, e->line, 0, "%s", e->message);
    if (e->trace[0])
        fsrs__error_set_trace(e->trace);
    vm->exn = exn;
    vm->exn_catchable = true;
    longjmp(vm->jmp->buf, 1);
}

/* An exception reached the run level `j`.  If a handler of this level
 * takes it, restore the VM to that handler's `try`, push the exception
 * value and return true: the caller resumes the run loop. */
static bool vm_catch(fsrs_vm *vm, const ErrorJmp *j)
{
    if (!vm->exn_catchable || vm->nhandlers <= j->nhandlers)
        return false;
    Handler h = vm->handlers[--vm->nhandlers];
    vm->nframes = h.nframes;
    vm->native_depth = h.native_depth;
    vm->nhandles = h.nhandles;
    vm->sp = vm->stack + h.sp;
    vm->frames[h.nframes - 1].ip = h.ip;
    Value e = vm->exn;
    if (!IS_OBJ(e)) {
        /* an error of the VM or a library function: make its exception
         * value now that the stack is consistent again */
        ObjString *m = str_new(vm, vm->exn_msg, strlen(vm->exn_msg));
        if (m) {
            *vm->sp++ = mk_obj(m); /* keep it while the exception is made */
            ObjData *d = gc_alloc(vm, sizeof(ObjData) + sizeof(Value), O_DATA);
            vm->sp--;
            if (d) {
                d->shape = builtin_exn_shape(vm->exn_kind);
                d->tag = d->shape->tag;
                d->n = 1;
                d->items[0] = mk_obj(m);
                e = mk_obj(d);
            }
        }
        if (!IS_OBJ(e)) {
            fsrs__error_set(FSRS_ENOMEM, NULL, 0, 0, "out of memory raising an exception");
            vm->exn_catchable = false;
            return false;
        }
    }
    vm->exn = mk_unit();
    *vm->sp++ = e;
    /* remember where it was raised, for a rethrow */
    vm->caught = e;
    vm->caught_err_ok = false;
    if (!vm->caught_err)
        vm->caught_err = mem_alloc(&vm->mem, sizeof(SavedError));
    const fsrs_error *err = fsrs_error_last();
    if (vm->caught_err && err) {
        SavedError *s = vm->caught_err;
        s->code = err->code;
        s->line = err->line;
        snprintf(s->file, sizeof s->file, "%s", err->file ? err->file : "");
        snprintf(s->message, sizeof s->message, "%s", err->message);
        snprintf(s->trace, sizeof s->trace, "%s", err->trace ? err->trace : "");
        vm->caught_err_ok = true;
    }
    return true;
}

void vm_output(fsrs_vm *vm, bool err, const char *s, size_t n)
{
    fsrs_output_fn out = err ? vm->cfg.error_output : vm->cfg.output;
    if (out && n)
        out(s, n, vm->cfg.userdata);
}

static void vm_check_limits(fsrs_vm *vm)
{
    if (atomic_exchange_explicit(&vm->interrupt, 0, memory_order_relaxed))
        vm_throw(vm, FSRS_EINTR, "interrupted by the host");
    int32_t chunk = TICK_INTERVAL;
    if (vm->cfg.instruction_budget) {
        /* invariant: budget_left >= tick_chunk */
        vm->budget_left -= (uint64_t)vm->tick_chunk;
        if (vm->budget_left == 0) {
            vm->ticks = vm->tick_chunk = 1;
            vm->budget_left = 1;
            vm_throw(vm, FSRS_ELIMIT, "instruction budget of %llu calls and loop iterations "
                                      "exhausted",
                     (unsigned long long)vm->cfg.instruction_budget);
        }
        if (vm->budget_left < (uint64_t)chunk)
            chunk = (int32_t)vm->budget_left;
    }
    vm->ticks = vm->tick_chunk = chunk;
}

static void limits_reset(fsrs_vm *vm)
{
    int32_t chunk = TICK_INTERVAL;
    /* a budget of N allows N ticks: the check fails on tick N + 1 */
    uint64_t budget = vm->cfg.instruction_budget;
    vm->budget_left = budget && budget < UINT64_MAX ? budget + 1 : budget;
    if (vm->budget_left && vm->budget_left < (uint64_t)chunk)
        chunk = (int32_t)vm->budget_left;
    vm->ticks = vm->tick_chunk = chunk;
}

/* -------------------------------------------------------------- stack --- */

/* Make room for `need` more slots above `top`; returns the (possibly
 * moved) top.  Frame bases are fixed up. */
static Value *stack_reserve(fsrs_vm *vm, Value *top, size_t need)
{
    if (LIKELY(top + need <= vm->stack_end))
        return top;
    size_t used = (size_t)(top - vm->stack);
    size_t cap = (size_t)(vm->stack_end - vm->stack);
    size_t ncap = cap * 2;
    while (ncap < used + need + 64)
        ncap *= 2;
    if (vm->cfg.memory_limit && ncap * sizeof(Value) > vm->cfg.memory_limit + cap * sizeof(Value))
        vm_throw(vm, FSRS_ELIMIT, "stack overflow (memory limit)");
    Value *ns = mem_realloc(&vm->mem, vm->stack, cap * sizeof(Value), ncap * sizeof(Value));
    if (!ns)
        vm_throw(vm, FSRS_ENOMEM, "stack overflow (out of memory)");
    ptrdiff_t delta = ns - vm->stack;
    for (uint32_t i = 0; i < vm->nframes; i++)
        vm->frames[i].base += delta;
    vm->sp += delta;
    vm->stack = ns;
    vm->stack_end = ns + ncap;
    return ns + used;
}

static Frame *push_frame(fsrs_vm *vm, Value *base, const Proto *p, uint32_t extra)
{
    if (UNLIKELY(vm->nframes >= vm->cfg.max_call_depth))
        vm_throw(vm, FSRS_ELIMIT, "stack overflow: more than %u nested calls",
                 vm->cfg.max_call_depth);
    if (UNLIKELY(vm->nframes == vm->frames_cap)) {
        uint32_t cap = vm->frames_cap * 2;
        if (cap > vm->cfg.max_call_depth)
            cap = vm->cfg.max_call_depth;
        Frame *nf = mem_realloc(&vm->mem, vm->frames, vm->frames_cap * sizeof(Frame),
                                cap * sizeof(Frame));
        if (!nf)
            vm_throw(vm, FSRS_ENOMEM, "stack overflow (out of memory)");
        vm->frames = nf;
        vm->frames_cap = cap;
    }
    size_t off = (size_t)(base - vm->stack);
    stack_reserve(vm, base, p->maxstack);
    Frame *f = &vm->frames[vm->nframes++];
    f->proto = p;
    f->ip = p->code;
    f->base = vm->stack + off;
    f->extra = extra;
    f->entry = false;
    return f;
}

/* ------------------------------------------------------------- calling --- */

static Value make_partial(fsrs_vm *vm, Value *callee, int argc, int arity)
{
    ObjPartial *p = gc_alloc_x(vm, sizeof(ObjPartial) + (size_t)argc * sizeof(Value), O_PARTIAL);
    p->fn = *callee;
    p->nargs = (uint32_t)argc;
    p->arity_left = (uint32_t)(arity - argc);
    memcpy(p->args, callee + 1, (size_t)argc * sizeof(Value));
    return mk_obj(p);
}

/* The native may call functions (vm_apply_x), which can move the stack:
 * the callee is found again by its index afterwards. */
static void call_native(fsrs_vm *vm, Value *callee, int n)
{
    ObjNative *nat = AS_NATIVE(*callee);
    size_t pos = (size_t)(callee - vm->stack);
    Value out = mk_unit();
    size_t mark = vm->nhandles;
    vm->has_raised = false;
    int rc = nat->fn(vm, callee + 1, n, &out, nat->userdata);
    vm->nhandles = mark;
    if (rc != FSRS_OK) {
        if (vm->has_raised)
            vm_throw(vm, FSRS_ERUNTIME, "%s", vm->raised);
        vm_throw(vm, rc, "host function '%s' failed: %s", nat->name, fsrs_strerror(rc));
    }
    vm->stack[pos] = out;
}

/*
 * Apply stack[pos] to the argc values above it.  Either pushes a frame
 * (the run loop continues in it) or leaves the result at stack[pos] with
 * sp = pos + 1.  vm->sp must be the top of the arguments.
 */
static void call_value(fsrs_vm *vm, size_t pos, int argc)
{
    for (;;) {
        Value *callee = vm->stack + pos;
        Value f = *callee;
        if (!IS_OBJ(f))
            vm_throw(vm, FSRS_ERUNTIME, "this value is not a function (it is a %s) and cannot be "
                                        "applied", value_type_name(f));
        switch (OBJ_TYPE(f)) {
        case O_CLOSURE: {
            ObjClosure *c = AS_CLOSURE(f);
            int arity = (int)c->proto->arity;
            if (argc == arity) {
                vm->sp = callee + 1 + argc;
                push_frame(vm, callee + 1, c->proto, 0);
                return;
            }
            if (argc < arity) {
                Value p = make_partial(vm, callee, argc, arity);
                callee = vm->stack + pos;
                *callee = p;
                vm->sp = callee + 1;
                return;
            }
            /* over-application: [f a1..an x1..xk] -> [f x1..xk f a1..an];
             * the frame returns into the first slot and the result is
             * applied to x1..xk (see OP_RETURN). */
            int k = argc - arity;
            callee = stack_reserve(vm, callee + 1 + argc, 1) - 1 - argc;
            Value tmp[256];
            memcpy(tmp, callee + 1, (size_t)arity * sizeof(Value));
            memmove(callee + 1, callee + 1 + arity, (size_t)k * sizeof(Value));
            callee[1 + k] = f;
            memcpy(callee + 2 + k, tmp, (size_t)arity * sizeof(Value));
            vm->sp = callee + 2 + k + arity;
            push_frame(vm, callee + 2 + k, c->proto, (uint32_t)k);
            return;
        }
        case O_PARTIAL: {
            ObjPartial *p = AS_PARTIAL(f);
            int n = (int)p->nargs;
            callee = stack_reserve(vm, callee + 1 + argc, (size_t)n) - 1 - argc;
            memmove(callee + 1 + n, callee + 1, (size_t)argc * sizeof(Value));
            memcpy(callee + 1, p->args, (size_t)n * sizeof(Value));
            *callee = p->fn;
            argc += n;
            vm->sp = callee + 1 + argc;
            continue;
        }
        case O_NATIVE: {
            ObjNative *nat = AS_NATIVE(f);
            if (argc < nat->arity) {
                Value p = make_partial(vm, callee, argc, nat->arity);
                callee = vm->stack + pos;
                *callee = p;
                vm->sp = callee + 1;
                return;
            }
            vm->sp = callee + 1 + argc;
            call_native(vm, callee, nat->arity);
            callee = vm->stack + pos;
            int rest = argc - nat->arity;
            if (rest == 0) {
                vm->sp = callee + 1;
                return;
            }
            memmove(callee + 1, callee + 1 + nat->arity, (size_t)rest * sizeof(Value));
            argc = rest;
            vm->sp = callee + 1 + argc;
            continue;
        }
        default:
            vm_throw(vm, FSRS_ERUNTIME, "this value is not a function (it is a %s) and cannot be "
                                        "applied", value_type_name(f));
        }
    }
}

/* ---------------------------------------------------------- slow paths --- */

static _Noreturn void type_error(fsrs_vm *vm, const char *op, Value a, Value b)
{
    vm_throw(vm, FSRS_ERUNTIME, "type mismatch: '%s' cannot be applied to %s and %s", op,
             value_type_name(a), value_type_name(b));
}

static Value string_concat(fsrs_vm *vm, Value *ops)
{
    ObjString *a = AS_STRING(ops[0]), *b = AS_STRING(ops[1]);
    size_t n = (size_t)a->len + b->len;
    if (n >= UINT32_MAX - 64)
        vm_throw(vm, FSRS_ELIMIT, "string too long");
    ObjString *s = gc_alloc_x(vm, sizeof(ObjString) + n + 1, O_STRING);
    a = AS_STRING(ops[0]);
    b = AS_STRING(ops[1]);
    memcpy(s->chars, a->chars, a->len);
    memcpy(s->chars + a->len, b->chars, b->len);
    s->chars[n] = '\0';
    s->len = (uint32_t)n;
    s->hash = string_hash(s->chars, n);
    return mk_obj(s);
}

/* ops[0] op ops[1] for the cases the inline fast path did not take. */
static Value arith_slow(fsrs_vm *vm, int op, Value *ops)
{
    Value a = ops[0], b = ops[1];
    static const char *const names[] = {[OP_ADD] = "+", [OP_SUB] = "-", [OP_MUL] = "*",
                                        [OP_DIV] = "/", [OP_MOD] = "%", [OP_POW] = "**"};
    if (IS_INT(a) && IS_INT(b)) {
        int64_t x = AS_INT(a), y = AS_INT(b);
        switch (op) {
        case OP_DIV:
        case OP_MOD:
            if (y == 0)
                vm_throw_exn(vm, EXN_DIVIDE_BY_ZERO, "Attempted to divide by zero.",
                             "division by zero");
            if (y == -1)
                return mk_int(op == OP_DIV ? (int64_t)(0 - (uint64_t)x) : 0);
            return mk_int(op == OP_DIV ? x / y : x % y);
        case OP_ADD: return mk_int((int64_t)((uint64_t)x + (uint64_t)y));
        case OP_SUB: return mk_int((int64_t)((uint64_t)x - (uint64_t)y));
        case OP_MUL: return mk_int((int64_t)((uint64_t)x * (uint64_t)y));
        default: break;
        }
        type_error(vm, names[op], a, b);
    }
    if (IS_FLOAT(a) && IS_FLOAT(b)) {
        double x = AS_FLOAT(a), y = AS_FLOAT(b);
        switch (op) {
        case OP_ADD: return mk_float(x + y);
        case OP_SUB: return mk_float(x - y);
        case OP_MUL: return mk_float(x * y);
        case OP_DIV: return mk_float(x / y);
        case OP_MOD: return mk_float(fmod(x, y));
        case OP_POW: return mk_float(pow(x, y));
        default: break;
        }
    }
    if (op == OP_ADD && IS_STRING(a) && IS_STRING(b))
        return string_concat(vm, ops);
    if (op == OP_ADD && IS_CHAR(a) && IS_CHAR(b))
        return mk_char((uint32_t)(AS_INT(a) + AS_INT(b)));
    type_error(vm, names[op], a, b);
}

static int compare_or_throw(fsrs_vm *vm, Value a, Value b)
{
    const char *err = NULL;
    int c = value_compare(a, b, &err);
    if (err)
        vm_throw(vm, FSRS_ERUNTIME, "%s (%s and %s)", err, value_type_name(a), value_type_name(b));
    return c;
}

/* a @ b, with ops[0] = a, ops[1] = b on the stack; ops[2] is scratch. */
static Value list_append(fsrs_vm *vm, Value *ops)
{
    if (!(IS_NIL(ops[0]) || IS_CONS(ops[0])) || !(IS_NIL(ops[1]) || IS_CONS(ops[1])))
        type_error(vm, "@", ops[0], ops[1]);
    if (IS_NIL(ops[0]))
        return ops[1];
    if (IS_NIL(ops[1]))
        return ops[0];
    /* copy a's spine front to back; ops[2] roots the copy's first cell */
    ObjCons *first = AS_CONS(cons_x(vm, AS_CONS(ops[0])->head, ops[1]));
    ops[2] = mk_obj(first);
    vm->sp = ops + 3;
    ObjCons *last = first;
    for (Value v = AS_CONS(ops[0])->tail; IS_CONS(v); v = AS_CONS(v)->tail) {
        ObjCons *c = AS_CONS(cons_x(vm, AS_CONS(v)->head, ops[1]));
        last->tail = mk_obj(c);
        last = c;
    }
    return ops[2];
}

/* Build [lo .. step .. hi] into slot out (which must be rooted). */
static void build_range(fsrs_vm *vm, Value *slots, int has_step)
{
    Value lo = slots[0], step = has_step ? slots[1] : mk_int(1), hi = slots[has_step ? 2 : 1];
    if (IS_INT(lo) && IS_INT(step) && IS_INT(hi)) {
        int64_t a = AS_INT(lo), s = AS_INT(step), b = AS_INT(hi);
        if (s == 0)
            vm_throw(vm, FSRS_ERUNTIME, "the step of a range cannot be zero");
        slots[0] = mk_nil();
        if ((s > 0 && a > b) || (s < 0 && a < b))
            return;
        uint64_t span = s > 0 ? (uint64_t)b - (uint64_t)a : (uint64_t)a - (uint64_t)b;
        uint64_t as = s > 0 ? (uint64_t)s : 0 - (uint64_t)s;
        uint64_t count = span / as;
        int64_t last = (int64_t)((uint64_t)a + count * (uint64_t)s);
        vm->sp = slots + 1;
        for (uint64_t i = 0; i <= count; i++) {
            slots[0] = cons_x(vm, mk_int(last), slots[0]);
            last = (int64_t)((uint64_t)last - (uint64_t)s);
        }
        return;
    }
    if (IS_FLOAT(lo) && IS_FLOAT(step) && IS_FLOAT(hi)) {
        double a = AS_FLOAT(lo), s = AS_FLOAT(step), b = AS_FLOAT(hi);
        if (s == 0.0)
            vm_throw(vm, FSRS_ERUNTIME, "the step of a range cannot be zero");
        slots[0] = mk_nil();
        if ((s > 0 && a > b) || (s < 0 && a < b))
            return;
        double n = floor((b - a) / s + 1e-9);
        if (n > 1e9)
            vm_throw(vm, FSRS_ELIMIT, "range too large");
        vm->sp = slots + 1;
        for (int64_t i = (int64_t)n; i >= 0; i--)
            slots[0] = cons_x(vm, mk_float(a + (double)i * s), slots[0]);
        return;
    }
    if (IS_CHAR(lo) && IS_CHAR(hi) && !has_step) {
        int64_t a = AS_INT(lo), b = AS_INT(hi);
        slots[0] = mk_nil();
        vm->sp = slots + 1;
        for (int64_t c = b; c >= a; c--)
            slots[0] = cons_x(vm, mk_char((uint32_t)c), slots[0]);
        return;
    }
    vm_throw(vm, FSRS_ERUNTIME, "a range needs ints, floats or chars, not %s",
             value_type_name(IS_INT(lo) ? hi : lo));
}

/* ------------------------------------------------------------ records --- */

/* The instructions on records and unions keep their work here, out of
 * line, so that the loop's common instructions keep their registers. */

/* A new record or case value of `shape` from the n values at sp - n. */
static VM_COLD Value data_new(fsrs_vm *vm, const Value *fields, uint32_t n, const Shape *shape)
{
    ObjData *d = gc_alloc_x(vm, sizeof(ObjData) + n * sizeof(Value), O_DATA);
    d->shape = shape;
    d->tag = shape->tag;
    d->n = n;
    memcpy(d->items, fields, n * sizeof(Value));
    return mk_obj(d);
}


/* Where field `index` of shape `want` is in r, when r has another shape
 * (another record type with the same field, a value made before a reload).
 * Raises if r has no such field. */
static VM_COLD uint32_t field_slow(fsrs_vm *vm, Value r, const Shape *want, uint32_t index)
{
    const char *name = want->fields[index];
    int i = IS_DATA(r) ? types_field_index(AS_DATA(r)->shape, name) : -1;
    if (i < 0)
        vm_throw(vm, FSRS_ERUNTIME, "type mismatch: %s has no field '%s'", value_type_name(r),
                 name);
    return (uint32_t)i;
}

/* r.Message where r is no record: the Message of an exception (whose
 * type F# knows statically; the compiler reads it as a field of the
 * built-in record shape it gives `exn`). */
static VM_COLD Value field_or_message(fsrs_vm *vm, Value r, const Shape *want, uint32_t index)
{
    if (IS_DATA(r) && (AS_DATA(r)->shape->flags & SHAPE_EXN) &&
        strcmp(want->fields[index], "Message") == 0) {
        Buf b;
        buf_init(&b, &vm->mem);
        vm_exn_message(&b, r);
        ObjString *s = b.failed ? NULL : str_new(vm, b.data ? b.data : "", b.len);
        buf_free(&b);
        if (!s)
            vm_throw(vm, FSRS_ENOMEM, "out of memory");
        return mk_obj(s);
    }
    return AS_DATA(r)->items[field_slow(vm, r, want, index)];
}

/* A fresh copy of the record in *slot, which keeps it alive meanwhile. */
static VM_COLD Value record_copy(fsrs_vm *vm, Value *slot)
{
    Value r = *slot;
    if (!IS_DATA(r) || AS_DATA(r)->shape->kind != SHAPE_RECORD)
        vm_throw(vm, FSRS_ERUNTIME, "type mismatch: '{ ... with ... }' needs a record, not %s",
                 value_type_name(r));
    uint32_t n = AS_DATA(r)->n;
    ObjData *c = gc_alloc_x(vm, sizeof(ObjData) + n * sizeof(Value), O_DATA);
    const ObjData *d = AS_DATA(r);
    c->shape = d->shape;
    c->tag = d->tag;
    c->n = n;
    memcpy(c->items, d->items, n * sizeof(Value));
    return mk_obj(c);
}

static VM_COLD _Noreturn void case_field_error(fsrs_vm *vm, Value v, uint32_t index)
{
    vm_throw(vm, FSRS_ERUNTIME, "type mismatch: expected a union value with %u fields, got %s",
             index + 1, value_type_name(v));
}

static _Noreturn void not_a_cons(fsrs_vm *vm, Value v)
{
    vm_throw(vm, FSRS_ERUNTIME, "expected a non-empty list, got %s", value_type_name(v));
}

static _Noreturn void match_fail(fsrs_vm *vm)
{
    vm_throw_exn(vm, EXN_MATCH_FAILURE, "The match cases were incomplete",
                 "incomplete match: the match cases were incomplete");
}

/* --------------------------------------------------------- exceptions --- */

/* OP_TRY: the running frame handles exceptions at `ip` until OP_ENDTRY;
 * the exception value is pushed where the stack top is now. */
static VM_COLD void push_handler(fsrs_vm *vm, const uint32_t *ip)
{
    if (vm->nhandlers == vm->caphandlers) {
        uint32_t cap = vm->caphandlers ? vm->caphandlers * 2 : 16;
        Handler *h = mem_realloc(&vm->mem, vm->handlers, vm->caphandlers * sizeof(Handler),
                                 cap * sizeof(Handler));
        if (!h)
            vm_throw(vm, FSRS_ENOMEM, "out of memory entering 'try'");
        vm->handlers = h;
        vm->caphandlers = cap;
    }
    Handler *h = &vm->handlers[vm->nhandlers++];
    h->nframes = vm->nframes;
    h->native_depth = vm->native_depth;
    h->sp = (size_t)(vm->sp - vm->stack);
    h->nhandles = vm->nhandles;
    h->ip = ip;
}

/* -------------------------------------------------------- the run loop --- */

/* Run from the top frame until a frame marked `entry` returns. */
static void execute(fsrs_vm *vm)
{
    Frame *fr;
    const uint32_t *ip;
    Value *base, *sp;
    const Value *K;
    ObjClosure *cl;
    uint32_t w;

#define LOAD_FRAME()                                \
    do {                                            \
        fr = &vm->frames[vm->nframes - 1];          \
        ip = fr->ip;                                \
        base = fr->base;                            \
        K = fr->proto->consts;                      \
        cl = AS_CLOSURE(base[-1]);                  \
    } while (0)
#define SAVE()            \
    do {                  \
        fr->ip = ip;      \
        vm->sp = sp;      \
    } while (0)
#define A_U (w >> 8)
#define A_S ((int32_t)w >> 8)
#define TICK()                                   \
    do {                                         \
        if (UNLIKELY(--vm->ticks <= 0)) {        \
            SAVE();                              \
            vm_check_limits(vm);                 \
        }                                        \
    } while (0)

    LOAD_FRAME();
    sp = vm->sp;

#if defined(__GNUC__)
    static void *const labels[] = {
#define X(name, fmt) &&L_##name,
        FSRS_OPCODES(X)
#undef X
    };
#define CASE(name) L_##name
#define NEXT()                      \
    do {                            \
        w = *ip++;                  \
        goto *labels[w & 0xFF];     \
    } while (0)
    NEXT();
#else
#define CASE(name) case OP_##name
#define NEXT() continue
    for (;;) {
        w = *ip++;
        switch (w & 0xFF) {
#endif

    CASE(CONST): *sp++ = K[A_U]; NEXT();
    CASE(INT): *sp++ = mk_int(A_S); NEXT();
    CASE(UNIT): *sp++ = mk_unit(); NEXT();
    CASE(TRUE): *sp++ = mk_bool(true); NEXT();
    CASE(FALSE): *sp++ = mk_bool(false); NEXT();
    CASE(NIL): *sp++ = mk_nil(); NEXT();
    CASE(LOCAL): *sp++ = base[A_U]; NEXT();
    CASE(SETLOCAL): base[A_U] = *--sp; NEXT();
    CASE(CAPTURE): *sp++ = cl->caps[A_U]; NEXT();
    CASE(SELF): *sp++ = base[-1]; NEXT();
    /* a closure reads the globals of its own program instance, which may
     * be a replaced one */
    CASE(GLOBAL): *sp++ = cl->globals[A_U]; NEXT();
    CASE(SETGLOBAL): cl->globals[A_U] = *--sp; NEXT();
    CASE(BUILTIN): *sp++ = mk_obj((void *)builtin_get((int)A_U)); NEXT();
    CASE(HOST): *sp++ = vm->imports[A_U]; NEXT();
    CASE(POP): sp--; NEXT();
    CASE(DUP): sp[0] = sp[-1]; sp++; NEXT();
    CASE(SLIDE): {
        Value v = sp[-1];
        sp -= A_U;
        sp[-1] = v;
        NEXT();
    }
    CASE(SETTOP): sp = base + A_U; NEXT();
    CASE(RESERVE): {
        for (uint32_t i = 0; i < A_U; i++)
            *sp++ = mk_unit();
        NEXT();
    }
    CASE(JUMP): ip += A_S; NEXT();
    CASE(JUMP_IF_FALSE): {
        Value v = *--sp;
        if (!(v.tag_ == V_BOOL && v.as_.i))
            ip += A_S;
        NEXT();
    }
    CASE(JUMP_IF_TRUE): {
        Value v = *--sp;
        if (v.tag_ == V_BOOL && v.as_.i)
            ip += A_S;
        NEXT();
    }

#define ARITH(opname, iop, fop)                                                        \
    do {                                                                               \
        Value b_ = sp[-1], a_ = sp[-2];                                                \
        if (LIKELY(a_.tag_ == V_INT && b_.tag_ == V_INT)) {                            \
            sp[-2].as_.i = (int64_t)((uint64_t)a_.as_.i iop (uint64_t)b_.as_.i);       \
            sp--;                                                                      \
            NEXT();                                                                    \
        }                                                                              \
        if (a_.tag_ == V_FLOAT && b_.tag_ == V_FLOAT) {                                \
            sp[-2].as_.f = a_.as_.f fop b_.as_.f;                                      \
            sp--;                                                                      \
            NEXT();                                                                    \
        }                                                                              \
        SAVE();                                                                        \
        Value r_ = arith_slow(vm, OP_##opname, sp - 2);                                \
        sp[-2] = r_;                                                                   \
        sp--;                                                                          \
        NEXT();                                                                        \
    } while (0)

    CASE(ADD): ARITH(ADD, +, +);
    CASE(SUB): ARITH(SUB, -, -);
    CASE(MUL): ARITH(MUL, *, *);
    CASE(DIV): {
        SAVE();
        Value r = arith_slow(vm, OP_DIV, sp - 2);
        sp[-2] = r;
        sp--;
        NEXT();
    }
    CASE(MOD): {
        Value b = sp[-1], a = sp[-2];
        if (LIKELY(a.tag_ == V_INT && b.tag_ == V_INT && b.as_.i > 0)) {
            sp[-2].as_.i = a.as_.i % b.as_.i;
            sp--;
            NEXT();
        }
        SAVE();
        Value r = arith_slow(vm, OP_MOD, sp - 2);
        sp[-2] = r;
        sp--;
        NEXT();
    }
    CASE(POW): {
        SAVE();
        Value r = arith_slow(vm, OP_POW, sp - 2);
        sp[-2] = r;
        sp--;
        NEXT();
    }
    CASE(NEG): {
        Value a = sp[-1];
        if (a.tag_ == V_INT)
            sp[-1].as_.i = (int64_t)(0 - (uint64_t)a.as_.i);
        else if (a.tag_ == V_FLOAT)
            sp[-1].as_.f = -a.as_.f;
        else {
            SAVE();
            vm_throw(vm, FSRS_ERUNTIME, "type mismatch: unary '-' cannot be applied to %s",
                     value_type_name(a));
        }
        NEXT();
    }
    CASE(NOT): {
        Value a = sp[-1];
        if (UNLIKELY(a.tag_ != V_BOOL)) {
            SAVE();
            vm_throw(vm, FSRS_ERUNTIME, "type mismatch: 'not' expects a bool, not %s",
                     value_type_name(a));
        }
        sp[-1].as_.i = !a.as_.i;
        NEXT();
    }
    CASE(EQ): {
        Value b = sp[-1], a = sp[-2];
        bool r = (a.tag_ == V_INT && b.tag_ == V_INT) ? a.as_.i == b.as_.i : value_equal(a, b);
        sp[-2] = mk_bool(r);
        sp--;
        NEXT();
    }
    CASE(NE): {
        Value b = sp[-1], a = sp[-2];
        bool r = (a.tag_ == V_INT && b.tag_ == V_INT) ? a.as_.i != b.as_.i : !value_equal(a, b);
        sp[-2] = mk_bool(r);
        sp--;
        NEXT();
    }

#define COMPARE(cop)                                                                   \
    do {                                                                               \
        Value b_ = sp[-1], a_ = sp[-2];                                                \
        bool r_;                                                                       \
        if (LIKELY(a_.tag_ == V_INT && b_.tag_ == V_INT))                              \
            r_ = a_.as_.i cop b_.as_.i;                                                \
        else if (a_.tag_ == V_FLOAT && b_.tag_ == V_FLOAT)                             \
            r_ = a_.as_.f cop b_.as_.f;                                                \
        else {                                                                         \
            SAVE();                                                                    \
            r_ = compare_or_throw(vm, a_, b_) cop 0;                                   \
        }                                                                              \
        sp[-2] = mk_bool(r_);                                                          \
        sp--;                                                                          \
        NEXT();                                                                        \
    } while (0)

    CASE(LT): COMPARE(<);
    CASE(LE): COMPARE(<=);
    CASE(GT): COMPARE(>);
    CASE(GE): COMPARE(>=);

    CASE(CONS): {
        if (UNLIKELY(!(sp[-1].tag_ == V_NIL || IS_CONS(sp[-1])))) {
            SAVE();
            type_error(vm, "::", sp[-2], sp[-1]);
        }
        SAVE();
        Value c = cons_x(vm, sp[-2], sp[-1]);
        sp[-2] = c;
        sp--;
        NEXT();
    }
    CASE(APPEND): {
        SAVE();
        Value r = list_append(vm, sp - 2);
        sp[-2] = r;
        sp--;
        NEXT();
    }
    CASE(TUPLE): {
        uint32_t n = A_U;
        SAVE();
        ObjTuple *t = gc_alloc_x(vm, sizeof(ObjTuple) + n * sizeof(Value), O_TUPLE);
        t->n = n;
        memcpy(t->items, sp - n, n * sizeof(Value));
        sp -= n;
        *sp++ = mk_obj(t);
        NEXT();
    }
    CASE(LIST): {
        uint32_t n = A_U;
        if (n == 0) {
            *sp++ = mk_nil();
            NEXT();
        }
        SAVE();
        Value *items = sp - n;
        items[n - 1] = cons_x(vm, items[n - 1], mk_nil());
        for (uint32_t i = n - 1; i-- > 0;)
            items[i] = cons_x(vm, items[i], items[i + 1]);
        sp = items + 1;
        NEXT();
    }
    CASE(RANGE): {
        int has_step = (int)A_U;
        Value *slots = sp - 2 - has_step;
        SAVE();
        build_range(vm, slots, has_step);
        sp = slots + 1;
        NEXT();
    }
    CASE(CLOSURE): {
        const Proto *p = fr->proto->chunk->protos[A_U];
        SAVE();
        ObjClosure *c = gc_alloc_x(vm, sizeof(ObjClosure) + p->ncaps * sizeof(Value), O_CLOSURE);
        c->proto = p;
        c->globals = cl->globals;
        c->ncaps = p->ncaps;
        for (uint32_t i = 0; i < p->ncaps; i++) {
            const CapDesc *d = &p->caps[i];
            c->caps[i] = d->kind == CAP_LOCAL ? base[d->index]
                         : d->kind == CAP_SELF ? base[-1]
                                               : cl->caps[d->index];
        }
        *sp++ = mk_obj(c);
        NEXT();
    }
    CASE(SETCAP): {
        uint32_t b = *ip++;
        ObjClosure *c = AS_CLOSURE(base[A_U]);
        c->caps[b >> 16] = base[b & 0xFFFF];
        NEXT();
    }
    CASE(CALL): {
        int argc = (int)A_U;
        Value *callee = sp - argc - 1;
        TICK();
        if (LIKELY(IS_CLOSURE(*callee))) {
            ObjClosure *c = AS_CLOSURE(*callee);
            const Proto *p = c->proto;
            /* frames_cap never exceeds max_call_depth (push_frame) */
            if (LIKELY(p->arity == (uint32_t)argc && vm->nframes < vm->frames_cap &&
                       callee + 1 + p->maxstack <= vm->stack_end)) {
                fr->ip = ip;
                fr = &vm->frames[vm->nframes++];
                fr->proto = p;
                fr->base = base = callee + 1;
                fr->extra = 0;
                fr->entry = false;
                ip = p->code;
                K = p->consts;
                cl = c;
                sp = base + argc;
                NEXT();
            }
        }
        SAVE();
        call_value(vm, (size_t)(callee - vm->stack), argc);
        LOAD_FRAME();
        sp = vm->sp;
        NEXT();
    }
    CASE(TAILCALL): {
        int argc = (int)A_U;
        Value *callee = sp - argc - 1;
        TICK();
        if (LIKELY(IS_CLOSURE(*callee))) {
            ObjClosure *c = AS_CLOSURE(*callee);
            const Proto *p = c->proto;
            if (LIKELY(p->arity == (uint32_t)argc)) {
                memmove(base - 1, callee, (size_t)(argc + 1) * sizeof(Value));
                if (UNLIKELY(base + p->maxstack > vm->stack_end)) {
                    SAVE();
                    stack_reserve(vm, base, p->maxstack);
                    base = fr->base;
                }
                fr->proto = p;
                ip = p->code;
                K = p->consts;
                cl = c;
                sp = base + argc;
                NEXT();
            }
        }
        if (!fr->entry && !fr->extra && !IS_OBJTYPE(*callee, O_NATIVE)) {
            /* replace this frame by the call, made from the caller (natives
             * complete at once: they keep the frame for the stack trace) */
            size_t pos = (size_t)(base - 1 - vm->stack);
            memmove(base - 1, callee, (size_t)(argc + 1) * sizeof(Value));
            vm->nframes--;
            vm->sp = vm->stack + pos + 1 + argc;
            call_value(vm, pos, argc);
            LOAD_FRAME();
            sp = vm->sp;
            NEXT();
        }
        /* an ordinary call; the OP_RETURN that follows returns its result */
        SAVE();
        call_value(vm, (size_t)(callee - vm->stack), argc);
        LOAD_FRAME();
        sp = vm->sp;
        NEXT();
    }
    CASE(LOCAL2): {
        sp[0] = base[A_U & 0xFFF];
        sp[1] = base[A_U >> 12];
        sp += 2;
        NEXT();
    }
    CASE(LOCAL_ADDI): {
        Value a = base[A_U & 0xFFF];
        int32_t k = (int32_t)w >> 20; /* the top 12 bits, sign-extended */
        if (LIKELY(a.tag_ == V_INT)) {
            *sp++ = mk_int((int64_t)((uint64_t)a.as_.i + (uint64_t)(int64_t)k));
            NEXT();
        }
        SAVE();
        vm_throw(vm, FSRS_ERUNTIME, "type mismatch: '+' cannot be applied to %s and int",
                 value_type_name(a));
    }
    CASE(ADD_LL): {
        Value a = base[A_U & 0xFFF], b = base[A_U >> 12];
        if (LIKELY(a.tag_ == V_INT && b.tag_ == V_INT)) {
            *sp++ = mk_int((int64_t)((uint64_t)a.as_.i + (uint64_t)b.as_.i));
            NEXT();
        }
        sp[0] = a;
        sp[1] = b;
        sp += 2;
        SAVE();
        Value r = arith_slow(vm, OP_ADD, sp - 2);
        sp[-2] = r;
        sp--;
        NEXT();
    }
    CASE(LOCAL_EQI_JUMP): {
        uint32_t b = *ip++;
        Value v = base[b >> 16];
        if (!(v.tag_ == V_INT && v.as_.i == (int64_t)(int16_t)(b & 0xFFFF)))
            ip += A_S;
        NEXT();
    }
    CASE(LOCAL_LTI_JUMP): {
        uint32_t b = *ip++;
        Value v = base[b >> 16];
        int64_t k = (int16_t)(b & 0xFFFF);
        bool lt;
        if (LIKELY(v.tag_ == V_INT))
            lt = v.as_.i < k;
        else if (v.tag_ == V_FLOAT)
            lt = v.as_.f < (double)k; /* unreachable from valid F#: kept total */
        else {
            SAVE();
            lt = compare_or_throw(vm, v, mk_int(k)) < 0;
        }
        if (!lt)
            ip += A_S;
        NEXT();
    }
    CASE(LOOP): {
        TICK();
        ip += A_S;
        NEXT();
    }
    CASE(FOR_PREP): {
        uint32_t b = *ip++;
        Value *c = &base[b >> 16];
        if (UNLIKELY(c[0].tag_ != V_INT || c[1].tag_ != V_INT)) {
            SAVE();
            vm_throw(vm, FSRS_ERUNTIME, "a counting for loop needs int bounds, not %s and %s",
                     value_type_name(c[0]), value_type_name(c[1]));
        }
        if ((int16_t)(b & 0xFFFF) > 0 ? c[0].as_.i > c[1].as_.i : c[0].as_.i < c[1].as_.i)
            ip += A_S;
        NEXT();
    }
    CASE(FOR_LOOP): {
        /* invariant: the counter has not passed the limit, so the distance
         * between them is exact in uint64 arithmetic and nothing overflows */
        uint32_t b = *ip++;
        Value *c = &base[b >> 16];
        int64_t step = (int16_t)(b & 0xFFFF);
        uint64_t i = (uint64_t)c[0].as_.i, lim = (uint64_t)c[1].as_.i;
        TICK();
        if (step > 0 ? lim - i >= (uint64_t)step : i - lim >= (uint64_t)-step) {
            c[0].as_.i = (int64_t)(i + (uint64_t)step);
            ip += A_S;
        }
        NEXT();
    }
    CASE(FOR_LIST): {
        uint32_t b = *ip++;
        Value l = base[b];
        if (LIKELY(IS_CONS(l))) {
            *sp++ = AS_CONS(l)->head;
            base[b] = AS_CONS(l)->tail;
            NEXT();
        }
        if (UNLIKELY(l.tag_ != V_NIL)) {
            SAVE();
            vm_throw(vm, FSRS_ERUNTIME, "'for ... in' needs a list here, not %s",
                     value_type_name(l));
        }
        ip += A_S;
        NEXT();
    }
    CASE(TAILSELF): {
        int argc = (int)A_U;
        TICK();
        memmove(base, sp - argc, (size_t)argc * sizeof(Value));
        sp = base + argc;
        ip = fr->proto->code;
        NEXT();
    }
    CASE(RETURN): {
        Value r = sp[-1];
        if (UNLIKELY(fr->extra)) {
            uint32_t k = fr->extra;
            bool entry = fr->entry;
            Value *dst = base - 2 - k;
            *dst = r;
            vm->nframes--;
            vm->sp = dst + 1 + k;
            uint32_t depth = vm->nframes;
            call_value(vm, (size_t)(dst - vm->stack), (int)k);
            if (vm->nframes > depth) {
                vm->frames[vm->nframes - 1].entry = entry;
            } else if (entry) {
                return;
            }
            LOAD_FRAME();
            sp = vm->sp;
            NEXT();
        }
        base[-1] = r;
        sp = base;
        vm->nframes--;
        if (fr->entry) {
            vm->sp = sp;
            return;
        }
        LOAD_FRAME();
        NEXT();
    }
    CASE(FORMAT): {
        uint32_t b = *ip++;
        int n = (int)A_U;
        SAVE();
        Value r = fmt_run(vm, (int)(b >> 24), AS_STRING(K[b & 0xFFFFFF]), sp - n, n);
        sp -= n;
        *sp++ = r;
        NEXT();
    }
    CASE(FORMAT_FN): {
        uint32_t b = *ip++;
        SAVE();
        Value f = fmt_native_new(vm, (int)(b >> 24), AS_STRING(K[b & 0xFFFFFF]), (int)A_U);
        *sp++ = f;
        NEXT();
    }
    CASE(TEST_NIL): {
        Value v = *--sp;
        if (v.tag_ != V_NIL)
            ip += A_S;
        NEXT();
    }
    CASE(TEST_CONS): {
        Value v = *--sp;
        if (!IS_CONS(v))
            ip += A_S;
        NEXT();
    }
    CASE(TEST_EQ): {
        uint32_t b = *ip++;
        Value v = *--sp;
        if (!value_equal(v, K[b]))
            ip += A_S;
        NEXT();
    }
    CASE(HEAD): {
        Value v = sp[-1];
        if (UNLIKELY(!IS_CONS(v))) {
            SAVE();
            not_a_cons(vm, v);
        }
        sp[-1] = AS_CONS(v)->head;
        NEXT();
    }
    CASE(TAIL): {
        Value v = sp[-1];
        if (UNLIKELY(!IS_CONS(v))) {
            SAVE();
            not_a_cons(vm, v);
        }
        sp[-1] = AS_CONS(v)->tail;
        NEXT();
    }
    CASE(FIELD): {
        Value v = sp[-1];
        if (UNLIKELY(!IS_TUPLE(v) || A_U >= AS_TUPLE(v)->n)) {
            SAVE();
            vm_throw(vm, FSRS_ERUNTIME, "expected a tuple with at least %u items, got %s",
                     A_U + 1, value_type_name(v));
        }
        sp[-1] = AS_TUPLE(v)->items[A_U];
        NEXT();
    }
    CASE(MATCH_FAIL): {
        SAVE();
        match_fail(vm);
    }
    CASE(ADDI): {
        Value a = sp[-1];
        if (LIKELY(a.tag_ == V_INT)) {
            sp[-1].as_.i = (int64_t)((uint64_t)a.as_.i + (uint64_t)(int64_t)A_S);
            NEXT();
        }
        SAVE();
        vm_throw(vm, FSRS_ERUNTIME, "type mismatch: '+' cannot be applied to %s and int",
                 value_type_name(a));
    }
    CASE(LT_JUMP): {
        Value b = sp[-1], a = sp[-2];
        bool r;
        sp -= 2;
        if (LIKELY(a.tag_ == V_INT && b.tag_ == V_INT))
            r = a.as_.i < b.as_.i;
        else if (a.tag_ == V_FLOAT && b.tag_ == V_FLOAT)
            r = a.as_.f < b.as_.f;
        else {
            SAVE();
            r = compare_or_throw(vm, a, b) < 0;
        }
        if (!r)
            ip += A_S;
        NEXT();
    }
    CASE(EQI_JUMP): {
        uint32_t b = *ip++;
        Value v = *--sp;
        if (!(v.tag_ == V_INT && v.as_.i == (int64_t)(int32_t)b))
            ip += A_S;
        NEXT();
    }
    CASE(DATA): {
        uint32_t b = *ip++;
        uint32_t n = A_U;
        SAVE();
        Value d = data_new(vm, sp - n, n, AS_SHAPE(K[b]));
        sp -= n;
        *sp++ = d;
        NEXT();
    }
    CASE(GETFIELD): {
        uint32_t b = *ip++;
        Value v = sp[-1];
        const Shape *shape = AS_SHAPE(K[b]);
        if (LIKELY(IS_DATA(v) && AS_DATA(v)->shape == shape)) {
            sp[-1] = AS_DATA(v)->items[A_U];
            NEXT();
        }
        SAVE();
        if (UNLIKELY(!IS_DATA(v))) {
            /* a field name that is also a member (s.Length) */
            bool method;
            int id = member_lookup(shape->fields[A_U], &method);
            if (id >= 0 && !method) {
                sp[-1] = member_invoke(vm, sp - 1, 0, id);
                NEXT();
            }
        }
        Value fv = field_or_message(vm, v, shape, A_U);
        sp[-1] = fv;
        NEXT();
    }
    CASE(COPY): {
        SAVE();
        Value c = record_copy(vm, sp - 1);
        sp[-1] = c;
        NEXT();
    }
    CASE(SETFIELD): {
        uint32_t b = *ip++;
        Value v = *--sp;
        Value r = sp[-1];
        const Shape *shape = AS_SHAPE(K[b]);
        uint32_t i = A_U;
        if (UNLIKELY(AS_DATA(r)->shape != shape)) {
            SAVE();
            i = field_slow(vm, r, shape, i);
        }
        AS_DATA(r)->items[i] = v;
        NEXT();
    }
    CASE(TEST_TAG): {
        uint32_t b = *ip++;
        Value v = *--sp;
        if (!(IS_DATA(v) && AS_DATA(v)->tag == b))
            ip += A_S;
        NEXT();
    }
    CASE(CASEFIELD): {
        Value v = sp[-1];
        if (UNLIKELY(!IS_DATA(v) || A_U >= AS_DATA(v)->n)) {
            SAVE();
            case_field_error(vm, v, A_U);
        }
        sp[-1] = AS_DATA(v)->items[A_U];
        NEXT();
    }
    CASE(MEMBER): {
        uint32_t id = *ip++;
        uint32_t n = A_U;
        SAVE();
        Value r = member_invoke(vm, sp - n - 1, (int)n, (int)id);
        sp -= n;
        sp[-1] = r;
        NEXT();
    }

    CASE(TRY): {
        SAVE();
        push_handler(vm, ip + A_S);
        NEXT();
    }
    CASE(ENDTRY): {
        vm->nhandlers--;
        NEXT();
    }
    CASE(RERAISE): {
        SAVE();
        vm_reraise(vm, sp[-1]);
    }

#if !defined(__GNUC__)
        default:
            SAVE();
            vm_throw(vm, FSRS_ERROR, "bad opcode %u", w & 0xFF);
        }
    }
#endif
#undef CASE
#undef NEXT
}

/* ------------------------------------------------------ entry points --- */

/*
 * Apply stack[pos] to the argc values above it (vm->sp is their top) and
 * run to completion.  Returns FSRS_OK with the result in *out, or an error
 * code after the VM was restored to the state before the call.  Script
 * handlers entered during the call catch exceptions here; one that none
 * catches is reported (error callback) and returned as a status.
 */
int vm_run_call(fsrs_vm *vm, size_t pos, int argc, Value *out)
{
    ErrorJmp j;
    j.prev = vm->jmp;
    j.nhandlers = vm->nhandlers;
    vm->jmp = &j;
    uint32_t saved_frames = vm->nframes, saved_native = vm->native_depth;
    /* natives root their work in handles; an error drops what they kept */
    size_t saved_handles = vm->nhandles;
    bool outermost = j.prev == NULL;
    if (outermost)
        limits_reset(vm);
    if (setjmp(j.buf)) {
        if (!vm_catch(vm, &j)) {
            vm->nframes = saved_frames;
            vm->native_depth = saved_native;
            vm->nhandlers = j.nhandlers;
            vm->nhandles = saved_handles;
            vm->exn = mk_unit();
            vm->sp = vm->stack + pos;
            vm->jmp = j.prev;
            const fsrs_error *e = fsrs_error_last();
            if (vm->cfg.error && e)
                vm->cfg.error(e, vm->cfg.userdata);
            return e ? e->code : FSRS_ERUNTIME;
        }
    } else {
        call_value(vm, pos, argc);
        if (vm->nframes > saved_frames)
            vm->frames[vm->nframes - 1].entry = true;
    }
    if (vm->nframes > saved_frames)
        execute(vm);
    *out = vm->stack[pos];
    vm->sp = vm->stack + pos;
    vm->jmp = j.prev;
    return FSRS_OK;
}

/* ------------------------------------------------------------ natives --- */

size_t vm_push_x(fsrs_vm *vm, Value v)
{
    Value *top = stack_reserve(vm, vm->sp, 1);
    *top = v;
    vm->sp = top + 1;
    return (size_t)(top - vm->stack);
}

/* See vm.h for the rules natives follow around this call. */
Value vm_apply_x(fsrs_vm *vm, Value f, int argc, const Value *args)
{
    Value copy[8];
    if (argc < 0 || argc > 8)
        vm_throw(vm, FSRS_ERROR, "vm_apply_x: %d arguments", argc);
    if (argc)
        memcpy(copy, args, (size_t)argc * sizeof(Value));
    if (vm->native_depth >= VM_MAX_NATIVE_DEPTH)
        vm_throw(vm, FSRS_ELIMIT, "stack overflow: library functions calling functions nested "
                                  "more than %d deep", VM_MAX_NATIVE_DEPTH);
    /* a call from a native counts against the budget like any other */
    if (--vm->ticks <= 0)
        vm_check_limits(vm);
    Value *top = stack_reserve(vm, vm->sp, (size_t)argc + 1);
    size_t pos = (size_t)(top - vm->stack);
    top[0] = f;
    if (argc)
        memcpy(top + 1, copy, (size_t)argc * sizeof(Value));
    vm->sp = top + 1 + argc;
    ErrorJmp j;
    j.prev = vm->jmp;
    j.nhandlers = vm->nhandlers;
    vm->jmp = &j;
    uint32_t depth = vm->nframes, native = vm->native_depth;
    vm->native_depth = native + 1;
    if (setjmp(j.buf)) {
        if (!vm_catch(vm, &j)) {
            /* no handler of this level: on to the enclosing one, past the
             * native's C frames */
            vm->native_depth = native;
            vm->jmp = j.prev;
            longjmp(j.prev->buf, 1);
        }
    } else {
        call_value(vm, pos, argc);
        if (vm->nframes > depth)
            vm->frames[vm->nframes - 1].entry = true;
    }
    if (vm->nframes > depth)
        execute(vm);
    vm->native_depth = native;
    vm->jmp = j.prev;
    Value r = vm->stack[pos];
    vm->sp = vm->stack + pos;
    return r;
}
