/*
 * cli/main.c - the `fsrs` command: run, check and disassemble scripts.
 *
 *   fsrs run FILE      run a script; its output goes to stdout (exit 0)
 *   fsrs check FILE    compile only
 *   fsrs disasm FILE   print the bytecode
 *   fsrs watch PATH    hot-reload demo (cli/watch.c)
 *
 * Compile errors print "FILE:LINE:COL: error: MESSAGE", the source line and
 * a caret on stderr and exit 1; runtime errors print the message and the
 * script stack trace on stderr and exit 2.  Single-threaded.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fsrs/fsrs.h>

#include "cli/cli.h"

enum { EXIT_COMPILE = 1, EXIT_RUNTIME = 2, EXIT_USAGE = 64 };

static void usage(FILE *to)
{
    fprintf(to, "usage: fsrs <command> [args]\n\n"
                "commands:\n"
                "  run FILE      compile and run a Mini-F# script (.fsrs, .fs, .fsx)\n"
                "  check FILE    compile only and report errors\n"
                "  disasm FILE   print the compiled bytecode\n"
                "  watch PATH [--entry NAME] [--debounce MS] [--json]\n"
                "                watch a script or directory and run each new version\n"
                "  version       print the version\n");
}

static void to_stdout(const char *text, size_t len, void *ud)
{
    (void)ud;
    fwrite(text, 1, len, stdout);
}

static void to_stderr(const char *text, size_t len, void *ud)
{
    (void)ud;
    fflush(stdout);
    fwrite(text, 1, len, stderr);
}

static bool has_script_ext(const char *path)
{
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');
    if (!dot || (slash && dot < slash))
        return false;
    return strcmp(dot, ".fsrs") == 0 || strcmp(dot, ".fs") == 0 || strcmp(dot, ".fsx") == 0;
}

/* Print the source line `line` of `path` and a caret under column col. */
void cli_show_caret(const char *path, int line, int col)
{
    FILE *fp = fopen(path, "rb");
    if (!fp || line <= 0)
        goto out;
    char *buf = NULL;
    size_t cap = 0;
    ssize_t n = 0;
    bool ended_line = true; /* the last line read ended with '\n' */
    int i;
    for (i = 0; i < line; i++) {
        n = getline(&buf, &cap, fp);
        if (n < 0)
            break;
        ended_line = buf[n - 1] == '\n';
    }
    const char *text = NULL;
    if (n > 0) {
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
            buf[--n] = '\0';
        text = buf;
    } else if (n < 0 && i == line - 1 && ended_line) {
        /* the end of input after a final newline: the empty line after it */
        text = "";
        n = 0;
    }
    if (text) {
        fprintf(stderr, "%5d | %s\n", line, text);
        if (col > 0) {
            fprintf(stderr, "      | ");
            /* col counts bytes; a terminal shows one column per character,
             * so UTF-8 continuation bytes get no blank */
            for (int k = 1; k < col && k <= n; k++)
                if (((unsigned char)text[k - 1] & 0xC0) != 0x80)
                    fputc(text[k - 1] == '\t' ? '\t' : ' ', stderr);
            fputs("^\n", stderr);
        }
    }
    free(buf);
out:
    if (fp)
        fclose(fp);
}

static int report_compile_error(const char *path)
{
    const fsrs_error *e = fsrs_error_last();
    fflush(stdout);
    if (!e) {
        fprintf(stderr, "%s: error: compile failed\n", path);
        return EXIT_COMPILE;
    }
    if (e->line > 0) {
        fprintf(stderr, "%s:%d:%d: error: %s\n", e->file ? e->file : path, e->line, e->col,
                e->message);
        cli_show_caret(path, e->line, e->col);
    } else {
        fprintf(stderr, "%s: error: %s\n", e->file ? e->file : path, e->message);
    }
    return EXIT_COMPILE;
}

static int report_runtime_error(const char *path)
{
    const fsrs_error *e = fsrs_error_last();
    fflush(stdout);
    if (!e) {
        fprintf(stderr, "%s: runtime error\n", path);
        return EXIT_RUNTIME;
    }
    if (e->line > 0)
        fprintf(stderr, "%s:%d: runtime error: %s\n", e->file ? e->file : path, e->line,
                e->message);
    else
        fprintf(stderr, "%s: runtime error: %s\n", e->file ? e->file : path, e->message);
    if (e->trace && *e->trace)
        fprintf(stderr, "stack trace:\n%s", e->trace);
    return EXIT_RUNTIME;
}

static int compile(const char *path, fsrs_chunk **out)
{
    if (!has_script_ext(path)) {
        fprintf(stderr, "%s: error: not a script file (expected .fsrs, .fs or .fsx)\n", path);
        return EXIT_COMPILE;
    }
    if (fsrs_compile_file(NULL, path, out) != FSRS_OK)
        return report_compile_error(path);
    return 0;
}

static int cmd_run(const char *path)
{
    fsrs_chunk *chunk;
    int rc = compile(path, &chunk);
    if (rc)
        return rc;
    fsrs_config cfg;
    fsrs_config_init(&cfg);
    cfg.output = to_stdout;
    cfg.error_output = to_stderr;
    fsrs_vm *vm;
    if (fsrs_vm_new(&cfg, &vm) != FSRS_OK) {
        fsrs_chunk_free(chunk);
        fprintf(stderr, "fsrs: %s\n", fsrs_error_last()->message);
        return EXIT_RUNTIME;
    }
    rc = fsrs_vm_load(vm, chunk) == FSRS_OK ? 0 : report_runtime_error(path);
    fsrs_vm_free(vm);
    fsrs_chunk_free(chunk);
    fflush(stdout);
    return rc;
}

static int cmd_check(const char *path)
{
    fsrs_chunk *chunk;
    int rc = compile(path, &chunk);
    if (rc)
        return rc;
    fsrs_chunk_free(chunk);
    return 0;
}

static int cmd_disasm(const char *path)
{
    fsrs_chunk *chunk;
    int rc = compile(path, &chunk);
    if (rc)
        return rc;
    fsrs_chunk_disasm(chunk, to_stdout, NULL);
    fsrs_chunk_free(chunk);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("fsrs %s\n", FSRS_VERSION_STRING);
        return 0;
    }
    if (strcmp(cmd, "watch") == 0)
        return cli_watch(argc - 2, argv + 2);
    int (*fn)(const char *) = strcmp(cmd, "run") == 0      ? cmd_run
                              : strcmp(cmd, "check") == 0  ? cmd_check
                              : strcmp(cmd, "disasm") == 0 ? cmd_disasm
                                                           : NULL;
    if (!fn)
        fprintf(stderr, "fsrs: unknown command '%s'\n", cmd);
    if (!fn || argc != 3) {
        usage(stderr);
        return EXIT_USAGE;
    }
    return fn(argv[2]);
}
