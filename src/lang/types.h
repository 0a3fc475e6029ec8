/*
 * lang/types.h - the record and union types a program declares, as the
 * compiler sees them while it walks the program.
 *
 * Declarations become Shapes (vm/object.h) in the chunk's arena; the
 * compiler looks them up by case name and by field names and puts them in
 * its constants.  Compiling thread only.
 */
#ifndef FSRS_LANG_TYPES_H
#define FSRS_LANG_TYPES_H

#include <stdbool.h>
#include <stdint.h>

#include "lang/arena.h"
#include "lang/ast.h"
#include "vm/object.h"

typedef struct TypeTable {
    Arena *keep;                 /* the chunk's arena: shapes live with it */
    const struct fsrs_chunk *chunk;
    const Shape **records;       /* declared record types, in order */
    uint32_t nrecords, caprecords;
    const Shape **anons;         /* structural records, in order of first use */
    uint32_t nanons, capanons;
    const Shape **cases;         /* declared union cases, in order */
    uint32_t ncases, capcases;
} TypeTable;

typedef struct TypeError {
    int line, col;
    char msg[256];
} TypeError;

void types_init(TypeTable *t, Arena *keep, const struct fsrs_chunk *chunk);

/* Declare the types of one `type ... and ...` group.  Returns 0, -1 with
 * err filled (a field or case declared twice), or -2 out of memory. */
int types_declare(TypeTable *t, const TypeDef *defs, int n, TypeError *err);

/* The union case called `name` ("Case" or "Type.Case"): the last declared
 * one, else a built-in (option, Result); NULL if there is none. */
const Shape *types_case(const TypeTable *t, const char *name);

/*
 * The record type for these field names, as F# infers it: the last
 * declared type whose fields are exactly `names` (exact) or include them
 * all (!exact); failing that, a structural record with those fields.
 * NULL if there is none.
 */
const Shape *types_record(const TypeTable *t, const char *const *names, int n, bool exact);

/* The structural record with exactly these fields, made on first use with
 * the fields in the given order.  NULL when out of memory. */
const Shape *types_anonymous(TypeTable *t, const char *const *names, int n);

/* Index of field `name` in record shape s, or -1. */
int types_field_index(const Shape *s, const char *name);

#endif
