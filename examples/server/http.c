/*
 * examples/server/http.c - the HTTP/1.1 wire format of the example server:
 * parsing a request head and its Content-Length body out of a connection's
 * input buffer, and framing responses into its output buffer.
 *
 * Owns no state: every function works on the buffers it is given, so the
 * worker threads call it concurrently, each on its own connections.  The
 * parser is strict and bounded (see the limits in http.h): anything it does
 * not understand is refused with a status code, never guessed at.
 */
#include "http.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------- buffers --- */

static bool buf_reserve(http_buf *b, size_t extra)
{
    if (b->cap - b->len >= extra)
        return true;
    size_t cap = b->cap ? b->cap : 1024;
    while (cap - b->len < extra) {
        if (cap > SIZE_MAX / 2)
            return false;
        cap *= 2;
    }
    char *d = realloc(b->data, cap);
    if (!d)
        return false;
    b->data = d;
    b->cap = cap;
    return true;
}

bool http_buf_append(http_buf *b, const void *bytes, size_t n)
{
    if (n == 0)
        return true;
    if (!buf_reserve(b, n))
        return false;
    memcpy(b->data + b->len, bytes, n);
    b->len += n;
    return true;
}

bool http_buf_printf(http_buf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return false;
    if ((size_t)n < sizeof small)
        return http_buf_append(b, small, (size_t)n);
    if (!buf_reserve(b, (size_t)n + 1))
        return false;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return true;
}

void http_buf_free(http_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

/* ------------------------------------------------------- character sets --- */

static bool is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

bool http_is_token(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!is_tchar((unsigned char)s[i]))
            return false;
    return true;
}

bool http_is_field_value(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\r' || c == '\n' || c == '\0')
            return false;
    }
    return true;
}

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

bool http_slice_eq(http_slice s, const char *lit)
{
    size_t n = strlen(lit);
    if (s.n != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)s.p[i]) != lower((unsigned char)lit[i]))
            return false;
    return true;
}

static http_slice trim(const char *p, size_t n)
{
    while (n && (*p == ' ' || *p == '\t')) {
        p++;
        n--;
    }
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    return (http_slice){p, n};
}

/* ------------------------------------------------------------- parsing --- */

/* The next line of the head starting at *pos, without its "\r\n" (a bare
 * "\n" is accepted too).  0 when no complete line is there yet. */
static bool next_line(const char *buf, size_t len, size_t *pos, http_slice *line)
{
    const char *start = buf + *pos;
    const char *nl = memchr(start, '\n', len - *pos);
    if (!nl)
        return false;
    size_t n = (size_t)(nl - start);
    *pos += n + 1;
    if (n && start[n - 1] == '\r')
        n--;
    *line = (http_slice){start, n};
    return true;
}

/* request-line = method SP request-target SP HTTP-version */
static int parse_request_line(http_slice line, http_request *req)
{
    const char *p = line.p, *end = line.p + line.n;
    const char *sp1 = memchr(p, ' ', line.n);
    if (!sp1 || !http_is_token(p, (size_t)(sp1 - p)))
        return 400;
    req->method = (http_slice){p, (size_t)(sp1 - p)};
    const char *target = sp1 + 1;
    const char *sp2 = memchr(target, ' ', (size_t)(end - target));
    if (!sp2 || sp2 == target || *target != '/')
        return 400;
    for (const char *q = target; q < sp2; q++)
        if ((unsigned char)*q <= ' ' || *q == 0x7f)
            return 400;
    const char *qm = memchr(target, '?', (size_t)(sp2 - target));
    if (qm) {
        req->path = (http_slice){target, (size_t)(qm - target)};
        req->query = (http_slice){qm + 1, (size_t)(sp2 - qm - 1)};
    } else {
        req->path = (http_slice){target, (size_t)(sp2 - target)};
        req->query = (http_slice){target, 0};
    }
    const char *ver = sp2 + 1;
    size_t vn = (size_t)(end - ver);
    if (vn != 8 || memcmp(ver, "HTTP/", 5) != 0 || ver[6] != '.' || ver[5] < '0' ||
        ver[5] > '9' || ver[7] < '0' || ver[7] > '9')
        return 400;
    if (ver[5] != '1' || (ver[7] != '0' && ver[7] != '1'))
        return 505;
    req->minor = ver[7] - '0';
    return 0;
}

/* Does a comma-separated Connection value name `opt`? */
static bool connection_has(http_slice v, const char *opt)
{
    const char *p = v.p, *end = v.p + v.n;
    while (p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *stop = comma ? comma : end;
        if (http_slice_eq(trim(p, (size_t)(stop - p)), opt))
            return true;
        p = comma ? comma + 1 : end;
    }
    return false;
}

int http_parse_request(const char *buf, size_t len, http_request *req)
{
    memset(req, 0, sizeof *req);
    size_t pos = 0;
    http_slice line;

    /* RFC 9112 2.2: a server should ignore empty lines before a request */
    while (pos < len && (buf[pos] == '\r' || buf[pos] == '\n'))
        if (pos++ > 16)
            return 400;
    size_t head_start = pos;
    if (!next_line(buf, len, &pos, &line))
        return len - head_start > HTTP_MAX_HEAD ? 431 : 0;
    int rc = parse_request_line(line, req);
    if (rc)
        return rc;

    bool have_length = false, close = false, keep = false;
    size_t content_length = 0;
    for (;;) {
        if (!next_line(buf, len, &pos, &line))
            return len - head_start > HTTP_MAX_HEAD ? 431 : 0;
        if (pos - head_start > HTTP_MAX_HEAD)
            return 431;
        if (line.n == 0)
            break;
        /* obsolete line folding is refused (RFC 9112 5.2) */
        if (line.p[0] == ' ' || line.p[0] == '\t')
            return 400;
        const char *colon = memchr(line.p, ':', line.n);
        if (!colon || !http_is_token(line.p, (size_t)(colon - line.p)))
            return 400;
        if (req->nheaders == HTTP_MAX_HEADERS)
            return 431;
        http_header *h = &req->headers[req->nheaders++];
        h->name = (http_slice){line.p, (size_t)(colon - line.p)};
        h->value = trim(colon + 1, (size_t)(line.p + line.n - colon - 1));
        if (!http_is_field_value(h->value.p, h->value.n))
            return 400;
        if (http_slice_eq(h->name, "content-length")) {
            if (h->value.n == 0 || h->value.n > 12)
                return h->value.n > 12 ? 413 : 400;
            size_t v = 0;
            for (size_t i = 0; i < h->value.n; i++) {
                char c = h->value.p[i];
                if (c < '0' || c > '9')
                    return 400;
                v = v * 10 + (size_t)(c - '0');
            }
            /* repeated Content-Length headers must agree (RFC 9112 6.3) */
            if (have_length && v != content_length)
                return 400;
            have_length = true;
            content_length = v;
        } else if (http_slice_eq(h->name, "transfer-encoding")) {
            return 501;
        } else if (http_slice_eq(h->name, "connection")) {
            close |= connection_has(h->value, "close");
            keep |= connection_has(h->value, "keep-alive");
        }
    }
    if (content_length > HTTP_MAX_BODY)
        return 413;
    if (len - pos < content_length)
        return 0;
    req->body = (http_slice){buf + pos, content_length};
    req->size = pos + content_length;
    req->keep_alive = req->minor == 1 ? !close : (keep && !close);
    return 1;
}

/* ----------------------------------------------------------- responses --- */

const char *http_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 418: return "I'm a teapot";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}

bool http_begin_response(http_buf *out, int status, size_t body_len, bool keep_alive, int minor)
{
    const char *conn = !keep_alive ? "Connection: close\r\n"
                       : minor == 0 ? "Connection: keep-alive\r\n"
                                    : "";
    return http_buf_printf(out, "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\n%s", status,
                           http_reason(status), body_len, conn);
}

bool http_simple_response(http_buf *out, int status, const char *body, bool keep_alive,
                          int minor)
{
    size_t n = strlen(body);
    return http_begin_response(out, status, n, keep_alive, minor) &&
           http_buf_printf(out, "Content-Type: text/plain; charset=utf-8\r\n\r\n") &&
           http_buf_append(out, body, n);
}
