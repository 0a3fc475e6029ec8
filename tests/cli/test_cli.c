/*
 * tests/cli/test_cli.c - the `fsrs` command as a user runs it: the real
 * binary (FSRS_CLI) on scripts in a temporary directory, with stdout,
 * stderr and the exit status checked separately.
 *
 *   exit 0   success            exit 1   compile error, bad or missing file
 *   exit 2   runtime error      exit 64  usage error
 */
#include "proc.h"

#include <criterion/criterion.h>

static char *dir;

static void setup(void)
{
    dir = make_tmpdir();
    cr_assert_not_null(dir);
}

static void teardown(void)
{
    remove_tree(dir);
    free(dir);
}

TestSuite(cli, .init = setup, .fini = teardown);

static void script(const char *name, const char *text)
{
    char *p = path_in(dir, name);
    save_in_place(p, text);
    free(p);
}

#define assert_exit(r, want)                                                                     \
    cr_assert_eq((r).code, (want), "exit code %d, wanted %d\n--- stdout:\n%s\n--- stderr:\n%s",  \
                 (r).code, (want), (r).out, (r).err)

#define assert_text(got, want, what)                                                             \
    cr_assert_str_eq((got), (want), "%s:\n--- got:\n%s\n--- wanted:\n%s", (what), (got), (want))

/* Line i (0-based) of text, malloc'd, or NULL. */
static char *line_of(const char *text, int i)
{
    const char *p = text;
    for (; i > 0; i--) {
        p = strchr(p, '\n');
        if (!p)
            return NULL;
        p++;
    }
    if (!*p)
        return NULL;
    size_t n = strcspn(p, "\n");
    char *l = strndup(p, n);
    cr_assert_not_null(l);
    return l;
}

static int count_lines(const char *text)
{
    int n = 0;
    for (const char *p = text; *p; p++)
        n += *p == '\n';
    return n;
}

/*
 * stderr of a compile error must be exactly three lines:
 *   FILE:LINE:COL: error: MESSAGE
 *   "%5d | " SOURCE LINE
 *   "      | " caret under column COL
 * and the caret must point at `token` in the source line.  Returns MESSAGE
 * (malloc'd).
 */
static char *check_compile_error(const char *err, const char *file, int line, int col,
                                 const char *token)
{
    cr_assert_eq(count_lines(err), 3, "a compile error is three lines on stderr, got:\n%s", err);
    char *head = line_of(err, 0), *src = line_of(err, 1), *caret = line_of(err, 2);
    char want[512];
    snprintf(want, sizeof want, "%s:%d:%d: error: ", file, line, col);
    cr_assert(strncmp(head, want, strlen(want)) == 0, "header '%s' does not start with '%s'", head,
              want);
    char *message = strdup(head + strlen(want));
    cr_assert(message[0], "empty message in '%s'", head);

    char gutter[32];
    snprintf(gutter, sizeof gutter, "%5d | ", line);
    cr_assert(strncmp(src, gutter, strlen(gutter)) == 0, "source line '%s' lacks gutter '%s'",
              src, gutter);
    cr_assert(strncmp(caret, "      | ", 8) == 0, "caret line '%s' lacks its gutter", caret);
    const char *code = src + strlen(gutter), *marks = caret + 8;
    /* the caret line is blanks (a tab where the source has one) then '^' */
    size_t pad = strspn(marks, " \t");
    cr_assert_str_eq(marks + pad, "^", "caret line '%s' is not blanks then '^'", caret);
    for (size_t i = 0; i < pad; i++)
        cr_assert_eq(marks[i] == '\t', code[i] == '\t',
                     "caret padding and source disagree on tabs at %zu", i);
    cr_assert_eq((int)pad + 1, col, "caret at column %zu, header says %d", pad + 1, col);
    cr_assert(strncmp(code + pad, token, strlen(token)) == 0,
              "caret points at '%s', wanted '%s'", code + pad, token);
    free(head);
    free(src);
    free(caret);
    return message;
}

/* ------------------------------------------------------------------ run --- */

Test(cli, run_prints_script_output_on_stdout, .timeout = 30)
{
    script("main.fsrs", "let add a b = a + b\n"
                        "printfn \"sum %d\" (add 2 3)\n"
                        "printfn \"%A\" [1; 2; 3]\n"
                        "printf \"no newline\"\n");
    Run r = cli_run(dir, "run", "main.fsrs", NULL);
    assert_exit(r, 0);
    assert_text(r.out, "sum 5\n[1; 2; 3]\nno newline", "stdout");
    assert_text(r.err, "", "stderr");
    run_free(&r);
}

Test(cli, run_accepts_every_script_extension, .timeout = 30)
{
    const char *names[] = {"a.fsrs", "b.fs", "c.fsx"};
    for (int i = 0; i < 3; i++) {
        char text[64];
        snprintf(text, sizeof text, "printfn \"%s\"\n", names[i]);
        script(names[i], text);
        Run r = cli_run(dir, "run", names[i], NULL);
        assert_exit(r, 0);
        snprintf(text, sizeof text, "%s\n", names[i]);
        assert_text(r.out, text, names[i]);
        assert_text(r.err, "", "stderr");
        run_free(&r);
    }
}

Test(cli, eprintfn_goes_to_stderr, .timeout = 30)
{
    script("main.fsrs", "printfn \"out\"\neprintfn \"err %d\" 7\nprintfn \"out again\"\n");
    Run r = cli_run(dir, "run", "main.fsrs", NULL);
    assert_exit(r, 0);
    assert_text(r.out, "out\nout again\n", "stdout");
    assert_text(r.err, "err 7\n", "stderr");
    run_free(&r);
}

Test(cli, run_a_script_by_absolute_path, .timeout = 30)
{
    script("main.fsrs", "let x = 1\nlet y = x + nope\n");
    char *abs = path_in(dir, "main.fsrs");
    /* from another directory: diagnostics name the path as given */
    Run r = cli_run("/", "run", abs, NULL);
    assert_exit(r, 1);
    assert_text(r.out, "", "stdout");
    free(check_compile_error(r.err, abs, 2, 13, "nope"));
    run_free(&r);
    free(abs);
}

/* ------------------------------------------------------- compile errors --- */

Test(cli, compile_error_prints_location_source_and_caret, .timeout = 30)
{
    script("main.fsrs", "let x = 1\nlet y = x + undefinedName\nprintfn \"%d\" y\n");
    Run r = cli_run(dir, "run", "main.fsrs", NULL);
    assert_exit(r, 1);
    assert_text(r.out, "", "stdout");
    char *msg = check_compile_error(r.err, "main.fsrs", 2, 13, "undefinedName");
    cr_assert(strstr(msg, "undefinedName") && strstr(msg, "not defined"), "message: %s", msg);
    free(msg);
    run_free(&r);
}

Test(cli, compile_errors_from_each_phase_point_at_their_token, .timeout = 60)
{
    static const struct {
        const char *source;
        int line, col;
        const char *token;
        const char *says;
    } cases[] = {
        /* lexer */
        {"let a = 1\nlet s = \"abc\n", 2, 9, "\"abc", "unterminated string"},
        {"let x = 1 $ 2\n", 1, 11, "$", "$"},
        {"let f x =\n\tx + 1\n", 2, 1, "\tx", "tab"},
        /* parser: a missing closer is reported at its opener */
        {"let f x = (x + 1\nlet y = 2\n", 1, 11, "(x", "unmatched"},
        {"let x = 1\nlet y = (x + 2))\n", 2, 16, ")", "unexpected"},
        /* layout */
        {"let f x =\n    let y = x + 1\n     y\n", 2, 5, "let y", "unfinished"},
        /* name resolution, deep inside a function */
        {"let f x =\n    match x with\n    | 0 -> 1\n    | n -> n * missing\n", 4, 16, "missing",
         "not defined"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        script("main.fsrs", cases[i].source);
        Run r = cli_run(dir, "check", "main.fsrs", NULL);
        assert_exit(r, 1);
        assert_text(r.out, "", "stdout");
        char *msg =
            check_compile_error(r.err, "main.fsrs", cases[i].line, cases[i].col, cases[i].token);
        cr_assert(strstr(msg, cases[i].says), "case %zu: message '%s' lacks '%s'", i, msg,
                  cases[i].says);
        free(msg);
        run_free(&r);
    }
}

Test(cli, caret_keeps_tabs_of_the_source_line, .timeout = 30)
{
    /* a tab inside a line (not in the indentation) is allowed; the caret
     * line repeats it so that the caret lines up in a terminal */
    script("main.fsrs", "let y = 1 +\tzz\n");
    Run r = cli_run(dir, "check", "main.fsrs", NULL);
    assert_exit(r, 1);
    free(check_compile_error(r.err, "main.fsrs", 1, 13, "zz"));
    char *caret = line_of(r.err, 2);
    assert_text(caret, "      |            \t^", "caret line");
    free(caret);
    run_free(&r);
}

Test(cli, caret_counts_characters_not_bytes, .timeout = 30)
{
    /* columns count bytes ("é" is two); the caret must still sit under
     * the token in a terminal, which shows one column per character */
    script("main.fsrs", "let s = \"h\xc3\xa9llo\" + zz\n");
    Run r = cli_run(dir, "check", "main.fsrs", NULL);
    assert_exit(r, 1);
    cr_assert_eq(count_lines(r.err), 3, "stderr:\n%s", r.err);
    char *head = line_of(r.err, 0), *caret = line_of(r.err, 2);
    cr_assert(strncmp(head, "main.fsrs:1:20: error: ", 23) == 0, "header: %s", head);
    assert_text(caret, "      |                   ^", "caret line");
    free(head);
    free(caret);
    run_free(&r);
}

Test(cli, error_at_end_of_input_shows_the_empty_last_line, .timeout = 30)
{
    /* after the final newline the end of input is on a line of its own */
    script("main.fsrs", "let x = 1\nlet y =\n");
    Run r = cli_run(dir, "check", "main.fsrs", NULL);
    assert_exit(r, 1);
    char *msg = check_compile_error(r.err, "main.fsrs", 3, 1, "");
    cr_assert(strstr(msg, "end of input"), "message: %s", msg);
    free(msg);
    run_free(&r);
}

Test(cli, compile_error_runs_nothing, .timeout = 30)
{
    script("main.fsrs", "printfn \"side effect\"\nlet y = nope\n");
    Run r = cli_run(dir, "run", "main.fsrs", NULL);
    assert_exit(r, 1);
    assert_text(r.out, "", "stdout");
    run_free(&r);
}

/* ------------------------------------------------------- runtime errors --- */

static const char *const f_calls_g =
    "printfn \"start\"\n"                            /* 1 */
    "let g x =\n"                                    /* 2 */
    "    if x > 0 then failwith \"boom\" else 0\n"   /* 3 */
    "let f x =\n"                                    /* 4 */
    "    let r = g x\n"                              /* 5 */
    "    r + 1\n"                                    /* 6 */
    "printfn \"%d\" (f 1)\n";                        /* 7 */

Test(cli, runtime_error_prints_message_and_stack_trace, .timeout = 30)
{
    script("main.fsrs", f_calls_g);
    Run r = cli_run(dir, "run", "main.fsrs", NULL);
    assert_exit(r, 2);
    assert_text(r.out, "start\n", "stdout");
    assert_text(r.err,
                "main.fsrs:3: runtime error: boom\n"
                "stack trace:\n"
                "  at g (main.fsrs:3)\n"
                "  at f (main.fsrs:5)\n"
                "  at <top> (main.fsrs:7)\n",
                "stderr");
    run_free(&r);
}

Test(cli, check_does_not_run_the_script, .timeout = 30)
{
    script("main.fsrs", f_calls_g);
    Run r = cli_run(dir, "check", "main.fsrs", NULL);
    assert_exit(r, 0);
    assert_text(r.out, "", "stdout");
    assert_text(r.err, "", "stderr");
    run_free(&r);
}

Test(cli, output_before_a_runtime_error_is_all_on_stdout, .timeout = 30)
{
    /* more than any stdio buffer, then a partial line, then the error */
    script("main.fsrs", "let rec loop i =\n"
                        "    if i < 5000 then\n"
                        "        printfn \"line %d\" i\n"
                        "        loop (i + 1)\n"
                        "loop 0\n"
                        "printf \"partial\"\n"
                        "failwith \"late\"\n");
    Run r = cli_run(dir, "run", "main.fsrs", NULL);
    assert_exit(r, 2);
    cr_assert_eq(count_lines(r.out), 5000);
    char *first = line_of(r.out, 0), *last = line_of(r.out, 5000);
    assert_text(first, "line 0", "first line");
    assert_text(last, "partial", "last line");
    cr_assert(strstr(r.out, "line 4999\npartial") != NULL);
    free(first);
    free(last);
    assert_text(r.err, "main.fsrs:7: runtime error: late\nstack trace:\n  at <top> (main.fsrs:7)\n",
                "stderr");
    run_free(&r);
}

Test(cli, builtin_runtime_errors_exit_2, .timeout = 30)
{
    script("main.fsrs", "let half n = 10 / n\nprintfn \"%d\" (half 2)\nprintfn \"%d\" (half 0)\n");
    Run r = cli_run(dir, "run", "main.fsrs", NULL);
    assert_exit(r, 2);
    assert_text(r.out, "5\n", "stdout");
    assert_text(r.err,
                "main.fsrs:1: runtime error: division by zero\n"
                "stack trace:\n"
                "  at half (main.fsrs:1)\n"
                "  at <top> (main.fsrs:3)\n",
                "stderr");
    run_free(&r);
}

Test(cli, stack_overflow_is_a_runtime_error_with_a_shortened_trace, .timeout = 60)
{
    script("main.fsrs", "let rec down n = 1 + down (n + 1)\nprintfn \"%d\" (down 0)\n");
    Run r = cli_run(dir, "run", "main.fsrs", NULL);
    assert_exit(r, 2);
    assert_text(r.out, "", "stdout");
    const char *head = "main.fsrs:1: runtime error: stack overflow";
    cr_assert(strncmp(r.err, head, strlen(head)) == 0, "stderr:\n%s", r.err);
    cr_assert(strstr(r.err, "\nstack trace:\n  at down (main.fsrs:1)\n"), "stderr:\n%s", r.err);
    cr_assert(strstr(r.err, " more frames ...\n"), "the trace is not shortened:\n%.2000s", r.err);
    const char *tail = "  at <top> (main.fsrs:2)\n";
    size_t n = strlen(r.err);
    cr_assert(n > strlen(tail) && strcmp(r.err + n - strlen(tail), tail) == 0,
              "the trace does not end at the top level:\n%s", r.err);
    cr_assert_lt(count_lines(r.err), 100, "200000 frames printed in full");
    run_free(&r);
}

/* ---------------------------------------------------------------- check --- */

Test(cli, check_prints_nothing_on_success, .timeout = 30)
{
    script("main.fsrs", "let square x = x * x\nprintfn \"%d\" (square 7)\n");
    Run r = cli_run(dir, "check", "main.fsrs", NULL);
    assert_exit(r, 0);
    assert_text(r.out, "", "stdout");
    assert_text(r.err, "", "stderr");
    run_free(&r);
}

Test(cli, check_reports_compile_errors_like_run, .timeout = 30)
{
    script("main.fsrs", "let square x = x * x\nprintfn \"%d\" (sqare 7)\n");
    Run c = cli_run(dir, "check", "main.fsrs", NULL);
    Run r = cli_run(dir, "run", "main.fsrs", NULL);
    assert_exit(c, 1);
    assert_text(c.out, "", "stdout");
    free(check_compile_error(c.err, "main.fsrs", 2, 15, "sqare"));
    assert_text(c.err, r.err, "check and run disagree");
    run_free(&c);
    run_free(&r);
}

/* --------------------------------------------------------------- disasm --- */

Test(cli, disasm_prints_opcodes, .timeout = 30)
{
    script("main.fsrs", "let rec sumTo n acc = if n = 0 then acc else sumTo (n - 1) (acc + n)\n"
                        "let twice x = sumTo x 0 + sumTo x 0\n"
                        "printfn \"ran %d\" (twice 10)\n");
    Run r = cli_run(dir, "disasm", "main.fsrs", NULL);
    assert_exit(r, 0);
    assert_text(r.err, "", "stderr");
    cr_assert(strstr(r.out, "function 0 'sumTo'"), "stdout:\n%s", r.out);
    cr_assert(strstr(r.out, "function 1 'twice'"), "stdout:\n%s", r.out);
    /* sumTo calls itself in tail position (a jump to its start, TAILSELF),
     * twice calls it twice but not in tail position */
    const char *sum = strstr(r.out, "'sumTo'"), *tw = strstr(r.out, "'twice'");
    const char *tail = strstr(sum, "TAILSELF");
    cr_assert(tail && tail < tw, "no TAILSELF in sumTo:\n%s", r.out);
    const char *top = strstr(tw, "function 2");
    cr_assert_not_null(top);
    const char *call = strstr(tw, " CALL "), *tail2 = strstr(tw, "TAIL");
    cr_assert(call && call < top, "no CALL in twice:\n%s", r.out);
    cr_assert(!tail2 || tail2 > top, "twice has a TAILCALL:\n%s", r.out);
    /* disassembling does not run the script */
    cr_assert_null(strstr(r.out, "ran 40"));
    run_free(&r);
}

Test(cli, disasm_of_a_broken_script_is_a_compile_error, .timeout = 30)
{
    script("main.fsrs", "let x = (1 + 2\n");
    Run r = cli_run(dir, "disasm", "main.fsrs", NULL);
    assert_exit(r, 1);
    assert_text(r.out, "", "stdout");
    free(check_compile_error(r.err, "main.fsrs", 1, 9, "("));
    run_free(&r);
}

/* ------------------------------------------------------- bad arguments --- */

Test(cli, wrong_extension_is_refused_clearly, .timeout = 30)
{
    script("notes.txt", "printfn \"not a script\"\n");
    script("Makefile", "printfn \"not a script\"\n");
    char *sub = path_in(dir, "dir.fsrs"); /* the dot is in a directory name */
    cr_assert_eq(mkdir(sub, 0755), 0);
    free(sub);
    script("dir.fsrs/script", "printfn \"not a script\"\n");
    const char *cmds[] = {"run", "check", "disasm"};
    const char *files[] = {"notes.txt", "Makefile", "dir.fsrs/script"};
    for (int c = 0; c < 3; c++)
        for (int f = 0; f < 3; f++) {
            Run r = cli_run(dir, cmds[c], files[f], NULL);
            assert_exit(r, 1);
            assert_text(r.out, "", "stdout");
            char want[256];
            snprintf(want, sizeof want,
                     "%s: error: not a script file (expected .fsrs, .fs or .fsx)\n", files[f]);
            assert_text(r.err, want, "stderr");
            run_free(&r);
        }
}

Test(cli, missing_file_is_reported_clearly, .timeout = 30)
{
    const char *cmds[] = {"run", "check", "disasm"};
    for (int c = 0; c < 3; c++) {
        Run r = cli_run(dir, cmds[c], "missing.fsrs", NULL);
        assert_exit(r, 1);
        assert_text(r.out, "", "stdout");
        assert_text(r.err,
                    "missing.fsrs: error: cannot open 'missing.fsrs': No such file or directory\n",
                    "stderr");
        run_free(&r);
    }
}

Test(cli, a_directory_is_not_a_script, .timeout = 30)
{
    char *d = path_in(dir, "folder.fsrs");
    cr_assert_eq(mkdir(d, 0755), 0);
    free(d);
    Run r = cli_run(dir, "run", "folder.fsrs", NULL);
    assert_exit(r, 1);
    assert_text(r.out, "", "stdout");
    const char *head = "folder.fsrs: error: ";
    cr_assert(strncmp(r.err, head, strlen(head)) == 0, "stderr: %s", r.err);
    cr_assert_eq(count_lines(r.err), 1, "stderr: %s", r.err);
    run_free(&r);
}

Test(cli, usage_errors_exit_64, .timeout = 60)
{
    static const char *const cases[][4] = {
        {NULL},
        {"bogus", NULL},
        {"bogus", "main.fsrs", NULL},
        {"run", NULL},
        {"run", "a.fsrs", "b.fsrs", NULL},
        {"check", NULL},
        {"disasm", NULL},
        {"watch", NULL},
        {"watch", ".", "extra", NULL},
        {"watch", ".", "--bogus", NULL},
        {"watch", ".", "--debounce", "soon"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *args[5] = {0};
        for (int k = 0; k < 4 && cases[i][k]; k++)
            args[k] = cases[i][k];
        Run r = cli_run_argv(dir, 20000, args);
        cr_assert_eq(r.code, 64, "case %zu (%s %s ...): exit %d, stderr:\n%s", i,
                     args[0] ? args[0] : "", args[1] ? args[1] : "", r.code, r.err);
        assert_text(r.out, "", "stdout");
        cr_assert(strstr(r.err, "usage: fsrs") || strstr(r.err, "--debounce"),
                  "case %zu: no usage on stderr:\n%s", i, r.err);
        run_free(&r);
    }
    /* a mistyped command is named, with or without arguments */
    const char *typos[][3] = {{"rnu", NULL}, {"rnu", "main.fsrs", NULL}, {"rnu", "a", "b"}};
    for (int i = 0; i < 3; i++) {
        const char *args[4] = {typos[i][0], typos[i][1], typos[i][1] ? typos[i][2] : NULL, NULL};
        Run r = cli_run_argv(dir, 20000, args);
        assert_exit(r, 64);
        cr_assert(strncmp(r.err, "fsrs: unknown command 'rnu'\nusage: fsrs", 39) == 0,
                  "stderr:\n%s", r.err);
        run_free(&r);
    }
}

Test(cli, help_and_version_go_to_stdout, .timeout = 30)
{
    Run r = cli_run(dir, "version", NULL);
    assert_exit(r, 0);
    assert_text(r.out, "fsrs " FSRS_VERSION_STRING "\n", "version");
    assert_text(r.err, "", "stderr");
    run_free(&r);
    const char *helps[] = {"help", "--help", "-h"};
    for (int i = 0; i < 3; i++) {
        r = cli_run(dir, helps[i], NULL);
        assert_exit(r, 0);
        cr_assert(strncmp(r.out, "usage: fsrs", 11) == 0, "%s: %s", helps[i], r.out);
        cr_assert(strstr(r.out, "run FILE") && strstr(r.out, "watch PATH"));
        assert_text(r.err, "", "stderr");
        run_free(&r);
    }
}
