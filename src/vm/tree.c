/*
 * vm/tree.c - the persistent AVL tree behind Map and Set.
 *
 * Owns insertion, removal, lookup, in-order iteration and the structural
 * equality and ordering of trees.  lib_map.c builds the Map and Set
 * libraries on it, value.c compares trees with it, gc.c marks its nodes
 * and format.c walks them.  Updates copy the path from the root and share
 * every other node.  Each node made during an update is rooted as a host
 * handle until the new header holds the root, because any allocation may
 * collect; the handles are dropped again before returning or raising.
 * Runs on the VM's owner thread only.
 */
#include <string.h>

#include "util/error.h"
#include "vm/tree.h"

_Static_assert(sizeof(TreeNode) == 64, "a tree node fills one 64-byte slab slot");

/* ---------------------------------------------------------- iteration --- */

/* Push n and its spine towards the first node in iteration order. */
static void iter_descend(TreeIter *it, const TreeNode *n)
{
    /* an AVL tree never gets deeper than TREE_MAX_DEPTH (see tree.h) */
    while (n && it->n < TREE_MAX_DEPTH) {
        it->path[it->n++] = n;
        n = it->rev ? n->right : n->left;
    }
}

void tree_iter_init(TreeIter *it, const ObjTree *t, bool rev)
{
    it->n = 0;
    it->rev = rev;
    iter_descend(it, t->root);
}

const TreeNode *tree_next(TreeIter *it)
{
    if (it->n == 0)
        return NULL;
    const TreeNode *n = it->path[--it->n];
    iter_descend(it, it->rev ? n->left : n->right);
    return n;
}

/* ------------------------------------------------------------ updates --- */

typedef struct Ctx {
    fsrs_vm *vm;
    size_t mark;      /* vm->nhandles before the update */
    bool is_set;
    bool changed;     /* an element was added or removed */
} Ctx;

static _Noreturn void ctx_fail(Ctx *c, int code, const char *msg)
{
    c->vm->nhandles = c->mark;
    vm_throw(c->vm, code, "%s", msg);
}

static int key_compare_slow(Ctx *c, Value a, Value b)
{
    const char *err = NULL;
    int r = value_compare(a, b, &err);
    if (err) {
        c->vm->nhandles = c->mark;
        vm_throw(c->vm, FSRS_ERUNTIME, "%s (%s and %s)", err, value_type_name(a),
                 value_type_name(b));
    }
    return r;
}

/* value_compare's order; int keys, the common case, without the call */
static inline int key_compare(Ctx *c, Value a, Value b)
{
    if (IS_INT(a) && IS_INT(b))
        return (AS_INT(a) > AS_INT(b)) - (AS_INT(a) < AS_INT(b));
    return key_compare_slow(c, a, b);
}

static uint32_t height(const TreeNode *n) { return n ? n->obj.aux : 0; }

static _Noreturn void alloc_failed(Ctx *c, size_t size)
{
    fsrs_vm *vm = c->vm;
    if (vm->cfg.memory_limit && vm->bytes + size > vm->cfg.memory_limit)
        ctx_fail(c, FSRS_ELIMIT, "memory limit exceeded");
    ctx_fail(c, FSRS_ENOMEM, "out of memory");
}

/* A new node over l and r; l, r, key and val must be reachable. */
static TreeNode *node(Ctx *c, TreeNode *l, Value key, Value val, TreeNode *r)
{
    fsrs_vm *vm = c->vm;
    TreeNode *n = gc_alloc(vm, sizeof(TreeNode), O_TREENODE);
    if (!n)
        alloc_failed(c, sizeof(TreeNode));
    uint32_t hl = height(l), hr = height(r);
    n->obj.aux = (uint8_t)((hl > hr ? hl : hr) + 1);
    n->left = l;
    n->right = r;
    n->key = key;
    n->val = val;
    if (!handle_push(vm, mk_obj(n)))
        ctx_fail(c, FSRS_ENOMEM, "out of memory");
    return n;
}

/* The tree l, (key, val), r with its heights rebalanced; l and r differ
 * in height by at most 2. */
static TreeNode *balance(Ctx *c, TreeNode *l, Value key, Value val, TreeNode *r)
{
    uint32_t hl = height(l), hr = height(r);
    if (hl > hr + 1) {
        if (height(l->left) >= height(l->right)) {
            TreeNode *nr = node(c, l->right, key, val, r);
            return node(c, l->left, l->key, l->val, nr);
        }
        TreeNode *lr = l->right;
        TreeNode *nl = node(c, l->left, l->key, l->val, lr->left);
        TreeNode *nr = node(c, lr->right, key, val, r);
        return node(c, nl, lr->key, lr->val, nr);
    }
    if (hr > hl + 1) {
        if (height(r->right) >= height(r->left)) {
            TreeNode *nl = node(c, l, key, val, r->left);
            return node(c, nl, r->key, r->val, r->right);
        }
        TreeNode *rl = r->left;
        TreeNode *nl = node(c, l, key, val, rl->left);
        TreeNode *nr = node(c, rl->right, r->key, r->val, r->right);
        return node(c, nl, rl->key, rl->val, nr);
    }
    return node(c, l, key, val, r);
}

static TreeNode *insert(Ctx *c, TreeNode *t, Value key, Value val)
{
    if (!t) {
        c->changed = true;
        return node(c, NULL, key, val, NULL);
    }
    int d = key_compare(c, key, t->key);
    if (d == 0) {
        if (c->is_set)
            return t;
        /* F#'s Map.add replaces the binding */
        return node(c, t->left, key, val, t->right);
    }
    if (d < 0) {
        TreeNode *l = insert(c, t->left, key, val);
        return l == t->left ? t : balance(c, l, t->key, t->val, t->right);
    }
    TreeNode *r = insert(c, t->right, key, val);
    return r == t->right ? t : balance(c, t->left, t->key, t->val, r);
}

static TreeNode *remove_min(Ctx *c, TreeNode *t)
{
    if (!t->left)
        return t->right;
    return balance(c, remove_min(c, t->left), t->key, t->val, t->right);
}

static TreeNode *erase(Ctx *c, TreeNode *t, Value key)
{
    if (!t)
        return NULL;
    int d = key_compare(c, key, t->key);
    if (d < 0) {
        TreeNode *l = erase(c, t->left, key);
        return c->changed ? balance(c, l, t->key, t->val, t->right) : t;
    }
    if (d > 0) {
        TreeNode *r = erase(c, t->right, key);
        return c->changed ? balance(c, t->left, t->key, t->val, r) : t;
    }
    c->changed = true;
    if (!t->left)
        return t->right;
    if (!t->right)
        return t->left;
    const TreeNode *m = t->right;
    while (m->left)
        m = m->left;
    return balance(c, t->left, m->key, m->val, remove_min(c, t->right));
}

static Value finish(Ctx *c, int type, uint32_t count, TreeNode *root)
{
    ObjTree *t = gc_alloc(c->vm, sizeof(ObjTree), type);
    if (!t)
        alloc_failed(c, sizeof(ObjTree));
    t->count = count;
    t->root = root;
    c->vm->nhandles = c->mark;
    return mk_obj(t);
}

Value tree_add(fsrs_vm *vm, Value t, Value key, Value val)
{
    const ObjTree *old = AS_TREE(t);
    Ctx c = {vm, vm->nhandles, old->obj.type == O_SET, false};
    TreeNode *root = insert(&c, old->root, key, val);
    if (root == old->root) {
        vm->nhandles = c.mark;
        return t;
    }
    return finish(&c, old->obj.type, old->count + (c.changed ? 1 : 0), root);
}

Value tree_remove(fsrs_vm *vm, Value t, Value key)
{
    const ObjTree *old = AS_TREE(t);
    Ctx c = {vm, vm->nhandles, old->obj.type == O_SET, false};
    TreeNode *root = erase(&c, old->root, key);
    if (!c.changed) {
        vm->nhandles = c.mark;
        return t;
    }
    return finish(&c, old->obj.type, old->count - 1, root);
}

Value tree_empty(fsrs_vm *vm, int type)
{
    ObjTree *t = gc_alloc_x(vm, sizeof(ObjTree), type);
    t->count = 0;
    t->root = NULL;
    return mk_obj(t);
}

const TreeNode *tree_find(fsrs_vm *vm, const ObjTree *t, Value key)
{
    Ctx c = {vm, vm->nhandles, false, false};
    const TreeNode *n = t->root;
    while (n) {
        int d = key_compare(&c, key, n->key);
        if (d == 0)
            return n;
        n = d < 0 ? n->left : n->right;
    }
    return NULL;
}

/* --------------------------------------------------- equality, order --- */

bool tree_equal(const ObjTree *a, const ObjTree *b)
{
    if (a->obj.type != b->obj.type || a->count != b->count)
        return false;
    TreeIter i, j;
    tree_iter_init(&i, a, false);
    tree_iter_init(&j, b, false);
    for (;;) {
        const TreeNode *x = tree_next(&i), *y = tree_next(&j);
        if (!x || !y)
            return !x && !y;
        if (!value_equal(x->key, y->key) || !value_equal(x->val, y->val))
            return false;
    }
}

int tree_compare(const ObjTree *a, const ObjTree *b, const char **err)
{
    TreeIter i, j;
    tree_iter_init(&i, a, false);
    tree_iter_init(&j, b, false);
    for (;;) {
        const TreeNode *x = tree_next(&i), *y = tree_next(&j);
        if (!x || !y)
            return x ? 1 : y ? -1 : 0;
        int c = value_compare(x->key, y->key, err);
        if (c || *err)
            return c;
        c = value_compare(x->val, y->val, err);
        if (c || *err)
            return c;
    }
}
