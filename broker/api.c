/* Routes of the producer API and the replies every handler shares. */
#include "broker/api.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <jansson.h>

#include "proto/http_response.h"
#include "shm/wake.h"

void rc_api_reply_json(struct evhttp_request *req, int status, const char *body, size_t len)
{
    struct evbuffer *out = evhttp_request_get_output_buffer(req);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    evbuffer_add(out, body, len);
    evbuffer_add(out, "\n", 1);
    evhttp_send_reply(req, status, rc_http_reason(status), NULL);
}

void rc_api_reply_error(struct evhttp_request *req, int status, const char *what, long index)
{
    json_t *o = index >= 0 ? json_pack("{s:s,s:I}", "error", what, "index", (json_int_t)index)
                           : json_pack("{s:s}", "error", what);
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    if (s)
        rc_api_reply_json(req, status, s, strlen(s));
    else /* `what` was not UTF-8: our bug, but still answer */
        rc_api_reply_json(req, status, "{\"error\":\"internal error\"}", 26);
    free(s);
    json_decref(o);
}

size_t rc_api_error_body(char *out, size_t cap, const char *what, long index)
{
    json_t *o = index >= 0 ? json_pack("{s:s,s:I}", "error", what, "index", (json_int_t)index)
                           : json_pack("{s:s}", "error", what);
    size_t n = o ? json_dumpb(o, out, cap, JSON_COMPACT) : 0;
    json_decref(o);
    if (n == 0 || n > cap) { /* not UTF-8 or too long: our bug, but still answer */
        n = (size_t)snprintf(out, cap, "{\"error\":\"internal error\"}");
    }
    return n;
}

/* The path evhttp routes on: percent-decoded (evhttp_decode_uri_internal),
 * so /api/%70ush is /api/push here too. */
static int path_is(rc_slice_t p, const char *want)
{
    size_t i = 0, k = 0, n = strlen(want);
    while (i < p.n) {
        int c = (unsigned char)p.p[i];
        if (c == '%' && i + 2 < p.n && isxdigit((unsigned char)p.p[i + 1]) && isxdigit((unsigned char)p.p[i + 2])) {
            char hex[3] = {p.p[i + 1], p.p[i + 2], 0};
            c = (int)strtol(hex, NULL, 16);
            i += 3;
        } else {
            i++;
        }
        if (k == n || c != (unsigned char)want[k])
            return 0;
        k++;
    }
    return k == n;
}

static int listener_head(void *arg, const rc_http_head_t *h, unsigned *cookie, rc_listener_reply_t *r)
{
    if (path_is(h->path, "/api/push"))
        return rc_api_push_head(arg, h, 0, cookie, r);
    if (path_is(h->path, "/api/push/batch"))
        return rc_api_push_head(arg, h, 1, cookie, r);
    return 0;
}

static void listener_refuse(void *arg, unsigned cookie, const char *what, rc_listener_reply_t *r)
{
    rc_broker_t *b = arg;
    int st = r->status;
    /* A push refused for what it holds (not for time, size of head, or a
     * full listener) counts as a rejected push, and in PushEx mode gets
     * PushEx's answer to any invalid push. */
    if (cookie != RC_API_OTHER && st != 408 && st != 431 && st != 503) {
        if (cookie == RC_API_PUSH_PUSHEX) {
            r->status = 422;
            what = RC_PUSHEX_INVALID;
        }
        b->m.rejected[r->status == 413 ? RC_REJECT_TOO_LARGE : r->status == 422 ? RC_REJECT_INVALID
                                                                               : RC_REJECT_MALFORMED]++;
    }
    r->body_len = rc_api_error_body(r->body, sizeof(r->body), what, -1);
}

const rc_listener_ops_t rc_api_listener_ops = {.head = listener_head, .refuse = listener_refuse};

static void handle_other(struct evhttp_request *req, void *arg)
{
    rc_api_reply_error(req, 404, "no such endpoint (POST /api/push, POST /api/push/batch, GET /api/history, POST /api/disconnect, GET /healthz, GET /metrics)",
                       -1);
}

/* Queued at the end of the loop's active list, so it runs after every
 * connection that was ready in the same turn. Static storage: there is one
 * broker per process and nothing to free at exit. */
static struct event wake_ev;

static void wake_now(evutil_socket_t fd, short what, void *arg)
{
    rc_broker_t *b = arg;
    b->wake_pending = 0;
    rc_wake_readers(&b->log);
}

void rc_api_wake_soon(rc_broker_t *b)
{
    if (b->wake_pending)
        return;
    b->wake_pending = 1;
    event_active(&wake_ev, EV_TIMEOUT, 1);
}

void rc_broker_api_register(rc_broker_t *b)
{
    event_assign(&wake_ev, b->base, -1, 0, wake_now, b);
    /* Every method reaches a handler, unknown ones too (evhttp's
     * EVHTTP_REQ_UNKNOWN_ is bit 15): a push answers 405 with Allow in
     * JSON, not evhttp's HTML 501. */
    evhttp_set_allowed_methods(b->http, 0xFFFF);
    b->listener.ops = &rc_api_listener_ops;
    b->listener.arg = b;
    rc_listener_attach(&b->listener, b->http);
    evhttp_set_cb(b->http, "/api/push", rc_api_push, b);
    evhttp_set_cb(b->http, "/api/push/batch", rc_api_push_batch, b);
    evhttp_set_cb(b->http, "/healthz", rc_api_healthz, b);
    evhttp_set_cb(b->http, "/metrics", rc_api_metrics, b);
    evhttp_set_cb(b->http, "/api/history", rc_api_history, b);
    evhttp_set_cb(b->http, "/api/disconnect", rc_api_disconnect, b);
    evhttp_set_gencb(b->http, handle_other, b);
}
