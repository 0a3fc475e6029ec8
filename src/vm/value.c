/*
 * vm/value.c - structural equality, ordering and hashing of values, and
 * the public value readers and inline constructors (fsrs/value.h).
 * Pure functions: any thread that may read the values.
 */
#include <string.h>

#include "lang/types.h"
#include "vm/object.h"
#include "vm/tree.h"

uint32_t string_hash(const char *s, size_t n)
{
    /* FNV-1a */
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= (uint8_t)s[i];
        h *= 16777619u;
    }
    return h;
}

bool value_equal(Value a, Value b)
{
    for (;;) {
        if (a.tag_ != b.tag_)
            return false;
        switch (a.tag_) {
        case V_UNIT:
        case V_NIL:
            return true;
        case V_BOOL:
        case V_INT:
        case V_CHAR:
            return a.as_.i == b.as_.i;
        case V_FLOAT:
            return a.as_.f == b.as_.f;
        default:
            break;
        }
        Obj *x = AS_OBJ(a), *y = AS_OBJ(b);
        if (x == y)
            return true;
        if (x->type != y->type)
            return false;
        switch (x->type) {
        case O_STRING: {
            ObjString *s = (ObjString *)x, *t = (ObjString *)y;
            return s->len == t->len && s->hash == t->hash && memcmp(s->chars, t->chars, s->len) == 0;
        }
        case O_TUPLE: {
            ObjTuple *s = (ObjTuple *)x, *t = (ObjTuple *)y;
            if (s->n != t->n)
                return false;
            for (uint32_t i = 0; i + 1 < s->n; i++)
                if (!value_equal(s->items[i], t->items[i]))
                    return false;
            if (s->n == 0)
                return true;
            a = s->items[s->n - 1];
            b = t->items[t->n - 1];
            continue;
        }
        case O_ARRAY: {
            ObjArray *s = (ObjArray *)x, *t = (ObjArray *)y;
            if (s->n != t->n)
                return false;
            for (uint32_t i = 0; i < s->n; i++)
                if (!value_equal(s->items[i], t->items[i]))
                    return false;
            return true;
        }
        case O_CONS: {
            ObjCons *s = (ObjCons *)x, *t = (ObjCons *)y;
            if (!value_equal(s->head, t->head))
                return false;
            a = s->tail;
            b = t->tail;
            continue;
        }
        case O_DATA: {
            /* Tags and fields, not shapes: a value made before a reload
             * equals the same value made by the new chunk. */
            ObjData *s = (ObjData *)x, *t = (ObjData *)y;
            if (s->tag != t->tag || s->n != t->n)
                return false;
            if (s->n == 0)
                return true;
            for (uint32_t i = 0; i + 1 < s->n; i++)
                if (!value_equal(s->items[i], t->items[i]))
                    return false;
            a = s->items[s->n - 1];
            b = t->items[t->n - 1];
            continue;
        }
        case O_MAP:
        case O_SET:
            return tree_equal((const ObjTree *)x, (const ObjTree *)y);
        default:
            return false; /* functions: identity only */
        }
    }
}

static int cmp_num(double x, double y) { return x < y ? -1 : x > y ? 1 : 0; }
static int cmp_int(int64_t x, int64_t y) { return x < y ? -1 : x > y ? 1 : 0; }

int value_compare(Value a, Value b, const char **err)
{
    for (;;) {
        if (a.tag_ != b.tag_) {
            /* [] sorts before any non-empty list */
            if (IS_NIL(a) && IS_CONS(b))
                return -1;
            if (IS_CONS(a) && IS_NIL(b))
                return 1;
            *err = "cannot compare values of different types";
            return 0;
        }
        switch (a.tag_) {
        case V_UNIT:
        case V_NIL:
            return 0;
        case V_BOOL:
        case V_INT:
        case V_CHAR:
            return cmp_int(a.as_.i, b.as_.i);
        case V_FLOAT:
            return cmp_num(a.as_.f, b.as_.f);
        default:
            break;
        }
        Obj *x = AS_OBJ(a), *y = AS_OBJ(b);
        if (x == y)
            return 0;
        if (x->type != y->type) {
            *err = "cannot compare values of different types";
            return 0;
        }
        switch (x->type) {
        case O_STRING: {
            ObjString *s = (ObjString *)x, *t = (ObjString *)y;
            uint32_t n = s->len < t->len ? s->len : t->len;
            int c = memcmp(s->chars, t->chars, n);
            if (c)
                return c < 0 ? -1 : 1;
            return cmp_int(s->len, t->len);
        }
        case O_TUPLE: {
            ObjTuple *s = (ObjTuple *)x, *t = (ObjTuple *)y;
            if (s->n != t->n)
                return cmp_int(s->n, t->n);
            for (uint32_t i = 0; i + 1 < s->n; i++) {
                int c = value_compare(s->items[i], t->items[i], err);
                if (c || *err)
                    return c;
            }
            if (s->n == 0)
                return 0;
            a = s->items[s->n - 1];
            b = t->items[t->n - 1];
            continue;
        }
        case O_ARRAY: {
            /* F#: a shorter array is smaller, then element by element */
            ObjArray *s = (ObjArray *)x, *t = (ObjArray *)y;
            if (s->n != t->n)
                return cmp_int(s->n, t->n);
            for (uint32_t i = 0; i < s->n; i++) {
                int c = value_compare(s->items[i], t->items[i], err);
                if (c || *err)
                    return c;
            }
            return 0;
        }
        case O_CONS: {
            ObjCons *s = (ObjCons *)x, *t = (ObjCons *)y;
            int c = value_compare(s->head, t->head, err);
            if (c || *err)
                return c;
            a = s->tail;
            b = t->tail;
            continue;
        }
        case O_DATA: {
            /* F#: unions by case (declaration order), then the fields;
             * records field by field in declaration order. */
            ObjData *s = (ObjData *)x, *t = (ObjData *)y;
            if (s->tag != t->tag)
                return cmp_int(s->tag, t->tag);
            if (s->n != t->n)
                return cmp_int(s->n, t->n);
            if (s->n == 0)
                return 0;
            for (uint32_t i = 0; i + 1 < s->n; i++) {
                int c = value_compare(s->items[i], t->items[i], err);
                if (c || *err)
                    return c;
            }
            a = s->items[s->n - 1];
            b = t->items[t->n - 1];
            continue;
        }
        case O_MAP:
        case O_SET:
            return tree_compare((const ObjTree *)x, (const ObjTree *)y, err);
        default:
            *err = "functions cannot be compared";
            return 0;
        }
    }
}

const char *value_type_name(Value v)
{
    switch (v.tag_) {
    case V_UNIT: return "unit";
    case V_BOOL: return "bool";
    case V_INT: return "int";
    case V_FLOAT: return "float";
    case V_CHAR: return "char";
    case V_NIL: return "list";
    default: break;
    }
    switch (OBJ_TYPE(v)) {
    case O_STRING: return "string";
    case O_TUPLE: return "tuple";
    case O_ARRAY: return "array";
    case O_CONS: return "list";
    case O_DATA: {
        const Shape *s = AS_DATA(v)->shape;
        return s->flags & SHAPE_ANONYMOUS ? "record" : s->type_name;
    }
    case O_MAP: return "Map";
    case O_SET: return "Set";
    default: return "function";
    }
}

/* ------------------------------------------------------------ public API --- */

fsrs_type fsrs_value_type(fsrs_value v)
{
    switch (v.tag_) {
    case V_UNIT: return FSRS_TYPE_UNIT;
    case V_BOOL: return FSRS_TYPE_BOOL;
    case V_INT: return FSRS_TYPE_INT;
    case V_FLOAT: return FSRS_TYPE_FLOAT;
    case V_CHAR: return FSRS_TYPE_CHAR;
    case V_NIL: return FSRS_TYPE_LIST;
    case V_OBJ: break;
    default: return FSRS_TYPE_OTHER;
    }
    switch (OBJ_TYPE(v)) {
    case O_STRING: return FSRS_TYPE_STRING;
    case O_TUPLE: return FSRS_TYPE_TUPLE;
    case O_CONS: return FSRS_TYPE_LIST;
    case O_CLOSURE:
    case O_PARTIAL:
    case O_NATIVE: return FSRS_TYPE_FUNCTION;
    case O_DATA:
        return AS_DATA(v)->shape->kind == SHAPE_RECORD ? FSRS_TYPE_RECORD : FSRS_TYPE_UNION;
    case O_ARRAY: return FSRS_TYPE_ARRAY;
    default: return FSRS_TYPE_OTHER;
    }
}

const char *fsrs_type_name(fsrs_type t)
{
    static const char *const names[] = {"unit",  "bool",  "int",      "float",  "char",
                                        "string", "tuple", "list",     "function", "record",
                                        "union",  "array", "other"};
    return (unsigned)t <= FSRS_TYPE_OTHER ? names[t] : "other";
}

fsrs_value fsrs_unit(void) { return mk_unit(); }
fsrs_value fsrs_bool(bool b) { return mk_bool(b); }
fsrs_value fsrs_int(int64_t i) { return mk_int(i); }
fsrs_value fsrs_float(double f) { return mk_float(f); }
fsrs_value fsrs_nil(void) { return mk_nil(); }

bool fsrs_value_as_bool(fsrs_value v) { return IS_BOOL(v) && AS_BOOL(v); }
int64_t fsrs_value_as_int(fsrs_value v) { return IS_INT(v) || IS_CHAR(v) ? AS_INT(v) : 0; }
double fsrs_value_as_float(fsrs_value v) { return IS_FLOAT(v) ? AS_FLOAT(v) : 0.0; }

const char *fsrs_value_as_string(fsrs_value v, size_t *len_out)
{
    if (!IS_STRING(v)) {
        if (len_out)
            *len_out = 0;
        return NULL;
    }
    if (len_out)
        *len_out = AS_STRING(v)->len;
    return AS_STRING(v)->chars;
}

size_t fsrs_tuple_size(fsrs_value v) { return IS_TUPLE(v) ? AS_TUPLE(v)->n : 0; }

fsrs_value fsrs_tuple_get(fsrs_value v, size_t i)
{
    if (!IS_TUPLE(v) || i >= AS_TUPLE(v)->n)
        return mk_unit();
    return AS_TUPLE(v)->items[i];
}

size_t fsrs_array_size(fsrs_value v) { return IS_ARRAY(v) ? AS_ARRAY(v)->n : 0; }

fsrs_value fsrs_array_get(fsrs_value v, size_t i)
{
    return IS_ARRAY(v) && i < AS_ARRAY(v)->n ? AS_ARRAY(v)->items[i] : mk_unit();
}

bool fsrs_array_set(fsrs_value v, size_t i, fsrs_value x)
{
    if (!IS_ARRAY(v) || i >= AS_ARRAY(v)->n)
        return false;
    AS_ARRAY(v)->items[i] = x;
    return true;
}

bool fsrs_list_is_empty(fsrs_value v) { return !IS_CONS(v); }
fsrs_value fsrs_list_head(fsrs_value v) { return IS_CONS(v) ? AS_CONS(v)->head : mk_unit(); }
fsrs_value fsrs_list_tail(fsrs_value v) { return IS_CONS(v) ? AS_CONS(v)->tail : mk_nil(); }

bool fsrs_value_equal(fsrs_value a, fsrs_value b) { return value_equal(a, b); }

/* ------------------------------------------------ records and unions --- */

static const ObjData *as_data(fsrs_value v, int kind)
{
    if (!IS_DATA(v) || AS_DATA(v)->shape->kind != kind)
        return NULL;
    return AS_DATA(v);
}

size_t fsrs_record_size(fsrs_value v)
{
    const ObjData *d = as_data(v, SHAPE_RECORD);
    return d ? d->n : 0;
}

const char *fsrs_record_field_name(fsrs_value v, size_t i)
{
    const ObjData *d = as_data(v, SHAPE_RECORD);
    return d && i < d->n ? d->shape->fields[i] : NULL;
}

fsrs_value fsrs_record_field(fsrs_value v, size_t i)
{
    const ObjData *d = as_data(v, SHAPE_RECORD);
    return d && i < d->n ? d->items[i] : mk_unit();
}

int fsrs_record_get(fsrs_value v, const char *name, fsrs_value *out)
{
    const ObjData *d = as_data(v, SHAPE_RECORD);
    int i = d && name ? types_field_index(d->shape, name) : -1;
    if (i < 0)
        return FSRS_ENOTFOUND;
    if (out)
        *out = d->items[i];
    return FSRS_OK;
}

const char *fsrs_union_case(fsrs_value v)
{
    const ObjData *d = as_data(v, SHAPE_CASE);
    return d ? d->shape->name : NULL;
}

size_t fsrs_union_size(fsrs_value v)
{
    const ObjData *d = as_data(v, SHAPE_CASE);
    return d ? d->n : 0;
}

fsrs_value fsrs_union_field(fsrs_value v, size_t i)
{
    const ObjData *d = as_data(v, SHAPE_CASE);
    return d && i < d->n ? d->items[i] : mk_unit();
}

/* ------------------------------------------------------------- hashing --- */

static uint32_t hash_mix(uint32_t h, uint64_t x)
{
    h ^= (uint32_t)x + 0x9e3779b9u + (h << 6) + (h >> 2);
    h ^= (uint32_t)(x >> 32) + 0x9e3779b9u + (h << 6) + (h >> 2);
    return h;
}

/* Structural, so that value_equal values hash equal: the same walk over
 * both visits the same parts.  The walk stops after a fixed number of
 * parts and below a fixed depth (both decided by the structure alone),
 * so it stays short and never exhausts the C stack. */
static uint32_t hash_walk(Value v, int depth, int *budget)
{
    uint32_t h = (uint32_t)v.tag_ * 31u + 7u;
    for (;;) {
        if (--*budget < 0 || depth > 32)
            return h;
        switch (v.tag_) {
        case V_UNIT:
        case V_NIL:
            return h;
        case V_BOOL:
        case V_INT:
        case V_CHAR:
            return hash_mix(h, (uint64_t)v.as_.i);
        case V_FLOAT: {
            double d = v.as_.f == 0.0 ? 0.0 : v.as_.f; /* -0.0 = 0.0 */
            uint64_t bits;
            memcpy(&bits, &d, sizeof bits);
            return hash_mix(h, bits);
        }
        default:
            break;
        }
        Obj *o = AS_OBJ(v);
        switch (o->type) {
        case O_STRING:
            return hash_mix(h, ((ObjString *)o)->hash);
        case O_TUPLE: {
            ObjTuple *t = (ObjTuple *)o;
            h = hash_mix(h, t->n);
            for (uint32_t i = 0; i < t->n; i++)
                h = hash_mix(h, hash_walk(t->items[i], depth + 1, budget));
            return h;
        }
        case O_CONS:
            h = hash_mix(h, hash_walk(((ObjCons *)o)->head, depth + 1, budget));
            v = ((ObjCons *)o)->tail;
            continue;
        case O_DATA: {
            ObjData *d = (ObjData *)o;
            h = hash_mix(h, d->tag);
            for (uint32_t i = 0; i < d->n; i++)
                h = hash_mix(h, hash_walk(d->items[i], depth + 1, budget));
            return h;
        }
        case O_MAP:
        case O_SET: {
            /* equal maps and sets hold equal keys (and values) in order */
            TreeIter it;
            tree_iter_init(&it, (const ObjTree *)o, false);
            h = hash_mix(h, o->type);
            for (const TreeNode *n; (n = tree_next(&it));) {
                h = hash_mix(h, hash_walk(n->key, depth + 1, budget));
                if (o->type == O_MAP)
                    h = hash_mix(h, hash_walk(n->val, depth + 1, budget));
                if (*budget < 0)
                    break;
            }
            return h;
        }
        case O_ARRAY: {
            /* equal arrays are equal item by item, so hash their items */
            ObjArray *a = (ObjArray *)o;
            h = hash_mix(h, a->n);
            for (uint32_t i = 0; i < a->n; i++)
                h = hash_mix(h, hash_walk(a->items[i], depth + 1, budget));
            return h;
        }
        default:
            /* functions are equal only to themselves */
            return hash_mix(h, (uint64_t)(uintptr_t)o);
        }
    }
}

uint32_t value_hash(Value v)
{
    int budget = 4096;
    return hash_walk(v, 0, &budget);
}
