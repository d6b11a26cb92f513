/* Push bodies: the batch container, the checks every format shares, and the
 * JSON format (jansson). The msgpack format is push_msgpack.c, the JSON
 * depth and UTF-8 pre-scan push_json_scan.c. */
#include "broker/push_parse.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <msgpack.h>

#include "common/alloc.h"
#include "proto/limits.h"
#include "proto/utf8.h"

void rc_push_batch_init(rc_push_batch_t *b)
{
    memset(b, 0, sizeof(*b));
    b->index = -1;
}

static void batch_reset(rc_push_batch_t *b)
{
    if (b->json_root) {
        json_decref(b->json_root);
        b->json_root = NULL;
    }
    if (b->mp_unpacked) {
        msgpack_unpacked_destroy(b->mp_unpacked);
        free(b->mp_unpacked);
        b->mp_unpacked = NULL;
    }
    b->nev = b->ntopics = b->text_len = 0;
    b->status = 0;
    b->index = -1;
    b->error[0] = 0;
}

void rc_push_batch_free(rc_push_batch_t *b)
{
    batch_reset(b);
    free(b->ev);
    free(b->topics);
    free(b->text);
    rc_push_batch_init(b);
}

int rc_push_fail(rc_push_batch_t *b, int status, long index, const char *fmt, ...)
{
    if (b->status)
        return -EINVAL; /* keep the first problem */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b->error, sizeof(b->error), fmt, ap);
    va_end(ap);
    b->status = status;
    b->index = index;
    return -EINVAL;
}

rc_push_event_t *rc_push_event_add(rc_push_batch_t *b)
{
    if (b->nev == b->ev_cap) {
        b->ev_cap = b->ev_cap ? 2 * b->ev_cap : 16;
        b->ev = rc_xrealloc(b->ev, b->ev_cap * sizeof(*b->ev));
    }
    rc_push_event_t *e = &b->ev[b->nev++];
    memset(e, 0, sizeof(*e));
    e->topic0 = b->ntopics;
    e->data_off = b->text_len;
    return e;
}

static int check_name(rc_push_batch_t *b, rc_slice_t s, size_t max, const char *field, long index)
{
    if (s.n == 0)
        return rc_push_fail(b, 400, index, "%s must be a non-empty string", field);
    if (s.n > max)
        return rc_push_fail(b, 400, index, "%s longer than %zu bytes", field, max);
    if (!rc_utf8_valid((const uint8_t *)s.p, s.n))
        return rc_push_fail(b, 422, index, "invalid UTF-8 in %s", field);
    if (memchr(s.p, 0, s.n))
        return rc_push_fail(b, 400, index, "%s must not contain NUL", field);
    return 0;
}

int rc_push_topic_add(rc_push_batch_t *b, rc_push_event_t *e, rc_slice_t t, long index)
{
    if (check_name(b, t, RC_TOPIC_MAX, "topic", index))
        return -EINVAL;
    for (unsigned i = 0; i < e->ntopics; i++) {
        rc_slice_t o = b->topics[e->topic0 + i];
        if (o.n == t.n && memcmp(o.p, t.p, t.n) == 0)
            return 0; /* one record per distinct topic */
    }
    if (e->ntopics == RC_PUSH_MAX_TOPICS)
        return rc_push_fail(b, 400, index, "topic array must hold 1..%d topics", RC_PUSH_MAX_TOPICS);
    if (b->ntopics == b->topics_cap) {
        b->topics_cap = b->topics_cap ? 2 * b->topics_cap : 16;
        b->topics = rc_xrealloc(b->topics, b->topics_cap * sizeof(*b->topics));
    }
    b->topics[b->ntopics++] = t;
    e->ntopics++;
    return 0;
}

int rc_push_event_name(rc_push_batch_t *b, rc_slice_t ev, long index)
{
    return check_name(b, ev, RC_EVENT_MAX, "event", index);
}

void rc_push_text_reserve(rc_push_batch_t *b, size_t n)
{
    if (b->text_cap - b->text_len >= n)
        return;
    size_t cap = b->text_cap ? b->text_cap : 4096;
    while (cap - b->text_len < n)
        cap *= 2;
    b->text = rc_xrealloc(b->text, cap);
    b->text_cap = cap;
}

int rc_push_data_end(rc_push_batch_t *b, rc_push_event_t *e, long index, const rc_push_limits_t *lim)
{
    e->data_len = b->text_len - e->data_off;
    if (e->data_len > lim->max_data)
        return rc_push_fail(b, 413, index, "data is %zu bytes as JSON, more than max_data (%zu)", e->data_len,
                            lim->max_data);
    return 0;
}

int rc_push_data_json(rc_push_batch_t *b, rc_push_event_t *e, rc_slice_t json, long index,
                      const rc_push_limits_t *lim)
{
    if (json.n > lim->max_data)
        return rc_push_fail(b, 413, index, "data is %zu bytes as JSON, more than max_data (%zu)", json.n,
                            lim->max_data);
    if (!rc_utf8_valid((const uint8_t *)json.p, json.n))
        return rc_push_fail(b, 422, index, "invalid UTF-8 in data");
    /* The pre-scan names nesting problems; jansson checks the syntax. */
    if (rc_push_json_prescan(b, json.p, json.n, 0)) {
        b->index = index;
        return -EINVAL;
    }
    json_error_t jerr;
    json_t *v = json_loadb(json.p, json.n, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    if (!v)
        return rc_push_fail(b, 422, index, "data_json: data is not valid JSON: %s (at byte %d)", jerr.text,
                            jerr.position);
    json_decref(v);
    rc_push_text_reserve(b, json.n);
    memcpy(b->text + b->text_len, json.p, json.n);
    b->text_len += json.n;
    return rc_push_data_end(b, e, index, lim);
}

/* JSON ------------------------------------------------------------------- */

static int json_data(rc_push_batch_t *b, rc_push_event_t *e, json_t *data, long index, const rc_push_limits_t *lim)
{
    for (;;) {
        size_t avail = b->text_cap - b->text_len;
        size_t n = json_dumpb(data, b->text + b->text_len, avail, JSON_COMPACT | JSON_ENCODE_ANY);
        if (n == 0)
            return rc_push_fail(b, 422, index, "data cannot be encoded as JSON");
        if (n <= avail) {
            b->text_len += n;
            return rc_push_data_end(b, e, index, lim);
        }
        if (n > lim->max_data) /* no need to grow for what is refused */
            return rc_push_fail(b, 413, index, "data is %zu bytes as JSON, more than max_data (%zu)", n,
                                lim->max_data);
        rc_push_text_reserve(b, n);
    }
}

static rc_slice_t jstr(json_t *s)
{
    return rc_slice(json_string_value(s), json_string_length(s));
}

static int json_event(rc_push_batch_t *b, json_t *o, long index, const rc_push_limits_t *lim)
{
    if (!json_is_object(o))
        return rc_push_fail(b, 400, index, "%s must be a JSON object with topic, event and data",
                            index < 0 ? "body" : "each event");
    rc_push_event_t *e = rc_push_event_add(b);
    json_t *topic = json_object_get(o, "topic");
    if (!topic)
        topic = json_object_get(o, "channel");
    json_t *event = json_object_get(o, "event");
    json_t *data = json_object_get(o, "data");
    json_t *dj = json_object_get(o, "data_json");
    if (!topic)
        return rc_push_fail(b, 400, index, "topic (or channel) is required");
    if (json_is_array(topic)) {
        size_t i, n = json_array_size(topic);
        json_t *t;
        if (n == 0 || n > RC_PUSH_MAX_TOPICS)
            return rc_push_fail(b, 400, index, "topic array must hold 1..%d topics", RC_PUSH_MAX_TOPICS);
        e->topic_list = 1;
        json_array_foreach(topic, i, t) {
            if (!json_is_string(t))
                return rc_push_fail(b, 400, index, "each topic must be a non-empty string");
            if (rc_push_topic_add(b, e, jstr(t), index))
                return -EINVAL;
        }
    } else if (!json_is_string(topic)) {
        return rc_push_fail(b, 400, index, "topic must be a non-empty string or an array of them");
    } else if (rc_push_topic_add(b, e, jstr(topic), index)) {
        return -EINVAL;
    }
    if (!json_is_string(event))
        return rc_push_fail(b, 400, index, "event must be a non-empty string");
    if (rc_push_event_name(b, jstr(event), index))
        return -EINVAL;
    e->event = jstr(event);
    if (!data)
        return rc_push_fail(b, 400, index, "data is required (any JSON value)");
    if (dj && !json_is_boolean(dj))
        return rc_push_fail(b, 400, index, "data_json must be true or false");
    if (json_is_true(dj)) {
        if (!json_is_string(data))
            return rc_push_fail(b, 400, index, "data_json: true needs data as a string of JSON");
        return rc_push_data_json(b, e, jstr(data), index, lim);
    }
    return json_data(b, e, data, index, lim);
}

static int parse_json(rc_push_batch_t *b, const char *body, size_t len, int batch, const rc_push_limits_t *lim)
{
    if (rc_push_json_prescan(b, body, len, batch ? 2 : 1))
        return -EINVAL;
    json_error_t jerr;
    /* NUL is fine in data ("\u0000"); names refuse it (check_name). */
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    if (!root)
        return rc_push_fail(b, 400, -1, "invalid JSON: %s (line %d, column %d)", jerr.text, jerr.line, jerr.column);
    b->json_root = root;
    if (!batch)
        return json_event(b, root, -1, lim);
    if (!json_is_array(root))
        return rc_push_fail(b, 400, -1, "a batch is a JSON array of events");
    size_t n = json_array_size(root);
    if (n == 0)
        return rc_push_fail(b, 400, -1, "a batch holds at least one event");
    if (n > lim->max_batch)
        return rc_push_fail(b, 413, -1, "batch of %zu events, more than max_batch (%zu)", n, lim->max_batch);
    for (size_t i = 0; i < n; i++)
        if (json_event(b, json_array_get(root, i), (long)i, lim))
            return -EINVAL;
    return 0;
}

int rc_push_parse(rc_push_batch_t *b, const char *body, size_t len, int format, int batch,
                  const rc_push_limits_t *lim)
{
    batch_reset(b);
    if (format == RC_PUSH_MSGPACK)
        return rc_push_parse_msgpack(b, body, len, batch, lim);
    return parse_json(b, body, len, batch, lim);
}
