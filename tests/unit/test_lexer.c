/*
 * Unit tests of the lexer (lang/lex.c): token kinds and positions, number,
 * string and char literals, comments, and the errors it reports.
 */
#include <stdint.h>
#include <string.h>

#include <criterion/criterion.h>

#include "lang/arena.h"
#include "lang/lex.h"
#include "util/mem.h"

static Mem mem;
static Arena arena;
static LexResult lr;

static void setup(void)
{
    mem_init(&mem, NULL, NULL);
    arena_init(&arena, &mem);
}

static void teardown(void)
{
    lex_free(&arena, &lr);
    arena_free(&arena);
}

TestSuite(lexer, .init = setup, .fini = teardown, .timeout = 10);

static int lex(const char *src)
{
    lex_free(&arena, &lr); /* a test may lex several sources */
    return lex_source(&arena, src, strlen(src), &lr);
}

/* Lex src, which must succeed, and return its tokens. */
static Token *lex_ok(const char *src)
{
    int rc = lex(src);
    cr_assert_eq(rc, 0, "lexing failed at %d:%d: %s", lr.err_line, lr.err_col, lr.err_msg);
    cr_assert_gt(lr.ntoks, 0);
    cr_assert_eq(lr.toks[lr.ntoks - 1].kind, TK_EOF, "the last token must be end of file");
    return lr.toks;
}

/* Lex src, which must fail at line:col with a message containing `part`. */
static void lex_fails(const char *src, int line, int col, const char *part)
{
    int rc = lex(src);
    cr_assert_eq(rc, -1, "expected a lexical error for <%s>", src);
    cr_assert_eq(lr.err_line, line, "error line %d, expected %d (%s)", lr.err_line, line,
                 lr.err_msg);
    cr_assert_eq(lr.err_col, col, "error column %d, expected %d (%s)", lr.err_col, col,
                 lr.err_msg);
    cr_assert(strstr(lr.err_msg, part), "message '%s' does not mention '%s'", lr.err_msg, part);
}

static void expect_kinds(const char *src, const TokKind *kinds, size_t n)
{
    Token *t = lex_ok(src);
    cr_assert_eq(lr.ntoks, n + 1, "<%s>: %zu tokens, expected %zu", src, lr.ntoks - 1, n);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(t[i].kind, kinds[i], "<%s>: token %zu is %s, expected %s", src, i,
                     lex_kind_name(t[i].kind), lex_kind_name(kinds[i]));
}

Test(lexer, token_kinds_lines_columns_and_line_starts, .timeout = 10)
{
    Token *t = lex_ok("let x = 1\n  foo (y)\n");
    static const struct {
        TokKind kind;
        int line, col;
        bool bol;
    } want[] = {
        {TK_LET, 1, 1, true},   {TK_IDENT, 1, 5, false},  {TK_EQ, 1, 7, false},
        {TK_INT, 1, 9, false},  {TK_IDENT, 2, 3, true},   {TK_LPAREN, 2, 7, false},
        {TK_IDENT, 2, 8, false}, {TK_RPAREN, 2, 9, false},
    };
    size_t n = sizeof want / sizeof want[0];
    cr_assert_eq(lr.ntoks, n + 1);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(t[i].kind, want[i].kind, "token %zu: %s", i, lex_kind_name(t[i].kind));
        cr_assert_eq(t[i].line, want[i].line, "token %zu line %d", i, t[i].line);
        cr_assert_eq(t[i].col, want[i].col, "token %zu col %d", i, t[i].col);
        cr_assert_eq(t[i].bol, want[i].bol, "token %zu bol", i);
    }
    cr_assert_str_eq(t[1].text, "x");
    cr_assert_str_eq(t[4].text, "foo");
    cr_assert_eq(t[3].i, 1);
}

Test(lexer, keywords_identifiers_and_underscore, .timeout = 10)
{
    static const TokKind kinds[] = {TK_LET, TK_IDENT, TK_REC, TK_UNDERSCORE, TK_IDENT,
                                    TK_IDENT, TK_MATCH, TK_WITH, TK_IDENT};
    expect_kinds("let letter rec _ _x x' match with ``odd name``", kinds,
                 sizeof kinds / sizeof kinds[0]);
    cr_assert_str_eq(lr.toks[1].text, "letter");
    cr_assert_str_eq(lr.toks[4].text, "_x");
    cr_assert_str_eq(lr.toks[5].text, "x'");
    cr_assert_str_eq(lr.toks[8].text, "odd name");
}

/* The lexer finds keywords and operators with switches; lex_kind_name
 * spells them from tables.  Each spelling must lex back to its kind. */
static void lexes_to_itself(TokKind k)
{
    const char *word = lex_kind_name(k);
    Token *t = lex_ok(word);
    cr_assert_eq(lr.ntoks, 2, "<%s> is one token", word);
    cr_assert_eq(t[0].kind, k, "<%s> lexes as %s", word, lex_kind_name(t[0].kind));
}

Test(lexer, every_keyword_and_operator_lexes_from_its_spelling, .timeout = 10)
{
    for (int k = TK_LET; k <= TK_ASSERT; k++)
        lexes_to_itself((TokKind)k);
    static const TokKind ops[] = {TK_COLON, TK_COLONCOLON, TK_ARROW, TK_LARROW, TK_DOT,
                                  TK_DOTDOT, TK_BAR, TK_COLONGT};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        lexes_to_itself(ops[i]);
    for (int k = TK_EQ; k <= TK_COLONQ; k++)
        lexes_to_itself((TokKind)k);
}

Test(lexer, integer_literals_in_every_base_with_separators, .timeout = 10)
{
    Token *t = lex_ok("42 0x2A 0o52 0b101010 1_000_000 0xFF_FF 0 9223372036854775807 7L");
    static const int64_t want[] = {42, 42, 42, 42, 1000000, 0xFFFF, 0, INT64_MAX, 7};
    size_t n = sizeof want / sizeof want[0];
    cr_assert_eq(lr.ntoks, n + 1);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(t[i].kind, TK_INT, "token %zu", i);
        cr_assert_eq(t[i].i, want[i], "token %zu is %lld", i, (long long)t[i].i);
    }
}

Test(lexer, int64_min_magnitude_lexes_for_negation, .timeout = 10)
{
    Token *t = lex_ok("-9223372036854775808");
    cr_assert_eq(t[0].kind, TK_MINUS);
    cr_assert_eq(t[1].kind, TK_INT);
    cr_assert_eq(t[1].i, INT64_MIN);
}

Test(lexer, too_large_integer_is_an_error_at_the_literal, .timeout = 10)
{
    lex_fails("let y =\n    99999999999999999999", 2, 5, "too large");
    lex_fails("let a = 1\nlet h = 0x1_0000_0000_0000_0000", 2, 9, "too large");
}

Test(lexer, malformed_numbers_are_errors, .timeout = 10)
{
    lex_fails("let a = 12abc", 1, 9, "malformed");
    lex_fails("0x", 1, 1, "malformed");
}

Test(lexer, float_literals, .timeout = 10)
{
    Token *t = lex_ok("3.14 1e3 2.5e-2 1.0 7. 6.02E+23 1_000.5");
    static const double want[] = {3.14, 1e3, 2.5e-2, 1.0, 7.0, 6.02e23, 1000.5};
    size_t n = sizeof want / sizeof want[0];
    cr_assert_eq(lr.ntoks, n + 1);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(t[i].kind, TK_FLOAT, "token %zu is %s", i, lex_kind_name(t[i].kind));
        cr_assert_float_eq(t[i].f, want[i], 1e-12 * (want[i] > 1 ? want[i] : 1), "token %zu", i);
    }
}

Test(lexer, range_dots_after_an_int_are_not_a_float, .timeout = 10)
{
    static const TokKind kinds[] = {TK_LBRACK, TK_INT, TK_DOTDOT, TK_INT, TK_RBRACK};
    expect_kinds("[1..3]", kinds, 5);
    cr_assert_eq(lr.toks[1].i, 1);
    cr_assert_eq(lr.toks[3].i, 3);
}

Test(lexer, string_simple_escapes, .timeout = 10)
{
    Token *t = lex_ok("\"a\\n\\t\\r\\b\\a\\f\\v\\\\\\\"\\'\\0z\"");
    static const char want[] = "a\n\t\r\b\a\f\v\\\"'\0z";
    cr_assert_eq(t[0].kind, TK_STRING);
    cr_assert_eq(t[0].str_len, sizeof want - 1);
    cr_assert(memcmp(t[0].text, want, sizeof want - 1) == 0);
}

Test(lexer, string_trigraph_and_unknown_escape, .timeout = 10)
{
    Token *t = lex_ok("\"\\065\\066\" \"\\d\\q\"");
    cr_assert_eq(t[0].str_len, 2);
    cr_assert_str_eq(t[0].text, "AB");
    /* F# keeps an unknown escape as it is written */
    cr_assert_str_eq(t[1].text, "\\d\\q");
}

Test(lexer, unicode_escapes_produce_utf8, .timeout = 10)
{
    Token *t = lex_ok("\"\\u00e9|\\u20AC|\\U0001F600|\\u0041\"");
    static const char want[] = "\xC3\xA9|\xE2\x82\xAC|\xF0\x9F\x98\x80|A";
    cr_assert_eq(t[0].kind, TK_STRING);
    cr_assert_eq(t[0].str_len, strlen(want));
    cr_assert_str_eq(t[0].text, want);
}

Test(lexer, bad_escapes_are_errors_at_the_backslash, .timeout = 10)
{
    lex_fails("let s = \"ab\\u12\"", 1, 12, "hex digits");
    lex_fails("let s = \"\\300\"", 1, 10, "out of range");
    lex_fails("let s = \"\\U00110000\"", 1, 10, "out of range");
}

Test(lexer, verbatim_string_keeps_backslashes, .timeout = 10)
{
    Token *t = lex_ok("@\"C:\\temp\\n\"\"x\"\"\" 1");
    cr_assert_eq(t[0].kind, TK_STRING);
    cr_assert_str_eq(t[0].text, "C:\\temp\\n\"x\"");
    cr_assert_eq(t[1].kind, TK_INT);
}

Test(lexer, triple_quoted_string_spans_lines, .timeout = 10)
{
    Token *t = lex_ok("let s = \"\"\"a \"b\" \\n\nc\"\"\"\nx");
    cr_assert_eq(t[3].kind, TK_STRING);
    cr_assert_str_eq(t[3].text, "a \"b\" \\n\nc");
    /* the newline inside the string counts: x is on line 3 */
    cr_assert_eq(t[4].kind, TK_IDENT);
    cr_assert_eq(t[4].line, 3);
    cr_assert_eq(t[4].col, 1);
    cr_assert(t[4].bol);
}

Test(lexer, unterminated_string_is_reported_at_its_start, .timeout = 10)
{
    lex_fails("let a = 1\nlet s = \"abc\nmore", 2, 9, "unterminated string");
}

Test(lexer, char_literals_and_type_variables, .timeout = 10)
{
    Token *t = lex_ok("'a' 'T '\\n' '\\u0041' '\xC3\xA9' 'key");
    cr_assert_eq(t[0].kind, TK_CHAR);
    cr_assert_eq(t[0].i, 'a');
    cr_assert_eq(t[1].kind, TK_IDENT);
    cr_assert_str_eq(t[1].text, "'T");
    cr_assert_eq(t[2].kind, TK_CHAR);
    cr_assert_eq(t[2].i, '\n');
    cr_assert_eq(t[3].kind, TK_CHAR);
    cr_assert_eq(t[3].i, 'A');
    cr_assert_eq(t[4].kind, TK_CHAR);
    cr_assert_eq(t[4].i, 0xE9);
    cr_assert_eq(t[5].kind, TK_IDENT);
    cr_assert_str_eq(t[5].text, "'key");
}

Test(lexer, nested_block_comments_are_skipped, .timeout = 10)
{
    Token *t = lex_ok("1 (* a (* b *) c \"*)\" *) 2\n(* x\n *) 3");
    cr_assert_eq(lr.ntoks, 4);
    cr_assert_eq(t[0].i, 1);
    cr_assert_eq(t[1].i, 2);
    cr_assert_eq(t[1].line, 1);
    cr_assert_eq(t[2].i, 3);
    cr_assert_eq(t[2].line, 3);
    cr_assert_eq(t[2].col, 5);
    cr_assert(t[2].bol, "a comment is not a token: 3 is the first token of its line");
}

Test(lexer, unterminated_comment_is_reported_at_its_start, .timeout = 10)
{
    lex_fails("let x = 1\n  (* one (* two *)\n", 2, 3, "comment");
}

Test(lexer, star_in_parentheses_is_an_operator, .timeout = 10)
{
    static const TokKind kinds[] = {TK_IDENT, TK_LPAREN, TK_STAR, TK_RPAREN, TK_INT};
    expect_kinds("f (*) 2", kinds, 5);
}

Test(lexer, line_comment_runs_to_the_end_of_the_line, .timeout = 10)
{
    Token *t = lex_ok("1 // 2 3 (* not a comment start\n4");
    cr_assert_eq(lr.ntoks, 3);
    cr_assert_eq(t[0].i, 1);
    cr_assert_eq(t[1].i, 4);
    cr_assert_eq(t[1].line, 2);
}

Test(lexer, operators_take_the_longest_match, .timeout = 10)
{
    static const TokKind kinds[] = {TK_PIPE,  TK_BACKPIPE, TK_COMPOSE, TK_BACKCOMPOSE,
                                    TK_COLONCOLON, TK_ARROW, TK_LARROW, TK_NE,
                                    TK_LE,    TK_GE,       TK_STARSTAR, TK_AMPAMP,
                                    TK_BARBAR, TK_COLONEQ, TK_AT,       TK_CARET,
                                    TK_DOTDOT, TK_COLONGT};
    expect_kinds("|> <| >> << :: -> <- <> <= >= ** && || := @ ^ .. :>", kinds,
                 sizeof kinds / sizeof kinds[0]);
}

Test(lexer, minus_records_the_spaces_around_it, .timeout = 10)
{
    Token *t = lex_ok("f -1 - 2-3");
    cr_assert_eq(t[1].kind, TK_MINUS);
    cr_assert(t[1].space_before);
    cr_assert(!t[1].space_after);
    cr_assert_eq(t[3].kind, TK_MINUS);
    cr_assert(t[3].space_before);
    cr_assert(t[3].space_after);
    cr_assert_eq(t[5].kind, TK_MINUS);
    cr_assert(!t[5].space_before);
    cr_assert(!t[5].space_after);
}

Test(lexer, tab_in_indentation_is_an_error, .timeout = 10)
{
    lex_fails("let x =\n\t1", 2, 1, "tab");
}

Test(lexer, tab_between_tokens_is_whitespace, .timeout = 10)
{
    static const TokKind kinds[] = {TK_LET, TK_IDENT, TK_EQ, TK_INT};
    expect_kinds("let\tx =\t1", kinds, 4);
    cr_assert_eq(lr.toks[1].col, 5);
}

Test(lexer, unknown_operator_is_an_error, .timeout = 10)
{
    lex_fails("let a = 1 $ 2", 1, 11, "'$'");
}

Test(lexer, byte_order_mark_and_shebang_are_skipped, .timeout = 10)
{
    Token *t = lex_ok("\xEF\xBB\xBFlet a = 1");
    cr_assert_eq(t[0].kind, TK_LET);
    cr_assert_eq(t[0].col, 1);
    t = lex_ok("#!/usr/bin/env fsrs\nlet a = 1");
    cr_assert_eq(t[0].kind, TK_LET);
    cr_assert_eq(t[0].line, 2);
}
