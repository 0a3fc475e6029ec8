/*
 * vm/lib_string.c - strings: the String module (String.length,
 * String.concat, String.replicate, and String.map, String.init and the
 * other functions that take a function), the .NET statics System.String.Join and
 * IsNullOrEmpty, and the members of string values (s.Length, s.Trim(),
 * s.Substring(i, n), ...) that member.c dispatches here.
 *
 * Strings are UTF-8, but lengths and positions are counted in UTF-16 code
 * units, as .NET counts them, so that scripts print what F# prints.  The
 * natives are static objects found by the compiler through builtins.c's
 * list of libraries; each runs on the thread of the VM that calls it and
 * raises errors with vm_throw only after freeing what it allocated.
 */
#include <stdio.h>
#include <string.h>

#include "util/error.h"
#include "util/utf8.h"
#include "vm/member.h"
#include "vm/tree.h"

#define ARGS fsrs_vm *vm, const Value *a, int argc, Value *out, void *ud
#define UNUSED (void)argc, (void)ud

/* -------------------------------------------------------------- UTF-8 --- */

static void encode(Buf *b, uint32_t cp)
{
    char t[4];
    buf_put(b, t, (size_t)utf8_encode(t, cp));
}

static int64_t u16_count(const char *s, size_t n) { return utf16_length(s, n); }

static size_t u16_offset(const ObjString *s, int64_t idx)
{
    return utf16_offset(s->chars, s->len, idx);
}

static bool is_space(uint32_t c)
{
    return c == ' ' || (c >= 0x09 && c <= 0x0D) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
           c == 0x205F || c == 0x3000;
}

/* Case mapping for ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic. */
static uint32_t to_upper(uint32_t c)
{
    if (c < 0x80)
        return c >= 'a' && c <= 'z' ? c - 32 : c;
    if (c >= 0xE0 && c <= 0xFE && c != 0xF7)
        return c - 32;
    if (c == 0xFF)
        return 0x178;
    if ((c >= 0x100 && c <= 0x137) || (c >= 0x14A && c <= 0x177))
        return c & ~1u;
    if (((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E)) && !(c & 1))
        return c - 1;
    if (c >= 0x3B1 && c <= 0x3CB && c != 0x3C2)
        return c - 32;
    if (c == 0x3C2)
        return 0x3A3;
    if (c >= 0x430 && c <= 0x44F)
        return c - 32;
    if (c >= 0x450 && c <= 0x45F)
        return c - 80;
    return c;
}

static uint32_t to_lower(uint32_t c)
{
    if (c < 0x80)
        return c >= 'A' && c <= 'Z' ? c + 32 : c;
    if (c >= 0xC0 && c <= 0xDE && c != 0xD7)
        return c + 32;
    if (c == 0x178)
        return 0xFF;
    if ((c >= 0x100 && c <= 0x137) || (c >= 0x14A && c <= 0x177))
        return c | 1u;
    if (((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E)) && (c & 1))
        return c + 1;
    if (c >= 0x391 && c <= 0x3AB && c != 0x3A2)
        return c + 32;
    if (c >= 0x410 && c <= 0x42F)
        return c + 32;
    if (c >= 0x400 && c <= 0x40F)
        return c + 80;
    return c;
}

/* ------------------------------------------------------------ helpers --- */

static Value str_value(fsrs_vm *vm, const char *s, size_t n)
{
    return mk_obj(str_new_x(vm, s, n));
}

/* A string from b, which is freed. */
static Value buf_value(fsrs_vm *vm, Buf *b)
{
    ObjString *s = b->failed ? NULL : str_new(vm, b->data ? b->data : "", b->len);
    buf_free(b);
    if (!s)
        vm_throw(vm, FSRS_ENOMEM, "out of memory");
    return mk_obj(s);
}

/* A string or char argument as bytes. */
typedef struct Needle {
    const char *p;
    size_t n;
    char tmp[4];
} Needle;

static bool needle(Value v, Needle *out)
{
    if (IS_STRING(v)) {
        out->p = AS_STRING(v)->chars;
        out->n = AS_STRING(v)->len;
        return true;
    }
    if (!IS_CHAR(v))
        return false;
    out->n = (size_t)utf8_encode(out->tmp, (uint32_t)AS_INT(v));
    out->p = out->tmp;
    return true;
}

/* Byte offset of the first (or last) occurrence of what in s[from..), or -1. */
static int64_t find(const char *s, size_t n, size_t from, const Needle *what, bool last)
{
    if (what->n > n)
        return -1;
    int64_t found = -1;
    for (size_t i = from; i + what->n <= n; i++)
        if (memcmp(s + i, what->p, what->n) == 0) {
            found = (int64_t)i;
            if (!last)
                break;
        }
    return found;
}

static _Noreturn void arg_error(fsrs_vm *vm, int id, Value v)
{
    vm_throw(vm, FSRS_ERUNTIME, "type mismatch: '%s' cannot take %s here", member_name(id),
             value_type_name(v));
}

static int64_t int_arg(fsrs_vm *vm, int id, Value v)
{
    if (!IS_INT(v))
        arg_error(vm, id, v);
    return AS_INT(v);
}

/* Calls visit on each item of a list, an array or a set (a seq of
 * values). */
static bool each_item(Value seq, void (*visit)(Value, void *), void *ctx)
{
    if (IS_ARRAY(seq)) {
        for (uint32_t i = 0; i < AS_ARRAY(seq)->n; i++)
            visit(AS_ARRAY(seq)->items[i], ctx);
        return true;
    }
    if (IS_NIL(seq) || IS_CONS(seq)) {
        for (Value x = seq; IS_CONS(x); x = AS_CONS(x)->tail)
            visit(AS_CONS(x)->head, ctx);
        return true;
    }
    if (IS_SET(seq)) {
        TreeIter it;
        tree_iter_init(&it, AS_TREE(seq), false);
        for (const TreeNode *n; (n = tree_next(&it));)
            visit(n->key, ctx);
        return true;
    }
    return false;
}

typedef struct JoinCtx {
    Buf *b;
    const Needle *sep;
    bool first;
} JoinCtx;

static void join_one(Value v, void *p)
{
    JoinCtx *j = p;
    if (!j->first)
        buf_put(j->b, j->sep->p, j->sep->n);
    j->first = false;
    if (IS_STRING(v))
        buf_put(j->b, AS_STRING(v)->chars, AS_STRING(v)->len);
    else
        fmt_tostring(j->b, v);
}

static Value join(fsrs_vm *vm, const char *fn, Value sep, Value seq)
{
    Needle s;
    if (!needle(sep, &s))
        vm_throw(vm, FSRS_ERUNTIME, "'%s' expects a string separator, not %s", fn,
                 value_type_name(sep));
    if (!IS_NIL(seq) && !IS_CONS(seq) && !IS_SET(seq) && !IS_ARRAY(seq))
        vm_throw(vm, FSRS_ERUNTIME, "'%s' expects a list, an array or a set of strings, not %s", fn,
                 value_type_name(seq));
    Buf b;
    buf_init(&b, &vm->mem);
    JoinCtx j = {&b, &s, true};
    each_item(seq, join_one, &j);
    return buf_value(vm, &b);
}

/* ---------------------------------------------------- String module --- */

static int str_length(ARGS)
{
    UNUSED;
    if (!IS_STRING(a[0]))
        vm_throw(vm, FSRS_ERUNTIME, "'String.length' expects a string, not %s",
                 value_type_name(a[0]));
    *out = mk_int(u16_count(AS_STRING(a[0])->chars, AS_STRING(a[0])->len));
    return 0;
}

static int str_concat(ARGS)
{
    UNUSED;
    if (!IS_STRING(a[0]))
        vm_throw(vm, FSRS_ERUNTIME, "'String.concat' expects a string separator, not %s",
                 value_type_name(a[0]));
    *out = join(vm, "String.concat", a[0], a[1]);
    return 0;
}

static int str_replicate(ARGS)
{
    UNUSED;
    if (!IS_INT(a[0]) || !IS_STRING(a[1]))
        vm_throw(vm, FSRS_ERUNTIME, "'String.replicate' expects an int and a string, not %s "
                                    "and %s", value_type_name(a[0]), value_type_name(a[1]));
    int64_t n = AS_INT(a[0]);
    if (n < 0)
        vm_throw(vm, FSRS_ERUNTIME, "The input must be non-negative. (Parameter 'count')");
    uint32_t len = AS_STRING(a[1])->len;
    if (len && (uint64_t)n > (UINT32_MAX - 64) / len)
        vm_throw(vm, FSRS_ELIMIT, "string too long");
    size_t total = (size_t)n * len;
    ObjString *s = gc_alloc_x(vm, sizeof(ObjString) + total + 1, O_STRING);
    const ObjString *src = AS_STRING(a[1]);
    for (int64_t i = 0; i < n; i++)
        memcpy(s->chars + (size_t)i * len, src->chars, len);
    s->chars[total] = '\0';
    s->len = (uint32_t)total;
    s->hash = string_hash(s->chars, total);
    *out = mk_obj(s);
    return 0;
}

/* System.String.Join(separator, values): one tupled argument, as F# passes
 * it to a .NET method. */
static int str_join(ARGS)
{
    UNUSED;
    if (!IS_TUPLE(a[0]) || AS_TUPLE(a[0])->n != 2)
        vm_throw(vm, FSRS_ERUNTIME, "'String.Join' expects (separator, values), not %s",
                 value_type_name(a[0]));
    *out = join(vm, "String.Join", AS_TUPLE(a[0])->items[0], AS_TUPLE(a[0])->items[1]);
    return 0;
}

static int str_is_null_or_empty(ARGS)
{
    UNUSED;
    if (!IS_STRING(a[0]))
        vm_throw(vm, FSRS_ERUNTIME, "'String.IsNullOrEmpty' expects a string, not %s",
                 value_type_name(a[0]));
    *out = mk_bool(AS_STRING(a[0])->len == 0);
    return 0;
}

static int str_is_null_or_white_space(ARGS)
{
    UNUSED;
    if (!IS_STRING(a[0]))
        vm_throw(vm, FSRS_ERUNTIME, "'String.IsNullOrWhiteSpace' expects a string, not %s",
                 value_type_name(a[0]));
    const ObjString *s = AS_STRING(a[0]);
    bool blank = true;
    for (size_t i = 0; blank && i < s->len;)
        blank = is_space(utf8_decode(s->chars, s->len, &i));
    *out = mk_bool(blank);
    return 0;
}

/* ------------------------------------------------------------ members --- */

static Value change_case(fsrs_vm *vm, const ObjString *s, bool upper)
{
    Buf b;
    buf_init(&b, &vm->mem);
    for (size_t i = 0; i < s->len;) {
        uint32_t c = utf8_decode(s->chars, s->len, &i);
        encode(&b, upper ? to_upper(c) : to_lower(c));
    }
    return buf_value(vm, &b);
}

/* Whether c is trimmed: white space, or one of the chars given. */
static bool trimmed(uint32_t c, const Value *chars, int n)
{
    if (n == 0)
        return is_space(c);
    for (int i = 0; i < n; i++)
        if ((uint32_t)AS_INT(chars[i]) == c)
            return true;
    return false;
}

static Value trim(fsrs_vm *vm, Value *slots, int argc, int id)
{
    for (int i = 1; i <= argc; i++)
        if (!IS_CHAR(slots[i]))
            arg_error(vm, id, slots[i]);
    const ObjString *s = AS_STRING(slots[0]);
    size_t start = 0, end = s->len;
    if (id != M_TRIMEND)
        while (start < end) {
            size_t i = start;
            if (!trimmed(utf8_decode(s->chars, s->len, &i), slots + 1, argc))
                break;
            start = i;
        }
    if (id != M_TRIMSTART)
        while (end > start) {
            size_t i = end - 1;
            while (i > start && ((unsigned char)s->chars[i] & 0xC0) == 0x80)
                i--;
            size_t j = i;
            if (!trimmed(utf8_decode(s->chars, s->len, &j), slots + 1, argc))
                break;
            end = i;
        }
    if (start == 0 && end == s->len)
        return slots[0];
    return str_value(vm, s->chars + start, end - start);
}

/* s.Split(c1, c2, ...) or s.Split(separator): an array of the pieces. */
static Value split(fsrs_vm *vm, Value *slots, int argc)
{
    bool by_chars = true;
    for (int i = 1; i <= argc; i++)
        if (!IS_CHAR(slots[i]))
            by_chars = false;
    if (argc == 0 || (!by_chars && (argc != 1 || !IS_STRING(slots[1]))))
        arg_error(vm, M_SPLIT, argc ? slots[argc] : mk_unit());
    /* the first cell and the piece being added are rooted in two handles */
    size_t mark = vm->nhandles;
    if (!handle_push(vm, mk_nil()) || !handle_push(vm, mk_nil()))
        vm_throw(vm, FSRS_ENOMEM, "out of memory");
    ObjCons *last = NULL;
    size_t start = 0, i = 0;
    for (;;) {
        const ObjString *s = AS_STRING(slots[0]);
        size_t at = s->len, next = s->len;
        if (by_chars) {
            while (i < s->len) {
                size_t here = i;
                uint32_t c = utf8_decode(s->chars, s->len, &i);
                if (trimmed(c, slots + 1, argc)) {
                    at = here;
                    next = i;
                    break;
                }
            }
        } else {
            const ObjString *sep = AS_STRING(slots[1]);
            Needle nd = {sep->chars, sep->len, {0}};
            int64_t f = sep->len ? find(s->chars, s->len, start, &nd, false) : -1;
            if (f >= 0) {
                at = (size_t)f;
                next = at + sep->len;
            }
        }
        vm->handles[mark + 1] = str_value(vm, s->chars + start, at - start);
        Value c = cons_x(vm, vm->handles[mark + 1], mk_nil());
        if (last)
            last->tail = c;
        else
            vm->handles[mark] = c;
        last = AS_CONS(c);
        if (at == AS_STRING(slots[0])->len)
            break;
        start = i = next;
    }
    /* the pieces, still rooted as a list, into an array */
    uint32_t n = 0;
    for (Value x = vm->handles[mark]; IS_CONS(x); x = AS_CONS(x)->tail)
        n++;
    ObjArray *arr = gc_alloc_x(vm, sizeof(ObjArray) + (size_t)n * sizeof(Value), O_ARRAY);
    arr->n = n;
    n = 0;
    for (Value x = vm->handles[mark]; IS_CONS(x); x = AS_CONS(x)->tail)
        arr->items[n++] = AS_CONS(x)->head;
    vm->nhandles = mark;
    return mk_obj(arr);
}

static Value substring(fsrs_vm *vm, Value *slots, int argc)
{
    const ObjString *s = AS_STRING(slots[0]);
    int64_t len = u16_count(s->chars, s->len);
    int64_t start = int_arg(vm, M_SUBSTRING, slots[1]);
    if (start < 0)
        vm_throw(vm, FSRS_ERUNTIME, "StartIndex cannot be less than zero. (Parameter "
                                    "'startIndex')");
    int64_t n;
    if (argc == 1) {
        if (start > len)
            vm_throw(vm, FSRS_ERUNTIME, "startIndex cannot be larger than length of string. "
                                        "(Parameter 'startIndex')");
        n = len - start;
    } else {
        n = int_arg(vm, M_SUBSTRING, slots[2]);
        if (n < 0)
            vm_throw(vm, FSRS_ERUNTIME, "Length cannot be less than zero. (Parameter 'length')");
        if (start > len - n)
            vm_throw(vm, FSRS_ERUNTIME, "Index and length must refer to a location within the "
                                        "string. (Parameter 'length')");
    }
    size_t from = u16_offset(s, start), to = u16_offset(s, start + n);
    if (from == 0 && to == s->len)
        return slots[0];
    return str_value(vm, s->chars + from, to - from);
}

static Value replace(fsrs_vm *vm, Value *slots)
{
    Needle from, to;
    if (!needle(slots[1], &from) || !needle(slots[2], &to) || IS_CHAR(slots[1]) != IS_CHAR(slots[2]))
        arg_error(vm, M_REPLACE, IS_STRING(slots[1]) || IS_CHAR(slots[1]) ? slots[2] : slots[1]);
    if (from.n == 0)
        vm_throw(vm, FSRS_ERUNTIME, "String cannot be of zero length. (Parameter 'oldValue')");
    const ObjString *s = AS_STRING(slots[0]);
    if (find(s->chars, s->len, 0, &from, false) < 0)
        return slots[0];
    Buf b;
    buf_init(&b, &vm->mem);
    size_t i = 0;
    for (int64_t f; (f = find(s->chars, s->len, i, &from, false)) >= 0;) {
        buf_put(&b, s->chars + i, (size_t)f - i);
        buf_put(&b, to.p, to.n);
        i = (size_t)f + from.n;
    }
    buf_put(&b, s->chars + i, s->len - i);
    return buf_value(vm, &b);
}

static Value index_of(fsrs_vm *vm, Value *slots, int argc, int id)
{
    const ObjString *s = AS_STRING(slots[0]);
    Needle what;
    if (!needle(slots[1], &what))
        arg_error(vm, id, slots[1]);
    size_t from = 0;
    if (argc == 2) {
        int64_t start = int_arg(vm, id, slots[2]);
        if (start < 0 || start > u16_count(s->chars, s->len))
            vm_throw(vm, FSRS_ERUNTIME, "Index was out of range. Must be non-negative and less "
                                        "than the size of the collection. (Parameter "
                                        "'startIndex')");
        from = u16_offset(s, start);
    }
    int64_t f = find(s->chars, s->len, from, &what, id == M_LASTINDEXOF);
    return mk_int(f < 0 ? -1 : u16_count(s->chars, (size_t)f));
}

static bool arity_ok(int id, int argc)
{
    switch (id) {
    case M_LENGTH: case M_TOUPPER: case M_TOLOWER:
        return argc == 0;
    case M_TRIM: case M_TRIMSTART: case M_TRIMEND:
        return true;
    case M_SPLIT:
        return argc >= 1;
    case M_CONTAINS: case M_STARTSWITH: case M_ENDSWITH: case M_LASTINDEXOF:
        return argc == 1;
    case M_SUBSTRING: case M_INDEXOF:
        return argc == 1 || argc == 2;
    case M_REPLACE:
        return argc == 2;
    default:
        return true;
    }
}

Value string_member(fsrs_vm *vm, Value *slots, int argc, int id)
{
    if (!arity_ok(id, argc))
        member_bad_args(vm, id, argc);
    const ObjString *s = AS_STRING(slots[0]);
    switch (id) {
    case M_LENGTH:
        return mk_int(u16_count(s->chars, s->len));
    case M_TOUPPER:
    case M_TOLOWER:
        return change_case(vm, s, id == M_TOUPPER);
    case M_TRIM:
    case M_TRIMSTART:
    case M_TRIMEND:
        return trim(vm, slots, argc, id);
    case M_SPLIT:
        return split(vm, slots, argc);
    case M_CONTAINS:
    case M_STARTSWITH:
    case M_ENDSWITH: {
        Needle what;
        if (!needle(slots[1], &what))
            arg_error(vm, id, slots[1]);
        if (id == M_CONTAINS)
            return mk_bool(find(s->chars, s->len, 0, &what, false) >= 0);
        if (what.n > s->len)
            return mk_bool(false);
        size_t at = id == M_STARTSWITH ? 0 : s->len - what.n;
        return mk_bool(memcmp(s->chars + at, what.p, what.n) == 0);
    }
    case M_SUBSTRING:
        return substring(vm, slots, argc);
    case M_REPLACE:
        return replace(vm, slots);
    case M_INDEXOF:
    case M_LASTINDEXOF:
        return index_of(vm, slots, argc, id);
    default:
        return member_missing(vm, id);
    }
}

/* ----------------------------------- String functions taking functions --- */

/*
 * String.map, String.filter, String.init, ... call script functions with
 * vm_apply_x, so they follow its rules (vm.h): the stack may move and the
 * collector may run during each call.  The input string is rooted by the
 * native's argument slot and does not move, so it is read by byte offset;
 * the pieces of the result (chars or strings) are kept in a heap array in
 * a VM stack slot, and the string is made from them at the end.  Nothing
 * is malloc'd, since an exception may leave the native at any call.
 */

#define SLOT(i) (vm->stack[i])

static const ObjString *want_string(fsrs_vm *vm, Value v, const char *fn)
{
    if (!IS_STRING(v))
        vm_throw(vm, FSRS_ERUNTIME, "'%s' expects a string, not %s", fn, value_type_name(v));
    return AS_STRING(v);
}

static size_t char_count(const ObjString *s)
{
    size_t n = 0;
    for (size_t i = 0; i < s->len; n++)
        utf8_decode(s->chars, s->len, &i);
    return n;
}

/* A heap array of n pieces (unit until set), rooted in a new stack slot. */
static size_t pieces_new(fsrs_vm *vm, size_t n)
{
    if (n > (UINT32_MAX - sizeof(ObjArray)) / sizeof(Value))
        vm_throw(vm, FSRS_ELIMIT, "string too long");
    ObjArray *arr = gc_alloc_x(vm, sizeof(ObjArray) + n * sizeof(Value), O_ARRAY);
    arr->n = (uint32_t)n;
    for (size_t i = 0; i < n; i++)
        arr->items[i] = mk_unit();
    return vm_push_x(vm, mk_obj(arr));
}

static Value *pieces(fsrs_vm *vm, size_t slot) { return AS_ARRAY(SLOT(slot))->items; }

/* The string of the first n pieces in slot p: chars and strings. */
static Value string_of_pieces(fsrs_vm *vm, size_t p, size_t n)
{
    uint64_t total = 0;
    char t[4];
    for (size_t i = 0; i < n; i++) {
        Value v = pieces(vm, p)[i];
        total += IS_CHAR(v) ? (size_t)utf8_encode(t, (uint32_t)AS_INT(v)) : AS_STRING(v)->len;
    }
    if (total > UINT32_MAX - 64)
        vm_throw(vm, FSRS_ELIMIT, "string too long");
    ObjString *s = gc_alloc_x(vm, sizeof(ObjString) + (size_t)total + 1, O_STRING);
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        Value v = pieces(vm, p)[i];
        if (IS_CHAR(v)) {
            at += (size_t)utf8_encode(s->chars + at, (uint32_t)AS_INT(v));
        } else {
            memcpy(s->chars + at, AS_STRING(v)->chars, AS_STRING(v)->len);
            at += AS_STRING(v)->len;
        }
    }
    s->chars[total] = '\0';
    s->len = (uint32_t)total;
    s->hash = string_hash(s->chars, (size_t)total);
    return mk_obj(s);
}

static Value want_char_result(fsrs_vm *vm, Value v, const char *fn)
{
    if (!IS_CHAR(v))
        vm_throw(vm, FSRS_ERUNTIME, "'%s' expects a function returning char, not %s", fn,
                 value_type_name(v));
    return v;
}

static Value want_string_result(fsrs_vm *vm, Value v, const char *fn)
{
    if (!IS_STRING(v))
        vm_throw(vm, FSRS_ERUNTIME, "'%s' expects a function returning string, not %s", fn,
                 value_type_name(v));
    return v;
}

enum { S_MAP, S_MAPI, S_FILTER, S_COLLECT };

/* String.map, mapi, filter and collect: one call per char, in order. */
static Value transform(fsrs_vm *vm, Value f, Value str, int mode, const char *fn)
{
    const ObjString *s = want_string(vm, str, fn);
    size_t p = pieces_new(vm, char_count(s)), k = 0;
    int64_t index = 0;
    for (size_t i = 0; i < s->len; index++) {
        Value c = mk_char(utf8_decode(s->chars, s->len, &i));
        Value r;
        switch (mode) {
        case S_MAP: r = want_char_result(vm, vm_apply1_x(vm, f, c), fn); break;
        case S_MAPI: r = want_char_result(vm, vm_apply2_x(vm, f, mk_int(index), c), fn); break;
        case S_FILTER:
            if (!vm_returns_bool(vm, vm_apply1_x(vm, f, c), fn))
                continue;
            r = c;
            break;
        default: r = want_string_result(vm, vm_apply1_x(vm, f, c), fn); break;
        }
        pieces(vm, p)[k++] = r;
    }
    return string_of_pieces(vm, p, k);
}

static int str_map(ARGS)
{
    UNUSED;
    *out = transform(vm, a[0], a[1], S_MAP, "String.map");
    return 0;
}

static int str_mapi(ARGS)
{
    UNUSED;
    *out = transform(vm, a[0], a[1], S_MAPI, "String.mapi");
    return 0;
}

static int str_filter(ARGS)
{
    UNUSED;
    *out = transform(vm, a[0], a[1], S_FILTER, "String.filter");
    return 0;
}

static int str_collect(ARGS)
{
    UNUSED;
    *out = transform(vm, a[0], a[1], S_COLLECT, "String.collect");
    return 0;
}

static int str_init(ARGS)
{
    UNUSED;
    if (!IS_INT(a[0]))
        vm_throw(vm, FSRS_ERUNTIME, "'String.init' expects an int count, not %s",
                 value_type_name(a[0]));
    int64_t n = AS_INT(a[0]);
    if (n < 0) {
        /* FSharp.Core's invalidArgInputMustBeNonNegative */
        char m[128];
        snprintf(m, sizeof m, "The input must be non-negative.\ncount = %lld (Parameter 'count')",
                 (long long)n);
        vm_throw_exn(vm, EXN_ARGUMENT, m, "%s", m);
    }
    Value f = a[1];
    size_t p = pieces_new(vm, (size_t)n);
    for (int64_t i = 0; i < n; i++) {
        Value r = want_string_result(vm, vm_apply1_x(vm, f, mk_int(i)), "String.init");
        pieces(vm, p)[i] = r;
    }
    *out = string_of_pieces(vm, p, (size_t)n);
    return 0;
}

/* String.exists (want true) and String.forall (want false): stops at the
 * first char whose result is `want`. */
static bool any_char(fsrs_vm *vm, Value f, Value str, bool want, const char *fn)
{
    const ObjString *s = want_string(vm, str, fn);
    for (size_t i = 0; i < s->len;) {
        Value c = mk_char(utf8_decode(s->chars, s->len, &i));
        if (vm_returns_bool(vm, vm_apply1_x(vm, f, c), fn) == want)
            return true;
    }
    return false;
}

static int str_exists(ARGS)
{
    UNUSED;
    *out = mk_bool(any_char(vm, a[0], a[1], true, "String.exists"));
    return 0;
}

static int str_forall(ARGS)
{
    UNUSED;
    *out = mk_bool(!any_char(vm, a[0], a[1], false, "String.forall"));
    return 0;
}

static int str_iter(ARGS)
{
    UNUSED;
    Value f = a[0];
    const ObjString *s = want_string(vm, a[1], "String.iter");
    for (size_t i = 0; i < s->len;)
        vm_apply1_x(vm, f, mk_char(utf8_decode(s->chars, s->len, &i)));
    *out = mk_unit();
    return 0;
}

static int str_iteri(ARGS)
{
    UNUSED;
    Value f = a[0];
    const ObjString *s = want_string(vm, a[1], "String.iteri");
    int64_t index = 0;
    for (size_t i = 0; i < s->len; index++) {
        Value c = mk_char(utf8_decode(s->chars, s->len, &i));
        vm_apply2_x(vm, f, mk_int(index), c);
    }
    *out = mk_unit();
    return 0;
}

/* -------------------------------------------------------------- table --- */

static const ObjNative fns[] = {
    VM_NATIVE("String.length", 1, str_length),
    VM_NATIVE("String.concat", 2, str_concat),
    VM_NATIVE("String.replicate", 2, str_replicate),
    VM_NATIVE("String.init", 2, str_init),
    VM_NATIVE("String.map", 2, str_map),
    VM_NATIVE("String.mapi", 2, str_mapi),
    VM_NATIVE("String.filter", 2, str_filter),
    VM_NATIVE("String.collect", 2, str_collect),
    VM_NATIVE("String.exists", 2, str_exists),
    VM_NATIVE("String.forall", 2, str_forall),
    VM_NATIVE("String.iter", 2, str_iter),
    VM_NATIVE("String.iteri", 2, str_iteri),
    VM_NATIVE("String.Join", 1, str_join),
    VM_NATIVE("System.String.Join", 1, str_join),
    VM_NATIVE("String.IsNullOrEmpty", 1, str_is_null_or_empty),
    VM_NATIVE("System.String.IsNullOrEmpty", 1, str_is_null_or_empty),
    VM_NATIVE("String.IsNullOrWhiteSpace", 1, str_is_null_or_white_space),
    VM_NATIVE("System.String.IsNullOrWhiteSpace", 1, str_is_null_or_white_space),
};

const NativeTable lib_string_table = VM_NATIVE_TABLE(fns);
