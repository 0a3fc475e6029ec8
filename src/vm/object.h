/*
 * vm/object.h - the value and heap-object model shared by compiler and VM.
 *
 * A Value (== fsrs_value) is 16 bytes: a tag and a payload.  Unit, bool,
 * int, float, char and the empty list are immediate.  Everything else is an
 * Obj on a VM's heap, or a *static* Obj: constants that live in a chunk and
 * builtins that live in the library's data.  Static objects are shared by
 * every thread and never written after creation, so the collector checks
 * the flag and never marks them.
 *
 * Records and union values are one kind of heap object, ObjData: a pointer
 * to the static Shape that describes the record type or the union case,
 * the case's tag (copied from the shape, so that a case test is one
 * integer compare) and the fields.  A union case without fields has one
 * static value, made with its shape.
 *
 * Threads: heap objects belong to the VM (thread) that made them; static
 * objects are read-only and may be read from any thread.
 */
#ifndef FSRS_VM_OBJECT_H
#define FSRS_VM_OBJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <fsrs/value.h>

typedef fsrs_value Value;

/* Immediate tags (Value.tag_). */
enum {
    V_UNIT = 0,
    V_BOOL,
    V_INT,
    V_FLOAT,
    V_CHAR,
    V_NIL,   /* [] */
    V_OBJ,   /* as_.p points to an Obj */
};

typedef enum ObjType {
    O_STRING,
    O_TUPLE,
    O_CONS,
    O_CLOSURE,
    O_PARTIAL,
    O_NATIVE,
    O_DATA,    /* a record or a union case value */
    O_SHAPE,   /* static: the description of a record type or a union case */
    O_ARRAY,   /* a mutable array of fixed length */
    O_MAP,     /* an immutable Map: ObjTree (vm/tree.h) */
    O_SET,     /* an immutable Set: ObjTree */
    O_TREENODE,/* a node of a Map's or Set's balanced tree */
} ObjType;

typedef struct Obj {
    union {
        struct Obj *next;               /* heap objects: the VM's list of large
                                           ones, or a free slab slot's
                                           successor on its free list (gc.c) */
        const struct fsrs_chunk *owner; /* static objects: the chunk they are a
                                           constant of, or NULL (builtins) */
    };
    uint8_t type;      /* ObjType */
    uint8_t marked;    /* GC mark bit (heap objects only) */
    uint8_t is_static; /* chunk constant or builtin: never marked or freed */
    uint8_t aux;       /* per type: a tree node's height (vm/tree.h) */
    uint32_t size;     /* bytes, for accounting (heap objects) */
} Obj;

typedef struct ObjString {
    Obj obj;
    uint32_t len;
    uint32_t hash;
    char chars[];      /* len bytes plus a NUL */
} ObjString;

typedef struct ObjTuple {
    Obj obj;
    uint32_t n;
    Value items[];
} ObjTuple;

/* F#'s array: fixed length, elements written in place (a.[i] <- v). */
typedef struct ObjArray {
    Obj obj;
    uint32_t n;
    Value items[];
} ObjArray;

typedef struct ObjCons {
    Obj obj;
    Value head;
    Value tail;
} ObjCons;

typedef struct Proto Proto;

typedef struct ObjClosure {
    Obj obj;
    const Proto *proto;
    Value *globals;    /* the globals of the program instance it belongs to */
    uint32_t ncaps;
    Value caps[];
} ObjClosure;

/* A function applied to fewer arguments than its arity. */
typedef struct ObjPartial {
    Obj obj;
    Value fn;          /* closure or native */
    uint32_t nargs;
    uint32_t arity_left;
    Value args[];
} ObjPartial;

/* ----------------------------------------------------- records, unions --- */

enum { SHAPE_RECORD, SHAPE_CASE };

/* Shape.flags */
enum {
    SHAPE_ANONYMOUS = 1, /* a structural record: no declared type has its fields */
    SHAPE_OPTION = 2,    /* Some or None: `string` renders them as .NET does */
    SHAPE_EXN = 4,       /* a case of type exn: a built-in or declared exception */
};

/* Tags of exception cases (TEST_TAG compares tags only, so they must not
 * meet each other): built-in ones are EXN_TAG_BUILTIN + their EXN_* kind,
 * declared ones EXN_TAG_USER | a hash of their name. */
#define EXN_TAG_BUILTIN 0x20000000u
#define EXN_TAG_USER 0x40000000u

typedef struct ObjData ObjData;

/*
 * A record type or one case of a union.  Shapes are static objects: the
 * compiler makes them in the chunk's arena (the built-in option and Result
 * cases live in the library's data), so they are shared by every thread
 * and outlive every value that points at them while the chunk is alive.
 */
typedef struct Shape {
    Obj obj;
    uint8_t kind;              /* SHAPE_RECORD or SHAPE_CASE */
    uint8_t flags;             /* SHAPE_* */
    uint32_t tag;              /* SHAPE_CASE: index of the case in its union */
    uint32_t nfields;
    const char *name;          /* record type name, or case name */
    const char *type_name;     /* union type name; records: the record's */
    const char *const *fields; /* nfields names; NULL for an unnamed case field */
    const struct fsrs_chunk *chunk; /* where the shape lives; NULL: built in */
    const ObjData *nullary;    /* a case without fields: its only value */
} Shape;

struct ObjData {
    Obj obj;
    const Shape *shape;
    uint32_t tag;              /* shape->tag */
    uint32_t n;                /* shape->nfields */
    Value items[];
};

struct VM;
/* Natives get their arguments in place on the VM stack. */
typedef int (*NativeFn)(fsrs_vm *vm, const Value *args, int argc, Value *out, void *userdata);

typedef struct ObjNative {
    Obj obj;
    NativeFn fn;
    int arity;
    int aux;            /* per-native data (format kind) */
    const char *name;
    void *userdata;
    const void *data;   /* per-native data (format string) */
    const struct fsrs_chunk *owner; /* chunk that data lives in, or NULL */
} ObjNative;

/* ---------------------------------------------------------- accessors --- */

#define VAL_TAG(v)      ((v).tag_)
#define IS_UNIT(v)      ((v).tag_ == V_UNIT)
#define IS_BOOL(v)      ((v).tag_ == V_BOOL)
#define IS_INT(v)       ((v).tag_ == V_INT)
#define IS_FLOAT(v)     ((v).tag_ == V_FLOAT)
#define IS_CHAR(v)      ((v).tag_ == V_CHAR)
#define IS_NIL(v)       ((v).tag_ == V_NIL)
#define IS_OBJ(v)       ((v).tag_ == V_OBJ)
#define AS_OBJ(v)       ((Obj *)(v).as_.p)
#define AS_BOOL(v)      ((v).as_.i != 0)
#define AS_INT(v)       ((v).as_.i)
#define AS_FLOAT(v)     ((v).as_.f)
#define OBJ_TYPE(v)     (AS_OBJ(v)->type)
#define IS_OBJTYPE(v, t) (IS_OBJ(v) && OBJ_TYPE(v) == (t))
#define IS_STRING(v)    IS_OBJTYPE(v, O_STRING)
#define IS_TUPLE(v)     IS_OBJTYPE(v, O_TUPLE)
#define IS_CONS(v)      IS_OBJTYPE(v, O_CONS)
#define IS_CLOSURE(v)   IS_OBJTYPE(v, O_CLOSURE)
#define IS_DATA(v)      IS_OBJTYPE(v, O_DATA)
#define IS_ARRAY(v)     IS_OBJTYPE(v, O_ARRAY)
#define AS_ARRAY(v)     ((ObjArray *)(v).as_.p)
#define AS_STRING(v)    ((ObjString *)(v).as_.p)
#define AS_TUPLE(v)     ((ObjTuple *)(v).as_.p)
#define AS_CONS(v)      ((ObjCons *)(v).as_.p)
#define AS_CLOSURE(v)   ((ObjClosure *)(v).as_.p)
#define AS_PARTIAL(v)   ((ObjPartial *)(v).as_.p)
#define AS_NATIVE(v)    ((ObjNative *)(v).as_.p)
#define AS_DATA(v)      ((ObjData *)(v).as_.p)
#define AS_SHAPE(v)     ((const Shape *)(v).as_.p)

static inline Value mk_unit(void) { Value v = {V_UNIT, 0, {.i = 0}}; return v; }
static inline Value mk_nil(void) { Value v = {V_NIL, 0, {.i = 0}}; return v; }
static inline Value mk_bool(bool b) { Value v = {V_BOOL, 0, {.i = b}}; return v; }
static inline Value mk_int(int64_t i) { Value v = {V_INT, 0, {.i = i}}; return v; }
static inline Value mk_float(double f) { Value v = {V_FLOAT, 0, {.f = f}}; return v; }
static inline Value mk_char(uint32_t c) { Value v = {V_CHAR, 0, {.i = c}}; return v; }
static inline Value mk_obj(void *o) { Value v = {V_OBJ, 0, {.p = o}}; return v; }

static inline bool is_function(Value v)
{
    return IS_OBJ(v) && (OBJ_TYPE(v) == O_CLOSURE || OBJ_TYPE(v) == O_PARTIAL ||
                         OBJ_TYPE(v) == O_NATIVE);
}

/* value.c: structural equality and ordering, hashing, names. */
bool value_equal(Value a, Value b);
/* -1, 0, 1; *err set (and 0 returned) when the values cannot be compared
 * (functions) */
int value_compare(Value a, Value b, const char **err);
uint32_t string_hash(const char *s, size_t n);
/* Structural hash: value_equal values hash equal. */
uint32_t value_hash(Value v);
const char *value_type_name(Value v);

#endif
