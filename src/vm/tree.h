/*
 * vm/tree.h - the persistent balanced tree behind Map and Set (private).
 *
 * An ObjTree (O_MAP or O_SET) is a header holding the element count and
 * the root of an AVL tree of TreeNode objects ordered by value_compare on
 * the keys.  Trees are never written after they are built: an update
 * copies the path from the root to the changed node and shares the rest,
 * so old versions stay valid.  Every node is a heap object of its own; the
 * collector marks them through its gray stack, so marking needs no C
 * recursion.  Owner thread of the VM only.
 */
#ifndef FSRS_VM_TREE_H
#define FSRS_VM_TREE_H

#include "vm/vm.h"

/* 64 bytes, one slab slot (gc.c); the height (leaves are 1) is kept in
 * obj.aux, which an AVL tree's height below TREE_MAX_DEPTH fits. */
typedef struct TreeNode {
    Obj obj;
    struct TreeNode *left, *right;
    Value key;
    Value val;                  /* unit in a Set */
} TreeNode;

typedef struct ObjTree {
    Obj obj;                    /* O_MAP or O_SET */
    uint32_t count;
    TreeNode *root;             /* NULL when empty */
} ObjTree;

#define IS_MAP(v)  IS_OBJTYPE(v, O_MAP)
#define IS_SET(v)  IS_OBJTYPE(v, O_SET)
#define AS_TREE(v) ((ObjTree *)(v).as_.p)

/* The height of an AVL tree of 2^32 nodes is below 48: an in-order walk
 * keeps its path in a fixed array. */
#define TREE_MAX_DEPTH 64

typedef struct TreeIter {
    const TreeNode *path[TREE_MAX_DEPTH];
    int n;
    bool rev;
} TreeIter;

/* In-order iteration (descending when rev); tree_next returns NULL after
 * the last node. */
void tree_iter_init(TreeIter *it, const ObjTree *t, bool rev);
const TreeNode *tree_next(TreeIter *it);

/* The node whose key equals key, or NULL.  Raises if the keys cannot be
 * compared. */
const TreeNode *tree_find(fsrs_vm *vm, const ObjTree *t, Value key);

/* A new tree: t (an O_MAP/O_SET value the caller keeps reachable) with
 * key bound to val, replacing an equal key (a Set keeps its element; an
 * unchanged tree is t itself).  key and val must be reachable too.  The
 * result is rooted only by the caller: store it before allocating again.
 * Raises on allocation failure or keys that cannot be compared. */
Value tree_add(fsrs_vm *vm, Value t, Value key, Value val);
/* A new tree without key (t itself when key is absent). */
Value tree_remove(fsrs_vm *vm, Value t, Value key);
/* An empty tree of the given type (O_MAP or O_SET). */
Value tree_empty(fsrs_vm *vm, int type);

/* Structural equality and ordering: element by element in key order,
 * as F# compares maps and sets; value.c calls these. */
bool tree_equal(const ObjTree *a, const ObjTree *b);
int tree_compare(const ObjTree *a, const ObjTree *b, const char **err);

#endif
