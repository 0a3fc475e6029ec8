/*
 * tests/lang/driver.c - runs every .fsrs script under tests/lang through the
 * library and checks it against the expectations written in its comments
 * (see tests/lang/README.md).  One process, one fresh VM per script.
 *
 *   lang_driver DIR [FILTER]   run the scripts under DIR whose path
 *                              contains FILTER; print failures and a
 *                              "N passed, N failed" line; exit 1 on failure.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <fsrs/fsrs.h>

typedef struct Text {
    char *data;
    size_t len, cap;
} Text;

static void text_put(Text *t, const char *s, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 256;
        while (cap < t->len + n + 1)
            cap *= 2;
        t->data = realloc(t->data, cap);
        if (!t->data)
            abort();
        t->cap = cap;
    }
    memcpy(t->data + t->len, s, n);
    t->len += n;
    t->data[t->len] = '\0';
}

static void capture(const char *text, size_t len, void *ud) { text_put(ud, text, len); }

static char *read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    Text t = {0};
    char buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, fp)) > 0)
        text_put(&t, buf, n);
    fclose(fp);
    if (!t.data)
        text_put(&t, "", 0);
    *len = t.len;
    return t.data;
}

typedef struct Expect {
    char **lines;
    int nlines, cap;
    int compile_line, runtime_line;
    char compile_text[256], runtime_text[256];
} Expect;

static void parse_expectations(const char *src, Expect *e)
{
    memset(e, 0, sizeof *e);
    int line = 1;
    const char *p = src;
    while (*p) {
        const char *eol = strchr(p, '\n');
        size_t n = eol ? (size_t)(eol - p) : strlen(p);
        char *l = strndup(p, n);
        if (n && l[n - 1] == '\r')
            l[n - 1] = '\0';
        char *m;
        if ((m = strstr(l, "// expect compile error: "))) {
            e->compile_line = line;
            snprintf(e->compile_text, sizeof e->compile_text, "%s", m + 25);
        } else if ((m = strstr(l, "// expect runtime error: "))) {
            e->runtime_line = line;
            snprintf(e->runtime_text, sizeof e->runtime_text, "%s", m + 25);
        } else if ((m = strstr(l, "// expect: "))) {
            if (e->nlines == e->cap) {
                e->cap = e->cap ? e->cap * 2 : 16;
                e->lines = realloc(e->lines, (size_t)e->cap * sizeof(char *));
            }
            e->lines[e->nlines++] = strdup(m + 11);
        }
        free(l);
        line++;
        if (!eol)
            break;
        p = eol + 1;
    }
}

static void free_expectations(Expect *e)
{
    for (int i = 0; i < e->nlines; i++)
        free(e->lines[i]);
    free(e->lines);
}

static bool contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return true;
    return n == 0;
}

/* Compare captured output with the expected lines; describe the first
 * difference in why. */
static bool check_output(const Text *out, const Expect *e, char *why, size_t cap)
{
    const char *p = out->data ? out->data : "";
    for (int i = 0; i < e->nlines; i++) {
        if (!*p) {
            snprintf(why, cap, "missing output line %d: expected \"%s\"", i + 1, e->lines[i]);
            return false;
        }
        const char *eol = strchr(p, '\n');
        size_t n = eol ? (size_t)(eol - p) : strlen(p);
        if (strlen(e->lines[i]) != n || memcmp(e->lines[i], p, n) != 0) {
            snprintf(why, cap, "output line %d: expected \"%s\", got \"%.*s\"", i + 1,
                     e->lines[i], (int)n, p);
            return false;
        }
        p = eol ? eol + 1 : p + n;
    }
    if (*p) {
        const char *eol = strchr(p, '\n');
        snprintf(why, cap, "unexpected extra output: \"%.*s\"",
                 (int)(eol ? (size_t)(eol - p) : strlen(p)), p);
        return false;
    }
    return true;
}

static bool run_one(const char *path, char *why, size_t cap)
{
    size_t len;
    char *src = read_file(path, &len);
    if (!src) {
        snprintf(why, cap, "cannot read file");
        return false;
    }
    Expect e;
    parse_expectations(src, &e);
    bool ok = false;
    fsrs_chunk *chunk = NULL;
    fsrs_vm *vm = NULL;
    Text out = {0};
    int rc = fsrs_compile(NULL, path, src, len, &chunk);
    if (e.compile_line) {
        if (rc == FSRS_OK) {
            snprintf(why, cap, "expected a compile error on line %d, but it compiled",
                     e.compile_line);
        } else {
            const fsrs_error *err = fsrs_error_last();
            if (rc != FSRS_ECOMPILE || !err)
                snprintf(why, cap, "expected a compile error, got status %d", rc);
            else if (err->line != e.compile_line)
                snprintf(why, cap, "compile error on line %d, expected line %d: %s", err->line,
                         e.compile_line, err->message);
            else if (!contains_ci(err->message, e.compile_text))
                snprintf(why, cap, "compile error \"%s\" does not contain \"%s\"", err->message,
                         e.compile_text);
            else
                ok = true;
        }
        goto done;
    }
    if (rc != FSRS_OK) {
        const fsrs_error *err = fsrs_error_last();
        snprintf(why, cap, "compile error %d:%d: %s", err ? err->line : 0, err ? err->col : 0,
                 err ? err->message : "?");
        goto done;
    }
    fsrs_config cfg;
    fsrs_config_init(&cfg);
    cfg.output = capture;
    cfg.userdata = &out;
    cfg.instruction_budget = 2000000000ull;
    if (fsrs_vm_new(&cfg, &vm) != FSRS_OK) {
        snprintf(why, cap, "fsrs_vm_new failed");
        goto done;
    }
    rc = fsrs_vm_load(vm, chunk);
    if (e.runtime_line) {
        const fsrs_error *err = fsrs_error_last();
        if (rc == FSRS_OK)
            snprintf(why, cap, "expected a runtime error on line %d, but it ran to the end",
                     e.runtime_line);
        else if (!err || err->line != e.runtime_line)
            snprintf(why, cap, "runtime error on line %d, expected line %d: %s",
                     err ? err->line : 0, e.runtime_line, err ? err->message : "?");
        else if (!contains_ci(err->message, e.runtime_text))
            snprintf(why, cap, "runtime error \"%s\" does not contain \"%s\"", err->message,
                     e.runtime_text);
        else
            ok = check_output(&out, &e, why, cap);
        goto done;
    }
    if (rc != FSRS_OK) {
        const fsrs_error *err = fsrs_error_last();
        snprintf(why, cap, "runtime error at line %d: %s", err ? err->line : 0,
                 err ? err->message : "?");
        goto done;
    }
    ok = check_output(&out, &e, why, cap);
done:
    fsrs_vm_free(vm);
    fsrs_chunk_free(chunk);
    free(out.data);
    free_expectations(&e);
    free(src);
    return ok;
}

typedef struct Paths {
    char **v;
    size_t n, cap;
} Paths;

static void collect(const char *dir, Paths *ps)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        size_t n = strlen(dir) + strlen(de->d_name) + 2;
        char *path = malloc(n);
        snprintf(path, n, "%s/%s", dir, de->d_name);
        struct stat st;
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
            collect(path, ps);
            free(path);
            continue;
        }
        size_t l = strlen(path);
        if (l > 5 && strcmp(path + l - 5, ".fsrs") == 0) {
            if (ps->n == ps->cap) {
                ps->cap = ps->cap ? ps->cap * 2 : 64;
                ps->v = realloc(ps->v, ps->cap * sizeof(char *));
            }
            ps->v[ps->n++] = path;
        } else {
            free(path);
        }
    }
    closedir(d);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: lang_driver DIR [FILTER]\n");
        return 2;
    }
    const char *filter = argc > 2 ? argv[2] : NULL;
    Paths ps = {0};
    collect(argv[1], &ps);
    qsort(ps.v, ps.n, sizeof(char *), cmp_str);
    int passed = 0, failed = 0;
    for (size_t i = 0; i < ps.n; i++) {
        if (filter && !strstr(ps.v[i], filter))
            continue;
        char why[1024] = "";
        if (run_one(ps.v[i], why, sizeof why)) {
            passed++;
        } else {
            failed++;
            printf("FAIL %s\n     %s\n", ps.v[i], why);
        }
        free(ps.v[i]);
    }
    free(ps.v);
    printf("lang: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : (passed ? 0 : 1);
}
