/*
 * vm/lib_option.c - the Option module: Option.map, Option.bind,
 * Option.defaultValue, ...
 *
 * Natives in one table (lib_option_table) that builtin_lookup finds by
 * their qualified names.  Those that take a function call it with
 * vm_apply_x and follow its rules (vm.h): they read their arguments before
 * the call and keep what they build in VM stack slots.  Each native runs
 * on the thread of the VM that calls it.
 */
#include "lang/compile.h"
#include "vm/vm.h"

#define ARGS fsrs_vm *vm, const Value *a, int argc, Value *out, void *ud
#define UNUSED (void)argc, (void)ud

/* false: None; true: Some, its value in *v */
static bool is_some(fsrs_vm *vm, Value o, Value *v, const char *fn)
{
    return vm_option_get(vm, o, v, fn, "an option");
}

static int o_map(ARGS)
{
    UNUSED;
    Value v;
    *out = is_some(vm, a[1], &v, "Option.map") ? vm_some_x(vm, vm_apply_x(vm, a[0], 1, &v))
                                           : vm_none();
    return 0;
}

static int o_bind(ARGS)
{
    UNUSED;
    Value v;
    *out = is_some(vm, a[1], &v, "Option.bind") ? vm_apply_x(vm, a[0], 1, &v) : vm_none();
    return 0;
}

static int o_default_value(ARGS)
{
    UNUSED;
    Value v;
    *out = is_some(vm, a[1], &v, "Option.defaultValue") ? v : a[0];
    return 0;
}

static int o_default_with(ARGS)
{
    UNUSED;
    Value v, unit = mk_unit();
    *out = is_some(vm, a[1], &v, "Option.defaultWith") ? v : vm_apply_x(vm, a[0], 1, &unit);
    return 0;
}

static int o_is_some(ARGS)
{
    UNUSED;
    Value v;
    *out = mk_bool(is_some(vm, a[0], &v, "Option.isSome"));
    return 0;
}

static int o_is_none(ARGS)
{
    UNUSED;
    Value v;
    *out = mk_bool(!is_some(vm, a[0], &v, "Option.isNone"));
    return 0;
}

static int o_get(ARGS)
{
    UNUSED;
    Value v;
    if (!is_some(vm, a[0], &v, "Option.get"))
        vm_throw_exn(vm, EXN_ARGUMENT, "The option value was None (Parameter 'option')",
                     "The option value was None (Parameter 'option')");
    *out = v;
    return 0;
}

static int o_iter(ARGS)
{
    UNUSED;
    Value v;
    if (is_some(vm, a[1], &v, "Option.iter"))
        vm_apply_x(vm, a[0], 1, &v);
    *out = mk_unit();
    return 0;
}

static int o_to_list(ARGS)
{
    UNUSED;
    Value v;
    *out = is_some(vm, a[0], &v, "Option.toList") ? cons_x(vm, v, mk_nil()) : mk_nil();
    return 0;
}

static int o_filter(ARGS)
{
    UNUSED;
    Value v, o = a[1];
    if (!is_some(vm, o, &v, "Option.filter")) {
        *out = o;
        return 0;
    }
    Value keep = vm_apply_x(vm, a[0], 1, &v);
    if (!IS_BOOL(keep))
        vm_throw(vm, FSRS_ERUNTIME, "'Option.filter' expects a function returning bool");
    *out = AS_BOOL(keep) ? o : vm_none();
    return 0;
}

static int o_or_else(ARGS)
{
    UNUSED;
    Value v;
    *out = is_some(vm, a[1], &v, "Option.orElse") ? a[1] : a[0];
    return 0;
}

static const ObjNative natives[] = {
    VM_NATIVE("Option.map", 2, o_map),
    VM_NATIVE("Option.bind", 2, o_bind),
    VM_NATIVE("Option.defaultValue", 2, o_default_value),
    VM_NATIVE("Option.defaultWith", 2, o_default_with),
    VM_NATIVE("Option.isSome", 1, o_is_some),
    VM_NATIVE("Option.isNone", 1, o_is_none),
    VM_NATIVE("Option.get", 1, o_get),
    VM_NATIVE("Option.iter", 2, o_iter),
    VM_NATIVE("Option.toList", 1, o_to_list),
    VM_NATIVE("Option.filter", 2, o_filter),
    VM_NATIVE("Option.orElse", 2, o_or_else),
};

const NativeTable lib_option_table = VM_NATIVE_TABLE(natives);
