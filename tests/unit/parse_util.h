/*
 * tests/unit/parse_util.h - parse Mini-F# source in a test and render the
 * syntax tree as an S-expression, so a test can state the shape it expects
 * in one line:  "1 + 2 * 3"  ->  "(+ 1 (* 2 3))".
 *
 *   expressions  (app f a b)  (fun (x y) body)  (let x 1 body)  (let rec ...)
 *                (if c a b)  (match e (pat body) (pat when guard body))
 *                (function (pat body) ...)  (tuple a b)  (list a b)
 *                (range a b) / (range a step b)  (OP a b) for binary
 *                operators  (&& a b)  (|| a b)  (neg a)  (seq a b)  (op +)
 *                (>> f g) for composition, first f then g
 *   patterns     _  x  1  "s"  'c'  true  ()  []  (ptuple p q)  (:: h t)
 *                (plist p q)  (| p q)  (as p x)
 * A top-level let without body renders as (let x 1) and items are joined
 * with newlines.
 */
#ifndef FSRS_TESTS_PARSE_UTIL_H
#define FSRS_TESTS_PARSE_UTIL_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "lang/arena.h"
#include "lang/ast.h"
#include "lang/lex.h"
#include "lang/parse.h"
#include "util/mem.h"

typedef struct ParseRun {
    Mem mem;
    Arena arena;
    LexResult lex;
    Parser parser;
    Program prog;
    int rc;             /* 0, -1 syntax error, -2 out of memory, -3 lexical error */
    int err_line, err_col;
    const char *err_msg;
} ParseRun;

/* Lex and parse src into run (its arena must be freed with parse_done). */
static inline int parse_run(ParseRun *run, const char *src)
{
    memset(run, 0, sizeof *run);
    mem_init(&run->mem, NULL, NULL);
    arena_init(&run->arena, &run->mem);
    if (lex_source(&run->arena, src, strlen(src), &run->lex)) {
        run->rc = -3;
        run->err_line = run->lex.err_line;
        run->err_col = run->lex.err_col;
        run->err_msg = run->lex.err_msg;
        return run->rc;
    }
    run->rc = parse_program(&run->parser, &run->arena, run->lex.toks, run->lex.ntoks, &run->prog);
    if (run->rc) {
        run->err_line = run->parser.err_line;
        run->err_col = run->parser.err_col;
        run->err_msg = run->parser.err_msg;
    }
    return run->rc;
}

static inline void parse_done(ParseRun *run)
{
    lex_free(&run->arena, &run->lex);
    arena_free(&run->arena);
}

/* ------------------------------------------------------------ render --- */

typedef struct Sexp {
    char buf[4096];
    size_t len;
} Sexp;

static inline void sx_put(Sexp *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (s->len < sizeof s->buf) {
        int n = vsnprintf(s->buf + s->len, sizeof s->buf - s->len, fmt, ap);
        if (n > 0)
            s->len += (size_t)n;
    }
    va_end(ap);
    cr_assert_lt(s->len, sizeof s->buf, "syntax tree too large to render");
}

static inline const char *sx_op(int tok) { return lex_kind_name((TokKind)tok); }

static inline void sx_pat(Sexp *s, const Pat *p)
{
    switch (p->kind) {
    case P_WILD: sx_put(s, "_"); return;
    case P_VAR: sx_put(s, "%s", p->name); return;
    case P_INT: sx_put(s, "%lld", (long long)p->i); return;
    case P_FLOAT: sx_put(s, "%g", p->f); return;
    case P_STRING: sx_put(s, "\"%.*s\"", (int)p->str_len, p->str); return;
    case P_CHAR: sx_put(s, "'%c'", (char)p->i); return;
    case P_BOOL: sx_put(s, p->i ? "true" : "false"); return;
    case P_UNIT: sx_put(s, "()"); return;
    case P_NIL: sx_put(s, "[]"); return;
    default: break;
    }
    const char *head = p->kind == P_TUPLE ? "ptuple"
                       : p->kind == P_LIST ? "plist"
                       : p->kind == P_CONS ? "::"
                       : p->kind == P_OR   ? "|"
                                           : "as";
    sx_put(s, "(%s", head);
    for (int i = 0; i < p->nitems; i++) {
        sx_put(s, " ");
        sx_pat(s, p->items[i]);
    }
    sx_put(s, ")");
}

static inline void sx_expr(Sexp *s, const Expr *e);

static inline void sx_arms(Sexp *s, const MatchArm *arms, int n)
{
    for (int i = 0; i < n; i++) {
        sx_put(s, " (");
        sx_pat(s, arms[i].pat);
        if (arms[i].guard) {
            sx_put(s, " when ");
            sx_expr(s, arms[i].guard);
        }
        sx_put(s, " ");
        sx_expr(s, arms[i].body);
        sx_put(s, ")");
    }
}

static inline void sx_expr(Sexp *s, const Expr *e)
{
    switch (e->kind) {
    case E_INT: sx_put(s, "%lld", (long long)e->i); return;
    case E_FLOAT: sx_put(s, "%g", e->f); return;
    case E_STRING: sx_put(s, "\"%.*s\"", (int)e->str_len, e->str); return;
    case E_CHAR: sx_put(s, "'%c'", (char)e->i); return;
    case E_BOOL: sx_put(s, e->i ? "true" : "false"); return;
    case E_UNIT: sx_put(s, "()"); return;
    case E_VAR: sx_put(s, "%s", e->str); return;
    case E_APP:
        sx_put(s, "(app ");
        sx_expr(s, e->a);
        for (int i = 0; i < e->nitems; i++) {
            sx_put(s, " ");
            sx_expr(s, e->items[i]);
        }
        sx_put(s, ")");
        return;
    case E_LAMBDA:
        sx_put(s, "(fun (");
        for (int i = 0; i < e->nparams; i++) {
            if (i)
                sx_put(s, " ");
            sx_pat(s, e->params[i]);
        }
        sx_put(s, ") ");
        sx_expr(s, e->a);
        sx_put(s, ")");
        return;
    case E_LET:
        sx_put(s, e->is_rec ? "(let rec" : "(let");
        for (int i = 0; i < e->nbinds; i++) {
            sx_put(s, " ");
            sx_pat(s, e->binds[i].pat);
            sx_put(s, " ");
            sx_expr(s, e->binds[i].value);
        }
        if (e->a) {
            sx_put(s, " ");
            sx_expr(s, e->a);
        }
        sx_put(s, ")");
        return;
    case E_IF:
        sx_put(s, "(if ");
        sx_expr(s, e->a);
        sx_put(s, " ");
        sx_expr(s, e->b);
        if (e->c) {
            sx_put(s, " ");
            sx_expr(s, e->c);
        }
        sx_put(s, ")");
        return;
    case E_MATCH:
        sx_put(s, "(match ");
        sx_expr(s, e->a);
        sx_arms(s, e->arms, e->narms);
        sx_put(s, ")");
        return;
    case E_FUNCTION:
        sx_put(s, "(function");
        sx_arms(s, e->arms, e->narms);
        sx_put(s, ")");
        return;
    case E_TUPLE:
    case E_LIST:
        sx_put(s, e->kind == E_TUPLE ? "(tuple" : "(list");
        for (int i = 0; i < e->nitems; i++) {
            sx_put(s, " ");
            sx_expr(s, e->items[i]);
        }
        sx_put(s, ")");
        return;
    case E_RANGE:
        sx_put(s, "(range ");
        sx_expr(s, e->a);
        if (e->b) {
            sx_put(s, " ");
            sx_expr(s, e->b);
        }
        sx_put(s, " ");
        sx_expr(s, e->c);
        sx_put(s, ")");
        return;
    case E_NEG:
        sx_put(s, "(neg ");
        sx_expr(s, e->a);
        sx_put(s, ")");
        return;
    case E_OPFN:
        sx_put(s, "(op %s)", sx_op(e->op));
        return;
    default:
        break;
    }
    const char *head = e->kind == E_BINOP ? sx_op(e->op)
                       : e->kind == E_AND ? "&&"
                       : e->kind == E_OR  ? "||"
                       : e->kind == E_SEQ ? "seq"
                                          : ">>";
    sx_put(s, "(%s ", head);
    sx_expr(s, e->a);
    sx_put(s, " ");
    sx_expr(s, e->b);
    sx_put(s, ")");
}

/* Parse src (which must parse) and render its items; the text lives until
 * the next call. */
static inline const char *sexp_of(const char *src)
{
    static Sexp s;
    ParseRun run;
    s.len = 0;
    s.buf[0] = '\0';
    int rc = parse_run(&run, src);
    if (rc) {
        parse_done(&run);
        cr_assert_fail("<%s> does not parse (%d) at %d:%d: %s", src, rc, run.err_line,
                       run.err_col, run.err_msg);
    }
    for (int i = 0; i < run.prog.nitems; i++) {
        if (i)
            sx_put(&s, "\n");
        sx_expr(&s, run.prog.items[i]);
    }
    parse_done(&run);
    return s.buf;
}

#define assert_parses_as(src, want)                                                          \
    do {                                                                                     \
        const char *got_ = sexp_of(src);                                                     \
        cr_assert_str_eq(got_, want, "<%s>\n  parsed as: %s\n  expected:  %s", src, got_,    \
                         want);                                                              \
    } while (0)

/* Parse src, expect a syntax (or lexical) error at line:col whose message
 * contains `part`. */
static inline void assert_parse_error(const char *src, int line, int col, const char *part)
{
    ParseRun run;
    int rc = parse_run(&run, src);
    char msg[256];
    snprintf(msg, sizeof msg, "%s", run.err_msg ? run.err_msg : "");
    parse_done(&run);
    cr_assert_neq(rc, 0, "<%s> parsed, expected an error", src);
    cr_assert_neq(rc, -2, "out of memory parsing <%s>", src);
    cr_assert(strstr(msg, part), "<%s>: message '%s' does not mention '%s'", src, msg, part);
    cr_assert_eq(run.err_line, line, "<%s>: error at line %d, expected %d (%s)", src,
                 run.err_line, line, msg);
    cr_assert_eq(run.err_col, col, "<%s>: error at column %d, expected %d (%s)", src,
                 run.err_col, col, msg);
}

#endif
