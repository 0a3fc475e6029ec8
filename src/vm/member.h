/*
 * vm/member.h - members of values: `s.Length`, `s.Substring(1, 2)`,
 * `m.ContainsKey k` (private).
 *
 * Mini-F# has no type checker, so the compiler cannot know the type of a
 * receiver.  It turns `x.Name` (when no record type declares a field Name)
 * and `x.Name(args)` into OP_MEMBER with the member's id, and the VM picks
 * the implementation from the receiver's type when the instruction runs.
 * The compiler calls member_lookup on its own thread; member_invoke runs
 * on the VM's owner thread.
 */
#ifndef FSRS_VM_MEMBER_H
#define FSRS_VM_MEMBER_H

#include <stdbool.h>

#include "vm/vm.h"

typedef enum MemberId {
    M_LENGTH, M_COUNT, M_ISEMPTY,
    M_TOUPPER, M_TOLOWER, M_TRIM, M_TRIMSTART, M_TRIMEND, M_SPLIT,
    M_CONTAINS, M_STARTSWITH, M_ENDSWITH, M_SUBSTRING, M_REPLACE, M_INDEXOF,
    M_LASTINDEXOF,
    M_CONTAINSKEY, M_TRYFIND, M_ITEM, M_ADD, M_REMOVE,
    M_MINIMUMELEMENT, M_MAXIMUMELEMENT,
    M__COUNT
} MemberId;

/* The id of the member called name, or -1; *is_method_out tells whether
 * it is a method (called with arguments) or a property. */
int member_lookup(const char *name, bool *is_method_out);
const char *member_name(int id);

/* slots[0].Member(slots[1..argc]): the receiver and the arguments are on
 * the VM stack (vm->sp is their top).  Returns the result or raises. */
Value member_invoke(fsrs_vm *vm, Value *slots, int argc, int id);
/* Raises "The field, constructor or member 'X' is not defined." */
_Noreturn Value member_missing(fsrs_vm *vm, int id);
/* Raises: the member does not take argc arguments. */
_Noreturn Value member_bad_args(fsrs_vm *vm, int id, int argc);

/* The implementations, by receiver type. */
Value string_member(fsrs_vm *vm, Value *slots, int argc, int id); /* lib_string.c */
Value map_member(fsrs_vm *vm, Value *slots, int argc, int id);    /* lib_map.c */
Value set_member(fsrs_vm *vm, Value *slots, int argc, int id);    /* lib_map.c */

#endif
