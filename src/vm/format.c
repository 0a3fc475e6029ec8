/*
 * vm/format.c - printf-style formatting (printf, printfn, sprintf,
 * failwithf, eprintf) and the two ways of turning a value into text:
 * "%A" (structured, as F# prints it) and `string` (.NET ToString).
 *
 * Formats are checked when the script is compiled (fmt_count_args); the
 * argument types are checked when the format runs, since Mini-F# has no
 * type checker yet.  Runs on the VM's owner thread.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lang/compile.h"
#include "lang/opcodes.h"
#include "util/error.h"
#include "util/mem.h"
#include "util/utf8.h"
#include "vm/tree.h"
#include "vm/vm.h"

#define LIST_PRINT_LIMIT 100

typedef struct Spec {
    char flags[8];
    int width;      /* -1: none */
    int precision;  /* -1: none */
    char type;
    bool star_width, star_precision;
} Spec;

/* Parse one spec after '%'; returns the index after it or 0 if invalid. */
static size_t parse_spec(const char *f, size_t i, size_t len, Spec *s)
{
    memset(s, 0, sizeof *s);
    s->width = s->precision = -1;
    size_t nf = 0;
    while (i < len && strchr("-+0 #", f[i])) {
        if (nf < sizeof s->flags - 1)
            s->flags[nf++] = f[i];
        i++;
    }
    if (i < len && f[i] == '*') {
        s->star_width = true;
        i++;
    } else if (i < len && f[i] >= '0' && f[i] <= '9') {
        s->width = 0;
        while (i < len && f[i] >= '0' && f[i] <= '9' && s->width < 1000)
            s->width = s->width * 10 + (f[i++] - '0');
    }
    if (i < len && f[i] == '.') {
        i++;
        if (i < len && f[i] == '*') {
            s->star_precision = true;
            i++;
        } else {
            s->precision = 0;
            while (i < len && f[i] >= '0' && f[i] <= '9' && s->precision < 100)
                s->precision = s->precision * 10 + (f[i++] - '0');
        }
    }
    if (i >= len || !strchr("diuxXobscfFeEgGAO", f[i]))
        return 0;
    s->type = f[i];
    return i + 1;
}

int fmt_count_args(const char *fmt, size_t len, size_t *bad_offset, char *msg, size_t msgcap)
{
    int n = 0;
    for (size_t i = 0; i < len; i++) {
        if (fmt[i] != '%')
            continue;
        if (i + 1 < len && fmt[i + 1] == '%') {
            i++;
            continue;
        }
        Spec s;
        size_t end = parse_spec(fmt, i + 1, len, &s);
        if (!end) {
            *bad_offset = i;
            size_t e = i + 1;
            while (e < len && strchr("-+0 #.*0123456789", fmt[e]))
                e++;
            snprintf(msg, msgcap, "invalid format specifier '%.*s'",
                     (int)(e < len ? e - i + 1 : e - i), fmt + i);
            return -1;
        }
        n += 1 + s.star_width + s.star_precision;
        i = end - 1;
    }
    return n;
}

/* ------------------------------------------------------ number to text --- */

/* .NET's shortest round-trip rendering of a double (what `string` gives). */
static void show_float_net(Buf *b, double d)
{
    if (isnan(d)) {
        buf_puts(b, "NaN");
        return;
    }
    if (isinf(d)) {
        buf_puts(b, d < 0 ? "-Infinity" : "Infinity");
        return;
    }
    if (d == 0) {
        buf_puts(b, signbit(d) ? "-0" : "0");
        return;
    }
    char tmp[64];
    int prec;
    for (prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec - 1, d);
        if (strtod(tmp, NULL) == d)
            break;
    }
    /* tmp is [-]d.ddde[+-]xx: pull out digits and exponent */
    char digits[32];
    int nd = 0;
    const char *p = tmp;
    bool neg = *p == '-';
    if (neg)
        p++;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9')
            digits[nd++] = *p;
    int exp = atoi(p + 1);
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    if (neg)
        buf_putc(b, '-');
    if (exp >= 15 || exp < -5) {
        buf_putc(b, digits[0]);
        if (nd > 1) {
            buf_putc(b, '.');
            buf_put(b, digits + 1, (size_t)nd - 1);
        }
        buf_printf(b, "E%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    } else if (exp < 0) {
        buf_puts(b, "0.");
        for (int i = 0; i < -exp - 1; i++)
            buf_putc(b, '0');
        buf_put(b, digits, (size_t)nd);
    } else {
        for (int i = 0; i <= exp; i++)
            buf_putc(b, i < nd ? digits[i] : '0');
        if (nd > exp + 1) {
            buf_putc(b, '.');
            buf_put(b, digits + exp + 1, (size_t)(nd - exp - 1));
        }
    }
}

/* F#'s %A rendering of a float: ten significant digits, always looks like
 * a float ("1.0"). */
static void show_float_A(Buf *b, double d)
{
    if (isnan(d)) {
        buf_puts(b, "nan");
        return;
    }
    if (isinf(d)) {
        buf_puts(b, d < 0 ? "-infinity" : "infinity");
        return;
    }
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%.10g", d);
    buf_puts(b, tmp);
    if (!strpbrk(tmp, ".e"))
        buf_puts(b, ".0");
}

static void put_utf8(Buf *b, uint32_t cp)
{
    char tmp[4];
    buf_put(b, tmp, (size_t)utf8_encode(tmp, cp));
}

/* ------------------------------------------------------ structured text --- */

/*
 * "%A" follows F#'s structured formatter for the values Mini-F# has.  Two
 * things need context:
 *   - a union case with fields gets parentheses when it is the one field
 *     of another case (`Some (Some 1)`), not inside a tuple, list or record
 *     (`[Some 1]`, `Node (Leaf, 1, Leaf)`): prec says where a value sits;
 *   - a record puts each field on its own line, lined up two columns right
 *     of its '{'.  Columns count from the start of the rendering, as F#
 *     counts them, whatever text precedes it on the output line.
 */
enum { PREC_ARG = 2, PREC_ITEM = 3 };

typedef struct Show {
    Buf *b;
    size_t line_start;   /* offset in b of the current line of the rendering */
} Show;

static void show(Show *s, Value v, int depth, int prec);

/* map [(1, "a"); (2, "b")] and set [1; 2] */
static void show_tree(Show *s, const ObjTree *t, int depth, int prec)
{
    Buf *b = s->b;
    bool map = t->obj.type == O_MAP;
    if (t->count && prec <= PREC_ARG)
        buf_putc(b, '(');
    buf_puts(b, map ? "map [" : "set [");
    TreeIter it;
    tree_iter_init(&it, t, false);
    int n = 0;
    for (const TreeNode *node; (node = tree_next(&it)); n++) {
        if (n)
            buf_puts(b, "; ");
        if (n == LIST_PRINT_LIMIT) {
            buf_puts(b, "...");
            break;
        }
        if (map)
            buf_putc(b, '(');
        show(s, node->key, depth + 1, PREC_ITEM);
        if (map) {
            buf_puts(b, ", ");
            show(s, node->val, depth + 1, PREC_ITEM);
            buf_putc(b, ')');
        }
    }
    buf_putc(b, ']');
    if (t->count && prec <= PREC_ARG)
        buf_putc(b, ')');
}

/* .NET's ToString of F#'s Map and Set: at most three elements, a map's
 * as tuples "(1, a)". */
static void tostring_tree(Buf *b, const ObjTree *t)
{
    bool map = t->obj.type == O_MAP;
    buf_puts(b, map ? "map [" : "set [");
    TreeIter it;
    tree_iter_init(&it, t, false);
    int n = 0;
    for (const TreeNode *node; (node = tree_next(&it)); n++) {
        if (n)
            buf_puts(b, "; ");
        if (n == 3) {
            buf_puts(b, "... ");
            break;
        }
        if (map)
            buf_putc(b, '(');
        fmt_tostring(b, node->key);
        if (map) {
            buf_puts(b, ", ");
            fmt_tostring(b, node->val);
            buf_putc(b, ')');
        }
    }
    buf_putc(b, ']');
}

static void show_data(Show *s, const ObjData *d, int depth, int prec)
{
    Buf *b = s->b;
    const Shape *shape = d->shape;
    if (shape->kind == SHAPE_RECORD) {
        size_t col = b->len - s->line_start;
        buf_puts(b, "{ ");
        for (uint32_t i = 0; i < d->n; i++) {
            if (i) {
                buf_putc(b, '\n');
                s->line_start = b->len;
                for (size_t k = 0; k < col + 2; k++)
                    buf_putc(b, ' ');
            }
            buf_puts(b, shape->fields[i]);
            buf_puts(b, " = ");
            show(s, d->items[i], depth + 1, PREC_ITEM);
        }
        buf_puts(b, " }");
        return;
    }
    if (d->n == 0) {
        buf_puts(b, shape->name);
        return;
    }
    if (prec <= PREC_ARG)
        buf_putc(b, '(');
    buf_puts(b, shape->name);
    buf_putc(b, ' ');
    if (d->n == 1) {
        show(s, d->items[0], depth + 1, PREC_ARG);
    } else {
        buf_putc(b, '(');
        for (uint32_t i = 0; i < d->n; i++) {
            if (i)
                buf_puts(b, ", ");
            show(s, d->items[i], depth + 1, PREC_ITEM);
        }
        buf_putc(b, ')');
    }
    if (prec <= PREC_ARG)
        buf_putc(b, ')');
}

static void show(Show *s, Value v, int depth, int prec)
{
    Buf *b = s->b;
    if (depth > 64) {
        buf_puts(b, "...");
        return;
    }
    switch (v.tag_) {
    case V_UNIT: buf_puts(b, "()"); return;
    case V_BOOL: buf_puts(b, AS_BOOL(v) ? "true" : "false"); return;
    case V_INT: buf_printf(b, "%lld", (long long)AS_INT(v)); return;
    case V_FLOAT: show_float_A(b, AS_FLOAT(v)); return;
    case V_CHAR:
        buf_putc(b, '\'');
        switch (AS_INT(v)) {
        case '\n': buf_puts(b, "\\n"); break;
        case '\t': buf_puts(b, "\\t"); break;
        case '\r': buf_puts(b, "\\r"); break;
        case '\\': buf_puts(b, "\\\\"); break;
        case '\'': buf_puts(b, "\\'"); break;
        case 0: buf_puts(b, "\\000"); break;
        default: put_utf8(b, (uint32_t)AS_INT(v)); break;
        }
        buf_putc(b, '\'');
        return;
    case V_NIL: buf_puts(b, "[]"); return;
    default: break;
    }
    switch (OBJ_TYPE(v)) {
    case O_STRING:
        buf_putc(b, '"');
        buf_put(b, AS_STRING(v)->chars, AS_STRING(v)->len);
        buf_putc(b, '"');
        return;
    case O_TUPLE: {
        ObjTuple *t = AS_TUPLE(v);
        buf_putc(b, '(');
        for (uint32_t i = 0; i < t->n; i++) {
            if (i)
                buf_puts(b, ", ");
            show(s, t->items[i], depth + 1, PREC_ITEM);
        }
        buf_putc(b, ')');
        return;
    }
    case O_ARRAY: {
        ObjArray *a = AS_ARRAY(v);
        buf_puts(b, "[|");
        for (uint32_t i = 0; i < a->n; i++) {
            if (i)
                buf_puts(b, "; ");
            if (i == LIST_PRINT_LIMIT) {
                buf_puts(b, "...");
                break;
            }
            show(s, a->items[i], depth + 1, PREC_ITEM);
        }
        buf_puts(b, "|]");
        return;
    }
    case O_CONS: {
        buf_putc(b, '[');
        int n = 0;
        for (Value x = v; IS_CONS(x); x = AS_CONS(x)->tail) {
            if (n)
                buf_puts(b, "; ");
            if (n == LIST_PRINT_LIMIT) {
                buf_puts(b, "...");
                break;
            }
            show(s, AS_CONS(x)->head, depth + 1, PREC_ITEM);
            n++;
        }
        buf_putc(b, ']');
        return;
    }
    case O_DATA:
        show_data(s, AS_DATA(v), depth, prec);
        return;
    case O_MAP:
    case O_SET:
        show_tree(s, AS_TREE(v), depth, prec);
        return;
    case O_SHAPE: {
        const Shape *sh = AS_SHAPE(v);
        buf_printf(b, "<%s %s>", sh->kind == SHAPE_RECORD ? "record" : "case", sh->name);
        return;
    }
    default:
        buf_puts(b, "<fun>");
        return;
    }
}

void fmt_show(Buf *b, Value v)
{
    Show s = {b, b->len};
    show(&s, v, 0, PREC_ITEM);
}

void fmt_tostring(Buf *b, Value v)
{
    switch (v.tag_) {
    case V_UNIT: return;
    case V_BOOL: buf_puts(b, AS_BOOL(v) ? "True" : "False"); return;
    case V_INT: buf_printf(b, "%lld", (long long)AS_INT(v)); return;
    case V_FLOAT: show_float_net(b, AS_FLOAT(v)); return;
    case V_CHAR: put_utf8(b, (uint32_t)AS_INT(v)); return;
    default: break;
    }
    if (IS_STRING(v)) {
        buf_put(b, AS_STRING(v)->chars, AS_STRING(v)->len);
        return;
    }
    if (IS_DATA(v) && (AS_DATA(v)->shape->flags & SHAPE_OPTION)) {
        /* .NET: None is null, which `string` turns into ""; Some overrides
         * ToString as "Some(" + the value's ToString, null as "null" + ")" */
        const ObjData *d = AS_DATA(v);
        if (d->n == 0)
            return;
        buf_puts(b, "Some(");
        if (IS_DATA(d->items[0]) && (AS_DATA(d->items[0])->shape->flags & SHAPE_OPTION) &&
            AS_DATA(d->items[0])->n == 0)
            buf_puts(b, "null");
        else
            fmt_tostring(b, d->items[0]);
        buf_putc(b, ')');
        return;
    }
    if (IS_ARRAY(v)) {
        /* .NET: the name of the array's type, from its first element */
        const ObjArray *a = AS_ARRAY(v);
        Value x = a->n ? a->items[0] : mk_unit();
        const char *t = IS_INT(x) ? "Int32" : IS_FLOAT(x) ? "Double" : IS_CHAR(x) ? "Char"
                        : IS_BOOL(x) ? "Boolean" : IS_STRING(x) ? "String" : "Object";
        buf_printf(b, "System.%s[]", t);
        return;
    }
    if (IS_MAP(v) || IS_SET(v)) {
        tostring_tree(b, AS_TREE(v));
        return;
    }
    fmt_show(b, v);
}

/* ---------------------------------------------------------- formatting --- */

static void pad(Buf *b, const char *s, size_t n, const Spec *sp)
{
    size_t w = sp->width > 0 ? (size_t)sp->width : 0;
    bool left = strchr(sp->flags, '-') != NULL;
    if (!left)
        for (size_t i = n; i < w; i++)
            buf_putc(b, ' ');
    buf_put(b, s, n);
    if (left)
        for (size_t i = n; i < w; i++)
            buf_putc(b, ' ');
}

/* .NET prints exponents with at least three digits: 1.5e+000. */
static void widen_exponent(char *s, size_t cap)
{
    char *e = strpbrk(s, "eE");
    if (!e || !(e[1] == '+' || e[1] == '-'))
        return;
    char *digits = e + 2;
    size_t nd = strlen(digits);
    if (nd >= 3 || strlen(s) + 3 - nd >= cap)
        return;
    memmove(digits + (3 - nd), digits, nd + 1);
    memset(digits, '0', 3 - nd);
}

/* Returns NULL or an error message (static storage in *err). */
static const char *format_into(Buf *b, const ObjString *fmt, const Value *args, int nargs,
                               char *err, size_t errcap)
{
    const char *f = fmt->chars;
    size_t len = fmt->len;
    int ai = 0;
    for (size_t i = 0; i < len; i++) {
        if (f[i] != '%') {
            size_t j = i;
            while (j < len && f[j] != '%')
                j++;
            buf_put(b, f + i, j - i);
            i = j - 1;
            continue;
        }
        if (i + 1 < len && f[i + 1] == '%') {
            buf_putc(b, '%');
            i++;
            continue;
        }
        Spec sp;
        size_t end = parse_spec(f, i + 1, len, &sp);
        if (!end) {
            snprintf(err, errcap, "invalid format string");
            return err;
        }
        i = end - 1;
        if (sp.star_width) {
            if (ai >= nargs || !IS_INT(args[ai])) {
                snprintf(err, errcap, "format '*' width expects an int");
                return err;
            }
            int64_t wv = AS_INT(args[ai++]);
            sp.width = wv < 0 ? 0 : wv > 1000 ? 1000 : (int)wv;
        }
        if (sp.star_precision) {
            if (ai >= nargs || !IS_INT(args[ai])) {
                snprintf(err, errcap, "format '*' precision expects an int");
                return err;
            }
            int64_t pv = AS_INT(args[ai++]);
            sp.precision = pv < 0 ? 0 : pv > 100 ? 100 : (int)pv;
        }
        if (ai >= nargs) {
            snprintf(err, errcap, "format has more specifiers than arguments");
            return err;
        }
        Value v = args[ai++];
        char cfmt[64], tmp[2400];
        switch (sp.type) {
        case 'd': case 'i': case 'u': case 'x': case 'X': case 'o': {
            if (!IS_INT(v)) {
                snprintf(err, errcap, "format '%%%c' expects an int, got %s", sp.type,
                         value_type_name(v));
                return err;
            }
            char conv = sp.type == 'i' || sp.type == 'u' ? 'd' : sp.type;
            if (sp.precision >= 0)
                snprintf(cfmt, sizeof cfmt, "%%%s%d.%dll%c", sp.flags,
                         sp.width > 0 ? sp.width : 0, sp.precision, conv);
            else
                snprintf(cfmt, sizeof cfmt, "%%%s%dll%c", sp.flags, sp.width > 0 ? sp.width : 0,
                         conv);
            int n = snprintf(tmp, sizeof tmp, cfmt, (long long)AS_INT(v));
            buf_put(b, tmp, (size_t)(n < (int)sizeof tmp ? n : (int)sizeof tmp - 1));
            break;
        }
        case 'f': case 'F': case 'e': case 'E': case 'g': case 'G': {
            if (!IS_FLOAT(v)) {
                snprintf(err, errcap, "format '%%%c' expects a float, got %s", sp.type,
                         value_type_name(v));
                return err;
            }
            double d = AS_FLOAT(v);
            if (isnan(d) || isinf(d)) {
                const char *s = isnan(d) ? "NaN" : d < 0 ? "-Infinity" : "Infinity";
                pad(b, s, strlen(s), &sp);
                break;
            }
            int prec = sp.precision >= 0 ? sp.precision : 6;
            if (prec > 100)
                prec = 100;
            snprintf(cfmt, sizeof cfmt, "%%%s%d.%d%c", sp.flags, sp.width > 0 ? sp.width : 0,
                     prec, sp.type);
            snprintf(tmp, sizeof tmp, cfmt, d);
            if (sp.type == 'e' || sp.type == 'E')
                widen_exponent(tmp, sizeof tmp);
            buf_puts(b, tmp);
            break;
        }
        case 'b':
            if (!IS_BOOL(v)) {
                snprintf(err, errcap, "format '%%b' expects a bool, got %s", value_type_name(v));
                return err;
            }
            pad(b, AS_BOOL(v) ? "true" : "false", AS_BOOL(v) ? 4 : 5, &sp);
            break;
        case 'c': {
            if (!IS_CHAR(v)) {
                snprintf(err, errcap, "format '%%c' expects a char, got %s", value_type_name(v));
                return err;
            }
            Buf t;
            buf_init(&t, b->mem);
            put_utf8(&t, (uint32_t)AS_INT(v));
            pad(b, t.data ? t.data : "", t.len, &sp);
            buf_free(&t);
            break;
        }
        case 's':
        case 'O':
        case 'A': {
            Buf t;
            buf_init(&t, b->mem);
            if (sp.type == 'A')
                fmt_show(&t, v);
            else if (sp.type == 'O' && (IS_UNIT(v) || (IS_DATA(v) && AS_DATA(v)->n == 0 &&
                                                       (AS_DATA(v)->shape->flags & SHAPE_OPTION))))
                buf_puts(&t, "<null>"); /* .NET represents () and None as null */
            else
                fmt_tostring(&t, v);
            if (sp.type == 's' && sp.precision >= 0 && t.len > (size_t)sp.precision)
                t.len = (size_t)sp.precision;
            pad(b, t.data ? t.data : "", t.len, &sp);
            if (t.failed)
                b->failed = 1;
            buf_free(&t);
            break;
        }
        }
    }
    return NULL;
}

void fmt_apply(fsrs_vm *vm, Buf *out, const ObjString *fmt, const Value *args, int nargs)
{
    char err[160];
    const char *e = format_into(out, fmt, args, nargs, err, sizeof err);
    if (e) {
        buf_free(out);
        vm_throw(vm, FSRS_ERUNTIME, "%s", e);
    }
}

Value fmt_run(fsrs_vm *vm, int kind, const ObjString *fmt, const Value *args, int nargs)
{
    Buf b;
    buf_init(&b, &vm->mem);
    fmt_apply(vm, &b, fmt, args, nargs);
    if (kind == FMT_PRINTFN || kind == FMT_EPRINTFN)
        buf_putc(&b, '\n');
    if (b.failed) {
        buf_free(&b);
        vm_throw(vm, FSRS_ENOMEM, "out of memory while formatting");
    }
    const char *s = b.data ? b.data : "";
    Value r = mk_unit();
    switch (kind) {
    case FMT_PRINTF:
    case FMT_PRINTFN:
        vm_output(vm, false, s, b.len);
        break;
    case FMT_EPRINTF:
    case FMT_EPRINTFN:
        vm_output(vm, true, s, b.len);
        break;
    case FMT_SPRINTF: {
        ObjString *str = str_new(vm, s, b.len);
        if (!str) {
            buf_free(&b);
            vm_throw(vm, FSRS_ENOMEM, "out of memory while formatting");
        }
        r = mk_obj(str);
        break;
    }
    case FMT_FAILWITHF: {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", s);
        buf_free(&b);
        vm_throw(vm, FSRS_ERUNTIME, "%s", msg);
    }
    }
    buf_free(&b);
    return r;
}

static int format_native(fsrs_vm *vm, const Value *args, int argc, Value *out, void *userdata)
{
    ObjNative *self = userdata;
    *out = fmt_run(vm, self->aux, self->data, args, argc);
    return FSRS_OK;
}

Value fmt_native_new(fsrs_vm *vm, int kind, const ObjString *fmt, int nargs)
{
    static const char *const names[] = {"printf", "printfn", "sprintf", "failwithf", "eprintf",
                                        "eprintfn"};
    ObjNative *n = gc_alloc_x(vm, sizeof(ObjNative), O_NATIVE);
    n->fn = format_native;
    n->arity = nargs;
    n->aux = kind;
    n->name = names[kind];
    n->userdata = n;
    n->data = fmt;
    n->owner = vm->frames[vm->nframes - 1].proto->chunk;
    return mk_obj(n);
}

size_t fsrs_value_format(fsrs_value v, char *buf, size_t cap)
{
    Mem mem;
    mem_init(&mem, NULL, NULL);
    Buf b;
    buf_init(&b, &mem);
    fmt_show(&b, v);
    size_t n = b.len;
    if (cap) {
        size_t k = n < cap - 1 ? n : cap - 1;
        if (k)
            memcpy(buf, b.data, k);
        buf[k] = '\0';
    }
    buf_free(&b);
    return n;
}
