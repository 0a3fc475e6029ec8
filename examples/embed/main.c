/*
 * examples/embed/main.c - a minimal fsrs host.
 *
 * Registers a host function, compiles a script from a string, calls one of
 * its functions and prints the result.  With a directory argument it also
 * starts a hot-reload engine on that directory and calls `main ()` of
 * DIR/main.fsrs through a reader.
 *
 *   build/examples/embed/embed_example [DIR]
 */
#include <fsrs/fsrs.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* hostAdd : int -> int -> int */
static int host_add(fsrs_vm *vm, const fsrs_value *args, int argc, fsrs_value *out, void *ud)
{
    (void)argc;
    (void)ud;
    if (fsrs_value_type(args[0]) != FSRS_TYPE_INT || fsrs_value_type(args[1]) != FSRS_TYPE_INT)
        return fsrs_vm_raise(vm, "hostAdd expects two ints");
    *out = fsrs_int(fsrs_value_as_int(args[0]) + fsrs_value_as_int(args[1]));
    return FSRS_OK;
}

/* Script output (printfn) goes to stdout. */
static void to_stdout(const char *text, size_t len, void *ud)
{
    (void)ud;
    fwrite(text, 1, len, stdout);
}

static void report(const char *what, int rc)
{
    const fsrs_error *e = fsrs_error_last();
    fprintf(stderr, "%s: %s", what, fsrs_strerror(rc));
    if (e) {
        if (e->file && e->line > 0)
            fprintf(stderr, " (%s:%d:%d)", e->file, e->line, e->col);
        fprintf(stderr, ": %s\n", e->message);
        if (e->trace)
            fprintf(stderr, "%s\n", e->trace);
    } else {
        fputc('\n', stderr);
    }
}

static const char *const host_names[] = {"hostAdd"};

static const char script[] =
    "let square x = x * x\n"
    "let sumOfSquares a b = hostAdd (square a) (square b)\n"
    "printfn \"script loaded\"\n";

/* Every VM a reader creates gets the host function too. */
static int setup_vm(fsrs_vm *vm, void *ud)
{
    (void)ud;
    return fsrs_vm_register(vm, "hostAdd", 2, host_add, NULL);
}

static int run_engine(const char *dir, const fsrs_config *cfg)
{
    fsrs_engine_config ecfg;
    fsrs_engine_config_init(&ecfg);
    ecfg.compile_options.host_names = host_names;
    ecfg.compile_options.host_count = 1;

    fsrs_engine *engine;
    int rc = fsrs_engine_new(&ecfg, &engine);
    if (rc != FSRS_OK) {
        report("fsrs_engine_new", rc);
        return 1;
    }
    uint64_t before = fsrs_engine_reload_count(engine);
    if ((rc = fsrs_engine_watch(engine, dir)) != FSRS_OK ||
        (rc = fsrs_engine_start(engine)) != FSRS_OK) {
        report("watch/start", rc);
        fsrs_engine_free(engine);
        return 1;
    }

    /* Scripts are named by their path as watched: DIR/main.fsrs. */
    char path[4096];
    size_t dlen = strlen(dir);
    while (dlen > 1 && dir[dlen - 1] == '/')
        dlen--;
    snprintf(path, sizeof path, "%.*s/main.fsrs", (int)dlen, dir);

    /* The first compiles run on the engine's threads: wait (up to 2 s per
     * attempt) until main.fsrs has a version, reporting compile errors. */
    fsrs_reload_info info;
    while (fsrs_engine_version(engine, path) == 0 &&
           fsrs_engine_wait_reload(engine, before, 2000, &info) == FSRS_OK) {
        if (!info.ok) {
            fprintf(stderr, "compile error: %s\n", info.error);
            if (strcmp(info.path, path) == 0)
                break;
        }
        before++;
    }

    fsrs_reader *reader;
    if ((rc = fsrs_reader_new(engine, cfg, setup_vm, NULL, &reader)) != FSRS_OK) {
        report("fsrs_reader_new", rc);
        fsrs_engine_free(engine);
        return 1;
    }
    int status = 0;
    fsrs_reader_enter(reader);
    fsrs_value unit = fsrs_unit(), result;
    rc = fsrs_reader_call(reader, path, "main", 1, &unit, &result);
    if (rc == FSRS_OK) {
        char buf[256];
        fsrs_value_format(result, buf, sizeof buf);
        printf("%s: main () = %s (version %" PRIu64 ")\n", path, buf,
               fsrs_reader_version(reader, path));
    } else {
        report(path, rc);
        status = 1;
    }
    fsrs_reader_leave(reader);
    fsrs_reader_release(reader);

    /* Readers first, then the engine. */
    fsrs_reader_free(reader);
    fsrs_engine_free(engine);
    return status;
}

int main(int argc, char **argv)
{
    /* 1. Compile, declaring the host function's name to the compiler. */
    fsrs_compile_options opts;
    fsrs_compile_options_init(&opts);
    opts.host_names = host_names;
    opts.host_count = 1;
    fsrs_chunk *chunk;
    int rc = fsrs_compile(&opts, "inline.fsrs", script, strlen(script), &chunk);
    if (rc != FSRS_OK) {
        report("compile", rc);
        return 1;
    }

    /* 2. A VM: output to stdout, a bounded call. */
    fsrs_config cfg;
    fsrs_config_init(&cfg);
    cfg.output = to_stdout;
    cfg.instruction_budget = 10000000;
    fsrs_vm *vm;
    if ((rc = fsrs_vm_new(&cfg, &vm)) != FSRS_OK) {
        report("fsrs_vm_new", rc);
        fsrs_chunk_free(chunk);
        return 1;
    }

    /* 3. Register host functions before loading; loading runs the top level. */
    if ((rc = fsrs_vm_register(vm, "hostAdd", 2, host_add, NULL)) != FSRS_OK ||
        (rc = fsrs_vm_load(vm, chunk)) != FSRS_OK) {
        report("register/load", rc);
        fsrs_vm_free(vm);
        fsrs_chunk_free(chunk);
        return 1;
    }

    /* 4. Call a script function by name. */
    fsrs_value args[2] = {fsrs_int(3), fsrs_int(4)}, result;
    size_t mark = fsrs_vm_mark(vm);
    rc = fsrs_vm_call(vm, "sumOfSquares", 2, args, &result);
    if (rc == FSRS_OK)
        printf("sumOfSquares 3 4 = %" PRId64 "\n", fsrs_value_as_int(result));
    else
        report("sumOfSquares", rc);
    fsrs_vm_release(vm, mark);

    fsrs_vm_free(vm);
    fsrs_chunk_free(chunk); /* the VM held its own reference until freed */
    if (rc != FSRS_OK)
        return 1;

    /* 5. Optionally, the hot-reload engine on a directory. */
    if (argc > 1)
        return run_engine(argv[1], &cfg);
    return 0;
}
