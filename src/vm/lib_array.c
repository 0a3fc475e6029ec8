/*
 * vm/lib_array.c - arrays: the Array module (length, create, sub, sort,
 * and the functions that take a function: map, fold, filter, sortBy, ...),
 * the conversions List.ofArray and List.toArray, and the hidden natives the
 * compiler emits for array syntax: `[| ... |]` ($array), `a.[i]` ($index,
 * which also reads strings and lists), `a.[i] <- v` ($setindex), array
 * patterns ($array_len_is), `for x in a do` ($seq, $seq_length) and the
 * end of an array comprehension ($array_of_rev).
 *
 * The table at the end is one of the tables builtins.c searches; the
 * compiler finds these functions by name (builtin_lookup) and the VM by
 * index (OP_BUILTIN).  Each function runs on the thread of the VM that
 * calls it and touches only that VM's heap; the table itself is static,
 * read-only data shared by every thread.
 */
#include <stdio.h>
#include <string.h>

#include "lang/compile.h"
#include "util/error.h"
#include "util/utf8.h"
#include "vm/tree.h"
#include "vm/vm.h"

#define ARGS fsrs_vm *vm, const Value *a, int argc, Value *out, void *ud
#define UNUSED (void)argc, (void)ud

#define OUT_OF_BOUNDS "Index was outside the bounds of the array."

/* ------------------------------------------------------------- helpers --- */

static ObjArray *array_new(fsrs_vm *vm, int64_t n)
{
    if (n < 0)
        vm_throw(vm, FSRS_ERUNTIME, "The input must be non-negative. (Parameter 'count')");
    if ((uint64_t)n > (UINT32_MAX - sizeof(ObjArray)) / sizeof(Value))
        vm_throw(vm, FSRS_ELIMIT, "array too large (%lld elements)", (long long)n);
    ObjArray *arr = gc_alloc_x(vm, sizeof(ObjArray) + (size_t)n * sizeof(Value), O_ARRAY);
    arr->n = (uint32_t)n;
    for (int64_t i = 0; i < n; i++)
        arr->items[i] = mk_unit();
    return arr;
}

static ObjArray *want_array(fsrs_vm *vm, Value v, const char *fn)
{
    if (!IS_ARRAY(v))
        vm_throw(vm, FSRS_ERUNTIME, "'%s' expects an array, not %s", fn, value_type_name(v));
    return AS_ARRAY(v);
}

static int64_t want_int(fsrs_vm *vm, Value v, const char *what)
{
    if (!IS_INT(v))
        vm_throw(vm, FSRS_ERUNTIME, "%s must be an int, not %s", what, value_type_name(v));
    return AS_INT(v);
}

static void want_list(fsrs_vm *vm, Value v, const char *fn)
{
    if (!IS_NIL(v) && !IS_CONS(v))
        vm_throw(vm, FSRS_ERUNTIME, "'%s' expects a list, not %s", fn, value_type_name(v));
}

/* Keep v alive across allocations until the native returns; returns its
 * slot in the handle stack (the caller may overwrite it). */
static size_t root(fsrs_vm *vm, Value v)
{
    if (!handle_push(vm, v))
        vm_throw(vm, FSRS_ENOMEM, "out of memory");
    return vm->nhandles - 1;
}

/* The list of n values, built from the last one. */
static Value list_of(fsrs_vm *vm, const Value *items, uint32_t n)
{
    size_t h = root(vm, mk_nil());
    for (uint32_t i = n; i-- > 0;)
        vm->handles[h] = cons_x(vm, items[i], vm->handles[h]);
    return vm->handles[h];
}

static ObjArray *array_of_list(fsrs_vm *vm, Value list, const char *fn)
{
    want_list(vm, list, fn);
    int64_t n = 0;
    for (Value x = list; IS_CONS(x); x = AS_CONS(x)->tail)
        n++;
    ObjArray *arr = array_new(vm, n);
    uint32_t i = 0;
    for (Value x = list; IS_CONS(x); x = AS_CONS(x)->tail)
        arr->items[i++] = AS_CONS(x)->head;
    return arr;
}

/* The char that starts at byte i of a UTF-8 string, and its length. */
static uint32_t char_at(const ObjString *s, uint32_t i, uint32_t *len_out)
{
    size_t j = i;
    uint32_t cp = utf8_decode(s->chars, s->len, &j);
    *len_out = (uint32_t)(j - i);
    return cp;
}

/* Heapsort: in place, no memory to give back if a comparison throws. */
static void sift_down(fsrs_vm *vm, Value *v, uint32_t root_i, uint32_t n)
{
    for (;;) {
        uint32_t child = 2 * root_i + 1;
        if (child >= n)
            return;
        if (child + 1 < n && vm_compare(vm, v[child], v[child + 1]) < 0)
            child++;
        if (vm_compare(vm, v[root_i], v[child]) >= 0)
            return;
        Value t = v[root_i];
        v[root_i] = v[child];
        v[child] = t;
        root_i = child;
    }
}

static void sort_values(fsrs_vm *vm, Value *v, uint32_t n)
{
    if (n < 2)
        return;
    for (uint32_t i = n / 2; i-- > 0;)
        sift_down(vm, v, i, n);
    for (uint32_t end = n - 1; end > 0; end--) {
        Value t = v[0];
        v[0] = v[end];
        v[end] = t;
        sift_down(vm, v, 0, end);
    }
}

/* ------------------------------------------------- natives for syntax --- */

/* [| a; b |] from the tuple (a, b); [| lo .. hi |] from the list; [||]
 * from (). */
static int ar_make(ARGS)
{
    UNUSED;
    Value v = a[0];
    if (IS_UNIT(v)) {
        *out = mk_obj(array_new(vm, 0));
    } else if (IS_TUPLE(v)) {
        ObjArray *arr = array_new(vm, AS_TUPLE(v)->n);
        memcpy(arr->items, AS_TUPLE(a[0])->items, arr->n * sizeof(Value));
        *out = mk_obj(arr);
    } else {
        *out = mk_obj(array_of_list(vm, v, "[| .. |]"));
    }
    return 0;
}

/* c.[i] for an array, a string (a char) or a list. */
static int ar_index(ARGS)
{
    UNUSED;
    Value c = a[0];
    if (IS_ARRAY(c)) {
        int64_t i = want_int(vm, a[1], "an array index");
        if (i < 0 || i >= AS_ARRAY(c)->n)
            vm_throw_exn(vm, EXN_INDEX_OUT_OF_RANGE, NULL, OUT_OF_BOUNDS);
        *out = AS_ARRAY(c)->items[i];
        return 0;
    }
    if (IS_MAP(c)) {
        /* m.[key], as m.Item(key) */
        const TreeNode *n = tree_find(vm, AS_TREE(c), a[1]);
        if (!n)
            vm_throw_exn(vm, EXN_KEY_NOT_FOUND, NULL,
                         "The given key was not present in the dictionary.");
        *out = n->val;
        return 0;
    }
    if (IS_STRING(c)) {
        /* indexes count UTF-16 code units, as .Length and Substring do */
        const ObjString *s = AS_STRING(c);
        int64_t i = want_int(vm, a[1], "a string index");
        if (i < 0 || i >= utf16_length(s->chars, s->len))
            vm_throw_exn(vm, EXN_INDEX_OUT_OF_RANGE, NULL, OUT_OF_BOUNDS);
        uint32_t n;
        *out = mk_char(char_at(s, (uint32_t)utf16_offset(s->chars, s->len, i), &n));
        return 0;
    }
    if (IS_NIL(c) || IS_CONS(c)) {
        int64_t i = want_int(vm, a[1], "a list index");
        Value x = c;
        for (int64_t k = 0; k < i && IS_CONS(x); k++)
            x = AS_CONS(x)->tail;
        if (i < 0 || !IS_CONS(x))
            vm_throw(vm, FSRS_ERUNTIME, "The index was outside the range of elements in the "
                                        "list. (Parameter 'index')");
        *out = AS_CONS(x)->head;
        return 0;
    }
    vm_throw(vm, FSRS_ERUNTIME, "a value of type %s cannot be indexed", value_type_name(c));
}

/* a.[i] <- v */
static int ar_setindex(ARGS)
{
    UNUSED;
    if (!IS_ARRAY(a[0])) {
        if (IS_STRING(a[0]))
            vm_throw(vm, FSRS_ERUNTIME, "strings are immutable: a string element cannot be "
                                        "assigned");
        vm_throw(vm, FSRS_ERUNTIME, "a value of type %s cannot be assigned by index",
                 value_type_name(a[0]));
    }
    int64_t i = want_int(vm, a[1], "an array index");
    ObjArray *arr = AS_ARRAY(a[0]);
    if (i < 0 || i >= arr->n)
        vm_throw_exn(vm, EXN_INDEX_OUT_OF_RANGE, NULL, OUT_OF_BOUNDS);
    arr->items[i] = a[2];
    *out = mk_unit();
    return 0;
}

/* Array pattern test: is a[0] an array of length a[1]? */
static int ar_len_is(ARGS)
{
    UNUSED;
    (void)vm;
    *out = mk_bool(IS_ARRAY(a[0]) && (int64_t)AS_ARRAY(a[0])->n == AS_INT(a[1]));
    return 0;
}

/* for x in c: a string is walked as the list of its chars, a set as the
 * list of its elements; an array (by index, see $seq_length) or a list as
 * it is; anything else is left to the loop to reject. */
static int ar_seq(ARGS)
{
    UNUSED;
    Value c = a[0];
    if (IS_STRING(c)) {
        size_t h = root(vm, mk_nil());
        /* chars from the end: find each char's start going backwards */
        const ObjString *s = AS_STRING(c);
        uint32_t i = s->len;
        while (i > 0) {
            uint32_t start = i - 1;
            while (start > 0 && ((unsigned char)s->chars[start] & 0xC0) == 0x80 && i - start < 4)
                start--;
            uint32_t n;
            uint32_t cp = char_at(s, start, &n);
            if (start + n != i) {
                /* not a whole sequence: take the last byte alone */
                start = i - 1;
                cp = (unsigned char)s->chars[start];
            }
            vm->handles[h] = cons_x(vm, mk_char(cp), vm->handles[h]);
            i = start;
        }
        *out = vm->handles[h];
    } else if (IS_SET(c)) {
        /* a set is walked in order: the list of its elements */
        size_t h = root(vm, mk_nil());
        TreeIter it;
        tree_iter_init(&it, AS_TREE(c), true);
        for (const TreeNode *n = tree_next(&it); n; n = tree_next(&it))
            vm->handles[h] = cons_x(vm, n->key, vm->handles[h]);
        *out = vm->handles[h];
    } else {
        *out = c;
    }
    return 0;
}

/* for x in c: the length of an array, walked by index; -1 for anything
 * else, walked as a list. */
static int ar_seq_length(ARGS)
{
    UNUSED;
    (void)vm;
    *out = mk_int(IS_ARRAY(a[0]) ? (int64_t)AS_ARRAY(a[0])->n : -1);
    return 0;
}

/* The end of [| ... |] with a loop or a yield (lang/compile.c): the
 * values yielded, collected latest first in a list, into an array in the
 * order they came. */
static int ar_of_rev(ARGS)
{
    UNUSED;
    int64_t n = 0;
    for (Value l = a[0]; IS_CONS(l); l = AS_CONS(l)->tail)
        n++;
    ObjArray *arr = array_new(vm, n);
    Value l = a[0];
    for (int64_t i = n - 1; i >= 0; i--, l = AS_CONS(l)->tail)
        arr->items[i] = AS_CONS(l)->head;
    *out = mk_obj(arr);
    return 0;
}

/* ------------------------------------------------------- Array module --- */

static int ar_length(ARGS)
{
    UNUSED;
    *out = mk_int(want_array(vm, a[0], "Array.length")->n);
    return 0;
}

static int ar_is_empty(ARGS)
{
    UNUSED;
    *out = mk_bool(want_array(vm, a[0], "Array.isEmpty")->n == 0);
    return 0;
}

static int ar_create(ARGS)
{
    UNUSED;
    ObjArray *arr = array_new(vm, want_int(vm, a[0], "the count of 'Array.create'"));
    for (uint32_t i = 0; i < arr->n; i++)
        arr->items[i] = a[1];
    *out = mk_obj(arr);
    return 0;
}

/* Without a type checker the element type is unknown: zeros are ints. */
static int ar_zero_create(ARGS)
{
    UNUSED;
    ObjArray *arr = array_new(vm, want_int(vm, a[0], "the count of 'Array.zeroCreate'"));
    for (uint32_t i = 0; i < arr->n; i++)
        arr->items[i] = mk_int(0);
    *out = mk_obj(arr);
    return 0;
}

static int ar_get(ARGS)
{
    UNUSED;
    ObjArray *arr = want_array(vm, a[0], "Array.get");
    int64_t i = want_int(vm, a[1], "an array index");
    if (i < 0 || i >= arr->n)
        vm_throw_exn(vm, EXN_INDEX_OUT_OF_RANGE, NULL, OUT_OF_BOUNDS);
    *out = arr->items[i];
    return 0;
}

static int ar_set(ARGS)
{
    want_array(vm, a[0], "Array.set");
    return ar_setindex(vm, a, argc, out, ud);
}

static int ar_copy(ARGS)
{
    UNUSED;
    want_array(vm, a[0], "Array.copy");
    ObjArray *arr = array_new(vm, AS_ARRAY(a[0])->n);
    memcpy(arr->items, AS_ARRAY(a[0])->items, arr->n * sizeof(Value));
    *out = mk_obj(arr);
    return 0;
}

static int ar_sub(ARGS)
{
    UNUSED;
    want_array(vm, a[0], "Array.sub");
    int64_t start = want_int(vm, a[1], "the start index of 'Array.sub'");
    int64_t count = want_int(vm, a[2], "the count of 'Array.sub'");
    if (start < 0)
        vm_throw(vm, FSRS_ERUNTIME, "The input must be non-negative. (Parameter 'startIndex')");
    if (count < 0)
        vm_throw(vm, FSRS_ERUNTIME, "The input must be non-negative. (Parameter 'count')");
    if (start > AS_ARRAY(a[0])->n || count > AS_ARRAY(a[0])->n - start)
        vm_throw(vm, FSRS_ERUNTIME, "The index is outside the legal range. (Parameter 'count')");
    ObjArray *arr = array_new(vm, count);
    memcpy(arr->items, AS_ARRAY(a[0])->items + start, (size_t)count * sizeof(Value));
    *out = mk_obj(arr);
    return 0;
}

static int ar_append(ARGS)
{
    UNUSED;
    uint32_t n1 = want_array(vm, a[0], "Array.append")->n;
    uint32_t n2 = want_array(vm, a[1], "Array.append")->n;
    ObjArray *arr = array_new(vm, (int64_t)n1 + n2);
    memcpy(arr->items, AS_ARRAY(a[0])->items, n1 * sizeof(Value));
    memcpy(arr->items + n1, AS_ARRAY(a[1])->items, n2 * sizeof(Value));
    *out = mk_obj(arr);
    return 0;
}

static int ar_sum(ARGS)
{
    UNUSED;
    ObjArray *arr = want_array(vm, a[0], "Array.sum");
    if (arr->n && IS_FLOAT(arr->items[0])) {
        double s = 0;
        for (uint32_t i = 0; i < arr->n; i++) {
            if (!IS_FLOAT(arr->items[i]))
                vm_throw(vm, FSRS_ERUNTIME, "'Array.sum' expects numbers of one type");
            s += AS_FLOAT(arr->items[i]);
        }
        *out = mk_float(s);
        return 0;
    }
    uint64_t s = 0;
    for (uint32_t i = 0; i < arr->n; i++) {
        if (!IS_INT(arr->items[i]))
            vm_throw(vm, FSRS_ERUNTIME, "'Array.sum' expects numbers, not %s",
                     value_type_name(arr->items[i]));
        s += (uint64_t)AS_INT(arr->items[i]);
    }
    *out = mk_int((int64_t)s);
    return 0;
}

static int ar_sort(ARGS)
{
    UNUSED;
    want_array(vm, a[0], "Array.sort");
    ObjArray *arr = array_new(vm, AS_ARRAY(a[0])->n);
    memcpy(arr->items, AS_ARRAY(a[0])->items, arr->n * sizeof(Value));
    *out = mk_obj(arr);
    root(vm, *out);
    sort_values(vm, arr->items, arr->n);
    return 0;
}

static int ar_sort_in_place(ARGS)
{
    UNUSED;
    ObjArray *arr = want_array(vm, a[0], "Array.sortInPlace");
    sort_values(vm, arr->items, arr->n);
    *out = mk_unit();
    return 0;
}

static int ar_contains(ARGS)
{
    UNUSED;
    ObjArray *arr = want_array(vm, a[1], "Array.contains");
    bool found = false;
    for (uint32_t i = 0; i < arr->n && !found; i++)
        found = value_equal(a[0], arr->items[i]);
    *out = mk_bool(found);
    return 0;
}

static int ar_rev(ARGS)
{
    UNUSED;
    uint32_t n = want_array(vm, a[0], "Array.rev")->n;
    ObjArray *arr = array_new(vm, n);
    for (uint32_t i = 0; i < n; i++)
        arr->items[i] = AS_ARRAY(a[0])->items[n - 1 - i];
    *out = mk_obj(arr);
    return 0;
}

static int ar_to_list(ARGS)
{
    UNUSED;
    ObjArray *arr = want_array(vm, a[0], "Array.toList");
    *out = list_of(vm, arr->items, arr->n);
    return 0;
}

static int ar_of_list(ARGS)
{
    UNUSED;
    *out = mk_obj(array_of_list(vm, a[0], "Array.ofList"));
    return 0;
}

static int list_to_array(ARGS)
{
    UNUSED;
    *out = mk_obj(array_of_list(vm, a[0], "List.toArray"));
    return 0;
}

static int list_of_array(ARGS)
{
    UNUSED;
    ObjArray *arr = want_array(vm, a[0], "List.ofArray");
    *out = list_of(vm, arr->items, arr->n);
    return 0;
}

/* Array.blit source sourceIndex target targetIndex count */
static int ar_blit(ARGS)
{
    UNUSED;
    ObjArray *src = want_array(vm, a[0], "Array.blit");
    ObjArray *dst = want_array(vm, a[2], "Array.blit");
    int64_t si = want_int(vm, a[1], "the source index of 'Array.blit'");
    int64_t di = want_int(vm, a[3], "the target index of 'Array.blit'");
    int64_t n = want_int(vm, a[4], "the count of 'Array.blit'");
    if (si < 0 || di < 0 || n < 0 || si > src->n || n > src->n - si || di > dst->n ||
        n > dst->n - di)
        vm_throw(vm, FSRS_ERUNTIME, "The index is outside the legal range.");
    memmove(dst->items + di, src->items + si, (size_t)n * sizeof(Value));
    *out = mk_unit();
    return 0;
}

/* Array.fill target targetIndex count value */
static int ar_fill(ARGS)
{
    UNUSED;
    ObjArray *arr = want_array(vm, a[0], "Array.fill");
    int64_t start = want_int(vm, a[1], "the target index of 'Array.fill'");
    int64_t n = want_int(vm, a[2], "the count of 'Array.fill'");
    if (start < 0 || n < 0 || start > arr->n || n > arr->n - start)
        vm_throw(vm, FSRS_ERUNTIME, "The index is outside the legal range.");
    for (int64_t i = 0; i < n; i++)
        arr->items[start + i] = a[3];
    *out = mk_unit();
    return 0;
}

/* ------------------------------------- Array functions taking functions --- */

/*
 * These call script functions with vm_apply_x and follow its rules (vm.h):
 * during each call the VM stack may move and the collector may run.  The
 * input array is rooted by the native's argument slot and heap objects do
 * not move, so a C pointer to it stays valid; what is being built (result
 * arrays, scratch arrays, accumulators) lives in VM stack slots pushed
 * with vm_push_x and is reached through the slot index after every call.
 * Scratch space is on the heap, never malloc'd, since an exception may
 * leave the native at any call.
 */

#define SLOT(i) (vm->stack[i])
#define ARR(i) AS_ARRAY(vm->stack[i])

static _Noreturn void empty_array(fsrs_vm *vm)
{
    vm_throw_exn(vm, EXN_ARGUMENT, "The input array was empty. (Parameter 'array')",
                 "The input array was empty. (Parameter 'array')");
}

static _Noreturn void index_not_found(fsrs_vm *vm)
{
    vm_throw_exn(vm, EXN_KEY_NOT_FOUND,
                 "An index satisfying the predicate was not found in the collection.",
                 "An index satisfying the predicate was not found in the collection.");
}

/* A new array of n >= 0 elements rooted in a VM stack slot; returns the
 * slot. */
static size_t array_slot(fsrs_vm *vm, uint32_t n)
{
    return vm_push_x(vm, mk_obj(array_new(vm, n)));
}

/* A new array holding the first n elements of the array in slot s. */
static Value array_prefix(fsrs_vm *vm, size_t s, uint32_t n)
{
    ObjArray *arr = array_new(vm, n);
    memcpy(arr->items, ARR(s)->items, n * sizeof(Value));
    return mk_obj(arr);
}

static int ar_init(ARGS)
{
    UNUSED;
    Value f = a[1];
    int64_t n = want_int(vm, a[0], "the count of 'Array.init'");
    if (n < 0) {
        /* FSharp.Core's invalidArgInputMustBeNonNegative */
        char m[128];
        snprintf(m, sizeof m, "The input must be non-negative.\ncount = %lld (Parameter 'count')",
                 (long long)n);
        vm_throw_exn(vm, EXN_ARGUMENT, m, "%s", m);
    }
    if (n > UINT32_MAX)
        vm_throw(vm, FSRS_ELIMIT, "array too large (%lld elements)", (long long)n);
    size_t r = array_slot(vm, (uint32_t)n);
    for (uint32_t i = 0; i < ARR(r)->n; i++) {
        Value v = vm_apply1_x(vm, f, mk_int(i));
        ARR(r)->items[i] = v;
    }
    *out = SLOT(r);
    return 0;
}

static int ar_map(ARGS)
{
    UNUSED;
    Value f = a[0];
    const ObjArray *src = want_array(vm, a[1], "Array.map");
    size_t r = array_slot(vm, src->n);
    for (uint32_t i = 0; i < ARR(r)->n; i++) {
        Value v = vm_apply1_x(vm, f, src->items[i]);
        ARR(r)->items[i] = v;
    }
    *out = SLOT(r);
    return 0;
}

static int ar_mapi(ARGS)
{
    UNUSED;
    Value f = a[0];
    const ObjArray *src = want_array(vm, a[1], "Array.mapi");
    size_t r = array_slot(vm, src->n);
    for (uint32_t i = 0; i < ARR(r)->n; i++) {
        Value v = vm_apply2_x(vm, f, mk_int(i), src->items[i]);
        ARR(r)->items[i] = v;
    }
    *out = SLOT(r);
    return 0;
}

static int ar_iter(ARGS)
{
    UNUSED;
    Value f = a[0];
    const ObjArray *src = want_array(vm, a[1], "Array.iter");
    for (uint32_t i = 0; i < src->n; i++)
        vm_apply1_x(vm, f, src->items[i]);
    *out = mk_unit();
    return 0;
}

static int ar_iteri(ARGS)
{
    UNUSED;
    Value f = a[0];
    const ObjArray *src = want_array(vm, a[1], "Array.iteri");
    for (uint32_t i = 0; i < src->n; i++)
        vm_apply2_x(vm, f, mk_int(i), src->items[i]);
    *out = mk_unit();
    return 0;
}

static int ar_fold(ARGS)
{
    UNUSED;
    Value f = a[0];
    const ObjArray *src = want_array(vm, a[2], "Array.fold");
    size_t acc = vm_push_x(vm, a[1]);
    for (uint32_t i = 0; i < src->n; i++) {
        /* the stack may move during the call: no slot address before it */
        Value v = vm_apply2_x(vm, f, SLOT(acc), src->items[i]);
        SLOT(acc) = v;
    }
    *out = SLOT(acc);
    return 0;
}

static int ar_fold_back(ARGS)
{
    UNUSED;
    Value f = a[0];
    const ObjArray *src = want_array(vm, a[1], "Array.foldBack");
    size_t acc = vm_push_x(vm, a[2]);
    for (uint32_t i = src->n; i-- > 0;) {
        Value v = vm_apply2_x(vm, f, src->items[i], SLOT(acc));
        SLOT(acc) = v;
    }
    *out = SLOT(acc);
    return 0;
}

static int ar_reduce(ARGS)
{
    UNUSED;
    Value f = a[0];
    const ObjArray *src = want_array(vm, a[1], "Array.reduce");
    if (src->n == 0)
        empty_array(vm);
    size_t acc = vm_push_x(vm, src->items[0]);
    for (uint32_t i = 1; i < src->n; i++) {
        Value v = vm_apply2_x(vm, f, SLOT(acc), src->items[i]);
        SLOT(acc) = v;
    }
    *out = SLOT(acc);
    return 0;
}

static int ar_filter(ARGS)
{
    UNUSED;
    Value f = a[0];
    const ObjArray *src = want_array(vm, a[1], "Array.filter");
    size_t keep = array_slot(vm, src->n);
    uint32_t k = 0;
    for (uint32_t i = 0; i < src->n; i++)
        if (vm_returns_bool(vm, vm_apply1_x(vm, f, src->items[i]), "Array.filter"))
            ARR(keep)->items[k++] = src->items[i];
    *out = array_prefix(vm, keep, k);
    return 0;
}

static int ar_choose(ARGS)
{
    UNUSED;
    Value f = a[0];
    const ObjArray *src = want_array(vm, a[1], "Array.choose");
    size_t keep = array_slot(vm, src->n);
    uint32_t k = 0;
    for (uint32_t i = 0; i < src->n; i++) {
        Value v;
        if (vm_returns_some(vm, vm_apply1_x(vm, f, src->items[i]), &v, "Array.choose"))
            ARR(keep)->items[k++] = v;
    }
    *out = array_prefix(vm, keep, k);
    return 0;
}

static int ar_collect(ARGS)
{
    UNUSED;
    Value f = a[0];
    const ObjArray *src = want_array(vm, a[1], "Array.collect");
    size_t parts = array_slot(vm, src->n);
    uint64_t total = 0;
    for (uint32_t i = 0; i < src->n; i++) {
        Value p = vm_apply1_x(vm, f, src->items[i]);
        total += want_array(vm, p, "Array.collect")->n;
        ARR(parts)->items[i] = p;
    }
    ObjArray *arr = array_new(vm, (int64_t)total);
    uint32_t k = 0;
    for (uint32_t i = 0; i < ARR(parts)->n; i++) {
        const ObjArray *p = AS_ARRAY(ARR(parts)->items[i]);
        memcpy(arr->items + k, p->items, p->n * sizeof(Value));
        k += p->n;
    }
    *out = mk_obj(arr);
    return 0;
}

static int ar_exists(ARGS)
{
    UNUSED;
    Value f = a[0];
    const ObjArray *src = want_array(vm, a[1], "Array.exists");
    bool r = false;
    for (uint32_t i = 0; i < src->n && !r; i++)
        r = vm_returns_bool(vm, vm_apply1_x(vm, f, src->items[i]), "Array.exists");
    *out = mk_bool(r);
    return 0;
}

static int ar_forall(ARGS)
{
    UNUSED;
    Value f = a[0];
    const ObjArray *src = want_array(vm, a[1], "Array.forall");
    bool r = true;
    for (uint32_t i = 0; i < src->n && r; i++)
        r = vm_returns_bool(vm, vm_apply1_x(vm, f, src->items[i]), "Array.forall");
    *out = mk_bool(r);
    return 0;
}

/* The index of the first element satisfying f, or -1. */
static int64_t find_index(fsrs_vm *vm, Value f, Value arr, const char *fn)
{
    const ObjArray *src = want_array(vm, arr, fn);
    for (uint32_t i = 0; i < src->n; i++)
        if (vm_returns_bool(vm, vm_apply1_x(vm, f, src->items[i]), fn))
            return i;
    return -1;
}

static int ar_find(ARGS)
{
    UNUSED;
    Value arr = a[1]; /* a is stale after the calls */
    int64_t i = find_index(vm, a[0], arr, "Array.find");
    if (i < 0)
        index_not_found(vm);
    *out = AS_ARRAY(arr)->items[i];
    return 0;
}

static int ar_try_find(ARGS)
{
    UNUSED;
    Value arr = a[1];
    int64_t i = find_index(vm, a[0], arr, "Array.tryFind");
    *out = i < 0 ? vm_none() : vm_some_x(vm, AS_ARRAY(arr)->items[i]);
    return 0;
}

static int ar_find_index(ARGS)
{
    UNUSED;
    int64_t i = find_index(vm, a[0], a[1], "Array.findIndex");
    if (i < 0)
        index_not_found(vm);
    *out = mk_int(i);
    return 0;
}

static int ar_sum_by(ARGS)
{
    UNUSED;
    Value f = a[0];
    const ObjArray *src = want_array(vm, a[1], "Array.sumBy");
    Value acc = mk_int(0);
    for (uint32_t i = 0; i < src->n; i++) {
        Value v = vm_apply1_x(vm, f, src->items[i]);
        acc = i == 0 ? vm_add_numbers(vm, v, IS_FLOAT(v) ? mk_float(0) : mk_int(0), "Array.sumBy")
                     : vm_add_numbers(vm, acc, v, "Array.sumBy");
    }
    *out = acc;
    return 0;
}

/* max (dir 1) or min (dir -1): the first extreme element, as F# keeps */
static Value extreme(fsrs_vm *vm, Value arr, int dir, const char *fn)
{
    const ObjArray *src = want_array(vm, arr, fn);
    if (src->n == 0)
        empty_array(vm);
    Value best = src->items[0];
    for (uint32_t i = 1; i < src->n; i++)
        if (vm_compare(vm, src->items[i], best) * dir > 0)
            best = src->items[i];
    return best;
}

static int ar_max(ARGS) { UNUSED; *out = extreme(vm, a[0], 1, "Array.max"); return 0; }
static int ar_min(ARGS) { UNUSED; *out = extreme(vm, a[0], -1, "Array.min"); return 0; }

static Value extreme_by(fsrs_vm *vm, Value f, Value arr, int dir, const char *fn)
{
    const ObjArray *src = want_array(vm, arr, fn);
    if (src->n == 0)
        empty_array(vm);
    uint32_t best = 0;
    size_t key = vm_push_x(vm, vm_apply1_x(vm, f, src->items[0]));
    for (uint32_t i = 1; i < src->n; i++) {
        Value k = vm_apply1_x(vm, f, src->items[i]);
        if (vm_compare(vm, k, SLOT(key)) * dir > 0) {
            best = i;
            SLOT(key) = k;
        }
    }
    return src->items[best];
}

static int ar_max_by(ARGS)
{
    UNUSED;
    *out = extreme_by(vm, a[0], a[1], 1, "Array.maxBy");
    return 0;
}

static int ar_min_by(ARGS)
{
    UNUSED;
    *out = extreme_by(vm, a[0], a[1], -1, "Array.minBy");
    return 0;
}

/* Array.sortBy: the keys first (one call per element), then a stable
 * merge sort of the element indexes by key, in heap scratch arrays. */
static int ar_sort_by(ARGS)
{
    UNUSED;
    Value f = a[0];
    const ObjArray *src = want_array(vm, a[1], "Array.sortBy");
    uint32_t n = src->n;
    size_t keys = array_slot(vm, n);
    for (uint32_t i = 0; i < n; i++) {
        Value k = vm_apply1_x(vm, f, src->items[i]);
        ARR(keys)->items[i] = k;
    }
    size_t idx = array_slot(vm, n), tmp = array_slot(vm, n);
    for (uint32_t i = 0; i < n; i++)
        ARR(idx)->items[i] = mk_int(i);
    for (uint64_t width = 1; width < n; width *= 2) {
        Value *from = ARR(idx)->items, *to = ARR(tmp)->items, *k = ARR(keys)->items;
        for (uint64_t lo = 0; lo < n; lo += 2 * width) {
            uint64_t mid = lo + width < n ? lo + width : n;
            uint64_t hi = lo + 2 * width < n ? lo + 2 * width : n;
            uint64_t i = lo, j = mid, o = lo;
            while (i < mid && j < hi) {
                /* the later element goes first only when its key is smaller */
                if (vm_compare(vm, k[AS_INT(from[j])], k[AS_INT(from[i])]) < 0)
                    to[o++] = from[j++];
                else
                    to[o++] = from[i++];
            }
            while (i < mid)
                to[o++] = from[i++];
            while (j < hi)
                to[o++] = from[j++];
        }
        Value t = SLOT(idx);
        SLOT(idx) = SLOT(tmp);
        SLOT(tmp) = t;
    }
    ObjArray *arr = array_new(vm, n);
    for (uint32_t i = 0; i < n; i++)
        arr->items[i] = src->items[AS_INT(ARR(idx)->items[i])];
    *out = mk_obj(arr);
    return 0;
}

static int ar_partition(ARGS)
{
    UNUSED;
    Value f = a[0];
    const ObjArray *src = want_array(vm, a[1], "Array.partition");
    size_t yes = array_slot(vm, src->n), no = array_slot(vm, src->n);
    uint32_t ny = 0, nn = 0;
    for (uint32_t i = 0; i < src->n; i++) {
        if (vm_returns_bool(vm, vm_apply1_x(vm, f, src->items[i]), "Array.partition"))
            ARR(yes)->items[ny++] = src->items[i];
        else
            ARR(no)->items[nn++] = src->items[i];
    }
    Value y = array_prefix(vm, yes, ny);
    SLOT(yes) = y;
    Value x = array_prefix(vm, no, nn);
    SLOT(no) = x;
    *out = vm_pair_x(vm, yes, no);
    return 0;
}

static int ar_zip(ARGS)
{
    UNUSED;
    const ObjArray *x = want_array(vm, a[0], "Array.zip");
    const ObjArray *y = want_array(vm, a[1], "Array.zip");
    if (x->n != y->n) {
        char m[256];
        snprintf(m, sizeof m,
                 "The arrays have different lengths.\narray1.Length = %u, array2.Length = %u "
                 "(Parameter 'array1')",
                 (unsigned)x->n, (unsigned)y->n);
        vm_throw_exn(vm, EXN_ARGUMENT, m, "%s", m);
    }
    size_t r = array_slot(vm, x->n);
    size_t l = vm_push_x(vm, mk_unit()), rr = vm_push_x(vm, mk_unit());
    for (uint32_t i = 0; i < x->n; i++) {
        SLOT(l) = x->items[i];
        SLOT(rr) = y->items[i];
        Value p = vm_pair_x(vm, l, rr);
        ARR(r)->items[i] = p;
    }
    *out = SLOT(r);
    return 0;
}

/* --------------------------------------------------------------- table --- */

#define NATIVE(fname, ar, cname)                                                              \
    {                                                                                        \
        .obj = {.next = NULL, .type = O_NATIVE, .marked = 0, .is_static = 1, .size = 0},    \
        .fn = cname, .arity = ar, .aux = 0, .name = fname, .userdata = NULL, .data = NULL,  \
        .owner = NULL                                                                        \
    }

static const ObjNative natives[] = {
    NATIVE("$array", 1, ar_make),
    NATIVE("$index", 2, ar_index),
    NATIVE("$setindex", 3, ar_setindex),
    NATIVE("$array_len_is", 2, ar_len_is),
    NATIVE("$seq", 1, ar_seq),
    NATIVE("$seq_length", 1, ar_seq_length),
    NATIVE("$array_of_rev", 1, ar_of_rev),
    NATIVE("Array.length", 1, ar_length),
    NATIVE("Array.isEmpty", 1, ar_is_empty),
    NATIVE("Array.create", 2, ar_create),
    NATIVE("Array.zeroCreate", 1, ar_zero_create),
    NATIVE("Array.get", 2, ar_get),
    NATIVE("Array.set", 3, ar_set),
    NATIVE("Array.copy", 1, ar_copy),
    NATIVE("Array.sub", 3, ar_sub),
    NATIVE("Array.append", 2, ar_append),
    NATIVE("Array.sum", 1, ar_sum),
    NATIVE("Array.sort", 1, ar_sort),
    NATIVE("Array.sortInPlace", 1, ar_sort_in_place),
    NATIVE("Array.contains", 2, ar_contains),
    NATIVE("Array.rev", 1, ar_rev),
    NATIVE("Array.toList", 1, ar_to_list),
    NATIVE("Array.ofList", 1, ar_of_list),
    NATIVE("Array.blit", 5, ar_blit),
    NATIVE("Array.fill", 4, ar_fill),
    NATIVE("Array.init", 2, ar_init),
    NATIVE("Array.map", 2, ar_map),
    NATIVE("Array.mapi", 2, ar_mapi),
    NATIVE("Array.iter", 2, ar_iter),
    NATIVE("Array.iteri", 2, ar_iteri),
    NATIVE("Array.fold", 3, ar_fold),
    NATIVE("Array.foldBack", 3, ar_fold_back),
    NATIVE("Array.reduce", 2, ar_reduce),
    NATIVE("Array.filter", 2, ar_filter),
    NATIVE("Array.choose", 2, ar_choose),
    NATIVE("Array.collect", 2, ar_collect),
    NATIVE("Array.exists", 2, ar_exists),
    NATIVE("Array.forall", 2, ar_forall),
    NATIVE("Array.find", 2, ar_find),
    NATIVE("Array.tryFind", 2, ar_try_find),
    NATIVE("Array.findIndex", 2, ar_find_index),
    NATIVE("Array.sumBy", 2, ar_sum_by),
    NATIVE("Array.max", 1, ar_max),
    NATIVE("Array.min", 1, ar_min),
    NATIVE("Array.maxBy", 2, ar_max_by),
    NATIVE("Array.minBy", 2, ar_min_by),
    NATIVE("Array.sortBy", 2, ar_sort_by),
    NATIVE("Array.partition", 2, ar_partition),
    NATIVE("Array.zip", 2, ar_zip),
    NATIVE("List.ofArray", 1, list_of_array),
    NATIVE("List.toArray", 1, list_to_array),
};

const NativeTable lib_array_table = VM_NATIVE_TABLE(natives);
