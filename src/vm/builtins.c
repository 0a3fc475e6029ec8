/*
 * vm/builtins.c - the functions every script can call without a host:
 * conversions (string, int, float), tuples (fst, snd), id, ignore, not,
 * abs, min, max, compare, failwith, print, hash, raise, invalidArg; the
 * union types every script has without declaring them: option (None,
 * Some), Result (Ok, Error) and the built-in exceptions (Failure, ...).
 * builtin_lookup also searches the library files' tables (lib_*.c).
 * They are static objects in the library's read-only data, shared by every
 * VM and thread; the compiler finds them by name (builtin_lookup,
 * builtin_case) and the VM by index (OP_BUILTIN) or through the chunk's
 * constants.  Each function runs on the thread of the VM that calls it.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lang/compile.h"
#include "util/error.h"
#include "util/hash.h"
#include "vm/vm.h"

#define ARGS fsrs_vm *vm, const Value *a, int argc, Value *out, void *ud
#define UNUSED (void)argc, (void)ud

static int bi_id(ARGS) { (void)vm; UNUSED; *out = a[0]; return 0; }
static int bi_ignore(ARGS) { (void)vm; (void)a; UNUSED; *out = mk_unit(); return 0; }

static int bi_not(ARGS)
{
    UNUSED;
    if (!IS_BOOL(a[0]))
        vm_throw(vm, FSRS_ERUNTIME, "'not' expects a bool, not %s", value_type_name(a[0]));
    *out = mk_bool(!AS_BOOL(a[0]));
    return 0;
}

static int bi_fst(ARGS)
{
    UNUSED;
    if (!IS_TUPLE(a[0]) || AS_TUPLE(a[0])->n != 2)
        vm_throw(vm, FSRS_ERUNTIME, "'fst' expects a pair, not %s", value_type_name(a[0]));
    *out = AS_TUPLE(a[0])->items[0];
    return 0;
}

static int bi_snd(ARGS)
{
    UNUSED;
    if (!IS_TUPLE(a[0]) || AS_TUPLE(a[0])->n != 2)
        vm_throw(vm, FSRS_ERUNTIME, "'snd' expects a pair, not %s", value_type_name(a[0]));
    *out = AS_TUPLE(a[0])->items[1];
    return 0;
}

static int bi_abs(ARGS)
{
    UNUSED;
    if (IS_INT(a[0]))
        *out = mk_int(AS_INT(a[0]) < 0 ? (int64_t)(0 - (uint64_t)AS_INT(a[0])) : AS_INT(a[0]));
    else if (IS_FLOAT(a[0]))
        *out = mk_float(fabs(AS_FLOAT(a[0])));
    else
        vm_throw(vm, FSRS_ERUNTIME, "'abs' expects a number, not %s", value_type_name(a[0]));
    return 0;
}

/* value_compare for natives: values that cannot be compared (functions)
 * raise the error it gives. */
int vm_compare(fsrs_vm *vm, Value x, Value y)
{
    const char *err = NULL;
    int c = value_compare(x, y, &err);
    if (err)
        vm_throw(vm, FSRS_ERUNTIME, "%s", err);
    return c;
}

static int bi_min(ARGS) { UNUSED; *out = vm_compare(vm, a[0], a[1]) <= 0 ? a[0] : a[1]; return 0; }
static int bi_max(ARGS) { UNUSED; *out = vm_compare(vm, a[0], a[1]) >= 0 ? a[0] : a[1]; return 0; }
static int bi_compare(ARGS) { UNUSED; *out = mk_int(vm_compare(vm, a[0], a[1])); return 0; }

static int bi_failwith(ARGS)
{
    UNUSED;
    (void)out;
    if (!IS_STRING(a[0]))
        vm_throw(vm, FSRS_ERUNTIME, "'failwith' expects a string, not %s", value_type_name(a[0]));
    vm_throw(vm, FSRS_ERUNTIME, "%s", AS_STRING(a[0])->chars);
}

/* raise exn: exn is a value of type exn (Failure "m", a declared
 * exception, ...). */
static int bi_raise(ARGS)
{
    UNUSED;
    (void)out;
    vm_raise_value(vm, a[0]);
}

/* reraise (): the exception the latest `with` took, raised again from where
 * it was first raised. */
static int bi_reraise(ARGS)
{
    UNUSED;
    (void)out;
    (void)a;
    if (!IS_OBJ(vm->caught))
        vm_throw(vm, FSRS_ERUNTIME, "'reraise' may only be called in a 'with' handler");
    vm_reraise(vm, vm->caught);
}

static const char *str_arg(fsrs_vm *vm, Value v, const char *fn)
{
    if (!IS_STRING(v))
        vm_throw(vm, FSRS_ERUNTIME, "'%s' expects a string, not %s", fn, value_type_name(v));
    return AS_STRING(v)->chars;
}

/* invalidArg "name" "msg": ArgumentException with .NET's message. */
static int bi_invalid_arg(ARGS)
{
    UNUSED;
    (void)out;
    const char *name = str_arg(vm, a[0], "invalidArg"), *msg = str_arg(vm, a[1], "invalidArg");
    char m[512];
    snprintf(m, sizeof m, "%s (Parameter '%s')", msg, name);
    vm_throw_exn(vm, EXN_ARGUMENT, m, "%s", m);
}

static int bi_invalid_op(ARGS)
{
    UNUSED;
    (void)out;
    const char *msg = str_arg(vm, a[0], "invalidOp");
    vm_throw_exn(vm, EXN_INVALID_OPERATION, msg, "%s", msg);
}

static int bi_hash(ARGS)
{
    UNUSED;
    (void)vm;
    *out = mk_int((int64_t)(int32_t)value_hash(a[0]));
    return 0;
}

static int bi_string(ARGS)
{
    UNUSED;
    if (IS_STRING(a[0])) {
        *out = a[0];
        return 0;
    }
    Buf b;
    buf_init(&b, &vm->mem);
    fmt_tostring(&b, a[0]);
    if (b.failed) {
        buf_free(&b);
        vm_throw(vm, FSRS_ENOMEM, "out of memory");
    }
    ObjString *s = str_new(vm, b.data ? b.data : "", b.len);
    buf_free(&b);
    if (!s)
        vm_throw(vm, FSRS_ENOMEM, "out of memory");
    *out = mk_obj(s);
    return 0;
}

/* print v: the earlier FSRS dialect's printer.  A string prints as it is,
 * anything else as "%A" renders it; then a new line. */
static int bi_print(ARGS)
{
    UNUSED;
    Buf b;
    buf_init(&b, &vm->mem);
    if (IS_STRING(a[0]))
        buf_put(&b, AS_STRING(a[0])->chars, AS_STRING(a[0])->len);
    else
        fmt_show(&b, a[0]);
    buf_putc(&b, '\n');
    if (b.failed) {
        buf_free(&b);
        vm_throw(vm, FSRS_ENOMEM, "out of memory");
    }
    vm_output(vm, false, b.data, b.len);
    buf_free(&b);
    *out = mk_unit();
    return 0;
}

/* .NET-style parse: optional blanks, sign, digits (or 0x/0o/0b). */
static bool parse_int(const char *s, int64_t *out)
{
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    bool neg = false;
    if (*s == '-' || *s == '+')
        neg = *s++ == '-';
    int base = 10;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        base = 16, s += 2;
    else if (s[0] == '0' && (s[1] == 'o' || s[1] == 'O'))
        base = 8, s += 2;
    else if (s[0] == '0' && (s[1] == 'b' || s[1] == 'B'))
        base = 2, s += 2;
    if (!*s)
        return false;
    uint64_t v = 0;
    const char *p = s;
    for (; *p; p++) {
        int d;
        if (*p >= '0' && *p <= '9')
            d = *p - '0';
        else if (*p >= 'a' && *p <= 'f')
            d = *p - 'a' + 10;
        else if (*p >= 'A' && *p <= 'F')
            d = *p - 'A' + 10;
        else
            break;
        if (d >= base)
            return false;
        if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
            return false;
        v = v * (uint64_t)base + (uint64_t)d;
    }
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    if (*p || p == s)
        return false;
    if (base == 10 && v > (uint64_t)INT64_MAX + (neg ? 1u : 0u))
        return false;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return true;
}

static int bi_int(ARGS)
{
    UNUSED;
    Value v = a[0];
    if (IS_INT(v) || IS_CHAR(v)) {
        *out = mk_int(AS_INT(v));
    } else if (IS_FLOAT(v)) {
        double d = AS_FLOAT(v);
        if (isnan(d) || d >= 9223372036854775808.0 || d < -9223372036854775808.0)
            *out = mk_int(INT64_MIN);
        else
            *out = mk_int((int64_t)d);
    } else if (IS_STRING(v)) {
        int64_t i;
        if (!parse_int(AS_STRING(v)->chars, &i))
            vm_throw(vm, FSRS_ERUNTIME, "The input string '%s' was not in a correct format.",
                     AS_STRING(v)->chars);
        *out = mk_int(i);
    } else {
        vm_throw(vm, FSRS_ERUNTIME, "'int' cannot convert %s", value_type_name(v));
    }
    return 0;
}

/* char 97 = 'a'; char "a" = 'a' (a string of one char, as .NET parses) */
static int bi_char(ARGS)
{
    UNUSED;
    Value v = a[0];
    if (IS_CHAR(v)) {
        *out = v;
    } else if (IS_INT(v)) {
        *out = mk_char((uint32_t)(AS_INT(v) & 0xFFFF));
    } else if (IS_FLOAT(v)) {
        *out = mk_char((uint32_t)((int64_t)AS_FLOAT(v) & 0xFFFF));
    } else if (IS_STRING(v) && AS_STRING(v)->len == 1) {
        *out = mk_char((unsigned char)AS_STRING(v)->chars[0]);
    } else if (IS_STRING(v)) {
        vm_throw(vm, FSRS_ERUNTIME, "String must be exactly one character long.");
    } else {
        vm_throw(vm, FSRS_ERUNTIME, "'char' cannot convert %s", value_type_name(v));
    }
    return 0;
}

static int bi_float(ARGS)
{
    UNUSED;
    Value v = a[0];
    if (IS_FLOAT(v)) {
        *out = v;
    } else if (IS_INT(v)) {
        *out = mk_float((double)AS_INT(v));
    } else if (IS_STRING(v)) {
        const char *s = AS_STRING(v)->chars;
        char *end;
        errno = 0;
        double d = strtod(s, &end);
        while (*end == ' ' || *end == '\t')
            end++;
        bool blank = true;
        for (const char *p = s; *p; p++)
            if (*p != ' ' && *p != '\t')
                blank = false;
        if (blank || *end || strpbrk(s, "xXpP"))
            vm_throw(vm, FSRS_ERUNTIME, "The input string '%s' was not in a correct format.", s);
        *out = mk_float(d);
    } else {
        vm_throw(vm, FSRS_ERUNTIME, "'float' cannot convert %s", value_type_name(v));
    }
    return 0;
}

#define BUILTIN(fname, ar, cname)                                                            \
    {                                                                                        \
        .obj = {.next = NULL, .type = O_NATIVE, .marked = 0, .is_static = 1, .size = 0},    \
        .fn = cname, .arity = ar, .aux = 0, .name = fname, .userdata = NULL, .data = NULL, .owner = NULL   \
    }

static const ObjNative builtins[] = {
    BUILTIN("id", 1, bi_id),           BUILTIN("ignore", 1, bi_ignore),
    BUILTIN("not", 1, bi_not),         BUILTIN("fst", 1, bi_fst),
    BUILTIN("snd", 1, bi_snd),         BUILTIN("abs", 1, bi_abs),
    BUILTIN("min", 2, bi_min),         BUILTIN("max", 2, bi_max),
    BUILTIN("compare", 2, bi_compare), BUILTIN("failwith", 1, bi_failwith),
    BUILTIN("string", 1, bi_string),   BUILTIN("int", 1, bi_int),
    BUILTIN("float", 1, bi_float),     BUILTIN("int64", 1, bi_int),
    BUILTIN("double", 1, bi_float),     BUILTIN("print", 1, bi_print),
    BUILTIN("raise", 1, bi_raise),     BUILTIN("reraise", 1, bi_reraise),
    BUILTIN("invalidArg", 2, bi_invalid_arg), BUILTIN("invalidOp", 1, bi_invalid_op),
    BUILTIN("hash", 1, bi_hash),       BUILTIN("char", 1, bi_char),
};

static const NativeTable core_table = VM_NATIVE_TABLE(builtins);

/* Every table of natives; a library file adds one line.  The order is
 * part of the bytecode (builtin indices), like the tables themselves. */
static const NativeTable *const tables[] = {
    &core_table,
    &lib_list_table,
    &lib_option_table,
    &lib_math_table,
    &lib_array_table,
    &lib_string_table,
    &lib_map_table,
};

#define NTABLES ((int)(sizeof tables / sizeof tables[0]))

/* Every name of every table, hashed (open addressing), so that the
 * compiler pays one probe per library reference rather than a scan of
 * hundreds of names.  Built once, whichever thread compiles first. */
#define NAME_SLOTS 2048u

static struct {
    const char *name;
    int index;
} name_slots[NAME_SLOTS];
static bool names_ok;
static pthread_once_t names_once = PTHREAD_ONCE_INIT;

/* The slot that holds name, or the empty one where it would go. */
static unsigned name_slot(const char *name)
{
    for (uint64_t i = hash_str(name);; i++) {
        unsigned k = (unsigned)(i & (NAME_SLOTS - 1));
        if (!name_slots[k].name || strcmp(name_slots[k].name, name) == 0)
            return k;
    }
}

static bool names_insert(const char *name, int index, unsigned *used)
{
    unsigned k = name_slot(name);
    if (name_slots[k].name)
        return true; /* the first table that has it wins, as in a scan */
    if (++*used > NAME_SLOTS * 3 / 4)
        return false;
    name_slots[k].name = name;
    name_slots[k].index = index;
    return true;
}

static void names_build(void)
{
    unsigned used = 0;
    for (int t = 0; t < NTABLES; t++) {
        const NativeTable *tb = tables[t];
        for (int i = 0; i < tb->n; i++)
            if (!names_insert(tb->fns[i].name, t * BUILTIN_TABLE_SPAN + i, &used))
                return; /* too many names: builtin_lookup keeps scanning */
        for (int i = 0; i < tb->nvalues; i++)
            if (!names_insert(tb->values[i].name, t * BUILTIN_TABLE_SPAN + tb->n + i, &used))
                return;
    }
    names_ok = true;
}

int builtin_lookup(const char *name)
{
    pthread_once(&names_once, names_build);
    if (names_ok) {
        unsigned k = name_slot(name);
        return name_slots[k].name ? name_slots[k].index : -1;
    }
    for (int t = 0; t < NTABLES; t++) {
        const NativeTable *tb = tables[t];
        for (int i = 0; i < tb->n; i++)
            if (strcmp(tb->fns[i].name, name) == 0)
                return t * BUILTIN_TABLE_SPAN + i;
        for (int i = 0; i < tb->nvalues; i++)
            if (strcmp(tb->values[i].name, name) == 0)
                return t * BUILTIN_TABLE_SPAN + tb->n + i;
    }
    return -1;
}

const Obj *builtin_get(int index)
{
    const NativeTable *tb = tables[index / BUILTIN_TABLE_SPAN];
    int i = index % BUILTIN_TABLE_SPAN;
    return i < tb->n ? &tb->fns[i].obj : tb->values[i - tb->n].obj;
}

static bool has_prefix(const char *s, const char *prefix, size_t n)
{
    return strncmp(s, prefix, n) == 0 && s[n] == '.';
}

/* Is `name` a library module: does some builtin's name start "name."? */
bool builtin_module(const char *name)
{
    size_t n = strlen(name);
    for (int t = 0; t < NTABLES; t++) {
        for (int i = 0; i < tables[t]->n; i++)
            if (has_prefix(tables[t]->fns[i].name, name, n))
                return true;
        for (int i = 0; i < tables[t]->nvalues; i++)
            if (has_prefix(tables[t]->values[i].name, name, n))
                return true;
    }
    return false;
}

/* ------------------------------------------------- option and Result --- */

/* Case tags follow F#'s declaration order, which is also the order
 * `compare` uses: None < Some _, Ok _ < Error _. */

#define SHAPE_HDR {.next = NULL, .type = O_SHAPE, .marked = 0, .is_static = 1, .size = 0}

static const char *const value_field[] = {"Value"};
static const char *const result_fields[] = {"ResultValue"};
static const char *const error_fields[] = {"ErrorValue"};

static const Shape shape_none;
static const ObjData none_value = {
    .obj = {.next = NULL, .type = O_DATA, .marked = 0, .is_static = 1, .size = 0},
    .shape = &shape_none, .tag = 0, .n = 0,
};

static const Shape shape_none = {
    .obj = SHAPE_HDR, .kind = SHAPE_CASE, .flags = SHAPE_OPTION, .tag = 0, .nfields = 0,
    .name = "None", .type_name = "option", .fields = NULL, .chunk = NULL, .nullary = &none_value,
};
static const Shape shape_some = {
    .obj = SHAPE_HDR, .kind = SHAPE_CASE, .flags = SHAPE_OPTION, .tag = 1, .nfields = 1,
    .name = "Some", .type_name = "option", .fields = value_field, .chunk = NULL, .nullary = NULL,
};
static const Shape shape_ok = {
    .obj = SHAPE_HDR, .kind = SHAPE_CASE, .flags = 0, .tag = 0, .nfields = 1,
    .name = "Ok", .type_name = "Result", .fields = result_fields, .chunk = NULL, .nullary = NULL,
};
static const Shape shape_error = {
    .obj = SHAPE_HDR, .kind = SHAPE_CASE, .flags = 0, .tag = 1, .nfields = 1,
    .name = "Error", .type_name = "Result", .fields = error_fields, .chunk = NULL,
    .nullary = NULL,
};

/* ---------------------------------------------------------- exceptions --- */

/* The cases of type exn the library knows: F#'s Failure (System.Exception)
 * and the .NET exceptions raised by the VM and the library, each with its
 * Message.  As constructors they take the message. */

static const char *const message_field[] = {"Message"};

#define EXN_SHAPE(cname, k)                                                                 \
    {                                                                                       \
        .obj = SHAPE_HDR, .kind = SHAPE_CASE, .flags = SHAPE_EXN,                           \
        .tag = EXN_TAG_BUILTIN + (k), .nfields = 1, .name = cname, .type_name = "exn",   \
        .fields = message_field, .chunk = NULL, .nullary = NULL,                            \
    }

static const Shape exn_shapes[EXN__COUNT] = {
    [EXN_FAILURE] = EXN_SHAPE("Failure", EXN_FAILURE),
    [EXN_ARGUMENT] = EXN_SHAPE("ArgumentException", EXN_ARGUMENT),
    [EXN_DIVIDE_BY_ZERO] = EXN_SHAPE("DivideByZeroException", EXN_DIVIDE_BY_ZERO),
    [EXN_KEY_NOT_FOUND] = EXN_SHAPE("KeyNotFoundException", EXN_KEY_NOT_FOUND),
    [EXN_INDEX_OUT_OF_RANGE] = EXN_SHAPE("IndexOutOfRangeException", EXN_INDEX_OUT_OF_RANGE),
    [EXN_INVALID_OPERATION] = EXN_SHAPE("InvalidOperationException", EXN_INVALID_OPERATION),
    [EXN_MATCH_FAILURE] = EXN_SHAPE("MatchFailureException", EXN_MATCH_FAILURE),
};

const Shape *builtin_exn_shape(int kind) { return &exn_shapes[kind]; }

/* The record type `exn` is as far as field access goes: `e.Message`. */
static const Shape exn_record = {
    .obj = SHAPE_HDR, .kind = SHAPE_RECORD, .flags = 0, .tag = 0, .nfields = 1,
    .name = "exn", .type_name = "exn", .fields = message_field, .chunk = NULL, .nullary = NULL,
};

const Shape *builtin_exn_record(void) { return &exn_record; }

static const Shape *const builtin_cases[] = {&shape_none, &shape_some, &shape_ok, &shape_error};

const Shape *builtin_case(const char *name)
{
    /* each of them, and System.Name, begins with a capital: most names
     * asked about are variables in patterns */
    if (!(name[0] >= 'A' && name[0] <= 'Z'))
        return NULL;
    for (size_t i = 0; i < sizeof builtin_cases / sizeof builtin_cases[0]; i++)
        if (strcmp(builtin_cases[i]->name, name) == 0)
            return builtin_cases[i];
    /* .NET exception types, also as System.Name */
    if (strncmp(name, "System.", 7) == 0)
        name = strrchr(name, '.') + 1;
    for (int i = 0; i < EXN__COUNT; i++)
        if (strcmp(exn_shapes[i].name, name) == 0)
            return &exn_shapes[i];
    return NULL;
}

/* ------------------------------------------------- options for the library --- */

Value vm_some_x(fsrs_vm *vm, Value v)
{
    if (!handle_push(vm, v))
        vm_throw(vm, FSRS_ENOMEM, "out of memory");
    size_t h = vm->nhandles - 1;
    ObjData *d = gc_alloc_x(vm, sizeof(ObjData) + sizeof(Value), O_DATA);
    d->shape = &shape_some;
    d->tag = shape_some.tag;
    d->n = 1;
    d->items[0] = vm->handles[h];
    vm->nhandles = h;
    return mk_obj(d);
}

Value vm_none(void) { return mk_obj((void *)&none_value); }

Value vm_pair_x(fsrs_vm *vm, size_t x, size_t y)
{
    ObjTuple *t = gc_alloc_x(vm, sizeof(ObjTuple) + 2 * sizeof(Value), O_TUPLE);
    t->n = 2;
    t->items[0] = vm->stack[x];
    t->items[1] = vm->stack[y];
    return mk_obj(t);
}

bool vm_returns_bool(fsrs_vm *vm, Value v, const char *fn)
{
    if (!IS_BOOL(v))
        vm_throw(vm, FSRS_ERUNTIME, "'%s' expects a function returning bool, not %s", fn,
                 value_type_name(v));
    return AS_BOOL(v);
}

Value vm_add_numbers(fsrs_vm *vm, Value x, Value y, const char *fn)
{
    if (IS_INT(x) && IS_INT(y))
        return mk_int((int64_t)((uint64_t)AS_INT(x) + (uint64_t)AS_INT(y)));
    if (IS_FLOAT(x) && IS_FLOAT(y))
        return mk_float(AS_FLOAT(x) + AS_FLOAT(y));
    vm_throw(vm, FSRS_ERUNTIME, "'%s' expects numbers, not %s and %s", fn, value_type_name(x),
             value_type_name(y));
}

bool vm_option_get(fsrs_vm *vm, Value o, Value *v, const char *fn, const char *what)
{
    if (!IS_DATA(o) || !(AS_DATA(o)->shape->flags & SHAPE_OPTION))
        vm_throw(vm, FSRS_ERUNTIME, "'%s' expects %s, not %s", fn, what, value_type_name(o));
    if (AS_DATA(o)->n == 0)
        return false;
    *v = AS_DATA(o)->items[0];
    return true;
}
