/*
 * Unit tests of the grammar (lang/parse.c): operator precedence and
 * associativity, application, pipelines, patterns, and syntax errors.
 * Trees are compared as S-expressions (see parse_util.h).
 */
#include <criterion/criterion.h>

#include "parse_util.h"

Test(parser, multiplication_binds_tighter_than_addition, .timeout = 10)
{
    assert_parses_as("1 + 2 * 3", "(+ 1 (* 2 3))");
    assert_parses_as("1 * 2 + 3", "(+ (* 1 2) 3)");
    assert_parses_as("(1 + 2) * 3", "(* (+ 1 2) 3)");
}

Test(parser, additive_and_multiplicative_operators_are_left_associative, .timeout = 10)
{
    assert_parses_as("10 - 3 - 2", "(- (- 10 3) 2)");
    assert_parses_as("8 / 4 % 3 * 2", "(* (% (/ 8 4) 3) 2)");
}

Test(parser, power_is_right_associative_and_above_multiplication, .timeout = 10)
{
    assert_parses_as("2.0 ** 3.0 ** 2.0", "(** 2 (** 3 2))");
    assert_parses_as("2.0 * 3.0 ** 2.0", "(* 2 (** 3 2))");
}

Test(parser, cons_is_right_associative_and_below_addition, .timeout = 10)
{
    assert_parses_as("a :: b :: c", "(:: a (:: b c))");
    assert_parses_as("x + 1 :: xs", "(:: (+ x 1) xs)");
}

Test(parser, append_and_string_concat_are_right_associative, .timeout = 10)
{
    assert_parses_as("a @ b @ c", "(@ a (@ b c))");
    /* ^ is string concatenation, compiled as + */
    assert_parses_as("s ^ t ^ u", "(+ s (+ t u))");
}

Test(parser, application_binds_tighter_than_operators, .timeout = 10)
{
    assert_parses_as("f x + g y z", "(+ (app f x) (app g y z))");
    assert_parses_as("f (g x) y", "(app f (app g x) y)");
    assert_parses_as("f x :: xs", "(:: (app f x) xs)");
}

Test(parser, forward_pipe_appends_the_argument, .timeout = 10)
{
    assert_parses_as("x |> f a", "(app f a x)");
    assert_parses_as("x |> f", "(app f x)");
    assert_parses_as("x |> f |> g 1", "(app g 1 (app f x))");
}

Test(parser, backward_pipe_applies_the_left_side, .timeout = 10)
{
    assert_parses_as("f <| x + 1", "(app f (+ x 1))");
}

Test(parser, minus_glued_to_an_argument_is_negation, .timeout = 10)
{
    assert_parses_as("f -1", "(app f (neg 1))");
    assert_parses_as("f - 1", "(- f 1)");
    assert_parses_as("f-1", "(- f 1)");
    assert_parses_as("f x -y", "(app f x (neg y))");
}

Test(parser, unary_minus_applies_to_the_application, .timeout = 10)
{
    assert_parses_as("-x * 2", "(* (neg x) 2)");
    assert_parses_as("-f x", "(neg (app f x))");
}

Test(parser, minus_before_a_literal_folds_into_it, .timeout = 10)
{
    ParseRun run;
    cr_assert_eq(parse_run(&run, "-5 * -2.5"), 0);
    const Expr *e = run.prog.items[0];
    cr_assert_eq(e->kind, E_BINOP);
    cr_assert_eq(e->a->kind, E_INT);
    cr_assert_eq(e->a->i, -5);
    cr_assert_eq(e->a->col, 1, "the literal starts at its minus sign");
    cr_assert_eq(e->b->kind, E_FLOAT);
    cr_assert_float_eq(e->b->f, -2.5, 1e-12);
    parse_done(&run);
}

Test(parser, comparison_and_logic_precedence, .timeout = 10)
{
    assert_parses_as("a < b && c || d", "(|| (&& (< a b) c) d)");
    assert_parses_as("a || b && c", "(|| a (&& b c))");
    assert_parses_as("x + 1 = y * 2", "(= (+ x 1) (* y 2))");
}

Test(parser, tuples_bind_looser_than_operators, .timeout = 10)
{
    assert_parses_as("1, 2 + 3, f x", "(tuple 1 (+ 2 3) (app f x))");
    assert_parses_as("(a, b)", "(tuple a b)");
}

Test(parser, lists_and_ranges, .timeout = 10)
{
    assert_parses_as("[1; 2; 3]", "(list 1 2 3)");
    assert_parses_as("[]", "(list)");
    assert_parses_as("[1 .. 10]", "(range 1 10)");
    assert_parses_as("[10 .. -2 .. 0]", "(range 10 -2 0)");
}

Test(parser, operator_values_and_composition, .timeout = 10)
{
    assert_parses_as("(+)", "(op +)");
    assert_parses_as("(*)", "(op *)");
    assert_parses_as("f >> g", "(>> f g)");
    /* backward composition is normalised to "first g, then f" */
    assert_parses_as("f << g", "(>> g f)");
}

Test(parser, functions_and_lambdas, .timeout = 10)
{
    assert_parses_as("let add a b = a + b", "(let add (fun (a b) (+ a b)))");
    assert_parses_as("let f = fun x y -> x * y", "(let f (fun (x y) (* x y)))");
    assert_parses_as("let rec loop n = loop n", "(let rec loop (fun (n) (app loop n)))");
    assert_parses_as("let g (a, b) () = a", "(let g (fun ((ptuple a b) ()) a))");
}

Test(parser, function_binding_keeps_its_name_for_traces, .timeout = 10)
{
    ParseRun run;
    cr_assert_eq(parse_run(&run, "let add a b = a + b\nlet mul = fun a b -> a * b"), 0);
    cr_assert_eq(run.prog.nitems, 2);
    const Expr *add = run.prog.items[0];
    cr_assert_eq(add->kind, E_LET);
    cr_assert(add->binds[0].is_fun);
    cr_assert_str_eq(add->binds[0].value->fn_name, "add");
    cr_assert_eq(add->binds[0].value->nparams, 2);
    const Expr *mul = run.prog.items[1];
    cr_assert(!mul->binds[0].is_fun);
    cr_assert_str_eq(mul->binds[0].value->fn_name, "mul");
    parse_done(&run);
}

Test(parser, patterns_in_match_arms, .timeout = 10)
{
    assert_parses_as("match xs with | [] -> 0 | h :: t -> 1 | [a; b] -> 2 | _ -> 3",
                     "(match xs ([] 0) ((:: h t) 1) ((plist a b) 2) (_ 3))");
    assert_parses_as("match p with | (0, _) | (_, 0) -> 0 | (x, y) when x = y -> 1 | q -> 2",
                     "(match p ((| (ptuple 0 _) (ptuple _ 0)) 0) ((ptuple x y) when (= x y) 1) "
                     "(q 2))");
    assert_parses_as("match c with | 'a' -> -1 | _ as other -> 1",
                     "(match c ('a' -1) ((as _ other) 1))");
    assert_parses_as("match n with | -1 -> true | _ -> false",
                     "(match n (-1 true) (_ false))");
}

Test(parser, function_keyword_makes_a_matching_lambda, .timeout = 10)
{
    assert_parses_as("let f = function | 0 -> \"zero\" | _ -> \"other\"",
                     "(let f (function (0 \"zero\") (_ \"other\")))");
}

Test(parser, if_then_else_on_one_line, .timeout = 10)
{
    assert_parses_as("if a then b else c", "(if a b c)");
    assert_parses_as("if a then f x", "(if a (app f x))");
    assert_parses_as("if a then 1 else if b then 2 else 3", "(if a 1 (if b 2 3))");
}

Test(parser, qualified_names_and_unit, .timeout = 10)
{
    assert_parses_as("List.map f ()", "(app List.map f ())");
}

Test(parser, nodes_remember_where_they_start, .timeout = 10)
{
    ParseRun run;
    cr_assert_eq(parse_run(&run, "let a = 1\nlet b =\n    a + f 2"), 0);
    const Expr *value = run.prog.items[1]->binds[0].value;
    cr_assert_eq(value->kind, E_BINOP);
    cr_assert_eq(value->line, 3);
    cr_assert_eq(value->col, 7, "a binary node starts at its operator (col %d)", value->col);
    cr_assert_eq(value->a->line, 3);
    cr_assert_eq(value->a->col, 5);
    cr_assert_eq(value->b->kind, E_APP);
    cr_assert_eq(value->b->col, 9);
    parse_done(&run);
}

Test(parser, unmatched_paren_is_reported_at_the_opener, .timeout = 10)
{
    assert_parse_error("let x =\n    (1 + 2", 2, 5, "unmatched '('");
    assert_parse_error("let y = f (g (1)\nlet z = 2", 1, 11, "unmatched '('");
}

Test(parser, unmatched_bracket_is_reported_at_the_opener, .timeout = 10)
{
    assert_parse_error("let xs = [1; 2", 1, 10, "unmatched '['");
}

Test(parser, stray_closer_is_unexpected, .timeout = 10)
{
    assert_parse_error("let x = 1)", 1, 10, "unexpected");
}

Test(parser, keyword_where_a_name_belongs_is_unexpected, .timeout = 10)
{
    assert_parse_error("let then = 1", 1, 5, "unexpected");
}

Test(parser, match_arm_without_arrow, .timeout = 10)
{
    assert_parse_error("let f x =\n    match x with\n    | 1 2", 3, 9, "'->'");
}

Test(parser, and_needs_let_rec, .timeout = 10)
{
    assert_parse_error("let f x = 1\nand g y = 2", 2, 1, "let rec");
}

Test(parser, directives_are_rejected, .timeout = 10)
{
    assert_parse_error("#load \"x.fsx\"", 1, 1, "directives");
}
