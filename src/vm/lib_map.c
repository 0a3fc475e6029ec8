/*
 * vm/lib_map.c - the Map and Set libraries: Map.add, Map.find, Set.union,
 * ... and `set`, plus the members of map and set values (m.Count,
 * s.Contains x) that member.c dispatches here.
 *
 * The natives are static objects in the library's read-only data, found
 * by the compiler through builtins.c's list of libraries; the empty map
 * and set are static values too.  Every function runs on the thread of the
 * VM that calls it and builds its results on that VM's heap with tree.c.
 * Bulk operations root the tree or list they are building in one host
 * handle slot, since every allocation may collect.
 */
#include <string.h>

#include "lang/compile.h"
#include "util/error.h"
#include "vm/member.h"
#include "vm/tree.h"

#define ARGS fsrs_vm *vm, const Value *a, int argc, Value *out, void *ud
#define UNUSED (void)argc, (void)ud

static const ObjTree empty_map = {
    .obj = {.next = NULL, .type = O_MAP, .marked = 0, .is_static = 1, .size = 0},
    .count = 0, .root = NULL,
};
static const ObjTree empty_set = {
    .obj = {.next = NULL, .type = O_SET, .marked = 0, .is_static = 1, .size = 0},
    .count = 0, .root = NULL,
};

/* ------------------------------------------------------------ helpers --- */

static const ObjTree *want_map(fsrs_vm *vm, const char *fn, Value v)
{
    if (!IS_MAP(v))
        vm_throw(vm, FSRS_ERUNTIME, "'%s' expects a Map, not %s", fn, value_type_name(v));
    return AS_TREE(v);
}

static const ObjTree *want_set(fsrs_vm *vm, const char *fn, Value v)
{
    if (!IS_SET(v))
        vm_throw(vm, FSRS_ERUNTIME, "'%s' expects a Set, not %s", fn, value_type_name(v));
    return AS_TREE(v);
}

static _Noreturn void key_not_found(fsrs_vm *vm)
{
    vm_throw_exn(vm, EXN_KEY_NOT_FOUND, NULL, "The given key was not present in the dictionary.");
}

/* Take a slot of the VM's handles to root a value under construction;
 * returns its index.  vm->nhandles is restored by whoever called the
 * native (call_native, member_invoke). */
static size_t root_slot(fsrs_vm *vm, Value v)
{
    if (!handle_push(vm, v))
        vm_throw(vm, FSRS_ENOMEM, "out of memory");
    return vm->nhandles - 1;
}

static Value some_new(fsrs_vm *vm, Value v)
{
    const Shape *some = builtin_case("Some");
    ObjData *d = gc_alloc_x(vm, sizeof(ObjData) + sizeof(Value), O_DATA);
    d->shape = some;
    d->tag = some->tag;
    d->n = 1;
    d->items[0] = v;
    return mk_obj(d);
}

static Value none_value(void) { return mk_obj((void *)builtin_case("None")->nullary); }

/* A tree of type `type` from a list: of (key, value) pairs for a map, of
 * elements for a set. */
static Value tree_of_list(fsrs_vm *vm, const char *fn, int type, Value list)
{
    if (!IS_NIL(list) && !IS_CONS(list))
        vm_throw(vm, FSRS_ERUNTIME, "'%s' expects a list, not %s", fn, value_type_name(list));
    size_t s = root_slot(vm, mk_obj((void *)(type == O_MAP ? &empty_map : &empty_set)));
    for (Value x = list; IS_CONS(x); x = AS_CONS(x)->tail) {
        Value item = AS_CONS(x)->head;
        Value t;
        if (type == O_MAP) {
            if (!IS_TUPLE(item) || AS_TUPLE(item)->n != 2)
                vm_throw(vm, FSRS_ERUNTIME, "'%s' expects a list of pairs, not of %s", fn,
                         value_type_name(item));
            t = tree_add(vm, vm->handles[s], AS_TUPLE(item)->items[0], AS_TUPLE(item)->items[1]);
        } else {
            t = tree_add(vm, vm->handles[s], item, mk_unit());
        }
        vm->handles[s] = t;
    }
    return vm->handles[s];
}

enum { LIST_PAIRS, LIST_KEYS, LIST_VALUES };

/* The elements of a tree as a list, in key order. */
static Value tree_to_list(fsrs_vm *vm, Value tree, int what)
{
    size_t s = root_slot(vm, mk_nil());
    size_t tmp = root_slot(vm, mk_unit());
    TreeIter it;
    tree_iter_init(&it, AS_TREE(tree), true);
    for (const TreeNode *n; (n = tree_next(&it));) {
        Value item = what == LIST_VALUES ? n->val : n->key;
        if (what == LIST_PAIRS) {
            ObjTuple *t = gc_alloc_x(vm, sizeof(ObjTuple) + 2 * sizeof(Value), O_TUPLE);
            t->n = 2;
            t->items[0] = n->key;
            t->items[1] = n->val;
            item = mk_obj(t);
            vm->handles[tmp] = item;
        }
        vm->handles[s] = cons_x(vm, item, vm->handles[s]);
    }
    return vm->handles[s];
}

/* ---------------------------------------------------------------- Map --- */

static int map_add(ARGS)
{
    UNUSED;
    want_map(vm, "Map.add", a[2]);
    *out = tree_add(vm, a[2], a[0], a[1]);
    return 0;
}

static int map_find(ARGS)
{
    UNUSED;
    const TreeNode *n = tree_find(vm, want_map(vm, "Map.find", a[1]), a[0]);
    if (!n)
        key_not_found(vm);
    *out = n->val;
    return 0;
}

static int map_try_find(ARGS)
{
    UNUSED;
    const TreeNode *n = tree_find(vm, want_map(vm, "Map.tryFind", a[1]), a[0]);
    *out = n ? some_new(vm, n->val) : none_value();
    return 0;
}

static int map_contains_key(ARGS)
{
    UNUSED;
    *out = mk_bool(tree_find(vm, want_map(vm, "Map.containsKey", a[1]), a[0]) != NULL);
    return 0;
}

static int map_remove(ARGS)
{
    UNUSED;
    want_map(vm, "Map.remove", a[1]);
    *out = tree_remove(vm, a[1], a[0]);
    return 0;
}

static int map_of_list(ARGS)
{
    UNUSED;
    *out = tree_of_list(vm, "Map.ofList", O_MAP, a[0]);
    return 0;
}

static int map_to_list(ARGS)
{
    UNUSED;
    want_map(vm, "Map.toList", a[0]);
    *out = tree_to_list(vm, a[0], LIST_PAIRS);
    return 0;
}

static int map_keys(ARGS)
{
    UNUSED;
    want_map(vm, "Map.keys", a[0]);
    *out = tree_to_list(vm, a[0], LIST_KEYS);
    return 0;
}

static int map_values(ARGS)
{
    UNUSED;
    want_map(vm, "Map.values", a[0]);
    *out = tree_to_list(vm, a[0], LIST_VALUES);
    return 0;
}

static int map_count(ARGS)
{
    UNUSED;
    *out = mk_int(want_map(vm, "Map.count", a[0])->count);
    return 0;
}

static int map_is_empty(ARGS)
{
    UNUSED;
    *out = mk_bool(want_map(vm, "Map.isEmpty", a[0])->count == 0);
    return 0;
}

/* ---------------------------------------------------------------- Set --- */

static int set_add(ARGS)
{
    UNUSED;
    want_set(vm, "Set.add", a[1]);
    *out = tree_add(vm, a[1], a[0], mk_unit());
    return 0;
}

static int set_contains(ARGS)
{
    UNUSED;
    *out = mk_bool(tree_find(vm, want_set(vm, "Set.contains", a[1]), a[0]) != NULL);
    return 0;
}

static int set_remove(ARGS)
{
    UNUSED;
    want_set(vm, "Set.remove", a[1]);
    *out = tree_remove(vm, a[1], a[0]);
    return 0;
}

static int set_singleton(ARGS)
{
    UNUSED;
    *out = tree_add(vm, mk_obj((void *)&empty_set), a[0], mk_unit());
    return 0;
}

static int set_of_list(ARGS)
{
    UNUSED;
    *out = tree_of_list(vm, "Set.ofList", O_SET, a[0]);
    return 0;
}

static int set_to_list(ARGS)
{
    UNUSED;
    want_set(vm, "Set.toList", a[0]);
    *out = tree_to_list(vm, a[0], LIST_KEYS);
    return 0;
}

static int set_count(ARGS)
{
    UNUSED;
    *out = mk_int(want_set(vm, "Set.count", a[0])->count);
    return 0;
}

static int set_is_empty(ARGS)
{
    UNUSED;
    *out = mk_bool(want_set(vm, "Set.isEmpty", a[0])->count == 0);
    return 0;
}

static const TreeNode *extreme(fsrs_vm *vm, const char *fn, Value v, bool max)
{
    const TreeNode *n = want_set(vm, fn, v)->root;
    if (!n)
        vm_throw(vm, FSRS_ERUNTIME, "Set contains no elements. (Parameter 's')");
    while (max ? n->right : n->left)
        n = max ? n->right : n->left;
    return n;
}

static int set_min(ARGS) { UNUSED; *out = extreme(vm, "Set.minElement", a[0], false)->key; return 0; }
static int set_max(ARGS) { UNUSED; *out = extreme(vm, "Set.maxElement", a[0], true)->key; return 0; }

static int set_union(ARGS)
{
    UNUSED;
    const ObjTree *x = want_set(vm, "Set.union", a[0]), *y = want_set(vm, "Set.union", a[1]);
    /* add the smaller set's elements to the larger */
    Value big = x->count >= y->count ? a[0] : a[1];
    const ObjTree *small = x->count >= y->count ? y : x;
    size_t s = root_slot(vm, big);
    TreeIter it;
    tree_iter_init(&it, small, false);
    for (const TreeNode *n; (n = tree_next(&it));)
        vm->handles[s] = tree_add(vm, vm->handles[s], n->key, mk_unit());
    *out = vm->handles[s];
    return 0;
}

static int set_difference(ARGS)
{
    UNUSED;
    want_set(vm, "Set.difference", a[0]);
    const ObjTree *y = want_set(vm, "Set.difference", a[1]);
    size_t s = root_slot(vm, a[0]);
    TreeIter it;
    tree_iter_init(&it, y, false);
    for (const TreeNode *n; (n = tree_next(&it));)
        vm->handles[s] = tree_remove(vm, vm->handles[s], n->key);
    *out = vm->handles[s];
    return 0;
}

static int set_intersect(ARGS)
{
    UNUSED;
    const ObjTree *x = want_set(vm, "Set.intersect", a[0]);
    const ObjTree *y = want_set(vm, "Set.intersect", a[1]);
    /* walk the smaller set, keep what the larger one has */
    const ObjTree *small = x->count <= y->count ? x : y, *big = small == x ? y : x;
    size_t s = root_slot(vm, mk_obj((void *)&empty_set));
    TreeIter it;
    tree_iter_init(&it, small, false);
    for (const TreeNode *n; (n = tree_next(&it));)
        if (tree_find(vm, big, n->key))
            vm->handles[s] = tree_add(vm, vm->handles[s], n->key, mk_unit());
    *out = vm->handles[s];
    return 0;
}

static int set_is_subset(ARGS)
{
    UNUSED;
    const ObjTree *x = want_set(vm, "Set.isSubset", a[0]);
    const ObjTree *y = want_set(vm, "Set.isSubset", a[1]);
    bool sub = x->count <= y->count;
    TreeIter it;
    tree_iter_init(&it, x, false);
    for (const TreeNode *n; sub && (n = tree_next(&it));)
        sub = tree_find(vm, y, n->key) != NULL;
    *out = mk_bool(sub);
    return 0;
}

/* ------------------------------------------------------------ members --- */

Value map_member(fsrs_vm *vm, Value *slots, int argc, int id)
{
    const ObjTree *t = AS_TREE(slots[0]);
    switch (id) {
    case M_COUNT: return mk_int(t->count);
    case M_ISEMPTY: return mk_bool(t->count == 0);
    case M_CONTAINSKEY: return mk_bool(tree_find(vm, t, slots[1]) != NULL);
    case M_TRYFIND: {
        const TreeNode *n = tree_find(vm, t, slots[1]);
        return n ? some_new(vm, n->val) : none_value();
    }
    case M_ITEM: {
        const TreeNode *n = tree_find(vm, t, slots[1]);
        if (!n)
            key_not_found(vm);
        return n->val;
    }
    case M_ADD: return tree_add(vm, slots[0], slots[1], slots[2]);
    case M_REMOVE: return tree_remove(vm, slots[0], slots[1]);
    default: break;
    }
    (void)argc;
    return member_missing(vm, id);
}

Value set_member(fsrs_vm *vm, Value *slots, int argc, int id)
{
    const ObjTree *t = AS_TREE(slots[0]);
    switch (id) {
    case M_COUNT: return mk_int(t->count);
    case M_ISEMPTY: return mk_bool(t->count == 0);
    case M_CONTAINS: return mk_bool(tree_find(vm, t, slots[1]) != NULL);
    case M_ADD: return tree_add(vm, slots[0], slots[1], mk_unit());
    case M_REMOVE: return tree_remove(vm, slots[0], slots[1]);
    case M_MINIMUMELEMENT: return extreme(vm, "MinimumElement", slots[0], false)->key;
    case M_MAXIMUMELEMENT: return extreme(vm, "MaximumElement", slots[0], true)->key;
    default: break;
    }
    (void)argc;
    return member_missing(vm, id);
}

/* -------------------------------------------------------------- table --- */

static const ObjNative fns[] = {
    VM_NATIVE("Map.add", 3, map_add),
    VM_NATIVE("Map.find", 2, map_find),
    VM_NATIVE("Map.tryFind", 2, map_try_find),
    VM_NATIVE("Map.containsKey", 2, map_contains_key),
    VM_NATIVE("Map.remove", 2, map_remove),
    VM_NATIVE("Map.ofList", 1, map_of_list),
    VM_NATIVE("Map.toList", 1, map_to_list),
    VM_NATIVE("Map.keys", 1, map_keys),
    VM_NATIVE("Map.values", 1, map_values),
    VM_NATIVE("Map.count", 1, map_count),
    VM_NATIVE("Map.isEmpty", 1, map_is_empty),
    VM_NATIVE("Set.add", 2, set_add),
    VM_NATIVE("Set.contains", 2, set_contains),
    VM_NATIVE("Set.remove", 2, set_remove),
    VM_NATIVE("Set.singleton", 1, set_singleton),
    VM_NATIVE("Set.ofList", 1, set_of_list),
    VM_NATIVE("set", 1, set_of_list),
    VM_NATIVE("Set.toList", 1, set_to_list),
    VM_NATIVE("Set.count", 1, set_count),
    VM_NATIVE("Set.isEmpty", 1, set_is_empty),
    VM_NATIVE("Set.minElement", 1, set_min),
    VM_NATIVE("Set.maxElement", 1, set_max),
    VM_NATIVE("Set.union", 2, set_union),
    VM_NATIVE("Set.difference", 2, set_difference),
    VM_NATIVE("Set.intersect", 2, set_intersect),
    VM_NATIVE("Set.isSubset", 2, set_is_subset),
};

static const LibValue values[] = {
    {"Map.empty", &empty_map.obj},
    {"Set.empty", &empty_set.obj},
};

const NativeTable lib_map_table = {fns, VM_COUNT(fns), values, VM_COUNT(values)};
