/*
 * Unit tests of natives that call script functions (vm_apply_x, used by
 * List.map and friends) and of exceptions that cross them: the stack
 * growing during a nested call, the collector running while a native
 * builds its result, the budget and interrupts inside a mapper, the bound
 * on nesting, and the VM's state after errors unwind through natives.
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>

#include "unit.h"
#include "vm/vm.h"

/* Nothing of a finished call is left on the VM. */
static void assert_idle(fsrs_vm *vm)
{
    cr_assert_eq(vm->nframes, 0);
    cr_assert_eq(vm->nhandlers, 0);
    cr_assert_eq(vm->native_depth, 0);
    cr_assert(vm->jmp == NULL);
}

Test(reentry, stack_grows_during_a_nested_call, .timeout = 20)
{
    fsrs_vm *vm = vm_with(NULL, "let rec deep n = if n = 0 then 0 else 1 + deep (n - 1)\n"
                                "let xs = List.map (fun x -> deep x) [10; 5000; 20000; 3]\n"
                                "let total = List.sum xs\n"
                                "let folded = List.fold (fun acc x -> acc + deep x) 0 [30000; 7]\n"
                                "let sorted = List.sortWith (fun a b -> compare (deep a) (deep b)) "
                                "[9000; 2; 40000; 5] |> List.head\n");
    cr_assert_eq(global_int(vm, "total"), 25013);
    cr_assert_eq(global_int(vm, "folded"), 30007);
    cr_assert_eq(global_int(vm, "sorted"), 2);
    assert_idle(vm);
    fsrs_vm_free(vm);
}

Test(reentry, stack_grows_during_array_string_and_tree_functions, .timeout = 30)
{
    /* each callback recurses deep enough to move the VM stack, so a native
     * that kept a pointer into it (its own arguments) would read freed
     * memory afterwards */
    fsrs_vm *vm = vm_with(NULL,
                          "let rec deep n = if n = 0 then 0 else 1 + deep (n - 1)\n"
                          "let found = Array.find (fun x -> deep x = 20000) [| 5; 20000; 7 |]\n"
                          "let idx = Array.findIndex (fun x -> deep x > 10000) [| 5; 30000 |]\n"
                          "let sorted = (Array.sortBy (fun x -> -(deep x)) [| 3; 25000; 9 |]).[0]\n"
                          "let folded = Array.foldBack (fun x acc -> acc + deep x) [| 20000; 1 |] 0\n"
                          "let str = String.init 3 (fun i -> string (deep (i * 15000))) "
                          "|> String.length\n"
                          "let m = Map.ofList [(1, 30000); (2, 3)]\n"
                          "let changed = Map.change 1 (Option.map (fun v -> deep v + 1)) m "
                          "|> Map.find 1\n"
                          "let picked = Map.pick (fun k v -> if deep v > 100 then Some k else None) m\n"
                          "let setFold = Set.foldBack (fun x acc -> acc + deep x) (set [25000; 2]) 0\n");
    cr_assert_eq(global_int(vm, "found"), 20000);
    cr_assert_eq(global_int(vm, "idx"), 1);
    cr_assert_eq(global_int(vm, "sorted"), 25000);
    cr_assert_eq(global_int(vm, "folded"), 20001);
    cr_assert_eq(global_int(vm, "str"), 11);
    cr_assert_eq(global_int(vm, "changed"), 30001);
    cr_assert_eq(global_int(vm, "picked"), 1);
    cr_assert_eq(global_int(vm, "setFold"), 25002);
    assert_idle(vm);
    fsrs_vm_free(vm);
}

Test(reentry, collector_runs_while_map_builds_a_long_list, .timeout = 30)
{
    CountingAlloc a;
    counting_init(&a);
    fsrs_config cfg;
    fsrs_config_init(&cfg);
    cfg.alloc = counting_alloc;
    cfg.alloc_userdata = &a;
    fsrs_vm *vm = vm_with(&cfg,
                          "let xs = List.init 60000 id\n"
                          "let ys = List.map (fun x -> List.rev [x; x + 1; x + 2]) xs\n"
                          "let heads = List.map List.head ys\n"
                          "let s = List.sum heads\n"
                          "let groups = List.groupBy (fun x -> x % 7) xs |> List.length\n"
                          "let sorted = List.sortBy (fun x -> -x) xs |> List.head\n");
    /* sum of x + 2 for x in 0 .. 59999 */
    cr_assert_eq(global_int(vm, "s"), 59999LL * 60000 / 2 + 2 * 60000);
    cr_assert_eq(global_int(vm, "groups"), 7);
    cr_assert_eq(global_int(vm, "sorted"), 59999);
    assert_idle(vm);
    fsrs_vm_free(vm);
    cr_assert_eq(a.live, 0, "%zu bytes leaked", a.live);
    cr_assert_eq(a.size_mismatches, 0);
}

Test(reentry, budget_stops_a_mapper_and_the_vm_is_reusable, .timeout = 10)
{
    fsrs_config cfg;
    fsrs_config_init(&cfg);
    cfg.instruction_budget = 100000;
    fsrs_vm *vm = vm_with(&cfg, "let rec spin n = spin (n + 1)\n"
                                "let run x = List.map (fun y -> spin y) [x]\n"
                                "let ok x = List.sum (List.map (fun y -> y * 2) [x; x])\n");
    fsrs_value r;
    int rc = fsrs_vm_call(vm, "run", 1, (fsrs_value[]){fsrs_int(1)}, &r);
    cr_assert_eq(rc, FSRS_ELIMIT, "rc %d: %s", rc, last_message());
    cr_assert(strstr(fsrs_error_last()->trace, "at spin"), "%s", fsrs_error_last()->trace);
    assert_idle(vm);
    cr_assert_eq(call_int(vm, "ok", 1, (int64_t[]){21}), 84);
    fsrs_vm_free(vm);
}

Test(reentry, budget_is_not_an_exception_scripts_can_catch, .timeout = 10)
{
    fsrs_config cfg;
    fsrs_config_init(&cfg);
    cfg.instruction_budget = 50000;
    fsrs_vm *vm = vm_with(&cfg, "let rec spin n = spin (n + 1)\n"
                                "let run x = try List.iter (fun y -> spin y) [x]; 0 with _ -> 1\n");
    fsrs_value r;
    int rc = fsrs_vm_call(vm, "run", 1, (fsrs_value[]){fsrs_int(1)}, &r);
    cr_assert_eq(rc, FSRS_ELIMIT, "rc %d: %s", rc, last_message());
    assert_idle(vm);
    fsrs_vm_free(vm);
}

Test(reentry, calls_from_natives_count_against_the_budget, .timeout = 10)
{
    fsrs_config cfg;
    fsrs_config_init(&cfg);
    cfg.instruction_budget = 5000;
    fsrs_vm *vm = vm_with(&cfg, "let xs = [1 .. 100000]\n"
                                "let run () = List.iter ignore (List.map (fun x -> x + 1) xs)\n"
                                "let small () = List.length (List.map (fun x -> x + 1) [1 .. 100])\n");
    fsrs_value r;
    int rc = fsrs_vm_call(vm, "run", 1, (fsrs_value[]){fsrs_unit()}, &r);
    cr_assert_eq(rc, FSRS_ELIMIT, "rc %d: %s", rc, last_message());
    assert_idle(vm);
    cr_assert_eq(call_int(vm, "small", 1, (int64_t[]){0}), 100);
    fsrs_vm_free(vm);
}

/* ----------------------------------------------------------- interrupt --- */

typedef struct Interrupter {
    fsrs_vm *vm;
    atomic_int started;
} Interrupter;

static int host_started(fsrs_vm *vm, const fsrs_value *args, int argc, fsrs_value *out,
                        void *userdata)
{
    (void)vm;
    (void)args;
    (void)argc;
    (void)out;
    atomic_store(&((Interrupter *)userdata)->started, 1);
    return FSRS_OK;
}

static void *interrupter_main(void *arg)
{
    Interrupter *it = arg;
    struct timespec pause = {0, 1000000};
    for (int i = 0; i < 5000 && !atomic_load(&it->started); i++)
        nanosleep(&pause, NULL);
    fsrs_vm_interrupt(it->vm);
    return NULL;
}

Test(reentry, interrupt_stops_a_mapper, .timeout = 10)
{
    static const char *const hosts[] = {"started"};
    fsrs_compile_options opts;
    fsrs_compile_options_init(&opts);
    opts.host_names = hosts;
    opts.host_count = 1;
    fsrs_chunk *c = NULL;
    cr_assert_eq(compile_src(&opts,
                             "let rec spin n = spin (n + 1)\n"
                             "let run () = List.map (fun x -> started (); spin x) [1; 2]\n"
                             "let ok () = List.length (List.map id [1; 2; 3])\n",
                             &c),
                 FSRS_OK, "%s", last_message());
    Interrupter it;
    cr_assert_eq(fsrs_vm_new(NULL, &it.vm), FSRS_OK);
    atomic_init(&it.started, 0);
    cr_assert_eq(fsrs_vm_register(it.vm, "started", 1, host_started, &it), FSRS_OK);
    cr_assert_eq(fsrs_vm_load(it.vm, c), FSRS_OK, "%s", last_message());
    fsrs_chunk_free(c);
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, interrupter_main, &it), 0);
    fsrs_value r;
    int rc = fsrs_vm_call(it.vm, "run", 1, (fsrs_value[]){fsrs_unit()}, &r);
    pthread_join(th, NULL);
    cr_assert_eq(rc, FSRS_EINTR, "rc %d: %s", rc, last_message());
    assert_idle(it.vm);
    cr_assert_eq(call_int(it.vm, "ok", 1, (int64_t[]){0}), 3);
    fsrs_vm_free(it.vm);
}

/* ------------------------------------------------------------- nesting --- */

static const char nesting[] =
    "let rec deep n = if n = 0 then [0] else List.map (fun x -> x + 1) (List.collect (fun _ -> "
    "deep (n - 1)) [1])\n"
    "let caught n = try List.head (deep n) with _ -> -1\n"
    "let fine n = List.head (deep n)\n";

Test(reentry, deep_nesting_through_natives_is_a_clean_error, .timeout = 20)
{
    fsrs_vm *vm = vm_with(NULL, nesting);
    /* within the bound it works */
    cr_assert_eq(call_int(vm, "fine", 1, (int64_t[]){50}), 50);
    fsrs_value r;
    int rc = fsrs_vm_call(vm, "fine", 1, (fsrs_value[]){fsrs_int(1000000)}, &r);
    cr_assert_eq(rc, FSRS_ELIMIT, "rc %d: %s", rc, last_message());
    cr_assert(strstr(last_message(), "stack overflow"), "%s", last_message());
    assert_idle(vm);
    /* a limit is no exception: try does not catch it */
    rc = fsrs_vm_call(vm, "caught", 1, (fsrs_value[]){fsrs_int(1000000)}, &r);
    cr_assert_eq(rc, FSRS_ELIMIT, "rc %d: %s", rc, last_message());
    assert_idle(vm);
    cr_assert_eq(call_int(vm, "fine", 1, (int64_t[]){VM_MAX_NATIVE_DEPTH / 2 - 5}),
                 VM_MAX_NATIVE_DEPTH / 2 - 5);
    fsrs_vm_free(vm);
}

/* ---------------------------------------------------------- exceptions --- */

static int errors_seen;

static void count_errors(const fsrs_error *e, void *userdata)
{
    (void)e;
    (void)userdata;
    errors_seen++;
}

Test(reentry, exceptions_unwind_through_natives_without_leaks, .timeout = 20)
{
    CountingAlloc a;
    counting_init(&a);
    fsrs_config cfg;
    fsrs_config_init(&cfg);
    cfg.alloc = counting_alloc;
    cfg.alloc_userdata = &a;
    cfg.error = count_errors;
    errors_seen = 0;
    fsrs_vm *vm = vm_with(&cfg,
                          "exception Stop of int\n"
                          "let f x = if x % 10 = 9 then raise (Stop x) else [x]\n"
                          "let each n = try List.length (List.collect f [n .. n + 20]) with Stop x -> x\n"
                          "let total = List.sum (List.map each [0 .. 2000])\n"
                          "let nested n = try List.map (fun x -> List.map (fun y -> y / (x - 3)) [1; 2]) [1 .. n] |> List.length with :? System.DivideByZeroException -> -1\n"
                          "let uncaught n = List.map (fun x -> if x = n then failwith \"gone\" else x) [1 .. 10]\n");
    cr_assert_eq(errors_seen, 0);
    cr_assert_eq(call_int(vm, "nested", 1, (int64_t[]){2}), 2);
    cr_assert_eq(call_int(vm, "nested", 1, (int64_t[]){5}), -1);
    assert_idle(vm);
    fsrs_value r;
    int rc = fsrs_vm_call(vm, "uncaught", 1, (fsrs_value[]){fsrs_int(4)}, &r);
    cr_assert_eq(rc, FSRS_ERUNTIME);
    cr_assert_str_eq(last_message(), "gone");
    cr_assert(strstr(fsrs_error_last()->trace, "at uncaught"), "%s", fsrs_error_last()->trace);
    cr_assert_eq(errors_seen, 1);
    assert_idle(vm);
    /* 0 .. 2000, each the first multiple of 10 minus 1 at or after n */
    int64_t want = 0;
    for (int64_t n = 0; n <= 2000; n++)
        want += n + (9 - n % 10);
    cr_assert_eq(global_int(vm, "total"), want);
    fsrs_vm_free(vm);
    cr_assert_eq(a.live, 0, "%zu bytes leaked", a.live);
}

/* Run chunk's top level in a VM whose allocator fails its fail-th
 * request: it completes or stops with FSRS_ENOMEM, leaves the VM idle and
 * leaks nothing.  Returns whether the run reached that request. */
static bool load_failing_at(fsrs_chunk *chunk, long fail)
{
    CountingAlloc a;
    counting_init(&a);
    a.fail_at = fail;
    fsrs_config cfg;
    fsrs_config_init(&cfg);
    cfg.alloc = counting_alloc;
    cfg.alloc_userdata = &a;
    fsrs_vm *vm = NULL;
    if (fsrs_vm_new(&cfg, &vm) == FSRS_OK) {
        int rc = fsrs_vm_load(vm, chunk);
        cr_assert(rc == FSRS_OK || rc == FSRS_ENOMEM, "rc %d: %s", rc, last_message());
        if (rc == FSRS_OK)
            assert_idle(vm);
        fsrs_vm_free(vm);
    }
    cr_assert_eq(a.live, 0, "fail at %ld: %zu bytes leaked", fail, a.live);
    return a.failed > 0;
}

Test(reentry, failed_allocation_during_a_nested_call_is_clean, .timeout = 60)
{
    static const char src[] = "let ys = List.map (fun x -> [x; x]) [1 .. 300]\n"
                              "let r = try List.length (List.collect id ys) with _ -> -1\n";
    fsrs_chunk *chunk = compile_ok(src);
    for (long fail = 0; fail < 400; fail += 3)
        load_failing_at(chunk, fail);
    fsrs_chunk_free(chunk);
}

/* ----------------------------------------------- trees walked by natives --- */

/* A host function that runs a full collection each time it is called, so
 * a mapper calling it collects while Map.fold, Set.map, ... hold a tree
 * iterator and a half-built result. */
static int host_collect(fsrs_vm *vm, const fsrs_value *args, int argc, fsrs_value *out,
                        void *userdata)
{
    (void)args;
    (void)argc;
    (void)userdata;
    gc_collect(vm);
    *out = fsrs_unit();
    return FSRS_OK;
}

static fsrs_vm *vm_with_collect(const fsrs_config *cfg, const char *src)
{
    static const char *const hosts[] = {"collect"};
    fsrs_compile_options opts;
    fsrs_compile_options_init(&opts);
    opts.host_names = hosts;
    opts.host_count = 1;
    fsrs_chunk *c = NULL;
    cr_assert_eq(compile_src(&opts, src, &c), FSRS_OK, "%s", last_message());
    fsrs_vm *vm = NULL;
    cr_assert_eq(fsrs_vm_new(cfg, &vm), FSRS_OK);
    cr_assert_eq(fsrs_vm_register(vm, "collect", 1, host_collect, NULL), FSRS_OK);
    int rc = fsrs_vm_load(vm, c);
    fsrs_chunk_free(c);
    cr_assert_eq(rc, FSRS_OK, "load failed (%d): %s", rc, last_message());
    return vm;
}

Test(reentry, collector_runs_while_trees_are_walked, .timeout = 60)
{
    CountingAlloc a;
    counting_init(&a);
    fsrs_config cfg;
    fsrs_config_init(&cfg);
    cfg.alloc = counting_alloc;
    cfg.alloc_userdata = &a;
    /* the walked trees are reachable only from the natives' arguments;
     * every call collects and leaves garbage behind */
    fsrs_vm *vm = vm_with_collect(
        &cfg,
        "let tick k = (if k % 16 = 0 then collect ()); [k; k]\n"
        "let pairs n = List.init n (fun i -> (i, string i))\n"
        "let folded = Map.fold (fun acc k (v: string) -> ignore (tick k); acc + k + v.Length) 0 "
        "(Map.ofList (pairs 3000))\n"
        "let back = Map.foldBack (fun k _ acc -> List.head (tick k) :: acc) "
        "(Map.ofList (pairs 500)) [] |> List.length\n"
        "let mapped = Map.map (fun k v -> (tick k, v + \"!\")) (Map.ofList (pairs 2000))\n"
        "let mappedOk = Map.forall (fun k (l, s) -> l = [k; k] && s = string k + \"!\") mapped\n"
        "let kept = Map.filter (fun k _ -> List.head (tick k) % 3 = 0) (Map.ofList (pairs 2000))\n"
        "let keptSum = Map.fold (fun acc k _ -> acc + k) 0 kept\n"
        "let setMapped = Set.map (fun x -> (List.head (tick x)) * 2) (Set.ofList [0 .. 2999])\n"
        "let setSum = Set.fold (+) 0 setMapped\n"
        "let yes, no = Set.partition (fun x -> List.length (tick x) = 2 && x % 2 = 0) "
        "(Set.ofList [0 .. 999])\n"
        "let split = yes.Count * 10000 + no.Count\n");
    /* sum of k and of the digits of k for k in 0 .. 2999 */
    int64_t want = 0;
    for (int64_t k = 0; k < 3000; k++)
        want += k + (k < 10 ? 1 : k < 100 ? 2 : k < 1000 ? 3 : 4);
    cr_assert_eq(global_int(vm, "folded"), want);
    cr_assert_eq(global_int(vm, "back"), 500);
    cr_assert(global_bool(vm, "mappedOk"));
    int64_t kept = 0;
    for (int64_t k = 0; k < 2000; k += 3)
        kept += k;
    cr_assert_eq(global_int(vm, "keptSum"), kept);
    cr_assert_eq(global_int(vm, "setSum"), 2999LL * 3000);
    cr_assert_eq(global_int(vm, "split"), 500 * 10000 + 500);
    assert_idle(vm);
    fsrs_vm_free(vm);
    cr_assert_eq(a.live, 0, "%zu bytes leaked", a.live);
}

Test(reentry, exception_from_a_map_fold_folder_unwinds_cleanly, .timeout = 30)
{
    CountingAlloc a;
    counting_init(&a);
    fsrs_config cfg;
    fsrs_config_init(&cfg);
    cfg.alloc = counting_alloc;
    cfg.alloc_userdata = &a;
    cfg.error = count_errors;
    errors_seen = 0;
    fsrs_vm *vm = vm_with_collect(
        &cfg,
        "exception Stop of int\n"
        "let m = Map.ofList (List.init 1000 (fun i -> (i, [i])))\n"
        "let folder limit acc k v = (if k % 50 = 0 then collect ()); "
        "if k = limit then raise (Stop acc) else acc + List.head v\n"
        "let caught limit = try Map.fold (folder limit) 0 m with Stop s -> -s\n"
        "let uncaught limit = Map.fold (folder limit) 0 m\n"
        "let inner limit = Map.fold (fun acc k _ -> acc + caught (limit + k)) 0 "
        "(Map.ofList [(0, 0); (1, 1)])\n"
        "let total = List.sum (List.map caught [0 .. 300])\n");
    cr_assert_eq(errors_seen, 0);
    /* caught n is -(0 + 1 + ... + n - 1) */
    int64_t want = 0;
    for (int64_t n = 0; n <= 300; n++)
        want -= n * (n - 1) / 2;
    cr_assert_eq(global_int(vm, "total"), want);
    cr_assert_eq(call_int(vm, "caught", 1, (int64_t[]){5000}), 999LL * 1000 / 2);
    cr_assert_eq(call_int(vm, "inner", 1, (int64_t[]){10}), -(45 + 55));
    assert_idle(vm);
    fsrs_value r;
    int rc = fsrs_vm_call(vm, "uncaught", 1, (fsrs_value[]){fsrs_int(7)}, &r);
    cr_assert_eq(rc, FSRS_ERUNTIME, "rc %d: %s", rc, last_message());
    cr_assert(strstr(last_message(), "Stop 21"), "%s", last_message());
    cr_assert(strstr(fsrs_error_last()->trace, "at folder"), "%s", fsrs_error_last()->trace);
    cr_assert_eq(errors_seen, 1);
    assert_idle(vm);
    /* the VM is usable afterwards and the map is intact */
    cr_assert_eq(call_int(vm, "uncaught", 1, (int64_t[]){-1}), 999LL * 1000 / 2);
    fsrs_vm_free(vm);
    cr_assert_eq(a.live, 0, "%zu bytes leaked", a.live);
}

Test(reentry, failed_allocation_in_array_string_and_tree_functions_is_clean, .timeout = 120)
{
    static const char src[] =
        "let a = Array.map (fun x -> [x; x]) [| 1 .. 100 |]\n"
        "let b = try Array.length (Array.collect (fun l -> List.toArray l) a) with _ -> -1\n"
        "let s = String.collect (fun c -> String.replicate 3 (string c)) \"abcdef\"\n"
        "let m = Map.ofList (List.init 60 (fun i -> (i, string i)))\n"
        "let m2 = Map.map (fun k v -> v + \"!\") m |> Map.filter (fun k _ -> k % 2 = 0)\n"
        "let f = Map.fold (fun acc k v -> (k, v) :: acc) [] m2\n"
        "let t = Set.map (fun x -> x * 3) (set [1 .. 50]) |> Set.partition (fun x -> x > 60)\n";
    fsrs_chunk *chunk = compile_ok(src);
    /* fail each 5th request in turn, until a run no longer reaches it */
    bool reached = true;
    long fail = 0;
    for (; reached && fail < 200000; fail += 5) {
        reached = load_failing_at(chunk, fail);
    }
    cr_assert(!reached, "still failing after %ld requests", fail);
    fsrs_chunk_free(chunk);
}
