/*
 * Unit tests of the limits a host puts on a call: the instruction budget,
 * fsrs_vm_interrupt from another thread, the memory limit and the call
 * depth.  Each ends the call with a clean error and the VM stays usable.
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>

#include "unit.h"

static const char loops[] =
    "let rec spin n = spin (n + 1)\n"
    "let rec count i acc = if i = 0 then acc else count (i - 1) (acc + 1)\n"
    "let rec build n acc = if n = 0 then acc else build (n - 1) (n :: acc)\n"
    "let rec len xs acc = match xs with | [] -> acc | _ :: t -> len t (acc + 1)\n"
    "let buildLen n = len (build n []) 0\n"
    "let rec deep n = if n = 0 then 0 else 1 + deep (n - 1)\n";

static int call_rc(fsrs_vm *vm, const char *name, int64_t arg)
{
    fsrs_value r;
    return fsrs_vm_call(vm, name, 2, (fsrs_value[]){fsrs_int(arg), fsrs_int(0)}, &r);
}

/* ---------------------------------------------------- instruction budget --- */

Test(limits, budget_ends_an_infinite_loop_and_the_vm_is_reusable, .timeout = 10)
{
    fsrs_config cfg;
    fsrs_config_init(&cfg);
    cfg.instruction_budget = 100000;
    fsrs_vm *vm = vm_with(&cfg, loops);
    fsrs_value r = fsrs_int(-1);
    int rc = fsrs_vm_call(vm, "spin", 1, (fsrs_value[]){fsrs_int(0)}, &r);
    cr_assert_eq(rc, FSRS_ELIMIT);
    cr_assert_eq(fsrs_value_as_int(r), -1, "*out is not written on failure");
    const fsrs_error *e = fsrs_error_last();
    cr_assert_eq(e->code, FSRS_ELIMIT);
    cr_assert(strstr(e->message, "instruction budget"), "%s", e->message);
    cr_assert_eq(e->line, 1);
    cr_assert(strstr(e->trace, "at spin (test.fsrs:1)"), "%s", e->trace);
    /* the budget is per call: the next calls get all of it again */
    for (int i = 0; i < 3; i++)
        cr_assert_eq(call_int(vm, "count", 2, (int64_t[]){90000, 0}), 90000);
    cr_assert_eq(fsrs_vm_call(vm, "spin", 1, (fsrs_value[]){fsrs_int(0)}, &r), FSRS_ELIMIT);
    cr_assert_eq(call_int(vm, "count", 2, (int64_t[]){5, 0}), 5);
    fsrs_vm_free(vm);
}

Test(limits, budget_ends_an_infinite_while_loop, .timeout = 10)
{
    fsrs_config cfg;
    fsrs_config_init(&cfg);
    cfg.instruction_budget = 100000;
    fsrs_vm *vm = vm_with(&cfg, "let spin () =\n"
                                "    while true do ()\n"
                                "let count n =\n"
                                "    let mutable c = 0\n"
                                "    for i = 1 to n do c <- c + 1\n"
                                "    c\n");
    fsrs_value r;
    cr_assert_eq(fsrs_vm_call(vm, "spin", 1, (fsrs_value[]){fsrs_unit()}, &r), FSRS_ELIMIT);
    const fsrs_error *e = fsrs_error_last();
    cr_assert(strstr(e->message, "instruction budget"), "%s", e->message);
    cr_assert_eq(e->line, 2);
    cr_assert(strstr(e->trace, "at spin (test.fsrs:2)"), "%s", e->trace);
    /* each iteration of a counting loop is one tick */
    cr_assert_eq(call_int(vm, "count", 1, (int64_t[]){100000}), 100000);
    cr_assert_eq(fsrs_vm_call(vm, "count", 1, (fsrs_value[]){fsrs_int(100001)}, &r),
                 FSRS_ELIMIT);
    fsrs_vm_free(vm);
}

Test(limits, budget_of_n_allows_exactly_n_calls, .timeout = 10)
{
    /* count n makes n tail calls (the host's call is not counted) */
    static const uint64_t budgets[] = {1, 2, 10, 1023, 1024, 1025, 5000};
    for (size_t i = 0; i < sizeof budgets / sizeof budgets[0]; i++) {
        uint64_t b = budgets[i];
        fsrs_config cfg;
        fsrs_config_init(&cfg);
        cfg.instruction_budget = b;
        fsrs_vm *vm = vm_with(&cfg, loops);
        cr_assert_eq(call_rc(vm, "count", (int64_t)b), FSRS_OK, "budget %llu: %s",
                     (unsigned long long)b, last_message());
        cr_assert_eq(call_rc(vm, "count", (int64_t)b + 1), FSRS_ELIMIT, "budget %llu",
                     (unsigned long long)b);
        cr_assert_eq(call_rc(vm, "count", (int64_t)b), FSRS_OK, "budget %llu",
                     (unsigned long long)b);
        fsrs_vm_free(vm);
    }
}

Test(limits, budget_counts_non_tail_calls_too, .timeout = 10)
{
    fsrs_config cfg;
    fsrs_config_init(&cfg);
    cfg.instruction_budget = 3000;
    fsrs_vm *vm = vm_with(&cfg, loops);
    fsrs_value r;
    cr_assert_eq(fsrs_vm_call(vm, "deep", 1, (fsrs_value[]){fsrs_int(2900)}, &r), FSRS_OK);
    cr_assert_eq(fsrs_value_as_int(r), 2900);
    cr_assert_eq(fsrs_vm_call(vm, "deep", 1, (fsrs_value[]){fsrs_int(3100)}, &r), FSRS_ELIMIT);
    fsrs_vm_free(vm);
}

/* ----------------------------------------------------------- interrupt --- */

typedef struct Interrupter {
    fsrs_vm *vm;
    atomic_int started;   /* set by the script through the host function */
    atomic_int gave_up;   /* the script never started: interrupted anyway */
} Interrupter;

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *interrupter_main(void *arg)
{
    Interrupter *it = arg;
    double deadline = now_seconds() + 5.0;
    struct timespec pause = {0, 1000000}; /* 1 ms between polls */
    while (!atomic_load(&it->started)) {
        if (now_seconds() > deadline) {
            atomic_store(&it->gave_up, 1);
            break;
        }
        nanosleep(&pause, NULL);
    }
    fsrs_vm_interrupt(it->vm);
    return NULL;
}

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

static fsrs_vm *vm_for_interrupt(Interrupter *it, const char *src)
{
    static const char *const hosts[] = {"started"};
    fsrs_compile_options opts;
    fsrs_compile_options_init(&opts);
    opts.host_names = hosts;
    opts.host_count = 1;
    fsrs_chunk *c = NULL;
    cr_assert_eq(compile_src(&opts, src, &c), FSRS_OK, "%s", last_message());
    fsrs_vm *vm = NULL;
    cr_assert_eq(fsrs_vm_new(NULL, &vm), FSRS_OK);
    cr_assert_eq(fsrs_vm_register(vm, "started", 1, host_started, it), FSRS_OK);
    cr_assert_eq(fsrs_vm_load(vm, c), FSRS_OK, "%s", last_message());
    fsrs_chunk_free(c);
    it->vm = vm;
    atomic_init(&it->started, 0);
    atomic_init(&it->gave_up, 0);
    return vm;
}

static void run_interrupted(Interrupter *it, const char *fn)
{
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, interrupter_main, it), 0);
    fsrs_value r;
    int rc = fsrs_vm_call(it->vm, fn, 1, (fsrs_value[]){fsrs_unit()}, &r);
    pthread_join(th, NULL);
    cr_assert(!atomic_load(&it->gave_up), "the script never reached its loop");
    cr_assert_eq(rc, FSRS_EINTR, "rc %d: %s", rc, last_message());
    const fsrs_error *e = fsrs_error_last();
    cr_assert_eq(e->code, FSRS_EINTR);
    cr_assert(strstr(e->message, "interrupted"), "%s", e->message);
    cr_assert_not_null(e->trace);
}

Test(limits, interrupt_from_another_thread_stops_an_infinite_loop, .timeout = 10)
{
    Interrupter it;
    fsrs_vm *vm = vm_for_interrupt(&it, "let rec spin n = spin (n + 1)\n"
                                        "let run () =\n"
                                        "    started ()\n"
                                        "    spin 0\n"
                                        "let rec count i acc = if i = 0 then acc else count (i - 1) (acc + 1)\n");
    run_interrupted(&it, "run");
    cr_assert(strstr(fsrs_error_last()->trace, "at spin (test.fsrs:1)"), "%s",
              fsrs_error_last()->trace);
    /* the request was consumed: the VM runs the next call to the end */
    cr_assert_eq(call_int(vm, "count", 2, (int64_t[]){2000000, 0}), 2000000);
    /* and can be interrupted again */
    run_interrupted(&it, "run");
    fsrs_vm_free(vm);
}

Test(limits, interrupt_stops_a_while_loop, .timeout = 10)
{
    Interrupter it;
    fsrs_vm *vm = vm_for_interrupt(&it, "let run () =\n"
                                        "    started ()\n"
                                        "    let mutable i = 0\n"
                                        "    while true do\n"
                                        "        i <- i + 1\n"
                                        "let rec count i acc = if i = 0 then acc else count (i - 1) (acc + 1)\n");
    run_interrupted(&it, "run");
    cr_assert(strstr(fsrs_error_last()->trace, "at run (test.fsrs:4)"), "%s",
              fsrs_error_last()->trace);
    cr_assert_eq(call_int(vm, "count", 2, (int64_t[]){1000, 0}), 1000);
    fsrs_vm_free(vm);
}

Test(limits, interrupt_unwinds_nested_calls, .timeout = 10)
{
    Interrupter it;
    fsrs_vm *vm = vm_for_interrupt(&it, "let rec deep n = if n = 0 then 0 else 1 + deep (n - 1)\n"
                                        "let rec forever n = forever (n + deep 1000 * 0)\n"
                                        "let run () =\n"
                                        "    started ()\n"
                                        "    forever 0\n");
    run_interrupted(&it, "run");
    cr_assert(strstr(fsrs_error_last()->trace, "at forever (test.fsrs:2)"), "%s",
              fsrs_error_last()->trace);
    /* every frame of the interrupted call is gone */
    cr_assert_eq(call_int(vm, "deep", 1, (int64_t[]){5000}), 5000);
    fsrs_vm_free(vm);
}

/* -------------------------------------------------------- memory limit --- */

Test(limits, memory_limit_stops_a_huge_list_and_the_vm_is_reusable, .timeout = 10)
{
    fsrs_config cfg;
    fsrs_config_init(&cfg);
    cfg.memory_limit = 4u << 20;
    fsrs_vm *vm = vm_with(&cfg, loops);
    fsrs_value r = fsrs_int(-1);
    int rc = fsrs_vm_call(vm, "buildLen", 1, (fsrs_value[]){fsrs_int(10000000)}, &r);
    cr_assert_eq(rc, FSRS_ELIMIT);
    cr_assert_eq(fsrs_value_as_int(r), -1);
    cr_assert(strstr(last_message(), "memory limit"), "%s", last_message());
    cr_assert_eq(fsrs_error_last()->line, 3, "the allocation in build failed");
    cr_assert_leq(fsrs_vm_memory(vm), cfg.memory_limit);
    /* the list died with the call */
    fsrs_vm_gc(vm);
    cr_assert_lt(fsrs_vm_memory(vm), 64u << 10, "%zu bytes left", fsrs_vm_memory(vm));
    cr_assert_eq(call_int(vm, "buildLen", 1, (int64_t[]){10000}), 10000);
    cr_assert_eq(fsrs_vm_call(vm, "buildLen", 1, (fsrs_value[]){fsrs_int(10000000)}, &r),
                 FSRS_ELIMIT);
    cr_assert_eq(call_int(vm, "buildLen", 1, (int64_t[]){20000}), 20000);
    fsrs_vm_free(vm);
}

Test(limits, memory_limit_applies_to_host_built_values, .timeout = 10)
{
    fsrs_config cfg;
    fsrs_config_init(&cfg);
    cfg.memory_limit = 1u << 20;
    fsrs_vm *vm = NULL;
    cr_assert_eq(fsrs_vm_new(&cfg, &vm), FSRS_OK);
    size_t size = 2u << 20;
    char *bytes = calloc(1, size);
    cr_assert_not_null(bytes);
    fsrs_value s = fsrs_int(7);
    size_t mark = fsrs_vm_mark(vm);
    cr_assert_eq(fsrs_string_new(vm, bytes, size, &s), FSRS_ELIMIT, "%s", last_message());
    cr_assert_eq(fsrs_value_as_int(s), 7, "*out is untouched");
    /* values that fit are still made; held ones count against the limit */
    int made = 0, rc;
    while ((rc = fsrs_string_new(vm, bytes, 100000, &s)) == FSRS_OK)
        made++;
    cr_assert_eq(rc, FSRS_ELIMIT, "%s", last_message());
    cr_assert_eq(made, 10, "%d strings of 100000 bytes fit in 1 MiB", made);
    fsrs_vm_release(vm, mark);
    cr_assert_eq(fsrs_string_new(vm, bytes, 100000, &s), FSRS_OK, "released values make room");
    free(bytes);
    fsrs_vm_free(vm);
}

/* Map nodes are small objects carved from slab pages: the limit counts
 * them, and what the VM holds through its hook stays near the limit. */
Test(limits, memory_limit_stops_a_growing_map_and_bounds_the_pages_held, .timeout = 20)
{
    static const char maps[] =
        "let rec build i m = if i = 0 then m else build (i - 1) (Map.add i i m)\n"
        "let buildCount n = Map.count (build n Map.empty)\n";
    CountingAlloc ca;
    counting_init(&ca);
    fsrs_config cfg;
    fsrs_config_init(&cfg);
    cfg.memory_limit = 2u << 20;
    cfg.alloc = counting_alloc;
    cfg.alloc_userdata = &ca;
    fsrs_vm *vm = vm_with(&cfg, maps);
    fsrs_value r = fsrs_int(-1);
    int rc = fsrs_vm_call(vm, "buildCount", 1, (fsrs_value[]){fsrs_int(1000000)}, &r);
    cr_assert_eq(rc, FSRS_ELIMIT, "%s", last_message());
    cr_assert(strstr(last_message(), "memory limit"), "%s", last_message());
    cr_assert_leq(fsrs_vm_memory(vm), cfg.memory_limit);
    cr_assert_lt(ca.live, 3 * cfg.memory_limit, "%zu bytes held", ca.live);
    fsrs_vm_gc(vm);
    cr_assert_lt(fsrs_vm_memory(vm), 64u << 10, "%zu bytes left", fsrs_vm_memory(vm));
    cr_assert_eq(call_int(vm, "buildCount", 1, (int64_t[]){10000}), 10000);
    fsrs_vm_free(vm);
    cr_assert_eq(ca.live, 0, "everything given back");
    cr_assert_eq(ca.size_mismatches, 0);
}

/* ----------------------------------------------------------- call depth --- */

Test(limits, call_depth_limit_is_a_stack_overflow_and_the_vm_is_reusable, .timeout = 10)
{
    fsrs_config cfg;
    fsrs_config_init(&cfg);
    cfg.max_call_depth = 1000;
    fsrs_vm *vm = vm_with(&cfg, loops);
    fsrs_value r;
    cr_assert_eq(fsrs_vm_call(vm, "deep", 1, (fsrs_value[]){fsrs_int(5000)}, &r), FSRS_ELIMIT);
    cr_assert(strstr(last_message(), "stack overflow"), "%s", last_message());
    cr_assert(strstr(last_message(), "1000"), "the message names the limit: %s", last_message());
    cr_assert_eq(call_int(vm, "deep", 1, (int64_t[]){900}), 900);
    /* tail calls are not nested calls */
    cr_assert_eq(call_int(vm, "count", 2, (int64_t[]){100000, 0}), 100000);
    fsrs_vm_free(vm);
}

Test(limits, memory_limit_also_bounds_the_value_stack, .timeout = 10)
{
    fsrs_config cfg;
    fsrs_config_init(&cfg);
    cfg.memory_limit = 1u << 20;
    cfg.max_call_depth = 10000000;
    fsrs_vm *vm = vm_with(&cfg, loops);
    fsrs_value r;
    cr_assert_eq(fsrs_vm_call(vm, "deep", 1, (fsrs_value[]){fsrs_int(5000000)}, &r), FSRS_ELIMIT);
    cr_assert(strstr(last_message(), "stack overflow"), "%s", last_message());
    cr_assert_eq(call_int(vm, "deep", 1, (int64_t[]){1000}), 1000);
    fsrs_vm_free(vm);
}

static int limit_errors;

static void count_limit_errors(const fsrs_error *err, void *userdata)
{
    (void)userdata;
    if (err->code == FSRS_ELIMIT)
        limit_errors++;
}

Test(limits, error_callback_reports_limits, .timeout = 10)
{
    fsrs_config cfg;
    fsrs_config_init(&cfg);
    cfg.instruction_budget = 1000;
    cfg.max_call_depth = 100;
    cfg.error = count_limit_errors;
    limit_errors = 0;
    fsrs_vm *vm = vm_with(&cfg, loops);
    fsrs_value r;
    cr_assert_eq(fsrs_vm_call(vm, "spin", 1, (fsrs_value[]){fsrs_int(0)}, &r), FSRS_ELIMIT);
    cr_assert_eq(fsrs_vm_call(vm, "deep", 1, (fsrs_value[]){fsrs_int(200)}, &r), FSRS_ELIMIT);
    cr_assert_eq(limit_errors, 2);
    fsrs_vm_free(vm);
}
