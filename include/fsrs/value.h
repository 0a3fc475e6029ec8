/*
 * fsrs/value.h - script values as the host sees them.
 *
 * An fsrs_value is a small by-value struct (16 bytes).  Ints, floats, bools,
 * chars and unit are stored inline and never allocate.  Strings, tuples,
 * lists and functions live on the heap of the VM that made them: such a
 * value is only meaningful with that VM and on that VM's thread.  Values
 * never cross threads; copy them out through the readers below.
 *
 * Lifetime of heap values held by the host: every value the API hands out
 * (results of fsrs_vm_call, values made by fsrs_string_new and friends) is
 * kept alive by the VM's handle stack until the host releases it with
 * fsrs_vm_release(vm, mark) for a mark taken earlier with fsrs_vm_mark(vm).
 * Inside a host function the VM releases what the function allocated, except
 * its result, when the function returns.
 *
 * Threads: the constructors that take a VM follow that VM's rule (only the
 * thread that owns the VM).  The readers are pure and may be called from any
 * thread that may read the value.
 */
#ifndef FSRS_VALUE_H
#define FSRS_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fsrs_vm fsrs_vm;

/* The layout is public only so values can be passed by value; the fields
 * are private: use the functions below. */
typedef struct fsrs_value {
    uint32_t tag_;
    uint32_t aux_;
    union {
        int64_t i;
        double f;
        void *p;
    } as_;
} fsrs_value;

typedef enum fsrs_type {
    FSRS_TYPE_UNIT,
    FSRS_TYPE_BOOL,
    FSRS_TYPE_INT,
    FSRS_TYPE_FLOAT,
    FSRS_TYPE_CHAR,
    FSRS_TYPE_STRING,
    FSRS_TYPE_TUPLE,
    FSRS_TYPE_LIST,
    FSRS_TYPE_FUNCTION,
    FSRS_TYPE_RECORD,   /* a record value (declared type, structural, or fsrs_record_new) */
    FSRS_TYPE_UNION,    /* a union case value, including Some/None and Ok/Error */
    FSRS_TYPE_ARRAY,    /* a mutable array [| ... |] */
    FSRS_TYPE_OTHER
} fsrs_type;

fsrs_type fsrs_value_type(fsrs_value v);
const char *fsrs_type_name(fsrs_type t);

/* Inline constructors: never allocate, never fail. */
fsrs_value fsrs_unit(void);
fsrs_value fsrs_bool(bool b);
fsrs_value fsrs_int(int64_t i);
fsrs_value fsrs_float(double f);
fsrs_value fsrs_nil(void); /* the empty list [] */

/*
 * Heap constructors.  Each writes the new value to *out and returns FSRS_OK,
 * or FSRS_ENOMEM / FSRS_ELIMIT (memory limit) with *out untouched.
 * The bytes, items or list elements are copied.
 */
int fsrs_string_new(fsrs_vm *vm, const char *bytes, size_t len, fsrs_value *out);
int fsrs_tuple_new(fsrs_vm *vm, size_t n, const fsrs_value *items, fsrs_value *out);
int fsrs_list_new(fsrs_vm *vm, size_t n, const fsrs_value *items, fsrs_value *out);
int fsrs_array_new(fsrs_vm *vm, size_t n, const fsrs_value *items, fsrs_value *out);

/*
 * Readers.  A reader called on a value of the wrong type returns the zero of
 * its result type (0, 0.0, false, NULL, unit); check fsrs_value_type first.
 */
bool fsrs_value_as_bool(fsrs_value v);
int64_t fsrs_value_as_int(fsrs_value v);
double fsrs_value_as_float(fsrs_value v);
/* The string's bytes (UTF-8, NUL-terminated, owned by the VM) and length. */
const char *fsrs_value_as_string(fsrs_value v, size_t *len_out);
size_t fsrs_tuple_size(fsrs_value v);
fsrs_value fsrs_tuple_get(fsrs_value v, size_t i);
/* Arrays: size, item i (unit when out of range), and an in-place store
 * (false when v is not an array or i is out of range).  A store is seen
 * by the script that holds the array, as `arr.[i] <- x` would be. */
size_t fsrs_array_size(fsrs_value v);
fsrs_value fsrs_array_get(fsrs_value v, size_t i);
bool fsrs_array_set(fsrs_value v, size_t i, fsrs_value x);
bool fsrs_list_is_empty(fsrs_value v);
fsrs_value fsrs_list_head(fsrs_value v);
fsrs_value fsrs_list_tail(fsrs_value v);

/*
 * Records.  fsrs_record_new makes a record with the n fields names[i] =
 * values[i] (names are copied; they must be distinct identifiers).  Scripts
 * use it like any record: `r.Path`, `{ r with Status = 404 }`, the pattern
 * `{ Path = p }`.  The VM keeps one description per list of field names, so
 * making many records with the same names is cheap.  Field order matters to
 * `=` and `compare`, as with F# records: give fields in the order the
 * script's type declares them when the script compares them.
 * Returns FSRS_OK, FSRS_EINVAL (no field, a bad or repeated name),
 * FSRS_ENOMEM or FSRS_ELIMIT.  Owner thread only; may allocate.
 */
int fsrs_record_new(fsrs_vm *vm, size_t n, const char *const *names, const fsrs_value *values,
                    fsrs_value *out);

/*
 * Record readers (any record: declared, structural or made by the host).
 * fsrs_record_get looks a field up by name: FSRS_OK with the value in *out,
 * or FSRS_ENOTFOUND when v is not a record or has no such field.  The
 * others read by position (0 .. fsrs_record_size - 1) and return 0, NULL
 * or unit for a non-record or an index out of range.  They never allocate
 * and need no VM.
 */
int fsrs_record_get(fsrs_value v, const char *name, fsrs_value *out);
size_t fsrs_record_size(fsrs_value v);
const char *fsrs_record_field_name(fsrs_value v, size_t i);
fsrs_value fsrs_record_field(fsrs_value v, size_t i);

/*
 * Union case readers: the case's name ("Some", "Error", "Circle"; NULL for a
 * value that is not a union case), its number of fields and field i (unit
 * when out of range).  `None` is a case with no fields.
 */
const char *fsrs_union_case(fsrs_value v);
size_t fsrs_union_size(fsrs_value v);
fsrs_value fsrs_union_field(fsrs_value v, size_t i);

/* Structural equality, as the script's `=` operator. */
bool fsrs_value_equal(fsrs_value a, fsrs_value b);

/*
 * Render v as F#'s "%A" would into buf (at most cap bytes, NUL-terminated,
 * truncated if needed).  Returns the length the full rendering needs, like
 * snprintf.
 */
size_t fsrs_value_format(fsrs_value v, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
