/*
 * Unit tests of the virtual machine (vm/vm.c, vm/gc.c): running scripts
 * and reading their results through the API, F#'s application rules,
 * closures, equality, runtime errors with their traces, the collector and
 * script output.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include <criterion/criterion.h>

#include "lang/chunk.h"
#include "unit.h"

Test(vm, globals_hold_the_top_level_values, .timeout = 10)
{
    fsrs_vm *vm = vm_with(NULL, "let i = 6 * 7\n"
                                "let f = 1.5 * 2.0\n"
                                "let s = \"ab\" + \"cd\"\n"
                                "let b = 3 > 2\n"
                                "let c = 'x'\n"
                                "let u = ()\n"
                                "let (p, q) = (1, \"two\")\n");
    cr_assert_eq(global_int(vm, "i"), 42);
    fsrs_value v;
    cr_assert_eq(fsrs_vm_global(vm, "f", &v), FSRS_OK);
    cr_assert_eq(fsrs_value_type(v), FSRS_TYPE_FLOAT);
    cr_assert_float_eq(fsrs_value_as_float(v), 3.0, 1e-12);
    cr_assert_eq(fsrs_vm_global(vm, "s", &v), FSRS_OK);
    size_t len = 0;
    cr_assert_str_eq(fsrs_value_as_string(v, &len), "abcd");
    cr_assert_eq(len, 4);
    cr_assert(global_bool(vm, "b"));
    cr_assert_eq(fsrs_vm_global(vm, "c", &v), FSRS_OK);
    cr_assert_eq(fsrs_value_type(v), FSRS_TYPE_CHAR);
    cr_assert_eq(fsrs_value_as_int(v), 'x');
    cr_assert_eq(fsrs_vm_global(vm, "u", &v), FSRS_OK);
    cr_assert_eq(fsrs_value_type(v), FSRS_TYPE_UNIT);
    cr_assert_eq(global_int(vm, "p"), 1);
    cr_assert_eq(fsrs_vm_global(vm, "q", &v), FSRS_OK);
    cr_assert_str_eq(fsrs_value_as_string(v, NULL), "two");
    cr_assert_eq(fsrs_vm_global(vm, "nope", &v), FSRS_ENOTFOUND);
    fsrs_vm_free(vm);
}

Test(vm, integer_arithmetic_follows_fsharp, .timeout = 10)
{
    fsrs_vm *vm = vm_with(NULL, "let q = 7 / -2\n"
                                "let r = -7 % 3\n"
                                "let wrap = 9223372036854775807 + 1\n"
                                "let minDiv = -9223372036854775808 / -1\n"
                                "let minMod = -9223372036854775808 % -1\n"
                                "let neg = -(-9223372036854775808)\n");
    cr_assert_eq(global_int(vm, "q"), -3);
    cr_assert_eq(global_int(vm, "r"), -1);
    cr_assert_eq(global_int(vm, "wrap"), INT64_MIN);
    cr_assert_eq(global_int(vm, "minDiv"), INT64_MIN);
    cr_assert_eq(global_int(vm, "minMod"), 0);
    cr_assert_eq(global_int(vm, "neg"), INT64_MIN);
    fsrs_vm_free(vm);
}

Test(vm, calling_functions_from_the_host, .timeout = 10)
{
    fsrs_vm *vm = vm_with(NULL, "let add a b = a + b\n"
                                "let rec fib n = if n < 2 then n else fib (n - 1) + fib (n - 2)\n");
    cr_assert_eq(call_int(vm, "add", 2, (int64_t[]){40, 2}), 42);
    cr_assert_eq(call_int(vm, "fib", 1, (int64_t[]){20}), 6765);
    fsrs_vm_free(vm);
}

Test(vm, partial_application_makes_a_function, .timeout = 10)
{
    fsrs_vm *vm = vm_with(NULL, "let add3 a b c = a * 100 + b * 10 + c\n"
                                "let p1 = add3 1\n"
                                "let p2 = p1 2\n"
                                "let r = p2 3\n");
    cr_assert_eq(global_int(vm, "r"), 123);
    size_t mark = fsrs_vm_mark(vm);
    fsrs_value args[3] = {fsrs_int(4), fsrs_int(5), fsrs_int(6)}, f, g, r;
    cr_assert_eq(fsrs_vm_call(vm, "add3", 1, args, &f), FSRS_OK);
    cr_assert_eq(fsrs_value_type(f), FSRS_TYPE_FUNCTION);
    cr_assert_eq(fsrs_vm_apply(vm, f, 1, args + 1, &g), FSRS_OK);
    cr_assert_eq(fsrs_value_type(g), FSRS_TYPE_FUNCTION);
    cr_assert_eq(fsrs_vm_apply(vm, g, 1, args + 2, &r), FSRS_OK);
    cr_assert_eq(fsrs_value_as_int(r), 456);
    /* the partial application is reusable */
    cr_assert_eq(fsrs_vm_apply(vm, f, 2, (fsrs_value[]){fsrs_int(0), fsrs_int(0)}, &r), FSRS_OK);
    cr_assert_eq(fsrs_value_as_int(r), 400);
    fsrs_vm_release(vm, mark);
    fsrs_vm_free(vm);
}

Test(vm, over_application_applies_the_result, .timeout = 10)
{
    fsrs_vm *vm = vm_with(NULL, "let mk a = fun b -> a - b\n"
                                "let twice f x = f (f x)\n"
                                "let r1 = mk 10 3\n"
                                "let r2 = twice (mk 100) 1\n"
                                "let pick n = if n > 0 then (fun x y -> x) else (fun x y -> y)\n"
                                "let r3 = pick 1 7 8 + pick 0 7 8\n");
    cr_assert_eq(global_int(vm, "r1"), 7);
    cr_assert_eq(global_int(vm, "r2"), 1);
    cr_assert_eq(global_int(vm, "r3"), 15);
    cr_assert_eq(call_int(vm, "mk", 2, (int64_t[]){50, 8}), 42);
    cr_assert_eq(call_int(vm, "pick", 3, (int64_t[]){-1, 5, 9}), 9);
    fsrs_vm_free(vm);
}

Test(vm, operators_and_builtins_as_function_values, .timeout = 10)
{
    fsrs_vm *vm = vm_with(NULL, "let apply2 f a b = f a b\n"
                                "let s = apply2 (+) 2 3\n"
                                "let m = apply2 max 4 9\n"
                                "let incThenDouble = (fun x -> x + 1) >> (fun x -> x * 2)\n"
                                "let c = incThenDouble 4\n"
                                "let d = ((fun x -> x + 1) << (fun x -> x * 2)) 4\n");
    cr_assert_eq(global_int(vm, "s"), 5);
    cr_assert_eq(global_int(vm, "m"), 9);
    cr_assert_eq(global_int(vm, "c"), 10);
    cr_assert_eq(global_int(vm, "d"), 9);
    fsrs_vm_free(vm);
}

Test(vm, closures_capture_values_when_made, .timeout = 10)
{
    fsrs_vm *vm = vm_with(NULL, "let makeAdder n = fun x -> x + n\n"
                                "let add5 = makeAdder 5\n"
                                "let add7 = makeAdder 7\n"
                                "let r = add5 1 * 100 + add7 1\n"
                                "let rec build i acc =\n"
                                "    if i = 0 then acc else build (i - 1) ((fun x -> x * i) :: acc)\n"
                                "let fs = build 3 []\n"
                                "let rec applyAll fs x =\n"
                                "    match fs with\n"
                                "    | [] -> []\n"
                                "    | f :: rest -> f x :: applyAll rest x\n"
                                "let results = applyAll fs 10\n");
    cr_assert_eq(global_int(vm, "r"), 608);
    fsrs_value v;
    cr_assert_eq(fsrs_vm_global(vm, "results", &v), FSRS_OK);
    cr_assert_str_eq(show(v), "[10; 20; 30]");
    cr_assert_eq(call_int(vm, "add7", 1, (int64_t[]){35}), 42);
    fsrs_vm_free(vm);
}

Test(vm, local_recursive_functions_and_mutual_recursion, .timeout = 10)
{
    fsrs_vm *vm = vm_with(NULL, "let sumTo n =\n"
                                "    let rec go i acc = if i > n then acc else go (i + 1) (acc + i)\n"
                                "    go 1 0\n"
                                "let rec isEven n = if n = 0 then true else isOdd (n - 1)\n"
                                "and isOdd n = if n = 0 then false else isEven (n - 1)\n");
    cr_assert_eq(call_int(vm, "sumTo", 1, (int64_t[]){100}), 5050);
    fsrs_value r;
    cr_assert_eq(fsrs_vm_call(vm, "isOdd", 1, (fsrs_value[]){fsrs_int(100001)}, &r), FSRS_OK);
    cr_assert_eq(fsrs_value_type(r), FSRS_TYPE_BOOL);
    cr_assert(fsrs_value_as_bool(r));
    fsrs_vm_free(vm);
}

Test(vm, tail_calls_run_in_constant_stack, .timeout = 10)
{
    /* a call depth limit of 50 would stop any loop that pushed frames */
    fsrs_config cfg;
    fsrs_config_init(&cfg);
    cfg.max_call_depth = 50;
    fsrs_vm *vm = vm_with(&cfg, "let rec count i acc = if i = 0 then acc else count (i - 1) (acc + 1)\n"
                                "let rec ping n = if n = 0 then 0 else pong (n - 1)\n"
                                "and pong n = if n = 0 then 1 else ping (n - 1)\n"
                                "let rec deep n = if n = 0 then 0 else 1 + deep (n - 1)\n");
    cr_assert_eq(call_int(vm, "count", 2, (int64_t[]){1000000, 0}), 1000000);
    cr_assert_eq(call_int(vm, "ping", 1, (int64_t[]){1000001}), 1);
    fsrs_value r;
    cr_assert_eq(fsrs_vm_call(vm, "deep", 1, (fsrs_value[]){fsrs_int(100)}, &r), FSRS_ELIMIT,
                 "non-tail recursion deeper than the limit must stop");
    cr_assert_eq(call_int(vm, "deep", 1, (int64_t[]){40}), 40);
    fsrs_vm_free(vm);
}

Test(vm, structural_equality, .timeout = 10)
{
    fsrs_vm *vm = vm_with(NULL, "let l1 = [1; 2; 3] = [1; 2; 3]\n"
                                "let l2 = [1; 2] = [1; 2; 3]\n"
                                "let t1 = (1, \"a\", [2.5]) = (1, \"a\", [2.5])\n"
                                "let t2 = (1, \"a\") = (1, \"b\")\n"
                                "let s1 = \"abc\" = \"ab\" + \"c\"\n"
                                "let n1 = [[1]; []] <> [[1]; []]\n"
                                "let c1 = compare [1; 2] [1; 3]\n"
                                "let c2 = compare (2, \"b\") (2, \"a\")\n"
                                "let pair = (7, [\"x\"; \"y\"])\n");
    cr_assert(global_bool(vm, "l1"));
    cr_assert(!global_bool(vm, "l2"));
    cr_assert(global_bool(vm, "t1"));
    cr_assert(!global_bool(vm, "t2"));
    cr_assert(global_bool(vm, "s1"));
    cr_assert(!global_bool(vm, "n1"));
    cr_assert_eq(global_int(vm, "c1"), -1);
    cr_assert_eq(global_int(vm, "c2"), 1);

    /* the host sees the same equality on values it builds itself */
    size_t mark = fsrs_vm_mark(vm);
    fsrs_value x, y, items[2], list, built, pair;
    cr_assert_eq(fsrs_string_new(vm, "x", 1, &x), FSRS_OK);
    cr_assert_eq(fsrs_string_new(vm, "y", 1, &y), FSRS_OK);
    items[0] = x;
    items[1] = y;
    cr_assert_eq(fsrs_list_new(vm, 2, items, &list), FSRS_OK);
    cr_assert_eq(fsrs_tuple_new(vm, 2, (fsrs_value[]){fsrs_int(7), list}, &built), FSRS_OK);
    cr_assert_eq(fsrs_vm_global(vm, "pair", &pair), FSRS_OK);
    cr_assert(fsrs_value_equal(built, pair));
    cr_assert_eq(fsrs_tuple_new(vm, 2, (fsrs_value[]){fsrs_int(8), list}, &built), FSRS_OK);
    cr_assert(!fsrs_value_equal(built, pair));
    fsrs_vm_release(vm, mark);
    fsrs_vm_free(vm);
}

Test(vm, functions_cannot_be_compared, .timeout = 10)
{
    fsrs_vm *vm = vm_with(NULL, "let f x = x\nlet cmp () = compare f (fun x -> x)\n");
    fsrs_value r;
    cr_assert_eq(fsrs_vm_call(vm, "cmp", 1, (fsrs_value[]){fsrs_unit()}, &r), FSRS_ERUNTIME);
    cr_assert(strstr(last_message(), "functions cannot be compared"), "%s", last_message());
    fsrs_vm_free(vm);
}

Test(vm, deep_recursion_is_a_stack_overflow_and_the_vm_recovers, .timeout = 10)
{
    fsrs_vm *vm = vm_with(NULL, "let rec deep n = if n = 0 then 0 else 1 + deep (n - 1)\n");
    fsrs_value r = fsrs_int(-1);
    int rc = fsrs_vm_call(vm, "deep", 1, (fsrs_value[]){fsrs_int(1000000)}, &r);
    cr_assert_eq(rc, FSRS_ELIMIT);
    cr_assert_eq(fsrs_value_as_int(r), -1, "*out is not written on failure");
    const fsrs_error *e = fsrs_error_last();
    cr_assert_eq(e->code, FSRS_ELIMIT);
    cr_assert(strstr(e->message, "stack overflow"), "%s", e->message);
    cr_assert_eq(e->line, 1);
    cr_assert_str_eq(e->file, UNIT_SCRIPT);
    cr_assert(strstr(e->trace, "more frames"), "a long trace is shortened: %s", e->trace);
    /* the VM unwound completely and runs the next call */
    cr_assert_eq(call_int(vm, "deep", 1, (int64_t[]){10000}), 10000);
    fsrs_vm_free(vm);
}

Test(vm, runtime_error_message_line_and_trace, .timeout = 10)
{
    fsrs_vm *vm = vm_with(NULL, "let boom x =\n"
                                "    x / 0\n"
                                "let caller y =\n"
                                "    boom y + 1\n");
    fsrs_value r;
    int rc = fsrs_vm_call(vm, "caller", 1, (fsrs_value[]){fsrs_int(3)}, &r);
    cr_assert_eq(rc, FSRS_ERUNTIME);
    const fsrs_error *e = fsrs_error_last();
    cr_assert_eq(e->code, FSRS_ERUNTIME);
    cr_assert(strstr(e->message, "division by zero"), "%s", e->message);
    cr_assert_str_eq(e->file, UNIT_SCRIPT);
    cr_assert_eq(e->line, 2);
    cr_assert_not_null(e->trace);
    const char *inner = strstr(e->trace, "at boom (test.fsrs:2)");
    const char *outer = strstr(e->trace, "at caller (test.fsrs:4)");
    cr_assert_not_null(inner, "%s", e->trace);
    cr_assert_not_null(outer, "%s", e->trace);
    cr_assert_lt(inner, outer, "the innermost frame comes first: %s", e->trace);
    fsrs_vm_free(vm);
}

Test(vm, failing_match_and_failwith_report_their_lines, .timeout = 10)
{
    fsrs_vm *vm = vm_with(NULL, "let f x =\n"
                                "    match x with\n"
                                "    | 1 -> \"one\"\n"
                                "    | 2 -> \"two\"\n"
                                "let g x =\n"
                                "    if x > 0 then\n"
                                "        failwithf \"bad value %d\" x\n"
                                "    else x\n");
    fsrs_value r;
    cr_assert_eq(fsrs_vm_call(vm, "f", 1, (fsrs_value[]){fsrs_int(3)}, &r), FSRS_ERUNTIME);
    cr_assert(strstr(last_message(), "match"), "%s", last_message());
    cr_assert_eq(fsrs_error_last()->line, 2, "a failed match is reported at 'match'");
    cr_assert_eq(fsrs_vm_call(vm, "g", 1, (fsrs_value[]){fsrs_int(9)}, &r), FSRS_ERUNTIME);
    cr_assert_str_eq(last_message(), "bad value 9");
    cr_assert_eq(fsrs_error_last()->line, 7);
    fsrs_vm_free(vm);
}

Test(vm, type_errors_are_runtime_errors, .timeout = 10)
{
    fsrs_vm *vm = vm_with(NULL, "let addAny a b = a + b\nlet callIt f = f 1\n");
    fsrs_value r, s;
    cr_assert_eq(fsrs_string_new(vm, "x", 1, &s), FSRS_OK);
    cr_assert_eq(fsrs_vm_call(vm, "addAny", 2, (fsrs_value[]){fsrs_int(1), s}, &r), FSRS_ERUNTIME);
    cr_assert(strstr(last_message(), "type mismatch"), "%s", last_message());
    cr_assert_eq(fsrs_vm_call(vm, "callIt", 1, (fsrs_value[]){fsrs_int(5)}, &r), FSRS_ERUNTIME);
    cr_assert(strstr(last_message(), "not a function"), "%s", last_message());
    cr_assert_eq(fsrs_vm_call(vm, "addAny", 2, (fsrs_value[]){fsrs_int(1), fsrs_int(2)}, &r),
                 FSRS_OK);
    cr_assert_eq(fsrs_value_as_int(r), 3);
    fsrs_vm_free(vm);
}

static int error_calls;
static int error_code_seen;
static int error_line_seen;

static void on_error(const fsrs_error *err, void *userdata)
{
    (void)userdata;
    error_calls++;
    error_code_seen = err->code;
    error_line_seen = err->line;
}

Test(vm, error_callback_sees_each_script_error, .timeout = 10)
{
    fsrs_config cfg;
    fsrs_config_init(&cfg);
    cfg.error = on_error;
    error_calls = 0;
    fsrs_vm *vm = vm_with(&cfg, "let ok x = x\nlet bad x =\n    failwith \"no\"\n");
    fsrs_value r;
    cr_assert_eq(fsrs_vm_call(vm, "ok", 1, (fsrs_value[]){fsrs_int(1)}, &r), FSRS_OK);
    cr_assert_eq(error_calls, 0);
    cr_assert_eq(fsrs_vm_call(vm, "bad", 1, (fsrs_value[]){fsrs_int(1)}, &r), FSRS_ERUNTIME);
    cr_assert_eq(error_calls, 1);
    cr_assert_eq(error_code_seen, FSRS_ERUNTIME);
    cr_assert_eq(error_line_seen, 3);
    fsrs_vm_free(vm);
}

Test(vm, failing_top_level_code_keeps_the_globals_set_so_far, .timeout = 10)
{
    fsrs_chunk *c = compile_ok("let a = 1\nlet b = a / 0\nlet c = 3\n");
    fsrs_vm *vm = NULL;
    cr_assert_eq(fsrs_vm_new(NULL, &vm), FSRS_OK);
    cr_assert_eq(fsrs_vm_load(vm, c), FSRS_ERUNTIME);
    cr_assert_eq(fsrs_error_last()->line, 2);
    cr_assert_eq(fsrs_vm_chunk(vm), c, "the chunk stays loaded");
    cr_assert_eq(global_int(vm, "a"), 1);
    fsrs_value v;
    cr_assert_eq(fsrs_vm_global(vm, "c", &v), FSRS_OK);
    cr_assert_eq(fsrs_value_type(v), FSRS_TYPE_UNIT, "c was never assigned");
    fsrs_vm_free(vm);
    fsrs_chunk_free(c);
}

Test(vm, functions_of_a_replaced_chunk_keep_working, .timeout = 10)
{
    fsrs_chunk *first = compile_ok("let make n = fun x -> sprintf \"%s %d\" \"old\" (x + n)\n"
                                   "let fmt = sprintf \"%s=%d\"\n");
    fsrs_vm *vm = NULL;
    cr_assert_eq(fsrs_vm_new(NULL, &vm), FSRS_OK);
    cr_assert_eq(fsrs_vm_load(vm, first), FSRS_OK);
    size_t mark = fsrs_vm_mark(vm);
    fsrs_value oldFn, oldFmt, r, key;
    cr_assert_eq(fsrs_vm_call(vm, "make", 1, (fsrs_value[]){fsrs_int(1)}, &oldFn), FSRS_OK);
    cr_assert_eq(fsrs_vm_global(vm, "fmt", &oldFmt), FSRS_OK);

    fsrs_chunk *next = compile_ok("let other = 2\n");
    cr_assert_eq(fsrs_vm_load(vm, next), FSRS_OK);
    fsrs_chunk_free(next);
    cr_assert_eq(fsrs_vm_call(vm, "make", 1, (fsrs_value[]){fsrs_int(1)}, &r), FSRS_ENOTFOUND,
                 "the globals of the previous chunk are forgotten");
    cr_assert_eq(global_int(vm, "other"), 2);
    cr_assert_eq(atomic_load(&first->refs), 2, "the VM keeps the replaced chunk");

    /* the old code and its constants are still there after a collection */
    fsrs_vm_gc(vm);
    cr_assert_eq(fsrs_vm_apply(vm, oldFn, 1, (fsrs_value[]){fsrs_int(41)}, &r), FSRS_OK,
                 "%s", last_message());
    cr_assert_str_eq(fsrs_value_as_string(r, NULL), "old 42");
    cr_assert_eq(fsrs_string_new(vm, "k", 1, &key), FSRS_OK);
    cr_assert_eq(fsrs_vm_apply(vm, oldFmt, 2, (fsrs_value[]){key, fsrs_int(5)}, &r), FSRS_OK,
                 "%s", last_message());
    cr_assert_str_eq(fsrs_value_as_string(r, NULL), "k=5");

    /* once nothing refers to its code, the VM lets the chunk go */
    fsrs_vm_release(vm, mark);
    fsrs_vm_gc(vm);
    cr_assert_eq(atomic_load(&first->refs), 1);
    fsrs_vm_free(vm);
    fsrs_chunk_free(first);
}

Test(vm, functions_of_a_replaced_chunk_read_their_own_globals, .timeout = 10)
{
    /* g5 is the sixth global of the first program; the second has one */
    fsrs_chunk *first = compile_ok("let g0 = 0\nlet g1 = 1\nlet g2 = 2\nlet g3 = 3\nlet g4 = 4\n"
                                   "let g5 = \"five\"\n"
                                   "let f x = sprintf \"%s %d\" g5 x\n"
                                   "let rec countdown n = if n = 0 then g5 else countdown (n - 1)\n");
    fsrs_vm *vm = NULL;
    cr_assert_eq(fsrs_vm_new(NULL, &vm), FSRS_OK);
    cr_assert_eq(fsrs_vm_load(vm, first), FSRS_OK);
    fsrs_value f, cd, r;
    cr_assert_eq(fsrs_vm_global(vm, "f", &f), FSRS_OK);
    cr_assert_eq(fsrs_vm_global(vm, "countdown", &cd), FSRS_OK);
    fsrs_chunk *next = compile_ok("let only = \"new\"\n");
    cr_assert_eq(fsrs_vm_load(vm, next), FSRS_OK);
    fsrs_chunk_free(next);
    fsrs_vm_gc(vm); /* the old globals survive: a closure of their program is held */
    cr_assert_eq(fsrs_vm_apply(vm, f, 1, (fsrs_value[]){fsrs_int(42)}, &r), FSRS_OK, "%s",
                 last_message());
    cr_assert_str_eq(fsrs_value_as_string(r, NULL), "five 42");
    cr_assert_eq(fsrs_vm_apply(vm, cd, 1, (fsrs_value[]){fsrs_int(3)}, &r), FSRS_OK, "%s",
                 last_message());
    cr_assert_str_eq(fsrs_value_as_string(r, NULL), "five");
    fsrs_vm_free(vm);
    fsrs_chunk_free(first);
}

Test(vm, string_constants_of_a_replaced_chunk_stay_valid, .timeout = 10)
{
    fsrs_chunk *first = compile_ok("let v = [\"a string constant\"]\n");
    fsrs_vm *vm = NULL;
    cr_assert_eq(fsrs_vm_new(NULL, &vm), FSRS_OK);
    cr_assert_eq(fsrs_vm_load(vm, first), FSRS_OK);
    fsrs_value v;
    cr_assert_eq(fsrs_vm_global(vm, "v", &v), FSRS_OK);
    fsrs_chunk_free(first); /* the VM holds the only reference now */
    fsrs_chunk *next = compile_ok("let w = 1\n");
    cr_assert_eq(fsrs_vm_load(vm, next), FSRS_OK);
    fsrs_chunk_free(next);
    fsrs_vm_gc(vm); /* v (held by the host) still needs the old chunk */
    const char *s = fsrs_value_as_string(fsrs_list_head(v), NULL);
    cr_assert_str_eq(s, "a string constant");
    fsrs_vm_free(vm);
}

Test(vm, collector_keeps_memory_bounded_and_live_data_intact, .timeout = 10)
{
    CountingAlloc ca;
    counting_init(&ca);
    fsrs_config cfg;
    fsrs_config_init(&cfg);
    cfg.alloc = counting_alloc;
    cfg.alloc_userdata = &ca;
    fsrs_vm *vm = vm_with(&cfg, "let rec build n acc = if n = 0 then acc else build (n - 1) (n :: acc)\n"
                                "let rec sum xs acc =\n"
                                "    match xs with\n"
                                "    | [] -> acc\n"
                                "    | h :: t -> sum t (acc + h)\n"
                                "let keep = build 1000 []\n"
                                "let churn n = sum (build n []) 0 + sum keep 0\n");
    size_t peak = 0;
    for (int i = 0; i < 1000; i++) {
        cr_assert_eq(call_int(vm, "churn", 1, (int64_t[]){2000}), 2001000 + 500500);
        size_t m = fsrs_vm_memory(vm);
        if (m > peak)
            peak = m;
    }
    cr_assert_gt(ca.total, 64u << 20, "the loop allocated %zu bytes in all", ca.total);
    cr_assert_lt(peak, 8u << 20, "the heap grew to %zu bytes", peak);
    fsrs_vm_gc(vm);
    cr_assert_lt(fsrs_vm_memory(vm), 256u << 10, "after a collection only live data is left");
    fsrs_value keep;
    cr_assert_eq(fsrs_vm_global(vm, "keep", &keep), FSRS_OK);
    int64_t expect = 1;
    for (fsrs_value x = keep; !fsrs_list_is_empty(x); x = fsrs_list_tail(x))
        cr_assert_eq(fsrs_value_as_int(fsrs_list_head(x)), expect++);
    cr_assert_eq(expect, 1001);
    fsrs_vm_free(vm);
    cr_assert_eq(ca.live, 0);
}

Test(vm, printfn_goes_through_the_output_callback, .timeout = 10)
{
    Capture out = {0}, err = {0};
    fsrs_config cfg;
    fsrs_config_init(&cfg);
    cfg.output = capture_output;
    cfg.userdata = &out;
    fsrs_vm *vm = vm_with(&cfg, "printfn \"hello %s %d\" \"world\" 42\n"
                                "printf \"%A|\" [1; 2]\n"
                                "printf \"%5.2f|%-4d|%x\\n\" 3.14159 7 255\n"
                                "let say name = printfn \"hi %s\" name\n");
    cr_assert_str_eq(capture_text(&out), "hello world 42\n[1; 2]| 3.14|7   |ff\n");
    fsrs_value s;
    cr_assert_eq(fsrs_string_new(vm, "bob", 3, &s), FSRS_OK);
    cr_assert_eq(fsrs_vm_call(vm, "say", 1, &s, NULL), FSRS_OK);
    cr_assert_str_eq(capture_text(&out), "hello world 42\n[1; 2]| 3.14|7   |ff\nhi bob\n");
    fsrs_vm_free(vm);
    capture_free(&out);

    /* error output has its own callback; without one it is dropped */
    cfg.output = NULL;
    cfg.error_output = capture_output;
    cfg.userdata = &err;
    vm = vm_with(&cfg, "printfn \"to stdout\"\neprintfn \"to stderr %d\" 2\n");
    cr_assert_str_eq(capture_text(&err), "to stderr 2\n");
    fsrs_vm_free(vm);
    capture_free(&err);
}

Test(vm, sprintf_and_string_conversions, .timeout = 10)
{
    fsrs_vm *vm = vm_with(NULL, "let a = sprintf \"%d-%s-%b\" 5 \"x\" true\n"
                                "let b = string 42 + string 1.5 + string 'c'\n"
                                "let c = int \"123\" + int 4.9\n"
                                "let d = sprintf \"%A\" (1, [\"a\"], 'q', 2.0)\n");
    fsrs_value v;
    cr_assert_eq(fsrs_vm_global(vm, "a", &v), FSRS_OK);
    cr_assert_str_eq(fsrs_value_as_string(v, NULL), "5-x-true");
    cr_assert_eq(fsrs_vm_global(vm, "b", &v), FSRS_OK);
    cr_assert_str_eq(fsrs_value_as_string(v, NULL), "421.5c");
    cr_assert_eq(global_int(vm, "c"), 127);
    cr_assert_eq(fsrs_vm_global(vm, "d", &v), FSRS_OK);
    cr_assert_str_eq(fsrs_value_as_string(v, NULL), "(1, [\"a\"], 'q', 2.0)");
    fsrs_vm_free(vm);
}

Test(vm, ranges_and_list_operators, .timeout = 10)
{
    fsrs_vm *vm = vm_with(NULL, "let r1 = [1 .. 5]\n"
                                "let r2 = [10 .. -3 .. 1]\n"
                                "let r3 = ['a' .. 'e']\n"
                                "let r4 = [1; 2] @ [3] @ []\n"
                                "let r5 = [5 .. 1]\n");
    static const struct {
        const char *name, *text;
    } want[] = {{"r1", "[1; 2; 3; 4; 5]"},
                {"r2", "[10; 7; 4; 1]"},
                {"r3", "['a'; 'b'; 'c'; 'd'; 'e']"},
                {"r4", "[1; 2; 3]"},
                {"r5", "[]"}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        fsrs_value v;
        cr_assert_eq(fsrs_vm_global(vm, want[i].name, &v), FSRS_OK);
        cr_assert_str_eq(show(v), want[i].text, "%s", want[i].name);
    }
    fsrs_vm_free(vm);
}
