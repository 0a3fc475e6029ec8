/*
 * tests/cli/proc.h - running the real `fsrs` binary (FSRS_CLI), or another
 * program of the build (proc_spawn), as a child process: stdout and stderr
 * on separate pipes, read with poll against a deadline, either to
 * completion (cli_run) or line by line while the child keeps running
 * (cli_spawn, cli_next_line).
 */
#ifndef FSRS_TESTS_CLI_PROC_H
#define FSRS_TESTS_CLI_PROC_H

#include "../reload/helpers.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/wait.h>

/* A growing, always NUL-terminated byte buffer. */
typedef struct Text {
    char *data;
    size_t len, cap;
} Text;

static inline void text_append(Text *t, const char *s, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 256;
        while (t->len + n + 1 > cap)
            cap *= 2;
        char *d = realloc(t->data, cap);
        if (!d)
            abort();
        t->data = d;
        t->cap = cap;
    }
    memcpy(t->data + t->len, s, n);
    t->len += n;
    t->data[t->len] = '\0';
}

/* The text, "" if nothing was appended. */
static inline const char *text_str(const Text *t) { return t->data ? t->data : ""; }

/* A whole file, malloc'd ("" if empty); NULL if it cannot be opened. */
static inline char *text_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    Text t = {0};
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        text_append(&t, buf, n);
    fclose(f);
    return t.data ? t.data : strdup("");
}

static inline void text_free(Text *t)
{
    free(t->data);
    t->data = NULL;
    t->len = t->cap = 0;
}

/* A running child with its stdout and stderr pipes (fd -1 once at EOF). */
typedef struct Child {
    pid_t pid;
    int out_fd, err_fd;
    Text out, err;      /* bytes read so far */
    size_t out_pos;     /* cli_next_line: start of the next unread stdout line */
    size_t err_pos;     /* cli_next_err_line: same for stderr */
    bool reaped;
    int status;         /* waitpid status once reaped */
} Child;

static inline const char *cli_path(void)
{
    const char *p = getenv("FSRS_CLI");
    if (!p || !*p) {
        fprintf(stderr, "FSRS_CLI is not set: run the tests through ctest\n");
        abort();
    }
    return p;
}

/*
 * Start `PROGRAM ARGS...` (args[] NULL-terminated, without the program name)
 * in directory cwd (NULL: the current one), stdin from /dev/null.  False if
 * the child could not be started.
 */
static inline bool proc_spawn(Child *c, const char *cwd, const char *program,
                              const char *const *args)
{
    memset(c, 0, sizeof *c);
    c->out_fd = c->err_fd = -1;
    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) != 0)
        return false;
    if (pipe2(err, O_CLOEXEC) != 0) {
        close(out[0]);
        close(out[1]);
        return false;
    }
    size_t n = 0;
    while (args[n])
        n++;
    const char **argv = calloc(n + 2, sizeof *argv);
    if (!argv)
        abort();
    argv[0] = program;
    for (size_t i = 0; i < n; i++)
        argv[i + 1] = args[i];
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        free(argv);
        close(out[0]);
        close(out[1]);
        close(err[0]);
        close(err[1]);
        return false;
    }
    if (pid == 0) {
        int in = open("/dev/null", O_RDONLY);
        if (in < 0 || dup2(in, 0) < 0 || dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0)
            _exit(126);
        if (cwd && chdir(cwd) != 0)
            _exit(126);
        /* the default disposition, whatever the test runner set */
        signal(SIGINT, SIG_DFL);
        signal(SIGPIPE, SIG_DFL);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    free(argv);
    close(out[1]);
    close(err[1]);
    c->pid = pid;
    c->out_fd = out[0];
    c->err_fd = err[0];
    return true;
}

/* Start `fsrs ARGS...` as proc_spawn does. */
static inline bool cli_spawn(Child *c, const char *cwd, const char *const *args)
{
    return proc_spawn(c, cwd, cli_path(), args);
}

/*
 * Wait for output until deadline_ms (now_ms() clock) and read what is
 * available on both pipes.  Returns false if nothing more can come (both
 * pipes at EOF) or the deadline passed without any input.
 */
static inline bool cli_pump(Child *c, uint64_t deadline_ms)
{
    for (;;) {
        struct pollfd fds[2];
        int n = 0, io = -1, ie = -1;
        if (c->out_fd >= 0) {
            io = n;
            fds[n++] = (struct pollfd){.fd = c->out_fd, .events = POLLIN};
        }
        if (c->err_fd >= 0) {
            ie = n;
            fds[n++] = (struct pollfd){.fd = c->err_fd, .events = POLLIN};
        }
        if (n == 0)
            return false;
        uint64_t now = now_ms();
        if (now >= deadline_ms)
            return false;
        uint64_t left = deadline_ms - now;
        int r = poll(fds, (nfds_t)n, left > 50 ? 50 : (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            abort();
        if (r == 0)
            continue;
        int *fdp[2] = {&c->out_fd, &c->err_fd};
        Text *into[2] = {&c->out, &c->err};
        int idx[2] = {io, ie};
        for (int k = 0; k < 2; k++) {
            if (idx[k] < 0 || !(fds[idx[k]].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            char buf[4096];
            ssize_t got = read(*fdp[k], buf, sizeof buf);
            if (got > 0) {
                text_append(into[k], buf, (size_t)got);
            } else if (got == 0 || errno != EINTR) {
                close(*fdp[k]);
                *fdp[k] = -1;
            }
        }
        return true;
    }
}

/* Reap the child, waiting until deadline_ms.  False if it is still running
 * then. */
static inline bool cli_wait(Child *c, uint64_t deadline_ms)
{
    while (!c->reaped) {
        pid_t r = waitpid(c->pid, &c->status, WNOHANG);
        if (r == c->pid) {
            c->reaped = true;
            break;
        }
        if (r < 0 && errno != EINTR)
            abort();
        if (now_ms() >= deadline_ms)
            return false;
        sleep_ms(1);
    }
    return true;
}

/* Kill the child if it still runs, reap it and close the pipes. */
static inline void cli_close(Child *c)
{
    if (!c->reaped) {
        kill(c->pid, SIGKILL);
        waitpid(c->pid, &c->status, 0);
        c->reaped = true;
    }
    if (c->out_fd >= 0)
        close(c->out_fd);
    if (c->err_fd >= 0)
        close(c->err_fd);
    c->out_fd = c->err_fd = -1;
    text_free(&c->out);
    text_free(&c->err);
}

/* The exit code of a reaped child; 128 + N if signal N ended it. */
static inline int cli_exit_code(const Child *c)
{
    if (WIFEXITED(c->status))
        return WEXITSTATUS(c->status);
    if (WIFSIGNALED(c->status))
        return 128 + WTERMSIG(c->status);
    return -1;
}

/* Next complete line of a stream (without its '\n', malloc'd), or NULL if
 * none came before deadline_ms or the stream ended. */
static inline char *cli_line_from(Child *c, Text *t, size_t *pos, uint64_t deadline_ms)
{
    for (;;) {
        const char *start = text_str(t) + *pos;
        const char *nl = strchr(start, '\n');
        if (nl) {
            size_t n = (size_t)(nl - start);
            char *line = malloc(n + 1);
            if (!line)
                abort();
            memcpy(line, start, n);
            line[n] = '\0';
            *pos += n + 1;
            return line;
        }
        if (!cli_pump(c, deadline_ms))
            return NULL;
    }
}

static inline char *cli_next_line(Child *c, uint64_t deadline_ms)
{
    return cli_line_from(c, &c->out, &c->out_pos, deadline_ms);
}

static inline char *cli_next_err_line(Child *c, uint64_t deadline_ms)
{
    return cli_line_from(c, &c->err, &c->err_pos, deadline_ms);
}

/* What a finished run left behind. */
typedef struct Run {
    int code;           /* exit code (128 + N for signal N); -1 on timeout */
    char *out, *err;    /* everything written to stdout and stderr */
} Run;

static inline void run_free(Run *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

/*
 * Run `fsrs ARG...` (NULL-terminated) in cwd to completion, within
 * timeout_ms (then it is killed and code is -1).
 */
static inline Run cli_run_argv(const char *cwd, unsigned timeout_ms, const char *const *args)
{
    Run r = {-1, NULL, NULL};
    Child c;
    if (!cli_spawn(&c, cwd, args)) {
        r.out = strdup("");
        r.err = strdup("cannot start the fsrs binary");
        return r;
    }
    uint64_t deadline = now_ms() + timeout_ms;
    while (cli_pump(&c, deadline))
        ;
    if (cli_wait(&c, deadline))
        r.code = cli_exit_code(&c);
    r.out = strdup(text_str(&c.out));
    r.err = strdup(text_str(&c.err));
    cli_close(&c);
    return r;
}

#define CLI_MAX_ARGS 16

/* cli_run(cwd, "run", "main.fsrs", NULL) with a 20 s deadline. */
static inline Run cli_run(const char *cwd, ...)
{
    const char *args[CLI_MAX_ARGS + 1];
    size_t n = 0;
    va_list ap;
    va_start(ap, cwd);
    const char *a;
    while ((a = va_arg(ap, const char *)) && n < CLI_MAX_ARGS)
        args[n++] = a;
    va_end(ap);
    args[n] = NULL;
    return cli_run_argv(cwd, 20000, args);
}

#endif
