/*
 * lang/parse.c - the Mini-F# grammar: tokens -> syntax tree.
 *
 * A recursive-descent parser over the layout cursor (layout.c).  Operator
 * precedence follows the F# specification, lowest first:
 *
 *   expr      := stmt (';' stmt)*
 *   stmt      := tuple ['<-' stmt]                   assignment of a mutable
 *   tuple     := or (',' or)*
 *   or        := and ('||' and)*
 *   and       := cmp ('&&' cmp)*
 *   cmp       := concat (('=' '<>' '<' '>' '<=' '>=' '|>' '<|' '>>' '<<') concat)*
 *   concat    := cons (('@' | '^') concat)?          right associative
 *   cons      := add ('::' cons)?                     right associative
 *   add       := mul (('+' | '-') mul)*
 *   mul       := pow (('*' | '/' | '%') pow)*
 *   pow       := unary ('**' pow)?                    right associative
 *   unary     := '-' unary | app
 *   app       := atom atom*                           curried application
 *   atom      := literal | name | '(' ... ')' ('.' field)* | '[' ... ']'
 *              | record ('.' field)* | if | match | fun | function | let
 *              | while | for | 'yield' stmt | 'yield!' stmt
 *
 * A program is a run of top-level items: `let` bindings, expressions,
 * `type` declarations (records and unions), modules and `open`s.
 *
 * A block (a let body, a match arm, a branch) is a run of items lined up in
 * one column; an item that is a `let` without `in` scopes over the items
 * after it, any other item is sequenced with them.  Compiling thread only.
 */
#include "lang/parse.h"

#include <stdio.h>
#include <string.h>

static Expr *parse_expr(Parser *p);
static Expr *parse_stmt(Parser *p);
static Expr *parse_block(Parser *p, int min_col, const Token *owner);
static Pat *parse_pattern(Parser *p);
static Pat *parse_pat_atom(Parser *p);

/* ------------------------------------------------------------- helpers --- */

/* A token as a diagnostic names it: quoted source text ('x', 'let', '+',
 * ')'), or a description for literals ("integer literal"). */
static const char *tok_desc(Parser *p, const Token *t)
{
    const char *name = t->kind == TK_IDENT ? t->text : lex_kind_name(t->kind);
    if (t->kind == TK_EOF || t->kind == TK_INT || t->kind == TK_FLOAT ||
        t->kind == TK_STRING || t->kind == TK_CHAR || name[0] == '\'')
        return name; /* lex_kind_name quotes punctuation already */
    snprintf(p->desc, sizeof p->desc, "'%.80s'", name);
    return p->desc;
}

static _Noreturn void unexpected(Parser *p, const char *wanted)
{
    Token *t = lay_raw(p);
    if (t->kind == TK_EOF)
        parse_error_at(p, t->line, t->col, "unexpected end of input, expected %s", wanted);
    if (lay_is_offside(p, t))
        parse_error_at(p, t->line, t->col,
                       "unexpected %s (offside: indented too little), expected %s", tok_desc(p, t),
                       wanted);
    parse_error_at(p, t->line, t->col, "unexpected %s, expected %s", tok_desc(p, t), wanted);
}

static Token *expect(Parser *p, TokKind k)
{
    if (lay_peek(p) != k) {
        char want[64];
        const char *n = lex_kind_name(k);
        if (n[0] == '\'')
            snprintf(want, sizeof want, "%s", n);
        else
            snprintf(want, sizeof want, "'%s'", n);
        unexpected(p, want);
    }
    return lay_next(p);
}

/* Closing tokens are never offside: they end whatever is open.  A missing
 * closer is reported at the opener, where the mistake usually is. */
static Token *expect_closer(Parser *p, TokKind k, const Token *opener)
{
    Token *t = lay_raw(p);
    if (t->kind != k) {
        const char *open = lex_kind_name(opener->kind);
        if (t->kind == TK_EOF)
            parse_error_at(p, opener->line, opener->col,
                           "unmatched %s: expected %s before the end of input", open,
                           lex_kind_name(k));
        parse_error_at(p, opener->line, opener->col,
                       "unmatched %s: expected %s before %s at line %d, column %d", open,
                       lex_kind_name(k), tok_desc(p, t), t->line, t->col);
    }
    return lay_next(p);
}

static bool accept(Parser *p, TokKind k)
{
    if (lay_peek(p) == k) {
        lay_next(p);
        return true;
    }
    return false;
}

static Expr *new_expr(Parser *p, ExprKind k, const Token *at)
{
    Expr *e = parse_alloc(p, sizeof *e);
    e->kind = k;
    e->line = at->line;
    e->col = at->col;
    return e;
}

static Pat *new_pat(Parser *p, PatKind k, const Token *at)
{
    Pat *q = parse_alloc(p, sizeof *q);
    q->kind = k;
    q->line = at->line;
    q->col = at->col;
    return q;
}

/* Growable arrays of pointers in the arena. */
typedef struct PtrVec {
    void **v;
    int n, cap;
} PtrVec;

static void vec_push(Parser *p, PtrVec *vec, void *x)
{
    if (vec->n == vec->cap) {
        int cap = vec->cap ? vec->cap * 2 : 4;
        void **nv = parse_alloc(p, (size_t)cap * sizeof(void *));
        if (vec->n)
            memcpy(nv, vec->v, (size_t)vec->n * sizeof(void *));
        vec->v = nv;
        vec->cap = cap;
    }
    vec->v[vec->n++] = x;
}

static bool is_closer(TokKind k)
{
    return k == TK_RPAREN || k == TK_RBRACK || k == TK_RARRAY || k == TK_RBRACE || k == TK_EOF ||
           k == TK_END;
}

/* --------------------------------------------------------------- types --- */
/* Type annotations are parsed and dropped: without a type checker they do
 * not change behaviour.
 *   type := tuple ('->' type)?     tuple := app ('*' app)*
 *   app  := atom (name | '[' ']')*  atom := name ('<' type,* '>')? | '(' type ')' | '_'  */

static void skip_type(Parser *p);

/* '<' type (',' type)* '>'.  The lexer reads the end of Tree<Tree<int>> as
 * one '>>' token: close the inner list with its first half and leave a
 * '>' for the outer one. */
static void skip_type_args(Parser *p)
{
    lay_next(p);
    skip_type(p);
    while (accept(p, TK_COMMA))
        skip_type(p);
    Token *t = lay_raw(p);
    if (t->kind == TK_COMPOSE && !lay_is_offside(p, t)) {
        t->kind = TK_GT;
        t->col++;
        t->space_before = false;
        return;
    }
    expect(p, TK_GT);
}

static void skip_type_atom(Parser *p)
{
    TokKind k = lay_peek(p);
    if (k == TK_LPAREN) {
        Token *open = lay_next(p);
        skip_type(p);
        while (accept(p, TK_COMMA))
            skip_type(p);
        expect_closer(p, TK_RPAREN, open);
    } else if (k == TK_IDENT || k == TK_UNDERSCORE) {
        lay_next(p);
        while (lay_peek(p) == TK_DOT && lay_raw(p)[1].kind == TK_IDENT) {
            lay_next(p);
            lay_next(p);
        }
        if (lay_peek(p) == TK_LT && !lay_raw(p)->space_before)
            skip_type_args(p);
    } else {
        unexpected(p, "a type");
    }
}

static void skip_type_app(Parser *p)
{
    skip_type_atom(p);
    for (;;) {
        if (lay_peek(p) == TK_IDENT) {
            lay_next(p);
        } else if (lay_peek(p) == TK_LBRACK && lay_raw(p)[1].kind == TK_RBRACK) {
            lay_next(p);
            lay_next(p);
        } else {
            break;
        }
    }
}

static void skip_type(Parser *p)
{
    skip_type_app(p);
    while (accept(p, TK_STAR))
        skip_type_app(p);
    if (accept(p, TK_ARROW))
        skip_type(p);
}

/* ------------------------------------------------------------ patterns --- */

static Pat *pat_pair(Parser *p, PatKind k, const Token *at, Pat *a, Pat *b)
{
    Pat *q = new_pat(p, k, at);
    q->items = parse_alloc(p, 2 * sizeof(Pat *));
    q->items[0] = a;
    q->items[1] = b;
    q->nitems = 2;
    return q;
}

/* Can the current token begin an atomic pattern (a function parameter)? */
static bool starts_pat_atom(Parser *p)
{
    switch (lay_peek(p)) {
    case TK_IDENT: case TK_UNDERSCORE: case TK_LPAREN: case TK_LBRACK: case TK_INT:
    case TK_FLOAT: case TK_STRING: case TK_CHAR: case TK_TRUE: case TK_FALSE: case TK_LBRACE:
    case TK_LARRAY:
        return true;
    default:
        return false;
    }
}

/* A name, joined with the names after it by dots with no space around:
 * "Shape.Circle" (a qualified union case, or a value and its fields). */
static const char *parse_dotted_name(Parser *p, Token *first)
{
    const char *name = first->text;
    while (lay_raw(p)->kind == TK_DOT && !lay_raw(p)->space_before &&
           !lay_raw(p)->space_after && lay_raw(p)[1].kind == TK_IDENT) {
        lay_next(p);
        Token *n = lay_next(p);
        size_t a = strlen(name), b = strlen(n->text);
        char *q = parse_alloc(p, a + b + 2);
        memcpy(q, name, a);
        q[a] = '.';
        memcpy(q + a + 1, n->text, b + 1);
        name = q;
    }
    return name;
}

/* Field labels of a record expression or pattern: "X" or "T.X" (the type
 * qualification is dropped: the field names find the type). */
static const char *parse_field_label(Parser *p)
{
    Token *n = expect(p, TK_IDENT);
    const char *name = n->text;
    while (lay_peek(p) == TK_DOT && lay_raw(p)[1].kind == TK_IDENT) {
        lay_next(p);
        name = lay_next(p)->text;
    }
    return name;
}

/* pat_record := '{' field '=' pattern ((';' | NEWLINE) field '=' pattern)* [';'] '}' */
static Pat *parse_pat_record(Parser *p, Token *open)
{
    PtrVec names = {0}, items = {0};
    if (lay_raw(p)->kind == TK_RBRACE)
        unexpected(p, "a field name");
    int col = lay_raw(p)->col;
    LayoutSave s = lay_push(p, col);
    for (;;) {
        vec_push(p, &names, (void *)parse_field_label(p));
        expect(p, TK_EQ);
        vec_push(p, &items, parse_pattern(p));
        if (accept(p, TK_SEMI)) {
            if (lay_raw(p)->kind == TK_RBRACE)
                break;
            if (lay_raw(p)->bol)
                lay_item_start(p);
        } else if (lay_raw(p)->bol && lay_raw(p)->col == col && lay_raw(p)->kind == TK_IDENT) {
            lay_item_start(p);
        } else {
            break;
        }
    }
    lay_pop(p, s);
    expect_closer(p, TK_RBRACE, open);
    Pat *q = new_pat(p, P_RECORD, open);
    q->names = (const char **)names.v;
    q->items = (Pat **)items.v;
    q->nitems = items.n;
    return q;
}

/* [p; q; ...] or [| p; q; ... |], after its opener t: a P_LIST (P_NIL when
 * empty) or a P_ARRAY. */
static Pat *parse_seq_pattern(Parser *p, Token *t, bool is_array)
{
    TokKind closer = is_array ? TK_RARRAY : TK_RBRACK;
    lay_next(p);
    if (lay_raw(p)->kind == closer) {
        lay_next(p);
        return new_pat(p, is_array ? P_ARRAY : P_NIL, t);
    }
    PtrVec items = {0};
    LayoutSave s = lay_push(p, lay_raw(p)->col);
    for (;;) {
        vec_push(p, &items, parse_pattern(p));
        if (!accept(p, TK_SEMI))
            break;
        if (lay_raw(p)->kind == closer)
            break;
    }
    lay_pop(p, s);
    expect_closer(p, closer, t);
    Pat *q = new_pat(p, is_array ? P_ARRAY : P_LIST, t);
    q->items = (Pat **)items.v;
    q->nitems = items.n;
    return q;
}

/* pat_atom := '_' | name | literal | '-' number | '(' ')' | '(' pattern [':' type] ')'
 *           | '[' ']' | '[' pattern (';' pattern)* ']' | pat_record
 *           | '[|' '|]' | '[|' pattern (';' pattern)* '|]' */
static Pat *parse_pat_atom(Parser *p)
{
    Token *t = lay_raw(p);
    switch (lay_peek(p)) {
    case TK_UNDERSCORE:
        lay_next(p);
        return new_pat(p, P_WILD, t);
    case TK_IDENT: {
        lay_next(p);
        Pat *q = new_pat(p, P_VAR, t);
        q->name = parse_dotted_name(p, t);
        return q;
    }
    case TK_LBRACE:
        lay_next(p);
        return parse_pat_record(p, t);
    case TK_COLONQ: {
        /* :? T -- a type test; the exception types are cases of exn, so it
         * tests the case (System.Exception and exn: any exception) */
        lay_next(p);
        Token *n = lay_raw(p);
        if (lay_peek(p) != TK_IDENT)
            unexpected(p, "a type name after ':?'");
        lay_next(p);
        const char *name = parse_dotted_name(p, n);
        if (strcmp(name, "exn") == 0 || strcmp(name, "Exception") == 0 ||
            strcmp(name, "System.Exception") == 0)
            return new_pat(p, P_WILD, t);
        Pat *q = new_pat(p, P_CASE, t);
        q->name = name;
        q->items = parse_alloc(p, sizeof(Pat *));
        q->items[0] = new_pat(p, P_WILD, n);
        q->nitems = 1;
        return q;
    }
    case TK_INT: {
        lay_next(p);
        Pat *q = new_pat(p, P_INT, t);
        q->i = t->i;
        return q;
    }
    case TK_FLOAT: {
        lay_next(p);
        Pat *q = new_pat(p, P_FLOAT, t);
        q->f = t->f;
        return q;
    }
    case TK_MINUS: {
        lay_next(p);
        Token *n = lay_raw(p);
        if (lay_peek(p) == TK_INT) {
            lay_next(p);
            Pat *q = new_pat(p, P_INT, t);
            q->i = (int64_t)(0 - (uint64_t)n->i);
            return q;
        }
        if (lay_peek(p) == TK_FLOAT) {
            lay_next(p);
            Pat *q = new_pat(p, P_FLOAT, t);
            q->f = -n->f;
            return q;
        }
        unexpected(p, "a number after '-' in a pattern");
    }
    case TK_STRING: {
        lay_next(p);
        Pat *q = new_pat(p, P_STRING, t);
        q->str = t->text;
        q->str_len = t->str_len;
        return q;
    }
    case TK_CHAR: {
        lay_next(p);
        Pat *q = new_pat(p, P_CHAR, t);
        q->i = t->i;
        return q;
    }
    case TK_TRUE:
    case TK_FALSE: {
        lay_next(p);
        Pat *q = new_pat(p, P_BOOL, t);
        q->i = t->kind == TK_TRUE;
        return q;
    }
    case TK_LPAREN: {
        lay_next(p);
        if (lay_raw(p)->kind == TK_RPAREN) {
            lay_next(p);
            return new_pat(p, P_UNIT, t);
        }
        LayoutSave s = lay_push(p, lay_raw(p)->col);
        Pat *q = parse_pattern(p);
        if (accept(p, TK_COLON))
            skip_type(p);
        lay_pop(p, s);
        expect_closer(p, TK_RPAREN, t);
        return q;
    }
    case TK_LBRACK:
        return parse_seq_pattern(p, t, false);
    case TK_LARRAY:
        return parse_seq_pattern(p, t, true);
    default:
        unexpected(p, "a pattern");
    }
}

/* pat_app := name pat_atom | pat_atom       a union case and its argument */
static Pat *parse_pat_app(Parser *p)
{
    Token *t = lay_raw(p);
    Pat *q = parse_pat_atom(p);
    if (q->kind != P_VAR)
        return q;
    Token *n = lay_raw(p);
    bool neg_number = n->kind == TK_MINUS && !n->space_after && lay_peek(p) == TK_MINUS &&
                      (n[1].kind == TK_INT || n[1].kind == TK_FLOAT);
    if (!starts_pat_atom(p) && !neg_number)
        return q;
    Pat *c = new_pat(p, P_CASE, t);
    c->name = q->name;
    c->items = parse_alloc(p, sizeof(Pat *));
    c->items[0] = parse_pat_atom(p);
    c->nitems = 1;
    return c;
}

/* pat_cons := pat_app ('::' pat_cons)? */
static Pat *parse_pat_cons(Parser *p)
{
    Pat *head = parse_pat_app(p);
    Token *t = lay_raw(p);
    if (accept(p, TK_COLONCOLON))
        return pat_pair(p, P_CONS, t, head, parse_pat_cons(p));
    return head;
}

/* pat_tuple := pat_cons (',' pat_cons)* */
static Pat *parse_pat_tuple(Parser *p)
{
    Token *t = lay_raw(p);
    Pat *first = parse_pat_cons(p);
    if (lay_peek(p) != TK_COMMA)
        return first;
    PtrVec items = {0};
    vec_push(p, &items, first);
    while (accept(p, TK_COMMA))
        vec_push(p, &items, parse_pat_cons(p));
    Pat *q = new_pat(p, P_TUPLE, t);
    q->items = (Pat **)items.v;
    q->nitems = items.n;
    return q;
}

/* pattern := pat_tuple ('|' pat_tuple)* ('as' name)* */
static Pat *parse_pattern(Parser *p)
{
    Pat *q = parse_pat_tuple(p);
    while (lay_peek(p) == TK_BAR && !lay_raw(p)->bol) {
        Token *t = lay_next(p);
        q = pat_pair(p, P_OR, t, q, parse_pat_tuple(p));
    }
    while (lay_peek(p) == TK_AS) {
        Token *t = lay_next(p);
        Token *n = expect(p, TK_IDENT);
        Pat *v = new_pat(p, P_VAR, n);
        v->name = n->text;
        q = pat_pair(p, P_AS, t, q, v);
    }
    return q;
}

/* --------------------------------------------------------- expressions --- */

static bool starts_atom(Parser *p)
{
    Token *t = lay_raw(p);
    switch (lay_peek(p)) {
    case TK_INT: case TK_FLOAT: case TK_STRING: case TK_CHAR: case TK_IDENT: case TK_TRUE:
    case TK_FALSE: case TK_LPAREN: case TK_LBRACK: case TK_LARRAY: case TK_BEGIN: case TK_LBRACE:
        return true;
    case TK_MINUS:
        /* "f -1": a minus glued to its operand but not to what precedes it
         * is a negative argument, as in F#. */
        return t->space_before && !t->space_after && !t->bol;
    default:
        return false;
    }
}

static Expr *parse_atom(Parser *p);
static Expr *parse_unary(Parser *p);

/* app := atom atom* */
static Expr *parse_app(Parser *p)
{
    Token *t = lay_raw(p);
    Expr *f = parse_atom(p);
    if (!starts_atom(p))
        return f;
    PtrVec args = {0};
    while (starts_atom(p)) {
        if (lay_peek(p) == TK_MINUS) {
            Token *m = lay_next(p);
            Expr *neg = new_expr(p, E_NEG, m);
            neg->a = parse_atom(p);
            vec_push(p, &args, neg);
        } else {
            vec_push(p, &args, parse_atom(p));
        }
    }
    Expr *e = new_expr(p, E_APP, t);
    e->a = f;
    e->items = (Expr **)args.v;
    e->nitems = args.n;
    return e;
}

static Expr *parse_unary(Parser *p)
{
    Token *t = lay_raw(p);
    if (lay_peek(p) == TK_MINUS) {
        lay_next(p);
        Expr *operand = parse_unary(p);
        if (operand->kind == E_INT) {
            operand->i = (int64_t)(0 - (uint64_t)operand->i);
            operand->line = t->line;
            operand->col = t->col;
            return operand;
        }
        if (operand->kind == E_FLOAT) {
            operand->f = -operand->f;
            operand->line = t->line;
            operand->col = t->col;
            return operand;
        }
        Expr *e = new_expr(p, E_NEG, t);
        e->a = operand;
        return e;
    }
    return parse_app(p);
}

static Expr *binop(Parser *p, const Token *t, Expr *a, Expr *b)
{
    Expr *e = new_expr(p, E_BINOP, t);
    e->op = t->kind;
    e->a = a;
    e->b = b;
    return e;
}

static Expr *parse_pow(Parser *p)
{
    Expr *a = parse_unary(p);
    if (lay_peek(p) == TK_STARSTAR) {
        Token *t = lay_next(p);
        return binop(p, t, a, parse_pow(p));
    }
    return a;
}

static Expr *parse_mul(Parser *p)
{
    Expr *a = parse_pow(p);
    for (;;) {
        TokKind k = lay_peek(p);
        if (k != TK_STAR && k != TK_SLASH && k != TK_PERCENT)
            return a;
        Token *t = lay_next(p);
        a = binop(p, t, a, parse_pow(p));
    }
}

static Expr *parse_add(Parser *p)
{
    Expr *a = parse_mul(p);
    for (;;) {
        TokKind k = lay_peek(p);
        if (k != TK_PLUS && k != TK_MINUS)
            return a;
        Token *t = lay_next(p);
        a = binop(p, t, a, parse_mul(p));
    }
}

static Expr *parse_cons(Parser *p)
{
    Expr *a = parse_add(p);
    if (lay_peek(p) == TK_COLONCOLON) {
        Token *t = lay_next(p);
        return binop(p, t, a, parse_cons(p));
    }
    return a;
}

static Expr *parse_concat(Parser *p)
{
    Expr *a = parse_cons(p);
    TokKind k = lay_peek(p);
    if (k == TK_AT || k == TK_CARET) {
        Token *t = lay_next(p);
        Expr *e = binop(p, t, a, parse_concat(p));
        if (k == TK_CARET)
            e->op = TK_PLUS; /* ^ is string concatenation */
        return e;
    }
    return a;
}

/* Apply fn to one more argument, flattening "x |> f a" into "f a x". */
static Expr *apply_to(Parser *p, const Token *t, Expr *fn, Expr *arg)
{
    Expr *e = new_expr(p, E_APP, t);
    if (fn->kind == E_APP) {
        e->a = fn->a;
        e->items = parse_alloc(p, (size_t)(fn->nitems + 1) * sizeof(Expr *));
        memcpy(e->items, fn->items, (size_t)fn->nitems * sizeof(Expr *));
        e->items[fn->nitems] = arg;
        e->nitems = fn->nitems + 1;
    } else {
        e->a = fn;
        e->items = parse_alloc(p, sizeof(Expr *));
        e->items[0] = arg;
        e->nitems = 1;
    }
    e->line = fn->line;
    e->col = fn->col;
    return e;
}

static Expr *parse_cmp(Parser *p)
{
    Expr *a = parse_concat(p);
    for (;;) {
        TokKind k = lay_peek(p);
        switch (k) {
        case TK_EQ: case TK_NE: case TK_LT: case TK_GT: case TK_LE: case TK_GE: {
            Token *t = lay_next(p);
            a = binop(p, t, a, parse_concat(p));
            break;
        }
        case TK_PIPE: {
            Token *t = lay_next(p);
            Expr *f = parse_concat(p);
            a = apply_to(p, t, f, a);
            break;
        }
        case TK_BACKPIPE: {
            Token *t = lay_next(p);
            a = apply_to(p, t, a, parse_concat(p));
            break;
        }
        case TK_COMPOSE:
        case TK_BACKCOMPOSE: {
            Token *t = lay_next(p);
            Expr *e = new_expr(p, E_COMPOSE, t);
            Expr *b = parse_concat(p);
            /* normalise to "first a, then b" */
            e->a = k == TK_COMPOSE ? a : b;
            e->b = k == TK_COMPOSE ? b : a;
            a = e;
            break;
        }
        default:
            return a;
        }
    }
}

static Expr *parse_and(Parser *p)
{
    Expr *a = parse_cmp(p);
    while (lay_peek(p) == TK_AMPAMP) {
        Token *t = lay_next(p);
        Expr *e = new_expr(p, E_AND, t);
        e->a = a;
        e->b = parse_cmp(p);
        a = e;
    }
    return a;
}

static Expr *parse_or(Parser *p)
{
    Expr *a = parse_and(p);
    while (lay_peek(p) == TK_BARBAR) {
        Token *t = lay_next(p);
        Expr *e = new_expr(p, E_OR, t);
        e->a = a;
        e->b = parse_and(p);
        a = e;
    }
    return a;
}

static Expr *parse_tuple(Parser *p)
{
    Token *t = lay_raw(p);
    Expr *first = parse_or(p);
    if (lay_peek(p) != TK_COMMA)
        return first;
    PtrVec items = {0};
    vec_push(p, &items, first);
    while (accept(p, TK_COMMA))
        vec_push(p, &items, parse_or(p));
    Expr *e = new_expr(p, E_TUPLE, t);
    e->items = (Expr **)items.v;
    e->nitems = items.n;
    return e;
}

/* stmt := tuple ['<-' stmt]
 * Assignment binds looser than a tuple, as in F#: x <- 1, 2 stores a pair.
 * The target is a `let mutable` name or an element a.[i] of an array. */
static Expr *parse_stmt(Parser *p)
{
    Expr *a = parse_tuple(p);
    if (lay_peek(p) != TK_LARROW)
        return a;
    Token *t = lay_next(p);
    if (a->kind == E_INDEX) {
        Expr *e = new_expr(p, E_SETINDEX, t);
        e->line = a->line;
        e->col = a->col;
        e->a = a->a;
        e->b = a->b;
        e->c = parse_stmt(p);
        return e;
    }
    if (a->kind != E_VAR || strchr(a->str, '.'))
        parse_error_at(p, t->line, t->col,
                       "only a name bound by 'let mutable' can be assigned with '<-'");
    Expr *e = new_expr(p, E_ASSIGN, t);
    e->line = a->line;
    e->col = a->col;
    e->str = a->str;
    e->a = parse_stmt(p);
    return e;
}

/* expr := stmt (';' stmt)* */
static Expr *parse_expr(Parser *p)
{
    Expr *a = parse_stmt(p);
    while (lay_peek(p) == TK_SEMI) {
        Token *t = lay_next(p);
        TokKind k = lay_peek(p);
        if (k == TK_EOF || is_closer(k))
            break; /* trailing ';' */
        Expr *e = new_expr(p, E_SEQ, t);
        e->a = a;
        e->b = parse_stmt(p);
        a = e;
    }
    return a;
}

/* -------------------------------------------------------------- blocks --- */

/* Is the current token the start of another item of the block at col? */
static bool block_continues(Parser *p, int col)
{
    Token *t = lay_raw(p);
    if (!t->bol || t->col != col || is_closer(t->kind))
        return false;
    switch (t->kind) {
    case TK_BAR: case TK_THEN: case TK_ELSE: case TK_ELIF: case TK_WITH: case TK_AND:
    case TK_IN: case TK_DONE: case TK_FINALLY:
        return false;
    default:
        return true;
    }
}

/* After an item of a sequence at col ([...], a record): is there another?
 * Items are separated by ';' or by new lines at col; a ';' right before
 * the closer (not consumed) ends the sequence too. */
static bool item_follows(Parser *p, int col, TokKind closer)
{
    if (accept(p, TK_SEMI)) {
        if (lay_raw(p)->kind == closer)
            return false;
        if (lay_raw(p)->bol)
            lay_item_start(p);
        return true;
    }
    if (block_continues(p, col)) {
        lay_item_start(p);
        return true;
    }
    return false;
}

/* items := item (NEWLINE-at-col item)*, with a bodiless let scoping over
 * the items after it. */
static Expr *parse_items(Parser *p, int col)
{
    lay_item_start(p);
    Token *t = lay_raw(p);
    Expr *e = parse_expr(p);
    if (e->kind == E_LET && !e->a) {
        if (!block_continues(p, col))
            parse_error_at(p, t->line, t->col,
                           "the block following this 'let' is unfinished: a 'let' must be "
                           "followed by an expression");
        e->a = parse_items(p, col);
        return e;
    }
    if (block_continues(p, col)) {
        Token *at = lay_raw(p);
        Expr *s = new_expr(p, E_SEQ, at);
        s->a = e;
        s->b = parse_items(p, col);
        return s;
    }
    return e;
}

/* A block whose first token is the current one; it must start right of
 * min_col (the column of the construct that owns it). */
static Expr *parse_block(Parser *p, int min_col, const Token *owner)
{
    Token *t = lay_raw(p);
    if (t->kind == TK_EOF || is_closer(t->kind))
        unexpected(p, "an expression");
    if (t->bol && t->col < min_col)
        parse_error_at(p, t->line, t->col,
                       "offside: this line must be indented more than the %s at line %d",
                       tok_desc(p, owner), owner->line);
    /* A lambda body may sit left of the bracket around the lambda, as long
     * as it stays right of the enclosing block; a branch after a trailing
     * then/else may line up with its block. */
    int limit = owner->kind == TK_ARROW ? p->block_col : p->ctx_col;
    bool may_align = owner->kind == TK_THEN || owner->kind == TK_ELSE || owner->kind == TK_ARROW;
    if (t->bol && (t->col < limit || (t->col == limit && !may_align)))
        parse_error_at(p, t->line, t->col,
                       "offside: this line must be indented more than its enclosing block");
    /* "= function" ending its line: F# lets the arms sit left of the
     * keyword, as long as they stay right of the block around it */
    int col = t->col;
    if (t->kind == TK_FUNCTION && t[1].bol && t[1].col < col && t[1].col >= min_col &&
        t[1].col > limit)
        col = t[1].col;
    LayoutSave s = lay_push(p, col);
    int saved_block = p->block_col;
    p->block_col = col;
    Expr *e = parse_items(p, col);
    p->block_col = saved_block;
    lay_pop(p, s);
    return e;
}

/* ---------------------------------------------------------- let / fun --- */

static Expr *make_lambda(Parser *p, const Token *t, PtrVec *params, Expr *body)
{
    Expr *e = new_expr(p, E_LAMBDA, t);
    e->params = (Pat **)params->v;
    e->nparams = params->n;
    e->a = body;
    return e;
}

/* binding := name [typarams] pat_atom+ [':' type] '=' block   (function)
 *          | pattern [':' type] '=' block                        (value)
 *          | 'mutable' name [':' type] '=' block                 (variable)
 * typarams := '<' type (',' type)* '>'   explicit type parameters, ignored */
static void parse_binding(Parser *p, Binding *b, const Token *let_tok)
{
    if (accept(p, TK_MUTABLE)) {
        Token *n = lay_raw(p);
        if (n->kind != TK_IDENT || (n[1].kind != TK_EQ && n[1].kind != TK_COLON))
            unexpected(p, "a name after 'mutable'");
        b->is_mutable = true;
    }
    Token *t = lay_raw(p);
    b->line = t->line;
    b->col = t->col;
    TokKind next = t[1].kind;
    bool is_fun = t->kind == TK_IDENT && next != TK_EQ && next != TK_COLON && next != TK_COMMA &&
                  next != TK_COLONCOLON && next != TK_AS && next != TK_BAR;
    if (is_fun) {
        lay_next(p);
        Pat *name = new_pat(p, P_VAR, t);
        name->name = t->text;
        if (lay_peek(p) == TK_LT && !lay_raw(p)->space_before)
            skip_type_args(p);
        PtrVec params = {0};
        while (starts_pat_atom(p))
            vec_push(p, &params, parse_pat_atom(p));
        if (params.n == 0)
            unexpected(p, "'=' or parameters");
        if (accept(p, TK_COLON))
            skip_type(p);
        Token *eq = expect(p, TK_EQ);
        Expr *body = parse_block(p, let_tok->col + 1, let_tok);
        b->pat = name;
        b->is_fun = true;
        b->value = make_lambda(p, eq, &params, body);
        b->value->fn_name = t->text;
        return;
    }
    b->pat = parse_pattern(p);
    if (accept(p, TK_COLON))
        skip_type(p);
    expect(p, TK_EQ);
    b->value = parse_block(p, let_tok->col + 1, let_tok);
    if (b->pat->kind == P_VAR && b->value->kind == E_LAMBDA && !b->value->fn_name)
        b->value->fn_name = b->pat->name;
}

/* let := 'let' ['rec'] binding ('and' binding)* ['in' expr] */
static Expr *parse_let(Parser *p)
{
    Token *let_tok = lay_next(p);
    Expr *e = new_expr(p, E_LET, let_tok);
    e->is_rec = accept(p, TK_REC);
    int cap = 2;
    e->binds = parse_alloc(p, (size_t)cap * sizeof(Binding));
    for (;;) {
        if (e->nbinds == cap) {
            Binding *nb = parse_alloc(p, (size_t)cap * 2 * sizeof(Binding));
            memcpy(nb, e->binds, (size_t)cap * sizeof(Binding));
            e->binds = nb;
            cap *= 2;
        }
        parse_binding(p, &e->binds[e->nbinds++], let_tok);
        Token *r = lay_raw(p);
        if (r->kind == TK_AND && (!r->bol || r->col >= p->ctx_col)) {
            if (!e->is_rec)
                parse_error_at(p, r->line, r->col, "'and' joins bindings of a 'let rec' only");
            lay_next(p);
            continue;
        }
        break;
    }
    Token *r = lay_raw(p);
    if (r->kind == TK_IN && (!r->bol || r->col >= p->ctx_col)) {
        lay_next(p);
        Token *b = lay_raw(p);
        if (b->bol && b->col == p->ctx_col && !is_closer(b->kind)) {
            /* "let x = e in" ending a line: the rest of the block is the body */
            e->a = parse_items(p, p->ctx_col);
        } else {
            lay_item_start(p);
            e->a = parse_expr(p);
        }
    }
    return e;
}

/* fun := 'fun' pat_atom+ '->' block */
static Expr *parse_fun(Parser *p)
{
    Token *t = lay_next(p);
    PtrVec params = {0};
    while (starts_pat_atom(p))
        vec_push(p, &params, parse_pat_atom(p));
    if (params.n == 0)
        unexpected(p, "a parameter after 'fun'");
    Token *arrow = expect(p, TK_ARROW);
    Expr *body = parse_block(p, 0, arrow);
    return make_lambda(p, t, &params, body);
}

/* arms := ['|'] arm ('|' arm)*     arm := pattern ['when' expr] '->' block */
static void parse_arms(Parser *p, Expr *e, const Token *owner)
{
    int cap = 4;
    e->arms = parse_alloc(p, (size_t)cap * sizeof(MatchArm));
    int ctx = p->ctx_col;
    Token *r = lay_raw(p);
    if (r->kind == TK_BAR && (!r->bol || r->col >= ctx))
        lay_next(p);
    for (;;) {
        if (e->narms == cap) {
            MatchArm *na = parse_alloc(p, (size_t)cap * 2 * sizeof(MatchArm));
            memcpy(na, e->arms, (size_t)cap * sizeof(MatchArm));
            e->arms = na;
            cap *= 2;
        }
        MatchArm *arm = &e->arms[e->narms++];
        Token *pt = lay_raw(p);
        if (pt->bol && pt->col < ctx)
            unexpected(p, "a pattern");
        /* the pattern itself may sit at the context column */
        LayoutSave s = lay_push(p, ctx);
        arm->pat = parse_pattern(p);
        if (accept(p, TK_WHEN))
            arm->guard = parse_expr(p);
        lay_pop(p, s);
        Token *arrow = expect(p, TK_ARROW);
        arm->body = parse_block(p, owner->col, arrow);
        r = lay_raw(p);
        if (r->kind == TK_BAR && (!r->bol || r->col >= ctx)) {
            lay_next(p);
            continue;
        }
        break;
    }
}

/* match := 'match' expr 'with' arms */
static Expr *parse_match(Parser *p)
{
    Token *t = lay_next(p);
    Expr *e = new_expr(p, E_MATCH, t);
    LayoutSave s = lay_push(p, lay_raw(p)->col);
    e->a = parse_expr(p);
    lay_pop(p, s);
    Token *w = lay_raw(p);
    if (w->kind != TK_WITH)
        unexpected(p, "'with' after the 'match' expression");
    lay_next(p);
    parse_arms(p, e, t);
    return e;
}

/* if := 'if' expr 'then' block ('elif' expr 'then' block)* ['else' block] */
static Expr *parse_if(Parser *p)
{
    Token *t = lay_next(p);
    Expr *e = new_expr(p, E_IF, t);
    int ctx = p->ctx_col;
    LayoutSave s = lay_push(p, lay_raw(p)->col);
    e->a = parse_expr(p);
    lay_pop(p, s);
    Token *th = lay_raw(p);
    if (th->kind != TK_THEN || (th->bol && th->col < ctx))
        unexpected(p, "'then'");
    lay_next(p);
    e->b = parse_block(p, 0, th);
    Token *r = lay_raw(p);
    if ((r->kind == TK_ELSE || r->kind == TK_ELIF) && (!r->bol || r->col >= ctx)) {
        if (r->kind == TK_ELSE && r[1].kind == TK_IF && r[1].line == r->line) {
            /* "else if" on one line chains like elif */
            lay_next(p);
            e->c = parse_if(p);
        } else if (r->kind == TK_ELIF) {
            /* elif is else-if: parse it as a nested if starting here */
            r->kind = (uint8_t)TK_IF;
            e->c = parse_if(p);
            r->kind = (uint8_t)TK_ELIF;
        } else {
            lay_next(p);
            e->c = parse_block(p, 0, r);
        }
    }
    return e;
}

static void parse_union_case(Parser *p, UnionCase *uc);

/* try := 'try' block ('with' arms | 'finally' block) */
static Expr *parse_try(Parser *p)
{
    Token *t = lay_next(p);
    Expr *e = new_expr(p, E_TRY, t);
    e->a = parse_block(p, 0, t);
    Token *w = lay_raw(p);
    if (w->kind == TK_WITH && (!w->bol || w->col >= p->ctx_col)) {
        lay_next(p);
        parse_arms(p, e, t);
    } else if (w->kind == TK_FINALLY && (!w->bol || w->col >= p->ctx_col)) {
        lay_next(p);
        e->b = parse_block(p, 0, w);
    } else {
        unexpected(p, "'with' or 'finally' after the 'try' block");
    }
    return e;
}

/* exception := 'exception' Name ['of' case_field ('*' case_field)*]
 * A union case of the built-in type exn. */
static Expr *parse_exception_decl(Parser *p)
{
    Token *t = lay_next(p);
    Expr *e = new_expr(p, E_TYPE, t);
    e->types = parse_alloc(p, sizeof(TypeDef));
    memset(e->types, 0, sizeof(TypeDef));
    e->ntypes = 1;
    TypeDef *td = e->types;
    td->kind = TD_UNION;
    td->name = "exn";
    td->line = t->line;
    td->col = t->col;
    td->is_exception = true;
    td->cases = parse_alloc(p, sizeof(UnionCase));
    memset(td->cases, 0, sizeof(UnionCase));
    td->ncases = 1;
    parse_union_case(p, &td->cases[0]);
    return e;
}

/* --------------------------------------------------------------- loops --- */

/* The body of a loop: a block right of the loop keyword, on the line of
 * 'do' or indented on the lines after it; the verbose 'done' is optional. */
static Expr *parse_loop_body(Parser *p, const Token *kw)
{
    Token *d = lay_raw(p);
    if (d->kind != TK_DO || (d->bol && d->col < p->ctx_col))
        unexpected(p, "'do'");
    lay_next(p);
    Expr *body = parse_block(p, kw->col + 1, d);
    Token *r = lay_raw(p);
    if (r->kind == TK_DONE && (!r->bol || r->col >= p->ctx_col))
        lay_next(p);
    return body;
}

/* A loop header expression: it may continue on lines right of its start. */
static Expr *parse_header_expr(Parser *p)
{
    LayoutSave s = lay_push(p, lay_raw(p)->col);
    Expr *e = parse_stmt(p);
    lay_pop(p, s);
    return e;
}

/* while := 'while' expr 'do' block ['done'] */
static Expr *parse_while(Parser *p)
{
    Token *t = lay_next(p);
    Expr *e = new_expr(p, E_WHILE, t);
    LayoutSave s = lay_push(p, lay_raw(p)->col);
    e->a = parse_expr(p);
    lay_pop(p, s);
    e->d = parse_loop_body(p, t);
    return e;
}

/* Whether e, as an item of a list or array expression, makes it a
 * comprehension: a loop or a yield, or an if, match, try, let or sequence
 * around one.  An `if` without `else` also counts: F# yields the value of
 * its branch when there is one. */
static bool is_comp(const Expr *e)
{
    switch (e->kind) {
    case E_FOR: case E_FOR_IN: case E_WHILE: case E_YIELD:
        return true;
    case E_IF:
        return !e->c || is_comp(e->b) || is_comp(e->c);
    case E_LET:
        return e->a && is_comp(e->a);
    case E_SEQ:
        return is_comp(e->a) || is_comp(e->b);
    case E_TRY:
    case E_MATCH:
        if (e->kind == E_TRY && is_comp(e->a))
            return true;
        for (int i = 0; i < e->narms; i++)
            if (is_comp(e->arms[i].body))
                return true;
        return false;
    default:
        return false;
    }
}

/* for := 'for' name '=' stmt ('to' | 'downto') stmt 'do' block ['done']
 *      | 'for' pattern 'in' stmt ['..' stmt ['..' stmt]] 'do' block ['done']
 *      | 'for' pattern 'in' stmt ['..' stmt ['..' stmt]] '->' block
 * The '->' form yields its body (comprehensions only). */
static Expr *parse_for(Parser *p)
{
    Token *t = lay_next(p);
    Token *n = lay_raw(p);
    if (lay_peek(p) == TK_IDENT && n[1].kind == TK_EQ) {
        Expr *e = new_expr(p, E_FOR, t);
        lay_next(p);
        lay_next(p);
        e->str = n->text;
        e->a = parse_header_expr(p);
        Token *dir = lay_raw(p);
        if (lay_peek(p) != TK_TO && lay_peek(p) != TK_DOWNTO)
            unexpected(p, "'to' or 'downto'");
        lay_next(p);
        e->op = dir->kind;
        e->c = parse_header_expr(p);
        e->d = parse_loop_body(p, t);
        return e;
    }
    Expr *e = new_expr(p, E_FOR_IN, t);
    e->params = parse_alloc(p, sizeof(Pat *));
    e->params[0] = parse_pattern(p);
    e->nparams = 1;
    expect(p, TK_IN);
    e->a = parse_header_expr(p);
    if (accept(p, TK_DOTDOT)) {
        e->op = TK_DOTDOT;
        Expr *second = parse_header_expr(p);
        if (accept(p, TK_DOTDOT)) {
            e->b = second;
            e->c = parse_header_expr(p);
        } else {
            e->c = second;
        }
    }
    Token *arrow = lay_raw(p);
    if (arrow->kind == TK_ARROW && (!arrow->bol || arrow->col >= p->ctx_col)) {
        /* for p in c -> a: the short form of for p in c do yield a */
        lay_next(p);
        Expr *y = new_expr(p, E_YIELD, arrow);
        y->op = 2;
        y->a = parse_block(p, t->col + 1, arrow);
        if (is_comp(y->a))
            parse_error_at(p, y->a->line, y->a->col,
                           "the body after '->' in a 'for' is the value to yield: write 'do' "
                           "instead of '->' for a body that loops or yields");
        e->d = y;
        return e;
    }
    e->d = parse_loop_body(p, t);
    return e;
}

/* The items after the first of a bracketed sequence ([...] or [|...|]):
 * separated by ';' or by new lines at the first item's column, up to the
 * closer (not consumed; a ';' right before it is allowed). */
static void parse_seq_rest(Parser *p, PtrVec *items, int col, TokKind closer)
{
    while (item_follows(p, col, closer))
        vec_push(p, items, parse_stmt(p));
}

/* ---------------------------------------------------------------- atoms --- */

/* The items of a list or array expression, when one of them is a loop or
 * a yield, become the body of a comprehension: the items in sequence. */
static Expr *maybe_compr(Parser *p, Expr *e, PtrVec *items, bool is_array)
{
    bool comp = false;
    for (int i = 0; i < items->n && !comp; i++)
        comp = is_comp(items->v[i]);
    if (!comp)
        return NULL;
    Expr *body = items->v[items->n - 1];
    for (int i = items->n - 2; i >= 0; i--) {
        Expr *item = items->v[i];
        Expr *s = new_expr(p, E_SEQ, lay_raw(p));
        s->line = item->line;
        s->col = item->col;
        s->a = item;
        s->b = body;
        body = s;
    }
    e->kind = E_COMPR;
    e->op = is_array;
    e->a = body;
    return e;
}

/* The body of a list or array expression that starts with 'let': a block,
 * the let scoping over the items below it. */
static Expr *parse_compr_block(Parser *p, Expr *e, int col, bool is_array)
{
    e->kind = E_COMPR;
    e->op = is_array;
    e->a = parse_items(p, col);
    return e;
}

/* list  := '[' ']' | '[' stmt ((';' | NEWLINE) stmt)* [';'] ']'
 *        | '[' stmt '..' [stmt '..'] stmt ']'
 * array := the same between '[|' and '|]'
 * A list or array whose items hold a loop or a yield, or which starts with
 * 'let', is a comprehension (E_COMPR).  A list range is an E_RANGE; an
 * array range is an E_ARRAY made from one. */
static Expr *parse_sequence(Parser *p, Token *open, bool is_array)
{
    TokKind closer = is_array ? TK_RARRAY : TK_RBRACK;
    Expr *e = new_expr(p, is_array ? E_ARRAY : E_LIST, open);
    if (lay_raw(p)->kind == closer) {
        lay_next(p);
        return e;
    }
    int col = lay_raw(p)->col;
    LayoutSave s = lay_push(p, col);
    PtrVec items = {0};
    if (lay_raw(p)->kind == TK_LET) {
        parse_compr_block(p, e, col, is_array);
    } else {
        Expr *first = parse_stmt(p);
        if (lay_peek(p) == TK_DOTDOT) {
            /* [a .. b] or [a .. step .. b] */
            lay_next(p);
            Expr *r = is_array ? new_expr(p, E_RANGE, open) : e;
            r->kind = E_RANGE;
            r->a = first;
            Expr *second = parse_stmt(p);
            if (accept(p, TK_DOTDOT)) {
                r->b = second;
                r->c = parse_stmt(p);
            } else {
                r->c = second;
            }
            if (is_array)
                e->a = r;
        } else {
            vec_push(p, &items, first);
            parse_seq_rest(p, &items, col, closer);
        }
    }
    lay_pop(p, s);
    expect_closer(p, closer, open);
    if (items.n && !maybe_compr(p, e, &items, is_array)) {
        e->items = (Expr **)items.v;
        e->nitems = items.n;
    }
    return e;
}

/* index := '.[' expr ']' | '[' expr ']'   (the second with no space before
 * the '[': "f [1]" applies f to a list, "a[1]" indexes a, as in F# 6) */
static Expr *parse_index(Parser *p, Expr *e)
{
    Token *open = lay_raw(p);
    if (open->kind == TK_DOT)
        lay_next(p);
    open = lay_next(p);
    Expr *x = new_expr(p, E_INDEX, open);
    x->line = e->line;
    x->col = e->col;
    x->a = e;
    LayoutSave s = lay_push(p, lay_raw(p)->col);
    x->b = parse_expr(p);
    lay_pop(p, s);
    expect_closer(p, TK_RBRACK, open);
    return x;
}

static bool at_index(Parser *p)
{
    Token *t = lay_raw(p);
    if (t->kind == TK_DOT && !t->space_before && t[1].kind == TK_LBRACK)
        return true;
    return t->kind == TK_LBRACK && !t->space_before && !t->bol;
}


/* call_args := '(' ')' | '(' items ')'  -- the arguments of a method call
 * written right after its name, as in s.Substring(1, 2) */
static Expr *parse_call_args(Parser *p)
{
    Token *open = lay_next(p);
    Token *in = lay_raw(p);
    if (in->kind == TK_RPAREN) {
        lay_next(p);
        return new_expr(p, E_UNIT, open);
    }
    LayoutSave s = lay_push(p, in->col);
    Expr *e = parse_items(p, in->col);
    lay_pop(p, s);
    expect_closer(p, TK_RPAREN, open);
    return e;
}

/* fn applied to the call_args that follow it without a space */
static Expr *high_prec_app(Parser *p, Expr *fn, Token *at)
{
    PtrVec args = {0};
    vec_push(p, &args, parse_call_args(p));
    Expr *app = new_expr(p, E_APP, at);
    app->a = fn;
    app->items = (Expr **)args.v;
    app->nitems = args.n;
    return app;
}

/* Whether '(' ... ')' follows without a space, itself followed by '.Name'
 * without spaces: x.Trim().Length applies x.Trim before reading Length. */
static bool call_then_member(Parser *p)
{
    Token *t = lay_raw(p);
    if (t->kind != TK_LPAREN || t->space_before)
        return false;
    int depth = 0;
    for (;; t++) {
        if (t->kind == TK_EOF)
            return false;
        if (t->kind == TK_LPAREN)
            depth++;
        else if (t->kind == TK_RPAREN && --depth == 0)
            break;
    }
    return t[1].kind == TK_DOT && !t[1].space_before && t[2].kind == TK_IDENT &&
           !t[2].space_before;
}

/* postfix := (index | '.' Name [call_args] index*)*  -- field access,
 * method calls and indexing after a closing bracket, a call or a name:
 * (f x).Name.Other, s.Trim().Length, a.[i], a[i].Name */
static Expr *parse_postfix(Parser *p, Expr *e)
{
    while (at_index(p))
        e = parse_index(p, e);
    while (lay_raw(p)->kind == TK_DOT && !lay_raw(p)->space_before &&
           lay_raw(p)[1].kind == TK_IDENT) {
        Token *dot = lay_next(p);
        Token *n = lay_next(p);
        Expr *f = new_expr(p, E_FIELD, dot);
        f->a = e;
        f->str = n->text;
        e = f;
        if (lay_raw(p)->kind == TK_LPAREN && !lay_raw(p)->space_before)
            e = high_prec_app(p, e, dot);
        while (at_index(p))
            e = parse_index(p, e);
    }
    return e;
}

/* record := '{' inits '}' | '{' or_expr 'with' inits '}'
 * inits  := label '=' stmt ((';' | NEWLINE) label '=' stmt)* [';']
 * The first form builds a record, the second copies one and changes the
 * given fields. */
static Expr *parse_record(Parser *p, Token *open)
{
    Expr *e = new_expr(p, E_RECORD, open);
    Token *first = lay_raw(p);
    if (first->kind == TK_RBRACE)
        unexpected(p, "a field name");
    bool literal = first->kind == TK_IDENT &&
                   (first[1].kind == TK_EQ ||
                    (first[1].kind == TK_DOT && first[2].kind == TK_IDENT && first[3].kind == TK_EQ));
    if (!literal) {
        LayoutSave s = lay_push(p, first->col);
        e->a = parse_or(p);
        lay_pop(p, s);
        Token *w = lay_raw(p);
        if (w->kind != TK_WITH)
            unexpected(p, "'with' or a field assignment in a record expression");
        lay_next(p);
        if (lay_raw(p)->kind == TK_RBRACE)
            unexpected(p, "a field name after 'with'");
    }
    PtrVec names = {0}, items = {0};
    int col = lay_raw(p)->col;
    LayoutSave s = lay_push(p, col);
    for (;;) {
        vec_push(p, &names, (void *)parse_field_label(p));
        expect(p, TK_EQ);
        vec_push(p, &items, parse_stmt(p));
        if (!item_follows(p, col, TK_RBRACE))
            break;
    }
    lay_pop(p, s);
    expect_closer(p, TK_RBRACE, open);
    e->names = (const char **)names.v;
    e->items = (Expr **)items.v;
    e->nitems = items.n;
    return e;
}

static bool is_operator_value(TokKind k)
{
    switch (k) {
    case TK_PLUS: case TK_MINUS: case TK_STAR: case TK_SLASH: case TK_PERCENT: case TK_STARSTAR:
    case TK_EQ: case TK_NE: case TK_LT: case TK_GT: case TK_LE: case TK_GE: case TK_COLONCOLON:
    case TK_AT: case TK_CARET: case TK_PIPE: case TK_BACKPIPE: case TK_COMPOSE:
    case TK_BACKCOMPOSE: case TK_AMPAMP: case TK_BARBAR:
        return true;
    default:
        return false;
    }
}

static Expr *parse_atom(Parser *p)
{
    Token *t = lay_raw(p);
    switch (lay_peek(p)) {
    case TK_INT: {
        lay_next(p);
        Expr *e = new_expr(p, E_INT, t);
        e->i = t->i;
        return e;
    }
    case TK_FLOAT: {
        lay_next(p);
        Expr *e = new_expr(p, E_FLOAT, t);
        e->f = t->f;
        return e;
    }
    case TK_STRING: {
        lay_next(p);
        Expr *e = new_expr(p, E_STRING, t);
        e->str = t->text;
        e->str_len = t->str_len;
        return parse_postfix(p, e);
    }
    case TK_CHAR: {
        lay_next(p);
        Expr *e = new_expr(p, E_CHAR, t);
        e->i = t->i;
        return e;
    }
    case TK_TRUE:
    case TK_FALSE: {
        lay_next(p);
        Expr *e = new_expr(p, E_BOOL, t);
        e->i = t->kind == TK_TRUE;
        return e;
    }
    case TK_IDENT: {
        if (strcmp(t->text, "seq") == 0 && t[1].kind == TK_LBRACE &&
            !(t[2].kind == TK_IDENT && t[3].kind == TK_EQ)) /* not seq applied to a record */
            parse_error_at(p, t->line, t->col,
                           "sequence expressions (seq { ... }) are not supported: use a list "
                           "[ ... ] or an array [| ... |]");
        lay_next(p);
        Expr *e = new_expr(p, E_VAR, t);
        /* qualified name: A.b.c with no spaces around the dots; the
         * compiler splits it into a value and field accesses */
        e->str = parse_dotted_name(p, t);
        if (call_then_member(p))
            return parse_postfix(p, high_prec_app(p, e, t));
        if (at_index(p))
            return parse_postfix(p, e);
        return e;
    }
    case TK_LBRACE:
        lay_next(p);
        return parse_postfix(p, parse_record(p, t));
    case TK_LPAREN: {
        lay_next(p);
        Token *in = lay_raw(p);
        if (in->kind == TK_RPAREN) {
            lay_next(p);
            return new_expr(p, E_UNIT, t);
        }
        if (is_operator_value(in->kind) && in[1].kind == TK_RPAREN) {
            lay_next(p);
            lay_next(p);
            Expr *e = new_expr(p, E_OPFN, in);
            e->op = in->kind == TK_CARET ? TK_PLUS : in->kind;
            return e;
        }
        LayoutSave s = lay_push(p, in->col);
        Expr *e = parse_items(p, in->col);
        if (accept(p, TK_COLON))
            skip_type(p);
        lay_pop(p, s);
        expect_closer(p, TK_RPAREN, t);
        return parse_postfix(p, e);
    }
    case TK_BEGIN: {
        lay_next(p);
        Token *in = lay_raw(p);
        LayoutSave s = lay_push(p, in->col);
        Expr *e = parse_items(p, in->col);
        lay_pop(p, s);
        expect_closer(p, TK_END, t);
        return e;
    }
    case TK_LBRACK:
        lay_next(p);
        return parse_sequence(p, t, false);
    case TK_LARRAY:
        lay_next(p);
        return parse_postfix(p, parse_sequence(p, t, true));
    case TK_LET:
        return parse_let(p);
    case TK_FUN:
        return parse_fun(p);
    case TK_FUNCTION: {
        lay_next(p);
        Expr *e = new_expr(p, E_FUNCTION, t);
        parse_arms(p, e, t);
        return e;
    }
    case TK_MATCH:
        return parse_match(p);
    case TK_IF:
        return parse_if(p);
    case TK_WHILE:
        return parse_while(p);
    case TK_FOR:
        return parse_for(p);
    case TK_TRY:
        return parse_try(p);
    case TK_YIELD: {
        /* yield := 'yield' stmt | 'yield!' stmt */
        lay_next(p);
        Expr *e = new_expr(p, E_YIELD, t);
        Token *bang = lay_raw(p);
        if (bang->kind == TK_BANG && !bang->space_before) {
            lay_next(p);
            e->op = 1;
        }
        e->a = parse_header_expr(p);
        return e;
    }
    default:
        unexpected(p, "an expression");
    }
}

/* --------------------------------------------------------------- types --- */

/* record_body := '{' field_decl ((';' | NEWLINE) field_decl)* [';'] '}'
 * field_decl  := ['mutable'] name ':' type */
static void parse_record_decl(Parser *p, TypeDef *td)
{
    Token *open = lay_next(p);
    PtrVec names = {0}, at = {0};
    if (lay_raw(p)->kind == TK_RBRACE)
        unexpected(p, "a field declaration");
    int col = lay_raw(p)->col;
    LayoutSave s = lay_push(p, col);
    for (;;) {
        accept(p, TK_MUTABLE);
        Token *n = expect(p, TK_IDENT);
        vec_push(p, &names, (void *)n->text);
        vec_push(p, &at, n);
        expect(p, TK_COLON);
        skip_type(p);
        if (!item_follows(p, col, TK_RBRACE))
            break;
    }
    lay_pop(p, s);
    expect_closer(p, TK_RBRACE, open);
    td->kind = TD_RECORD;
    td->fields = (const char **)names.v;
    td->nfields = names.n;
    td->field_lines = parse_alloc(p, (size_t)names.n * sizeof(int));
    td->field_cols = parse_alloc(p, (size_t)names.n * sizeof(int));
    for (int i = 0; i < names.n; i++) {
        td->field_lines[i] = ((Token *)at.v[i])->line;
        td->field_cols[i] = ((Token *)at.v[i])->col;
    }
}

/* case       := Name ['of' case_field ('*' case_field)*]
 * case_field := [name ':'] type_app   (a function type needs parentheses) */
static void parse_union_case(Parser *p, UnionCase *uc)
{
    Token *n = lay_raw(p);
    if (lay_peek(p) != TK_IDENT)
        unexpected(p, "a union case name");
    lay_next(p);
    uc->name = n->text;
    uc->line = n->line;
    uc->col = n->col;
    if (!accept(p, TK_OF))
        return;
    PtrVec fields = {0};
    for (;;) {
        const char *fname = NULL;
        if (lay_peek(p) == TK_IDENT && lay_raw(p)[1].kind == TK_COLON) {
            fname = lay_next(p)->text;
            lay_next(p);
        }
        skip_type_app(p);
        if (accept(p, TK_ARROW))
            skip_type(p);
        vec_push(p, &fields, (void *)fname);
        if (!accept(p, TK_STAR))
            break;
    }
    uc->fields = (const char **)fields.v;
    uc->nfields = fields.n;
}

/* union_body := ['|'] case ('|' case)* */
static void parse_union_decl(Parser *p, TypeDef *td)
{
    int cap = 4;
    td->kind = TD_UNION;
    td->cases = parse_alloc(p, (size_t)cap * sizeof(UnionCase));
    accept(p, TK_BAR);
    for (;;) {
        if (td->ncases == cap) {
            UnionCase *nc = parse_alloc(p, (size_t)cap * 2 * sizeof(UnionCase));
            memcpy(nc, td->cases, (size_t)cap * sizeof(UnionCase));
            td->cases = nc;
            cap *= 2;
        }
        parse_union_case(p, &td->cases[td->ncases++]);
        if (!accept(p, TK_BAR))
            break;
    }
}

/* typedef := name ['<' typaram (',' typaram)* '>'] '=' (record_body | union_body | type)
 * A body that is one name without 'of' or '|' is an abbreviation, as in F#. */
static void parse_typedef(Parser *p, TypeDef *td)
{
    Token *n = lay_raw(p);
    if (lay_peek(p) != TK_IDENT || n->text[0] == '\'')
        unexpected(p, "a type name");
    lay_next(p);
    td->name = n->text;
    td->line = n->line;
    td->col = n->col;
    if (lay_peek(p) == TK_LT && !lay_raw(p)->space_before)
        skip_type_args(p);
    expect(p, TK_EQ);
    Token *t = lay_raw(p);
    TokKind k = lay_peek(p);
    if (k == TK_LBRACE) {
        parse_record_decl(p, td);
    } else if (k == TK_BAR ||
               (k == TK_IDENT && (t[1].kind == TK_OF || (t[1].kind == TK_BAR && !t[1].bol)))) {
        parse_union_decl(p, td);
    } else {
        td->kind = TD_ABBREV;
        skip_type(p);
    }
}

/* typedecl := 'type' typedef ('and' typedef)* */
static Expr *parse_type_decl(Parser *p)
{
    Token *t = lay_next(p);
    Expr *e = new_expr(p, E_TYPE, t);
    int cap = 2;
    e->types = parse_alloc(p, (size_t)cap * sizeof(TypeDef));
    for (;;) {
        if (e->ntypes == cap) {
            TypeDef *nt = parse_alloc(p, (size_t)cap * 2 * sizeof(TypeDef));
            memcpy(nt, e->types, (size_t)cap * sizeof(TypeDef));
            e->types = nt;
            cap *= 2;
        }
        parse_typedef(p, &e->types[e->ntypes++]);
        Token *r = lay_raw(p);
        if (r->kind == TK_AND && (!r->bol || r->col >= p->ctx_col)) {
            lay_next(p);
            continue;
        }
        break;
    }
    return e;
}

/* ------------------------------------------------------------- modules --- */

static Expr *parse_decl(Parser *p);

/* A module path after 'module' or 'open': Name ('.' Name)* */
static Token *parse_module_path(Parser *p, const char **out)
{
    Token *n = lay_raw(p);
    if (lay_peek(p) != TK_IDENT)
        unexpected(p, "a module name");
    lay_next(p);
    *out = parse_dotted_name(p, n);
    return n;
}

/* One declaration, which must start at column col (its neighbours, named
 * in the error, line up there) and end its line. */
static Expr *parse_decl_at(Parser *p, int col, const char *neighbours)
{
    Token *t = lay_raw(p);
    if (t->col != col)
        parse_error_at(p, t->line, t->col,
                       t->col > col ? "unexpected %s: this line is indented more than the %s"
                                    : "unexpected %s: offside of the %s",
                       tok_desc(p, t), neighbours);
    LayoutSave s = lay_push(p, col);
    int saved_block = p->block_col;
    p->block_col = col;
    Expr *e = parse_decl(p);
    p->block_col = saved_block;
    lay_pop(p, s);
    Token *after = lay_raw(p);
    if (after->kind != TK_EOF && !after->bol)
        parse_error_at(p, after->line, after->col, "unexpected %s after the end of %s",
                       tok_desc(p, after),
                       e->kind == E_LET      ? "the 'let'"
                       : e->kind == E_TYPE   ? "the type declaration"
                       : e->kind == E_MODULE ? "the module"
                       : e->kind == E_OPEN   ? "the 'open'"
                                             : "the expression");
    return e;
}

/* Declarations lined up at the column of the current token, up to the
 * first line left of it (or the end of input). */
static void parse_decls(Parser *p, PtrVec *items)
{
    int col = lay_raw(p)->col;
    while (lay_raw(p)->kind != TK_EOF) {
        Token *t = lay_raw(p);
        if (t->bol && t->col < col)
            break;
        vec_push(p, items, parse_decl_at(p, col, "declarations before it"));
    }
}

/* module := 'module' Name '=' NEWLINE decls     (indented right of 'module') */
static Expr *parse_module(Parser *p)
{
    Token *m = lay_next(p);
    Expr *e = new_expr(p, E_MODULE, m);
    parse_module_path(p, &e->str);
    if (strchr(e->str, '.'))
        parse_error_at(p, m->line, m->col, "a nested module is named by one name, not '%s'",
                       e->str);
    expect(p, TK_EQ);
    Token *first = lay_raw(p);
    if (first->kind == TK_EOF || !first->bol || first->col <= m->col)
        parse_error_at(p, first->line, first->col,
                       "the body of module '%s' must start on the next line, indented more "
                       "than 'module'",
                       e->str);
    PtrVec items = {0};
    LayoutSave s = lay_push(p, first->col);
    parse_decls(p, &items);
    lay_pop(p, s);
    e->items = (Expr **)items.v;
    e->nitems = items.n;
    return e;
}

/* decl := let | typedecl | module | 'open' path | expr */
static Expr *parse_decl(Parser *p)
{
    Token *t = lay_raw(p);
    Expr *e;
    if (t->kind == TK_LET) {
        e = parse_let(p);
        if (e->a) {
            /* verbose "let ... in" at top level is an expression */
            while (lay_peek(p) == TK_SEMI)
                lay_next(p);
        }
    } else if (t->kind == TK_HASH) {
        parse_error_at(p, t->line, t->col, "directives ('#...') are not supported");
    } else if (t->kind == TK_TYPE) {
        e = parse_type_decl(p);
    } else if (t->kind == TK_IDENT && strcmp(t->text, "exception") == 0 &&
               t[1].kind == TK_IDENT && !t[1].bol) {
        e = parse_exception_decl(p);
    } else if (t->kind == TK_MODULE) {
        e = parse_module(p);
    } else if (t->kind == TK_OPEN) {
        lay_next(p);
        e = new_expr(p, E_OPEN, t);
        Token *n = parse_module_path(p, &e->str);
        e->line = n->line;
        e->col = n->col;
    } else {
        e = parse_expr(p);
    }
    return e;
}

/* ------------------------------------------------------------- program --- */

/* program := ['module' Path NEWLINE] decls
 * A first line `module Name` without '=' makes the whole file that module. */
int parse_program(Parser *p, Arena *arena, Token *toks, size_t ntoks, Program *out)
{
    memset(p, 0, sizeof *p);
    p->arena = arena;
    p->toks = toks;
    p->ntoks = ntoks;
    p->ctx_col = 0;
    memset(out, 0, sizeof *out);
    if (setjmp(p->fail))
        return p->nomem ? -2 : -1;
    PtrVec items = {0};
    Expr *file_module = NULL;
    Token *first = lay_raw(p);
    if (first->kind == TK_MODULE) {
        size_t after = p->pos + 2;
        while (after + 1 < p->ntoks && p->toks[after].kind == TK_DOT &&
               p->toks[after + 1].kind == TK_IDENT)
            after += 2;
        if (after < p->ntoks && p->toks[after].kind != TK_EQ) {
            lay_next(p);
            file_module = new_expr(p, E_MODULE, first);
            parse_module_path(p, &file_module->str);
            Token *next = lay_raw(p);
            if (next->kind != TK_EOF && !next->bol)
                parse_error_at(p, next->line, next->col, "unexpected %s after the module name",
                               tok_desc(p, next));
            first = lay_raw(p);
        }
    }
    int col = first->col;
    while (lay_raw(p)->kind != TK_EOF)
        vec_push(p, &items, parse_decl_at(p, col, "top-level items"));
    if (file_module) {
        file_module->items = (Expr **)items.v;
        file_module->nitems = items.n;
        items.v = parse_alloc(p, sizeof(void *));
        items.v[0] = file_module;
        items.n = 1;
    }
    out->items = (Expr **)items.v;
    out->nitems = items.n;
    return 0;
}
