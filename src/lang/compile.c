/*
 * lang/compile.c - syntax tree -> bytecode, with name resolution.
 *
 * One pass over the tree per function.  Locals are stack slots: the value
 * of a `let` stays where it was computed and the slot is named; when the
 * scope ends the result is slid down over it (OP_SLIDE).  Closures capture
 * by value when they are made (Mini-F# bindings are immutable, so a copy is
 * indistinguishable from the variable; F# itself refuses to capture a local
 * `let mutable`, and a top-level one is a global, shared by reference
 * anyway); a `let rec` group is made first and
 * its forward captures are patched (OP_SETCAP).  A function refers to
 * itself through OP_SELF.  Calls in tail position become OP_TAILCALL.
 *
 * Patterns compile to tests that pop the value they examine and jump to a
 * failure label; the label resets the stack depth (OP_SETTOP), so a test
 * may fail with any number of temporaries pushed.
 *
 * Loops jump backwards with instructions that count against the instruction
 * budget (OP_LOOP, OP_FOR_LOOP), so every loop can be stopped by the host.
 * A loop's first instruction is a label: no peephole fusion reaches into it.
 *
 * Records and unions: `type` declarations become Shapes (types.c) that the
 * code names through its constants.  A field access is compiled against
 * the latest declared record type that has the field, so the VM reads it
 * by index after one pointer compare; a value of another shape falls back
 * to a lookup by name.  A union case test compares the case's tag.
 *
 * Modules are a matter of names only: a top-level binding of module A.B
 * is the global "A.B.x" (so a host finds it by that name), and a name is
 * looked up in the module being compiled and its parents, then in the
 * opened modules, then as written.  A union case remembers the module it
 * was declared in, and is found the same way.
 *
 * Output goes into a new chunk's arena and is never written again once
 * compile_program returns.  Compiling thread only.
 */
#include "lang/compile.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lang/chunk.h"
#include "lang/opcodes.h"
#include "lang/types.h"
#include "util/hash.h"
#include "vm/member.h"

typedef struct Var {
    const char *name; /* NULL for hidden temporaries */
    int slot;
    bool is_mutable;  /* let mutable: may be assigned, never captured */
} Var;

typedef struct Fn Fn;
typedef struct Compiler Compiler;

/* An `open`: the module, and how many globals and union cases existed when
 * it was opened (what was declared later shadows what it opened). */
typedef struct Open {
    const char *path;
    uint32_t globals_at, cases_at;
} Open;

struct Fn {
    Fn *parent;
    Compiler *C;
    uint32_t *code, *lines;
    uint32_t ncode, capcode;
    Value *consts;
    uint32_t nconsts, capconsts;
    CapDesc *caps;
    const char **capnames;
    uint32_t ncaps, capcaps;
    Var *vars;
    int nvars, capvars;
    int depth, maxdepth;
    uint32_t last_instr;  /* where the last instruction starts */
    uint32_t label_at;    /* last position a jump lands on (no fusing across it) */
    const char *self_name;
    /* comprehensions: the slot of the innermost one's accumulator (the
     * list of the values yielded so far, latest first), whether it yields
     * its bare expressions (it has no explicit yield), and whether the
     * next expression compiled is in its body (compile_comp) */
    int comp_acc;
    bool comp_implicit;
    bool in_comp;
    int arity;
    const char *name;
    int line;
};

struct Compiler {
    const fsrs_compile_options *opts;
    Arena *scratch;
    fsrs_chunk *chunk;
    jmp_buf fail;
    int nomem;
    CompileError *err;
    const Proto **protos;
    uint32_t nprotos, capprotos;
    const char **globals;
    uint32_t nglobals, capglobals;
    bool *global_mutable; /* per global: bound by a top-level let mutable */
    uint32_t capglobal_mutable;
    /* name -> its newest global (open addressing; slot holds index + 1,
     * 0 is empty); global_prev chains each global to the one before it
     * of the same name (GLOBAL_NONE), for names not yet visible */
    uint32_t *global_slots;
    uint32_t nglobal_slots; /* a power of two, or 0 */
    uint32_t *global_prev;
    uint32_t nvisible;  /* globals in scope at this point of the program */
    const char **hosts;
    uint32_t nhosts, caphosts;
    TypeTable types;
    int line;
    int col; /* of the expression being compiled, for errors found deep down */
    /* modules: see "modules" below */
    const char *mod_path;   /* the module being compiled ("A.B"), or NULL */
    const char **modules;   /* every module declared so far, by full path */
    uint32_t nmodules, capmodules;
    Open *opens;            /* modules opened in the current scope, latest last */
    uint32_t nopens, capopens;
    const char **case_mods; /* per entry of types.cases: its module, or NULL */
    uint32_t ncase_mods, capcase_mods;
};

/* ------------------------------------------------------------ plumbing --- */

static _Noreturn void cerror(Compiler *C, int line, int col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(C->err->msg, sizeof C->err->msg, fmt, ap);
    va_end(ap);
    C->err->line = line;
    C->err->col = col;
    longjmp(C->fail, 1);
}

static void *scratch(Compiler *C, size_t n)
{
    void *p = arena_alloc(C->scratch, n);
    if (!p) {
        C->nomem = 1;
        longjmp(C->fail, 1);
    }
    return p;
}

static void *keep(Compiler *C, size_t n)
{
    void *p = arena_alloc(&C->chunk->arena, n);
    if (!p) {
        C->nomem = 1;
        longjmp(C->fail, 1);
    }
    return p;
}

/* Grow an arena array of elem-sized items to hold one more. */
static void *grow(Compiler *C, void *arr, uint32_t n, uint32_t *cap, size_t elem)
{
    if (n < *cap)
        return arr;
    uint32_t ncap = *cap ? *cap * 2 : 16;
    void *na = scratch(C, ncap * elem);
    if (n)
        memcpy(na, arr, n * elem);
    *cap = ncap;
    return na;
}

static int stack_effect(int op, int32_t a)
{
    switch (op) {
    case OP_CONST: case OP_INT: case OP_UNIT: case OP_TRUE: case OP_FALSE: case OP_NIL:
    case OP_LOCAL: case OP_CAPTURE: case OP_SELF: case OP_GLOBAL: case OP_BUILTIN: case OP_HOST:
    case OP_DUP: case OP_CLOSURE: case OP_FORMAT_FN:
        return 1;
    case OP_SETLOCAL: case OP_SETGLOBAL: case OP_POP: case OP_JUMP_IF_FALSE:
    case OP_JUMP_IF_TRUE: case OP_TEST_NIL: case OP_TEST_CONS: case OP_TEST_EQ: case OP_EQI_JUMP:
    case OP_RETURN: case OP_TEST_TAG: case OP_SETFIELD:
        return -1;
    case OP_ADD: case OP_SUB: case OP_MUL: case OP_DIV: case OP_MOD: case OP_POW: case OP_EQ:
    case OP_NE: case OP_LT: case OP_LE: case OP_GT: case OP_GE: case OP_CONS: case OP_APPEND:
        return -1;
    case OP_LT_JUMP:
        return -2;
    case OP_LOCAL_EQI_JUMP:
    case OP_LOCAL_LTI_JUMP:
    case OP_FOR_PREP:
    case OP_FOR_LOOP:
        return 0;
    case OP_FOR_LIST:
        return 1;
    case OP_SLIDE:
        return -a;
    case OP_TUPLE: case OP_LIST: case OP_DATA:
        return 1 - a;
    case OP_RANGE:
        return a ? -2 : -1;
    case OP_RESERVE:
        return a;
    case OP_CALL: case OP_TAILCALL: case OP_MEMBER:
        return -a;
    case OP_RERAISE:
        return -1;
    case OP_TAILSELF:
        return -a;
    case OP_FORMAT:
        return 1 - a;
    default:
        return 0;
    }
}

static void emit_word(Fn *f, uint32_t w)
{
    Compiler *C = f->C;
    if (f->ncode == f->capcode) {
        uint32_t cap = f->capcode;
        f->code = grow(C, f->code, f->ncode, &cap, sizeof(uint32_t));
        uint32_t cap2 = f->capcode;
        f->lines = grow(C, f->lines, f->ncode, &cap2, sizeof(uint32_t));
        f->capcode = cap;
    }
    f->code[f->ncode] = w;
    f->lines[f->ncode] = (uint32_t)C->line;
    f->ncode++;
}

static void adjust(Fn *f, int delta)
{
    f->depth += delta;
    if (f->depth > f->maxdepth)
        f->maxdepth = f->depth;
}

static void emit_word(Fn *f, uint32_t w);

static bool fuse(Fn *f, int op, int32_t a);

static void emit(Fn *f, int op, int32_t a)
{
    if (a > OPERAND_MAX || a < -OPERAND_MAX)
        cerror(f->C, f->C->line, 0, "function too large (operand limit %d)", OPERAND_MAX);
    if ((op == OP_LOCAL || op == OP_ADDI || op == OP_ADD) && fuse(f, op, a))
        return;
    f->last_instr = f->ncode;
    emit_word(f, INSTR(op, (uint32_t)a & 0xFFFFFF));
    if (op == OP_SETTOP)
        f->depth = a;
    else
        adjust(f, stack_effect(op, a));
    /* A tail call the VM cannot turn into a jump (a partial application in
     * a frame that must return to the host) becomes a call; the RETURN that
     * follows returns its result. */
    if (op == OP_TAILCALL)
        emit_word(f, INSTR(OP_RETURN, 0));
}

/* Peephole: fuse op with the instruction before it when no jump lands
 * between them.  Returns true if op was absorbed. */
static bool fuse(Fn *f, int op, int32_t a)
{
    if (!f->ncode || f->label_at == f->ncode || f->last_instr + 1 != f->ncode)
        return false;
    uint32_t prev = f->code[f->last_instr];
    if (op == OP_ADD && INSTR_OP(prev) == OP_LOCAL2) {
        f->code[f->last_instr] = INSTR(OP_ADD_LL, INSTR_A(prev));
        adjust(f, -1);
        return true;
    }
    if (INSTR_OP(prev) != OP_LOCAL)
        return false;
    uint32_t slot = INSTR_A(prev);
    if (op == OP_LOCAL && slot < 4096 && a >= 0 && a < 4096) {
        f->code[f->last_instr] = INSTR(OP_LOCAL2, slot | ((uint32_t)a << 12));
        adjust(f, 1);
        return true;
    }
    if (op == OP_ADDI && slot < 4096 && a >= -2048 && a < 2048) {
        f->code[f->last_instr] = INSTR(OP_LOCAL_ADDI, slot | (((uint32_t)a & 0xFFF) << 12));
        return true;
    }
    return false;
}

/* Emit a jump with a placeholder offset; returns its position. */
static uint32_t emit_jump(Fn *f, int op)
{
    emit(f, op, 0);
    return f->ncode - 1;
}

static uint32_t emit_jump2(Fn *f, int op, uint32_t b)
{
    /* LOCAL s; EQI_JUMP k  ->  LOCAL_EQI_JUMP s k */
    if (op == OP_EQI_JUMP && f->ncode && f->label_at != f->ncode &&
        f->last_instr + 1 == f->ncode && INSTR_OP(f->code[f->last_instr]) == OP_LOCAL &&
        INSTR_A(f->code[f->last_instr]) < 65536 && (int32_t)b >= -32768 && (int32_t)b < 32768) {
        uint32_t slot = INSTR_A(f->code[f->last_instr]);
        f->code[f->last_instr] = INSTR(OP_LOCAL_EQI_JUMP, 0);
        adjust(f, -1);
        emit_word(f, (slot << 16) | (b & 0xFFFF));
        return f->ncode - 2;
    }
    emit(f, op, 0);
    emit_word(f, b);
    return f->ncode - 2;
}

/* Point the jump at `at` (or its two-word form) to the current position. */
static void patch_jump(Fn *f, uint32_t at)
{
    int op = INSTR_OP(f->code[at]);
    uint32_t after = at + 1 + (op == OP_TEST_EQ || op == OP_EQI_JUMP ||
                                       op == OP_LOCAL_EQI_JUMP || op == OP_LOCAL_LTI_JUMP ||
                                       op == OP_TEST_TAG || op == OP_FOR_PREP ||
                                       op == OP_FOR_LIST
                                   ? 1
                                   : 0);
    int32_t off = (int32_t)(f->ncode - after);
    if (off > OPERAND_MAX)
        cerror(f->C, f->C->line, 0, "jump too long in one function");
    f->code[at] = INSTR(op, (uint32_t)off & 0xFFFFFF);
    f->label_at = f->ncode;
}

/* Mark the current position as the target of a backward jump. */
static uint32_t loop_label(Fn *f)
{
    f->label_at = f->ncode;
    return f->ncode;
}

/* Jump back to `target` (a loop_label), counting a tick: op is OP_LOOP, or
 * OP_FOR_LOOP with its B word. */
static void emit_loop(Fn *f, int op, uint32_t target, bool has_b, uint32_t b)
{
    int32_t off = (int32_t)target - (int32_t)(f->ncode + 1 + (has_b ? 1 : 0));
    if (off < -OPERAND_MAX)
        cerror(f->C, f->C->line, 0, "jump too long in one function");
    emit(f, op, off);
    if (has_b)
        emit_word(f, b);
}

/* A jump list: positions to patch to one label. */
typedef struct Jumps {
    uint32_t *at;
    uint32_t n, cap;
} Jumps;

static void jumps_add(Fn *f, Jumps *j, uint32_t at)
{
    j->at = grow(f->C, j->at, j->n, &j->cap, sizeof(uint32_t));
    j->at[j->n++] = at;
}

static void jumps_patch(Fn *f, Jumps *j)
{
    for (uint32_t i = 0; i < j->n; i++)
        patch_jump(f, j->at[i]);
    j->n = 0;
}

static uint32_t add_const(Fn *f, Value v)
{
    for (uint32_t i = 0; i < f->nconsts; i++) {
        Value c = f->consts[i];
        if (c.tag_ == v.tag_ && c.as_.i == v.as_.i)
            return i;
    }
    f->consts = grow(f->C, f->consts, f->nconsts, &f->capconsts, sizeof(Value));
    f->consts[f->nconsts] = v;
    return f->nconsts++;
}

/* A string constant: a static ObjString in the chunk's arena. */
static Value make_string(Compiler *C, const char *s, size_t n)
{
    ObjString *str = keep(C, sizeof(ObjString) + n + 1);
    str->obj.type = O_STRING;
    str->obj.is_static = 1;
    str->obj.owner = C->chunk; /* keeps a replaced chunk alive (gc.c) */
    str->len = (uint32_t)n;
    str->hash = string_hash(s, n);
    memcpy(str->chars, s, n);
    str->chars[n] = '\0';
    return mk_obj(str);
}

static uint32_t add_string_const(Fn *f, const char *s, size_t n)
{
    for (uint32_t i = 0; i < f->nconsts; i++) {
        Value c = f->consts[i];
        if (IS_STRING(c) && AS_STRING(c)->len == n && memcmp(AS_STRING(c)->chars, s, n) == 0)
            return i;
    }
    return add_const(f, make_string(f->C, s, n));
}

/* An instruction whose B word names a shape constant. */
static void emit_shape_op(Fn *f, int op, int32_t a, const Shape *shape)
{
    uint32_t k = add_const(f, mk_obj((void *)shape));
    emit(f, op, a);
    emit_word(f, k);
}

static void emit_int(Fn *f, int64_t i)
{
    if (i >= -OPERAND_MAX && i <= OPERAND_MAX)
        emit(f, OP_INT, (int32_t)i);
    else
        emit(f, OP_CONST, (int32_t)add_const(f, mk_int(i)));
}

/* --------------------------------------------------------------- scope --- */

static void declare(Fn *f, const char *name, int slot)
{
    if (f->nvars == f->capvars) {
        uint32_t cap = (uint32_t)f->capvars;
        f->vars = grow(f->C, f->vars, (uint32_t)f->nvars, &cap, sizeof(Var));
        f->capvars = (int)cap;
    }
    f->vars[f->nvars].name = name;
    f->vars[f->nvars].slot = slot;
    f->vars[f->nvars].is_mutable = false;
    f->nvars++;
}

typedef enum RefKind { R_LOCAL, R_CAPTURE, R_SELF, R_GLOBAL, R_HOST, R_BUILTIN } RefKind;

typedef struct Ref {
    RefKind kind;
    int index;
    bool is_mutable; /* R_LOCAL or R_GLOBAL bound by let mutable */
} Ref;

static bool resolve_local(Fn *f, const char *name, Ref *out)
{
    for (int i = f->nvars - 1; i >= 0; i--)
        if (f->vars[i].name && strcmp(f->vars[i].name, name) == 0) {
            out->kind = R_LOCAL;
            out->index = f->vars[i].slot;
            out->is_mutable = f->vars[i].is_mutable;
            return true;
        }
    out->is_mutable = false;
    if (f->self_name && strcmp(f->self_name, name) == 0) {
        out->kind = R_SELF;
        out->index = 0;
        return true;
    }
    for (uint32_t i = 0; i < f->ncaps; i++)
        if (strcmp(f->capnames[i], name) == 0) {
            out->kind = R_CAPTURE;
            out->index = (int)i;
            return true;
        }
    Ref up;
    if (f->parent && resolve_local(f->parent, name, &up)) {
        Compiler *C = f->C;
        if (up.is_mutable)
            cerror(C, C->line, C->col,
                   "The mutable variable '%s' is used in an invalid way. Mutable variables "
                   "cannot be captured by closures.",
                   name);
        uint32_t cap = f->capcaps;
        f->caps = grow(C, f->caps, f->ncaps, &cap, sizeof(CapDesc));
        uint32_t cap2 = f->capcaps;
        f->capnames = grow(C, f->capnames, f->ncaps, &cap2, sizeof(char *));
        f->capcaps = cap;
        f->caps[f->ncaps].kind = up.kind == R_LOCAL ? CAP_LOCAL
                                 : up.kind == R_SELF ? CAP_SELF
                                                     : CAP_CAPTURE;
        f->caps[f->ncaps].index = (uint32_t)up.index;
        f->capnames[f->ncaps] = name;
        out->kind = R_CAPTURE;
        out->index = (int)f->ncaps++;
        return true;
    }
    return false;
}

/* ------------------------------------------------------------- modules --- */

/* "a.b" in scratch memory; just b when a is NULL. */
static const char *join(Compiler *C, const char *a, const char *b)
{
    if (!a)
        return b;
    size_t na = strlen(a), nb = strlen(b);
    char *s = scratch(C, na + nb + 2);
    memcpy(s, a, na);
    s[na] = '.';
    memcpy(s + na + 1, b, nb + 1);
    return s;
}

/* The module around module path m ("A.B" -> "A", "A" -> NULL). */
static const char *parent_module(Compiler *C, const char *m)
{
    const char *dot = strrchr(m, '.');
    if (!dot)
        return NULL;
    size_t n = (size_t)(dot - m);
    char *s = scratch(C, n + 1);
    memcpy(s, m, n);
    s[n] = '\0';
    return s;
}

/* The name a declaration of the module being compiled is known by. */
static const char *qualify(Compiler *C, const char *name) { return join(C, C->mod_path, name); }

/* Does `full` spell the parts (NULLs skipped) joined with dots? */
static bool is_path(const char *full, const char *const *parts, int n)
{
    bool first = true;
    for (int i = 0; i < n; i++) {
        if (!parts[i])
            continue;
        if (!first) {
            if (*full != '.')
                return false;
            full++;
        }
        size_t k = strlen(parts[i]);
        if (strncmp(full, parts[i], k) != 0)
            return false;
        full += k;
        first = false;
    }
    return *full == '\0';
}

/* The full path of the module a (possibly partial) path names from here,
 * or NULL. */
static const char *find_module(Compiler *C, const char *name)
{
    for (const char *m = C->mod_path;; m = parent_module(C, m)) {
        const char *full = join(C, m, name);
        for (uint32_t i = 0; i < C->nmodules; i++)
            if (strcmp(C->modules[i], full) == 0)
                return C->modules[i];
        if (!m)
            break;
    }
    for (uint32_t o = C->nopens; o-- > 0;) {
        const char *full = join(C, C->opens[o].path, name);
        for (uint32_t i = 0; i < C->nmodules; i++)
            if (strcmp(C->modules[i], full) == 0)
                return C->modules[i];
    }
    return NULL;
}

/* The latest union case `full` names exactly: "Case", "Type.Case",
 * "M.Case" or "M.Type.Case" for a case declared in module M.  Its index in
 * types.cases, or -1. */
static int64_t find_case(Compiler *C, const char *full)
{
    for (uint32_t i = C->types.ncases; i-- > 0;) {
        const Shape *s = C->types.cases[i];
        const char *m = i < C->ncase_mods ? C->case_mods[i] : NULL;
        const char *short_form[] = {m, s->name};
        const char *long_form[] = {m, s->type_name, s->name};
        if (is_path(full, short_form, 2) || is_path(full, long_form, 3))
            return i;
    }
    return -1;
}

/*
 * Names are visible in the order F# makes them visible: a declaration
 * shadows what was declared or opened before it, an `open` what was
 * declared or opened before it.  Ranks order the two kinds: declaration
 * number i has rank 2i+1, an `open` made when n declarations existed has
 * rank 2n, between declaration n-1 and declaration n.
 */

/* The union case a name stands for from here: declared in the module being
 * compiled or a module around it, or in an opened module, whichever came
 * last; the built-in option and Result cases when none has it. */
static const Shape *lookup_case(Compiler *C, const char *name)
{
    int64_t best = -1;
    uint64_t best_rank = 0;
    for (const char *m = C->mod_path;; m = parent_module(C, m)) {
        int64_t i = find_case(C, join(C, m, name));
        if (i >= 0 && (best < 0 || 2 * (uint64_t)i + 1 > best_rank)) {
            best = i;
            best_rank = 2 * (uint64_t)i + 1;
        }
        if (!m)
            break;
    }
    for (uint32_t o = 0; o < C->nopens; o++) {
        int64_t i = find_case(C, join(C, C->opens[o].path, name));
        if (i >= 0 && (best < 0 || 2 * (uint64_t)C->opens[o].cases_at >= best_rank)) {
            best = i;
            best_rank = 2 * (uint64_t)C->opens[o].cases_at;
        }
    }
    if (best >= 0)
        return C->types.cases[best];
    return builtin_case(name); /* a dotted name there is only System.Name */
}

static bool find_global(Compiler *C, const char *name, Ref *out);

/* A global from here: declared in the module being compiled or a module
 * around it, or in an opened module, whichever came last (see the ranks
 * above). */
static bool resolve_global(Compiler *C, const char *name, Ref *out)
{
    bool found = false;
    uint64_t best_rank = 0;
    Ref r;
    for (const char *m = C->mod_path;; m = parent_module(C, m)) {
        if (find_global(C, join(C, m, name), &r) &&
            (!found || 2 * (uint64_t)r.index + 1 > best_rank)) {
            found = true;
            best_rank = 2 * (uint64_t)r.index + 1;
            *out = r;
        }
        if (!m)
            break;
    }
    for (uint32_t o = 0; o < C->nopens; o++)
        if (find_global(C, join(C, C->opens[o].path, name), &r) &&
            (!found || 2 * (uint64_t)C->opens[o].globals_at >= best_rank)) {
            found = true;
            best_rank = 2 * (uint64_t)C->opens[o].globals_at;
            *out = r;
        }
    return found;
}

#define GLOBAL_NONE UINT32_MAX

/* The slot of name in the global index: its newest global, or empty. */
static uint32_t *global_slot(Compiler *C, const char *name)
{
    uint32_t mask = C->nglobal_slots - 1;
    for (uint64_t i = hash_str(name);; i++) {
        uint32_t *slot = &C->global_slots[i & mask];
        if (!*slot || strcmp(C->globals[*slot - 1], name) == 0)
            return slot;
    }
}

/* Enter global g in the index, which stays at most half full. */
static void index_global(Compiler *C, uint32_t g)
{
    if (2 * C->nglobals > C->nglobal_slots) {
        uint32_t n = C->nglobal_slots ? C->nglobal_slots * 2 : 64;
        C->global_slots = scratch(C, n * sizeof(uint32_t));
        C->nglobal_slots = n;
        for (uint32_t i = 0; i < g; i++) {
            uint32_t *slot = global_slot(C, C->globals[i]);
            C->global_prev[i] = *slot ? *slot - 1 : GLOBAL_NONE;
            *slot = i + 1;
        }
    }
    uint32_t *slot = global_slot(C, C->globals[g]);
    C->global_prev[g] = *slot ? *slot - 1 : GLOBAL_NONE;
    *slot = g + 1;
}

/* The newest visible global of that name. */
static bool find_global(Compiler *C, const char *name, Ref *out)
{
    if (!C->nglobal_slots)
        return false;
    uint32_t *slot = global_slot(C, name);
    uint32_t i = *slot ? *slot - 1 : GLOBAL_NONE;
    while (i != GLOBAL_NONE && i >= C->nvisible)
        i = C->global_prev[i];
    if (i == GLOBAL_NONE)
        return false;
    out->kind = R_GLOBAL;
    out->index = (int)i;
    out->is_mutable = C->global_mutable[i];
    return true;
}

static bool resolve(Fn *f, const char *name, Ref *out)
{
    Compiler *C = f->C;
    if (resolve_local(f, name, out) || resolve_global(C, name, out))
        return true;
    for (size_t i = 0; i < C->opts->host_count; i++)
        if (strcmp(C->opts->host_names[i], name) == 0) {
            for (uint32_t j = 0; j < C->nhosts; j++)
                if (strcmp(C->hosts[j], name) == 0) {
                    out->kind = R_HOST;
                    out->index = (int)j;
                    return true;
                }
            C->hosts = grow(C, C->hosts, C->nhosts, &C->caphosts, sizeof(char *));
            size_t n = strlen(name);
            char *copy = keep(C, n + 1);
            memcpy(copy, name, n + 1);
            C->hosts[C->nhosts] = copy;
            out->kind = R_HOST;
            out->index = (int)C->nhosts++;
            return true;
        }
    int b = builtin_lookup(name);
    if (b >= 0) {
        out->kind = R_BUILTIN;
        out->index = b;
        return true;
    }
    return false;
}

static void emit_ref(Fn *f, Ref r)
{
    switch (r.kind) {
    case R_LOCAL: emit(f, OP_LOCAL, r.index); break;
    case R_CAPTURE: emit(f, OP_CAPTURE, r.index); break;
    case R_SELF: emit(f, OP_SELF, 0); break;
    case R_GLOBAL: emit(f, OP_GLOBAL, r.index); break;
    case R_HOST: emit(f, OP_HOST, r.index); break;
    case R_BUILTIN: emit(f, OP_BUILTIN, r.index); break;
    }
}

static uint32_t new_global(Compiler *C, const char *name)
{
    uint32_t cap = C->capglobals, cap2 = C->capglobals;
    C->globals = grow(C, C->globals, C->nglobals, &C->capglobals, sizeof(char *));
    C->global_mutable = grow(C, C->global_mutable, C->nglobals, &cap, sizeof(bool));
    C->global_prev = grow(C, C->global_prev, C->nglobals, &cap2, sizeof(uint32_t));
    uint32_t g = C->nglobals++;
    C->globals[g] = name;
    C->global_mutable[g] = false;
    index_global(C, g);
    return g;
}

/* ------------------------------------------------------------ patterns --- */

/* Where a pattern's variables go: local slots or global slots. */
typedef struct PatVars {
    const char **names;
    int *index;
    int n, cap;
    bool global;
} PatVars;

/* The field names of a record expression or pattern must name one record
 * type; report the first one that no type has, or the mix. */
static _Noreturn void unknown_fields(Compiler *C, const char *const *names, int n, int line,
                                     int col)
{
    for (int i = 0; i < n; i++)
        if (!types_record(&C->types, &names[i], 1, false))
            cerror(C, line, col, "The record field '%s' is not defined.", names[i]);
    cerror(C, line, col, "no record type has all of these fields (the field '%s' and the "
                         "field '%s' belong to different types)",
           names[0], names[n - 1]);
}

static void check_duplicate_fields(Compiler *C, const char *const *names, int n, int line,
                                   int col)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < i; j++)
            if (strcmp(names[i], names[j]) == 0)
                cerror(C, line, col, "The field '%s' appears twice in this record expression "
                                     "or pattern.", names[i]);
}

/*
 * Resolve what a pattern names before it is compiled: a name that is a
 * union case is a case test, not a variable (as in F#); a case pattern
 * gets its shape and its argument count checked; a record pattern finds
 * its type from its fields.  Idempotent.
 */
static void resolve_pat(Compiler *C, Pat *p)
{
    switch (p->kind) {
    case P_VAR:
        p->shape = lookup_case(C, p->name);
        if (!p->shape) {
            if (strchr(p->name, '.'))
                cerror(C, p->line, p->col, "The pattern discriminator '%s' is not defined.",
                       p->name);
            return;
        }
        p->kind = P_CASE;
        p->nitems = 0;
        /* fall through */
    case P_CASE: {
        if (!p->shape)
            p->shape = lookup_case(C, p->name);
        if (!p->shape)
            cerror(C, p->line, p->col, "The pattern discriminator '%s' is not defined.", p->name);
        uint32_t n = p->shape->nfields;
        if (p->nitems == 0) {
            if (n)
                cerror(C, p->line, p->col,
                       "This union case expects %u argument%s in tupled form, but was given 0.",
                       n, n == 1 ? "" : "s");
            return;
        }
        Pat *arg = p->items[0];
        if (n == 0)
            cerror(C, arg->line, arg->col, "The union case '%s' does not take arguments.",
                   p->shape->name);
        if (n > 1 && arg->kind != P_WILD && !(arg->kind == P_TUPLE && arg->nitems == (int)n))
            cerror(C, arg->line, arg->col,
                   "This union case expects %u arguments in tupled form, but was given %d.", n,
                   arg->kind == P_TUPLE ? arg->nitems : 1);
        resolve_pat(C, arg);
        return;
    }
    case P_RECORD:
        check_duplicate_fields(C, p->names, p->nitems, p->line, p->col);
        p->shape = types_record(&C->types, p->names, p->nitems, false);
        if (!p->shape)
            unknown_fields(C, p->names, p->nitems, p->line, p->col);
        for (int i = 0; i < p->nitems; i++)
            resolve_pat(C, p->items[i]);
        return;
    case P_AS:
        resolve_pat(C, p->items[0]);
        return;
    case P_TUPLE:
    case P_LIST:
    case P_ARRAY:
    case P_CONS:
    case P_OR:
        for (int i = 0; i < p->nitems; i++)
            resolve_pat(C, p->items[i]);
        return;
    default:
        return;
    }
}

static void collect_vars(Compiler *C, Pat *p, PatVars *pv)
{
    switch (p->kind) {
    case P_VAR:
        for (int i = 0; i < pv->n; i++)
            if (strcmp(pv->names[i], p->name) == 0)
                cerror(C, p->line, p->col, "'%s' is bound twice in this pattern", p->name);
        if (pv->n == pv->cap) {
            int cap = pv->cap ? pv->cap * 2 : 8;
            const char **nn = scratch(C, (size_t)cap * sizeof(char *));
            int *ni = scratch(C, (size_t)cap * sizeof(int));
            if (pv->n) {
                memcpy(nn, pv->names, (size_t)pv->n * sizeof(char *));
                memcpy(ni, pv->index, (size_t)pv->n * sizeof(int));
            }
            pv->names = nn;
            pv->index = ni;
            pv->cap = cap;
        }
        pv->names[pv->n++] = p->name;
        break;
    case P_TUPLE:
    case P_LIST:
    case P_ARRAY:
    case P_CONS:
    case P_RECORD:
    case P_CASE:
        for (int i = 0; i < p->nitems; i++)
            collect_vars(C, p->items[i], pv);
        break;
    case P_AS:
        collect_vars(C, p->items[0], pv);
        collect_vars(C, p->items[1], pv);
        break;
    case P_OR: {
        PatVars right = {0};
        collect_vars(C, p->items[0], pv);
        collect_vars(C, p->items[1], &right);
        int start = pv->n;
        (void)start;
        /* both sides must bind the same names */
        PatVars left = {0};
        collect_vars(C, p->items[0], &left);
        bool same = left.n == right.n;
        for (int i = 0; same && i < left.n; i++) {
            bool found = false;
            for (int j = 0; j < right.n; j++)
                if (strcmp(left.names[i], right.names[j]) == 0)
                    found = true;
            same = found;
        }
        if (!same)
            cerror(C, p->line, p->col,
                   "the two sides of this or-pattern bind different variables");
        break;
    }
    default:
        break;
    }
}

static int var_index(PatVars *pv, const char *name)
{
    for (int i = 0; i < pv->n; i++)
        if (strcmp(pv->names[i], name) == 0)
            return pv->index[i];
    return -1;
}

static bool pat_is_trivial(const Pat *p) { return p->kind == P_WILD || p->kind == P_UNIT; }

static void compile_pat(Fn *f, Pat *p, PatVars *pv, Jumps *fails);

/* Push the library function `name` (lib_array.c and friends). */
static void emit_builtin(Fn *f, const char *name)
{
    int b = builtin_lookup(name);
    if (b < 0)
        cerror(f->C, f->C->line, f->C->col, "internal: no builtin '%s'", name);
    emit(f, OP_BUILTIN, b);
}

/* Call the library function `name` on the n expressions args (indexing
 * compiles to such calls). */
static void compile_expr(Fn *f, Expr *e);
static void compile_native_call(Fn *f, const char *name, Expr *const *args, int n, int line)
{
    emit_builtin(f, name);
    for (int i = 0; i < n; i++)
        compile_expr(f, args[i]);
    f->C->line = line;
    emit(f, OP_CALL, n);
}

/* The value on top (slot depth-1) is matched against [| items |]: fail
 * unless it is an array of that length, then match each element. */
static void compile_array_pat(Fn *f, Pat *p, PatVars *pv, Jumps *fails)
{
    int slot = f->depth - 1;
    emit_builtin(f, "$array_len_is");
    emit(f, OP_LOCAL, slot);
    emit_int(f, p->nitems);
    emit(f, OP_CALL, 2);
    jumps_add(f, fails, emit_jump(f, OP_JUMP_IF_FALSE));
    for (int i = 0; i < p->nitems; i++) {
        if (pat_is_trivial(p->items[i]))
            continue;
        emit_builtin(f, "$index");
        emit(f, OP_LOCAL, slot);
        emit_int(f, i);
        emit(f, OP_CALL, 2);
        compile_pat(f, p->items[i], pv, fails);
    }
    emit(f, OP_POP, 0);
}

/* The value on top is a tuple or union value: match field i (read with
 * `op`) against items[i], skipping wildcards, then pop it. */
static void compile_fields(Fn *f, Pat **items, int n, int op, PatVars *pv, Jumps *fails)
{
    for (int i = 0; i < n; i++) {
        if (pat_is_trivial(items[i]))
            continue;
        emit(f, OP_DUP, 0);
        emit(f, op, i);
        compile_pat(f, items[i], pv, fails);
    }
    emit(f, OP_POP, 0);
}

/* The value on top is a list: fail unless it is a cons, match its head
 * against `head`, and leave its tail on top. */
static void compile_cons_head(Fn *f, Pat *head, PatVars *pv, Jumps *fails)
{
    emit(f, OP_DUP, 0);
    jumps_add(f, fails, emit_jump(f, OP_TEST_CONS));
    emit(f, OP_DUP, 0);
    emit(f, OP_HEAD, 0);
    compile_pat(f, head, pv, fails);
    emit(f, OP_TAIL, 0);
}

/* The value to test is on top of the stack; the code pops it.  Failing
 * tests jump to `fails` with an unknown number of temporaries pushed. */
static void compile_pat(Fn *f, Pat *p, PatVars *pv, Jumps *fails)
{
    Compiler *C = f->C;
    C->line = p->line;
    switch (p->kind) {
    case P_WILD:
    case P_UNIT:
        emit(f, OP_POP, 0);
        break;
    case P_VAR:
        emit(f, pv->global ? OP_SETGLOBAL : OP_SETLOCAL, var_index(pv, p->name));
        break;
    case P_INT:
        if (p->i >= INT32_MIN && p->i <= INT32_MAX) {
            jumps_add(f, fails, emit_jump2(f, OP_EQI_JUMP, (uint32_t)(int32_t)p->i));
        } else {
            uint32_t k = add_const(f, mk_int(p->i));
            jumps_add(f, fails, emit_jump2(f, OP_TEST_EQ, k));
        }
        break;
    case P_FLOAT:
        jumps_add(f, fails, emit_jump2(f, OP_TEST_EQ, add_const(f, mk_float(p->f))));
        break;
    case P_CHAR:
        jumps_add(f, fails, emit_jump2(f, OP_TEST_EQ, add_const(f, mk_char((uint32_t)p->i))));
        break;
    case P_BOOL:
        jumps_add(f, fails, emit_jump2(f, OP_TEST_EQ, add_const(f, mk_bool(p->i != 0))));
        break;
    case P_STRING:
        jumps_add(f, fails, emit_jump2(f, OP_TEST_EQ, add_string_const(f, p->str, p->str_len)));
        break;
    case P_TUPLE:
        compile_fields(f, p->items, p->nitems, OP_FIELD, pv, fails);
        break;
    case P_NIL:
        jumps_add(f, fails, emit_jump(f, OP_TEST_NIL));
        break;
    case P_CONS:
        compile_cons_head(f, p->items[0], pv, fails);
        compile_pat(f, p->items[1], pv, fails);
        break;
    case P_LIST:
        for (int i = 0; i < p->nitems; i++)
            compile_cons_head(f, p->items[i], pv, fails);
        jumps_add(f, fails, emit_jump(f, OP_TEST_NIL));
        break;
    case P_ARRAY:
        compile_array_pat(f, p, pv, fails);
        break;
    case P_AS:
        emit(f, OP_DUP, 0);
        compile_pat(f, p->items[1], pv, fails);
        compile_pat(f, p->items[0], pv, fails);
        break;
    case P_CASE: {
        const Shape *shape = p->shape;
        if (shape->nfields == 0) {
            jumps_add(f, fails, emit_jump2(f, OP_TEST_TAG, shape->tag));
            break;
        }
        Pat *arg = p->items[0];
        emit(f, OP_DUP, 0);
        jumps_add(f, fails, emit_jump2(f, OP_TEST_TAG, shape->tag));
        if (pat_is_trivial(arg)) {
            emit(f, OP_POP, 0);
        } else if (shape->nfields == 1) {
            emit(f, OP_CASEFIELD, 0);
            compile_pat(f, arg, pv, fails);
        } else {
            /* resolve_pat checked: a tuple of nfields patterns */
            compile_fields(f, arg->items, arg->nitems, OP_CASEFIELD, pv, fails);
        }
        break;
    }
    case P_RECORD:
        for (int i = 0; i < p->nitems; i++) {
            if (pat_is_trivial(p->items[i]))
                continue;
            emit(f, OP_DUP, 0);
            emit_shape_op(f, OP_GETFIELD, types_field_index(p->shape, p->names[i]), p->shape);
            compile_pat(f, p->items[i], pv, fails);
        }
        emit(f, OP_POP, 0);
        break;
    case P_OR: {
        int d = f->depth; /* the value is at the top: slot d-1 */
        Jumps left = {0};
        emit(f, OP_DUP, 0);
        compile_pat(f, p->items[0], pv, &left);
        emit(f, OP_POP, 0);
        uint32_t ok = emit_jump(f, OP_JUMP);
        jumps_patch(f, &left);
        emit(f, OP_SETTOP, d);
        compile_pat(f, p->items[1], pv, fails);
        patch_jump(f, ok);
        break;
    }
    }
}

/* Reserve local slots for the variables of p and declare them. */
static void reserve_vars(Fn *f, Pat *p, PatVars *pv)
{
    collect_vars(f->C, p, pv);
    int base = f->depth;
    if (pv->n)
        emit(f, OP_RESERVE, pv->n);
    for (int i = 0; i < pv->n; i++) {
        pv->index[i] = base + i;
        declare(f, pv->names[i], base + i);
    }
}

/* ---------------------------------------------------------- expressions --- */

static void compile_expr(Fn *f, Expr *e);
static void compile_tail(Fn *f, Expr *e);
static uint32_t compile_function(Fn *parent, Expr *lam, const char *self_name);

static Expr *mk_var(Compiler *C, const Expr *at, const char *name)
{
    Expr *e = scratch(C, sizeof *e);
    e->kind = E_VAR;
    e->line = at->line;
    e->col = at->col;
    e->str = name;
    return e;
}

static Pat *mk_pvar(Compiler *C, const Expr *at, const char *name)
{
    Pat *p = scratch(C, sizeof *p);
    p->kind = P_VAR;
    p->line = at->line;
    p->col = at->col;
    p->name = name;
    return p;
}

static Expr *mk_app(Compiler *C, const Expr *at, Expr *fn, Expr *arg)
{
    Expr *e = scratch(C, sizeof *e);
    e->kind = E_APP;
    e->line = at->line;
    e->col = at->col;
    e->a = fn;
    e->items = scratch(C, sizeof(Expr *));
    e->items[0] = arg;
    e->nitems = 1;
    return e;
}

static Expr *mk_lambda(Compiler *C, const Expr *at, int n, const char **names, Expr *body)
{
    Expr *e = scratch(C, sizeof *e);
    e->kind = E_LAMBDA;
    e->line = at->line;
    e->col = at->col;
    e->params = scratch(C, (size_t)n * sizeof(Pat *));
    for (int i = 0; i < n; i++)
        e->params[i] = mk_pvar(C, at, names[i]);
    e->nparams = n;
    e->a = body;
    return e;
}

/* (op) as a value: fun a b -> a op b */
static Expr *desugar_opfn(Compiler *C, Expr *e)
{
    static const char *ab[] = {"$a", "$b"};
    Expr *a = mk_var(C, e, "$a"), *b = mk_var(C, e, "$b");
    Expr *body = scratch(C, sizeof *body);
    body->line = e->line;
    body->col = e->col;
    switch (e->op) {
    case TK_PIPE: /* fun a b -> b a */
        body = mk_app(C, e, b, a);
        break;
    case TK_BACKPIPE:
        body = mk_app(C, e, a, b);
        break;
    case TK_COMPOSE:
    case TK_BACKCOMPOSE:
        body->kind = E_COMPOSE;
        body->a = e->op == TK_COMPOSE ? a : b;
        body->b = e->op == TK_COMPOSE ? b : a;
        break;
    case TK_AMPAMP:
    case TK_BARBAR:
        body->kind = e->op == TK_AMPAMP ? E_AND : E_OR;
        body->a = a;
        body->b = b;
        break;
    default:
        body->kind = E_BINOP;
        body->op = e->op;
        body->a = a;
        body->b = b;
        break;
    }
    Expr *lam = mk_lambda(C, e, 2, ab, body);
    lam->fn_name = "(operator)";
    return lam;
}

/* f >> g: let $f = f in let $g = g in fun $x -> $g ($f $x) */
static void compile_compose(Fn *f, Expr *e)
{
    Compiler *C = f->C;
    int d = f->depth, nv = f->nvars;
    compile_expr(f, e->a);
    declare(f, "$f", d);
    compile_expr(f, e->b);
    declare(f, "$g", d + 1);
    static const char *x[] = {"$x"};
    Expr *call = mk_app(C, e, mk_var(C, e, "$g"), mk_app(C, e, mk_var(C, e, "$f"), mk_var(C, e, "$x")));
    Expr *lam = mk_lambda(C, e, 1, x, call);
    lam->fn_name = "(composition)";
    C->line = e->line;
    emit(f, OP_CLOSURE, (int32_t)compile_function(f, lam, NULL));
    emit(f, OP_SLIDE, 2);
    f->nvars = nv;
}

static int binop_code(int tok)
{
    switch (tok) {
    case TK_PLUS: return OP_ADD;
    case TK_MINUS: return OP_SUB;
    case TK_STAR: return OP_MUL;
    case TK_SLASH: return OP_DIV;
    case TK_PERCENT: return OP_MOD;
    case TK_STARSTAR: return OP_POW;
    case TK_EQ: return OP_EQ;
    case TK_NE: return OP_NE;
    case TK_LT: return OP_LT;
    case TK_LE: return OP_LE;
    case TK_GT: return OP_GT;
    case TK_GE: return OP_GE;
    case TK_COLONCOLON: return OP_CONS;
    case TK_AT: return OP_APPEND;
    default: return -1;
    }
}

static bool small_int(const Expr *e) { return e->kind == E_INT && e->i > -OPERAND_MAX && e->i < OPERAND_MAX; }

static void compile_binop(Fn *f, Expr *e)
{
    Compiler *C = f->C;
    compile_expr(f, e->a);
    if ((e->op == TK_PLUS || e->op == TK_MINUS) && small_int(e->b)) {
        C->line = e->line;
        emit(f, OP_ADDI, (int32_t)(e->op == TK_PLUS ? e->b->i : -e->b->i));
        return;
    }
    compile_expr(f, e->b);
    C->line = e->line;
    int op = binop_code(e->op);
    if (op < 0)
        cerror(C, e->line, e->col, "unsupported operator");
    emit(f, op, 0);
}

/* Compile a condition; returns the jump taken when it is false. */
static uint32_t compile_cond(Fn *f, Expr *e)
{
    Ref r;
    if (e->kind == E_BINOP && e->op == TK_LT && e->a->kind == E_VAR && e->b->kind == E_INT &&
        e->b->i >= -32768 && e->b->i < 32768 && resolve(f, e->a->str, &r) && r.kind == R_LOCAL &&
        r.index < 65536) {
        /* n < 2 on a local: one instruction */
        f->C->line = e->line;
        emit(f, OP_LOCAL_LTI_JUMP, 0);
        emit_word(f, ((uint32_t)r.index << 16) | ((uint32_t)e->b->i & 0xFFFF));
        return f->ncode - 2;
    }
    if (e->kind == E_BINOP && e->op == TK_LT) {
        compile_expr(f, e->a);
        compile_expr(f, e->b);
        f->C->line = e->line;
        return emit_jump(f, OP_LT_JUMP);
    }
    if (e->kind == E_BINOP && e->op == TK_EQ && e->b->kind == E_INT && e->b->i >= INT32_MIN &&
        e->b->i <= INT32_MAX) {
        compile_expr(f, e->a);
        f->C->line = e->line;
        return emit_jump2(f, OP_EQI_JUMP, (uint32_t)(int32_t)e->b->i);
    }
    compile_expr(f, e);
    return emit_jump(f, OP_JUMP_IF_FALSE);
}

/* ---------------------------------------------------- records, unions --- */

/* Read field `name` of the record on top of the stack. */
static void emit_getfield(Fn *f, const char *name, int line, int col)
{
    Compiler *C = f->C;
    const Shape *s = types_record(&C->types, &name, 1, false);
    if (!s && strcmp(name, "Message") == 0)
        s = builtin_exn_record(); /* e.Message of an exception */
    if (!s) {
        /* no record has the field: a property of strings, maps, ... */
        bool method;
        int id = member_lookup(name, &method);
        if (id >= 0 && method)
            cerror(C, line, col, "The method '%s' must be called: write x.%s(...)", name, name);
        if (id < 0)
            cerror(C, line, col, "The field, constructor or member '%s' is not defined.", name);
        C->line = line;
        emit(f, OP_MEMBER, 0);
        emit_word(f, (uint32_t)id);
        return;
    }
    C->line = line;
    emit_shape_op(f, OP_GETFIELD, types_field_index(s, name), s);
}

/* A union case as a value: the constant of a case without fields, or a
 * function that builds the case from its field (or a tuple of them). */
static void compile_case_value(Fn *f, const Shape *cs, const Expr *at)
{
    Compiler *C = f->C;
    if (cs->nfields == 0) {
        emit(f, OP_CONST, (int32_t)add_const(f, mk_obj((void *)cs->nullary)));
        return;
    }
    int n = (int)cs->nfields;
    Expr *body = scratch(C, sizeof *body);
    body->kind = E_CONSTRUCT;
    body->line = at->line;
    body->col = at->col;
    body->shape = cs;
    body->items = scratch(C, (size_t)n * sizeof(Expr *));
    body->nitems = n;
    Pat *param;
    if (n == 1) {
        body->items[0] = mk_var(C, at, "$c0");
        param = mk_pvar(C, at, "$c0");
    } else {
        param = scratch(C, sizeof *param);
        param->kind = P_TUPLE;
        param->line = at->line;
        param->col = at->col;
        param->items = scratch(C, (size_t)n * sizeof(Pat *));
        param->nitems = n;
        for (int i = 0; i < n; i++) {
            char *name = scratch(C, 16);
            snprintf(name, 16, "$c%d", i);
            body->items[i] = mk_var(C, at, name);
            param->items[i] = mk_pvar(C, at, name);
        }
    }
    Expr *lam = scratch(C, sizeof *lam);
    lam->kind = E_LAMBDA;
    lam->line = at->line;
    lam->col = at->col;
    lam->params = scratch(C, sizeof(Pat *));
    lam->params[0] = param;
    lam->nparams = 1;
    lam->a = body;
    lam->fn_name = cs->name;
    C->line = at->line;
    emit(f, OP_CLOSURE, (int32_t)compile_function(f, lam, NULL));
}

/* The union case a name stands for in an expression, unless a local
 * variable of that name hides it. */
static const Shape *case_named(Fn *f, const char *name)
{
    Ref r;
    if (resolve_local(f, name, &r))
        return NULL;
    return lookup_case(f->C, name);
}

/* Case args...: the first argument is the case's field, or the tuple of
 * its fields; more arguments apply the result (a runtime error, as the
 * result is no function). */
static void compile_construct(Fn *f, const Shape *cs, Expr *e, bool tail)
{
    Compiler *C = f->C;
    Expr *arg = e->items[0];
    uint32_t n = cs->nfields;
    if (n == 0)
        cerror(C, arg->line, arg->col, "The union case '%s' does not take arguments.",
               cs->name);
    if (n == 1) {
        compile_expr(f, arg);
        C->line = e->line;
        emit_shape_op(f, OP_DATA, 1, cs);
    } else if (arg->kind == E_TUPLE) {
        if (arg->nitems != (int)n)
            cerror(C, arg->line, arg->col,
                   "This union case expects %u arguments in tupled form, but was given %d.", n,
                   arg->nitems);
        for (int i = 0; i < arg->nitems; i++)
            compile_expr(f, arg->items[i]);
        C->line = e->line;
        emit_shape_op(f, OP_DATA, (int32_t)n, cs);
    } else {
        /* a variable may hold the tuple; a literal cannot */
        ExprKind k = arg->kind;
        if (k == E_INT || k == E_FLOAT || k == E_STRING || k == E_CHAR || k == E_BOOL ||
            k == E_UNIT || k == E_LIST || k == E_RANGE || k == E_RECORD || k == E_LAMBDA ||
            k == E_FUNCTION)
            cerror(C, arg->line, arg->col,
                   "This union case expects %u arguments in tupled form, but was given 1.", n);
        compile_case_value(f, cs, e->a);
        compile_expr(f, arg);
        C->line = e->line;
        emit(f, OP_CALL, 1);
    }
    if (e->nitems > 1) {
        for (int i = 1; i < e->nitems; i++)
            compile_expr(f, e->items[i]);
        C->line = e->line;
        emit(f, tail ? OP_TAILCALL : OP_CALL, e->nitems - 1);
        return;
    }
    if (tail)
        emit(f, OP_RETURN, 0);
}

/* { X = a; Y = b } and { r with X = a } */
static void compile_record(Fn *f, Expr *e)
{
    Compiler *C = f->C;
    int n = e->nitems;
    check_duplicate_fields(C, e->names, n, e->line, e->col);
    if (e->a) {
        /* copy, then overwrite the fields of the fresh copy in the order
         * they are written */
        const Shape *s = types_record(&C->types, e->names, n, false);
        if (!s)
            unknown_fields(C, e->names, n, e->line, e->col);
        compile_expr(f, e->a);
        C->line = e->line;
        emit(f, OP_COPY, 0);
        for (int i = 0; i < n; i++) {
            compile_expr(f, e->items[i]);
            C->line = e->line;
            emit_shape_op(f, OP_SETFIELD, types_field_index(s, e->names[i]), s);
        }
        return;
    }
    const Shape *s = types_record(&C->types, e->names, n, true);
    if (!s)
        s = types_anonymous(&C->types, e->names, n);
    if (!s) {
        C->nomem = 1;
        longjmp(C->fail, 1);
    }
    bool in_order = true;
    for (int i = 0; i < n; i++)
        if (types_field_index(s, e->names[i]) != i)
            in_order = false;
    if (in_order) {
        for (int i = 0; i < n; i++)
            compile_expr(f, e->items[i]);
        C->line = e->line;
        emit_shape_op(f, OP_DATA, n, s);
        return;
    }
    /* F# evaluates the fields in the order they are written; the record
     * stores them in declaration order.  Values without effects can be
     * computed in either order. */
    bool pure = true;
    for (int i = 0; i < n; i++) {
        ExprKind k = e->items[i]->kind;
        if (!(k == E_INT || k == E_FLOAT || k == E_STRING || k == E_CHAR || k == E_BOOL ||
              k == E_UNIT || k == E_VAR))
            pure = false;
    }
    if (pure) {
        for (int j = 0; j < n; j++)
            for (int i = 0; i < n; i++)
                if (types_field_index(s, e->names[i]) == j)
                    compile_expr(f, e->items[i]);
        C->line = e->line;
        emit_shape_op(f, OP_DATA, n, s);
        return;
    }
    int d = f->depth;
    for (int i = 0; i < n; i++)
        compile_expr(f, e->items[i]);
    C->line = e->line;
    for (int j = 0; j < n; j++)
        for (int i = 0; i < n; i++)
            if (types_field_index(s, e->names[i]) == j)
                emit(f, OP_LOCAL, d + i);
    emit_shape_op(f, OP_DATA, n, s);
    emit(f, OP_SLIDE, n);
}

/* a.B.C where no name with dots is defined: the longest prefix that names
 * a value, then field accesses.  False if no prefix is a value. */
static bool compile_dotted(Fn *f, Expr *e)
{
    Compiler *C = f->C;
    size_t len = strlen(e->str);
    char *buf = scratch(C, len + 1);
    memcpy(buf, e->str, len + 1);
    for (size_t end = len; end-- > 0;) {
        if (buf[end] != '.')
            continue;
        buf[end] = '\0';
        Ref r;
        if (resolve(f, buf, &r)) {
            emit_ref(f, r);
            char *field = buf + end + 1;
            /* restore the dots after the prefix and walk the fields */
            for (size_t i = end + 1; i < len; i++)
                if (buf[i] == '\0')
                    buf[i] = '.';
            for (;;) {
                char *dot = strchr(field, '.');
                if (dot)
                    *dot = '\0';
                emit_getfield(f, field, e->line, e->col);
                if (!dot)
                    break;
                field = dot + 1;
            }
            return true;
        }
    }
    return false;
}

static void compile_var(Fn *f, Expr *e)
{
    Compiler *C = f->C;
    Ref r;
    if (resolve_local(f, e->str, &r)) {
        emit_ref(f, r);
        return;
    }
    const Shape *cs = lookup_case(C, e->str);
    if (cs) {
        compile_case_value(f, cs, e);
        return;
    }
    if (resolve(f, e->str, &r)) {
        emit_ref(f, r);
        return;
    }
    Value k;
    if (builtin_constant(e->str, &k)) {
        emit(f, OP_CONST, (int32_t)add_const(f, k));
        return;
    }
    if (strchr(e->str, '.') && compile_dotted(f, e))
        return;
    if (strcmp(e->str, "printfn") == 0 || strcmp(e->str, "printf") == 0 ||
        strcmp(e->str, "sprintf") == 0 || strcmp(e->str, "failwithf") == 0 ||
        strcmp(e->str, "eprintfn") == 0 || strcmp(e->str, "eprintf") == 0)
        cerror(C, e->line, e->col, "'%s' needs a literal format string", e->str);
    /* M.x where M is a module: x is what is missing */
    for (const char *dot = strrchr(e->str, '.'); dot;) {
        size_t n = (size_t)(dot - e->str);
        char *prefix = scratch(C, n + 1);
        memcpy(prefix, e->str, n);
        prefix[n] = '\0';
        if (find_module(C, prefix) || builtin_module(prefix)) {
            const char *end = strchr(dot + 1, '.');
            cerror(C, e->line, e->col,
                   "The value, constructor, namespace or type '%.*s' is not defined.",
                   (int)(end ? end - dot - 1 : (ptrdiff_t)strlen(dot + 1)), dot + 1);
        }
        dot = NULL;
        while (n-- > 0)
            if (e->str[n] == '.') {
                dot = e->str + n;
                break;
            }
    }
    const char *dot = strchr(e->str, '.');
    if (dot)
        cerror(C, e->line, e->col, "The value or constructor '%.*s' is not defined.",
               (int)(dot - e->str), e->str);
    cerror(C, e->line, e->col, "The value or constructor '%s' is not defined.", e->str);
}

/* printfn "fmt" args...: returns true if handled. */
static bool compile_format(Fn *f, Expr *e, bool tail)
{
    Compiler *C = f->C;
    Expr *fn = e->a;
    if (fn->kind != E_VAR)
        return false;
    static const struct {
        const char *name;
        int kind;
    } fmts[] = {{"printf", FMT_PRINTF},     {"printfn", FMT_PRINTFN},   {"sprintf", FMT_SPRINTF},
                {"failwithf", FMT_FAILWITHF}, {"eprintf", FMT_EPRINTF}, {"eprintfn", FMT_EPRINTFN}};
    int kind = -1;
    for (size_t i = 0; i < sizeof fmts / sizeof fmts[0]; i++)
        if (strcmp(fn->str, fmts[i].name) == 0)
            kind = fmts[i].kind;
    if (kind < 0)
        return false;
    Ref r;
    if (resolve_local(f, fn->str, &r) || resolve_global(C, fn->str, &r))
        return false; /* shadowed by a user definition */
    Expr *fe = e->items[0];
    if (fe->kind != E_STRING)
        cerror(C, fe->line, fe->col, "'%s' needs a literal format string", fn->str);
    size_t bad = 0;
    char msg[128];
    int nfmt = fmt_count_args(fe->str, fe->str_len, &bad, msg, sizeof msg);
    if (nfmt < 0)
        cerror(C, fe->line, fe->col + 1 + (int)bad, "%s", msg);
    uint32_t k = add_string_const(f, fe->str, fe->str_len);
    int given = e->nitems - 1;
    uint32_t b = ((uint32_t)kind << 24) | k;
    if (k >= (1u << 24))
        cerror(C, e->line, e->col, "too many constants in one function");
    if (given < nfmt) {
        C->line = e->line;
        emit(f, OP_FORMAT_FN, nfmt);
        emit_word(f, b);
        for (int i = 0; i < given; i++)
            compile_expr(f, e->items[1 + i]);
        if (given) {
            C->line = e->line;
            emit(f, tail ? OP_TAILCALL : OP_CALL, given);
            return true;
        }
        if (tail)
            emit(f, OP_RETURN, 0);
        return true;
    }
    for (int i = 0; i < nfmt; i++)
        compile_expr(f, e->items[1 + i]);
    C->line = e->line;
    emit(f, OP_FORMAT, nfmt);
    emit_word(f, b);
    int extra = given - nfmt;
    if (extra) {
        for (int i = 0; i < extra; i++)
            compile_expr(f, e->items[1 + nfmt + i]);
        C->line = e->line;
        emit(f, tail ? OP_TAILCALL : OP_CALL, extra);
        return true;
    }
    if (tail)
        emit(f, OP_RETURN, 0);
    return true;
}

/*
 * x.Name(args) or x.Name arg, where Name is a method of values (strings,
 * maps, sets) and no record type has a field Name: the receiver, the
 * arguments (a tuple in parentheses gives several, () none), then
 * OP_MEMBER.  False if e is no such call.
 */
static bool compile_method_call(Fn *f, Expr *e, bool tail)
{
    Compiler *C = f->C;
    Expr *fn = e->a;
    const char *name;
    Expr *recv;
    if (fn->kind == E_FIELD) {
        name = fn->str;
        recv = fn->a;
    } else if (fn->kind == E_VAR) {
        const char *dot = strrchr(fn->str, '.');
        Ref r;
        if (!dot || types_case(&C->types, fn->str) || resolve(f, fn->str, &r))
            return false;
        name = dot + 1;
        size_t n = (size_t)(dot - fn->str);
        char *prefix = scratch(C, n + 1);
        memcpy(prefix, fn->str, n);
        prefix[n] = '\0';
        recv = scratch(C, sizeof *recv);
        *recv = *fn;
        recv->str = prefix;
    } else {
        return false;
    }
    bool method;
    int id = member_lookup(name, &method);
    if (id < 0 || !method || types_record(&C->types, &name, 1, false))
        return false;
    compile_expr(f, recv);
    Expr *arg = e->items[0];
    int argc = 1;
    if (arg->kind == E_UNIT) {
        argc = 0;
    } else if (arg->kind == E_TUPLE) {
        for (int i = 0; i < arg->nitems; i++)
            compile_expr(f, arg->items[i]);
        argc = arg->nitems;
    } else {
        compile_expr(f, arg);
    }
    C->line = e->line;
    emit(f, OP_MEMBER, argc);
    emit_word(f, (uint32_t)id);
    if (e->nitems > 1) {
        for (int i = 1; i < e->nitems; i++)
            compile_expr(f, e->items[i]);
        C->line = e->line;
        emit(f, tail ? OP_TAILCALL : OP_CALL, e->nitems - 1);
        return true;
    }
    if (tail)
        emit(f, OP_RETURN, 0);
    return true;
}

static void compile_app(Fn *f, Expr *e, bool tail)
{
    Compiler *C = f->C;
    if (compile_format(f, e, tail))
        return;
    if (compile_method_call(f, e, tail))
        return;
    if (e->a->kind == E_VAR && e->nitems == 1 && strcmp(e->a->str, "not") == 0) {
        Ref r;
        if (resolve(f, "not", &r) && r.kind == R_BUILTIN) {
            compile_expr(f, e->items[0]);
            C->line = e->line;
            emit(f, OP_NOT, 0);
            if (tail)
                emit(f, OP_RETURN, 0);
            return;
        }
    }
    if (e->a->kind == E_VAR) {
        const Shape *cs = case_named(f, e->a->str);
        if (cs) {
            compile_construct(f, cs, e, tail);
            return;
        }
    }
    if (tail && e->a->kind == E_VAR && e->nitems == f->arity) {
        Ref r;
        if (resolve(f, e->a->str, &r) && r.kind == R_SELF) {
            /* a self tail call with all arguments is a jump to the start */
            for (int i = 0; i < e->nitems; i++)
                compile_expr(f, e->items[i]);
            C->line = e->line;
            emit(f, OP_TAILSELF, e->nitems);
            return;
        }
    }
    compile_expr(f, e->a);
    for (int i = 0; i < e->nitems; i++)
        compile_expr(f, e->items[i]);
    C->line = e->line;
    emit(f, tail ? OP_TAILCALL : OP_CALL, e->nitems);
}

/* let bindings (not top level).  Leaves the bound values in slots. */
static void compile_bindings(Fn *f, Expr *e)
{
    Compiler *C = f->C;
    if (e->is_rec) {
        int base = f->depth;
        int n = e->nbinds;
        for (int i = 0; i < n; i++)
            if (e->binds[i].pat->kind != P_VAR)
                cerror(C, e->binds[i].line, e->binds[i].col,
                       "'let rec' binds names only, not patterns");
        emit(f, OP_RESERVE, n);
        for (int i = 0; i < n; i++)
            declare(f, e->binds[i].pat->name, base + i);
        uint32_t *protos = scratch(C, (size_t)n * sizeof(uint32_t));
        for (int i = 0; i < n; i++) {
            Binding *b = &e->binds[i];
            C->line = b->line;
            if (b->value->kind == E_LAMBDA) {
                protos[i] = compile_function(f, b->value, b->pat->name);
                emit(f, OP_CLOSURE, (int32_t)protos[i]);
            } else {
                protos[i] = UINT32_MAX;
                compile_expr(f, b->value);
            }
            emit(f, OP_SETLOCAL, base + i);
        }
        /* patch captures of group members that were made before them */
        for (int i = 0; i < n; i++) {
            if (protos[i] == UINT32_MAX)
                continue;
            const Proto *pr = C->protos[protos[i]];
            for (uint32_t c = 0; c < pr->ncaps; c++)
                if (pr->caps[c].kind == CAP_LOCAL && (int)pr->caps[c].index >= base &&
                    (int)pr->caps[c].index < base + n) {
                    if (c >= (1u << 16) || pr->caps[c].index >= (1u << 16))
                        cerror(C, e->line, e->col, "too many captured values or locals");
                    emit(f, OP_SETCAP, base + i);
                    emit_word(f, (c << 16) | pr->caps[c].index);
                }
        }
        return;
    }
    for (int i = 0; i < e->nbinds; i++) {
        Binding *b = &e->binds[i];
        C->line = b->line;
        int slot = f->depth;
        compile_expr(f, b->value);
        resolve_pat(C, b->pat);
        if (b->pat->kind == P_VAR) {
            declare(f, b->pat->name, slot);
            f->vars[f->nvars - 1].is_mutable = b->is_mutable;
        } else if (b->pat->kind == P_WILD || b->pat->kind == P_UNIT) {
            declare(f, NULL, slot);
        } else {
            declare(f, NULL, slot);
            PatVars pv = {0};
            reserve_vars(f, b->pat, &pv);
            emit(f, OP_LOCAL, slot);
            Jumps fails = {0};
            compile_pat(f, b->pat, &pv, &fails);
            if (fails.n) {
                uint32_t ok = emit_jump(f, OP_JUMP);
                jumps_patch(f, &fails);
                C->line = b->line;
                emit(f, OP_MATCH_FAIL, 0);
                patch_jump(f, ok);
            }
        }
    }
}

static void compile_let(Fn *f, Expr *e, bool tail)
{
    Compiler *C = f->C;
    if (!e->a)
        cerror(C, e->line, e->col,
               "the block following this 'let' is unfinished: a 'let' must be followed by an "
               "expression");
    int d = f->depth, nv = f->nvars;
    compile_bindings(f, e);
    if (tail) {
        compile_tail(f, e->a);
    } else {
        compile_expr(f, e->a);
        if (f->depth - 1 > d)
            emit(f, OP_SLIDE, f->depth - 1 - d);
    }
    f->nvars = nv;
    f->depth = d + 1;
}

static void compile_if(Fn *f, Expr *e, bool tail)
{
    Compiler *C = f->C;
    C->line = e->line;
    int d = f->depth;
    uint32_t jf = compile_cond(f, e->a);
    if (tail) {
        compile_tail(f, e->b);
        patch_jump(f, jf);
        f->depth = d;
        if (e->c)
            compile_tail(f, e->c);
        else {
            emit(f, OP_UNIT, 0);
            emit(f, OP_RETURN, 0);
        }
        f->depth = d + 1;
        return;
    }
    compile_expr(f, e->b);
    uint32_t jend = emit_jump(f, OP_JUMP);
    patch_jump(f, jf);
    f->depth = d;
    if (e->c)
        compile_expr(f, e->c);
    else
        emit(f, OP_UNIT, 0);
    patch_jump(f, jend);
    f->depth = d + 1;
}

static void compile_arms_or(Fn *f, Expr *e, int slot, bool tail, int match_line, bool reraise,
                            bool comp);

/* The scrutinee is in slot `slot`. */
static void compile_arms(Fn *f, Expr *e, int slot, bool tail, int match_line)
{
    compile_arms_or(f, e, slot, tail, match_line, false, false);
}

/* The arms of a match, or of a `with` (reraise: an exception no arm takes
 * is raised again).  comp: the bodies are in a comprehension's body. */
static void compile_arms_or(Fn *f, Expr *e, int slot, bool tail, int match_line, bool reraise,
                            bool comp)
{
    Compiler *C = f->C;
    Jumps ends = {0};
    int d = f->depth;
    for (int i = 0; i < e->narms; i++) {
        MatchArm *arm = &e->arms[i];
        int nv = f->nvars;
        C->line = arm->pat->line;
        resolve_pat(C, arm->pat);
        PatVars pv = {0};
        reserve_vars(f, arm->pat, &pv);
        Jumps fails = {0};
        if (!pat_is_trivial(arm->pat)) {
            emit(f, OP_LOCAL, slot);
            compile_pat(f, arm->pat, &pv, &fails);
        }
        if (arm->guard) {
            C->line = arm->guard->line;
            jumps_add(f, &fails, compile_cond(f, arm->guard));
        }
        if (tail) {
            compile_tail(f, arm->body);
        } else {
            f->in_comp = comp;
            compile_expr(f, arm->body);
            if (pv.n)
                emit(f, OP_SLIDE, pv.n);
            jumps_add(f, &ends, emit_jump(f, OP_JUMP));
        }
        f->nvars = nv;
        if (fails.n) {
            jumps_patch(f, &fails);
            emit(f, OP_SETTOP, d);
        } else {
            f->depth = d;
            /* later arms are unreachable; still compile them for errors */
        }
    }
    C->line = match_line;
    if (reraise) {
        emit(f, OP_LOCAL, slot);
        emit(f, OP_RERAISE, 0);
    } else {
        emit(f, OP_MATCH_FAIL, 0);
    }
    jumps_patch(f, &ends);
    f->depth = d + 1;
}

static void compile_match(Fn *f, Expr *e, bool tail)
{
    int d = f->depth, nv = f->nvars;
    compile_expr(f, e->a);
    declare(f, NULL, d);
    compile_arms(f, e, d, tail, e->line);
    f->nvars = nv;
    if (!tail)
        emit(f, OP_SLIDE, 1);
    f->depth = d + 1;
}

/*
 * try a with arms:                 try a finally b:
 *     TRY handler                      TRY handler
 *     a                                a
 *     ENDTRY                           ENDTRY
 *     JUMP end                         b; POP
 *   handler: (exception in slot d)     JUMP end
 *     arms over slot d, else         handler: (exception in slot d)
 *       RERAISE                        b; POP
 *     SLIDE 1                          RERAISE
 *   end:                             end:
 * `a` is never in tail position: its calls must return into the try.
 */
static void compile_effect(Fn *f, Expr *e);

static void compile_try(Fn *f, Expr *e, bool comp)
{
    Compiler *C = f->C;
    int d = f->depth, nv = f->nvars;
    C->line = e->line;
    uint32_t jtry = emit_jump(f, OP_TRY);
    f->in_comp = comp;
    compile_expr(f, e->a);
    C->line = e->line;
    emit(f, OP_ENDTRY, 0);
    if (e->b) {
        compile_effect(f, e->b);
        uint32_t jend = emit_jump(f, OP_JUMP);
        patch_jump(f, jtry);
        f->depth = d + 1;
        if (f->depth > f->maxdepth)
            f->maxdepth = f->depth;
        compile_effect(f, e->b);
        C->line = e->line;
        emit(f, OP_RERAISE, 0);
        patch_jump(f, jend);
        f->depth = d + 1;
        return;
    }
    uint32_t jend = emit_jump(f, OP_JUMP);
    patch_jump(f, jtry);
    f->depth = d + 1;
    if (f->depth > f->maxdepth)
        f->maxdepth = f->depth;
    declare(f, NULL, d);
    compile_arms_or(f, e, d, false, e->line, true, comp);
    f->nvars = nv;
    emit(f, OP_SLIDE, 1);
    patch_jump(f, jend);
    f->depth = d + 1;
}

/* ---------------------------------------------------- mutation, loops --- */

/* name <- value: stores into a `let mutable` local (its slot) or top-level
 * name (its global); leaves nothing on the stack. */
static void compile_store(Fn *f, Expr *e)
{
    Compiler *C = f->C;
    Ref r;
    C->line = e->line;
    if (!resolve_local(f, e->str, &r) && !resolve_global(C, e->str, &r) &&
        !resolve(f, e->str, &r) && !lookup_case(C, e->str))
        cerror(C, e->line, e->col, "The value or constructor '%s' is not defined.", e->str);
    if (!r.is_mutable || (r.kind != R_LOCAL && r.kind != R_GLOBAL))
        cerror(C, e->line, e->col,
               "This value is not mutable. Consider using the mutable keyword, e.g. 'let "
               "mutable %s = expression'.",
               e->str);
    compile_expr(f, e->a);
    C->line = e->line;
    emit(f, r.kind == R_LOCAL ? OP_SETLOCAL : OP_SETGLOBAL, r.index);
}

/* Compile e for its effect only: nothing stays on the stack.  Saves the
 * UNIT/POP pair of an assignment in a sequence or a loop body. */
static void compile_effect(Fn *f, Expr *e)
{
    if (e->kind == E_SEQ) {
        compile_effect(f, e->a);
        compile_effect(f, e->b);
        return;
    }
    if (e->kind == E_ASSIGN) {
        compile_store(f, e);
        return;
    }
    compile_expr(f, e);
    emit(f, OP_POP, 0);
}

/* A loop body: for its effect, or (comp) as part of a comprehension's
 * body.  Nothing stays on the stack. */
static void compile_body(Fn *f, Expr *body, bool comp)
{
    if (!comp) {
        compile_effect(f, body);
        return;
    }
    f->in_comp = true;
    compile_expr(f, body);
    emit(f, OP_POP, 0);
}

/* while c do body:   top: <c, false -> exit>  body  LOOP top   exit: () */
static void compile_while(Fn *f, Expr *e, bool comp)
{
    Compiler *C = f->C;
    int d = f->depth;
    uint32_t top = loop_label(f);
    uint32_t exit = compile_cond(f, e->a);
    compile_body(f, e->d, comp);
    C->line = e->line;
    emit_loop(f, OP_LOOP, top, false, 0);
    patch_jump(f, exit);
    f->depth = d;
    emit(f, OP_UNIT, 0);
}

/* A counting loop: the counter (named `name`, or hidden) and the limit are
 * two slots; FOR_PREP skips an empty loop, FOR_LOOP steps and jumps back,
 * so an iteration costs one dispatch besides the body. */
static void compile_for_count(Fn *f, Expr *e, const char *name, Expr *from, Expr *to,
                              int step, bool comp)
{
    Compiler *C = f->C;
    int d = f->depth, nv = f->nvars;
    compile_expr(f, from);
    compile_expr(f, to);
    if (d >= 65536)
        cerror(C, e->line, e->col, "too many local values in one function");
    uint32_t b = ((uint32_t)d << 16) | ((uint32_t)step & 0xFFFF);
    C->line = e->line;
    emit(f, OP_FOR_PREP, 0);
    emit_word(f, b);
    uint32_t prep = f->ncode - 2;
    declare(f, name, d);
    declare(f, NULL, d + 1);
    uint32_t top = loop_label(f);
    compile_body(f, e->d, comp);
    C->line = e->line;
    emit_loop(f, OP_FOR_LOOP, top, true, b);
    patch_jump(f, prep);
    f->nvars = nv;
    emit(f, OP_UNIT, 0);
    emit(f, OP_SLIDE, 2);
}

/* The item of a for-in loop is on top, in slot `slot`: bind the loop's
 * pattern to it (a failed pattern is a runtime error). */
static void bind_for_item(Fn *f, Expr *e, int slot)
{
    Compiler *C = f->C;
    Pat *pat = e->params[0];
    resolve_pat(C, pat);
    if (pat->kind == P_VAR) {
        declare(f, pat->name, slot);
        return;
    }
    declare(f, NULL, slot);
    if (pat_is_trivial(pat))
        return;
    PatVars pv = {0};
    reserve_vars(f, pat, &pv);
    emit(f, OP_LOCAL, slot);
    Jumps fails = {0};
    compile_pat(f, pat, &pv, &fails);
    if (fails.n) {
        uint32_t ok = emit_jump(f, OP_JUMP);
        jumps_patch(f, &fails);
        C->line = e->line;
        emit(f, OP_MATCH_FAIL, 0);
        patch_jump(f, ok);
    }
}

/*
 * for pat in c do body, where c is not a list literal: c may be a list, an
 * array or a string, which only the running code knows.  Three hidden
 * slots: the collection (a string becomes the list of its chars), the
 * array's length or -1 for a list, and the index.  A list is walked with
 * FOR_LIST; an array by index, reading each element when its turn comes,
 * as F# does (so the body sees elements it has written ahead of itself).
 *
 *   top:  LOCAL_LTI_JUMP n 0 -> arr      n < 0: a list
 *         FOR_LIST c -> exit; JUMP body
 *   arr:  k < n or -> exit; push c.[k]; k += 1
 *   body: bind pat; body; SETTOP; LOOP top
 */
static void compile_for_seq(Fn *f, Expr *e, Expr *coll, bool comp)
{
    Compiler *C = f->C;
    int d = f->depth, nv = f->nvars;
    emit_builtin(f, "$seq");
    compile_expr(f, coll);
    C->line = e->line;
    emit(f, OP_CALL, 1);
    emit_builtin(f, "$seq_length");
    emit(f, OP_LOCAL, d);
    emit(f, OP_CALL, 1);
    emit(f, OP_INT, 0);
    declare(f, NULL, d);
    declare(f, NULL, d + 1);
    declare(f, NULL, d + 2);
    uint32_t top = loop_label(f);
    C->line = e->line;
    emit(f, OP_LOCAL_LTI_JUMP, 0);
    emit_word(f, (uint32_t)(d + 1) << 16);
    uint32_t to_array = f->ncode - 2;
    emit(f, OP_FOR_LIST, 0);
    emit_word(f, (uint32_t)d);
    uint32_t list_done = f->ncode - 2;
    uint32_t to_body = emit_jump(f, OP_JUMP);
    patch_jump(f, to_array);
    f->depth = d + 3;
    emit(f, OP_LOCAL, d + 2);
    emit(f, OP_LOCAL, d + 1);
    uint32_t array_done = emit_jump(f, OP_LT_JUMP);
    emit_builtin(f, "$index");
    emit(f, OP_LOCAL, d);
    emit(f, OP_LOCAL, d + 2);
    emit(f, OP_CALL, 2);
    emit(f, OP_LOCAL, d + 2);
    emit(f, OP_ADDI, 1);
    emit(f, OP_SETLOCAL, d + 2);
    patch_jump(f, to_body);
    bind_for_item(f, e, d + 3);
    compile_body(f, e->d, comp);
    C->line = e->line;
    emit(f, OP_SETTOP, d + 3);
    emit_loop(f, OP_LOOP, top, false, 0);
    patch_jump(f, list_done);
    patch_jump(f, array_done);
    f->depth = d + 3;
    f->nvars = nv;
    emit(f, OP_UNIT, 0);
    emit(f, OP_SLIDE, 3);
}

/* for pat in list do body: the rest of the list is a hidden slot; each
 * FOR_LIST pushes the next item, which the pattern takes apart. */
static void compile_for_list(Fn *f, Expr *e, Expr *list, bool comp)
{
    Compiler *C = f->C;
    if (list->kind != E_LIST && list->kind != E_RANGE) {
        compile_for_seq(f, e, list, comp);
        return;
    }
    int d = f->depth, nv = f->nvars;
    compile_expr(f, list);
    declare(f, NULL, d);
    uint32_t top = loop_label(f);
    C->line = e->line;
    emit(f, OP_FOR_LIST, 0);
    emit_word(f, (uint32_t)d);
    uint32_t next = f->ncode - 2;
    Pat *pat = e->params[0];
    resolve_pat(C, pat);
    if (pat->kind == P_VAR) {
        declare(f, pat->name, d + 1);
    } else {
        declare(f, NULL, d + 1);
        if (!pat_is_trivial(pat)) {
            PatVars pv = {0};
            reserve_vars(f, pat, &pv);
            emit(f, OP_LOCAL, d + 1);
            Jumps fails = {0};
            compile_pat(f, pat, &pv, &fails);
            if (fails.n) {
                uint32_t ok = emit_jump(f, OP_JUMP);
                jumps_patch(f, &fails);
                C->line = e->line;
                emit(f, OP_MATCH_FAIL, 0);
                patch_jump(f, ok);
            }
        }
    }
    compile_body(f, e->d, comp);
    C->line = e->line;
    emit(f, OP_SETTOP, d + 1);
    emit_loop(f, OP_LOOP, top, false, 0);
    patch_jump(f, next);
    f->depth = d + 1;
    f->nvars = nv;
    emit(f, OP_UNIT, 0);
    emit(f, OP_SLIDE, 1);
}

static bool maybe_int(const Expr *e) { return e->kind != E_FLOAT && e->kind != E_CHAR; }

/* for pat in a .. [step ..] b counts when the pattern is a name or `_`, the
 * step a small non-zero int literal and neither bound a float or char
 * literal; any other range is made as a list and walked. */
static void compile_for_in(Fn *f, Expr *e, bool comp)
{
    Pat *pat = e->params[0];
    if (e->op == TK_DOTDOT) {
        bool small_step = !e->b || (e->b->kind == E_INT && e->b->i != 0 && e->b->i >= -32768 &&
                                    e->b->i < 32768);
        if ((pat->kind == P_VAR || pat->kind == P_WILD) && small_step && maybe_int(e->a) &&
            maybe_int(e->c)) {
            compile_for_count(f, e, pat->kind == P_VAR ? pat->name : NULL, e->a, e->c,
                              e->b ? (int)e->b->i : 1, comp);
            return;
        }
        Expr *range = scratch(f->C, sizeof *range);
        *range = *e;
        range->kind = E_RANGE;
        compile_for_list(f, e, range, comp);
        return;
    }
    compile_for_list(f, e, e->a, comp);
}

/* ------------------------------------------------------ comprehensions --- */

/*
 * [ body ] and [| body |]: the body runs once, as code; each yield conses
 * its value onto a hidden accumulator slot, and the end reverses it into
 * the list (or array).  So a comprehension costs one cons per item plus
 * the reversal, needs no closures and no C recursion however many items
 * it makes, and its loops are the ordinary loops (budgeted, F#'s order of
 * evaluation).
 *
 * In the body, loops, if/else, match, let, try and `;` take comprehension
 * bodies in their branches (compile_comp); every other expression is an
 * ordinary one.  A body without an explicit yield yields its bare
 * expressions whose value is not unit, as F# does (there is no type
 * checker: the test is made on the value when it comes).
 */

/* Whether the comprehension body e has a yield of its own (not in a
 * nested comprehension or a function). */
static bool has_yield(const Expr *e)
{
    switch (e->kind) {
    case E_YIELD:
        return true;
    case E_FOR: case E_FOR_IN: case E_WHILE:
        return has_yield(e->d);
    case E_IF:
        return has_yield(e->b) || (e->c && has_yield(e->c));
    case E_LET:
        return e->a && has_yield(e->a);
    case E_SEQ:
        return has_yield(e->a) || has_yield(e->b);
    case E_TRY:
    case E_MATCH:
        if (e->kind == E_TRY && has_yield(e->a))
            return true;
        for (int i = 0; i < e->narms; i++)
            if (has_yield(e->arms[i].body))
                return true;
        return false;
    default:
        return false;
    }
}

/* Compile e in comprehension position (in_comp was set): push one value,
 * which the caller drops. */
static void compile_comp(Fn *f, Expr *e)
{
    Compiler *C = f->C;
    int d = f->depth, acc = f->comp_acc;
    switch (e->kind) {
    case E_YIELD:
        if (e->op == 1) {
            /* yield! c == for $item in c do yield $item */
            Expr *item = mk_var(C, e, "$item");
            Expr *y = scratch(C, sizeof *y);
            *y = *e;
            y->op = 0;
            y->a = item;
            Expr *loop = scratch(C, sizeof *loop);
            *loop = *e;
            loop->kind = E_FOR_IN;
            loop->op = 0;
            loop->a = e->a;
            loop->d = y;
            loop->params = scratch(C, sizeof(Pat *));
            loop->params[0] = mk_pvar(C, e, "$item");
            loop->nparams = 1;
            compile_for_in(f, loop, true);
            return;
        }
        compile_expr(f, e->a);
        C->line = e->line;
        emit(f, OP_LOCAL, acc);
        emit(f, OP_CONS, 0);
        emit(f, OP_SETLOCAL, acc);
        emit(f, OP_UNIT, 0);
        return;
    case E_FOR_IN:
        compile_for_in(f, e, true);
        return;
    case E_FOR:
        compile_for_count(f, e, e->str, e->a, e->c, e->op == TK_TO ? 1 : -1, true);
        return;
    case E_WHILE:
        compile_while(f, e, true);
        return;
    case E_SEQ:
        f->in_comp = true;
        compile_expr(f, e->a);
        emit(f, OP_POP, 0);
        f->in_comp = true;
        compile_expr(f, e->b);
        return;
    case E_IF: {
        C->line = e->line;
        uint32_t jf = compile_cond(f, e->a);
        f->in_comp = true;
        compile_expr(f, e->b);
        uint32_t jend = emit_jump(f, OP_JUMP);
        patch_jump(f, jf);
        f->depth = d;
        if (e->c) {
            f->in_comp = true;
            compile_expr(f, e->c);
        } else {
            emit(f, OP_UNIT, 0);
        }
        patch_jump(f, jend);
        f->depth = d + 1;
        return;
    }
    case E_LET: {
        int nv = f->nvars;
        if (!e->a)
            cerror(C, e->line, e->col,
                   "the block following this 'let' is unfinished: a 'let' must be followed by "
                   "an expression");
        compile_bindings(f, e);
        f->in_comp = true;
        compile_expr(f, e->a);
        if (f->depth - 1 > d)
            emit(f, OP_SLIDE, f->depth - 1 - d);
        f->nvars = nv;
        f->depth = d + 1;
        return;
    }
    case E_TRY:
        compile_try(f, e, true);
        return;
    case E_MATCH: {
        int nv = f->nvars;
        compile_expr(f, e->a);
        declare(f, NULL, d);
        compile_arms_or(f, e, d, false, e->line, false, true);
        f->nvars = nv;
        emit(f, OP_SLIDE, 1);
        f->depth = d + 1;
        return;
    }
    default:
        break;
    }
    compile_expr(f, e);
    if (!f->comp_implicit)
        return; /* F# drops the value (with a warning unless it is unit) */
    /* yield it unless it is (): DUP UNIT EQ JUMP_IF_TRUE end; cons; () */
    C->line = e->line;
    emit(f, OP_DUP, 0);
    emit(f, OP_UNIT, 0);
    emit(f, OP_EQ, 0);
    uint32_t skip = emit_jump(f, OP_JUMP_IF_TRUE);
    emit(f, OP_LOCAL, acc);
    emit(f, OP_CONS, 0);
    emit(f, OP_SETLOCAL, acc);
    emit(f, OP_UNIT, 0);
    patch_jump(f, skip);
    f->depth = d + 1;
}

/* [ body ] or [| body |]: see above. */
static void compile_compr(Fn *f, Expr *e)
{
    Compiler *C = f->C;
    int d = f->depth, nv = f->nvars;
    int saved_acc = f->comp_acc;
    bool saved_implicit = f->comp_implicit;
    emit(f, OP_NIL, 0);
    declare(f, NULL, d);
    f->comp_acc = d;
    f->comp_implicit = !has_yield(e->a);
    f->in_comp = true;
    compile_expr(f, e->a);
    emit(f, OP_POP, 0);
    f->comp_acc = saved_acc;
    f->comp_implicit = saved_implicit;
    C->line = e->line;
    emit_builtin(f, e->op ? "$array_of_rev" : "List.rev");
    emit(f, OP_LOCAL, d);
    emit(f, OP_CALL, 1);
    emit(f, OP_SLIDE, 1);
    f->nvars = nv;
    f->depth = d + 1;
}

static void compile_expr_inner(Fn *f, Expr *e, bool tail);

static void compile_expr(Fn *f, Expr *e) { compile_expr_inner(f, e, false); }

static void compile_tail(Fn *f, Expr *e) { compile_expr_inner(f, e, true); }

static void compile_expr_inner(Fn *f, Expr *e, bool tail)
{
    Compiler *C = f->C;
    C->line = e->line;
    C->col = e->col;
    if (f->in_comp) {
        f->in_comp = false;
        compile_comp(f, e);
        return;
    }
    switch (e->kind) {
    case E_APP:
        compile_app(f, e, tail);
        return;
    case E_LET:
        compile_let(f, e, tail);
        return;
    case E_IF:
        compile_if(f, e, tail);
        return;
    case E_MATCH:
        compile_match(f, e, tail);
        return;
    case E_SEQ:
        compile_effect(f, e->a);
        compile_expr_inner(f, e->b, tail);
        return;
    case E_AND:
    case E_OR: {
        int d = f->depth;
        compile_expr(f, e->a);
        uint32_t j = emit_jump(f, e->kind == E_AND ? OP_JUMP_IF_FALSE : OP_JUMP_IF_TRUE);
        if (tail) {
            compile_tail(f, e->b);
            patch_jump(f, j);
            f->depth = d;
            emit(f, e->kind == E_AND ? OP_FALSE : OP_TRUE, 0);
            emit(f, OP_RETURN, 0);
            f->depth = d + 1;
            return;
        }
        compile_expr(f, e->b);
        uint32_t end = emit_jump(f, OP_JUMP);
        patch_jump(f, j);
        f->depth = d;
        emit(f, e->kind == E_AND ? OP_FALSE : OP_TRUE, 0);
        patch_jump(f, end);
        return;
    }
    default:
        break;
    }
    /* value-producing leaves */
    switch (e->kind) {
    case E_INT:
        emit_int(f, e->i);
        break;
    case E_FLOAT:
        emit(f, OP_CONST, (int32_t)add_const(f, mk_float(e->f)));
        break;
    case E_STRING:
        emit(f, OP_CONST, (int32_t)add_string_const(f, e->str, e->str_len));
        break;
    case E_CHAR:
        emit(f, OP_CONST, (int32_t)add_const(f, mk_char((uint32_t)e->i)));
        break;
    case E_BOOL:
        emit(f, e->i ? OP_TRUE : OP_FALSE, 0);
        break;
    case E_UNIT:
        emit(f, OP_UNIT, 0);
        break;
    case E_VAR:
        compile_var(f, e);
        break;
    case E_RECORD:
        compile_record(f, e);
        break;
    case E_FIELD:
        compile_expr(f, e->a);
        emit_getfield(f, e->str, e->line, e->col);
        break;
    case E_CONSTRUCT:
        for (int i = 0; i < e->nitems; i++)
            compile_expr(f, e->items[i]);
        C->line = e->line;
        emit_shape_op(f, OP_DATA, e->nitems, e->shape);
        break;
    case E_LAMBDA:
        emit(f, OP_CLOSURE, (int32_t)compile_function(f, e, NULL));
        break;
    case E_FUNCTION: {
        static const char *arg[] = {"$arg"};
        Expr *m = scratch(C, sizeof *m);
        *m = *e;
        m->kind = E_MATCH;
        m->a = mk_var(C, e, "$arg");
        Expr *lam = mk_lambda(C, e, 1, arg, m);
        lam->fn_name = e->fn_name;
        emit(f, OP_CLOSURE, (int32_t)compile_function(f, lam, NULL));
        break;
    }
    case E_TUPLE:
        for (int i = 0; i < e->nitems; i++)
            compile_expr(f, e->items[i]);
        C->line = e->line;
        emit(f, OP_TUPLE, e->nitems);
        break;
    case E_LIST:
        if (e->nitems == 0) {
            emit(f, OP_NIL, 0);
            break;
        }
        for (int i = 0; i < e->nitems; i++)
            compile_expr(f, e->items[i]);
        C->line = e->line;
        emit(f, OP_LIST, e->nitems);
        break;
    case E_RANGE:
        compile_expr(f, e->a);
        if (e->b)
            compile_expr(f, e->b);
        compile_expr(f, e->c);
        C->line = e->line;
        emit(f, OP_RANGE, e->b ? 1 : 0);
        break;
    case E_BINOP:
        compile_binop(f, e);
        break;
    case E_NEG:
        compile_expr(f, e->a);
        C->line = e->line;
        emit(f, OP_NEG, 0);
        break;
    case E_OPFN: {
        Expr *lam = desugar_opfn(C, e);
        emit(f, OP_CLOSURE, (int32_t)compile_function(f, lam, NULL));
        break;
    }
    case E_COMPOSE:
        compile_compose(f, e);
        break;
    case E_ASSIGN:
        compile_store(f, e);
        emit(f, OP_UNIT, 0);
        break;
    case E_WHILE:
        compile_while(f, e, false);
        break;
    case E_FOR:
        compile_for_count(f, e, e->str, e->a, e->c, e->op == TK_TO ? 1 : -1, false);
        break;
    case E_FOR_IN:
        compile_for_in(f, e, false);
        break;
    case E_COMPR:
        compile_compr(f, e);
        break;
    case E_YIELD:
        if (e->op == 2)
            cerror(C, e->line, e->col,
                   "'for ... ->' may only be used in a list or array expression: write 'for "
                   "... do' for a loop");
        cerror(C, e->line, e->col,
               "'%s' may only be used within list or array expressions", e->op ? "yield!" : "yield");
    case E_ARRAY:
        /* made from the tuple of its items, the list of its range, or ()
         * when empty */
        emit_builtin(f, "$array");
        if (e->a) {
            compile_expr(f, e->a);
        } else if (e->nitems == 0) {
            emit(f, OP_UNIT, 0);
        } else {
            for (int i = 0; i < e->nitems; i++)
                compile_expr(f, e->items[i]);
            C->line = e->line;
            emit(f, OP_TUPLE, e->nitems);
        }
        C->line = e->line;
        emit(f, OP_CALL, 1);
        break;
    case E_INDEX:
        compile_native_call(f, "$index", (Expr *[]){e->a, e->b}, 2, e->line);
        break;
    case E_SETINDEX:
        compile_native_call(f, "$setindex", (Expr *[]){e->a, e->b, e->c}, 3, e->line);
        break;
    case E_TRY:
        compile_try(f, e, false);
        break;
    default:
        cerror(C, e->line, e->col, "unsupported expression");
    }
    if (tail)
        emit(f, OP_RETURN, 0);
}

/* ------------------------------------------------------------ functions --- */

static const Proto *finish_proto(Fn *f, const char *name, int line)
{
    Compiler *C = f->C;
    Proto *p = keep(C, sizeof *p);
    uint32_t *code = keep(C, f->ncode * sizeof(uint32_t) + 1);
    uint32_t *lines = keep(C, f->ncode * sizeof(uint32_t) + 1);
    if (f->ncode) {
        memcpy(code, f->code, f->ncode * sizeof(uint32_t));
        memcpy(lines, f->lines, f->ncode * sizeof(uint32_t));
    }
    Value *consts = keep(C, f->nconsts * sizeof(Value) + 1);
    if (f->nconsts)
        memcpy(consts, f->consts, f->nconsts * sizeof(Value));
    CapDesc *caps = keep(C, f->ncaps * sizeof(CapDesc) + 1);
    if (f->ncaps)
        memcpy(caps, f->caps, f->ncaps * sizeof(CapDesc));
    p->code = code;
    p->lines = lines;
    p->ncode = f->ncode;
    p->consts = consts;
    p->nconsts = f->nconsts;
    p->caps = caps;
    p->ncaps = f->ncaps;
    p->arity = (uint32_t)f->arity;
    p->maxstack = (uint32_t)f->maxdepth + 8;
    p->line = line;
    p->chunk = C->chunk;
    const char *nm = name ? name : "<fun>";
    size_t n = strlen(nm);
    char *copy = keep(C, n + 1);
    memcpy(copy, nm, n + 1);
    p->name = copy;
    return p;
}

static uint32_t add_proto(Compiler *C, const Proto *p)
{
    C->protos = grow(C, C->protos, C->nprotos, &C->capprotos, sizeof(Proto *));
    C->protos[C->nprotos] = p;
    return C->nprotos++;
}

static uint32_t compile_function(Fn *parent, Expr *lam, const char *self_name)
{
    Compiler *C = parent->C;
    int saved_line = C->line;
    /* fun a -> fun b -> e has arity 2: nothing can run between the two */
    int nparams = 0;
    for (Expr *l = lam; l->kind == E_LAMBDA; l = l->a)
        nparams += l->nparams;
    Pat **params = scratch(C, (size_t)nparams * sizeof(Pat *));
    Expr *body = lam;
    int k = 0;
    while (body->kind == E_LAMBDA) {
        for (int i = 0; i < body->nparams; i++)
            params[k++] = body->params[i];
        body = body->a;
    }
    if (nparams > 255)
        cerror(C, lam->line, lam->col, "too many parameters (limit 255)");

    Fn f = {0};
    f.parent = parent;
    f.C = C;
    f.self_name = self_name;
    f.arity = nparams;
    f.depth = f.maxdepth = nparams;
    f.line = lam->line;
    for (int i = 0; i < nparams; i++) {
        resolve_pat(C, params[i]);
        declare(&f, params[i]->kind == P_VAR ? params[i]->name : NULL, i);
    }
    for (int i = 0; i < nparams; i++) {
        Pat *p = params[i];
        if (p->kind == P_VAR || pat_is_trivial(p))
            continue;
        C->line = p->line;
        PatVars pv = {0};
        reserve_vars(&f, p, &pv);
        emit(&f, OP_LOCAL, i);
        Jumps fails = {0};
        compile_pat(&f, p, &pv, &fails);
        if (fails.n) {
            uint32_t ok = emit_jump(&f, OP_JUMP);
            jumps_patch(&f, &fails);
            emit(&f, OP_MATCH_FAIL, 0);
            patch_jump(&f, ok);
        }
    }
    compile_tail(&f, body);
    const char *name = lam->fn_name ? lam->fn_name : self_name;
    uint32_t idx = add_proto(C, finish_proto(&f, name, lam->line));
    C->line = saved_line;
    return idx;
}

/* ----------------------------------------------------------- top level --- */

static void compile_toplevel_let(Fn *f, Expr *e)
{
    Compiler *C = f->C;
    /* functions of a module are named by their path in stack traces */
    for (int i = 0; C->mod_path && i < e->nbinds; i++) {
        Binding *b = &e->binds[i];
        if (b->pat->kind == P_VAR && b->value->kind == E_LAMBDA)
            b->value->fn_name = qualify(C, b->pat->name);
    }
    if (e->is_rec) {
        uint32_t first = C->nglobals;
        for (int i = 0; i < e->nbinds; i++) {
            if (e->binds[i].pat->kind != P_VAR)
                cerror(C, e->binds[i].line, e->binds[i].col,
                       "'let rec' binds names only, not patterns");
            new_global(C, qualify(C, e->binds[i].pat->name));
        }
        C->nvisible = C->nglobals;
        for (int i = 0; i < e->nbinds; i++) {
            Binding *b = &e->binds[i];
            C->line = b->line;
            if (b->value->kind == E_LAMBDA)
                emit(f, OP_CLOSURE, (int32_t)compile_function(f, b->value, b->pat->name));
            else
                compile_expr(f, b->value);
            emit(f, OP_SETGLOBAL, (int32_t)(first + (uint32_t)i));
        }
        return;
    }
    for (int i = 0; i < e->nbinds; i++) {
        Binding *b = &e->binds[i];
        C->line = b->line;
        resolve_pat(C, b->pat);
        if (b->pat->kind == P_VAR) {
            compile_expr(f, b->value);
            uint32_t g = new_global(C, qualify(C, b->pat->name));
            C->global_mutable[g] = b->is_mutable;
            emit(f, OP_SETGLOBAL, (int32_t)g);
        } else {
            compile_expr(f, b->value);
            PatVars pv = {0};
            pv.global = true;
            collect_vars(C, b->pat, &pv);
            for (int j = 0; j < pv.n; j++)
                pv.index[j] = (int)new_global(C, qualify(C, pv.names[j]));
            Jumps fails = {0};
            int d = f->depth;
            compile_pat(f, b->pat, &pv, &fails);
            if (fails.n) {
                uint32_t ok = emit_jump(f, OP_JUMP);
                jumps_patch(f, &fails);
                C->line = b->line;
                emit(f, OP_MATCH_FAIL, 0);
                patch_jump(f, ok);
            }
            f->depth = d - 1;
        }
    }
    C->nvisible = C->nglobals;
}

/* .NET namespaces that F# scripts open for names Mini-F# has built in. */
static bool is_dotnet_namespace(const char *name)
{
    return strcmp(name, "System") == 0 || strncmp(name, "System.", 7) == 0 ||
           strcmp(name, "Microsoft.FSharp") == 0 || strncmp(name, "Microsoft.FSharp.", 17) == 0 ||
           strcmp(name, "FSharp.Core") == 0;
}

static void compile_decl(Fn *top, Expr *e);

/* module M = decls: its bindings are the globals "Path.M.x"; the opens
 * inside it end with it. */
static void compile_module(Fn *top, Expr *e)
{
    Compiler *C = top->C;
    const char *path = qualify(C, e->str);
    for (uint32_t i = 0; i < C->nmodules; i++)
        if (strcmp(C->modules[i], path) == 0)
            cerror(C, e->line, e->col, "Duplicate definition of module '%s'", e->str);
    C->modules = grow(C, C->modules, C->nmodules, &C->capmodules, sizeof(char *));
    C->modules[C->nmodules++] = path;
    const char *saved_path = C->mod_path;
    uint32_t saved_opens = C->nopens;
    C->mod_path = path;
    for (int i = 0; i < e->nitems; i++)
        compile_decl(top, e->items[i]);
    C->mod_path = saved_path;
    C->nopens = saved_opens;
}

/* open M: M's names become visible unqualified, to the end of the module
 * (or file) that opens it. */
static void compile_open(Compiler *C, Expr *e)
{
    const char *m = find_module(C, e->str);
    if (!m) {
        if (is_dotnet_namespace(e->str))
            return;
        cerror(C, e->line, e->col, "The namespace or module '%s' is not defined.", e->str);
    }
    C->opens = grow(C, C->opens, C->nopens, &C->capopens, sizeof(Open));
    C->opens[C->nopens].path = m;
    C->opens[C->nopens].globals_at = C->nglobals;
    C->opens[C->nopens].cases_at = C->types.ncases;
    C->nopens++;
}

/* A declaration of the program or of a module. */
static void compile_decl(Fn *top, Expr *e)
{
    Compiler *C = top->C;
    C->line = e->line;
    if (e->kind == E_LET && !e->a) {
        compile_toplevel_let(top, e);
    } else if (e->kind == E_TYPE) {
        TypeError terr;
        uint32_t before = C->types.ncases;
        int rc = types_declare(&C->types, e->types, e->ntypes, &terr);
        if (rc == -2) {
            C->nomem = 1;
            longjmp(C->fail, 1);
        }
        if (rc)
            cerror(C, terr.line, terr.col, "%s", terr.msg);
        /* remember the module of each new case (types.c knows none) */
        while (C->ncase_mods < before) {
            C->case_mods = grow(C, C->case_mods, C->ncase_mods, &C->capcase_mods,
                                sizeof(char *));
            C->case_mods[C->ncase_mods++] = NULL;
        }
        for (uint32_t i = before; i < C->types.ncases; i++) {
            C->case_mods = grow(C, C->case_mods, C->ncase_mods, &C->capcase_mods,
                                sizeof(char *));
            C->case_mods[C->ncase_mods++] = C->mod_path;
        }
    } else if (e->kind == E_MODULE) {
        compile_module(top, e);
    } else if (e->kind == E_OPEN) {
        compile_open(C, e);
    } else {
        compile_expr(top, e);
        emit(top, OP_POP, 0);
    }
}

int compile_program(const fsrs_compile_options *opts, Arena *scr, const Program *prog,
                    const char *name, fsrs_chunk **out, CompileError *err)
{
    Mem mem;
    mem_init(&mem, opts->alloc, opts->alloc_userdata);
    fsrs_chunk *chunk = mem_alloc(&mem, sizeof *chunk);
    if (!chunk)
        return FSRS_ENOMEM;
    memset(chunk, 0, sizeof *chunk);
    chunk->mem = mem;
    arena_init(&chunk->arena, &chunk->mem);
    atomic_init(&chunk->refs, 1);

    Compiler C = {0};
    C.opts = opts;
    C.scratch = scr;
    C.chunk = chunk;
    C.err = err;
    if (setjmp(C.fail)) {
        arena_free(&chunk->arena);
        mem_free(&mem, chunk, sizeof *chunk);
        return C.nomem ? FSRS_ENOMEM : FSRS_ECOMPILE;
    }
    types_init(&C.types, &chunk->arena, chunk);
    size_t nlen = strlen(name);
    char *nm = keep(&C, nlen + 1);
    memcpy(nm, name, nlen + 1);
    chunk->name = nm;

    Fn top = {0};
    top.C = &C;
    for (int i = 0; i < prog->nitems; i++)
        compile_decl(&top, prog->items[i]);
    C.line = prog->nitems ? prog->items[prog->nitems - 1]->line : 1;
    emit(&top, OP_UNIT, 0);
    emit(&top, OP_RETURN, 0);
    const Proto *main = finish_proto(&top, "<top>", 1);
    add_proto(&C, main);

    chunk->main = main;
    chunk->nprotos = C.nprotos;
    chunk->protos = keep(&C, C.nprotos * sizeof(Proto *));
    memcpy(chunk->protos, C.protos, C.nprotos * sizeof(Proto *));
    chunk->nglobals = C.nglobals;
    chunk->globals = keep(&C, (C.nglobals + 1) * sizeof(char *));
    for (uint32_t i = 0; i < C.nglobals; i++) {
        size_t n = strlen(C.globals[i]);
        char *g = keep(&C, n + 1);
        memcpy(g, C.globals[i], n + 1);
        chunk->globals[i] = g;
    }
    chunk->nhosts = C.nhosts;
    chunk->hosts = keep(&C, (C.nhosts + 1) * sizeof(char *));
    if (C.nhosts)
        memcpy(chunk->hosts, C.hosts, C.nhosts * sizeof(char *));
    *out = chunk;
    return FSRS_OK;
}
