/*
 * lang/layout.c - F#'s offside rule as a token cursor.
 *
 * Light syntax has no block delimiters: a construct continues while its
 * tokens sit to the right of the column its context started at.  The parser
 * keeps one such column (ctx_col); when the next token is the first on its
 * line and not right of ctx_col, lay_peek reports end of input for the
 * construct being parsed, which ends it as cleanly as a closing bracket.
 * The grammar re-checks the raw token for the words that are allowed to
 * line up with their construct (then/elif/else/|/with/in/and/closers).
 *
 * Infix operators may start a continuation line at the context column, or
 * to its left by the operator's width plus one (F# lets "|> f" line up with
 * the first operand).  Compiling thread only.
 */
#include "lang/parse.h"

#include <stdarg.h>
#include <stdio.h>

static int infix_width(TokKind k)
{
    switch (k) {
    case TK_PIPE: case TK_BACKPIPE: case TK_COMPOSE: case TK_BACKCOMPOSE: case TK_NE:
    case TK_LE: case TK_GE: case TK_AMPAMP: case TK_BARBAR: case TK_COLONCOLON:
    case TK_STARSTAR:
        return 2;
    case TK_PLUS: case TK_STAR: case TK_SLASH: case TK_PERCENT: case TK_LT: case TK_GT:
    case TK_EQ: case TK_AT: case TK_CARET:
        return 1;
    default:
        return 0;
    }
}

/* A line ending in one of these continues on the next line. */
static bool continues_line(TokKind k)
{
    return infix_width(k) || k == TK_MINUS || k == TK_COMMA || k == TK_SEMI;
}

bool lay_is_offside(Parser *p, const Token *t)
{
    if (!t->bol || t->kind == TK_EOF || (size_t)(t - p->toks) == p->item_start)
        return t->kind == TK_EOF;
    if (t->col > p->ctx_col)
        return false;
    if (t > p->toks && continues_line(t[-1].kind) && t->col == p->ctx_col)
        return false;
    int w = infix_width(t->kind);
    if (w && t->col >= p->ctx_col - (w + 1))
        return false;
    return true;
}

LayoutSave lay_push(Parser *p, int col)
{
    LayoutSave s = {p->ctx_col, p->item_start};
    p->ctx_col = col;
    p->item_start = p->pos;
    return s;
}

void lay_pop(Parser *p, LayoutSave s)
{
    p->ctx_col = s.ctx_col;
    p->item_start = s.item_start;
}

void lay_item_start(Parser *p) { p->item_start = p->pos; }

_Noreturn void parse_error_at(Parser *p, int line, int col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err_msg, sizeof p->err_msg, fmt, ap);
    va_end(ap);
    p->err_line = line;
    p->err_col = col;
    longjmp(p->fail, 1);
}

void *parse_alloc(Parser *p, size_t size)
{
    void *m = arena_alloc(p->arena, size);
    if (!m) {
        p->nomem = 1;
        longjmp(p->fail, 1);
    }
    return m;
}
