/* POST /api/push and POST /api/push/batch: auth, limits, parse every event
 * (push_parse.h), check every record fits, then write them all and answer
 * with their seqs. Nothing is written unless everything is valid, and the
 * 200 goes out only after the records are in the log. */
#include "broker/api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>

#include "broker/publish.h"
#include "common/clock.h"
#include "proto/http_response.h"
#include "proto/position.h"
#include "proto/phx.h"
#include "shm/wake.h"

static enum rc_reject reject_reason(int status)
{
    switch (status) {
    case 401: return RC_REJECT_UNAUTHORIZED;
    case 403: return RC_REJECT_FORBIDDEN;
    case 405: return RC_REJECT_METHOD;
    case 413: return RC_REJECT_TOO_LARGE;
    case 422: return RC_REJECT_INVALID;
    default: return RC_REJECT_MALFORMED;
    }
}

static int is_msgpack(struct evhttp_request *req)
{
    const char *ct = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
    return ct && (strncasecmp(ct, "application/msgpack", 19) == 0 || strncasecmp(ct, "application/x-msgpack", 21) == 0);
}

static void send_built(struct evhttp_request *req)
{
    struct evbuffer *out = evhttp_request_get_output_buffer(req);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    evbuffer_add(out, "\n", 1);
    evhttp_send_reply(req, 200, rc_http_reason(200), NULL);
}

static void add_json_string(struct evbuffer *out, rc_slice_t s)
{
    char tmp[6 * 256 + 2];
    size_t off = 0;
    if (s.n <= 256 && rc_json_put_string(tmp, sizeof(tmp), &off, s) == 0)
        evbuffer_add(out, tmp, off);
}

/* PushEx's 200: the push echoed, channel as the de-duplicated list. */
static void reply_pushex(struct evhttp_request *req, const rc_push_batch_t *pb)
{
    struct evbuffer *out = evhttp_request_get_output_buffer(req);
    const rc_push_event_t *e = &pb->ev[0];
    evbuffer_add(out, "{\"channel\":[", 12);
    for (unsigned i = 0; i < e->ntopics; i++) {
        if (i)
            evbuffer_add(out, ",", 1);
        add_json_string(out, pb->topics[e->topic0 + i]);
    }
    evbuffer_add(out, "],\"data\":", 9);
    rc_slice_t d = rc_push_data(pb, e);
    evbuffer_add(out, d.p, d.n);
    evbuffer_add(out, ",\"event\":", 9);
    add_json_string(out, e->event);
    evbuffer_add(out, "}", 1);
    send_built(req);
}

/* Checks that every record fits in the log before any is written. Returns
 * 0 or the index of the event that does not (-2: the batch as a whole). */
static long check_fits(rc_broker_t *b, unsigned flags)
{
    const rc_push_batch_t *pb = &b->batch;
    uint64_t total = 0;
    for (size_t i = 0; i < pb->nev; i++) {
        const rc_push_event_t *e = &pb->ev[i];
        rc_slice_t d = rc_push_data(pb, e);
        for (unsigned t = 0; t < e->ntopics; t++) {
            rc_slice_t topic = pb->topics[e->topic0 + t];
            if (!rc_broker_publish_fits(&b->log, topic, e->event, d, flags))
                return (long)i;
            total += rc_broker_publish_bound(topic, e->event, d, flags);
        }
    }
    /* A request larger than half the ring would lap readers by itself. */
    return total > b->log.cap / 2 ? -2 : 0;
}

/* Each step of a push answers the request itself when it refuses, and
 * returns the status it answered with (0: go on). */

/* A refusal of a push's content: PushEx's one answer in its mode. */
static int refuse(struct evhttp_request *req, int pushex, int status, const char *what, long index)
{
    if (pushex) {
        rc_api_reply_error(req, 422, RC_PUSHEX_INVALID, -1);
        return 422;
    }
    rc_api_reply_error(req, status, what, index);
    return status;
}

static int check_method(struct evhttp_request *req, int pushex)
{
    if (evhttp_request_get_command(req) == EVHTTP_REQ_POST)
        return 0;
    evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "POST");
    rc_api_reply_error(req, 405, pushex ? RC_PUSHEX_INVALID : "use POST", -1);
    return 405;
}

/* The status an Authorization value (NULL if absent) is refused with, 0 if
 * accepted; *what: the error's words, *challenge: a WWW-Authenticate value
 * to send, or NULL. */
static int auth_refusal(rc_broker_t *b, const char *authz, const char **what, const char **challenge)
{
    int st = rc_auth_check(&b->auth, authz);
    *challenge = NULL;
    if (st == RC_AUTH_OK)
        return 0;
    if (b->compat_pushex) {
        *what = "Access forbidden";
        return 403;
    }
    if (st == RC_AUTH_MISSING)
        *challenge = "Bearer";
    *what = st == RC_AUTH_MISSING ? "missing API key (Authorization: Bearer <key>)" : "API key not accepted";
    return st;
}

int rc_api_check_auth(struct evhttp_request *req, rc_broker_t *b)
{
    const char *what, *challenge;
    int st = auth_refusal(b, evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization"), &what,
                          &challenge);
    if (!st)
        return 0;
    if (challenge)
        evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate", challenge);
    rc_api_reply_error(req, st, what, -1);
    return st;
}

int rc_api_push_head(rc_broker_t *b, const rc_http_head_t *h, int batch, unsigned *cookie, rc_listener_reply_t *r)
{
    int pushex = b->compat_pushex && !batch;
    *cookie = pushex ? RC_API_PUSH_PUSHEX : batch ? RC_API_PUSH_BATCH : RC_API_PUSH;
    const char *what;
    int st = 0;
    if (!rc_slice_eq(h->method, "POST")) {
        st = 405;
        what = pushex ? RC_PUSHEX_INVALID : "use POST";
        snprintf(r->headers, sizeof(r->headers), "Allow: POST\r\n");
    } else {
        /* A key longer than this is no key of ours. */
        char authz[4096];
        const char *challenge, *a = NULL;
        if (h->authorization.p) {
            size_t n = h->authorization.n < sizeof(authz) - 1 ? h->authorization.n : sizeof(authz) - 1;
            memcpy(authz, h->authorization.p, n);
            authz[n] = 0;
            a = authz;
        }
        st = auth_refusal(b, a, &what, &challenge);
        if (h->authorization.n >= sizeof(authz) - 1 && st == 0) {
            st = b->compat_pushex ? 403 : RC_AUTH_WRONG;
            what = b->compat_pushex ? "Access forbidden" : "API key not accepted";
        }
        if (challenge)
            snprintf(r->headers, sizeof(r->headers), "WWW-Authenticate: %s\r\n", challenge);
        explicit_bzero(authz, sizeof(authz));
    }
    if (!st)
        return 0;
    b->m.rejected[reject_reason(st)]++;
    r->body_len = rc_api_error_body(r->body, sizeof(r->body), what, -1);
    return st;
}

/* The body, contiguous, if it is within max_body (the listener already
 * refused longer ones: this holds without it too). */
static int read_body(struct evhttp_request *req, rc_broker_t *b, int pushex, const char **body, size_t *len)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    *len = evbuffer_get_length(in);
    if (*len > b->max_body) {
        char msg[128];
        snprintf(msg, sizeof(msg), "body is %zu bytes, more than max_body (%llu)", *len,
                 (unsigned long long)b->max_body);
        return refuse(req, pushex, 413, msg, -1);
    }
    *body = *len ? (const char *)evbuffer_pullup(in, -1) : "";
    return 0;
}

/* Every event of the body into b->batch, each checked to fit in the log. */
static int parse_all(struct evhttp_request *req, rc_broker_t *b, const char *body, size_t len, int batch)
{
    rc_push_batch_t *pb = &b->batch;
    int pushex = b->compat_pushex && !batch;
    if (rc_push_parse(pb, body, len, is_msgpack(req) ? RC_PUSH_MSGPACK : RC_PUSH_JSON, batch, &b->limits))
        return refuse(req, pushex, pb->status, pb->error, pb->index);
    long bad = check_fits(b, b->compat_pushex ? RC_PUBLISH_PUSHEX : 0);
    if (bad)
        return refuse(req, pushex, 413, bad == -2 ? "batch larger than half the log" : "event too large for the log",
                      batch && bad >= 0 ? bad : -1);
    return 0;
}

/* One position as JSON members, "epoch":"<hex>","offset":N, into buf (at
 * least 64 bytes); returns the length. */
static size_t position_members(char *buf, rc_topic_pos_t p)
{
    memcpy(buf, "\"epoch\":\"", 9);
    rc_epoch_hex(buf + 9, p.epoch);
    size_t n = 9 + RC_EPOCH_HEX;
    memcpy(buf + n, "\",\"offset\":", 11);
    n += 11;
    return n + rc_u64_dec(buf + n, p.offset);
}


/* Writes every record of b->batch (quiet commits: one wake-up for every
 * request of this loop turn, rc_api_wake_soon) and, unless the reply is
 * PushEx's, their seqs and positions into out: {"seq":N,"epoch":E,
 * "offset":M} for one topic, else {"seqs":[...],"positions":[...]} with
 * an array for an event of a batch whose topic was a list (positions
 * mirror seqs, each {"epoch":E,"offset":M}). */
static void write_all(rc_broker_t *b, struct evbuffer *out, int batch, int with_seqs)
{
    const rc_push_batch_t *pb = &b->batch;
    unsigned flags = (b->compat_pushex ? RC_PUBLISH_PUSHEX : 0) | RC_PUBLISH_QUIET;
    int single = !batch && !pb->ev[0].topic_list;
    uint64_t stamp = rc_clock_wall_ns(); /* one publish time for the request */
    struct evbuffer *pos = with_seqs && !single ? evbuffer_new() : NULL;
    if (with_seqs && !single && !pos)
        abort(); /* out of memory: nothing sensible to answer */
    rc_topic_pos_t last = {0, 0};
    if (with_seqs)
        evbuffer_add(out, single ? "{\"seq\":" : "{\"seqs\":[", single ? 7 : 9);
    if (pos)
        evbuffer_add(pos, ",\"positions\":[", 14);
    for (size_t i = 0; i < pb->nev; i++) {
        const rc_push_event_t *e = &pb->ev[i];
        rc_slice_t d = rc_push_data(pb, e);
        int list = batch && e->topic_list;
        const char *open = i ? (list ? ",[" : ",") : (list ? "[" : "");
        for (unsigned t = 0; t < e->ntopics; t++) {
            int64_t seq = rc_broker_publish(&b->log, pb->topics[e->topic0 + t], e->event, d, flags, stamp);
            /* parse_all said it fits: a failure here is our bug */
            if (seq < 0)
                abort();
            b->m.published++;
            last = rc_log_reserved_position(&b->log);
            /* one evbuffer_add per event and list: they cost more than the record */
            const char *sep = t ? "," : open;
            size_t sl = strlen(sep);
            if (with_seqs) {
                char num[32];
                memcpy(num, sep, sl);
                evbuffer_add(out, num, sl + rc_u64_dec(num + sl, (uint64_t)seq));
            }
            if (pos) {
                char buf[80];
                memcpy(buf, sep, sl);
                buf[sl] = '{';
                size_t n = sl + 1 + position_members(buf + sl + 1, last);
                buf[n++] = '}';
                evbuffer_add(pos, buf, n);
            }
        }
        if (list && with_seqs)
            evbuffer_add(out, "]", 1);
        if (list && pos)
            evbuffer_add(pos, "]", 1);
    }
    if (single && with_seqs) {
        /* {"seq":N,"epoch":"E","offset":M}: the position's members inline */
        char buf[64];
        buf[0] = ',';
        size_t n = 1 + position_members(buf + 1, last);
        buf[n++] = '}';
        evbuffer_add(out, buf, n);
        return;
    }
    if (pos) {
        evbuffer_add(out, "]", 1);
        evbuffer_add(pos, "]}", 2);
        evbuffer_add_buffer(out, pos);
        evbuffer_free(pos);
    }
}

/* Handles one push request; returns the status it answered with. Nothing
 * is written unless every step before write_all passed. */
static int push(struct evhttp_request *req, rc_broker_t *b, int batch)
{
    int pushex = b->compat_pushex && !batch;
    const char *body;
    size_t len;
    int st = check_method(req, pushex);
    if (!st)
        st = rc_api_check_auth(req, b);
    if (!st)
        st = read_body(req, b, pushex, &body, &len);
    if (!st)
        st = parse_all(req, b, body, len, batch);
    if (st)
        return st;
    write_all(b, evhttp_request_get_output_buffer(req), batch, !pushex);
    rc_api_wake_soon(b);
    if (pushex)
        reply_pushex(req, &b->batch);
    else
        send_built(req);
    return 200;
}

static void observe(rc_broker_t *b, int status, uint64_t t0)
{
    if (status != 200) {
        b->m.rejected[reject_reason(status)]++;
        return;
    }
    double s = (double)(rc_clock_mono_ns() - t0) / 1e9;
    unsigned i = 0;
    while (i < RC_LATENCY_BUCKETS && s > rc_latency_bounds[i])
        i++;
    b->m.latency[i]++;
    b->m.latency_count++;
    b->m.latency_sum += s;
    b->m.requests_ok++;
}

void rc_api_push(struct evhttp_request *req, void *arg)
{
    uint64_t t0 = rc_clock_mono_ns();
    observe(arg, push(req, arg, 0), t0);
}

void rc_api_push_batch(struct evhttp_request *req, void *arg)
{
    uint64_t t0 = rc_clock_mono_ns();
    observe(arg, push(req, arg, 1), t0);
}
