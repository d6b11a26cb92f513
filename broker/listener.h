/* The producer listener's limits, in front of libevent's evhttp (2.1.12 has
 * no connection cap, one idle read/write timeout and no hook before a
 * server request is read in full). Every connection evhttp accepts gets a
 * filtering bufferevent (evhttp_set_bevcb) through which the listener
 * reads each request before evhttp does:
 *
 *   - past max_connections open connections, a new one gets 503 and is
 *     closed;
 *   - a head (request line and headers) must end within max_header bytes
 *     (431), parse strictly (400, 411, 417, 501, 505), and is shown to
 *     ops->head before a byte of its body is read, so a request can be
 *     refused (a wrong API key, a body over max_body) without reading it;
 *   - the whole request, head and body, must arrive within read_timeout_ms
 *     of its first byte (of accept for the first request): else 408. The
 *     clock stops at the request's last byte: a request waiting for its
 *     reply (a push waiting on an upstream) is never cut by it;
 *   - a connection with no request under way is closed after
 *     idle_timeout_ms, and so is one whose client does not read its reply.
 *
 * evhttp only ever sees one whole, well-framed request at a time; bytes of
 * the next one wait until the reply to this one has gone out. The
 * listener's own refusals are written past evhttp, with Connection: close,
 * then the write side is shut and input is read and dropped until the
 * client closes or a short grace ends (no reset eats the answer).
 *
 * Replies evhttp makes are written straight to the socket by the filter,
 * so "sent" means "in the kernel" and evhttp's close after a Connection:
 * close reply loses nothing.
 *
 * Everything runs on the loop thread of the evhttp's base. */
#ifndef RC_BROKER_LISTENER_H
#define RC_BROKER_LISTENER_H

#include <stddef.h>
#include <stdint.h>

#include <event2/http.h>

#include "broker/http_head.h"

typedef struct rc_listener_limits {
    uint64_t max_connections; /* 0: no limit */
    uint64_t max_header;      /* bytes of request line and headers */
    uint64_t max_body;        /* bytes of a body (chunked: of its data) */
    uint64_t read_timeout_ms;
    uint64_t idle_timeout_ms;
} rc_listener_limits_t;

/* A refusal the listener sends itself; the connection is closed after it. */
typedef struct rc_listener_reply {
    int status;
    char headers[160]; /* extra "Name: value\r\n" lines, NUL-terminated */
    char body[400];    /* application/json, a newline is added */
    size_t body_len;
} rc_listener_reply_t;

typedef struct rc_listener_ops {
    /* The head of a request, before any of its body is read. Returns 0 to
     * let it through (evhttp reads it and calls its handler), setting
     * *cookie for refuse() if it likes; or a status with *r filled: the
     * listener sends that and closes. */
    int (*head)(void *arg, const rc_http_head_t *h, unsigned *cookie, rc_listener_reply_t *r);
    /* Fills *r (status already set, headers maybe begun) for one of the
     * listener's own refusals: 400, 408, 411, 413, 417, 431, 501, 503, 505.
     * cookie: what head() set for this request, 0 if its head was not
     * read. `what` says what is wrong, in words for the error body. */
    void (*refuse)(void *arg, unsigned cookie, const char *what, rc_listener_reply_t *r);
} rc_listener_ops_t;

/* Labels of ringcast_producer_refused_total. */
enum rc_listener_refusal {
    RC_LREF_MAX_CONNECTIONS, /* 503 at accept */
    RC_LREF_HEADER,          /* 431 */
    RC_LREF_READ_TIMEOUT,    /* 408, or a close when nothing came */
    RC_LREF_MALFORMED,       /* 400, 411, 417, 501, 505 */
    RC_LREF_BODY,            /* 413 */
    RC_LREF_N
};
extern const char *const rc_listener_refusal_names[RC_LREF_N];

typedef struct rc_listener {
    rc_listener_limits_t lim;
    const rc_listener_ops_t *ops;
    void *arg;
    uint64_t open;                /* connections counted against the cap */
    uint64_t refused[RC_LREF_N];  /* per reason, since start */
} rc_listener_t;

/* Puts l in front of every connection http accepts from now on. l, ops and
 * arg must outlive http. Sets http's own header and body limits to l's. */
void rc_listener_attach(rc_listener_t *l, struct evhttp *http);

#endif
