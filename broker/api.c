#include "broker/api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "broker/publish.h"
#include "common/log.h"
#include "proto/limits.h"
#include "shm/slots.h"

#define MAX_TOPICS_PER_PUSH 100

static void reply_json(struct evhttp_request *req, int status, const char *body)
{
    struct evbuffer *out = evhttp_request_get_output_buffer(req);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    evbuffer_add(out, body, strlen(body));
    evbuffer_add(out, "\n", 1);
    const char *reason = status == 200 ? "OK" : status == 400 ? "Bad Request" : status == 404 ? "Not Found"
                       : status == 405 ? "Method Not Allowed" : status == 413 ? "Payload Too Large"
                       : status == 503 ? "Service Unavailable" : "Error";
    evhttp_send_reply(req, status, reason, NULL);
}

static void reply_error(rc_broker_t *b, struct evhttp_request *req, int status, const char *what)
{
    json_t *o = json_pack("{s:s}", "error", what);
    char *s = json_dumps(o, JSON_COMPACT);
    reply_json(req, status, s);
    free(s);
    json_decref(o);
    b->pushes_rejected++;
}

/* A topic is a non-empty string of at most RC_TOPIC_MAX bytes (jansson has
 * already checked it is UTF-8). */
static const char *check_name(json_t *v, size_t max, const char *what_missing, const char *what_long)
{
    if (!json_is_string(v) || json_string_length(v) == 0)
        return what_missing;
    if (json_string_length(v) > max)
        return what_long;
    return NULL;
}

static void handle_push(struct evhttp_request *req, void *arg)
{
    rc_broker_t *b = arg;
    if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
        reply_error(b, req, 405, "use POST");
        return;
    }
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    if (len > b->max_body) {
        reply_error(b, req, 413, "body too large");
        return;
    }
    const char *body = (const char *)evbuffer_pullup(in, -1);
    json_error_t jerr;
    json_t *root = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &jerr);
    char msg[256];
    if (!root) {
        snprintf(msg, sizeof(msg), "invalid JSON: %s (line %d, column %d)", jerr.text, jerr.line, jerr.column);
        reply_error(b, req, 400, msg);
        return;
    }
    const char *problem = NULL;
    json_t *topic = NULL, *event = NULL, *data = NULL;
    if (!json_is_object(root)) {
        problem = "body must be a JSON object with topic, event and data";
    } else {
        topic = json_object_get(root, "topic");
        if (!topic)
            topic = json_object_get(root, "channel");
        event = json_object_get(root, "event");
        data = json_object_get(root, "data");
        if (!topic)
            problem = "topic (or channel) is required";
        else if (json_is_array(topic)) {
            size_t i, n = json_array_size(topic);
            json_t *t;
            if (n == 0 || n > MAX_TOPICS_PER_PUSH)
                problem = "topic array must hold 1..100 topics";
            json_array_foreach(topic, i, t) {
                if (!problem)
                    problem = check_name(t, RC_TOPIC_MAX, "each topic must be a non-empty string",
                                         "topic longer than 255 bytes");
            }
        } else {
            problem = check_name(topic, RC_TOPIC_MAX, "topic must be a non-empty string or an array of them",
                                 "topic longer than 255 bytes");
        }
        if (!problem)
            problem = check_name(event, RC_EVENT_MAX, "event must be a non-empty string",
                                 "event longer than 255 bytes");
        if (!problem && !data)
            problem = "data is required (any JSON value)";
    }
    if (problem) {
        reply_error(b, req, 400, problem);
        json_decref(root);
        return;
    }
    char *data_json = json_dumps(data, JSON_COMPACT | JSON_ENCODE_ANY);
    rc_slice_t ev = {json_string_value(event), json_string_length(event)};
    rc_slice_t dj = rc_slice_cstr(data_json);
    json_t *seqs = json_array();
    size_t ntopics = json_is_array(topic) ? json_array_size(topic) : 1;
    int64_t seq = 0;
    for (size_t i = 0; i < ntopics; i++) {
        json_t *t = json_is_array(topic) ? json_array_get(topic, i) : topic;
        /* one record per distinct topic */
        int dup = 0;
        for (size_t j = 0; j < i && !dup; j++)
            dup = json_equal(t, json_array_get(topic, j));
        if (dup)
            continue;
        seq = rc_broker_publish(&b->log, rc_slice(json_string_value(t), json_string_length(t)), ev, dj);
        if (seq < 0)
            break;
        json_array_append_new(seqs, json_integer(seq));
    }
    free(data_json);
    if (seq < 0) {
        /* Only a first topic can fail (all records have the same size). */
        reply_error(b, req, 413, "event too large for the log");
    } else {
        json_t *o = json_is_array(topic) ? json_pack("{s:O}", "seqs", seqs) : json_pack("{s:I}", "seq", (json_int_t)seq);
        char *s = json_dumps(o, JSON_COMPACT);
        reply_json(req, 200, s);
        free(s);
        json_decref(o);
        b->pushes_ok++;
    }
    json_decref(seqs);
    json_decref(root);
}

static void handle_healthz(struct evhttp_request *req, void *arg)
{
    rc_broker_t *b = arg;
    rc_shm_header_t *h = b->log.hdr;
    uint64_t next = rc_log_next_seq(&b->log);
    json_t *edges = json_array();
    int dead = 0;
    for (unsigned i = 0; i < RC_SHM_NSLOTS; i++) {
        rc_shm_slot_t *s = &b->log.slots[i];
        int st = rc_slot_state(s);
        if (st == 0)
            continue;
        if (st < 0) {
            dead++;
            continue;
        }
        uint64_t cur = RC_SLOT_GET(s, cursor_seq);
        uint64_t lag = cur && cur < next ? next - cur : 0;
        json_array_append_new(edges, json_pack("{s:i,s:i,s:I,s:I}", "slot", (int)i, "pid",
                                               (int)RC_SLOT_GET(s, pid), "connections",
                                               (json_int_t)RC_SLOT_GET(s, connections), "lag", (json_int_t)lag));
    }
    json_t *o = json_pack("{s:s,s:I,s:o,s:i,s:I}", "status", dead ? "degraded" : "ok", "seq",
                          (json_int_t)(next - 1), "edges", edges, "dead_slots", dead, "wake_syscalls",
                          (json_int_t)atomic_load_explicit(&h->wake_syscalls, memory_order_relaxed));
    char *s = json_dumps(o, JSON_COMPACT);
    reply_json(req, 200, s);
    free(s);
    json_decref(o);
}

static void handle_other(struct evhttp_request *req, void *arg)
{
    reply_error(arg, req, 404, "no such endpoint (POST /api/push, GET /healthz)");
}

void rc_broker_api_register(rc_broker_t *b)
{
    evhttp_set_cb(b->http, "/api/push", handle_push, b);
    evhttp_set_cb(b->http, "/healthz", handle_healthz, b);
    evhttp_set_gencb(b->http, handle_other, b);
}
