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
} ObjType;

typedef struct Obj {
    struct Obj *next;  /* the VM's list of all heap objects */
    uint8_t type;      /* ObjType */
    uint8_t marked;    /* GC mark bit (heap objects only) */
    uint8_t is_static; /* chunk constant or builtin: never marked or freed */
    uint8_t pad_;
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
#define AS_STRING(v)    ((ObjString *)(v).as_.p)
#define AS_TUPLE(v)     ((ObjTuple *)(v).as_.p)
#define AS_CONS(v)      ((ObjCons *)(v).as_.p)
#define AS_CLOSURE(v)   ((ObjClosure *)(v).as_.p)
#define AS_PARTIAL(v)   ((ObjPartial *)(v).as_.p)
#define AS_NATIVE(v)    ((ObjNative *)(v).as_.p)

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
const char *value_type_name(Value v);

#endif
