/* The broker's HTTP API on libevent's evhttp: producers publish, operators
 * and load balancers ask for health and metrics. All handlers run on the
 * broker's single event loop thread. */
#ifndef RC_BROKER_API_H
#define RC_BROKER_API_H

#include <event2/http.h>

#include "broker/auth.h"
#include "broker/listener.h"
#include "broker/push_parse.h"
#include "broker/upstream.h"
#include "shm/log.h"

/* Reasons a push is refused: the label of ringcast_publish_rejected_total. */
enum rc_reject {
    RC_REJECT_MALFORMED,     /* 400 */
    RC_REJECT_UNAUTHORIZED,  /* 401 */
    RC_REJECT_FORBIDDEN,     /* 403 */
    RC_REJECT_METHOD,        /* 405 */
    RC_REJECT_TOO_LARGE,     /* 413 */
    RC_REJECT_INVALID,       /* 422 */
    RC_REJECT_N
};

/* Upper bounds of the publish latency histogram, in seconds (+Inf last). */
#define RC_LATENCY_BUCKETS 12

typedef struct rc_broker_metrics {
    uint64_t published;           /* records written to the log */
    uint64_t requests_ok;         /* push requests answered 200 */
    uint64_t rejected[RC_REJECT_N];
    uint64_t latency[RC_LATENCY_BUCKETS + 1]; /* per bucket, not cumulative */
    uint64_t latency_count;
    double latency_sum;
    uint64_t disconnects;         /* POST /api/disconnect answered 200 */
} rc_broker_metrics_t;

typedef struct rc_broker {
    rc_log_t log;
    struct event_base *base;
    struct evhttp *http;
    uint64_t max_body;
    rc_push_limits_t limits;
    int compat_pushex;      /* --compat pushex */
    rc_auth_t auth;
    rc_push_batch_t batch;  /* reused by every push request */
    rc_broker_metrics_t m;
    int wake_pending;       /* rc_api_wake_soon queued its event */
    rc_upstream_metrics_t up; /* broker/upstream.c */
    rc_listener_t listener;   /* limits of the producer listener */
    uint64_t history_max_bytes; /* GET /api/history page cap */
    uint64_t revoke_ttl_s;    /* how long a kick revokes tokens (broker/api_disconnect.c) */
    char *page;               /* its page, grown to the largest (broker/api_history.c) */
    size_t page_cap;
} rc_broker_t;

/* Wakes the edges sleeping on the log once the event loop has answered
 * every request that is ready now: under load one futex wake covers many
 * pushes; when idle it runs right after the one request. */
void rc_api_wake_soon(rc_broker_t *b);

/* Registers /api/push, /api/push/batch, /healthz and /metrics on b->http,
 * and puts b->listener (its lim already set) in front of its connections. */
void rc_broker_api_register(rc_broker_t *b);

/* Sends status with body (a JSON text, a newline is added). */
void rc_api_reply_json(struct evhttp_request *req, int status, const char *body, size_t len);

/* Sends {"error": what} (and "index" when index >= 0). */
void rc_api_reply_error(struct evhttp_request *req, int status, const char *what, long index);

/* The listener's callbacks (api.c): rc_api_push_head for the push paths,
 * and the wording of the listener's own refusals. arg: the rc_broker_t. */
extern const rc_listener_ops_t rc_api_listener_ops;

/* What the listener keeps of a request between its head and its refusal
 * (the cookie of listener.h). */
enum { RC_API_OTHER, RC_API_PUSH, RC_API_PUSH_BATCH, RC_API_PUSH_PUSHEX };

/* PushEx's answer to any invalid push (422), in --compat pushex. */
#define RC_PUSHEX_INVALID "Invalid push arguments: channel, data, event are required."


/* The head of POST /api/push or /api/push/batch, before its body is read
 * (api_push.c): the method (405 with Allow: POST) and the API key (401,
 * 403) are checked here, so a refused producer's body is never read.
 * batch: the path is /api/push/batch.
 * Returns 0 (and *cookie) or the status it filled *r with. */
int rc_api_push_head(rc_broker_t *b, const rc_http_head_t *h, int batch, unsigned *cookie,
                     rc_listener_reply_t *r);

/* Writes {"error": what} (and "index" when index >= 0) into out[0..cap);
 * returns its length (without a NUL). */
size_t rc_api_error_body(char *out, size_t cap, const char *what, long index);

/* Handlers (api_push.c, api_health.c, api_metrics.c). */
void rc_api_push(struct evhttp_request *req, void *b);
void rc_api_push_batch(struct evhttp_request *req, void *b);
void rc_api_healthz(struct evhttp_request *req, void *b);
void rc_api_metrics(struct evhttp_request *req, void *b);
void rc_api_history(struct evhttp_request *req, void *b);
void rc_api_disconnect(struct evhttp_request *req, void *b);

/* Checks the request's API key (when keys are set): 0, or the status it
 * was refused with (the reply is sent). */
int rc_api_check_auth(struct evhttp_request *req, rc_broker_t *b);

/* Upper bounds of the latency buckets (api_metrics.c). */
extern const double rc_latency_bounds[RC_LATENCY_BUCKETS];

#endif
