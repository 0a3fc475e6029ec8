/*
 * tests/reload/test_engine.c - the hot-reload engine end to end: real files
 * in temporary directories, real inotify, the engine's real threads, and
 * readers calling the published scripts.
 */
#include "helpers.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>

typedef struct Fixture {
    char *dir;
    char *script;
    fsrs_engine *engine;
    fsrs_reader *reader;
} Fixture;

static void fixture_open(Fixture *f, const fsrs_engine_config *cfg, const char *initial)
{
    f->dir = make_tmpdir();
    cr_assert_not_null(f->dir);
    f->script = path_in(f->dir, "main.fsrs");
    if (initial)
        save_in_place(f->script, initial);
    cr_assert_eq(fsrs_engine_new(cfg, &f->engine), FSRS_OK);
    cr_assert_eq(fsrs_engine_watch(f->engine, f->dir), FSRS_OK);
    cr_assert_eq(fsrs_engine_start(f->engine), FSRS_OK);
    cr_assert_eq(fsrs_reader_new(f->engine, NULL, NULL, NULL, &f->reader), FSRS_OK);
}

static void fixture_close(Fixture *f)
{
    fsrs_reader_free(f->reader);
    fsrs_engine_free(f->engine);
    remove_tree(f->dir);
    free(f->script);
    free(f->dir);
}

typedef struct VersionWait {
    fsrs_engine *engine;
    const char *path;
    uint64_t at_least;
} VersionWait;

static bool version_reached(void *arg)
{
    VersionWait *w = arg;
    return fsrs_engine_version(w->engine, w->path) >= w->at_least;
}

static void wait_version(Fixture *f, uint64_t v)
{
    VersionWait w = {f->engine, f->script, v};
    cr_assert(wait_until(version_reached, &w, 5000), "version %llu not published (have %llu)",
              (unsigned long long)v, (unsigned long long)fsrs_engine_version(f->engine, f->script));
}

/* Call value () in the script and return the int it gives. */
static int64_t call_value(Fixture *f)
{
    fsrs_value args[1] = {fsrs_unit()}, out;
    int rc = fsrs_reader_call(f->reader, f->script, "value", 1, args, &out);
    cr_assert_eq(rc, FSRS_OK, "call failed: %s", fsrs_error_last() ? fsrs_error_last()->message : "?");
    int64_t v = fsrs_value_as_int(out);
    fsrs_reader_release(f->reader);
    return v;
}

static char *script_for(int n)
{
    static char buf[256];
    snprintf(buf, sizeof buf, "let n = %d\nlet value () = n * 10 + 1\n", n);
    return buf;
}

static void default_cfg(fsrs_engine_config *cfg, unsigned debounce_ms)
{
    fsrs_engine_config_init(cfg);
    cfg->debounce_ms = debounce_ms;
}

/* Open with script_for(1) and fn called after every reload (cfg gets
 * fn and ud); returns once version 1 is published. */
static void fixture_open_reporting(Fixture *f, fsrs_engine_config *cfg, fsrs_reload_fn fn,
                                   void *ud)
{
    cfg->on_reload = fn;
    cfg->userdata = ud;
    fixture_open(f, cfg, script_for(1));
    wait_version(f, 1);
}

/* ------------------------------------------------------------- watching --- */

Test(engine, watch_missing_path_is_an_error, .timeout = 10)
{
    fsrs_engine *e;
    cr_assert_eq(fsrs_engine_new(NULL, &e), FSRS_OK);
    cr_assert_eq(fsrs_engine_watch(e, "/nonexistent/dir/x.fsrs"), FSRS_ENOTFOUND);
    cr_assert(strstr(fsrs_error_last()->message, "/nonexistent/dir/x.fsrs"));
    fsrs_engine_free(e);
}

Test(engine, watch_file_with_other_extension_is_an_error, .timeout = 10)
{
    char *dir = make_tmpdir();
    char *p = path_in(dir, "notes.txt");
    save_in_place(p, "hello");
    fsrs_engine *e;
    cr_assert_eq(fsrs_engine_new(NULL, &e), FSRS_OK);
    cr_assert_eq(fsrs_engine_watch(e, p), FSRS_EINVAL);
    cr_assert(strstr(fsrs_error_last()->message, ".fsrs"));
    fsrs_engine_free(e);
    remove_tree(dir);
    free(p);
    free(dir);
}

Test(engine, initial_scripts_are_published_on_start, .timeout = 20)
{
    fsrs_engine_config cfg;
    default_cfg(&cfg, 0);
    Fixture f;
    fixture_open(&f, &cfg, script_for(1));
    wait_version(&f, 1);
    cr_assert_eq(call_value(&f), 11);
    cr_assert_eq(fsrs_reader_version(f.reader, f.script), 1);
    cr_assert(fsrs_engine_is_watching(f.engine));
    fixture_close(&f);
}

Test(engine, watching_a_single_file, .timeout = 20)
{
    char *dir = make_tmpdir();
    char *a = path_in(dir, "a.fsrs"), *b = path_in(dir, "b.fsrs");
    save_in_place(a, script_for(1));
    save_in_place(b, script_for(2));
    fsrs_engine *e;
    cr_assert_eq(fsrs_engine_new(NULL, &e), FSRS_OK);
    cr_assert_eq(fsrs_engine_watch(e, a), FSRS_OK);
    cr_assert_eq(fsrs_engine_start(e), FSRS_OK);
    VersionWait w = {e, a, 1};
    cr_assert(wait_until(version_reached, &w, 5000));
    save_in_place(b, script_for(3));
    save_in_place(a, script_for(4));
    w.at_least = 2;
    cr_assert(wait_until(version_reached, &w, 5000));
    cr_assert_eq(fsrs_engine_version(e, b), 0, "b.fsrs is not watched");
    fsrs_engine_free(e);
    remove_tree(dir);
    free(a);
    free(b);
    free(dir);
}

/* ------------------------------------------------------- ways of saving --- */

typedef void (*save_fn)(const char *path, const char *text);

/* Save new content with `save` and check that exactly one reload publishes
 * exactly the final content. */
static void check_save_style(save_fn save, unsigned debounce_ms)
{
    fsrs_engine_config cfg;
    default_cfg(&cfg, debounce_ms);
    Fixture f;
    fixture_open(&f, &cfg, script_for(1));
    wait_version(&f, 1);
    fsrs_engine_stats before;
    fsrs_engine_stats_get(f.engine, &before);
    save(f.script, script_for(2));
    wait_version(&f, 2);
    cr_assert_eq(call_value(&f), 21);
    /* give stray events time to cause a second reload, if they would */
    sleep_ms(250 + debounce_ms);
    fsrs_engine_stats after;
    fsrs_engine_stats_get(f.engine, &after);
    cr_assert_eq(fsrs_engine_version(f.engine, f.script), 2, "one save gave more than one version");
    cr_assert_eq(after.reloads_ok - before.reloads_ok, 1);
    cr_assert_eq(after.reloads_failed, 0);
    fixture_close(&f);
}

Test(engine, save_in_place_reloads_once, .timeout = 20) { check_save_style(save_in_place, 0); }
Test(engine, save_in_place_with_window, .timeout = 20) { check_save_style(save_in_place, 20); }
Test(engine, truncate_then_write_reloads_once, .timeout = 20)
{
    check_save_style(save_truncate_then_write, 0);
}
Test(engine, rename_into_place_reloads_once, .timeout = 20) { check_save_style(save_by_rename, 0); }
Test(engine, delete_then_create_reloads_once, .timeout = 20)
{
    check_save_style(save_delete_create, 0);
}

static void save_with_cp(const char *path, const char *text)
{
    char src[1024], cmd[2100];
    snprintf(src, sizeof src, "%s.src", path);
    save_in_place(src, text);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", src, path);
    cr_assert_eq(system(cmd), 0);
    unlink(src);
}

Test(engine, cp_over_the_script_reloads_once, .timeout = 20) { check_save_style(save_with_cp, 0); }

static void save_with_sed(const char *path, const char *text)
{
    (void)text; /* sed turns "let n = 1" into "let n = 2" */
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "sed -i 's/let n = 1/let n = 2/' '%s'", path);
    cr_assert_eq(system(cmd), 0);
}

Test(engine, sed_in_place_reloads_once, .timeout = 20) { check_save_style(save_with_sed, 0); }

/* -------------------------------------------------- deletes and errors --- */

Test(engine, deleted_script_keeps_serving_and_resumes, .timeout = 20)
{
    fsrs_engine_config cfg;
    default_cfg(&cfg, 0);
    Fixture f;
    fixture_open(&f, &cfg, script_for(1));
    wait_version(&f, 1);
    unlink(f.script);
    sleep_ms(100);
    cr_assert_eq(call_value(&f), 11, "the last good version keeps serving");
    save_in_place(f.script, script_for(5));
    wait_version(&f, 2);
    cr_assert_eq(call_value(&f), 51);
    fixture_close(&f);
}

typedef struct Calls {
    pthread_mutex_t lock;
    int ok, failed;
    uint64_t last_version;
    char last_error[512];
    bool timestamps_ordered;
} Calls;

static void on_reload(const fsrs_reload_info *info, void *ud)
{
    Calls *c = ud;
    pthread_mutex_lock(&c->lock);
    if (info->ok) {
        c->ok++;
        c->timestamps_ordered = info->event_us <= info->debounce_end_us &&
                                info->debounce_end_us <= info->compile_start_us &&
                                info->compile_start_us <= info->compile_end_us &&
                                info->compile_end_us <= info->publish_us;
    } else {
        c->failed++;
        snprintf(c->last_error, sizeof c->last_error, "%s", info->error);
    }
    c->last_version = info->version;
    pthread_mutex_unlock(&c->lock);
}

Test(engine, compile_error_keeps_old_version_and_reports, .timeout = 20)
{
    Calls calls = {.lock = PTHREAD_MUTEX_INITIALIZER};
    fsrs_engine_config cfg;
    default_cfg(&cfg, 0);
    Fixture f;
    fixture_open_reporting(&f, &cfg, on_reload, &calls);

    uint64_t seq = fsrs_engine_reload_count(f.engine);
    save_in_place(f.script, "let n = 1\nlet value () = n +\n");
    fsrs_reload_info info;
    cr_assert_eq(fsrs_engine_wait_reload(f.engine, seq, 5000, &info), FSRS_OK);
    cr_assert_not(info.ok);
    cr_assert_not_null(info.error);
    cr_assert(strstr(info.error, "main.fsrs:3:"), "diagnostic has file:line:col: %s", info.error);
    cr_assert_eq(info.version, 1, "version 1 keeps serving");
    cr_assert_eq(call_value(&f), 11);

    save_in_place(f.script, script_for(7));
    wait_version(&f, 2);
    cr_assert_eq(call_value(&f), 71);

    fsrs_engine_stats st;
    fsrs_engine_stats_get(f.engine, &st);
    cr_assert_eq(st.reloads_ok, 2);
    cr_assert_eq(st.reloads_failed, 1);
    pthread_mutex_lock(&calls.lock);
    cr_assert_eq(calls.ok, 2);
    cr_assert_eq(calls.failed, 1);
    cr_assert(strstr(calls.last_error, "main.fsrs:3:"));
    cr_assert(calls.timestamps_ordered);
    pthread_mutex_unlock(&calls.lock);
    fixture_close(&f);
}

Test(engine, runtime_error_in_new_top_level_is_reported_to_the_reader, .timeout = 20)
{
    fsrs_engine_config cfg;
    default_cfg(&cfg, 0);
    Fixture f;
    fixture_open(&f, &cfg, script_for(1));
    wait_version(&f, 1);
    save_in_place(f.script, "let n = 1 / 0\nlet value () = 3\n");
    wait_version(&f, 2);
    fsrs_value arg = fsrs_unit(), out;
    cr_assert_eq(fsrs_reader_call(f.reader, f.script, "value", 1, &arg, &out), FSRS_ERUNTIME);
    cr_assert(strstr(fsrs_error_last()->message, "division by zero"));
    save_in_place(f.script, script_for(8));
    wait_version(&f, 3);
    cr_assert_eq(call_value(&f), 81);
    fixture_close(&f);
}

/* ------------------------------------------------------- control, stats --- */

Test(engine, manual_reload_publishes_a_new_version, .timeout = 20)
{
    fsrs_engine_config cfg;
    default_cfg(&cfg, 0);
    Fixture f;
    fixture_open(&f, &cfg, script_for(1));
    wait_version(&f, 1);
    cr_assert_eq(fsrs_engine_reload(f.engine, "main.fsrs"), FSRS_OK, "found by file name");
    wait_version(&f, 2);
    cr_assert_eq(call_value(&f), 11);
    cr_assert_eq(fsrs_engine_reload(f.engine, "nope.fsrs"), FSRS_ENOTFOUND);
    fixture_close(&f);
}

/* ------------------------------------------------------ deferred leave --- */

typedef struct FreedWait {
    Fixture *f;
    bool call;          /* make a call (enter and leave) on every poll */
} FreedWait;

static bool replaced_versions_freed(void *arg)
{
    FreedWait *w = arg;
    if (w->call)
        call_value(w->f);
    fsrs_engine_stats st;
    fsrs_engine_stats_get(w->f->engine, &st);
    return st.versions_retired > 0 && st.versions_freed == st.versions_retired;
}

static uint64_t versions_freed(Fixture *f)
{
    fsrs_engine_stats st;
    fsrs_engine_stats_get(f->engine, &st);
    return st.versions_freed;
}

Test(engine, deferred_leave_frees_replaced_versions_while_calling, .timeout = 20)
{
    fsrs_engine_config cfg;
    default_cfg(&cfg, 0);
    Fixture f;
    fixture_open(&f, &cfg, script_for(1));
    wait_version(&f, 1);
    fsrs_reader_defer_leave(f.reader, true);
    cr_assert_eq(call_value(&f), 11);
    for (int n = 2; n <= 4; n++) {
        save_in_place(f.script, script_for(n));
        wait_version(&f, (uint64_t)n);
        cr_assert_eq(call_value(&f), n * 10 + 1, "a held section still sees new versions");
    }
    FreedWait w = {&f, true};
    cr_assert(wait_until(replaced_versions_freed, &w, 5000),
              "a reader that keeps calling lets replaced versions be freed");
    fixture_close(&f);
}

Test(engine, deferred_leave_idle_reader_holds_until_quiesce, .timeout = 20)
{
    fsrs_engine_config cfg;
    default_cfg(&cfg, 0);
    Fixture f;
    fixture_open(&f, &cfg, script_for(1));
    wait_version(&f, 1);
    fsrs_reader_defer_leave(f.reader, true);
    cr_assert_eq(call_value(&f), 11); /* the section stays open after this */
    save_in_place(f.script, script_for(2));
    wait_version(&f, 2);
    /* the executor polls every few milliseconds while a version waits; an
     * observation window of many polls shows that it cannot free it */
    sleep_ms(200);
    cr_assert_eq(versions_freed(&f), 0, "an idle reader's held section keeps version 1");
    fsrs_reader_quiesce(f.reader);
    FreedWait w = {&f, false};
    cr_assert(wait_until(replaced_versions_freed, &w, 5000), "freed after fsrs_reader_quiesce");
    cr_assert_eq(call_value(&f), 21);
    fsrs_reader_defer_leave(f.reader, false);
    fixture_close(&f);
}

Test(engine, unchanged_content_is_skipped, .timeout = 20)
{
    fsrs_engine_config cfg;
    default_cfg(&cfg, 0);
    Fixture f;
    fixture_open(&f, &cfg, script_for(1));
    wait_version(&f, 1);
    save_in_place(f.script, script_for(1));
    fsrs_engine_stats st;
    uint64_t end = now_ms() + 5000;
    do {
        sleep_ms(1);
        fsrs_engine_stats_get(f.engine, &st);
    } while (st.skipped_unchanged == 0 && now_ms() < end);
    cr_assert_eq(st.skipped_unchanged, 1);
    cr_assert_eq(fsrs_engine_version(f.engine, f.script), 1);
    cr_assert_geq(st.events, 1);
    fixture_close(&f);
}

Test(engine, wait_reload_times_out, .timeout = 10)
{
    fsrs_engine_config cfg;
    default_cfg(&cfg, 0);
    Fixture f;
    fixture_open(&f, &cfg, script_for(1));
    wait_version(&f, 1);
    uint64_t t0 = now_ms();
    cr_assert_eq(fsrs_engine_wait_reload(f.engine, fsrs_engine_reload_count(f.engine), 50, NULL),
                 FSRS_ELIMIT);
    cr_assert_geq(now_ms() - t0, 45);
    fixture_close(&f);
}

Test(engine, stop_and_start_again, .timeout = 20)
{
    fsrs_engine_config cfg;
    default_cfg(&cfg, 0);
    Fixture f;
    fixture_open(&f, &cfg, script_for(1));
    wait_version(&f, 1);
    cr_assert_eq(fsrs_engine_stop(f.engine, 2000), FSRS_OK);
    cr_assert_not(fsrs_engine_is_watching(f.engine));
    cr_assert_eq(call_value(&f), 11, "published versions stay readable when stopped");
    save_in_place(f.script, script_for(2));
    cr_assert_eq(fsrs_engine_start(f.engine), FSRS_OK);
    wait_version(&f, 2);
    cr_assert_eq(call_value(&f), 21);
    fixture_close(&f);
}

Test(engine, safe_point_publishing, .timeout = 20)
{
    fsrs_engine_config cfg;
    default_cfg(&cfg, 0);
    cfg.publish = FSRS_PUBLISH_AT_SYNC;
    Fixture f;
    fixture_open(&f, &cfg, script_for(1));
    fsrs_reload_info info;
    cr_assert_eq(fsrs_engine_wait_reload(f.engine, 0, 5000, &info), FSRS_OK);
    cr_assert(info.ok);
    cr_assert_eq(fsrs_engine_version(f.engine, f.script), 0, "not visible before the sync");
    fsrs_value arg = fsrs_unit(), out;
    cr_assert_eq(fsrs_reader_call(f.reader, f.script, "value", 1, &arg, &out), FSRS_ENOTFOUND);
    cr_assert_eq(fsrs_engine_sync(f.engine), 1);
    cr_assert_eq(call_value(&f), 11);

    uint64_t seq = fsrs_engine_reload_count(f.engine);
    save_in_place(f.script, script_for(2));
    cr_assert_eq(fsrs_engine_wait_reload(f.engine, seq, 5000, &info), FSRS_OK);
    cr_assert_eq(call_value(&f), 11, "the old version serves until the next safe point");
    cr_assert_eq(fsrs_engine_sync(f.engine), 1);
    cr_assert_eq(call_value(&f), 21);
    cr_assert_eq(fsrs_engine_sync(f.engine), 0);
    fixture_close(&f);
}

/* ------------------------------------------------------------ storms --- */

Test(engine, write_storm_final_content_wins, .timeout = 60)
{
    fsrs_engine_config cfg;
    default_cfg(&cfg, 0);
    Fixture f;
    fixture_open(&f, &cfg, script_for(0));
    wait_version(&f, 1);
    for (int i = 1; i <= 1000; i++) {
        if (i % 3 == 0)
            save_by_rename(f.script, script_for(i));
        else
            save_in_place(f.script, script_for(i));
    }
    uint64_t end = now_ms() + 10000;
    int64_t v = 0;
    while ((v = call_value(&f)) != 10001 && now_ms() < end)
        sleep_ms(1);
    cr_assert_eq(v, 10001, "the last content written is the one published");
    fsrs_engine_stats st;
    fsrs_engine_stats_get(f.engine, &st);
    cr_assert_leq(st.reloads_ok, 1001);
    cr_assert_eq(st.reloads_failed, 0, "no partially written file was compiled");
    fixture_close(&f);
}

Test(engine, queue_overflow_triggers_a_rescan, .timeout = 60)
{
    fsrs_engine_config cfg;
    default_cfg(&cfg, 0);
    char *dir = make_tmpdir();
    char *p = path_in(dir, "main.fsrs");
    fsrs_engine *e;
    cr_assert_eq(fsrs_engine_new(&cfg, &e), FSRS_OK);
    cr_assert_eq(fsrs_engine_watch(e, dir), FSRS_OK);
    /* the threads are not running: flood the kernel's queue (16384 events
     * by default) until it overflows, then create the script, whose events
     * are lost: only the rescan can find it */
    char *junk = path_in(dir, "junk.fsrs");
    int lim = 16384;
    FILE *fp = fopen("/proc/sys/fs/inotify/max_queued_events", "r");
    if (fp) {
        if (fscanf(fp, "%d", &lim) != 1)
            lim = 16384;
        fclose(fp);
    }
    for (int i = 0; i < lim + 100; i++)
        save_in_place(junk, "let x = 1\n");
    save_in_place(p, script_for(9));
    cr_assert_eq(fsrs_engine_start(e), FSRS_OK);
    VersionWait w = {e, p, 1};
    cr_assert(wait_until(version_reached, &w, 20000), "the rescan found the new script");
    fsrs_engine_stats st;
    fsrs_engine_stats_get(e, &st);
    cr_assert_geq(st.overflows, 1);
    fsrs_reader *r;
    cr_assert_eq(fsrs_reader_new(e, NULL, NULL, NULL, &r), FSRS_OK);
    fsrs_value arg = fsrs_unit(), out;
    cr_assert_eq(fsrs_reader_call(r, p, "value", 1, &arg, &out), FSRS_OK);
    cr_assert_eq(fsrs_value_as_int(out), 91);
    fsrs_reader_free(r);
    fsrs_engine_free(e);
    remove_tree(dir);
    free(junk);
    free(p);
    free(dir);
}

/* ------------------------------------------- directories, recursion, globs --- */

Test(engine, watched_directory_deleted_and_recreated, .timeout = 30)
{
    char *top = make_tmpdir();
    char *dir = path_in(top, "scripts");
    mkdir(dir, 0755);
    char *p = path_in(dir, "main.fsrs");
    save_in_place(p, script_for(1));
    fsrs_engine_config cfg;
    default_cfg(&cfg, 0);
    fsrs_engine *e;
    cr_assert_eq(fsrs_engine_new(&cfg, &e), FSRS_OK);
    cr_assert_eq(fsrs_engine_watch(e, dir), FSRS_OK);
    cr_assert_eq(fsrs_engine_start(e), FSRS_OK);
    VersionWait w = {e, p, 1};
    cr_assert(wait_until(version_reached, &w, 5000));

    remove_tree(dir);
    sleep_ms(50);
    cr_assert_eq(fsrs_engine_version(e, p), 1, "the last good version stays");
    mkdir(dir, 0755);
    save_in_place(p, script_for(2));
    w.at_least = 2;
    cr_assert(wait_until(version_reached, &w, 5000), "the recreated directory is watched again");
    /* and later saves in it are seen */
    save_in_place(p, script_for(3));
    w.at_least = 3;
    cr_assert(wait_until(version_reached, &w, 5000));

    fsrs_reader *r;
    cr_assert_eq(fsrs_reader_new(e, NULL, NULL, NULL, &r), FSRS_OK);
    fsrs_value arg = fsrs_unit(), out;
    cr_assert_eq(fsrs_reader_call(r, p, "value", 1, &arg, &out), FSRS_OK);
    cr_assert_eq(fsrs_value_as_int(out), 31);
    fsrs_reader_free(r);
    fsrs_engine_free(e);
    remove_tree(top);
    free(p);
    free(dir);
    free(top);
}

Test(engine, recursive_watch_sees_new_subdirectories, .timeout = 30)
{
    char *top = make_tmpdir();
    char *sub = path_in(top, "a");
    mkdir(sub, 0755);
    char *p1 = path_in(sub, "one.fsrs");
    save_in_place(p1, script_for(1));
    fsrs_engine_config cfg;
    default_cfg(&cfg, 0);
    cfg.recursive = true;
    fsrs_engine *e;
    cr_assert_eq(fsrs_engine_new(&cfg, &e), FSRS_OK);
    cr_assert_eq(fsrs_engine_watch(e, top), FSRS_OK);
    cr_assert_eq(fsrs_engine_start(e), FSRS_OK);
    VersionWait w = {e, p1, 1};
    cr_assert(wait_until(version_reached, &w, 5000), "a script in an existing subdirectory");

    char *deep = path_in(top, "b");
    mkdir(deep, 0755);
    char *deeper = path_in(deep, "c");
    sleep_ms(20); /* let the watcher add b before c appears (c is scanned either way) */
    mkdir(deeper, 0755);
    char *p2 = path_in(deeper, "two.fsrs");
    save_in_place(p2, script_for(2));
    VersionWait w2 = {e, p2, 1};
    cr_assert(wait_until(version_reached, &w2, 5000), "a script in a new subdirectory");
    save_in_place(p2, script_for(3));
    w2.at_least = 2;
    cr_assert(wait_until(version_reached, &w2, 5000), "later saves there are seen");
    fsrs_engine_free(e);
    remove_tree(top);
    free(p1);
    free(p2);
    free(sub);
    free(deep);
    free(deeper);
    free(top);
}

Test(engine, include_and_exclude_globs, .timeout = 30)
{
    char *dir = make_tmpdir();
    char *api = path_in(dir, "api-users.fsrs"), *apit = path_in(dir, "api-users.test.fsrs");
    char *other = path_in(dir, "other.fsrs");
    save_in_place(api, script_for(1));
    save_in_place(apit, script_for(2));
    save_in_place(other, script_for(3));
    static const char *const include[] = {"api-*", NULL};
    static const char *const exclude[] = {"*.test.fsrs", NULL};
    fsrs_engine_config cfg;
    default_cfg(&cfg, 0);
    cfg.include = include;
    cfg.exclude = exclude;
    fsrs_engine *e;
    cr_assert_eq(fsrs_engine_new(&cfg, &e), FSRS_OK);
    cr_assert_eq(fsrs_engine_watch(e, dir), FSRS_OK);
    cr_assert_eq(fsrs_engine_start(e), FSRS_OK);
    VersionWait w = {e, api, 1};
    cr_assert(wait_until(version_reached, &w, 5000));
    save_in_place(apit, script_for(4));
    save_in_place(other, script_for(5));
    save_in_place(api, script_for(6));
    w.at_least = 2;
    cr_assert(wait_until(version_reached, &w, 5000));
    sleep_ms(100);
    cr_assert_eq(fsrs_engine_version(e, apit), 0, "excluded");
    cr_assert_eq(fsrs_engine_version(e, other), 0, "not included");
    fsrs_engine_free(e);
    remove_tree(dir);
    free(api);
    free(apit);
    free(other);
    free(dir);
}

/* ------------------------------------------------------ compiler hook --- */

/* A trivial language: a script is a decimal number; its artifact is that
 * number, boxed.  "x" does not compile. */
typedef struct NumberLang {
    atomic_int freed;
} NumberLang;

static int number_compile(const char *path, const char *source, size_t len, void **out, char *err,
                          size_t errcap, void *userdata)
{
    (void)userdata;
    char *end;
    char buf[64];
    snprintf(buf, sizeof buf, "%.*s", (int)(len < 63 ? len : 63), source);
    long v = strtol(buf, &end, 10);
    if (end == buf) {
        snprintf(err, errcap, "%s:1:1: not a number", path);
        return -1;
    }
    long *box = malloc(sizeof *box);
    *box = v;
    *out = box;
    return 0;
}

static void number_free(void *artifact, void *userdata)
{
    NumberLang *l = userdata;
    atomic_fetch_add(&l->freed, 1);
    free(artifact);
}

/* number_compile, counting the compiles */
typedef struct CountingLang {
    NumberLang numbers;
    atomic_int compiles;
} CountingLang;

static int counting_compile(const char *path, const char *source, size_t len, void **out,
                            char *err, size_t errcap, void *userdata)
{
    CountingLang *l = userdata;
    int rc = number_compile(path, source, len, out, err, errcap, userdata);
    atomic_fetch_add(&l->compiles, 1);
    return rc;
}

static void counting_free(void *artifact, void *userdata)
{
    number_free(artifact, &((CountingLang *)userdata)->numbers);
}

typedef struct CompileWait {
    CountingLang *lang;
    int at_least;
} CompileWait;

static bool compiles_reached(void *arg)
{
    CompileWait *w = arg;
    return atomic_load(&w->lang->compiles) >= w->at_least;
}

/* An engine compiling dir/value.num with number_compile (counting), the
 * file first holding `initial`; open returns once version 1 is out. */
typedef struct NumberRig {
    CountingLang lang;
    char *dir, *path;
    fsrs_engine *engine;
} NumberRig;

static void number_rig_wait(NumberRig *g, uint64_t version)
{
    VersionWait w = {g->engine, g->path, version};
    cr_assert(wait_until(version_reached, &w, 5000), "version %llu not published",
              (unsigned long long)version);
}

static void number_rig_open(NumberRig *g, unsigned debounce_ms, const char *initial)
{
    static const char *const exts[] = {".num", NULL};
    memset(g, 0, sizeof *g);
    fsrs_engine_config cfg;
    default_cfg(&cfg, debounce_ms);
    cfg.extensions = exts;
    cfg.compiler.compile = counting_compile;
    cfg.compiler.free = counting_free;
    cfg.compiler.userdata = &g->lang;
    g->dir = make_tmpdir();
    g->path = path_in(g->dir, "value.num");
    save_in_place(g->path, initial);
    cr_assert_eq(fsrs_engine_new(&cfg, &g->engine), FSRS_OK);
    cr_assert_eq(fsrs_engine_watch(g->engine, g->dir), FSRS_OK);
    cr_assert_eq(fsrs_engine_start(g->engine), FSRS_OK);
    number_rig_wait(g, 1);
}

/* The number a reader sees in the script, and its version. */
static long read_number(fsrs_reader *r, const char *key, uint64_t *ver)
{
    fsrs_reader_enter(r);
    const long *box = fsrs_reader_artifact(r, key, ver);
    cr_assert_not_null(box);
    long v = *box;
    fsrs_reader_leave(r);
    return v;
}

/* Free the engine (and with it every version), then the directory. */
static void number_rig_close(NumberRig *g)
{
    fsrs_engine_free(g->engine);
    g->engine = NULL;
    remove_tree(g->dir);
    free(g->path);
    free(g->dir);
}

Test(engine, pluggable_compiler, .timeout = 20)
{
    NumberRig g;
    number_rig_open(&g, 0, "41");
    fsrs_reader *r;
    cr_assert_eq(fsrs_reader_new(g.engine, NULL, NULL, NULL, &r), FSRS_OK);
    uint64_t ver;
    cr_assert_eq(read_number(r, "value.num", &ver), 41);
    cr_assert_eq(ver, 1);
    fsrs_value unit = fsrs_unit();
    cr_assert_eq(fsrs_reader_call(r, g.path, "f", 1, &unit, NULL), FSRS_EINVAL,
                 "running Mini-F# needs the default compiler");

    uint64_t seq = fsrs_engine_reload_count(g.engine);
    save_in_place(g.path, "x");
    fsrs_reload_info info;
    cr_assert_eq(fsrs_engine_wait_reload(g.engine, seq, 5000, &info), FSRS_OK);
    cr_assert_not(info.ok);
    cr_assert(strstr(info.error, "value.num:1:1: not a number"));
    save_in_place(g.path, "42");
    number_rig_wait(&g, 2);
    cr_assert_eq(read_number(r, g.path, &ver), 42);
    fsrs_reader_free(r);
    number_rig_close(&g);
    cr_assert_eq(atomic_load(&g.lang.numbers.freed), 2, "both versions were freed");
}

Test(engine, an_emptied_script_keeps_its_last_version, .timeout = 20)
{
    fsrs_engine_config cfg;
    default_cfg(&cfg, 0);
    Fixture f;
    fixture_open(&f, &cfg, script_for(1));
    wait_version(&f, 1);
    /* an empty file is what a save caught between open(O_TRUNC) and its
     * write looks like; it never replaces a version */
    uint64_t before = fsrs_engine_reload_count(f.engine);
    save_in_place(f.script, "");
    fsrs_reload_info info;
    (void)fsrs_engine_wait_reload(f.engine, before, 300, &info);
    cr_assert_eq(fsrs_engine_version(f.engine, f.script), 1);
    cr_assert_eq(call_value(&f), 11, "the last good version keeps serving");
    save_in_place(f.script, script_for(3));
    wait_version(&f, 2);
    cr_assert_eq(call_value(&f), 31);
    cr_assert_eq(fsrs_engine_version(f.engine, f.script), 2, "the empty file never became a version");
    fixture_close(&f);
}

/* --------------------------------------------------------- compile ahead --- */

/* The last reload's report, kept by on_reload_keep. */
typedef struct Kept {
    pthread_mutex_t lock;
    fsrs_reload_info info;
    char error[512];
    int reports;
} Kept;

static void on_reload_keep(const fsrs_reload_info *info, void *ud)
{
    Kept *k = ud;
    pthread_mutex_lock(&k->lock);
    k->info = *info;
    snprintf(k->error, sizeof k->error, "%s", info->error ? info->error : "");
    k->info.error = NULL;
    k->reports++;
    pthread_mutex_unlock(&k->lock);
}

Test(engine, a_save_is_compiled_during_its_window, .timeout = 20)
{
    Kept kept = {.lock = PTHREAD_MUTEX_INITIALIZER};
    fsrs_engine_config cfg;
    default_cfg(&cfg, 300);
    Fixture f;
    fixture_open_reporting(&f, &cfg, on_reload_keep, &kept);
    save_in_place(f.script, script_for(2));
    wait_version(&f, 2);
    cr_assert_eq(call_value(&f), 21);
    pthread_mutex_lock(&kept.lock);
    fsrs_reload_info info = kept.info;
    pthread_mutex_unlock(&kept.lock);
    cr_assert(info.ok);
    cr_assert(info.compiled_ahead);
    cr_assert_leq(info.compile_end_us, info.debounce_end_us,
                  "a two-line script compiles well within a 300 ms window");
    cr_assert_geq(info.debounce_end_us - info.event_us, 300000, "the window still runs out");
    cr_assert_leq(info.debounce_end_us, info.publish_us);
    fsrs_engine_stats st;
    fsrs_engine_stats_get(f.engine, &st);
    cr_assert_eq(st.reloads_ok, 2);
    cr_assert_eq(st.compiled_ahead, 2, "the initial load and the save");
    cr_assert_eq(st.ahead_discarded, 0);
    fixture_close(&f);
}

Test(engine, a_broken_save_compiled_ahead_is_reported_when_its_window_ends, .timeout = 20)
{
    fsrs_engine_config cfg;
    default_cfg(&cfg, 200);
    Fixture f;
    fixture_open(&f, &cfg, script_for(1));
    wait_version(&f, 1);
    uint64_t seq = fsrs_engine_reload_count(f.engine);
    save_in_place(f.script, "let n = 1\nlet value () = n +\n");
    fsrs_reload_info info;
    cr_assert_eq(fsrs_engine_wait_reload(f.engine, seq, 5000, &info), FSRS_OK);
    cr_assert_not(info.ok);
    cr_assert(info.compiled_ahead);
    cr_assert(strstr(info.error, "main.fsrs:3:"), "diagnostic has file:line:col: %s", info.error);
    cr_assert_geq(info.debounce_end_us - info.event_us, 200000);
    cr_assert_eq(call_value(&f), 11, "version 1 keeps serving");
    save_in_place(f.script, script_for(4));
    wait_version(&f, 2);
    cr_assert_eq(call_value(&f), 41);
    fixture_close(&f);
}

Test(engine, a_save_within_the_window_replaces_what_was_compiled_ahead, .timeout = 20)
{
    NumberRig g;
    number_rig_open(&g, 500, "1");
    cr_assert_eq(atomic_load(&g.lang.compiles), 1);

    /* "5" is compiled ahead at once; "6", saved inside 5's window,
     * replaces it and restarts the window */
    save_in_place(g.path, "5");
    CompileWait cw = {&g.lang, 2};
    cr_assert(wait_until(compiles_reached, &cw, 5000), "the save was compiled ahead");
    cr_assert_eq(fsrs_engine_version(g.engine, g.path), 1,
                 "... but not published before its window ends");
    save_in_place(g.path, "6");
    number_rig_wait(&g, 2);
    fsrs_reader *r;
    cr_assert_eq(fsrs_reader_new(g.engine, NULL, NULL, NULL, &r), FSRS_OK);
    uint64_t ver;
    cr_assert_eq(read_number(r, g.path, &ver), 6);
    cr_assert_eq(ver, 2);
    fsrs_reader_free(r);

    fsrs_engine_stats st;
    fsrs_engine_stats_get(g.engine, &st);
    cr_assert_eq(st.reloads_ok, 2, "one reload for the burst");
    cr_assert_eq(st.ahead_discarded, 1, "5 was compiled for nothing");
    cr_assert_eq(st.compiled_ahead, 2);
    cr_assert_eq(atomic_load(&g.lang.compiles), 3, "6 was compiled once, during its window");
    number_rig_close(&g);
    cr_assert_eq(atomic_load(&g.lang.numbers.freed), 3, "1, 5 and 6 were all freed");
}

Test(engine, the_same_bytes_saved_again_inside_the_window_are_not_compiled_again, .timeout = 20)
{
    NumberRig g;
    number_rig_open(&g, 400, "1");
    /* the file's events after the compile ahead make the engine read it
     * again at the window's end; it finds the bytes it compiled */
    save_in_place(g.path, "7");
    CompileWait cw = {&g.lang, 2};
    cr_assert(wait_until(compiles_reached, &cw, 5000), "the save was compiled ahead");
    save_by_rename(g.path, "7");
    number_rig_wait(&g, 2);
    fsrs_engine_stats st;
    fsrs_engine_stats_get(g.engine, &st);
    cr_assert_eq(st.reloads_ok, 2);
    cr_assert_eq(st.compiled_ahead, 2);
    cr_assert_eq(st.ahead_discarded, 0);
    cr_assert_eq(atomic_load(&g.lang.compiles), 2, "7 was compiled once");
    number_rig_close(&g);
    cr_assert_eq(atomic_load(&g.lang.numbers.freed), 2);
}

Test(engine, compile_ahead_can_be_turned_off, .timeout = 20)
{
    Kept kept = {.lock = PTHREAD_MUTEX_INITIALIZER};
    fsrs_engine_config cfg;
    default_cfg(&cfg, 50);
    cfg.compile_ahead = false;
    Fixture f;
    fixture_open_reporting(&f, &cfg, on_reload_keep, &kept);
    save_in_place(f.script, script_for(2));
    wait_version(&f, 2);
    pthread_mutex_lock(&kept.lock);
    fsrs_reload_info info = kept.info;
    pthread_mutex_unlock(&kept.lock);
    cr_assert_not(info.compiled_ahead);
    cr_assert_geq(info.compile_start_us, info.debounce_end_us, "compiled after the window");
    fsrs_engine_stats st;
    fsrs_engine_stats_get(f.engine, &st);
    cr_assert_eq(st.compiled_ahead, 0);
    fixture_close(&f);
}

/* ------------------------------------------------------------ full rings --- */

static void on_reload_slowly(const fsrs_reload_info *info, void *ud)
{
    (void)info;
    atomic_fetch_add((atomic_int *)ud, 1);
    sleep_ms(5); /* the executor falls behind: the results ring fills */
}

typedef struct AllPublished {
    fsrs_engine *engine;
    char **paths;
    int n;
    uint64_t at_least;
} AllPublished;

static bool all_published(void *arg)
{
    AllPublished *a = arg;
    for (int i = 0; i < a->n; i++)
        if (fsrs_engine_version(a->engine, a->paths[i]) < a->at_least)
            return false;
    return true;
}

Test(engine, full_rings_lose_nothing, .timeout = 60)
{
    enum { N = 24 };
    atomic_int reports = 0;
    fsrs_engine_config cfg;
    default_cfg(&cfg, 0);
    cfg.ring_size = 4; /* the smallest */
    cfg.on_reload = on_reload_slowly;
    cfg.userdata = &reports;
    char *dir = make_tmpdir();
    char *paths[N];
    char name[32];
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "s%02d.fsrs", i);
        paths[i] = path_in(dir, name);
        save_in_place(paths[i], script_for(i));
    }
    fsrs_engine *e;
    cr_assert_eq(fsrs_engine_new(&cfg, &e), FSRS_OK);
    cr_assert_eq(fsrs_engine_watch(e, dir), FSRS_OK);
    cr_assert_eq(fsrs_engine_start(e), FSRS_OK);
    AllPublished all = {e, paths, N, 1};
    cr_assert(wait_until(all_published, &all, 20000), "every script published through rings of 4");
    for (int i = 0; i < N; i++)
        save_by_rename(paths[i], script_for(100 + i));
    all.at_least = 2;
    cr_assert(wait_until(all_published, &all, 20000), "every save published through rings of 4");

    fsrs_reader *r;
    cr_assert_eq(fsrs_reader_new(e, NULL, NULL, NULL, &r), FSRS_OK);
    for (int i = 0; i < N; i++) {
        fsrs_value unit = fsrs_unit(), out;
        cr_assert_eq(fsrs_reader_call(r, paths[i], "value", 1, &unit, &out), FSRS_OK);
        cr_assert_eq(fsrs_value_as_int(out), (100 + i) * 10 + 1, "script %d runs its last save", i);
        fsrs_reader_release(r);
    }
    fsrs_reader_free(r);
    fsrs_engine_stats st;
    fsrs_engine_stats_get(e, &st);
    cr_assert_eq(st.reloads_failed, 0);
    fsrs_engine_free(e);
    for (int i = 0; i < N; i++)
        free(paths[i]);
    remove_tree(dir);
    free(dir);
}
