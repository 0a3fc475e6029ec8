/*
 * Unit tests of the offside rule (lang/layout.c and the block grammar in
 * lang/parse.c): which line continues a construct, which line ends it, and
 * the errors for lines indented too little or too much.
 */
#include <criterion/criterion.h>

#include "parse_util.h"

Test(layout, top_level_items_start_in_the_first_column, .timeout = 10)
{
    assert_parses_as("let a = 1\nlet b = 2\nprintfn \"%d\" (a + b)",
                     "(let a 1)\n(let b 2)\n(app printfn \"%d\" (+ a b))");
}

Test(layout, indented_line_continues_the_expression, .timeout = 10)
{
    assert_parses_as("let x =\n    f 1\n      2", "(let x (app f 1 2))");
    assert_parses_as("let y = 1 +\n        2", "(let y (+ 1 2))");
}

Test(layout, infix_operator_may_start_a_line_left_of_the_context, .timeout = 10)
{
    /* "|> f" lines up with the first operand, or sits left of it by the
     * operator's width plus one */
    assert_parses_as("let r =\n    xs\n    |> f\n    |> g 2", "(let r (app g 2 (app f xs)))");
    assert_parses_as("let s =\n    1\n  + 2", "(let s (+ 1 2))");
}

Test(layout, let_block_ending_a_function_body, .timeout = 10)
{
    assert_parses_as("let f x =\n    let y = x + 1\n    let z = y * 2\n    z - x\nlet g = 0",
                     "(let f (fun (x) (let y (+ x 1) (let z (* y 2) (- z x)))))\n(let g 0)");
}

Test(layout, lines_of_a_block_are_a_sequence, .timeout = 10)
{
    assert_parses_as("let f () =\n    g 1\n    g 2\n    3",
                     "(let f (fun (()) (seq (app g 1) (seq (app g 2) 3))))");
}

Test(layout, let_without_a_body_is_unfinished, .timeout = 10)
{
    assert_parse_error("let f () =\n    let x = 1\nprintfn \"hi\"", 2, 5, "unfinished");
    assert_parse_error("let g () =\n    1\n    let y = 2", 3, 5, "unfinished");
}

Test(layout, verbose_let_in_on_one_line, .timeout = 10)
{
    assert_parses_as("let a = let x = 1 in x + 1", "(let a (let x 1 (+ x 1)))");
    /* "in" ending a line scopes over the rest of the block */
    assert_parses_as("let b =\n    let x = 2 in\n    x * x", "(let b (let x 2 (* x x)))");
}

Test(layout, match_arms_on_separate_lines, .timeout = 10)
{
    assert_parses_as("let f x =\n    match x with\n    | 1 -> \"one\"\n    | 2 -> \"two\"\n"
                     "    | _ -> \"many\"",
                     "(let f (fun (x) (match x (1 \"one\") (2 \"two\") (_ \"many\"))))");
}

Test(layout, match_arm_body_on_its_own_lines, .timeout = 10)
{
    assert_parses_as("match x with\n| [] ->\n    let y = 0\n    y\n| h :: _ -> h",
                     "(match x ([] (let y 0 y)) ((:: h _) h))");
}

Test(layout, nested_match_indented_deeper_keeps_its_arms, .timeout = 10)
{
    assert_parses_as("match a with\n"
                     "| 1 ->\n"
                     "    match b with\n"
                     "    | 1 -> 11\n"
                     "    | _ -> 12\n"
                     "| _ -> 2",
                     "(match a (1 (match b (1 11) (_ 12))) (_ 2))");
}

Test(layout, nested_match_on_the_same_column_takes_the_later_arms, .timeout = 10)
{
    /* as in F#: without deeper indentation the inner match owns the rest */
    assert_parses_as("match a with\n"
                     "| 1 ->\n"
                     "  match b with\n"
                     "  | 1 -> 11\n"
                     "  | _ -> 12\n"
                     "| _ -> 2",
                     "(match a (1 (match b (1 11) (_ 12))) (_ 2))");
}

Test(layout, if_elif_else_on_separate_lines, .timeout = 10)
{
    assert_parses_as("let sign n =\n"
                     "    if n < 0 then -1\n"
                     "    elif n = 0 then 0\n"
                     "    else 1",
                     "(let sign (fun (n) (if (< n 0) -1 (if (= n 0) 0 1))))");
}

Test(layout, if_branches_as_indented_blocks, .timeout = 10)
{
    assert_parses_as("if c then\n"
                     "    let a = 1\n"
                     "    a\n"
                     "else\n"
                     "    f 2\n"
                     "    3\n"
                     "g 4",
                     "(if c (let a 1 a) (seq (app f 2) 3))\n(app g 4)");
}

Test(layout, list_items_one_per_line, .timeout = 10)
{
    assert_parses_as("let xs = [\n    1\n    2 + 3\n    f 4 ]", "(let xs (list 1 (+ 2 3) (app f 4)))");
}

Test(layout, line_after_a_trailing_comma_may_line_up_with_the_context, .timeout = 10)
{
    assert_parses_as("let t = (1,\n         2)", "(let t (tuple 1 2))");
    assert_parses_as("let u = [1;\n         2]", "(let u (list 1 2))");
    assert_parse_error("let t = (1,\n  2)", 2, 3, "offside");
}

Test(layout, lambda_body_may_sit_left_of_its_bracket, .timeout = 10)
{
    /* ... but not left of the enclosing block */
    assert_parses_as("let h =\n    List.map (fun x ->\n        x + 1) xs",
                     "(let h (app List.map (fun (x) (+ x 1)) xs))");
    assert_parse_error("let h =\n    List.map (fun x ->\n  x + 1) xs", 3, 3, "offside");
}

Test(layout, body_left_of_its_let_is_offside, .timeout = 10)
{
    assert_parse_error("let f x =\nx", 2, 1, "offside");
    assert_parse_error("let a =\n    let b =\n    1\n    b", 3, 5, "offside");
}

Test(layout, top_level_item_indented_more_is_an_error, .timeout = 10)
{
    assert_parse_error("let a = 1\n  let b = 2", 2, 3, "indented more than the top-level");
}

Test(layout, top_level_item_left_of_the_first_is_an_error, .timeout = 10)
{
    assert_parse_error("  let a = 1\nlet b = 2", 2, 1, "offside of the top-level");
}

Test(layout, arm_pattern_left_of_the_match_is_an_error, .timeout = 10)
{
    assert_parse_error("let f x =\n    match x with\n    | 1 -> 1\n  | _ -> 2", 4, 3,
                       "unexpected");
}
