/* Parsing producer push bodies, JSON or msgpack, one event or a batch, into
 * events ready to publish: slices of topic and event names and the event's
 * data as compact JSON text. Everything is validated here, before anything
 * is written to the log, so a batch is all or nothing.
 *
 * One event is {"topic" | "channel": string or array of strings,
 * "event": string, "data": any value, "data_json": bool (optional)}; with
 * "data_json": true, data is a string of pre-encoded JSON (validated, used
 * as is). A batch is an array of events.
 *
 * Ownership: a rc_push_batch_t owns its buffers and reuses them from one
 * request to the next. Topic and event slices point into the batch (JSON:
 * the parsed tree) or into the body (msgpack): the body must outlive the
 * batch's use. Never blocks; allocation sizes are bounded by the body size
 * and the limits. */
#ifndef RC_BROKER_PUSH_PARSE_H
#define RC_BROKER_PUSH_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "proto/slice.h"

#define RC_PUSH_MAX_TOPICS 100 /* topics of one event */
#define RC_PUSH_MAX_DEPTH 32   /* nesting levels of an event's data */

enum rc_push_format { RC_PUSH_JSON = 0, RC_PUSH_MSGPACK = 1 };

typedef struct rc_push_limits {
    size_t max_data;  /* bytes of one event's data as JSON */
    size_t max_batch; /* events of one batch */
} rc_push_limits_t;

typedef struct rc_push_event {
    size_t topic0;       /* its first topic in batch->topics */
    unsigned ntopics;    /* distinct topics, in first-seen order */
    unsigned topic_list; /* 1: topic was given as an array */
    rc_slice_t event;
    size_t data_off;     /* its data: compact JSON at batch->text + data_off */
    size_t data_len;
} rc_push_event_t;

typedef struct rc_push_batch {
    rc_push_event_t *ev;
    size_t nev, ev_cap;
    rc_slice_t *topics;
    size_t ntopics, topics_cap;
    char *text; /* data of every event, back to back */
    size_t text_len, text_cap;
    void *json_root;   /* json_t of a JSON body */
    void *mp_unpacked; /* msgpack_unpacked of a msgpack body */
    /* The first problem found: HTTP status (400 malformed or invalid, 413
     * too large, 422 invalid encoding), what, and the batch index (-1 for a
     * single event or the body as a whole). */
    int status;
    long index;
    char error[256];
} rc_push_batch_t;

void rc_push_batch_init(rc_push_batch_t *b);
void rc_push_batch_free(rc_push_batch_t *b);

/* Parses body as one event (batch == 0) or a batch of them into b (reset
 * first). Returns 0, or -EINVAL with b->status, b->error and b->index set. */
int rc_push_parse(rc_push_batch_t *b, const char *body, size_t len, int format, int batch,
                  const rc_push_limits_t *lim);

static inline rc_slice_t rc_push_data(const rc_push_batch_t *b, const rc_push_event_t *e)
{
    return rc_slice(b->text + e->data_off, e->data_len);
}

/* Checks JSON text for nesting deeper than RC_PUSH_MAX_DEPTH below level
 * `event_level` (1: one event, 2: a batch) and for invalid UTF-8 in its
 * strings, naming the event's field. Syntax errors are left to the parser.
 * Returns 0 or -EINVAL with b's error set. */
int rc_push_json_prescan(rc_push_batch_t *b, const char *p, size_t n, int event_level);

/* For the parser's own files (push_parse.c, push_json_scan.c,
 * push_msgpack.c) --------------------------------------------------------- */

/* Records the first problem; returns -EINVAL. */
int rc_push_fail(rc_push_batch_t *b, int status, long index, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Appends a new event (zeroed, data at the current end of text). */
rc_push_event_t *rc_push_event_add(rc_push_batch_t *b);

/* Adds topic t to e unless e already has it. Returns 0 or -EINVAL (bad
 * name, too many topics). */
int rc_push_topic_add(rc_push_batch_t *b, rc_push_event_t *e, rc_slice_t t, long index);

/* Checks an event name. Returns 0 or -EINVAL. */
int rc_push_event_name(rc_push_batch_t *b, rc_slice_t ev, long index);

/* Makes room for n more bytes of text. */
void rc_push_text_reserve(rc_push_batch_t *b, size_t n);

/* Ends e's data at the current end of text and checks max_data. */
int rc_push_data_end(rc_push_batch_t *b, rc_push_event_t *e, long index, const rc_push_limits_t *lim);

/* Copies pre-encoded JSON (data_json: true) into e's data after checking
 * it. Returns 0 or -EINVAL. */
int rc_push_data_json(rc_push_batch_t *b, rc_push_event_t *e, rc_slice_t json, long index,
                      const rc_push_limits_t *lim);

/* The msgpack half of rc_push_parse. */
int rc_push_parse_msgpack(rc_push_batch_t *b, const char *body, size_t len, int batch,
                          const rc_push_limits_t *lim);

#endif
