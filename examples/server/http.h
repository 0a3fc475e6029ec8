/*
 * examples/server/http.h - HTTP/1.1 request parsing and response framing for
 * the example server.  Pure functions over caller-owned buffers: no I/O, no
 * globals, so any thread may call them on its own data.
 */
#ifndef FSRS_EXAMPLE_SERVER_HTTP_H
#define FSRS_EXAMPLE_SERVER_HTTP_H

#include <stdbool.h>
#include <stddef.h>

/* Hard limits: a request whose head (request line and headers) is longer
 * than HTTP_MAX_HEAD bytes, or has more than HTTP_MAX_HEADERS headers, gets
 * 431; a body longer than HTTP_MAX_BODY gets 413. */
#define HTTP_MAX_HEAD 8192
#define HTTP_MAX_HEADERS 64
#define HTTP_MAX_BODY (1024 * 1024)

/* A growing byte buffer (malloc'd; len bytes used). */
typedef struct http_buf {
    char *data;
    size_t len, cap;
} http_buf;

/* Append n bytes; false when out of memory (nothing appended). */
bool http_buf_append(http_buf *b, const void *bytes, size_t n);
bool http_buf_printf(http_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void http_buf_free(http_buf *b);

typedef struct http_slice {
    const char *p;
    size_t n;
} http_slice;

typedef struct http_header {
    http_slice name;    /* as sent */
    http_slice value;   /* without surrounding spaces and tabs */
} http_header;

/* A parsed request.  Every slice points into the buffer given to
 * http_parse_request and is valid as long as that buffer is unchanged. */
typedef struct http_request {
    http_slice method;
    http_slice path;    /* the target up to '?' */
    http_slice query;   /* after '?' (empty when none) */
    int minor;          /* HTTP/1.<minor>: 0 or 1 */
    http_header headers[HTTP_MAX_HEADERS];
    size_t nheaders;
    http_slice body;    /* Content-Length bytes (empty when none) */
    bool keep_alive;    /* the connection stays open after the response */
    size_t size;        /* bytes of the buffer this request took */
} http_request;

/*
 * Parse one request at the start of buf[0..len).  Returns 1 with *req
 * filled, 0 when more bytes are needed, or an HTTP status code for a request
 * that must be refused: 400 (malformed), 413 (body too large), 431 (head too
 * large), 501 (Transfer-Encoding), 505 (HTTP version other than 1.0/1.1).
 */
int http_parse_request(const char *buf, size_t len, http_request *req);

/* The reason phrase of a status code ("Unknown" for codes it does not know). */
const char *http_reason(int status);

/* True when s is a header field name (an RFC 9110 token). */
bool http_is_token(const char *s, size_t n);
/* True when s may be a header field value (no CR, LF or NUL). */
bool http_is_field_value(const char *s, size_t n);

/* Case-insensitive comparison of a slice with a NUL-terminated string. */
bool http_slice_eq(http_slice s, const char *lit);

/*
 * Append a status line and the framing headers to out: "HTTP/1.1 STATUS
 * REASON", Content-Length: body_len, and "Connection: close" or (for an
 * HTTP/1.0 client that asked for it) "Connection: keep-alive".  The caller
 * appends its own headers and then "\r\n" and the body.  False when out of
 * memory.
 */
bool http_begin_response(http_buf *out, int status, size_t body_len, bool keep_alive, int minor);

/* A complete plain-text response (for errors the host answers itself). */
bool http_simple_response(http_buf *out, int status, const char *body, bool keep_alive,
                          int minor);

#endif
