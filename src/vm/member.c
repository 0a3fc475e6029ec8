/*
 * vm/member.c - the names of the members values have, and the dispatch of
 * OP_MEMBER on the type of the receiver.
 *
 * The compiler asks member_lookup whether `x.Name` names a member; the VM
 * calls member_invoke, which hands strings to lib_string.c, maps and sets
 * to lib_map.c, reads a record's field of that name and answers `Length`
 * of arrays and `Length` and `IsEmpty` of lists.  Lookup is pure (any thread); invocation runs on
 * the VM's owner thread.
 */
#include <string.h>

#include "lang/types.h"
#include "util/error.h"
#include "vm/member.h"
#include "vm/tree.h"

static const struct {
    const char *name;
    bool is_method;
} members[M__COUNT] = {
    [M_LENGTH] = {"Length", false},
    [M_COUNT] = {"Count", false},
    [M_ISEMPTY] = {"IsEmpty", false},
    [M_TOUPPER] = {"ToUpper", true},
    [M_TOLOWER] = {"ToLower", true},
    [M_TRIM] = {"Trim", true},
    [M_TRIMSTART] = {"TrimStart", true},
    [M_TRIMEND] = {"TrimEnd", true},
    [M_SPLIT] = {"Split", true},
    [M_CONTAINS] = {"Contains", true},
    [M_STARTSWITH] = {"StartsWith", true},
    [M_ENDSWITH] = {"EndsWith", true},
    [M_SUBSTRING] = {"Substring", true},
    [M_REPLACE] = {"Replace", true},
    [M_INDEXOF] = {"IndexOf", true},
    [M_LASTINDEXOF] = {"LastIndexOf", true},
    [M_CONTAINSKEY] = {"ContainsKey", true},
    [M_TRYFIND] = {"TryFind", true},
    [M_ITEM] = {"Item", true},
    [M_ADD] = {"Add", true},
    [M_REMOVE] = {"Remove", true},
    [M_MINIMUMELEMENT] = {"MinimumElement", false},
    [M_MAXIMUMELEMENT] = {"MaximumElement", false},
};

int member_lookup(const char *name, bool *is_method_out)
{
    for (int i = 0; i < M__COUNT; i++)
        if (strcmp(members[i].name, name) == 0) {
            *is_method_out = members[i].is_method;
            return i;
        }
    return -1;
}

const char *member_name(int id) { return id >= 0 && id < M__COUNT ? members[id].name : "?"; }

_Noreturn Value member_missing(fsrs_vm *vm, int id)
{
    vm_throw(vm, FSRS_ERUNTIME, "The field, constructor or member '%s' is not defined.",
             member_name(id));
}

_Noreturn Value member_bad_args(fsrs_vm *vm, int id, int argc)
{
    vm_throw(vm, FSRS_ERUNTIME, "The member or object constructor '%s' taking %d argument%s "
                                "is not defined.",
             member_name(id), argc, argc == 1 ? "" : "s");
}

/* How many arguments a map or set member takes: a method given more (a
 * tuple key written m.ContainsKey(1, 2)) gets them as one tuple. */
static int tree_member_arity(int type, int id)
{
    switch (id) {
    case M_CONTAINSKEY: case M_TRYFIND: case M_ITEM: case M_CONTAINS: case M_REMOVE:
        return 1;
    case M_ADD:
        return type == O_MAP ? 2 : 1;
    default:
        return 0;
    }
}

static Value tree_member(fsrs_vm *vm, Value *slots, int argc, int id)
{
    int type = OBJ_TYPE(slots[0]);
    int want = tree_member_arity(type, id);
    if (want == 1 && argc > 1) {
        ObjTuple *t = gc_alloc_x(vm, sizeof(ObjTuple) + (size_t)argc * sizeof(Value), O_TUPLE);
        t->n = (uint32_t)argc;
        memcpy(t->items, slots + 1, (size_t)argc * sizeof(Value));
        slots[1] = mk_obj(t);
        argc = 1;
    }
    if (argc != want && members[id].is_method)
        member_bad_args(vm, id, argc);
    return type == O_MAP ? map_member(vm, slots, argc, id) : set_member(vm, slots, argc, id);
}

static Value other_member(fsrs_vm *vm, Value *slots, int argc, int id)
{
    Value r = slots[0];
    if (argc == 0 && !members[id].is_method) {
        if (IS_DATA(r)) {
            int i = types_field_index(AS_DATA(r)->shape, members[id].name);
            if (i >= 0)
                return AS_DATA(r)->items[i];
        }
        if (IS_ARRAY(r) && id == M_LENGTH)
            return mk_int(AS_ARRAY(r)->n);
        if (IS_NIL(r) || IS_CONS(r)) {
            if (id == M_ISEMPTY)
                return mk_bool(IS_NIL(r));
            if (id == M_LENGTH) {
                int64_t n = 0;
                for (Value x = r; IS_CONS(x); x = AS_CONS(x)->tail)
                    n++;
                return mk_int(n);
            }
        }
    }
    member_missing(vm, id);
}

Value member_invoke(fsrs_vm *vm, Value *slots, int argc, int id)
{
    size_t mark = vm->nhandles;
    Value r;
    if (IS_STRING(slots[0]))
        r = string_member(vm, slots, argc, id);
    else if (IS_MAP(slots[0]) || IS_SET(slots[0]))
        r = tree_member(vm, slots, argc, id);
    else
        r = other_member(vm, slots, argc, id);
    vm->nhandles = mark;
    return r;
}
