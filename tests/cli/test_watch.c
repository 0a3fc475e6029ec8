/*
 * tests/cli/test_watch.c - `fsrs watch` as a child process: saves to a
 * watched directory and the JSON lines (or the human-readable report) the
 * command prints for each reload, then Ctrl-C (SIGINT) and the summary.
 * Every wait has a deadline; nothing sleeps for a fixed time.
 */
#include "proc.h"

#include <criterion/criterion.h>

/* How long one reload may take to show up (generous for sanitizer builds). */
#define STEP_MS 10000

static char *dir, *main_path;

static void setup(void)
{
    dir = make_tmpdir();
    cr_assert_not_null(dir);
    main_path = path_in(dir, "main.fsrs");
}

static void teardown(void)
{
    remove_tree(dir);
    free(main_path);
    free(dir);
}

TestSuite(watch, .init = setup, .fini = teardown);

/* The next stdout line, which must come within STEP_MS. */
static char *next_line(Child *c, const char *waiting_for)
{
    char *line = cli_next_line(c, now_ms() + STEP_MS);
    cr_assert_not_null(line,
                       "no line while waiting for %s\n--- stdout so far:\n%s\n--- stderr:\n%s",
                       waiting_for, text_str(&c->out), text_str(&c->err));
    return line;
}

static void assert_has(const char *line, const char *part)
{
    cr_assert(strstr(line, part), "'%s' lacks '%s'", line, part);
}

/* A reload line for version v, ok or not; returns it (malloc'd). */
static char *expect_reload(Child *c, unsigned v, bool ok)
{
    char *line = next_line(c, "a reload");
    const char *head = "{\"event\":\"reload\",\"path\":";
    cr_assert(strncmp(line, head, strlen(head)) == 0, "not a reload line: %s", line);
    assert_has(line, "main.fsrs\"");
    char want[64];
    snprintf(want, sizeof want, ",\"version\":%u,", v);
    assert_has(line, want);
    assert_has(line, ok ? "\"ok\":true,\"error\":null," : "\"ok\":false,\"error\":\"");
    cr_assert_eq(line[strlen(line) - 1], '}', "unterminated JSON: %s", line);
    return line;
}

/* An output line carrying exactly `json_text` (JSON-escaped). */
static void expect_output(Child *c, const char *json_text)
{
    char *line = next_line(c, "script output");
    char want[256];
    snprintf(want, sizeof want, "{\"event\":\"output\",\"text\":\"%s\"}", json_text);
    cr_assert_str_eq(line, want, "wanted %s\n got %s", want, line);
    free(line);
}

static Child start_watch(const char *const *args)
{
    Child c;
    cr_assert(cli_spawn(&c, dir, args), "cannot start %s", cli_path());
    return c;
}

/* SIGINT, then everything up to EOF and the exit, within a deadline. */
static int interrupt_and_wait(Child *c)
{
    cr_assert_eq(kill(c->pid, SIGINT), 0);
    uint64_t deadline = now_ms() + STEP_MS;
    while (cli_pump(c, deadline))
        ;
    cr_assert(c->out_fd < 0 && c->err_fd < 0, "fsrs watch did not close its output after SIGINT");
    cr_assert(cli_wait(c, deadline), "fsrs watch still runs %d ms after SIGINT", STEP_MS);
    return cli_exit_code(c);
}

Test(watch, json_lines_follow_every_save, .timeout = 120)
{
    save_in_place(main_path, "let twice x = x * 2\nprintfn \"v1 %d\" (twice 21)\n");
    const char *args[] = {"watch", dir, "--json", "--debounce", "0", NULL};
    Child c = start_watch(args);

    /* the version found at start */
    free(expect_reload(&c, 1, true));
    expect_output(&c, "v1 42\\n");

    /* an in-place save (open O_TRUNC, write, close) */
    save_in_place(main_path, "let twice x = x * 2\n"
                             "printfn \"v2 %d\" (twice 50)\n"
                             "printf \"tab\\t\\\"q\\\"\"\n");
    free(expect_reload(&c, 2, true));
    expect_output(&c, "v2 100\\n");
    expect_output(&c, "tab\\t\\\"q\\\"");

    /* a broken save: reported with its location, version 2 keeps serving */
    save_in_place(main_path, "let twice x = x * 2\nlet y = twice + nope\n");
    char *bad = expect_reload(&c, 2, false);
    assert_has(bad, "main.fsrs:2:17: ");
    assert_has(bad, "nope");
    free(bad);

    /* fixed again: version 3 */
    save_in_place(main_path, "printfn \"v3\"\n");
    char *good = expect_reload(&c, 3, true);
    assert_has(good, ",\"size\":13,");
    free(good);
    expect_output(&c, "v3\\n");

    int code = interrupt_and_wait(&c);
    char *summary = cli_next_line(&c, now_ms());
    cr_assert_not_null(summary, "no summary line; stdout:\n%s", text_str(&c.out));
    const char *head = "{\"event\":\"summary\",\"reloads_ok\":3,\"reloads_failed\":1,";
    cr_assert(strncmp(summary, head, strlen(head)) == 0, "summary: %s", summary);
    cr_assert_eq(summary[strlen(summary) - 1], '}', "summary: %s", summary);
    free(summary);
    cr_assert_null(cli_next_line(&c, now_ms()), "lines after the summary:\n%s", text_str(&c.out));
    cr_assert_eq(code, 0, "exit code %d\n--- stderr:\n%s", code, text_str(&c.err));
    /* with --json nothing but JSON is printed, and nothing on stderr */
    cr_assert_str_eq(text_str(&c.err), "");
    cli_close(&c);
}

Test(watch, entry_function_and_runtime_errors_in_json, .timeout = 120)
{
    save_in_place(main_path, "let main () = printfn \"hello from main\"\nprintfn \"top\"\n");
    const char *args[] = {"watch", dir, "--json", "--debounce", "0", "--entry", "main", NULL};
    Child c = start_watch(args);
    free(expect_reload(&c, 1, true));
    /* the top level runs when the version is loaded, then the entry */
    expect_output(&c, "top\\n");
    expect_output(&c, "hello from main\\n");

    /* a version whose entry fails: an error event, and watching goes on */
    save_in_place(main_path,
                  "let main () =\n    printfn \"about to fail\"\n    failwith \"boom\"\n");
    free(expect_reload(&c, 2, true));
    expect_output(&c, "about to fail\\n");
    char *err = next_line(&c, "the runtime error");
    const char *head = "{\"event\":\"error\",\"path\":\"";
    cr_assert(strncmp(err, head, strlen(head)) == 0, "not an error line: %s", err);
    assert_has(err, "main.fsrs\",\"error\":\"boom\",\"line\":3}");
    free(err);

    cr_assert_eq(interrupt_and_wait(&c), 0, "stderr:\n%s", text_str(&c.err));
    cli_close(&c);
}

Test(watch, human_readable_report_and_compile_error_with_caret, .timeout = 120)
{
    save_in_place(main_path, "printfn \"one\"\n");
    const char *args[] = {"watch", main_path, "--debounce", "0", NULL};
    Child c = start_watch(args);
    char *banner = next_line(&c, "the banner");
    cr_assert(strncmp(banner, "watching ", 9) == 0, "banner: %s", banner);
    free(banner);
    char *ok = next_line(&c, "the first reload");
    cr_assert(strncmp(ok, "[reload] ", 9) == 0 && strstr(ok, "main.fsrs v1 ok: 14 bytes"),
              "reload line: %s", ok);
    free(ok);
    char *out = next_line(&c, "script output");
    cr_assert_str_eq(out, "one");
    free(out);

    save_in_place(main_path, "printfn \"two\"\nlet x = 1 +\n");
    char *failed = next_line(&c, "the failed reload");
    cr_assert(strncmp(failed, "[reload] ", 9) == 0 &&
                  strstr(failed, "main.fsrs failed; still serving v1"),
              "failed reload line: %s", failed);
    free(failed);
    /* the diagnostic on stderr is the one `fsrs check` prints */
    uint64_t deadline = now_ms() + STEP_MS;
    char *e1 = cli_next_err_line(&c, deadline), *e2 = cli_next_err_line(&c, deadline),
         *e3 = cli_next_err_line(&c, deadline);
    cr_assert(e1 && e2 && e3, "stderr:\n%s", text_str(&c.err));
    char want[1024];
    snprintf(want, sizeof want, "%s:3:1: error: ", main_path);
    cr_assert(strncmp(e1, want, strlen(want)) == 0, "'%s' does not start with '%s'", e1, want);
    cr_assert_str_eq(e2, "    3 | ");
    cr_assert_str_eq(e3, "      | ^");
    free(e1);
    free(e2);
    free(e3);

    cr_assert_eq(interrupt_and_wait(&c), 0, "stderr:\n%s", text_str(&c.err));
    const char *tail = strstr(text_str(&c.out), "\nstopped: 1 reloads ok, 1 failed,");
    cr_assert_not_null(tail, "no summary:\n%s", text_str(&c.out));
    cli_close(&c);
}

Test(watch, missing_path_exits_1_with_a_message, .timeout = 30)
{
    Run r = cli_run(dir, "watch", "/nonexistent", NULL);
    cr_assert_eq(r.code, 1, "exit %d, stderr:\n%s", r.code, r.err);
    cr_assert_str_eq(r.out, "");
    cr_assert_str_eq(r.err, "fsrs watch: cannot watch '/nonexistent': No such file or directory\n");
    run_free(&r);

    r = cli_run(dir, "watch", "/nonexistent", "--json", NULL);
    cr_assert_eq(r.code, 1, "exit %d, stderr:\n%s", r.code, r.err);
    cr_assert_str_eq(r.out, "");
    cr_assert(strstr(r.err, "/nonexistent"), "stderr: %s", r.err);
    run_free(&r);
}

Test(watch, a_file_that_is_not_a_script_is_refused, .timeout = 30)
{
    char *txt = path_in(dir, "notes.txt");
    save_in_place(txt, "printfn \"x\"\n");
    Run r = cli_run(dir, "watch", "notes.txt", NULL);
    cr_assert_eq(r.code, 1, "exit %d, stderr:\n%s", r.code, r.err);
    cr_assert_str_eq(r.out, "");
    cr_assert(strstr(r.err, "fsrs watch: cannot watch 'notes.txt': not a script file"),
              "stderr: %s", r.err);
    run_free(&r);
    free(txt);
}
