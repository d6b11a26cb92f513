/* Routes of the producer API and the replies every handler shares. */
#include "broker/api.h"

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

static void handle_other(struct evhttp_request *req, void *arg)
{
    rc_api_reply_error(req, 404, "no such endpoint (POST /api/push, POST /api/push/batch, GET /healthz, GET /metrics)",
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
    evhttp_set_cb(b->http, "/api/push", rc_api_push, b);
    evhttp_set_cb(b->http, "/api/push/batch", rc_api_push_batch, b);
    evhttp_set_cb(b->http, "/healthz", rc_api_healthz, b);
    evhttp_set_cb(b->http, "/metrics", rc_api_metrics, b);
    evhttp_set_gencb(b->http, handle_other, b);
}
