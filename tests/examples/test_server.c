/*
 * tests/examples/test_server.c - the example HTTP server
 * (build/examples/server/server) as a child process on an ephemeral
 * loopback port, driven over real sockets: its routes, keep-alive and
 * pipelining, hot reload of its handler (new version, broken version,
 * throwing version), malformed requests, and a clean SIGTERM shutdown.
 * Every wait has a deadline; nothing sleeps for a fixed time.
 */
#include "../cli/proc.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <criterion/criterion.h>

/* How long one step (a response, a reload) may take; generous for the
 * sanitizer builds. */
#define STEP_MS 10000

static char *dir, *handler_path, *server_path;
static char *shipped; /* examples/server/scripts/handler.fsrs */
static Child srv;
static int port;

/* ------------------------------------------------------------- helpers --- */

static void start_server(void)
{
    const char *args[] = {"--port", "0", "--threads", "2", "--scripts", dir, "--debounce", "0",
                          NULL};
    cr_assert(proc_spawn(&srv, NULL, server_path, args), "cannot start %s", server_path);
    char *line = cli_next_line(&srv, now_ms() + STEP_MS);
    cr_assert_not_null(line, "no 'listening on' line\n--- stderr:\n%s", text_str(&srv.err));
    cr_assert(sscanf(line, "listening on 127.0.0.1:%d", &port) == 1 && port > 0,
              "unexpected first line: %s", line);
    free(line);
}

static void setup(void)
{
    const char *bin = getenv("FSRS_BINARY_DIR");
    const char *src = getenv("FSRS_SOURCE_DIR");
    cr_assert(bin && src, "run the tests through ctest");
    server_path = path_in(bin, "examples/server/server");
    if (access(server_path, X_OK) != 0)
        cr_skip_test("%s is not built (FSRS_BUILD_EXAMPLES=OFF?)", server_path);
    dir = make_tmpdir();
    cr_assert_not_null(dir);
    handler_path = path_in(dir, "handler.fsrs");
    char *shipped_path = path_in(src, "examples/server/scripts/handler.fsrs");
    shipped = text_read_file(shipped_path);
    cr_assert_not_null(shipped, "cannot read %s", shipped_path);
    save_in_place(handler_path, shipped);
    free(shipped_path);
    start_server();
}

static void teardown(void)
{
    if (srv.pid > 0)
        cli_close(&srv);
    if (dir)
        remove_tree(dir);
    free(dir);
    free(handler_path);
    free(server_path);
    free(shipped);
    dir = handler_path = server_path = shipped = NULL;
}

TestSuite(server, .init = setup, .fini = teardown);

static int connect_server(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0, "connect: %s",
                 strerror(errno));
    return fd;
}

static void send_all(int fd, const char *s, size_t n)
{
    while (n) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        cr_assert(w > 0, "send: %s", strerror(errno));
        s += w;
        n -= (size_t)w;
    }
}

/* A client connection with the bytes received but not yet consumed. */
typedef struct Conn {
    int fd;
    Text in;
    size_t pos;
    bool eof;
} Conn;

static Conn conn_open(void) { return (Conn){.fd = connect_server()}; }

static void conn_close(Conn *c)
{
    close(c->fd);
    text_free(&c->in);
}

/* Receive more bytes before deadline_ms.  False at EOF or timeout. */
static bool conn_more(Conn *c, uint64_t deadline_ms)
{
    for (;;) {
        uint64_t now = now_ms();
        if (now >= deadline_ms || c->eof)
            return false;
        struct pollfd p = {.fd = c->fd, .events = POLLIN};
        int r = poll(&p, 1, (int)(deadline_ms - now));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        char buf[8192];
        ssize_t n = recv(c->fd, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            c->eof = true;
            return false;
        }
        text_append(&c->in, buf, (size_t)n);
        return true;
    }
}

typedef struct Resp {
    int status;
    char *head; /* status line and headers */
    char *body;
} Resp;

static void resp_free(Resp *r)
{
    free(r->head);
    free(r->body);
}

/* A header's value in a response head (case-insensitive name), or NULL. */
static char *resp_header(const Resp *r, const char *name)
{
    static char value[256];
    size_t n = strlen(name);
    for (const char *l = strstr(r->head, "\r\n"); l; l = strstr(l, "\r\n")) {
        l += 2;
        if (strncasecmp(l, name, n) == 0 && l[n] == ':') {
            const char *v = l + n + 1;
            while (*v == ' ')
                v++;
            const char *e = strstr(v, "\r\n");
            size_t len = e ? (size_t)(e - v) : strlen(v);
            if (len >= sizeof value)
                len = sizeof value - 1;
            memcpy(value, v, len);
            value[len] = '\0';
            return value;
        }
    }
    return NULL;
}

/* The next response on c, which must come within STEP_MS; a response to
 * HEAD has no body whatever its Content-Length says. */
static Resp conn_response_to(Conn *c, bool head)
{
    uint64_t deadline = now_ms() + STEP_MS;
    const char *end;
    while (!(end = strstr(text_str(&c->in) + c->pos, "\r\n\r\n")))
        cr_assert(conn_more(c, deadline), "no complete response head; got:\n%s",
                  text_str(&c->in) + c->pos);
    Resp r = {0};
    const char *start = text_str(&c->in) + c->pos;
    size_t head_len = (size_t)(end - start);
    r.head = strndup(start, head_len);
    cr_assert(sscanf(r.head, "HTTP/1.1 %d ", &r.status) == 1, "bad status line: %s", r.head);
    const char *cl = resp_header(&r, "Content-Length");
    cr_assert_not_null(cl, "no Content-Length in:\n%s", r.head);
    size_t body_len = head ? 0 : strtoul(cl, NULL, 10);
    size_t body_at = c->pos + head_len + 4;
    while (c->in.len < body_at + body_len)
        cr_assert(conn_more(c, deadline), "short body (want %zu bytes)", body_len);
    r.body = strndup(text_str(&c->in) + body_at, body_len);
    c->pos = body_at + body_len;
    return r;
}

static Resp conn_response(Conn *c) { return conn_response_to(c, false); }

/* The connection is closed by the server (after what was read). */
static void assert_closed(Conn *c)
{
    uint64_t deadline = now_ms() + STEP_MS;
    while (conn_more(c, deadline))
        ;
    cr_assert(c->eof, "the server kept the connection open");
    cr_assert_eq(c->in.len, c->pos, "bytes after the last response:\n%s",
                 text_str(&c->in) + c->pos);
}

static Resp request_on(Conn *c, const char *raw)
{
    send_all(c->fd, raw, strlen(raw));
    return conn_response(c);
}

/* One request on a fresh connection. */
static Resp request(const char *raw)
{
    Conn c = conn_open();
    Resp r = request_on(&c, raw);
    conn_close(&c);
    return r;
}

static Resp get(const char *target)
{
    char raw[512];
    snprintf(raw, sizeof raw, "GET %s HTTP/1.1\r\nHost: test\r\n\r\n", target);
    return request(raw);
}

static void expect_get(const char *target, int status, const char *body)
{
    Resp r = get(target);
    cr_assert_eq(r.status, status, "GET %s: status %d, wanted %d\n%s\n\n%s", target, r.status,
                 status, r.head, r.body);
    if (body)
        cr_assert_str_eq(r.body, body, "GET %s", target);
    resp_free(&r);
}

/* Poll GET target until its body is `body` (a reload became visible). */
static void wait_for_body(const char *target, const char *body)
{
    uint64_t deadline = now_ms() + STEP_MS;
    for (;;) {
        Resp r = get(target);
        bool match = strcmp(r.body, body) == 0;
        char *seen = strdup(r.body);
        resp_free(&r);
        if (match) {
            free(seen);
            return;
        }
        cr_assert(now_ms() < deadline, "GET %s never answered '%s' (last: '%s')\n--- stderr:\n%s",
                  target, body, seen, text_str(&srv.err));
        free(seen);
        sleep_ms(5);
        cli_pump(&srv, now_ms()); /* keep the server's pipes drained */
    }
}

/* Poll the server's stderr until it contains `part`. */
static void wait_for_stderr(const char *part)
{
    uint64_t deadline = now_ms() + STEP_MS;
    while (!strstr(text_str(&srv.err), part))
        cr_assert(cli_pump(&srv, deadline) || strstr(text_str(&srv.err), part),
                  "stderr never showed '%s':\n%s", part, text_str(&srv.err));
}

/* SIGTERM or SIGINT: the server must exit 0 within the deadline, after a
 * summary, with no sanitizer report. */
static void stop_server_with(int sig)
{
    cr_assert_eq(kill(srv.pid, sig), 0);
    uint64_t deadline = now_ms() + STEP_MS;
    while (cli_pump(&srv, deadline))
        ;
    cr_assert(cli_wait(&srv, deadline), "server still runs %d ms after SIGTERM", STEP_MS);
    const char *err = text_str(&srv.err);
    cr_assert_eq(cli_exit_code(&srv), 0, "exit code %d\n--- stderr:\n%s", cli_exit_code(&srv),
                 err);
    cr_assert(!strstr(err, "Sanitizer") && !strstr(err, "runtime error"),
              "sanitizer report:\n%s", err);
    cr_assert(strstr(text_str(&srv.out), "\nstopped: "), "no summary:\n%s", text_str(&srv.out));
}

static void stop_server(void) { stop_server_with(SIGTERM); }

/* The shipped handler with extra_arms put before its first route. */
static char *handler_with(const char *extra_arms)
{
    const char *anchor = "    | (\"GET\" | \"HEAD\"), \"/\" ->";
    const char *at = strstr(shipped, anchor);
    if (!at)
        cr_assert_fail("the shipped handler has no '%s' arm", anchor);
    size_t before = (size_t)(at - shipped);
    size_t n = strlen(shipped) + strlen(extra_arms) + 1;
    char *out = malloc(n);
    cr_assert_not_null(out);
    snprintf(out, n, "%.*s%s%s", (int)before, shipped, extra_arms, at);
    return out;
}

/* --------------------------------------------------------------- tests --- */

Test(server, shipped_routes, .timeout = 120)
{
    expect_get("/", 200, "hello from fsrs\n");
    expect_get("/hello?name=Ada%20L", 200, "hello, Ada L\n");
    expect_get("/hello", 200, "hello, stranger\n");
    expect_get("/missing", 404, "no route for GET /missing\n");

    Resp r = request("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Type: text/x-test\r\n"
                     "Content-Length: 11\r\n\r\nhello\r\nbody");
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(r.body, "hello\r\nbody");
    cr_assert_str_eq(resp_header(&r, "Content-Type"), "text/x-test");
    resp_free(&r);

    r = get("/stats");
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(resp_header(&r, "Content-Type"), "application/json");
    cr_assert(strstr(r.body, "\"requests\": ") && strstr(r.body, "\"workers\": 2"), "%s",
              r.body);
    resp_free(&r);

    Conn c = conn_open();
    const char *head = "HEAD / HTTP/1.1\r\nHost: t\r\n\r\n";
    send_all(c.fd, head, strlen(head));
    r = conn_response_to(&c, true);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(resp_header(&r, "Content-Length"), "16");
    cr_assert_str_eq(r.body, "");
    resp_free(&r);
    /* nothing follows the head: the next response is the next request's */
    r = request_on(&c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    cr_assert_str_eq(r.body, "hello, stranger\n");
    resp_free(&r);
    conn_close(&c);
    stop_server();
}

Test(server, keep_alive_pipelining_and_close, .timeout = 120)
{
    /* HTTP/1.1: one connection, several requests */
    Conn c = conn_open();
    for (int i = 0; i < 5; i++) {
        Resp r = request_on(&c, "GET /hello?name=k HTTP/1.1\r\nHost: t\r\n\r\n");
        cr_assert_eq(r.status, 200);
        cr_assert_str_eq(r.body, "hello, k\n");
        cr_assert_null(resp_header(&r, "Connection"), "%s", r.head);
        resp_free(&r);
    }
    /* pipelined: three requests in one write, answered in order */
    const char *three = "GET /hello?name=1 HTTP/1.1\r\nHost: t\r\n\r\n"
                        "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\ntwo"
                        "GET /hello?name=3 HTTP/1.1\r\nHost: t\r\n\r\n";
    send_all(c.fd, three, strlen(three));
    const char *bodies[] = {"hello, 1\n", "two", "hello, 3\n"};
    for (int i = 0; i < 3; i++) {
        Resp r = conn_response(&c);
        cr_assert_str_eq(r.body, bodies[i]);
        resp_free(&r);
    }
    /* Connection: close is honoured */
    Resp r = request_on(&c, "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(resp_header(&r, "Connection"), "close");
    resp_free(&r);
    assert_closed(&c);
    conn_close(&c);

    /* HTTP/1.0 closes unless it asks for keep-alive */
    c = conn_open();
    r = request_on(&c, "GET / HTTP/1.0\r\n\r\n");
    cr_assert_eq(r.status, 200);
    resp_free(&r);
    assert_closed(&c);
    conn_close(&c);

    c = conn_open();
    r = request_on(&c, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    cr_assert_str_eq(resp_header(&r, "Connection"), "keep-alive");
    resp_free(&r);
    r = request_on(&c, "GET /hello HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
    cr_assert_str_eq(r.body, "hello, stranger\n");
    resp_free(&r);
    conn_close(&c);
    stop_server();
}

Test(server, new_handler_replaces_the_old, .timeout = 120)
{
    expect_get("/", 200, "hello from fsrs\n");
    /* a connection kept open across the reload sees the new version too */
    Conn c = conn_open();
    Resp r = request_on(&c, "GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    cr_assert_str_eq(r.body, "hello from fsrs\n");
    resp_free(&r);

    char *v2 = handler_with("    | \"GET\", \"/\" -> text 200 \"version two\\n\"\n");
    save_by_rename(handler_path, v2);
    free(v2);
    wait_for_body("/", "version two\n");
    r = request_on(&c, "GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    cr_assert_str_eq(r.body, "version two\n");
    resp_free(&r);
    conn_close(&c);
    wait_for_stderr("handler.fsrs version 2");

    /* an in-place save works as well */
    v2 = handler_with("    | \"GET\", \"/\" -> text 201 \"version three\\n\"\n");
    save_in_place(handler_path, v2);
    free(v2);
    wait_for_body("/", "version three\n");
    expect_get("/", 201, "version three\n");
    stop_server();
}

Test(server, broken_handler_keeps_the_old_one, .timeout = 120)
{
    expect_get("/hello?name=a", 200, "hello, a\n");
    save_in_place(handler_path, "type Response = { Status: int; Headers: (string * string) list; "
                                "Body: string }\n"
                                "let handle req =\n"
                                "    { Status = 200; Headers = []; Body = undefinedName }\n");
    wait_for_stderr("reload failed: ");
    const char *err = text_str(&srv.err);
    cr_assert(strstr(err, "handler.fsrs:3:"), "no FILE:LINE:COL in:\n%s", err);
    cr_assert(strstr(err, "undefinedName"), "no message in:\n%s", err);
    cr_assert(strstr(err, "version 1 keeps serving"), "%s", err);
    for (int i = 0; i < 10; i++)
        expect_get("/hello?name=a", 200, "hello, a\n");
    stop_server();
}

Test(server, throwing_handler_gives_500_for_that_path_only, .timeout = 120)
{
    char *v2 = handler_with("    | \"GET\", \"/boom\" -> failwith \"boom\"\n"
                            "    | \"GET\", \"/badstatus\" -> text 42 \"\"\n"
                            "    | \"GET\", \"/badheader\" ->\n"
                            "        { Status = 200; Headers = [ (\"X-A\", \"a\\r\\nX-B: b\") ]; "
                            "Body = \"\" }\n"
                            "    | \"GET\", \"/spin\" ->\n"
                            "        let mutable i = 0\n"
                            "        while true do i <- i + 1\n"
                            "        text 200 \"never\"\n"
                            "    | \"GET\", \"/ping\" -> text 200 \"pong\\n\"\n");
    save_by_rename(handler_path, v2);
    free(v2);
    wait_for_body("/ping", "pong\n");

    for (int i = 0; i < 3; i++) {
        expect_get("/boom", 500, "handler error\n");
        expect_get("/", 200, "hello from fsrs\n");
    }
    wait_for_stderr("boom");
    const char *err = text_str(&srv.err);
    cr_assert(strstr(err, "GET /boom: handler failed: "), "%s", err);

    expect_get("/badstatus", 500, "handler returned a bad response\n");
    expect_get("/badheader", 500, "handler returned a bad response\n");
    expect_get("/spin", 500, "handler error\n");
    /* keep-alive survives a 500 */
    Conn c = conn_open();
    Resp r = request_on(&c, "GET /boom HTTP/1.1\r\nHost: t\r\n\r\n");
    cr_assert_eq(r.status, 500);
    resp_free(&r);
    r = request_on(&c, "GET /ping HTTP/1.1\r\nHost: t\r\n\r\n");
    cr_assert_str_eq(r.body, "pong\n");
    resp_free(&r);
    conn_close(&c);
    stop_server();
}

Test(server, failing_top_level_gives_500_until_fixed, .timeout = 120)
{
    expect_get("/", 200, "hello from fsrs\n");
    size_t n = strlen(shipped) + 64;
    char *bad = malloc(n);
    snprintf(bad, n, "%sfailwith \"top level\"\n", shipped);
    save_by_rename(handler_path, bad);
    free(bad);
    wait_for_body("/", "handler error\n");
    wait_for_stderr("top level");
    /* the fix is picked up by the next request */
    save_by_rename(handler_path, shipped);
    wait_for_body("/", "hello from fsrs\n");
    expect_get("/hello?name=b", 200, "hello, b\n");
    stop_server_with(SIGINT);
}

/* A refused request gets `status` and the connection is closed. */
static void expect_refused(const char *raw, size_t len, int status)
{
    Conn c = conn_open();
    send_all(c.fd, raw, len);
    Resp r = conn_response(&c);
    cr_assert_eq(r.status, status, "wanted %d for:\n%.200s\ngot:\n%s", status, raw, r.head);
    cr_assert_str_eq(resp_header(&r, "Connection"), "close");
    resp_free(&r);
    assert_closed(&c);
    conn_close(&c);
}

Test(server, malformed_requests_get_4xx_and_the_server_lives, .timeout = 120)
{
    static const struct {
        const char *raw;
        int status;
    } cases[] = {
        {"GARBAGE\r\n\r\n", 400},
        {"GET\r\n\r\n", 400},
        {"GET noslash HTTP/1.1\r\n\r\n", 400},
        {"GET / HTTP/1.1 extra\r\n\r\n", 400},
        {"GET / HTTX/1.1\r\n\r\n", 400},
        {"GET / HTTP/2.0\r\n\r\n", 505},
        {"G(T / HTTP/1.1\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nNo colon here\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", 400},
        {"POST /echo HTTP/1.1\r\nContent-Length: abc\r\n\r\n", 400},
        {"POST /echo HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400},
        {"POST /echo HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc", 400},
        {"POST /echo HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n", 413},
        {"POST /echo HTTP/1.1\r\nContent-Length: 2000000\r\n\r\n", 413},
        {"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 501},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_refused(cases[i].raw, strlen(cases[i].raw), cases[i].status);

    /* a head larger than the limit */
    Text big = {0};
    text_append(&big, "GET / HTTP/1.1\r\n", 16);
    for (int i = 0; i < 400; i++)
        text_append(&big, "X-Filler: 0123456789012345678\r\n", 31);
    text_append(&big, "\r\n", 2);
    expect_refused(big.data, big.len, 431);
    text_free(&big);
    /* too many headers */
    text_append(&big, "GET / HTTP/1.1\r\n", 16);
    for (int i = 0; i < 100; i++)
        text_append(&big, "X: y\r\n", 6);
    text_append(&big, "\r\n", 2);
    expect_refused(big.data, big.len, 431);
    text_free(&big);
    /* an endless request line */
    char line[20000];
    memset(line, 'a', sizeof line);
    memcpy(line, "GET /", 5);
    expect_refused(line, sizeof line, 431);

    /* a client that sends half a request and goes away */
    Conn c = conn_open();
    send_all(c.fd, "GET / HTT", 9);
    conn_close(&c);
    /* binary noise */
    char noise[512];
    for (size_t i = 0; i < sizeof noise; i++)
        noise[i] = (char)(i * 37 + 11);
    noise[sizeof noise - 1] = '\n';
    c = conn_open();
    send_all(c.fd, noise, sizeof noise);
    Resp r = conn_response(&c);
    cr_assert_eq(r.status, 400);
    resp_free(&r);
    conn_close(&c);

    /* a body at the limit still works */
    size_t n = 1024 * 1024;
    char *body = malloc(n);
    memset(body, 'b', n);
    char head[128];
    snprintf(head, sizeof head, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: %zu\r\n\r\n",
             n);
    c = conn_open();
    send_all(c.fd, head, strlen(head));
    send_all(c.fd, body, n);
    r = conn_response(&c);
    cr_assert_eq(r.status, 200);
    cr_assert_eq(strlen(r.body), n);
    resp_free(&r);
    conn_close(&c);
    free(body);

    expect_get("/", 200, "hello from fsrs\n");
    stop_server();
}

Test(server, bad_command_lines_are_refused, .timeout = 60)
{
    cli_close(&srv);
    const char *bad[][4] = {
        {"--port", "99999", NULL, NULL},
        {"--threads", "0", NULL, NULL},
        {"--bogus", "1", NULL, NULL},
        {"--scripts", "/nonexistent/dir", "--port", "0"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *args[5] = {bad[i][0], bad[i][1], bad[i][2], bad[i][3], NULL};
        Child c;
        cr_assert(proc_spawn(&c, NULL, server_path, args));
        uint64_t deadline = now_ms() + STEP_MS;
        while (cli_pump(&c, deadline))
            ;
        cr_assert(cli_wait(&c, deadline));
        int code = cli_exit_code(&c);
        cr_assert(code == 1 || code == 2, "%s %s: exit %d", args[0], args[1], code);
        cr_assert(strstr(text_str(&c.err), "server: "), "no message: %s", text_str(&c.err));
        cli_close(&c);
    }
}
