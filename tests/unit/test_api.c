/*
 * Unit tests of the host API (vm/api.c, fsrs/value.h): host functions,
 * loading and calling, value constructors and readers, %A rendering,
 * handle scopes, and the allocator hook, including allocators that fail.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "unit.h"

/* ------------------------------------------------------ host functions --- */

static int host_inc(fsrs_vm *vm, const fsrs_value *args, int argc, fsrs_value *out, void *ud)
{
    (void)vm;
    cr_assert_eq(argc, 1);
    if (ud)
        ++*(int *)ud;
    *out = fsrs_int(fsrs_value_as_int(args[0]) + 1);
    return FSRS_OK;
}

static int host_mul(fsrs_vm *vm, const fsrs_value *args, int argc, fsrs_value *out, void *ud)
{
    (void)vm;
    (void)ud;
    cr_assert_eq(argc, 2);
    *out = fsrs_int(fsrs_value_as_int(args[0]) * fsrs_value_as_int(args[1]));
    return FSRS_OK;
}

/* join a b c -> "a-b-c" (ints), a new string on the VM's heap */
static int host_join(fsrs_vm *vm, const fsrs_value *args, int argc, fsrs_value *out, void *ud)
{
    (void)ud;
    cr_assert_eq(argc, 3);
    char buf[96];
    int n = snprintf(buf, sizeof buf, "%" PRId64 "-%" PRId64 "-%" PRId64,
                     fsrs_value_as_int(args[0]), fsrs_value_as_int(args[1]),
                     fsrs_value_as_int(args[2]));
    return fsrs_string_new(vm, buf, (size_t)n, out);
}

static int host_check(fsrs_vm *vm, const fsrs_value *args, int argc, fsrs_value *out, void *ud)
{
    (void)argc;
    (void)ud;
    int64_t x = fsrs_value_as_int(args[0]);
    if (x < 0)
        return fsrs_vm_raise(vm, "negative input %" PRId64, x);
    *out = args[0];
    return FSRS_OK;
}

static int host_status(fsrs_vm *vm, const fsrs_value *args, int argc, fsrs_value *out, void *ud)
{
    (void)vm;
    (void)args;
    (void)argc;
    (void)out;
    (void)ud;
    return FSRS_EINVAL;
}

static const char *const host_names[] = {"inc", "mul", "join", "check", "status"};

static fsrs_chunk *compile_with_hosts(const char *src)
{
    fsrs_compile_options opts;
    fsrs_compile_options_init(&opts);
    opts.host_names = host_names;
    opts.host_count = sizeof host_names / sizeof host_names[0];
    fsrs_chunk *c = NULL;
    int rc = compile_src(&opts, src, &c);
    cr_assert_eq(rc, FSRS_OK, "%s", last_message());
    return c;
}

static fsrs_vm *vm_with_hosts(const fsrs_config *cfg, int *inc_calls)
{
    fsrs_vm *vm = NULL;
    cr_assert_eq(fsrs_vm_new(cfg, &vm), FSRS_OK);
    cr_assert_eq(fsrs_vm_register(vm, "inc", 1, host_inc, inc_calls), FSRS_OK);
    cr_assert_eq(fsrs_vm_register(vm, "mul", 2, host_mul, NULL), FSRS_OK);
    cr_assert_eq(fsrs_vm_register(vm, "join", 3, host_join, NULL), FSRS_OK);
    cr_assert_eq(fsrs_vm_register(vm, "check", 1, host_check, NULL), FSRS_OK);
    cr_assert_eq(fsrs_vm_register(vm, "status", 1, host_status, NULL), FSRS_OK);
    return vm;
}

static void load_ok(fsrs_vm *vm, fsrs_chunk *c)
{
    int rc = fsrs_vm_load(vm, c);
    cr_assert_eq(rc, FSRS_OK, "load failed (%d): %s", rc, last_message());
}

Test(api, host_functions_of_arity_one_to_three, .timeout = 10)
{
    int inc_calls = 0;
    fsrs_vm *vm = vm_with_hosts(NULL, &inc_calls);
    fsrs_chunk *c = compile_with_hosts("let a = inc 41\n"
                                       "let b = mul 6 7\n"
                                       "let s = join 1 2 3\n"
                                       "let viaPipe = 20 |> inc |> mul 2\n");
    load_ok(vm, c);
    fsrs_chunk_free(c);
    cr_assert_eq(global_int(vm, "a"), 42);
    cr_assert_eq(global_int(vm, "b"), 42);
    cr_assert_eq(global_int(vm, "viaPipe"), 42);
    cr_assert_eq(inc_calls, 2, "userdata reaches the host function");
    fsrs_value s;
    cr_assert_eq(fsrs_vm_global(vm, "s", &s), FSRS_OK);
    cr_assert_str_eq(fsrs_value_as_string(s, NULL), "1-2-3");
    fsrs_vm_free(vm);
}

Test(api, host_functions_apply_partially, .timeout = 10)
{
    fsrs_vm *vm = vm_with_hosts(NULL, NULL);
    fsrs_chunk *c = compile_with_hosts("let times10 = mul 10\n"
                                       "let joinFrom1 = join 1\n"
                                       "let r1 = times10 5\n"
                                       "let r2 = joinFrom1 7 9\n"
                                       "let r3 = (joinFrom1 2) 3\n"
                                       "let apply f x = f x\n"
                                       "let r4 = apply inc 1\n");
    load_ok(vm, c);
    fsrs_chunk_free(c);
    cr_assert_eq(global_int(vm, "r1"), 50);
    fsrs_value v;
    cr_assert_eq(fsrs_vm_global(vm, "r2", &v), FSRS_OK);
    cr_assert_str_eq(fsrs_value_as_string(v, NULL), "1-7-9");
    cr_assert_eq(fsrs_vm_global(vm, "r3", &v), FSRS_OK);
    cr_assert_str_eq(fsrs_value_as_string(v, NULL), "1-2-3");
    cr_assert_eq(global_int(vm, "r4"), 2);
    /* a partial host application called from the host */
    cr_assert_eq(call_int(vm, "times10", 1, (int64_t[]){7}), 70);
    fsrs_vm_free(vm);
}

Test(api, host_raise_becomes_a_script_error, .timeout = 10)
{
    fsrs_vm *vm = vm_with_hosts(NULL, NULL);
    fsrs_chunk *c = compile_with_hosts("let validate x =\n"
                                       "    let y = x * 2\n"
                                       "    check y + 1\n");
    load_ok(vm, c);
    fsrs_chunk_free(c);
    cr_assert_eq(call_int(vm, "validate", 1, (int64_t[]){5}), 11);
    fsrs_value r;
    int rc = fsrs_vm_call(vm, "validate", 1, (fsrs_value[]){fsrs_int(-4)}, &r);
    cr_assert_eq(rc, FSRS_ERUNTIME);
    const fsrs_error *e = fsrs_error_last();
    cr_assert_str_eq(e->message, "negative input -8");
    cr_assert_eq(e->line, 3, "the error points at the script's call");
    cr_assert(strstr(e->trace, "at validate (test.fsrs:3)"), "%s", e->trace);
    /* the VM is usable afterwards */
    cr_assert_eq(call_int(vm, "validate", 1, (int64_t[]){0}), 1);
    fsrs_vm_free(vm);
}

Test(api, host_error_code_without_raise, .timeout = 10)
{
    fsrs_vm *vm = vm_with_hosts(NULL, NULL);
    fsrs_chunk *c = compile_with_hosts("let f x = status x\n");
    load_ok(vm, c);
    fsrs_chunk_free(c);
    fsrs_value r;
    cr_assert_eq(fsrs_vm_call(vm, "f", 1, (fsrs_value[]){fsrs_int(1)}, &r), FSRS_EINVAL);
    cr_assert(strstr(last_message(), "host function 'status' failed"), "%s", last_message());
    fsrs_vm_free(vm);
}

Test(api, loading_a_chunk_with_an_unregistered_host_changes_nothing, .timeout = 10)
{
    fsrs_vm *vm = NULL;
    cr_assert_eq(fsrs_vm_new(NULL, &vm), FSRS_OK);
    cr_assert_eq(fsrs_vm_register(vm, "inc", 1, host_inc, NULL), FSRS_OK);
    fsrs_chunk *first = compile_with_hosts("let kept = inc 1\n");
    load_ok(vm, first);
    fsrs_chunk *needs = compile_with_hosts("let x = mul 2 3\nlet y = inc 0\n");
    cr_assert_eq(fsrs_vm_load(vm, needs), FSRS_ENOTFOUND);
    cr_assert(strstr(last_message(), "'mul'"), "%s", last_message());
    cr_assert_eq(fsrs_vm_chunk(vm), first);
    cr_assert_eq(global_int(vm, "kept"), 2);
    fsrs_value v;
    cr_assert_eq(fsrs_vm_global(vm, "x", &v), FSRS_ENOTFOUND);
    /* registering the missing function makes the chunk loadable */
    cr_assert_eq(fsrs_vm_register(vm, "mul", 2, host_mul, NULL), FSRS_OK);
    load_ok(vm, needs);
    cr_assert_eq(global_int(vm, "x"), 6);
    fsrs_chunk_free(first);
    fsrs_chunk_free(needs);
    fsrs_vm_free(vm);
}

Test(api, registering_again_replaces_the_function, .timeout = 10)
{
    fsrs_vm *vm = NULL;
    cr_assert_eq(fsrs_vm_new(NULL, &vm), FSRS_OK);
    cr_assert_eq(fsrs_vm_register(vm, "mul", 2, host_inc, NULL), FSRS_OK);
    cr_assert_eq(fsrs_vm_register(vm, "mul", 2, host_mul, NULL), FSRS_OK);
    fsrs_chunk *c = compile_with_hosts("let x = mul 4 5\n");
    load_ok(vm, c);
    fsrs_chunk_free(c);
    cr_assert_eq(global_int(vm, "x"), 20);
    fsrs_vm_free(vm);
}

Test(api, register_rejects_bad_names_and_arities, .timeout = 10)
{
    fsrs_vm *vm = NULL;
    cr_assert_eq(fsrs_vm_new(NULL, &vm), FSRS_OK);
    cr_assert_eq(fsrs_vm_register(vm, "", 1, host_inc, NULL), FSRS_EINVAL);
    cr_assert_eq(fsrs_vm_register(vm, "9lives", 1, host_inc, NULL), FSRS_EINVAL);
    cr_assert_eq(fsrs_vm_register(vm, "has space", 1, host_inc, NULL), FSRS_EINVAL);
    cr_assert_eq(fsrs_vm_register(vm, NULL, 1, host_inc, NULL), FSRS_EINVAL);
    cr_assert_eq(fsrs_vm_register(vm, "ok", 0, host_inc, NULL), FSRS_EINVAL);
    cr_assert_eq(fsrs_vm_register(vm, "ok", 17, host_inc, NULL), FSRS_EINVAL);
    cr_assert_eq(fsrs_vm_register(vm, "ok", 1, NULL, NULL), FSRS_EINVAL);
    cr_assert_eq(fsrs_vm_register(vm, "Mod.fn'", 16, host_inc, NULL), FSRS_OK);
    fsrs_vm_free(vm);
}

Test(api, calling_an_unknown_name, .timeout = 10)
{
    fsrs_vm *vm = NULL;
    cr_assert_eq(fsrs_vm_new(NULL, &vm), FSRS_OK);
    fsrs_value r;
    cr_assert_eq(fsrs_vm_call(vm, "f", 0, NULL, &r), FSRS_ENOTFOUND, "no chunk is loaded");
    fsrs_chunk *c = compile_ok("let f x = x\nlet n = 5\n");
    load_ok(vm, c);
    fsrs_chunk_free(c);
    cr_assert_eq(fsrs_vm_call(vm, "g", 1, (fsrs_value[]){fsrs_int(1)}, &r), FSRS_ENOTFOUND);
    cr_assert_eq(fsrs_error_last()->code, FSRS_ENOTFOUND);
    cr_assert(strstr(last_message(), "'g'"), "%s", last_message());
    /* a non-function value is returned as is with no arguments */
    cr_assert_eq(fsrs_vm_call(vm, "n", 0, NULL, &r), FSRS_OK);
    cr_assert_eq(fsrs_value_as_int(r), 5);
    cr_assert_eq(fsrs_vm_call(vm, "n", 1, (fsrs_value[]){fsrs_int(1)}, &r), FSRS_ERUNTIME);
    cr_assert_eq(fsrs_vm_call(vm, NULL, 0, NULL, &r), FSRS_EINVAL);
    cr_assert_eq(fsrs_vm_call(vm, "f", 1, NULL, &r), FSRS_EINVAL);
    fsrs_vm_free(vm);
}

/* ---------------------------------------------------------------- values --- */

Test(api, inline_values_and_readers, .timeout = 10)
{
    cr_assert_eq(fsrs_value_type(fsrs_unit()), FSRS_TYPE_UNIT);
    cr_assert_eq(fsrs_value_type(fsrs_bool(true)), FSRS_TYPE_BOOL);
    cr_assert(fsrs_value_as_bool(fsrs_bool(true)));
    cr_assert_eq(fsrs_value_as_int(fsrs_int(INT64_MIN)), INT64_MIN);
    cr_assert_float_eq(fsrs_value_as_float(fsrs_float(-2.5)), -2.5, 1e-15);
    cr_assert_eq(fsrs_value_type(fsrs_nil()), FSRS_TYPE_LIST);
    cr_assert(fsrs_list_is_empty(fsrs_nil()));
    /* readers of the wrong type give the zero of their type */
    cr_assert_eq(fsrs_value_as_int(fsrs_float(3.0)), 0);
    cr_assert_float_eq(fsrs_value_as_float(fsrs_int(3)), 0.0, 1e-15);
    cr_assert(!fsrs_value_as_bool(fsrs_int(1)));
    size_t len = 99;
    cr_assert_null(fsrs_value_as_string(fsrs_int(1), &len));
    cr_assert_eq(len, 0);
    cr_assert_eq(fsrs_tuple_size(fsrs_int(1)), 0);
    cr_assert_eq(fsrs_value_type(fsrs_list_head(fsrs_nil())), FSRS_TYPE_UNIT);
    cr_assert_str_eq(fsrs_type_name(FSRS_TYPE_TUPLE), "tuple");
    cr_assert_str_eq(fsrs_type_name(FSRS_TYPE_FUNCTION), "function");
    cr_assert(fsrs_value_equal(fsrs_int(3), fsrs_int(3)));
    cr_assert(!fsrs_value_equal(fsrs_int(3), fsrs_float(3.0)));
}

Test(api, heap_values_built_by_the_host, .timeout = 10)
{
    fsrs_vm *vm = NULL;
    cr_assert_eq(fsrs_vm_new(NULL, &vm), FSRS_OK);
    size_t mark = fsrs_vm_mark(vm);
    fsrs_value s, empty, t, l;
    cr_assert_eq(fsrs_string_new(vm, "h\0llo", 5, &s), FSRS_OK);
    size_t len = 0;
    const char *bytes = fsrs_value_as_string(s, &len);
    cr_assert_eq(len, 5);
    cr_assert(memcmp(bytes, "h\0llo", 6) == 0, "bytes are copied and NUL-terminated");
    cr_assert_eq(fsrs_string_new(vm, NULL, 0, &empty), FSRS_OK);
    cr_assert_str_eq(fsrs_value_as_string(empty, NULL), "");

    fsrs_value items[3] = {fsrs_int(1), s, fsrs_bool(false)};
    cr_assert_eq(fsrs_tuple_new(vm, 3, items, &t), FSRS_OK);
    items[0] = fsrs_int(99); /* the items were copied */
    cr_assert_eq(fsrs_value_type(t), FSRS_TYPE_TUPLE);
    cr_assert_eq(fsrs_tuple_size(t), 3);
    cr_assert_eq(fsrs_value_as_int(fsrs_tuple_get(t, 0)), 1);
    cr_assert(fsrs_value_equal(fsrs_tuple_get(t, 1), s));
    cr_assert_eq(fsrs_value_type(fsrs_tuple_get(t, 3)), FSRS_TYPE_UNIT, "out of range");

    fsrs_value nums[4] = {fsrs_int(10), fsrs_int(20), fsrs_int(30), fsrs_int(40)};
    cr_assert_eq(fsrs_list_new(vm, 4, nums, &l), FSRS_OK);
    int64_t sum = 0, n = 0;
    for (fsrs_value x = l; !fsrs_list_is_empty(x); x = fsrs_list_tail(x), n++)
        sum += fsrs_value_as_int(fsrs_list_head(x)) * (n + 1);
    cr_assert_eq(n, 4);
    cr_assert_eq(sum, 10 + 40 + 90 + 160, "the order is kept");
    fsrs_value none;
    cr_assert_eq(fsrs_list_new(vm, 0, NULL, &none), FSRS_OK);
    cr_assert(fsrs_value_equal(none, fsrs_nil()));

    cr_assert_eq(fsrs_tuple_new(vm, 2, NULL, &t), FSRS_EINVAL);
    cr_assert_eq(fsrs_string_new(vm, NULL, 3, &s), FSRS_EINVAL);
    fsrs_vm_release(vm, mark);
    fsrs_vm_free(vm);
}

Test(api, host_values_passed_into_script_functions, .timeout = 10)
{
    fsrs_vm *vm = vm_with(NULL, "let rec total xs =\n"
                                "    match xs with\n"
                                "    | [] -> 0\n"
                                "    | (_, n) :: rest -> n + total rest\n"
                                "let describe (name, n) = sprintf \"%s has %d\" name n\n");
    size_t mark = fsrs_vm_mark(vm);
    fsrs_value a, b, pairs[2], list, r;
    cr_assert_eq(fsrs_string_new(vm, "ann", 3, &a), FSRS_OK);
    cr_assert_eq(fsrs_string_new(vm, "bo", 2, &b), FSRS_OK);
    cr_assert_eq(fsrs_tuple_new(vm, 2, (fsrs_value[]){a, fsrs_int(3)}, &pairs[0]), FSRS_OK);
    cr_assert_eq(fsrs_tuple_new(vm, 2, (fsrs_value[]){b, fsrs_int(4)}, &pairs[1]), FSRS_OK);
    cr_assert_eq(fsrs_list_new(vm, 2, pairs, &list), FSRS_OK);
    cr_assert_eq(fsrs_vm_call(vm, "total", 1, &list, &r), FSRS_OK, "%s", last_message());
    cr_assert_eq(fsrs_value_as_int(r), 7);
    cr_assert_eq(fsrs_vm_call(vm, "describe", 1, &pairs[1], &r), FSRS_OK, "%s", last_message());
    cr_assert_str_eq(fsrs_value_as_string(r, NULL), "bo has 4");
    fsrs_vm_release(vm, mark);
    fsrs_vm_free(vm);
}

Test(api, host_records_are_script_records, .timeout = 10)
{
    /* the script declares the types it uses, as an F# script would; the
     * host's records carry the same field names */
    fsrs_vm *vm = vm_with(NULL, "type Req = { Method: string; Path: string }\n"
                                "type Resp = { Status: int; Body: string }\n"
                                "type Counter = { Count: int }\n"
                                "let handle req =\n"
                                "    match req with\n"
                                "    | { Path = \"/\" } -> { Status = 200; Body = req.Method + \" home\" }\n"
                                "    | { Path = p } -> { Status = 404; Body = p }\n"
                                "let bump r = { r with Count = r.Count + 1 }\n"
                                "let same a b = (a = b)\n"
                                "let maybe n = if n > 0 then Some n else None\n");
    size_t mark = fsrs_vm_mark(vm);
    static const char *const names[] = {"Method", "Path"};
    fsrs_value vals[2], req, resp, f;
    cr_assert_eq(fsrs_string_new(vm, "GET", 3, &vals[0]), FSRS_OK);
    cr_assert_eq(fsrs_string_new(vm, "/", 1, &vals[1]), FSRS_OK);
    cr_assert_eq(fsrs_record_new(vm, 2, names, vals, &req), FSRS_OK, "%s", last_message());
    cr_assert_eq(fsrs_value_type(req), FSRS_TYPE_RECORD);
    cr_assert_str_eq(fsrs_type_name(FSRS_TYPE_RECORD), "record");
    cr_assert_eq(fsrs_record_size(req), 2);
    cr_assert_str_eq(fsrs_record_field_name(req, 1), "Path");

    cr_assert_eq(fsrs_vm_call(vm, "handle", 1, &req, &resp), FSRS_OK, "%s", last_message());
    cr_assert_eq(fsrs_value_type(resp), FSRS_TYPE_RECORD);
    cr_assert_eq(fsrs_record_get(resp, "Status", &f), FSRS_OK);
    cr_assert_eq(fsrs_value_as_int(f), 200);
    cr_assert_eq(fsrs_record_get(resp, "Body", &f), FSRS_OK);
    cr_assert_str_eq(fsrs_value_as_string(f, NULL), "GET home");
    cr_assert_eq(fsrs_record_get(resp, "Nope", &f), FSRS_ENOTFOUND);
    cr_assert_eq(fsrs_record_get(fsrs_int(1), "Status", &f), FSRS_ENOTFOUND);
    cr_assert_null(fsrs_record_field_name(resp, 2));

    /* a second record with the same names shares the description */
    cr_assert_eq(fsrs_string_new(vm, "/x", 2, &vals[1]), FSRS_OK);
    cr_assert_eq(fsrs_record_new(vm, 2, names, vals, &req), FSRS_OK);
    cr_assert_eq(fsrs_vm_call(vm, "handle", 1, &req, &resp), FSRS_OK, "%s", last_message());
    cr_assert_eq(fsrs_value_as_int(fsrs_record_field(resp, 0)), 404);
    char buf[128];
    fsrs_value_format(req, buf, sizeof buf);
    cr_assert_str_eq(buf, "{ Method = \"GET\"\n  Path = \"/x\" }");

    /* copy-and-update and equality */
    static const char *const cnames[] = {"Count"};
    fsrs_value c, c2, eq, args[2];
    cr_assert_eq(fsrs_record_new(vm, 1, cnames, (fsrs_value[]){fsrs_int(41)}, &c), FSRS_OK);
    cr_assert_eq(fsrs_vm_call(vm, "bump", 1, &c, &c2), FSRS_OK, "%s", last_message());
    cr_assert_eq(fsrs_value_as_int(fsrs_record_field(c2, 0)), 42);
    cr_assert_eq(fsrs_record_new(vm, 1, cnames, (fsrs_value[]){fsrs_int(42)}, &c), FSRS_OK);
    args[0] = c;
    args[1] = c2;
    cr_assert_eq(fsrs_vm_call(vm, "same", 2, args, &eq), FSRS_OK, "%s", last_message());
    cr_assert(fsrs_value_as_bool(eq));
    cr_assert(fsrs_value_equal(c, c2));

    /* union readers */
    fsrs_value some, none;
    cr_assert_eq(fsrs_vm_call(vm, "maybe", 1, (fsrs_value[]){fsrs_int(5)}, &some), FSRS_OK);
    cr_assert_eq(fsrs_vm_call(vm, "maybe", 1, (fsrs_value[]){fsrs_int(0)}, &none), FSRS_OK);
    cr_assert_eq(fsrs_value_type(some), FSRS_TYPE_UNION);
    cr_assert_str_eq(fsrs_union_case(some), "Some");
    cr_assert_eq(fsrs_union_size(some), 1);
    cr_assert_eq(fsrs_value_as_int(fsrs_union_field(some, 0)), 5);
    cr_assert_str_eq(fsrs_union_case(none), "None");
    cr_assert_eq(fsrs_union_size(none), 0);
    cr_assert_null(fsrs_union_case(c));
    cr_assert_eq(fsrs_record_size(some), 0);

    fsrs_vm_release(vm, mark);
    fsrs_vm_free(vm);
}

Test(api, host_arrays_are_shared_with_the_script, .timeout = 10)
{
    fsrs_vm *vm = vm_with(NULL, "let total (a: int[]) = Array.sum a\n"
                                "let first (a: int[]) = a.[0]\n"
                                "let make n = Array.create n 7\n");
    size_t mark = fsrs_vm_mark(vm);
    fsrs_value a, r;
    cr_assert_eq(fsrs_array_new(vm, 3, (fsrs_value[]){fsrs_int(1), fsrs_int(2), fsrs_int(3)}, &a),
                 FSRS_OK);
    cr_assert_eq(fsrs_value_type(a), FSRS_TYPE_ARRAY);
    cr_assert_str_eq(fsrs_type_name(FSRS_TYPE_ARRAY), "array");
    cr_assert_eq(fsrs_vm_call(vm, "total", 1, &a, &r), FSRS_OK, "%s", last_message());
    cr_assert_eq(fsrs_value_as_int(r), 6);
    cr_assert(fsrs_array_set(a, 2, fsrs_int(10)));
    cr_assert_not(fsrs_array_set(a, 3, fsrs_int(0)));
    cr_assert_not(fsrs_array_set(fsrs_int(1), 0, fsrs_int(0)));
    cr_assert_eq(fsrs_vm_call(vm, "total", 1, &a, &r), FSRS_OK, "%s", last_message());
    cr_assert_eq(fsrs_value_as_int(r), 13);
    cr_assert_eq(fsrs_vm_call(vm, "make", 1, (fsrs_value[]){fsrs_int(4)}, &r), FSRS_OK);
    cr_assert_eq(fsrs_array_size(r), 4);
    cr_assert_eq(fsrs_value_as_int(fsrs_array_get(r, 3)), 7);
    cr_assert_eq(fsrs_value_type(fsrs_array_get(r, 4)), FSRS_TYPE_UNIT);
    char buf[64];
    fsrs_value_format(a, buf, sizeof buf);
    cr_assert_str_eq(buf, "[|1; 2; 10|]");
    fsrs_value empty;
    cr_assert_eq(fsrs_array_new(vm, 0, NULL, &empty), FSRS_OK);
    cr_assert_eq(fsrs_array_size(empty), 0);
    cr_assert_eq(fsrs_array_new(vm, 1, NULL, &empty), FSRS_EINVAL);
    fsrs_vm_release(vm, mark);
    fsrs_vm_free(vm);
}

Test(api, record_new_rejects_bad_field_lists, .timeout = 10)
{
    fsrs_vm *vm = vm_with(NULL, "let x = 1\n");
    fsrs_value out = fsrs_unit(), v[2] = {fsrs_int(1), fsrs_int(2)};
    cr_assert_eq(fsrs_record_new(vm, 0, (const char *const[]){"A"}, v, &out), FSRS_EINVAL);
    cr_assert_eq(fsrs_record_new(vm, 2, (const char *const[]){"A", "A"}, v, &out), FSRS_EINVAL);
    cr_assert_eq(fsrs_record_new(vm, 1, (const char *const[]){"a b"}, v, &out), FSRS_EINVAL);
    cr_assert_eq(fsrs_record_new(vm, 1, (const char *const[]){"A.B"}, v, &out), FSRS_EINVAL);
    cr_assert_eq(fsrs_record_new(vm, 1, (const char *const[]){""}, v, &out), FSRS_EINVAL);
    cr_assert_eq(fsrs_record_new(vm, 1, NULL, v, &out), FSRS_EINVAL);
    cr_assert_eq(fsrs_record_new(NULL, 1, (const char *const[]){"A"}, v, &out), FSRS_EINVAL);
    cr_assert_eq(fsrs_value_type(out), FSRS_TYPE_UNIT);
    cr_assert_str_eq(fsrs_type_name(FSRS_TYPE_UNION), "union");
    cr_assert_str_eq(fsrs_type_name(FSRS_TYPE_OTHER), "other");
    fsrs_vm_free(vm);
}

Test(api, value_format_renders_like_percent_A, .timeout = 10)
{
    fsrs_vm *vm = vm_with(NULL, "let t = (1, \"a\", 2.0, 'c', true, ())\n"
                                "let l = [(1, \"x\"); (2, \"y\")]\n"
                                "let nested = [[1; 2]; []]\n"
                                "let floats = [0.5; -3.0; 1e20]\n"
                                "let chars = ['\\n'; '\\''; 'z']\n"
                                "let f = fun x -> x\n"
                                "let long = [1 .. 150]\n");
    static const struct {
        const char *name, *text;
    } want[] = {
        {"t", "(1, \"a\", 2.0, 'c', true, ())"},
        {"l", "[(1, \"x\"); (2, \"y\")]"},
        {"nested", "[[1; 2]; []]"},
        {"floats", "[0.5; -3.0; 1e+20]"},
        {"chars", "['\\n'; '\\''; 'z']"},
        {"f", "<fun>"},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        fsrs_value v;
        cr_assert_eq(fsrs_vm_global(vm, want[i].name, &v), FSRS_OK);
        cr_assert_str_eq(show(v), want[i].text, "%s", want[i].name);
    }
    fsrs_value v;
    cr_assert_eq(fsrs_vm_global(vm, "long", &v), FSRS_OK);
    const char *text = show(v);
    cr_assert(strncmp(text, "[1; 2; 3;", 9) == 0, "%s", text);
    cr_assert(strstr(text, "; 100; ...]"), "long lists are cut after 100 items: %s", text);
    cr_assert_str_eq(show(fsrs_unit()), "()");
    cr_assert_str_eq(show(fsrs_nil()), "[]");
    cr_assert_str_eq(show(fsrs_int(-7)), "-7");
    fsrs_vm_free(vm);
}

Test(api, value_format_truncates_like_snprintf, .timeout = 10)
{
    fsrs_vm *vm = vm_with(NULL, "let l = [1; 2; 3]\n");
    fsrs_value v;
    cr_assert_eq(fsrs_vm_global(vm, "l", &v), FSRS_OK);
    char buf[5];
    memset(buf, 'X', sizeof buf);
    cr_assert_eq(fsrs_value_format(v, buf, sizeof buf), strlen("[1; 2; 3]"));
    cr_assert_str_eq(buf, "[1; ");
    cr_assert_eq(fsrs_value_format(v, NULL, 0), 9, "cap 0 only measures");
    fsrs_vm_free(vm);
}

Test(api, handles_keep_values_alive_until_released, .timeout = 10)
{
    fsrs_vm *vm = NULL;
    cr_assert_eq(fsrs_vm_new(NULL, &vm), FSRS_OK);
    size_t base = fsrs_vm_memory(vm);
    char block[1024];
    memset(block, 'q', sizeof block);
    size_t outer = fsrs_vm_mark(vm);
    fsrs_value first;
    cr_assert_eq(fsrs_string_new(vm, "first", 5, &first), FSRS_OK);
    size_t inner = fsrs_vm_mark(vm);
    cr_assert_eq(inner, outer + 1);
    for (int i = 0; i < 1000; i++) {
        fsrs_value s;
        cr_assert_eq(fsrs_string_new(vm, block, sizeof block, &s), FSRS_OK);
    }
    fsrs_vm_gc(vm);
    cr_assert_geq(fsrs_vm_memory(vm), base + 1000 * sizeof block,
                  "held values survive a collection");
    fsrs_vm_release(vm, inner);
    fsrs_vm_gc(vm);
    cr_assert_lt(fsrs_vm_memory(vm), base + 16 * sizeof block, "released values are collected");
    cr_assert_str_eq(fsrs_value_as_string(first, NULL), "first", "values before the mark stay");
    fsrs_vm_release(vm, outer);
    fsrs_vm_gc(vm);
    cr_assert_eq(fsrs_vm_memory(vm), base);
    fsrs_vm_free(vm);
}

/* ------------------------------------------------------------ allocator --- */

static const char alloc_script[] =
    "let rec build n acc = if n = 0 then acc else build (n - 1) (sprintf \"s%d\" n :: acc)\n"
    "let rec count xs = match xs with | [] -> 0 | _ :: t -> 1 + count t\n"
    "let pairUp a b = (a, b, [a; b])\n"
    "let work n =\n"
    "    let xs = build n []\n"
    "    let p = pairUp n\n"
    "    let (a, b, l) = p (mul n 2)\n"
    "    count xs + a + b + count (l @ l) + (inc 0 - 1)\n"
    "let banner = sprintf \"%s-%d\" \"v\" 1\n";

static const char alloc_script_next[] =
    "let greet name = \"hi \" + name\n"
    "let rec len xs = match xs with | [] -> 0 | _ :: t -> 1 + len t\n"
    "let work n = [1 .. n] |> len\n";

Test(api, allocator_hook_sees_every_allocation_and_balances, .timeout = 10)
{
    CountingAlloc ca;
    counting_init(&ca);
    fsrs_compile_options opts;
    fsrs_compile_options_init(&opts);
    opts.alloc = counting_alloc;
    opts.alloc_userdata = &ca;
    opts.host_names = host_names;
    opts.host_count = 2;
    fsrs_chunk *c = NULL;
    cr_assert_eq(compile_src(&opts, alloc_script, &c), FSRS_OK, "%s", last_message());
    size_t chunk_bytes = ca.live;
    cr_assert_gt(chunk_bytes, 0);

    fsrs_config cfg;
    fsrs_config_init(&cfg);
    cfg.alloc = counting_alloc;
    cfg.alloc_userdata = &ca;
    fsrs_vm *vm = vm_with_hosts(&cfg, NULL);
    load_ok(vm, c);
    fsrs_chunk_free(c);
    cr_assert_eq(call_int(vm, "work", 1, (int64_t[]){100}), 100 + 100 + 200 + 4);
    cr_assert_gt(ca.live, chunk_bytes);
    cr_assert_geq(ca.live, fsrs_vm_memory(vm), "the heap is allocated through the hook");
    fsrs_vm_free(vm);
    cr_assert_eq(ca.live, 0, "%zu bytes not freed", ca.live);
    cr_assert_eq(ca.size_mismatches, 0, "frees must pass the size that was allocated");
}

Test(api, compile_survives_any_failed_allocation, .timeout = 10)
{
    CountingAlloc ca;
    counting_init(&ca);
    fsrs_compile_options opts;
    fsrs_compile_options_init(&opts);
    opts.alloc = counting_alloc;
    opts.alloc_userdata = &ca;
    opts.host_names = host_names;
    opts.host_count = 2;
    fsrs_chunk *c = NULL;
    cr_assert_eq(compile_src(&opts, alloc_script, &c), FSRS_OK);
    fsrs_chunk_free(c);
    long needed = ca.requests;
    cr_assert_gt(needed, 1);

    for (long n = 0; n <= needed; n++) {
        counting_init(&ca);
        ca.fail_at = n;
        c = NULL;
        int rc = compile_src(&opts, alloc_script, &c);
        cr_assert(rc == FSRS_OK || rc == FSRS_ENOMEM, "failing request %ld: rc %d", n, rc);
        if (n < needed) {
            cr_assert_eq(rc, FSRS_ENOMEM, "failing request %ld of %ld went unnoticed", n, needed);
            cr_assert_eq(fsrs_error_last()->code, FSRS_ENOMEM);
            cr_assert_null(c);
        } else {
            cr_assert_eq(rc, FSRS_OK);
        }
        fsrs_chunk_free(c);
        cr_assert_eq(ca.live, 0, "failing request %ld: %zu bytes leaked", n, ca.live);
        cr_assert_eq(ca.size_mismatches, 0, "failing request %ld", n);
    }
}

/* One VM's life with request `fail_at` refused: create, register, load,
 * call, load a second chunk, call, free.  Returns the requests it made. */
static long vm_life(long fail_at, fsrs_chunk *first, fsrs_chunk *second, bool *completed)
{
    CountingAlloc ca;
    counting_init(&ca);
    ca.fail_at = fail_at;
    fsrs_config cfg;
    fsrs_config_init(&cfg);
    cfg.alloc = counting_alloc;
    cfg.alloc_userdata = &ca;
    *completed = false;
    fsrs_vm *vm = NULL;
    int rc = fsrs_vm_new(&cfg, &vm);
    cr_assert(rc == FSRS_OK || rc == FSRS_ENOMEM, "request %ld: vm_new %d", fail_at, rc);
    if (rc != FSRS_OK) {
        cr_assert_eq(ca.live, 0);
        return ca.requests;
    }
    int steps = 0;
    rc = fsrs_vm_register(vm, "inc", 1, host_inc, NULL);
    cr_assert(rc == FSRS_OK || rc == FSRS_ENOMEM, "request %ld: register %d", fail_at, rc);
    if (rc == FSRS_OK) {
        rc = fsrs_vm_register(vm, "mul", 2, host_mul, NULL);
        cr_assert(rc == FSRS_OK || rc == FSRS_ENOMEM, "request %ld: register %d", fail_at, rc);
    }
    if (rc == FSRS_OK) {
        steps++;
        rc = fsrs_vm_load(vm, first);
        cr_assert(rc == FSRS_OK || rc == FSRS_ENOMEM, "request %ld: load %d (%s)", fail_at, rc,
                  last_message());
    }
    if (rc == FSRS_OK) {
        steps++;
        fsrs_value r;
        size_t mark = fsrs_vm_mark(vm);
        rc = fsrs_vm_call(vm, "work", 1, (fsrs_value[]){fsrs_int(50)}, &r);
        cr_assert(rc == FSRS_OK || rc == FSRS_ENOMEM, "request %ld: call %d (%s)", fail_at, rc,
                  last_message());
        if (rc == FSRS_OK)
            cr_assert_eq(fsrs_value_as_int(r), 50 + 50 + 100 + 4, "request %ld", fail_at);
        fsrs_vm_release(vm, mark);
    }
    /* whatever failed above, the VM takes the next chunk */
    if (steps >= 1) {
        rc = fsrs_vm_load(vm, second);
        cr_assert(rc == FSRS_OK || rc == FSRS_ENOMEM, "request %ld: reload %d (%s)", fail_at, rc,
                  last_message());
        if (rc == FSRS_OK) {
            fsrs_value r;
            rc = fsrs_vm_call(vm, "work", 1, (fsrs_value[]){fsrs_int(300)}, &r);
            cr_assert(rc == FSRS_OK || rc == FSRS_ENOMEM, "request %ld: call %d (%s)", fail_at,
                      rc, last_message());
            if (rc == FSRS_OK) {
                cr_assert_eq(fsrs_value_as_int(r), 300, "request %ld", fail_at);
                *completed = steps == 2;
            }
        }
    }
    fsrs_vm_free(vm);
    cr_assert_eq(ca.live, 0, "request %ld: %zu bytes leaked", fail_at, ca.live);
    cr_assert_eq(ca.size_mismatches, 0, "request %ld: frees with the wrong size", fail_at);
    return ca.requests;
}

Test(api, vm_survives_any_failed_allocation, .timeout = 10)
{
    static const char *const two[] = {"inc", "mul"};
    fsrs_compile_options opts;
    fsrs_compile_options_init(&opts);
    opts.host_names = two;
    opts.host_count = 2;
    fsrs_chunk *first = NULL, *second = NULL;
    cr_assert_eq(compile_src(&opts, alloc_script, &first), FSRS_OK, "%s", last_message());
    cr_assert_eq(compile_src(&opts, alloc_script_next, &second), FSRS_OK, "%s", last_message());

    bool completed = false;
    long needed = vm_life(-1, first, second, &completed);
    cr_assert(completed, "the run without failures completes");
    cr_assert_gt(needed, 10);
    long completed_runs = 0;
    for (long n = 0; n < needed; n++) {
        vm_life(n, first, second, &completed);
        completed_runs += completed;
    }
    /* a failure the collector absorbs (by collecting and retrying) lets the
     * run complete; most failures must surface as FSRS_ENOMEM */
    cr_assert_lt(completed_runs, needed);
    fsrs_chunk_free(first);
    fsrs_chunk_free(second);
}
