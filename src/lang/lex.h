/*
 * lang/lex.h - tokens of Mini-F# and the lexer that produces them.
 *
 * The lexer turns a whole source buffer into an array of tokens up front.
 * Each token records its line and column and whether it is the first token
 * on its line: the layout (offside) rule in layout.c works from those.
 * Called by the compiler on the compiling thread; no shared state.
 */
#ifndef FSRS_LANG_LEX_H
#define FSRS_LANG_LEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lang/arena.h"

typedef enum TokKind {
    TK_EOF,
    TK_INT,
    TK_FLOAT,
    TK_STRING,
    TK_CHAR,
    TK_IDENT,
    /* keywords */
    TK_LET, TK_REC, TK_AND, TK_IN, TK_FUN, TK_FUNCTION, TK_IF, TK_THEN, TK_ELIF, TK_ELSE,
    TK_MATCH, TK_WITH, TK_WHEN, TK_TRUE, TK_FALSE, TK_TYPE, TK_OF, TK_MUTABLE, TK_MODULE,
    TK_OPEN, TK_FOR, TK_TO, TK_DOWNTO, TK_WHILE, TK_DO, TK_DONE, TK_BEGIN, TK_END, TK_TRY,
    TK_FINALLY, TK_AS, TK_NULL, TK_YIELD, TK_LAZY, TK_ASSERT,
    /* punctuation */
    TK_LPAREN, TK_RPAREN, TK_LBRACK, TK_RBRACK, TK_LARRAY, TK_RARRAY, TK_LBRACE, TK_RBRACE,
    TK_COMMA, TK_SEMI, TK_COLON, TK_COLONCOLON, TK_ARROW, TK_LARROW, TK_DOT, TK_DOTDOT,
    TK_UNDERSCORE, TK_BAR, TK_COLONGT, TK_HASH,
    /* operators (binary unless noted) */
    TK_EQ, TK_NE, TK_LT, TK_GT, TK_LE, TK_GE, TK_PLUS, TK_MINUS, TK_STAR, TK_SLASH,
    TK_PERCENT, TK_STARSTAR, TK_AMPAMP, TK_BARBAR, TK_PIPE, TK_BACKPIPE, TK_COMPOSE,
    TK_BACKCOMPOSE, TK_AT, TK_CARET, TK_BANG, TK_COLONEQ,
    TK_COLONQ, /* :? (type test) */
    TK_COUNT
} TokKind;

typedef struct Token {
    uint8_t kind;      /* TokKind */
    bool bol;          /* first token on its line */
    bool space_before; /* whitespace (or line start) right before it */
    bool space_after;  /* whitespace right after it */
    int32_t line, col; /* 1-based */
    uint32_t str_len;  /* string literals: decoded length */
    union {
        int64_t i;     /* int literal; char literal code point */
        double f;      /* float literal */
    };
    const char *text;  /* identifier, or decoded string literal bytes
                          (NUL-terminated, in the arena) */
} Token;

typedef struct LexResult {
    Token *toks;       /* from the arena's allocator: free with lex_free */
    size_t ntoks, cap;
    /* On failure: */
    int err_line, err_col;
    char err_msg[256];
} LexResult;

/* Lex src into r->toks (allocated in arena).  Returns 0, or -1 with
 * r->err_* set, or -2 if the arena ran out of memory. */
int lex_source(Arena *arena, const char *src, size_t len, LexResult *r);

/* Free r->toks (allocated with the arena's allocator). */
void lex_free(Arena *arena, LexResult *r);

/* Spelling of a token kind for messages ("'->'", "identifier"). */
const char *lex_kind_name(TokKind k);

#endif
