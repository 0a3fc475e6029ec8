/*
 * Unit tests of modules and arrays as the host API sees them: a function
 * or value inside a module is found by its qualified name ("M.f",
 * "A.B.g"), unknown module members are compile errors at their position,
 * and arrays made by scripts come back to the host intact.
 */
#include <string.h>

#include <criterion/criterion.h>

#include "unit.h"

static const char modules_src[] = "module M =\n"
                                  "    let f x = x * 2\n"
                                  "    let answer = 42\n"
                                  "module A =\n"
                                  "    module B =\n"
                                  "        let g x y = x + y\n"
                                  "    let h x = B.g x 1\n"
                                  "let f x = x + 1000\n";

Test(modules, host_calls_functions_by_qualified_name, .timeout = 10)
{
    fsrs_vm *vm = vm_with(NULL, modules_src);
    cr_assert_eq(call_int(vm, "M.f", 1, (int64_t[]){21}), 42);
    cr_assert_eq(call_int(vm, "A.B.g", 2, (int64_t[]){3, 4}), 7);
    cr_assert_eq(call_int(vm, "A.h", 1, (int64_t[]){5}), 6);
    /* the top-level f is a different function from M.f */
    cr_assert_eq(call_int(vm, "f", 1, (int64_t[]){1}), 1001);
    cr_assert_eq(global_int(vm, "M.answer"), 42);
    fsrs_vm_free(vm);
}

Test(modules, unqualified_name_of_a_module_member_is_not_a_global, .timeout = 10)
{
    fsrs_vm *vm = vm_with(NULL, modules_src);
    fsrs_value r;
    cr_assert_eq(fsrs_vm_call(vm, "g", 2, (fsrs_value[]){fsrs_int(1), fsrs_int(2)}, &r),
                 FSRS_ENOTFOUND);
    cr_assert_eq(fsrs_vm_call(vm, "B.g", 2, (fsrs_value[]){fsrs_int(1), fsrs_int(2)}, &r),
                 FSRS_ENOTFOUND);
    fsrs_vm_free(vm);
}

Test(modules, file_module_declaration_qualifies_every_binding, .timeout = 10)
{
    fsrs_vm *vm = vm_with(NULL, "module Lib\n"
                                "let twice x = x * 2\n"
                                "let four = twice 2\n");
    cr_assert_eq(call_int(vm, "Lib.twice", 1, (int64_t[]){8}), 16);
    cr_assert_eq(global_int(vm, "Lib.four"), 4);
    fsrs_vm_free(vm);
}

Test(modules, unknown_member_is_reported_where_it_is_used, .timeout = 10)
{
    const fsrs_error *e = compile_fails("module M =\n"
                                        "    let x = 1\n"
                                        "let y = 2 + M.z\n");
    cr_assert_eq(e->line, 3);
    cr_assert_eq(e->col, 13);
    cr_assert(strstr(e->message, "'z' is not defined"), "%s", e->message);
}

Test(modules, unknown_module_in_open_is_reported, .timeout = 10)
{
    const fsrs_error *e = compile_fails("let a = 1\nopen Nowhere\n");
    cr_assert_eq(e->line, 2);
    cr_assert_eq(e->col, 6);
    cr_assert(strstr(e->message, "'Nowhere' is not defined"), "%s", e->message);
}

Test(modules, arrays_reach_the_host, .timeout = 10)
{
    fsrs_vm *vm = vm_with(NULL, "module Data =\n"
                                "    let table = [| 3; 1; 2 |]\n"
                                "    let sorted () = Array.sort table\n");
    fsrs_value v;
    cr_assert_eq(fsrs_vm_global(vm, "Data.table", &v), FSRS_OK, "%s", last_message());
    cr_assert_str_eq(show(v), "[|3; 1; 2|]");
    cr_assert_eq(fsrs_vm_call(vm, "Data.sorted", 1, (fsrs_value[]){fsrs_unit()}, &v), FSRS_OK,
                 "%s", last_message());
    cr_assert_str_eq(show(v), "[|1; 2; 3|]");
    fsrs_vm_free(vm);
}

Test(modules, index_out_of_range_is_a_runtime_error, .timeout = 10)
{
    fsrs_vm *vm = vm_with(NULL, "let get i = [| 1; 2 |].[i]\n");
    fsrs_value r;
    cr_assert_eq(call_int(vm, "get", 1, (int64_t[]){1}), 2);
    cr_assert_eq(fsrs_vm_call(vm, "get", 1, (fsrs_value[]){fsrs_int(2)}, &r), FSRS_ERUNTIME);
    cr_assert(strstr(last_message(), "Index was outside the bounds of the array."), "%s",
              last_message());
    fsrs_vm_free(vm);
}

Test(modules, huge_array_hits_the_memory_limit, .timeout = 10)
{
    fsrs_config cfg;
    fsrs_config_init(&cfg);
    cfg.memory_limit = 1u << 20;
    fsrs_vm *vm = vm_with(&cfg, "let make n = Array.create n 0\n"
                                "let small = make 10\n");
    fsrs_value r;
    cr_assert_eq(fsrs_vm_call(vm, "make", 1, (fsrs_value[]){fsrs_int(1 << 20)}, &r),
                 FSRS_ELIMIT, "%s", last_message());
    cr_assert_eq(fsrs_vm_call(vm, "make", 1, (fsrs_value[]){fsrs_int(-1)}, &r), FSRS_ERUNTIME);
    cr_assert(strstr(last_message(), "non-negative"), "%s", last_message());
    /* the VM is still usable */
    cr_assert_eq(fsrs_vm_call(vm, "make", 1, (fsrs_value[]){fsrs_int(3)}, &r), FSRS_OK);
    cr_assert_str_eq(show(r), "[|0; 0; 0|]");
    fsrs_vm_free(vm);
}

Test(modules, arrays_survive_collections, .timeout = 30)
{
    fsrs_vm *vm = vm_with(NULL, "let run n =\n"
                                "    let keep = Array.create 10 [||]\n"
                                "    for i in 0 .. n - 1 do\n"
                                "        let a = Array.append [| i |] (List.toArray [i; i])\n"
                                "        keep.[i % 10] <- Array.sort a\n"
                                "    let mutable s = 0\n"
                                "    for a in keep do\n"
                                "        for x in a do s <- s + x\n"
                                "    s\n");
    /* the last ten arrays hold 3 * (n-10 .. n-1) */
    int64_t n = 200000, want = 0;
    for (int64_t i = n - 10; i < n; i++)
        want += 3 * i;
    cr_assert_eq(call_int(vm, "run", 1, (int64_t[]){n}), want);
    fsrs_vm_free(vm);
}
