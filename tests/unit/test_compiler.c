/*
 * Unit tests of the compiler (lang/compile.c) through fsrs_compile: the
 * chunk it builds (functions, globals, host imports, code), compile errors
 * with their positions, chunk reference counting and the disassembler.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "lang/chunk.h"
#include "lang/opcodes.h"
#include "unit.h"

static const Proto *find_proto(const fsrs_chunk *c, const char *name)
{
    for (uint32_t i = 0; i < c->nprotos; i++)
        if (strcmp(c->protos[i]->name, name) == 0)
            return c->protos[i];
    cr_assert_fail("no function named '%s' in the chunk", name);
    return NULL;
}

/* Occurrences of op in p's code, stepping over two-word instructions. */
static int count_op(const Proto *p, int op)
{
    int n = 0;
    for (uint32_t pc = 0; pc < p->ncode; pc++) {
        int o = (int)INSTR_OP(p->code[pc]);
        cr_assert_lt(o, OP__COUNT, "invalid opcode %d at %u in '%s'", o, pc, p->name);
        if (o == op)
            n++;
        if (strchr(op_operands(o), '+'))
            pc++;
    }
    return n;
}

/* Position of the first op in p's code whose line is `line`, or -1. */
static long find_op_on_line(const Proto *p, int op, uint32_t line)
{
    for (uint32_t pc = 0; pc < p->ncode; pc++) {
        int o = (int)INSTR_OP(p->code[pc]);
        if (o == op && p->lines[pc] == line)
            return pc;
        if (strchr(op_operands(o), '+'))
            pc++;
    }
    return -1;
}

static void assert_compile_error(const char *src, int line, int col, const char *part)
{
    const fsrs_error *e = compile_fails(src);
    cr_assert(strstr(e->message, part), "message '%s' does not mention '%s'", e->message, part);
    cr_assert_str_eq(e->file, UNIT_SCRIPT);
    cr_assert_eq(e->line, line, "error at line %d, expected %d (%s)", e->line, line, e->message);
    cr_assert_eq(e->col, col, "error at column %d, expected %d (%s)", e->col, col, e->message);
    cr_assert_null(e->trace, "compile errors have no stack trace");
}

Test(compiler, tail_call_emits_tailcall, .timeout = 10)
{
    fsrs_chunk *c = compile_ok("let rec loop n acc =\n"
                               "    if n = 0 then acc else loop (n - 1) (acc + n)\n"
                               "let rec fact n = if n = 0 then 1 else n * fact (n - 1)\n");
    const Proto *loop = find_proto(c, "loop");
    cr_assert_eq(loop->arity, 2);
    /* a self tail call with every argument is a jump to the start */
    cr_assert_eq(count_op(loop, OP_TAILSELF), 1);
    cr_assert_eq(count_op(loop, OP_TAILCALL), 0);
    cr_assert_eq(count_op(loop, OP_CALL), 0);
    const Proto *fact = find_proto(c, "fact");
    cr_assert_eq(count_op(fact, OP_TAILCALL), 0, "n * fact (n - 1) is not a tail call");
    cr_assert_eq(count_op(fact, OP_CALL), 1);
    fsrs_chunk_free(c);
}

Test(compiler, tail_call_to_another_function_emits_tailcall, .timeout = 10)
{
    fsrs_chunk *c = compile_ok("let rec ping n = if n = 0 then 0 else pong (n - 1)\n"
                               "and pong n = ping n\n"
                               "let apply f x = f x\n");
    cr_assert_eq(count_op(find_proto(c, "ping"), OP_TAILCALL), 1);
    cr_assert_eq(count_op(find_proto(c, "pong"), OP_TAILCALL), 1);
    cr_assert_eq(count_op(find_proto(c, "apply"), OP_TAILCALL), 1);
    cr_assert_eq(count_op(find_proto(c, "ping"), OP_TAILSELF), 0);
    fsrs_chunk_free(c);
}

Test(compiler, tail_position_reaches_through_match_let_and_sequence, .timeout = 10)
{
    fsrs_chunk *c = compile_ok("let rec walk xs =\n"
                               "    match xs with\n"
                               "    | [] -> 0\n"
                               "    | _ :: t ->\n"
                               "        let u = t\n"
                               "        ignore u\n"
                               "        walk u\n");
    const Proto *walk = find_proto(c, "walk");
    cr_assert_eq(count_op(walk, OP_TAILSELF), 1);
    cr_assert_eq(count_op(walk, OP_CALL), 1, "only 'ignore u' is a plain call");
    fsrs_chunk_free(c);
}

Test(compiler, counting_loop_is_a_tight_loop, .timeout = 10)
{
    fsrs_chunk *c = compile_ok("let sum n =\n"
                               "    let mutable s = 0\n"
                               "    for i = 1 to n do\n"
                               "        s <- s + i\n"
                               "    s\n");
    const Proto *sum = find_proto(c, "sum");
    long step = find_op_on_line(sum, OP_FOR_LOOP, 3);
    cr_assert_geq(step, 0);
    /* the body is one fused add and one store; FOR_LOOP jumps back to it */
    int32_t target = (int32_t)step + 2 + INSTR_SA(sum->code[step]);
    cr_assert_eq(INSTR_OP(sum->code[target]), OP_ADD_LL);
    cr_assert_eq(INSTR_OP(sum->code[target + 1]), OP_SETLOCAL);
    cr_assert_eq(target + 2, step);
    cr_assert_eq(count_op(sum, OP_POP), 1, "only the loop's () is dropped");
    fsrs_chunk_free(c);
}

Test(compiler, every_loop_jumps_back_with_a_tick, .timeout = 10)
{
    fsrs_chunk *c = compile_ok("let f xs =\n"
                               "    let mutable i = 0\n"
                               "    while i < 10 do i <- i + 1\n"
                               "    for x in xs do i <- i + x\n"
                               "    for k in 1 .. 2 .. 9 do i <- i + k\n"
                               "    i\n");
    const Proto *f = find_proto(c, "f");
    cr_assert_eq(count_op(f, OP_LOOP), 2);
    cr_assert_eq(count_op(f, OP_FOR_LOOP), 1);
    /* no other instruction jumps backwards */
    for (uint32_t pc = 0; pc < f->ncode; pc++) {
        int o = (int)INSTR_OP(f->code[pc]);
        if (o != OP_LOOP && o != OP_FOR_LOOP && op_operands(o)[0] == 'j')
            cr_assert_geq(INSTR_SA(f->code[pc]), 0, "backward %s at %u", op_name(o), pc);
        if (strchr(op_operands(o), '+'))
            pc++;
    }
    fsrs_chunk_free(c);
}

Test(compiler, mutable_errors_point_at_the_use, .timeout = 10)
{
    assert_compile_error("let x = 1\nx <- 2\n", 2, 1, "This value is not mutable");
    assert_compile_error("let f () =\n    let mutable c = 0\n    fun () -> c\n", 3, 15,
                         "Mutable variables cannot be captured by closures");
}

Test(compiler, functions_globals_and_arity, .timeout = 10)
{
    fsrs_chunk *c = compile_ok("let a = 1\n"
                               "let add x y = x + y\n"
                               "let (p, q) = (2, 3)\n"
                               "let curried = fun x -> fun y -> fun z -> x\n");
    cr_assert_str_eq(fsrs_chunk_name(c), UNIT_SCRIPT);
    static const char *const globals[] = {"a", "add", "p", "q", "curried"};
    cr_assert_eq(c->nglobals, 5);
    for (uint32_t i = 0; i < 5; i++)
        cr_assert_str_eq(c->globals[i], globals[i]);
    cr_assert_eq(find_proto(c, "add")->arity, 2);
    cr_assert_eq(find_proto(c, "curried")->arity, 3, "nested lambdas make one function");
    cr_assert_eq(c->main, find_proto(c, "<top>"));
    cr_assert_eq(c->main->arity, 0);
    cr_assert_eq(c->nhosts, 0);
    fsrs_chunk_free(c);
}

Test(compiler, closures_record_what_they_capture, .timeout = 10)
{
    fsrs_chunk *c = compile_ok("let mk n m =\n    let k = n * m\n    fun x -> x + k + n\n");
    const Proto *mk = find_proto(c, "mk");
    const Proto *inner = NULL;
    for (uint32_t i = 0; i < c->nprotos; i++)
        if (c->protos[i] != mk && c->protos[i] != c->main)
            inner = c->protos[i];
    cr_assert_not_null(inner);
    cr_assert_eq(inner->arity, 1);
    cr_assert_eq(inner->ncaps, 2);
    /* k is mk's slot 2 (after n and m), n is slot 0; captured in order of use */
    cr_assert_eq(inner->caps[0].kind, CAP_LOCAL);
    cr_assert_eq(inner->caps[0].index, 2);
    cr_assert_eq(inner->caps[1].kind, CAP_LOCAL);
    cr_assert_eq(inner->caps[1].index, 0);
    cr_assert_eq(count_op(mk, OP_CLOSURE), 1);
    fsrs_chunk_free(c);
}

Test(compiler, small_ints_are_inline_large_ones_constants, .timeout = 10)
{
    fsrs_chunk *c = compile_ok("let small = 8388607\nlet big = 8388608\nlet s = \"text\"\n");
    const Proto *top = c->main;
    cr_assert_eq(count_op(top, OP_INT), 1);
    cr_assert_eq(count_op(top, OP_CONST), 2);
    bool found_big = false, found_text = false;
    for (uint32_t i = 0; i < top->nconsts; i++) {
        fsrs_value k = top->consts[i];
        if (fsrs_value_type(k) == FSRS_TYPE_INT && fsrs_value_as_int(k) == 8388608)
            found_big = true;
        if (fsrs_value_type(k) == FSRS_TYPE_STRING &&
            strcmp(fsrs_value_as_string(k, NULL), "text") == 0)
            found_text = true;
    }
    cr_assert(found_big);
    cr_assert(found_text);
    fsrs_chunk_free(c);
}

Test(compiler, line_table_follows_the_source, .timeout = 10)
{
    fsrs_chunk *c = compile_ok("let a = 1\n\nlet [b; d] =\n    [a; 2]\n\nlet f x =\n    x / 2\n");
    cr_assert_geq(find_op_on_line(c->main, OP_SETGLOBAL, 1), 0);
    cr_assert_geq(find_op_on_line(c->main, OP_LIST, 4), 0);
    cr_assert_geq(find_op_on_line(c->main, OP_MATCH_FAIL, 3), 0,
                  "a failed let pattern is reported on the line of its let");
    cr_assert_geq(find_op_on_line(find_proto(c, "f"), OP_DIV, 7), 0);
    cr_assert_eq(find_proto(c, "f")->line, 6);
    fsrs_chunk_free(c);
}

Test(compiler, undefined_name_is_reported_where_it_is_used, .timeout = 10)
{
    assert_compile_error("let a = 1\nlet f x =\n    x + undefinedName\n", 3, 9, "not defined");
    const fsrs_error *e = fsrs_error_last();
    cr_assert(strstr(e->message, "undefinedName"), "%s", e->message);
}

Test(compiler, a_global_is_not_visible_before_its_definition, .timeout = 10)
{
    assert_compile_error("let f x = g x\nlet g x = x", 1, 11, "not defined");
}

Test(compiler, let_rec_makes_the_name_visible_in_its_body, .timeout = 10)
{
    assert_compile_error("let f n = if n = 0 then 0 else f (n - 1)", 1, 32, "not defined");
    fsrs_chunk_free(compile_ok("let rec f n = if n = 0 then 0 else f (n - 1)"));
}

Test(compiler, host_names_are_accepted_only_when_declared, .timeout = 10)
{
    static const char *const hosts[] = {"hostAdd", "hostLog", "hostUnused"};
    fsrs_compile_options opts;
    fsrs_compile_options_init(&opts);
    opts.host_names = hosts;
    opts.host_count = 3;
    const char *src = "let r = hostAdd 1 2\nlet s = hostLog \"x\"\nlet t = hostAdd 3";
    fsrs_chunk *c = NULL;
    int rc = compile_src(&opts, src, &c);
    cr_assert_eq(rc, FSRS_OK, "%s", last_message());
    cr_assert_eq(c->nhosts, 2, "only the host functions the code uses are imported");
    cr_assert_str_eq(c->hosts[0], "hostAdd");
    cr_assert_str_eq(c->hosts[1], "hostLog");
    cr_assert_eq(count_op(c->main, OP_HOST), 3);
    fsrs_chunk_free(c);

    /* the same script without the declarations */
    assert_compile_error(src, 1, 9, "not defined");
    /* a declared name does not make other names valid */
    opts.host_count = 1;
    c = NULL;
    rc = compile_src(&opts, src, &c);
    cr_assert_eq(rc, FSRS_ECOMPILE);
    cr_assert_null(c, "*out is untouched on failure");
    cr_assert_eq(fsrs_error_last()->line, 2);
    cr_assert(strstr(fsrs_error_last()->message, "hostLog"));
}

Test(compiler, user_definitions_shadow_host_names, .timeout = 10)
{
    static const char *const hosts[] = {"log"};
    fsrs_compile_options opts;
    fsrs_compile_options_init(&opts);
    opts.host_names = hosts;
    opts.host_count = 1;
    fsrs_chunk *c = NULL;
    cr_assert_eq(compile_src(&opts, "let log x = x\nlet r = log 1", &c), FSRS_OK);
    cr_assert_eq(c->nhosts, 0);
    fsrs_chunk_free(c);
}

Test(compiler, invalid_printf_format_points_at_the_specifier, .timeout = 10)
{
    /* the string starts at column 9; "%q" is 3 characters into it */
    assert_compile_error("let x = 1\nprintfn \"ab%q\" x", 2, 12, "'%q'");
    assert_compile_error("let s = sprintf \"%d %\" 1", 1, 21, "invalid format");
}

Test(compiler, printf_needs_a_literal_format, .timeout = 10)
{
    assert_compile_error("let fmt = \"%d\"\nprintfn fmt 1", 2, 9, "literal format");
    assert_compile_error("let p = printfn", 1, 9, "literal format");
}

Test(compiler, printf_with_too_few_arguments_is_a_function, .timeout = 10)
{
    fsrs_chunk *c = compile_ok("let p = printfn \"%d and %s\"\nlet q = sprintf \"%d-%d\" 1\n");
    cr_assert_eq(count_op(c->main, OP_FORMAT_FN), 2);
    cr_assert_eq(count_op(c->main, OP_FORMAT), 0);
    fsrs_chunk_free(c);
}

Test(compiler, pattern_errors, .timeout = 10)
{
    assert_compile_error("let f (a, a) = a", 1, 11, "bound twice");
    assert_compile_error("let g x =\n    match x with\n    | (a, 0) | (0, b) -> 1\n    | _ -> 0", 3,
                         14, "or-pattern");
    assert_compile_error("let rec (a, b) = (1, 2)", 1, 9, "names only");
}

Test(compiler, chunk_reference_count, .timeout = 10)
{
    CountingAlloc ca;
    counting_init(&ca);
    fsrs_compile_options opts;
    fsrs_compile_options_init(&opts);
    opts.alloc = counting_alloc;
    opts.alloc_userdata = &ca;
    fsrs_chunk *c = NULL;
    cr_assert_eq(compile_src(&opts, "let answer = 42", &c), FSRS_OK);
    size_t live = ca.live;
    cr_assert_gt(live, 0, "the chunk's memory comes from the allocator hook");
    cr_assert_eq(atomic_load(&c->refs), 1);
    fsrs_chunk_retain(c);
    fsrs_chunk_retain(c);
    cr_assert_eq(atomic_load(&c->refs), 3);
    fsrs_chunk_free(c);
    fsrs_chunk_free(c);
    cr_assert_eq(atomic_load(&c->refs), 1);
    cr_assert_eq(ca.live, live, "the chunk lives while a reference is left");
    cr_assert_str_eq(fsrs_chunk_name(c), UNIT_SCRIPT);
    fsrs_chunk_free(c);
    cr_assert_eq(ca.live, 0, "the last reference frees everything");
    cr_assert_eq(ca.size_mismatches, 0);
    fsrs_chunk_free(NULL);
}

Test(compiler, a_loaded_chunk_is_held_by_the_vm, .timeout = 10)
{
    fsrs_chunk *c = compile_ok("let answer = 42");
    fsrs_vm *vm = NULL;
    cr_assert_eq(fsrs_vm_new(NULL, &vm), FSRS_OK);
    cr_assert_eq(fsrs_vm_load(vm, c), FSRS_OK);
    cr_assert_eq(atomic_load(&c->refs), 2);
    cr_assert_eq(fsrs_vm_chunk(vm), c);
    fsrs_vm_free(vm);
    cr_assert_eq(atomic_load(&c->refs), 1);
    fsrs_chunk_free(c);
}

Test(compiler, disassembly_names_functions_and_opcodes, .timeout = 10)
{
    fsrs_chunk *c = compile_ok("let rec count n = if n = 0 then \"done\" else count (n - 1)\n"
                               "let g = count 3\n");
    Capture out = {0};
    fsrs_chunk_disasm(c, capture_output, &out);
    const char *text = capture_text(&out);
    cr_assert(strstr(text, "chunk 'test.fsrs'"), "%s", text);
    cr_assert(strstr(text, "'count'"), "%s", text);
    cr_assert(strstr(text, "'<top>'"), "%s", text);
    cr_assert(strstr(text, "TAILSELF"), "%s", text);
    cr_assert(strstr(text, "EQI_JUMP"), "%s", text);
    cr_assert(strstr(text, "SETGLOBAL"), "%s", text);
    cr_assert(strstr(text, "\"done\""), "constants are shown: %s", text);
    cr_assert(strstr(text, "; g"), "global operands are named: %s", text);
    capture_free(&out);
    fsrs_chunk_free(c);
}

Test(compiler, compile_file_reads_the_file_and_names_the_chunk, .timeout = 10)
{
    char path[] = "/tmp/fsrs_unit_XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    static const char src[] = "let fromFile = 7\n";
    cr_assert_eq(write(fd, src, sizeof src - 1), (ssize_t)(sizeof src - 1));
    close(fd);
    fsrs_chunk *c = NULL;
    int rc = fsrs_compile_file(NULL, path, &c);
    cr_assert_eq(rc, FSRS_OK, "%s", last_message());
    cr_assert_str_eq(fsrs_chunk_name(c), path);
    cr_assert_eq(c->nglobals, 1);
    fsrs_chunk_free(c);
    unlink(path);

    c = NULL;
    rc = fsrs_compile_file(NULL, path, &c);
    cr_assert_eq(rc, FSRS_EIO);
    cr_assert_null(c);
    cr_assert_str_eq(fsrs_error_last()->file, path);
}

Test(compiler, invalid_arguments, .timeout = 10)
{
    fsrs_chunk *c = NULL;
    cr_assert_eq(fsrs_compile(NULL, "x", "let a = 1", 9, NULL), FSRS_EINVAL);
    cr_assert_eq(fsrs_compile(NULL, "x", NULL, 3, &c), FSRS_EINVAL);
    cr_assert_null(c);
    /* an empty script is a valid program */
    cr_assert_eq(fsrs_compile(NULL, NULL, NULL, 0, &c), FSRS_OK);
    cr_assert_str_eq(fsrs_chunk_name(c), "<script>");
    fsrs_chunk_free(c);
}

Test(compiler, compile_errors_carry_the_first_problem_only, .timeout = 10)
{
    /* a lexical error comes first even if the grammar fails earlier */
    assert_compile_error("let a = (\nlet b = \"open", 2, 9, "unterminated string");
}
