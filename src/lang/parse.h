/*
 * lang/parse.h - the parser: tokens -> syntax tree, under the offside rule.
 *
 * The token cursor and the offside contexts live in layout.c; the grammar
 * in parse.c.  Errors stop the parse at the first problem (longjmp inside the
 * parser only) and come back as line, column and message.
 * Compiling thread only.
 */
#ifndef FSRS_LANG_PARSE_H
#define FSRS_LANG_PARSE_H

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>

#include "lang/arena.h"
#include "lang/ast.h"
#include "lang/lex.h"

typedef struct Parser {
    Arena *arena;
    Token *toks;
    size_t ntoks, pos;
    /* Offside context: a token that starts a line at a column <= ctx_col
     * ends the construct being parsed, except the token at item_start,
     * which begins it. */
    int ctx_col;
    size_t item_start;
    /* Column of the innermost block (not bracket): lambda bodies may sit
     * left of their bracket but not left of this. */
    int block_col;
    jmp_buf fail;
    int nomem;
    int err_line, err_col;
    char err_msg[256];
    char desc[96];      /* a token's name in a diagnostic (tok_desc) */
} Parser;

typedef struct Program {
    Expr **items;   /* top-level E_LET (body NULL) or expression statements */
    int nitems;
} Program;

/* Returns 0, -1 (syntax error: p->err_*), -2 (out of memory). */
int parse_program(Parser *p, Arena *arena, Token *toks, size_t ntoks, Program *out);

/* ---- layout.c: the token cursor ------------------------------------- */

typedef struct LayoutSave {
    int ctx_col;
    size_t item_start;
} LayoutSave;

bool lay_is_offside(Parser *p, const Token *t);

/* The cursor is asked for the next token at every level of the grammar,
 * so these are inline: only the first token of a line (t->bol) can be
 * offside, and only it pays for the check. */

/* current token, offside or not */
static inline Token *lay_raw(Parser *p) { return &p->toks[p->pos]; }

/* TK_EOF when the token is offside */
static inline TokKind lay_peek(Parser *p)
{
    const Token *t = &p->toks[p->pos];
    if (!t->bol)
        return (TokKind)t->kind;
    return lay_is_offside(p, t) ? TK_EOF : (TokKind)t->kind;
}

/* consume the current token */
static inline Token *lay_next(Parser *p)
{
    Token *t = &p->toks[p->pos];
    if (t->kind != TK_EOF)
        p->pos++;
    return t;
}

/* Enter a block whose items start at column col (the current token). */
LayoutSave lay_push(Parser *p, int col);
void lay_pop(Parser *p, LayoutSave s);
/* Mark the current token as the start of an item (never offside). */
void lay_item_start(Parser *p);

_Noreturn void parse_error_at(Parser *p, int line, int col, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
void *parse_alloc(Parser *p, size_t size);

#endif
