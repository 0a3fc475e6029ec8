/*
 * lang/ast.h - the syntax tree the parser builds and the compiler walks.
 *
 * Nodes live in the compilation's arena and die with it.  Every node keeps
 * the line and column of the token that starts it, for diagnostics and the
 * chunk's line table.  Compiling thread only.
 */
#ifndef FSRS_LANG_AST_H
#define FSRS_LANG_AST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct Expr Expr;
typedef struct Pat Pat;
struct Shape;

/* ------------------------------------------------------------ patterns --- */

typedef enum PatKind {
    P_WILD,   /* _ */
    P_VAR,    /* x */
    P_INT,    /* 3, -3 */
    P_FLOAT,
    P_STRING,
    P_CHAR,
    P_BOOL,
    P_UNIT,   /* () */
    P_TUPLE,  /* p, q */
    P_NIL,    /* [] */
    P_CONS,   /* p :: q */
    P_LIST,   /* [p; q] */
    P_OR,     /* p | q */
    P_AS,     /* p as x */
    P_RECORD, /* { X = p; Y = q } (any subset of the fields) */
    P_CASE,   /* Name or Name p: a union case (the compiler turns a P_VAR
                 naming a case into a P_CASE) */
    P_ARRAY,  /* [| p; q |] */
} PatKind;

struct Pat {
    PatKind kind;
    int line, col;
    const char *name;   /* P_VAR, P_AS, P_CASE (possibly qualified "T.Case") */
    const char **names; /* P_RECORD: field names, one per item */
    int64_t i;          /* P_INT, P_CHAR, P_BOOL */
    double f;           /* P_FLOAT */
    const char *str;    /* P_STRING */
    size_t str_len;
    Pat **items;        /* P_TUPLE, P_LIST, P_ARRAY, P_RECORD: items; P_CONS/P_OR/P_AS:
                           [0],[1]; P_CASE: the argument, if any, in [0] */
    int nitems;
    const struct Shape *shape; /* P_CASE, P_RECORD: set by the compiler */
};

/* --------------------------------------------------------- expressions --- */

typedef enum ExprKind {
    E_INT, E_FLOAT, E_STRING, E_CHAR, E_BOOL, E_UNIT,
    E_VAR,      /* name (possibly qualified "A.b") */
    E_APP,      /* fn args... (curried application, flattened) */
    E_LAMBDA,   /* fun params -> body */
    E_LET,      /* let [rec] bindings in body (body NULL at top level) */
    E_IF,       /* if a then b [else c] */
    E_MATCH,    /* match a with arms */
    E_FUNCTION, /* function arms  == fun x -> match x with arms */
    E_TUPLE,
    E_LIST,     /* [a; b; c] */
    E_RANGE,    /* [a .. b] / [a .. step .. b] */
    E_BINOP,    /* a op b (arithmetic, comparison, ::, @) */
    E_AND,      /* a && b */
    E_OR,       /* a || b */
    E_NEG,      /* -a */
    E_SEQ,      /* a; b */
    E_OPFN,     /* (+) as a function value */
    E_COMPOSE,  /* f >> g (fwd) or f << g */
    E_RECORD,   /* { X = a; Y = b } or { r with X = a } (r in a) */
    E_FIELD,    /* a.Name (a.B.C on a name stays one qualified E_VAR) */
    E_TYPE,     /* type declarations joined by 'and' (top level only) */
    E_CONSTRUCT,/* made by the compiler: a value of `shape` from items */
    E_ASSIGN,   /* name <- a (a `let mutable` name) */
    E_WHILE,    /* while a do d */
    E_FOR,      /* for str = a to/downto c do d (op TK_TO or TK_DOWNTO) */
    E_FOR_IN,   /* for params[0] in a do d; a range a .. [b ..] c when op is
                   TK_DOTDOT */
    E_ARRAY,    /* [| a; b; c |] */
    E_INDEX,    /* a.[b] or a[b] */
    E_SETINDEX, /* a.[b] <- c or a[b] <- c */
    E_MODULE,   /* module str = items (top level or inside a module) */
    E_OPEN,     /* open str (a module path) */
    E_TRY,      /* try a with arms, or try a finally b */
    E_YIELD,    /* yield a (op 0), yield! a (op 1), or the a of `for p in c -> a`
                   (op 2); only in the body of an E_COMPR */
    E_COMPR,    /* [ a ] or [| a |] (op 1) where a is a comprehension body:
                   loops, yields, if/match/let/sequences around them */
} ExprKind;

/* ------------------------------------------------------------- types --- */

typedef struct UnionCase {
    const char *name;
    const char **fields;   /* nfields names; NULL where the field is unnamed */
    int nfields;
    int line, col;
} UnionCase;

typedef enum TypeDefKind {
    TD_ABBREV,   /* type Name = some type: parsed and ignored */
    TD_RECORD,
    TD_UNION,
} TypeDefKind;

typedef struct TypeDef {
    TypeDefKind kind;
    const char *name;
    int line, col;
    const char **fields;   /* TD_RECORD */
    int *field_lines, *field_cols;
    int nfields;
    UnionCase *cases;      /* TD_UNION */
    int ncases;
    bool is_exception;     /* `exception Name [of ...]`: one case of type exn */
} TypeDef;

typedef struct Binding {
    Pat *pat;        /* what is bound (P_VAR for functions) */
    Expr *value;     /* for functions: an E_LAMBDA */
    bool is_fun;     /* let f x y = ... */
    bool is_mutable; /* let mutable x = ... */
    int line, col;
} Binding;

typedef struct MatchArm {
    Pat *pat;
    Expr *guard;     /* or NULL */
    Expr *body;
} MatchArm;

struct Expr {
    ExprKind kind;
    int line, col;
    int op;               /* E_BINOP: TokKind of the operator; E_OPFN too;
                             E_COMPOSE: 1 forward (>>), 0 backward (<<) */
    int64_t i;            /* E_INT, E_CHAR, E_BOOL */
    double f;             /* E_FLOAT */
    const char *str;      /* E_STRING bytes, E_VAR name, E_FIELD field name */
    size_t str_len;
    Expr *a, *b, *c;      /* operands; E_IF cond/then/else; E_APP fn in a;
                             E_RANGE from a, step b (or NULL), to c */
    Expr *d;              /* E_WHILE, E_FOR, E_FOR_IN: the loop body */
    Expr **items;         /* E_APP args, E_TUPLE, E_LIST, E_ARRAY items,
                             E_RECORD and E_CONSTRUCT field values,
                             E_MODULE declarations */
    const char **names;   /* E_RECORD field names, one per item */
    int nitems;
    Pat **params;         /* E_LAMBDA */
    int nparams;
    Binding *binds;       /* E_LET */
    int nbinds;
    bool is_rec;          /* E_LET */
    MatchArm *arms;       /* E_MATCH, E_FUNCTION */
    int narms;
    const char *fn_name;  /* E_LAMBDA: name it is bound to, for traces */
    TypeDef *types;       /* E_TYPE */
    int ntypes;
    const struct Shape *shape; /* E_CONSTRUCT */
};

#endif
