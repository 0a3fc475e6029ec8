/*
 * lang/types.c - record and union declarations -> Shapes, and the lookups
 * that stand in for type inference.
 *
 * Mini-F# has no type checker, so the compiler finds a record's type from
 * its field names and a union case from its name, the way F# resolves them
 * when nothing else is known: the latest declaration wins.  A record
 * literal whose fields match no declared type gets a structural shape (the
 * earlier FSRS dialect's records), shared by every literal with the same
 * field set.
 *
 * Shapes, their names and the values of field-less cases are written once
 * here, in the chunk's arena, and are read-only from then on: every thread
 * that runs the chunk reads them.  Called by compile.c on the compiling
 * thread.
 */
#include "lang/types.h"

#include <stdio.h>
#include <string.h>

#include "lang/compile.h"

void types_init(TypeTable *t, Arena *keep, const struct fsrs_chunk *chunk)
{
    memset(t, 0, sizeof *t);
    t->keep = keep;
    t->chunk = chunk;
}

/* ------------------------------------------------------------- helpers --- */

static const char *keep_str(TypeTable *t, const char *s)
{
    return s ? arena_strndup(t->keep, s, strlen(s)) : NULL;
}

/* Append to an arena array of shape pointers; false when out of memory. */
static bool push_shape(TypeTable *t, const Shape ***arr, uint32_t *n, uint32_t *cap,
                       const Shape *s)
{
    if (*n == *cap) {
        uint32_t ncap = *cap ? *cap * 2 : 8;
        const Shape **na = arena_alloc(t->keep, ncap * sizeof(Shape *));
        if (!na)
            return false;
        if (*n)
            memcpy(na, *arr, *n * sizeof(Shape *));
        *arr = na;
        *cap = ncap;
    }
    (*arr)[(*n)++] = s;
    return true;
}

static Shape *new_shape(TypeTable *t, int kind, const char *name, const char *type_name,
                        const char *const *fields, int nfields)
{
    Shape *s = arena_alloc(t->keep, sizeof *s);
    const char **f = arena_alloc(t->keep, ((size_t)nfields + 1) * sizeof(char *));
    if (!s || !f)
        return NULL;
    s->obj.type = O_SHAPE;
    s->obj.is_static = 1;
    s->kind = (uint8_t)kind;
    s->nfields = (uint32_t)nfields;
    s->name = keep_str(t, name);
    s->type_name = type_name == name ? s->name : keep_str(t, type_name);
    if (!s->name || !s->type_name)
        return NULL;
    for (int i = 0; i < nfields; i++) {
        f[i] = keep_str(t, fields[i]);
        if (fields[i] && !f[i])
            return NULL;
    }
    s->fields = f;
    s->chunk = t->chunk;
    return s;
}

static int type_error(TypeError *err, int line, int col, const char *fmt, const char *name)
{
    err->line = line;
    err->col = col;
    snprintf(err->msg, sizeof err->msg, fmt, name);
    return -1;
}

/* --------------------------------------------------------- declaration --- */

static int declare_record(TypeTable *t, const TypeDef *td, TypeError *err)
{
    for (int i = 0; i < td->nfields; i++)
        for (int j = 0; j < i; j++)
            if (strcmp(td->fields[i], td->fields[j]) == 0)
                return type_error(err, td->field_lines[i], td->field_cols[i],
                                  "the field '%s' is declared twice in this record type",
                                  td->fields[i]);
    Shape *s = new_shape(t, SHAPE_RECORD, td->name, td->name, td->fields, td->nfields);
    if (!s || !push_shape(t, &t->records, &t->nrecords, &t->caprecords, s))
        return -2;
    return 0;
}

static int declare_union(TypeTable *t, const TypeDef *td, TypeError *err)
{
    const char *type_name = keep_str(t, td->name);
    if (!type_name)
        return -2;
    for (int i = 0; i < td->ncases; i++) {
        const UnionCase *uc = &td->cases[i];
        for (int j = 0; j < i; j++)
            if (strcmp(uc->name, td->cases[j].name) == 0)
                return type_error(err, uc->line, uc->col,
                                  "the union case '%s' is declared twice in this type",
                                  uc->name);
        Shape *s = new_shape(t, SHAPE_CASE, uc->name, type_name, uc->fields, uc->nfields);
        if (!s)
            return -2;
        s->tag = (uint32_t)i;
        if (td->is_exception) {
            /* exceptions from different declarations meet in one `with` */
            s->flags |= SHAPE_EXN;
            s->tag = EXN_TAG_USER | (string_hash(uc->name, strlen(uc->name)) & 0x0FFFFFFFu);
        }
        if (uc->nfields == 0) {
            /* the case's one value, a constant of the chunk */
            ObjData *v = arena_alloc(t->keep, sizeof *v);
            if (!v)
                return -2;
            v->obj.type = O_DATA;
            v->obj.is_static = 1;
            v->shape = s;
            v->tag = s->tag;
            v->n = 0;
            s->nullary = v;
        }
        if (!push_shape(t, &t->cases, &t->ncases, &t->capcases, s))
            return -2;
    }
    return 0;
}

int types_declare(TypeTable *t, const TypeDef *defs, int n, TypeError *err)
{
    for (int i = 0; i < n; i++) {
        int rc = 0;
        if (defs[i].kind == TD_RECORD)
            rc = declare_record(t, &defs[i], err);
        else if (defs[i].kind == TD_UNION)
            rc = declare_union(t, &defs[i], err);
        if (rc)
            return rc;
    }
    return 0;
}

/* -------------------------------------------------------------- lookup --- */

const Shape *types_case(const TypeTable *t, const char *name)
{
    const char *dot = strrchr(name, '.');
    if (dot) {
        /* Type.Case */
        size_t tlen = (size_t)(dot - name);
        for (uint32_t i = t->ncases; i-- > 0;) {
            const Shape *s = t->cases[i];
            if (strcmp(s->name, dot + 1) == 0 && strlen(s->type_name) == tlen &&
                memcmp(s->type_name, name, tlen) == 0)
                return s;
        }
        return builtin_case(name); /* System.ArgumentException */
    }
    for (uint32_t i = t->ncases; i-- > 0;)
        if (strcmp(t->cases[i]->name, name) == 0)
            return t->cases[i];
    return builtin_case(name);
}

int types_field_index(const Shape *s, const char *name)
{
    if (s->kind != SHAPE_RECORD)
        return -1;
    for (uint32_t i = 0; i < s->nfields; i++)
        if (strcmp(s->fields[i], name) == 0)
            return (int)i;
    return -1;
}

static bool has_fields(const Shape *s, const char *const *names, int n, bool exact)
{
    if (exact && s->nfields != (uint32_t)n)
        return false;
    for (int i = 0; i < n; i++)
        if (types_field_index(s, names[i]) < 0)
            return false;
    return true;
}

const Shape *types_record(const TypeTable *t, const char *const *names, int n, bool exact)
{
    for (uint32_t i = t->nrecords; i-- > 0;)
        if (has_fields(t->records[i], names, n, exact))
            return t->records[i];
    for (uint32_t i = t->nanons; i-- > 0;)
        if (has_fields(t->anons[i], names, n, exact))
            return t->anons[i];
    return NULL;
}

const Shape *types_anonymous(TypeTable *t, const char *const *names, int n)
{
    for (uint32_t i = 0; i < t->nanons; i++)
        if (has_fields(t->anons[i], names, n, true))
            return t->anons[i];
    Shape *s = new_shape(t, SHAPE_RECORD, "", "", names, n);
    if (!s)
        return NULL;
    s->flags = SHAPE_ANONYMOUS;
    if (!push_shape(t, &t->anons, &t->nanons, &t->capanons, s))
        return NULL;
    return s;
}
