/*
 * lang/lex.c - the Mini-F# lexer.
 *
 * Turns a source buffer into tokens: // and nested (* *) comments, 64-bit
 * ints (decimal, 0x/0o/0b, '_' separators), floats, strings with escapes,
 * verbatim @"..." and triple-quoted strings, chars, identifiers (with ' after
 * the first character), keywords and operators (longest known match).
 * Tabs in indentation are rejected here, since the offside rule cannot give
 * them a width.  Compiling thread only.
 */
#include "lang/lex.h"

#include "util/tcache.h"
#include "util/utf8.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct Lexer {
    Arena *arena;
    const char *src, *p, *end;
    int line;
    const char *line_start;
    bool at_bol;      /* no token yet on this line */
    bool space;       /* whitespace seen since the last token */
    Token *toks;
    size_t n, cap;
    LexResult *r;
} Lexer;

#define LEX_FAIL (-1)
#define LEX_NOMEM (-2)

static int col_of(const Lexer *L, const char *at) { return (int)(at - L->line_start) + 1; }

static int lex_error(Lexer *L, const char *at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(L->r->err_msg, sizeof L->r->err_msg, fmt, ap);
    va_end(ap);
    L->r->err_line = L->line;
    L->r->err_col = col_of(L, at);
    return LEX_FAIL;
}

static Token *push_tok(Lexer *L, TokKind k, const char *start, int line, int col)
{
    if (L->n == L->cap) {
        /* not the arena: a big array grows in place (realloc), or comes
         * from this thread's cache of blocks (tcache.h) */
        size_t cap = L->cap ? L->cap * 2 : 1024;
        const Mem *mem = L->arena->mem;
        Token *t = NULL;
        size_t got = 0;
        if (L->arena->cached && (t = tcache_take(cap * sizeof(Token), &got))) {
            if (L->n)
                memcpy(t, L->toks, L->n * sizeof(Token));
            if (L->toks)
                tcache_give(L->toks, L->cap * sizeof(Token));
            cap = got / sizeof(Token);
        } else if (!(t = mem_realloc(mem, L->toks, L->cap * sizeof(Token), cap * sizeof(Token)))) {
            return NULL;
        }
        L->toks = t;
        L->cap = cap;
        L->r->toks = t;
        L->r->cap = cap;
    }
    Token *t = &L->toks[L->n++];
    memset(t, 0, sizeof *t);
    t->kind = (uint8_t)k;
    t->line = line;
    t->col = col;
    t->bol = L->at_bol;
    t->space_before = L->space || L->at_bol;
    (void)start;
    L->at_bol = false;
    L->space = false;
    return t;
}

static void newline(Lexer *L, const char *after)
{
    L->line++;
    L->line_start = after;
    L->at_bol = true;
}

/* ------------------------------------------------------------ keywords --- */

static const struct {
    const char *word;
    TokKind kind;
} keywords[] = {
    {"let", TK_LET},       {"rec", TK_REC},         {"and", TK_AND},       {"in", TK_IN},
    {"fun", TK_FUN},       {"function", TK_FUNCTION}, {"if", TK_IF},       {"then", TK_THEN},
    {"elif", TK_ELIF},     {"else", TK_ELSE},       {"match", TK_MATCH},   {"with", TK_WITH},
    {"when", TK_WHEN},     {"true", TK_TRUE},       {"false", TK_FALSE},   {"type", TK_TYPE},
    {"of", TK_OF},         {"mutable", TK_MUTABLE}, {"module", TK_MODULE}, {"open", TK_OPEN},
    {"for", TK_FOR},       {"to", TK_TO},           {"downto", TK_DOWNTO}, {"while", TK_WHILE},
    {"do", TK_DO},         {"done", TK_DONE},       {"begin", TK_BEGIN},   {"end", TK_END},
    {"try", TK_TRY},       {"finally", TK_FINALLY}, {"as", TK_AS},         {"null", TK_NULL},
    {"yield", TK_YIELD},   {"lazy", TK_LAZY},       {"assert", TK_ASSERT},
};

/* The keyword spelled by s[0..n), or TK_IDENT: one switch on the first
 * letter, then a length check and memcmp (this runs for every
 * identifier, so no scan of the table above). */
static TokKind keyword_kind(const char *s, size_t n)
{
#define KW(word, kind)                                                                     \
    if (n == sizeof word - 1 && memcmp(s, word, n) == 0)                                   \
        return kind;
    if (n < 2 || n > 8)
        return TK_IDENT;
    switch (s[0]) {
    case 'a': KW("and", TK_AND) KW("as", TK_AS) KW("assert", TK_ASSERT) break;
    case 'b': KW("begin", TK_BEGIN) break;
    case 'd': KW("do", TK_DO) KW("done", TK_DONE) KW("downto", TK_DOWNTO) break;
    case 'e': KW("else", TK_ELSE) KW("elif", TK_ELIF) KW("end", TK_END) break;
    case 'f': KW("fun", TK_FUN) KW("false", TK_FALSE) KW("for", TK_FOR)
              KW("function", TK_FUNCTION) KW("finally", TK_FINALLY) break;
    case 'i': KW("if", TK_IF) KW("in", TK_IN) break;
    case 'l': KW("let", TK_LET) KW("lazy", TK_LAZY) break;
    case 'm': KW("match", TK_MATCH) KW("mutable", TK_MUTABLE) KW("module", TK_MODULE) break;
    case 'n': KW("null", TK_NULL) break;
    case 'o': KW("of", TK_OF) KW("open", TK_OPEN) break;
    case 'r': KW("rec", TK_REC) break;
    case 't': KW("then", TK_THEN) KW("true", TK_TRUE) KW("type", TK_TYPE) KW("to", TK_TO)
              KW("try", TK_TRY) break;
    case 'w': KW("with", TK_WITH) KW("when", TK_WHEN) KW("while", TK_WHILE) break;
    case 'y': KW("yield", TK_YIELD) break;
    default: break;
    }
    return TK_IDENT;
#undef KW
}

/* Operators, longest first within a shared prefix is not needed: we pick the
 * longest entry that prefixes the run of operator characters. */
static const struct {
    const char *op;
    TokKind kind;
} operators[] = {
    {"->", TK_ARROW},     {"<-", TK_LARROW},   {"::", TK_COLONCOLON}, {":=", TK_COLONEQ},
    {":?", TK_COLONQ},
    {":>", TK_COLONGT},   {":", TK_COLON},     {"..", TK_DOTDOT},     {".", TK_DOT},
    {"|]", TK_RARRAY},    {"||", TK_BARBAR},   {"|>", TK_PIPE},       {"|", TK_BAR},
    {"<|", TK_BACKPIPE},  {"<<", TK_BACKCOMPOSE}, {">>", TK_COMPOSE}, {"<>", TK_NE},
    {"<=", TK_LE},        {">=", TK_GE},       {"<", TK_LT},          {">", TK_GT},
    {"=", TK_EQ},         {"+", TK_PLUS},      {"-", TK_MINUS},       {"**", TK_STARSTAR},
    {"*", TK_STAR},       {"/", TK_SLASH},     {"%", TK_PERCENT},     {"&&", TK_AMPAMP},
    {"@", TK_AT},         {"^", TK_CARET},     {"!", TK_BANG},
};

/* The longest operator at the start of a run of n operator characters:
 * its length (0: none) and kind.  A switch rather than a scan of the
 * table above, which stays the one place that spells them for messages. */
static size_t operator_at(const char *p, size_t n, TokKind *kind)
{
    char d = n > 1 ? p[1] : '\0';
#define OP2(second, k)                                                                     \
    if (d == second) {                                                             \
        *kind = k;                                                                         \
        return 2;                                                                          \
    }
#define OP1(k)                                                                             \
    *kind = k;                                                                             \
    return 1;
    switch (p[0]) {
    case '-': OP2('>', TK_ARROW) OP1(TK_MINUS)
    case '<':
        OP2('-', TK_LARROW) OP2('|', TK_BACKPIPE) OP2('<', TK_BACKCOMPOSE) OP2('>', TK_NE)
        OP2('=', TK_LE) OP1(TK_LT)
    case ':':
        OP2(':', TK_COLONCOLON) OP2('=', TK_COLONEQ) OP2('?', TK_COLONQ) OP2('>', TK_COLONGT)
        OP1(TK_COLON)
    case '.': OP2('.', TK_DOTDOT) OP1(TK_DOT)
    case '|': OP2('|', TK_BARBAR) OP2('>', TK_PIPE) OP1(TK_BAR)
    case '>': OP2('>', TK_COMPOSE) OP2('=', TK_GE) OP1(TK_GT)
    case '*': OP2('*', TK_STARSTAR) OP1(TK_STAR)
    case '&': OP2('&', TK_AMPAMP) return 0;
    case '=': OP1(TK_EQ)
    case '+': OP1(TK_PLUS)
    case '/': OP1(TK_SLASH)
    case '%': OP1(TK_PERCENT)
    case '@': OP1(TK_AT)
    case '^': OP1(TK_CARET)
    case '!': OP1(TK_BANG)
    default: return 0;
    }
#undef OP1
#undef OP2
}

static bool is_op_char(char c)
{
    switch (c) {
    case '!': case '%': case '&': case '*': case '+': case '-': case '.': case '/': case '<':
    case '=': case '>': case '?': case '@': case '^': case '|': case '~': case ':': case '$':
        return true;
    default:
        return false;
    }
}
static bool is_ident_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (unsigned char)c >= 0x80;
}
static bool is_ident_char(char c) { return is_ident_start(c) || (c >= '0' && c <= '9') || c == '\''; }
static bool is_digit(char c) { return c >= '0' && c <= '9'; }

const char *lex_kind_name(TokKind k)
{
    switch (k) {
    case TK_EOF: return "end of file";
    case TK_INT: return "integer literal";
    case TK_FLOAT: return "float literal";
    case TK_STRING: return "string literal";
    case TK_CHAR: return "char literal";
    case TK_IDENT: return "identifier";
    case TK_LPAREN: return "'('";
    case TK_RPAREN: return "')'";
    case TK_LBRACK: return "'['";
    case TK_RBRACK: return "']'";
    case TK_LARRAY: return "'[|'";
    case TK_RARRAY: return "'|]'";
    case TK_LBRACE: return "'{'";
    case TK_RBRACE: return "'}'";
    case TK_COMMA: return "','";
    case TK_SEMI: return "';'";
    case TK_UNDERSCORE: return "'_'";
    case TK_HASH: return "'#'";
    default: break;
    }
    for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++)
        if (keywords[i].kind == k)
            return keywords[i].word;
    for (size_t i = 0; i < sizeof operators / sizeof operators[0]; i++)
        if (operators[i].kind == k)
            return operators[i].op;
    return "token";
}

/* ------------------------------------------------------------- strings --- */

static int hex_val(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decode one escape sequence at L->p (just after the backslash) into out.
 * Returns bytes written, or -1 after reporting an error. */
static int lex_escape(Lexer *L, const char *bs, char *out)
{
    char c = *L->p;
    switch (c) {
    case 'n': L->p++; out[0] = '\n'; return 1;
    case 't': L->p++; out[0] = '\t'; return 1;
    case 'r': L->p++; out[0] = '\r'; return 1;
    case 'b': L->p++; out[0] = '\b'; return 1;
    case 'a': L->p++; out[0] = '\a'; return 1;
    case 'f': L->p++; out[0] = '\f'; return 1;
    case 'v': L->p++; out[0] = '\v'; return 1;
    case '\\': L->p++; out[0] = '\\'; return 1;
    case '"': L->p++; out[0] = '"'; return 1;
    case '\'': L->p++; out[0] = '\''; return 1;
    case '0':
        if (!(is_digit(L->p[1]) && is_digit(L->p[2]))) {
            L->p++;
            out[0] = '\0';
            return 1;
        }
        /* \0dd is a trigraph, like \1dd */
        goto trigraph;
    case '1': case '2': case '3': case '4': case '5': case '6': case '7': case '8': case '9':
    trigraph:
        if (L->end - L->p >= 3 && is_digit(L->p[1]) && is_digit(L->p[2])) {
            int v = (L->p[0] - '0') * 100 + (L->p[1] - '0') * 10 + (L->p[2] - '0');
            if (v > 255)
                return lex_error(L, bs, "escape '\\%.3s' is out of range", L->p);
            L->p += 3;
            return utf8_encode(out, (uint32_t)v);
        }
        return lex_error(L, bs, "invalid escape sequence '\\%c'", c);
    case 'u':
    case 'U': {
        int n = c == 'u' ? 4 : 8;
        uint32_t cp = 0;
        for (int i = 1; i <= n; i++) {
            int h = L->p + i < L->end ? hex_val(L->p[i]) : -1;
            if (h < 0)
                return lex_error(L, bs, "'\\%c' needs %d hex digits", c, n);
            cp = cp * 16 + (uint32_t)h;
        }
        if (cp > 0x10FFFF)
            return lex_error(L, bs, "code point out of range in '\\%c' escape", c);
        L->p += n + 1;
        return utf8_encode(out, cp);
    }
    default:
        /* F# keeps unknown escapes literally ("\d" is backslash, d). */
        out[0] = '\\';
        return 1;
    }
}

static int lex_string(Lexer *L, Token *t, const char *start)
{
    bool verbatim = false, triple = false;
    int start_line = L->line, start_col = col_of(L, start);
    if (*L->p == '@') {
        verbatim = true;
        L->p++;
    }
    if (L->end - L->p >= 3 && memcmp(L->p, "\"\"\"", 3) == 0) {
        triple = true;
        L->p += 3;
    } else {
        L->p++;
    }
    /* Decoded text is never longer than the source text. */
    size_t cap = (size_t)(L->end - L->p) + 4;
    char *buf = arena_alloc(L->arena, cap), *o = buf;
    if (!buf)
        return LEX_NOMEM;
    for (;;) {
        if (L->p >= L->end) {
            lex_error(L, start, "unterminated string literal");
            L->r->err_line = start_line;
            L->r->err_col = start_col;
            return LEX_FAIL;
        }
        char c = *L->p;
        if (triple) {
            if (L->end - L->p >= 3 && memcmp(L->p, "\"\"\"", 3) == 0) {
                L->p += 3;
                break;
            }
        } else if (c == '"') {
            if (verbatim && L->p + 1 < L->end && L->p[1] == '"') {
                *o++ = '"';
                L->p += 2;
                continue;
            }
            L->p++;
            break;
        }
        if (c == '\n') {
            *o++ = c;
            L->p++;
            L->line++;
            L->line_start = L->p;
            continue;
        }
        if (c == '\\' && !verbatim && !triple) {
            const char *bs = L->p++;
            if (L->p < L->end && *L->p == '\n') {
                /* backslash-newline: skip the newline and leading blanks */
                L->p++;
                L->line++;
                L->line_start = L->p;
                while (L->p < L->end && (*L->p == ' ' || *L->p == '\t'))
                    L->p++;
                continue;
            }
            int n = lex_escape(L, bs, o);
            if (n < 0)
                return n;
            o += n;
            continue;
        }
        *o++ = c;
        L->p++;
    }
    *o = '\0';
    t->text = buf;
    t->str_len = (uint32_t)(o - buf);
    return 0;
}

/* 'a', '\n', '\u0041' -> TK_CHAR; 'T (type variable) -> TK_IDENT "'T". */
static int lex_quote(Lexer *L, Token *t, const char *start)
{
    const char *q = L->p + 1;
    if (q < L->end && *q == '\\') {
        L->p = q + 1;
        char tmp[8];
        int n = lex_escape(L, q, tmp);
        if (n < 0)
            return n;
        if (L->p >= L->end || *L->p != '\'')
            return lex_error(L, start, "unterminated char literal");
        L->p++;
        /* decode the UTF-8 we produced back into a code point */
        uint32_t cp = (unsigned char)tmp[0];
        if (n > 1) {
            cp = (unsigned char)tmp[0] & (0x7F >> n);
            for (int i = 1; i < n; i++)
                cp = (cp << 6) | ((unsigned char)tmp[i] & 0x3F);
        }
        t->kind = TK_CHAR;
        t->i = cp;
        return 0;
    }
    /* one UTF-8 character then a closing quote */
    if (q < L->end) {
        unsigned char c0 = (unsigned char)*q;
        int n = c0 < 0x80 ? 1 : c0 < 0xE0 ? 2 : c0 < 0xF0 ? 3 : 4;
        if (q + n < L->end && q[n] == '\'' && *q != '\n') {
            uint32_t cp = c0;
            if (n > 1) {
                cp = c0 & (0x7F >> n);
                for (int i = 1; i < n; i++)
                    cp = (cp << 6) | ((unsigned char)q[i] & 0x3F);
            }
            L->p = q + n + 1;
            t->kind = TK_CHAR;
            t->i = cp;
            return 0;
        }
    }
    if (q < L->end && is_ident_start(*q)) {
        const char *s = L->p;
        L->p = q;
        while (L->p < L->end && is_ident_char(*L->p) && *L->p != '\'')
            L->p++;
        t->kind = TK_IDENT;
        t->text = arena_strndup(L->arena, s, (size_t)(L->p - s));
        return t->text ? 0 : LEX_NOMEM;
    }
    return lex_error(L, start, "invalid character literal");
}

/* ------------------------------------------------------------- numbers --- */

static int lex_number(Lexer *L, Token *t, const char *start)
{
    const char *p = L->p;
    if (p[0] == '0' && p + 1 < L->end && strchr("xXoObB", p[1]) && p + 2 < L->end) {
        int base = (p[1] == 'x' || p[1] == 'X') ? 16 : (p[1] == 'o' || p[1] == 'O') ? 8 : 2;
        p += 2;
        uint64_t v = 0;
        int digits = 0;
        for (; p < L->end; p++) {
            if (*p == '_')
                continue;
            int d = hex_val(*p);
            if (d < 0 || d >= base)
                break;
            if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
                return lex_error(L, start, "integer literal is too large");
            v = v * (uint64_t)base + (uint64_t)d;
            digits++;
        }
        if (!digits)
            return lex_error(L, start, "malformed integer literal");
        if (p < L->end && (*p == 'L' || *p == 'l'))
            p++;
        if (p < L->end && is_ident_char(*p))
            return lex_error(L, start, "malformed integer literal");
        L->p = p;
        t->kind = TK_INT;
        t->i = (int64_t)v;
        return 0;
    }
    char buf[128];
    size_t n = 0;
    bool is_float = false;
    while (p < L->end && (is_digit(*p) || *p == '_')) {
        if (*p != '_' && n < sizeof buf - 1)
            buf[n++] = *p;
        p++;
    }
    if (p < L->end && *p == '.' && !(p + 1 < L->end && (p[1] == '.' || is_ident_start(p[1])))) {
        is_float = true;
        buf[n++] = *p++;
        while (p < L->end && (is_digit(*p) || *p == '_')) {
            if (*p != '_' && n < sizeof buf - 1)
                buf[n++] = *p;
            p++;
        }
    }
    if (p < L->end && (*p == 'e' || *p == 'E')) {
        const char *q = p + 1;
        if (q < L->end && (*q == '+' || *q == '-'))
            q++;
        if (q < L->end && is_digit(*q)) {
            is_float = true;
            while (p < q && n < sizeof buf - 1)
                buf[n++] = *p++;
            while (p < L->end && is_digit(*p)) {
                if (n < sizeof buf - 1)
                    buf[n++] = *p;
                p++;
            }
        }
    }
    buf[n] = '\0';
    if (is_float) {
        if (p < L->end && (*p == 'f' || *p == 'F' || *p == 'm' || *p == 'M'))
            p++;
    } else if (p < L->end && (*p == 'L' || *p == 'l')) {
        p++;
    } else if (p < L->end && (*p == '.' || *p == 'f' || *p == 'F')) {
        /* "1f" is not a float in F# without a dot; reject */
    }
    if (p < L->end && is_ident_char(*p))
        return lex_error(L, start, "malformed numeric literal");
    L->p = p;
    if (is_float) {
        t->kind = TK_FLOAT;
        t->f = strtod(buf, NULL);
    } else {
        errno = 0;
        unsigned long long v = strtoull(buf, NULL, 10);
        if (errno == ERANGE || v > (unsigned long long)INT64_MAX + 1ULL)
            return lex_error(L, start, "integer literal is too large for a 64-bit int");
        t->kind = TK_INT;
        t->i = (int64_t)v; /* INT64_MAX+1 only makes sense negated: wraps to MIN */
    }
    return 0;
}

/* ---------------------------------------------------------------- main --- */

static int skip_block_comment(Lexer *L)
{
    const char *start = L->p;
    int start_line = L->line, start_col = col_of(L, start);
    int depth = 0;
    while (L->p < L->end) {
        if (L->p + 1 < L->end && L->p[0] == '(' && L->p[1] == '*' &&
            !(L->p + 2 < L->end && L->p[2] == ')')) {
            depth++;
            L->p += 2;
        } else if (L->p + 1 < L->end && L->p[0] == '*' && L->p[1] == ')') {
            L->p += 2;
            if (--depth == 0)
                return 0;
        } else if (*L->p == '"') {
            /* strings inside comments are skipped whole, as F# does */
            L->p++;
            while (L->p < L->end && *L->p != '"') {
                if (*L->p == '\\' && L->p + 1 < L->end)
                    L->p++;
                if (*L->p == '\n')
                    newline(L, L->p + 1);
                L->p++;
            }
            if (L->p < L->end)
                L->p++;
        } else {
            if (*L->p == '\n')
                newline(L, L->p + 1);
            L->p++;
        }
    }
    L->r->err_line = start_line;
    L->r->err_col = start_col;
    snprintf(L->r->err_msg, sizeof L->r->err_msg, "unterminated comment");
    return LEX_FAIL;
}

int lex_source(Arena *arena, const char *src, size_t len, LexResult *r)
{
    Lexer L = {0};
    L.arena = arena;
    L.src = L.p = src;
    L.end = src + len;
    L.line = 1;
    L.line_start = src;
    L.at_bol = true;
    L.r = r;
    memset(r, 0, sizeof *r);
    /* skip a UTF-8 byte order mark and a #! line */
    if (len >= 3 && memcmp(src, "\xEF\xBB\xBF", 3) == 0)
        L.p += 3, L.line_start = L.p;
    if (L.end - L.p >= 2 && L.p[0] == '#' && L.p[1] == '!')
        while (L.p < L.end && *L.p != '\n')
            L.p++;

    for (;;) {
        /* whitespace and comments */
        while (L.p < L.end) {
            char c = *L.p;
            if (c == '\n') {
                L.p++;
                newline(&L, L.p);
                L.space = true;
            } else if (c == ' ' || c == '\r') {
                L.p++;
                L.space = true;
            } else if (c == '\t') {
                if (L.at_bol)
                    return lex_error(&L, L.p, "tab characters are not allowed in indentation; "
                                               "use spaces");
                L.p++;
                L.space = true;
            } else if (c == '/' && L.p + 1 < L.end && L.p[1] == '/') {
                while (L.p < L.end && *L.p != '\n')
                    L.p++;
                L.space = true;
            } else if (c == '(' && L.p + 1 < L.end && L.p[1] == '*' &&
                       !(L.p + 2 < L.end && L.p[2] == ')')) {
                int rc = skip_block_comment(&L);
                if (rc)
                    return rc;
                L.space = true;
            } else {
                break;
            }
        }
        if (L.n > 0)
            L.toks[L.n - 1].space_after = L.space || L.p >= L.end;
        const char *start = L.p;
        int line = L.line, col = col_of(&L, start);
        if (L.p >= L.end) {
            Token *t = push_tok(&L, TK_EOF, start, line, col);
            if (!t)
                return LEX_NOMEM;
            t->bol = true;
            t->col = 1;
            break;
        }
        Token *t = push_tok(&L, TK_EOF, start, line, col);
        if (!t)
            return LEX_NOMEM;
        char c = *L.p;
        int rc = 0;
        if (is_digit(c)) {
            rc = lex_number(&L, t, start);
        } else if (c == '"' || (c == '@' && L.p + 1 < L.end && L.p[1] == '"')) {
            t->kind = TK_STRING;
            rc = lex_string(&L, t, start);
        } else if (c == '\'') {
            rc = lex_quote(&L, t, start);
        } else if (c == '`' && L.p + 1 < L.end && L.p[1] == '`') {
            const char *s = L.p + 2, *e = s;
            while (e + 1 < L.end && !(e[0] == '`' && e[1] == '`') && *e != '\n')
                e++;
            if (e + 1 >= L.end || *e == '\n')
                return lex_error(&L, start, "unterminated ``identifier``");
            t->kind = TK_IDENT;
            t->text = arena_strndup(arena, s, (size_t)(e - s));
            if (!t->text)
                return LEX_NOMEM;
            L.p = e + 2;
        } else if (is_ident_start(c)) {
            const char *s = L.p;
            while (L.p < L.end && is_ident_char(*L.p))
                L.p++;
            size_t n = (size_t)(L.p - s);
            if (n == 1 && c == '_') {
                t->kind = TK_UNDERSCORE;
            } else {
                t->kind = (uint8_t)keyword_kind(s, n);
                t->text = arena_strndup(arena, s, n);
                if (!t->text)
                    return LEX_NOMEM;
            }
        } else if (c == '(' ) {
            /* "(*)" is the multiplication operator in parentheses */
            t->kind = TK_LPAREN;
            L.p++;
        } else if (c == ')') { t->kind = TK_RPAREN; L.p++; }
        else if (c == '[') {
            if (L.p + 1 < L.end && L.p[1] == '|') { t->kind = TK_LARRAY; L.p += 2; }
            else { t->kind = TK_LBRACK; L.p++; }
        } else if (c == ']') { t->kind = TK_RBRACK; L.p++; }
        else if (c == '{') { t->kind = TK_LBRACE; L.p++; }
        else if (c == '}') { t->kind = TK_RBRACE; L.p++; }
        else if (c == ',') { t->kind = TK_COMMA; L.p++; }
        else if (c == ';') { t->kind = TK_SEMI; L.p++; }
        else if (c == '#') { t->kind = TK_HASH; L.p++; }
        else if (c == '|' && L.p + 1 < L.end && L.p[1] == ']') {
            /* ']' is no operator character, so the operator table below
             * never sees "|]" */
            t->kind = TK_RARRAY;
            L.p += 2;
        } else if (is_op_char(c)) {
            const char *e = L.p;
            while (e < L.end && is_op_char(*e))
                e++;
            size_t run = (size_t)(e - L.p);
            TokKind kind = TK_EOF;
            size_t best = operator_at(L.p, run, &kind);
            if (!best)
                return lex_error(&L, start, "unknown operator '%.*s'", (int)run, L.p);
            t->kind = kind;
            L.p += best;
        } else {
            if ((unsigned char)c < 0x20 || c == 0x7f)
                return lex_error(&L, start, "unexpected control character 0x%02x", (unsigned char)c);
            return lex_error(&L, start, "unexpected character '%c'", c);
        }
        if (rc)
            return rc;
    }
    r->toks = L.toks;
    r->ntoks = L.n;
    r->cap = L.cap;
    return 0;
}

void lex_free(Arena *arena, LexResult *r)
{
    if (arena->cached)
        tcache_give(r->toks, r->cap * sizeof(Token));
    else
        mem_free(arena->mem, r->toks, r->cap * sizeof(Token));
    r->toks = NULL;
    r->ntoks = r->cap = 0;
}
