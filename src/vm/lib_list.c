/*
 * vm/lib_list.c - the List module: List.map, List.fold, List.sort, ...
 *
 * Natives in one table (lib_list_table) that builtin_lookup finds by their
 * qualified names.  Many take a function and call it with vm_apply_x, so
 * they follow its rules (vm.h): a list being built, and any value still
 * needed, lives in a VM stack slot (the stack may move and the collector
 * may run during each call), so everything is reached through slot
 * indices; scratch arrays are tuples on the heap, never C allocations,
 * since an exception may leave the native at any call.  Errors are F#'s
 * exceptions with F#'s messages.  Each native runs on the thread of the
 * VM that calls it.
 */
#include <stdio.h>
#include <string.h>

#include "lang/compile.h"
#include "vm/vm.h"

#define ARGS fsrs_vm *vm, const Value *a, int argc, Value *out, void *ud
#define UNUSED (void)argc, (void)ud
#define SLOT(i) (vm->stack[i])

/* ------------------------------------------------------------ helpers --- */

static _Noreturn void empty_list(fsrs_vm *vm)
{
    vm_throw_exn(vm, EXN_ARGUMENT, "The input list was empty. (Parameter 'list')",
                 "The input list was empty. (Parameter 'list')");
}

static void need_list(fsrs_vm *vm, Value v, const char *fn)
{
    if (!IS_NIL(v) && !IS_CONS(v))
        vm_throw(vm, FSRS_ERUNTIME, "'%s' expects a list, not %s", fn, value_type_name(v));
}

static int64_t need_int(fsrs_vm *vm, Value v, const char *fn)
{
    if (!IS_INT(v))
        vm_throw(vm, FSRS_ERUNTIME, "'%s' expects an int, not %s", fn, value_type_name(v));
    return AS_INT(v);
}

static size_t list_len(Value l)
{
    size_t n = 0;
    for (; IS_CONS(l); l = AS_CONS(l)->tail)
        n++;
    return n;
}

/* A list built front to back: its first cell is in a stack slot, so the
 * whole list is reachable; `last` is its last cell (heap objects do not
 * move). */
typedef struct Builder {
    size_t slot;
    ObjCons *last;
} Builder;

static Builder builder_new(fsrs_vm *vm)
{
    Builder b = {vm_push_x(vm, mk_nil()), NULL};
    return b;
}

/* v need not be rooted: it is kept on the stack while its cell is made */
static void builder_add(fsrs_vm *vm, Builder *b, Value v)
{
    size_t t = vm_push_x(vm, v);
    Value c = cons_x(vm, SLOT(t), mk_nil());
    vm->sp--;
    if (b->last)
        b->last->tail = c;
    else
        SLOT(b->slot) = c;
    b->last = AS_CONS(c);
}

/* A heap scratch array of n values, rooted in the returned slot. */
static size_t scratch_new(fsrs_vm *vm, size_t n)
{
    if (n > 0xFFFFFF)
        vm_throw(vm, FSRS_ELIMIT, "list too long");
    ObjTuple *t = gc_alloc_x(vm, sizeof(ObjTuple) + n * sizeof(Value), O_TUPLE);
    t->n = (uint32_t)n;
    for (size_t i = 0; i < n; i++)
        t->items[i] = mk_unit();
    return vm_push_x(vm, mk_obj(t));
}

static Value *scratch_items(fsrs_vm *vm, size_t slot) { return AS_TUPLE(SLOT(slot))->items; }

/* The list's items in a scratch array (slot returned, count in *n). */
static size_t to_scratch(fsrs_vm *vm, Value list, size_t *n)
{
    *n = list_len(list);
    size_t s = scratch_new(vm, *n);
    Value *items = scratch_items(vm, s);
    size_t i = 0;
    for (Value l = list; IS_CONS(l); l = AS_CONS(l)->tail)
        items[i++] = AS_CONS(l)->head;
    return s;
}

/* A list of items[from..to) (items in a rooted scratch array). */
static Value list_of(fsrs_vm *vm, size_t slot, size_t from, size_t to)
{
    size_t r = vm_push_x(vm, mk_nil());
    for (size_t i = to; i-- > from;)
        SLOT(r) = cons_x(vm, scratch_items(vm, slot)[i], SLOT(r));
    vm->sp--;
    return SLOT(r);
}

/* ------------------------------------------------------------- basics --- */

static int l_length(ARGS)
{
    UNUSED;
    Value a0 = a[0];
    need_list(vm, a0, "List.length");
    *out = mk_int((int64_t)list_len(a0));
    return 0;
}

static int l_head(ARGS)
{
    UNUSED;
    Value a0 = a[0];
    need_list(vm, a0, "List.head");
    if (!IS_CONS(a0))
        empty_list(vm);
    *out = AS_CONS(a0)->head;
    return 0;
}

static int l_tail(ARGS)
{
    UNUSED;
    Value a0 = a[0];
    need_list(vm, a0, "List.tail");
    if (!IS_CONS(a0))
        empty_list(vm);
    *out = AS_CONS(a0)->tail;
    return 0;
}

static int l_is_empty(ARGS)
{
    UNUSED;
    Value a0 = a[0];
    need_list(vm, a0, "List.isEmpty");
    *out = mk_bool(IS_NIL(a0));
    return 0;
}

static int l_last(ARGS)
{
    UNUSED;
    Value a0 = a[0];
    need_list(vm, a0, "List.last");
    if (!IS_CONS(a0))
        empty_list(vm);
    Value l = a0;
    while (IS_CONS(AS_CONS(l)->tail))
        l = AS_CONS(l)->tail;
    *out = AS_CONS(l)->head;
    return 0;
}

static int l_try_head(ARGS)
{
    UNUSED;
    Value a0 = a[0];
    need_list(vm, a0, "List.tryHead");
    *out = IS_CONS(a0) ? vm_some_x(vm, AS_CONS(a0)->head) : vm_none();
    return 0;
}

static int l_rev(ARGS)
{
    UNUSED;
    Value a0 = a[0];
    need_list(vm, a0, "List.rev");
    size_t r = vm_push_x(vm, mk_nil());
    for (Value l = a0; IS_CONS(l); l = AS_CONS(l)->tail)
        SLOT(r) = cons_x(vm, AS_CONS(l)->head, SLOT(r));
    *out = SLOT(r);
    return 0;
}

static int l_append(ARGS)
{
    UNUSED;
    Value a0 = a[0], a1 = a[1];
    need_list(vm, a0, "List.append");
    need_list(vm, a1, "List.append");
    size_t second = vm_native_base(vm, a) + 1;
    Builder b = builder_new(vm);
    for (Value l = a0; IS_CONS(l); l = AS_CONS(l)->tail)
        builder_add(vm, &b, AS_CONS(l)->head);
    if (b.last)
        b.last->tail = SLOT(second);
    else
        SLOT(b.slot) = SLOT(second);
    *out = SLOT(b.slot);
    return 0;
}

static int l_concat(ARGS)
{
    UNUSED;
    Value a0 = a[0];
    need_list(vm, a0, "List.concat");
    Builder b = builder_new(vm);
    for (Value ls = a0; IS_CONS(ls); ls = AS_CONS(ls)->tail) {
        need_list(vm, AS_CONS(ls)->head, "List.concat");
        for (Value l = AS_CONS(ls)->head; IS_CONS(l); l = AS_CONS(l)->tail)
            builder_add(vm, &b, AS_CONS(l)->head);
    }
    *out = SLOT(b.slot);
    return 0;
}

static int l_item(ARGS)
{
    UNUSED;
    Value a0 = a[0], a1 = a[1];
    int64_t i = need_int(vm, a0, "List.item");
    need_list(vm, a1, "List.item");
    Value l = a1;
    for (int64_t k = 0; k < i && IS_CONS(l); k++)
        l = AS_CONS(l)->tail;
    if (i < 0 || !IS_CONS(l))
        vm_throw_exn(vm, EXN_ARGUMENT,
                     "The index was outside the range of elements in the list. (Parameter "
                     "'index')",
                     "The index was outside the range of elements in the list. (Parameter "
                     "'index')");
    *out = AS_CONS(l)->head;
    return 0;
}

static int l_contains(ARGS)
{
    UNUSED;
    Value a0 = a[0], a1 = a[1];
    need_list(vm, a1, "List.contains");
    bool found = false;
    for (Value l = a1; IS_CONS(l) && !found; l = AS_CONS(l)->tail)
        found = value_equal(a0, AS_CONS(l)->head);
    *out = mk_bool(found);
    return 0;
}

static int l_replicate(ARGS)
{
    UNUSED;
    Value a0 = a[0];
    int64_t n = need_int(vm, a0, "List.replicate");
    if (n < 0)
        vm_throw_exn(vm, EXN_ARGUMENT, "The input must be non-negative. (Parameter 'count')",
                     "The input must be non-negative. (Parameter 'count')");
    size_t x = vm_native_base(vm, a) + 1;
    size_t r = vm_push_x(vm, mk_nil());
    for (int64_t i = 0; i < n; i++)
        SLOT(r) = cons_x(vm, SLOT(x), SLOT(r));
    *out = SLOT(r);
    return 0;
}

static int l_take(ARGS)
{
    UNUSED;
    Value a0 = a[0], a1 = a[1];
    int64_t n = need_int(vm, a0, "List.take");
    need_list(vm, a1, "List.take");
    if (n < 0)
        vm_throw_exn(vm, EXN_ARGUMENT, "The input must be non-negative. (Parameter 'count')",
                     "The input must be non-negative. (Parameter 'count')");
    if ((size_t)n > list_len(a1))
        vm_throw_exn(vm, EXN_INVALID_OPERATION,
                     "The input sequence has an insufficient number of elements.",
                     "The input sequence has an insufficient number of elements.");
    Builder b = builder_new(vm);
    Value l = a1;
    for (int64_t i = 0; i < n; i++, l = AS_CONS(l)->tail)
        builder_add(vm, &b, AS_CONS(l)->head);
    *out = SLOT(b.slot);
    return 0;
}

static int l_truncate(ARGS)
{
    UNUSED;
    Value a0 = a[0], a1 = a[1];
    int64_t n = need_int(vm, a0, "List.truncate");
    need_list(vm, a1, "List.truncate");
    Builder b = builder_new(vm);
    Value l = a1;
    for (int64_t i = 0; i < n && IS_CONS(l); i++, l = AS_CONS(l)->tail)
        builder_add(vm, &b, AS_CONS(l)->head);
    *out = SLOT(b.slot);
    return 0;
}

static int l_skip(ARGS)
{
    UNUSED;
    Value a0 = a[0], a1 = a[1];
    int64_t n = need_int(vm, a0, "List.skip");
    need_list(vm, a1, "List.skip");
    Value l = a1;
    if (n > 0 && (size_t)n > list_len(l))
        vm_throw_exn(vm, EXN_ARGUMENT,
                     "The index is outside the legal range. (Parameter 'count')",
                     "The index is outside the legal range. (Parameter 'count')");
    for (int64_t i = 0; i < n; i++)
        l = AS_CONS(l)->tail;
    *out = l;
    return 0;
}

/* ------------------------------------------------ functions over items --- */

static int l_map(ARGS)
{
    UNUSED;
    Value a0 = a[0], a1 = a[1];
    need_list(vm, a1, "List.map");
    Value f = a0;
    Builder b = builder_new(vm);
    for (Value l = a1; IS_CONS(l); l = AS_CONS(l)->tail)
        builder_add(vm, &b, vm_apply1_x(vm, f, AS_CONS(l)->head));
    *out = SLOT(b.slot);
    return 0;
}

static int l_mapi(ARGS)
{
    UNUSED;
    Value a0 = a[0], a1 = a[1];
    need_list(vm, a1, "List.mapi");
    Value f = a0;
    Builder b = builder_new(vm);
    int64_t i = 0;
    for (Value l = a1; IS_CONS(l); l = AS_CONS(l)->tail)
        builder_add(vm, &b, vm_apply2_x(vm, f, mk_int(i++), AS_CONS(l)->head));
    *out = SLOT(b.slot);
    return 0;
}

static int l_iter(ARGS)
{
    UNUSED;
    Value a0 = a[0], a1 = a[1];
    need_list(vm, a1, "List.iter");
    Value f = a0;
    for (Value l = a1; IS_CONS(l); l = AS_CONS(l)->tail)
        vm_apply1_x(vm, f, AS_CONS(l)->head);
    *out = mk_unit();
    return 0;
}

static int l_iteri(ARGS)
{
    UNUSED;
    Value a0 = a[0], a1 = a[1];
    need_list(vm, a1, "List.iteri");
    Value f = a0;
    int64_t i = 0;
    for (Value l = a1; IS_CONS(l); l = AS_CONS(l)->tail)
        vm_apply2_x(vm, f, mk_int(i++), AS_CONS(l)->head);
    *out = mk_unit();
    return 0;
}

static int l_filter(ARGS)
{
    UNUSED;
    Value a0 = a[0], a1 = a[1];
    need_list(vm, a1, "List.filter");
    Value f = a0;
    Builder b = builder_new(vm);
    for (Value l = a1; IS_CONS(l); l = AS_CONS(l)->tail)
        if (vm_returns_bool(vm, vm_apply1_x(vm, f, AS_CONS(l)->head), "List.filter"))
            builder_add(vm, &b, AS_CONS(l)->head);
    *out = SLOT(b.slot);
    return 0;
}

static int l_choose(ARGS)
{
    UNUSED;
    Value a0 = a[0], a1 = a[1];
    need_list(vm, a1, "List.choose");
    Value f = a0;
    Builder b = builder_new(vm);
    for (Value l = a1; IS_CONS(l); l = AS_CONS(l)->tail) {
        Value v;
        if (vm_returns_some(vm, vm_apply1_x(vm, f, AS_CONS(l)->head), &v, "List.choose"))
            builder_add(vm, &b, v); /* v is reachable only from the option */
    }
    *out = SLOT(b.slot);
    return 0;
}

static int l_collect(ARGS)
{
    UNUSED;
    Value a0 = a[0], a1 = a[1];
    need_list(vm, a1, "List.collect");
    Value f = a0;
    Builder b = builder_new(vm);
    for (Value l = a1; IS_CONS(l); l = AS_CONS(l)->tail) {
        size_t part = vm_push_x(vm, vm_apply1_x(vm, f, AS_CONS(l)->head));
        need_list(vm, SLOT(part), "List.collect");
        for (Value p = SLOT(part); IS_CONS(p); p = AS_CONS(p)->tail)
            builder_add(vm, &b, AS_CONS(p)->head);
        vm->sp--;
    }
    *out = SLOT(b.slot);
    return 0;
}

static int l_fold(ARGS)
{
    UNUSED;
    Value a0 = a[0], a1 = a[1], a2 = a[2];
    need_list(vm, a2, "List.fold");
    Value f = a0;
    size_t acc = vm_push_x(vm, a1);
    for (Value l = a2; IS_CONS(l); l = AS_CONS(l)->tail) {
        /* the stack may move during the call: no slot address before it */
        Value r = vm_apply2_x(vm, f, SLOT(acc), AS_CONS(l)->head);
        SLOT(acc) = r;
    }
    *out = SLOT(acc);
    return 0;
}

static int l_fold_back(ARGS)
{
    UNUSED;
    Value a0 = a[0], a1 = a[1], a2 = a[2];
    need_list(vm, a1, "List.foldBack");
    Value f = a0;
    size_t acc = vm_push_x(vm, a2);
    size_t n;
    size_t items = to_scratch(vm, a1, &n);
    for (size_t i = n; i-- > 0;) {
        /* the stack may move during the call: no slot address before it */
        Value r = vm_apply2_x(vm, f, scratch_items(vm, items)[i], SLOT(acc));
        SLOT(acc) = r;
    }
    *out = SLOT(acc);
    return 0;
}

static int l_reduce(ARGS)
{
    UNUSED;
    Value a0 = a[0], a1 = a[1];
    need_list(vm, a1, "List.reduce");
    if (!IS_CONS(a1))
        empty_list(vm);
    Value f = a0;
    size_t acc = vm_push_x(vm, AS_CONS(a1)->head);
    for (Value l = AS_CONS(a1)->tail; IS_CONS(l); l = AS_CONS(l)->tail) {
        /* the stack may move during the call: no slot address before it */
        Value r = vm_apply2_x(vm, f, SLOT(acc), AS_CONS(l)->head);
        SLOT(acc) = r;
    }
    *out = SLOT(acc);
    return 0;
}

static int l_init(ARGS)
{
    UNUSED;
    Value a0 = a[0], a1 = a[1];
    int64_t n = need_int(vm, a0, "List.init");
    if (n < 0)
        vm_throw_exn(vm, EXN_ARGUMENT, "The input must be non-negative. (Parameter 'count')",
                     "The input must be non-negative. (Parameter 'count')");
    Value f = a1;
    Builder b = builder_new(vm);
    for (int64_t i = 0; i < n; i++)
        builder_add(vm, &b, vm_apply1_x(vm, f, mk_int(i)));
    *out = SLOT(b.slot);
    return 0;
}

static int l_exists(ARGS)
{
    UNUSED;
    Value a0 = a[0], a1 = a[1];
    need_list(vm, a1, "List.exists");
    Value f = a0;
    bool r = false;
    for (Value l = a1; IS_CONS(l) && !r; l = AS_CONS(l)->tail)
        r = vm_returns_bool(vm, vm_apply1_x(vm, f, AS_CONS(l)->head), "List.exists");
    *out = mk_bool(r);
    return 0;
}

static int l_forall(ARGS)
{
    UNUSED;
    Value a0 = a[0], a1 = a[1];
    need_list(vm, a1, "List.forall");
    Value f = a0;
    bool r = true;
    for (Value l = a1; IS_CONS(l) && r; l = AS_CONS(l)->tail)
        r = vm_returns_bool(vm, vm_apply1_x(vm, f, AS_CONS(l)->head), "List.forall");
    *out = mk_bool(r);
    return 0;
}

static _Noreturn void not_found(fsrs_vm *vm)
{
    vm_throw_exn(vm, EXN_KEY_NOT_FOUND,
                 "An index satisfying the predicate was not found in the collection.",
                 "An index satisfying the predicate was not found in the collection.");
}

/* The first cell whose head satisfies f, its index in *index; nil if none. */
static Value find_cell(fsrs_vm *vm, Value f, Value list, int64_t *index, const char *fn)
{
    need_list(vm, list, fn);
    int64_t i = 0;
    for (Value l = list; IS_CONS(l); l = AS_CONS(l)->tail, i++)
        if (vm_returns_bool(vm, vm_apply1_x(vm, f, AS_CONS(l)->head), fn)) {
            *index = i;
            return l;
        }
    return mk_nil();
}

static int l_find(ARGS)
{
    UNUSED;
    Value a0 = a[0], a1 = a[1];
    int64_t i;
    Value c = find_cell(vm, a0, a1, &i, "List.find");
    if (!IS_CONS(c))
        not_found(vm);
    *out = AS_CONS(c)->head;
    return 0;
}

static int l_try_find(ARGS)
{
    UNUSED;
    Value a0 = a[0], a1 = a[1];
    int64_t i;
    Value c = find_cell(vm, a0, a1, &i, "List.tryFind");
    *out = IS_CONS(c) ? vm_some_x(vm, AS_CONS(c)->head) : vm_none();
    return 0;
}

static int l_find_index(ARGS)
{
    UNUSED;
    Value a0 = a[0], a1 = a[1];
    int64_t i;
    Value c = find_cell(vm, a0, a1, &i, "List.findIndex");
    if (!IS_CONS(c))
        not_found(vm);
    *out = mk_int(i);
    return 0;
}

/* -------------------------------------------------------- arithmetic --- */

static int l_sum(ARGS)
{
    UNUSED;
    Value a0 = a[0];
    need_list(vm, a0, "List.sum");
    Value acc = mk_int(0);
    for (Value l = a0; IS_CONS(l); l = AS_CONS(l)->tail) {
        Value v = AS_CONS(l)->head;
        acc = vm_add_numbers(vm, l.as_.p == a0.as_.p && IS_FLOAT(v) ? mk_float(0) : acc, v,
                         "List.sum");
    }
    *out = acc;
    return 0;
}

static int l_sum_by(ARGS)
{
    UNUSED;
    Value a0 = a[0], a1 = a[1];
    need_list(vm, a1, "List.sumBy");
    Value f = a0;
    Value acc = mk_int(0);
    bool first = true;
    for (Value l = a1; IS_CONS(l); l = AS_CONS(l)->tail) {
        Value v = vm_apply1_x(vm, f, AS_CONS(l)->head);
        acc = first ? vm_add_numbers(vm, v, IS_FLOAT(v) ? mk_float(0) : mk_int(0), "List.sumBy")
                    : vm_add_numbers(vm, acc, v, "List.sumBy");
        first = false;
    }
    *out = acc;
    return 0;
}

static int l_average(ARGS)
{
    UNUSED;
    Value a0 = a[0];
    need_list(vm, a0, "List.average");
    if (!IS_CONS(a0))
        empty_list(vm);
    double s = 0;
    size_t n = 0;
    for (Value l = a0; IS_CONS(l); l = AS_CONS(l)->tail, n++) {
        if (!IS_FLOAT(AS_CONS(l)->head))
            vm_throw(vm, FSRS_ERUNTIME, "'List.average' expects floats, not %s",
                     value_type_name(AS_CONS(l)->head));
        s += AS_FLOAT(AS_CONS(l)->head);
    }
    *out = mk_float(s / (double)n);
    return 0;
}

/* max (dir 1) or min (dir -1): the first extreme item, as F# keeps */
static Value extreme(fsrs_vm *vm, Value list, int dir, const char *fn)
{
    need_list(vm, list, fn);
    if (!IS_CONS(list))
        empty_list(vm);
    Value best = AS_CONS(list)->head;
    for (Value l = AS_CONS(list)->tail; IS_CONS(l); l = AS_CONS(l)->tail)
        if (vm_compare(vm, AS_CONS(l)->head, best) * dir > 0)
            best = AS_CONS(l)->head;
    return best;
}

static int l_max(ARGS) { UNUSED; *out = extreme(vm, a[0], 1, "List.max"); return 0; }
static int l_min(ARGS) { UNUSED; *out = extreme(vm, a[0], -1, "List.min"); return 0; }

static Value extreme_by(fsrs_vm *vm, Value f, Value list, int dir, const char *fn)
{
    need_list(vm, list, fn);
    if (!IS_CONS(list))
        empty_list(vm);
    Value best = AS_CONS(list)->head;
    size_t key = vm_push_x(vm, vm_apply1_x(vm, f, best));
    for (Value l = AS_CONS(list)->tail; IS_CONS(l); l = AS_CONS(l)->tail) {
        Value k = vm_apply1_x(vm, f, AS_CONS(l)->head);
        if (vm_compare(vm, k, SLOT(key)) * dir > 0) {
            best = AS_CONS(l)->head;
            SLOT(key) = k;
        }
    }
    return best;
}

static int l_max_by(ARGS) { UNUSED; *out = extreme_by(vm, a[0], a[1], 1, "List.maxBy"); return 0; }
static int l_min_by(ARGS) { UNUSED; *out = extreme_by(vm, a[0], a[1], -1, "List.minBy"); return 0; }

/* ------------------------------------------------------------ sorting --- */

enum { BY_VALUE, BY_VALUE_DESC, BY_KEY, BY_FUNCTION };

typedef struct Sort {
    int mode;
    size_t items, keys; /* scratch slots; keys: BY_KEY */
    Value cmp;          /* BY_FUNCTION, rooted by the native's argument */
} Sort;

static int sort_cmp(fsrs_vm *vm, const Sort *s, int64_t i, int64_t j)
{
    switch (s->mode) {
    case BY_VALUE:
        return vm_compare(vm, scratch_items(vm, s->items)[i], scratch_items(vm, s->items)[j]);
    case BY_VALUE_DESC:
        return vm_compare(vm, scratch_items(vm, s->items)[j], scratch_items(vm, s->items)[i]);
    case BY_KEY:
        return vm_compare(vm, scratch_items(vm, s->keys)[i], scratch_items(vm, s->keys)[j]);
    default: {
        Value r = vm_apply2_x(vm, s->cmp, scratch_items(vm, s->items)[i],
                              scratch_items(vm, s->items)[j]);
        int64_t c = need_int(vm, r, "List.sortWith");
        return c < 0 ? -1 : c > 0;
    }
    }
}

/* A stable merge sort of the indices 0..n-1 in a scratch array; returns
 * the list of items in sorted order. */
static Value sort_list(fsrs_vm *vm, const Sort *s, size_t n)
{
    size_t idx = scratch_new(vm, n), tmp = scratch_new(vm, n);
    for (size_t i = 0; i < n; i++)
        scratch_items(vm, idx)[i] = mk_int((int64_t)i);
    for (size_t width = 1; width < n; width *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n;
            size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi) {
                int64_t x = AS_INT(scratch_items(vm, idx)[i]), y = AS_INT(scratch_items(vm, idx)[j]);
                if (sort_cmp(vm, s, y, x) < 0) {
                    scratch_items(vm, tmp)[k++] = mk_int(y);
                    j++;
                } else {
                    scratch_items(vm, tmp)[k++] = mk_int(x);
                    i++;
                }
            }
            while (i < mid)
                scratch_items(vm, tmp)[k++] = scratch_items(vm, idx)[i++];
            while (j < hi)
                scratch_items(vm, tmp)[k++] = scratch_items(vm, idx)[j++];
        }
        Value t = SLOT(idx);
        SLOT(idx) = SLOT(tmp);
        SLOT(tmp) = t;
    }
    /* reuse tmp for the items in order */
    for (size_t i = 0; i < n; i++)
        scratch_items(vm, tmp)[i] = scratch_items(vm, s->items)[AS_INT(scratch_items(vm, idx)[i])];
    return list_of(vm, tmp, 0, n);
}

static int sort_native(fsrs_vm *vm, Value list, int mode, Value fn, Value *out, const char *name)
{
    need_list(vm, list, name);
    Sort s = {mode, 0, 0, fn};
    size_t n;
    s.items = to_scratch(vm, list, &n);
    if (mode == BY_KEY) {
        s.keys = scratch_new(vm, n);
        for (size_t i = 0; i < n; i++) {
            Value k = vm_apply1_x(vm, fn, scratch_items(vm, s.items)[i]);
            scratch_items(vm, s.keys)[i] = k;
        }
    }
    *out = sort_list(vm, &s, n);
    return 0;
}

static int l_sort(ARGS) { UNUSED; return sort_native(vm, a[0], BY_VALUE, mk_unit(), out, "List.sort"); }
static int l_sort_desc(ARGS)
{
    UNUSED;
    Value a0 = a[0];
    return sort_native(vm, a0, BY_VALUE_DESC, mk_unit(), out, "List.sortDescending");
}
static int l_sort_by(ARGS) { UNUSED; return sort_native(vm, a[1], BY_KEY, a[0], out, "List.sortBy"); }
static int l_sort_with(ARGS)
{
    UNUSED;
    Value a0 = a[0], a1 = a[1];
    return sort_native(vm, a1, BY_FUNCTION, a0, out, "List.sortWith");
}

/* ------------------------------------------------------ keys, grouping --- */

/*
 * Distinct keys in order of first appearance, found through a hash table
 * (a scratch array of 2^k slots holding key numbers + 1, 0 for empty).
 * keys: scratch slot of n keys; returns the scratch slot of group[i] =
 * the number of the distinct key of item i; *ngroups the count, and
 * *first the slot of a scratch array: first item of each group.
 */
static size_t group_keys(fsrs_vm *vm, size_t keys, size_t n, size_t *ngroups, size_t *first)
{
    size_t cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    size_t table = scratch_new(vm, cap);
    size_t group = scratch_new(vm, n);
    *first = scratch_new(vm, n);
    size_t g = 0;
    for (size_t i = 0; i < cap; i++)
        scratch_items(vm, table)[i] = mk_int(0);
    for (size_t i = 0; i < n; i++) {
        Value k = scratch_items(vm, keys)[i];
        size_t h = value_hash(k) & (cap - 1);
        for (;;) {
            int64_t e = AS_INT(scratch_items(vm, table)[h]);
            if (e == 0) {
                scratch_items(vm, table)[h] = mk_int((int64_t)g + 1);
                scratch_items(vm, *first)[g] = mk_int((int64_t)i);
                scratch_items(vm, group)[i] = mk_int((int64_t)g++);
                break;
            }
            int64_t fi = AS_INT(scratch_items(vm, *first)[e - 1]);
            if (value_equal(scratch_items(vm, keys)[fi], k)) {
                scratch_items(vm, group)[i] = mk_int(e - 1);
                break;
            }
            h = (h + 1) & (cap - 1);
        }
    }
    *ngroups = g;
    return group;
}

/* keys of the items: f applied to each (f unit: the items themselves) */
static size_t keys_of(fsrs_vm *vm, Value f, size_t items, size_t n, bool apply)
{
    if (!apply)
        return items;
    size_t keys = scratch_new(vm, n);
    for (size_t i = 0; i < n; i++) {
        Value k = vm_apply1_x(vm, f, scratch_items(vm, items)[i]);
        scratch_items(vm, keys)[i] = k;
    }
    return keys;
}

static int l_distinct(ARGS)
{
    UNUSED;
    Value a0 = a[0];
    need_list(vm, a0, "List.distinct");
    size_t n, ng, first;
    size_t items = to_scratch(vm, a0, &n);
    group_keys(vm, items, n, &ng, &first);
    for (size_t g = 0; g < ng; g++)
        scratch_items(vm, first)[g] = scratch_items(vm, items)[AS_INT(scratch_items(vm, first)[g])];
    *out = list_of(vm, first, 0, ng);
    return 0;
}

static int l_count_by(ARGS)
{
    UNUSED;
    Value a0 = a[0], a1 = a[1];
    need_list(vm, a1, "List.countBy");
    size_t n, ng, first;
    size_t items = to_scratch(vm, a1, &n);
    size_t keys = keys_of(vm, a0, items, n, true);
    size_t group = group_keys(vm, keys, n, &ng, &first);
    size_t counts = scratch_new(vm, ng);
    for (size_t g = 0; g < ng; g++)
        scratch_items(vm, counts)[g] = mk_int(0);
    for (size_t i = 0; i < n; i++)
        scratch_items(vm, counts)[AS_INT(scratch_items(vm, group)[i])].as_.i++;
    size_t k = vm_push_x(vm, mk_unit()), c = vm_push_x(vm, mk_unit());
    for (size_t g = 0; g < ng; g++) {
        SLOT(k) = scratch_items(vm, keys)[AS_INT(scratch_items(vm, first)[g])];
        SLOT(c) = scratch_items(vm, counts)[g];
        Value p = vm_pair_x(vm, k, c);
        scratch_items(vm, counts)[g] = p;
    }
    *out = list_of(vm, counts, 0, ng);
    return 0;
}

static int l_group_by(ARGS)
{
    UNUSED;
    Value a0 = a[0], a1 = a[1];
    need_list(vm, a1, "List.groupBy");
    size_t n, ng, first;
    size_t items = to_scratch(vm, a1, &n);
    size_t keys = keys_of(vm, a0, items, n, true);
    size_t group = group_keys(vm, keys, n, &ng, &first);
    size_t members = scratch_new(vm, ng);
    for (size_t g = 0; g < ng; g++)
        scratch_items(vm, members)[g] = mk_nil();
    for (size_t i = n; i-- > 0;) {
        int64_t g = AS_INT(scratch_items(vm, group)[i]);
        Value c = cons_x(vm, scratch_items(vm, items)[i], scratch_items(vm, members)[g]);
        scratch_items(vm, members)[g] = c;
    }
    size_t k = vm_push_x(vm, mk_unit()), m = vm_push_x(vm, mk_unit());
    for (size_t g = 0; g < ng; g++) {
        SLOT(k) = scratch_items(vm, keys)[AS_INT(scratch_items(vm, first)[g])];
        SLOT(m) = scratch_items(vm, members)[g];
        Value p = vm_pair_x(vm, k, m);
        scratch_items(vm, members)[g] = p;
    }
    *out = list_of(vm, members, 0, ng);
    return 0;
}

/* -------------------------------------------------------------- pairs --- */

static int l_zip(ARGS)
{
    UNUSED;
    Value a0 = a[0], a1 = a[1];
    need_list(vm, a0, "List.zip");
    need_list(vm, a1, "List.zip");
    size_t n1 = list_len(a0), n2 = list_len(a1);
    if (n1 != n2) {
        char m[256];
        snprintf(m, sizeof m,
                 "The lists had different lengths.\n    list1.Length = %zu, list2.Length = %zu "
                 "(Parameter 'list2')",
                 n1, n2);
        vm_throw_exn(vm, EXN_ARGUMENT, m, "%s", m);
    }
    Builder b = builder_new(vm);
    size_t x = vm_push_x(vm, mk_unit()), y = vm_push_x(vm, mk_unit());
    for (Value l = a0, r = a1; IS_CONS(l); l = AS_CONS(l)->tail, r = AS_CONS(r)->tail) {
        SLOT(x) = AS_CONS(l)->head;
        SLOT(y) = AS_CONS(r)->head;
        builder_add(vm, &b, vm_pair_x(vm, x, y));
    }
    *out = SLOT(b.slot);
    return 0;
}

static int l_unzip(ARGS)
{
    UNUSED;
    Value a0 = a[0];
    need_list(vm, a0, "List.unzip");
    Builder l1 = builder_new(vm), l2 = builder_new(vm);
    for (Value l = a0; IS_CONS(l); l = AS_CONS(l)->tail) {
        Value p = AS_CONS(l)->head;
        if (!IS_TUPLE(p) || AS_TUPLE(p)->n != 2)
            vm_throw(vm, FSRS_ERUNTIME, "'List.unzip' expects a list of pairs, not of %s",
                     value_type_name(p));
        builder_add(vm, &l1, AS_TUPLE(p)->items[0]);
        builder_add(vm, &l2, AS_TUPLE(p)->items[1]);
    }
    *out = vm_pair_x(vm, l1.slot, l2.slot);
    return 0;
}

static int l_partition(ARGS)
{
    UNUSED;
    Value a0 = a[0], a1 = a[1];
    need_list(vm, a1, "List.partition");
    Value f = a0;
    Builder yes = builder_new(vm), no = builder_new(vm);
    for (Value l = a1; IS_CONS(l); l = AS_CONS(l)->tail)
        builder_add(vm,
                    vm_returns_bool(vm, vm_apply1_x(vm, f, AS_CONS(l)->head), "List.partition")
                        ? &yes
                        : &no,
                    AS_CONS(l)->head);
    *out = vm_pair_x(vm, yes.slot, no.slot);
    return 0;
}

/* -------------------------------------------------------------- table --- */

static const ObjNative natives[] = {
    VM_NATIVE("List.length", 1, l_length),       VM_NATIVE("List.head", 1, l_head),
    VM_NATIVE("List.tail", 1, l_tail),           VM_NATIVE("List.isEmpty", 1, l_is_empty),
    VM_NATIVE("List.last", 1, l_last),           VM_NATIVE("List.tryHead", 1, l_try_head),
    VM_NATIVE("List.rev", 1, l_rev),             VM_NATIVE("List.append", 2, l_append),
    VM_NATIVE("List.concat", 1, l_concat),       VM_NATIVE("List.item", 2, l_item),
    VM_NATIVE("List.contains", 2, l_contains),   VM_NATIVE("List.replicate", 2, l_replicate),
    VM_NATIVE("List.take", 2, l_take),           VM_NATIVE("List.truncate", 2, l_truncate),
    VM_NATIVE("List.skip", 2, l_skip),           VM_NATIVE("List.map", 2, l_map),
    VM_NATIVE("List.mapi", 2, l_mapi),           VM_NATIVE("List.iter", 2, l_iter),
    VM_NATIVE("List.iteri", 2, l_iteri),         VM_NATIVE("List.filter", 2, l_filter),
    VM_NATIVE("List.choose", 2, l_choose),       VM_NATIVE("List.collect", 2, l_collect),
    VM_NATIVE("List.fold", 3, l_fold),           VM_NATIVE("List.foldBack", 3, l_fold_back),
    VM_NATIVE("List.reduce", 2, l_reduce),       VM_NATIVE("List.init", 2, l_init),
    VM_NATIVE("List.exists", 2, l_exists),       VM_NATIVE("List.forall", 2, l_forall),
    VM_NATIVE("List.find", 2, l_find),           VM_NATIVE("List.tryFind", 2, l_try_find),
    VM_NATIVE("List.findIndex", 2, l_find_index), VM_NATIVE("List.sum", 1, l_sum),
    VM_NATIVE("List.sumBy", 2, l_sum_by),        VM_NATIVE("List.average", 1, l_average),
    VM_NATIVE("List.max", 1, l_max),             VM_NATIVE("List.min", 1, l_min),
    VM_NATIVE("List.maxBy", 2, l_max_by),        VM_NATIVE("List.minBy", 2, l_min_by),
    VM_NATIVE("List.sort", 1, l_sort),           VM_NATIVE("List.sortDescending", 1, l_sort_desc),
    VM_NATIVE("List.sortBy", 2, l_sort_by),      VM_NATIVE("List.sortWith", 2, l_sort_with),
    VM_NATIVE("List.distinct", 1, l_distinct),   VM_NATIVE("List.countBy", 2, l_count_by),
    VM_NATIVE("List.groupBy", 2, l_group_by),    VM_NATIVE("List.zip", 2, l_zip),
    VM_NATIVE("List.unzip", 1, l_unzip),         VM_NATIVE("List.partition", 2, l_partition),
};

const NativeTable lib_list_table = VM_NATIVE_TABLE(natives);
