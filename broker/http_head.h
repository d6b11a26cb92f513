/* The framing of a producer's HTTP/1.1 request, read before libevent's
 * evhttp sees it (broker/listener.c): where the head ends, what the head
 * says about the body, and where a chunked body ends. Each piece is
 * resumable and allocates nothing: the caller feeds the bytes that arrived
 * since the last call and keeps the small state between calls.
 *
 * The parser is strict where evhttp 2.1.12 would answer with its own HTML
 * page or frame the body differently from us: a request it accepts, evhttp
 * accepts and frames the same way. */
#ifndef RC_BROKER_HTTP_HEAD_H
#define RC_BROKER_HTTP_HEAD_H

#include <stddef.h>
#include <stdint.h>

#include "proto/slice.h"

/* Finds the blank line that ends a head. State: 0 before the first call. */
typedef struct rc_http_scan {
    unsigned state;
} rc_http_scan_t;

/* Scans p[0..n), the bytes after those of the previous calls. Returns the
 * number of these bytes up to and including the blank line (> 0), or 0 if
 * the head has not ended in them. */
size_t rc_http_head_end(rc_http_scan_t *s, const char *p, size_t n);

typedef struct rc_http_head {
    rc_slice_t method;
    rc_slice_t path;           /* request-target without the query */
    rc_slice_t authorization;  /* value, NULL if absent */
    int64_t content_length;    /* -1 if absent */
    int http_minor;            /* HTTP/1.x */
    unsigned chunked : 1;      /* Transfer-Encoding: chunked */
    unsigned expect_continue : 1;
    unsigned has_body : 1;     /* a body follows the head (length or chunked) */
} rc_http_head_t;

/* Parses a whole head buf[0..len) (through its blank line, as counted by
 * rc_http_head_end). Returns 0, or a negative HTTP status: -400 malformed
 * (or a body on a method evhttp reads without one), -411 a POST, PUT or
 * PATCH whose length evhttp could not tell, -417 an Expect other than
 * 100-continue, -501 a Transfer-Encoding other than chunked, -505 not
 * HTTP/1.x. Slices point into buf. */
int rc_http_head_parse(const char *buf, size_t len, rc_http_head_t *h);

/* The framing of a chunked body (RFC 9112 section 7.1, without chunk
 * extensions, which evhttp refuses). Zero it before the first call. */
typedef struct rc_http_chunked {
    unsigned state;
    unsigned digits;
    uint64_t left;   /* data bytes left in the current chunk */
    uint64_t total;  /* data bytes so far */
} rc_http_chunked_t;

/* Feeds p[0..n). Returns how many of these bytes belong to the body (all of
 * them unless it ended), with *done set once the body, its trailers and its
 * last blank line are complete; or -400 malformed, -413 more than max data
 * bytes in all. */
long rc_http_chunked_feed(rc_http_chunked_t *c, const char *p, size_t n, uint64_t max, int *done);

#endif
