/* GET /api/history?topic=T[&before=N|&after=N][&limit=n]: a page of a
 * topic's events from the log, for servers (docs/protocol.md, "History";
 * the same page a client's `history` push gets, shm/history_page.h), with
 * the topic's position: {"epoch", "offset", "oldest", "events", "more"}.
 * API key when keys are set. */
#include "broker/api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "proto/limits.h"
#include "proto/position.h"
#include "proto/query.h"
#include "shm/history_page.h"
#include "shm/topic_walk.h"

/* An offset or limit parameter: absent (0, *present 0), or decimal digits. */
static int number(rc_slice_t q, const char *name, uint64_t *out, int *present)
{
    char buf[24];
    int n = rc_query_get(q, name, buf, sizeof(buf));
    *present = n != -ENOENT;
    if (n == -ENOENT)
        return 0;
    if (n <= 0 || n > 19)
        return -1;
    uint64_t v = 0;
    for (int i = 0; i < n; i++) {
        if (buf[i] < '0' || buf[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(buf[i] - '0');
    }
    *out = v;
    return 0;
}

void rc_api_history(struct evhttp_request *req, void *arg)
{
    rc_broker_t *b = arg;
    if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET");
        rc_api_reply_error(req, 405, "use GET", -1);
        return;
    }
    if (rc_api_check_auth(req, b))
        return;
    const char *qs = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
    rc_slice_t q = rc_slice_cstr(qs ? qs : "");
    char topic[RC_TOPIC_MAX + 1];
    int tn = rc_query_get(q, "topic", topic, sizeof(topic));
    if (tn <= 0) {
        rc_api_reply_error(req, 400, tn == -ENOSPC ? "topic too long" : "topic=<name> is required", -1);
        return;
    }
    uint64_t before = 0, after = 0, limit = RC_HISTORY_LIMIT_MAX;
    int has_before, has_after, has_limit;
    if (number(q, "before", &before, &has_before) || number(q, "after", &after, &has_after) ||
        number(q, "limit", &limit, &has_limit) || (has_before && has_after) || limit < 1 ||
        limit > RC_HISTORY_LIMIT_MAX) {
        rc_api_reply_error(req, 400, "before=N or after=N (offsets), limit=1..100", -1);
        return;
    }
    rc_history_req_t hr = {.dir = has_before ? RC_HISTORY_BEFORE : has_after ? RC_HISTORY_AFTER : RC_HISTORY_NEWEST,
                           .at = has_before ? before : after,
                           .limit = (unsigned)limit};
    /* The broker is the log's writer: nothing moves while this runs. */
    uint64_t tail = atomic_load_explicit(&b->log.hdr->tail, memory_order_relaxed);
    long n = rc_history_page(&b->log, topic, (uint16_t)tn, tail, &hr, b->history_max_bytes, &b->page, &b->page_cap);
    if (n < 0) {
        rc_api_reply_error(req, 500, "history page unreadable", -1);
        return;
    }
    rc_topic_state_t st;
    rc_topic_state(&b->log, topic, (uint16_t)tn, tail, &st);
    char epoch[RC_EPOCH_HEX + 1];
    rc_epoch_hex(epoch, st.epoch);
    epoch[RC_EPOCH_HEX] = 0;
    struct evbuffer *out = evhttp_request_get_output_buffer(req);
    evbuffer_add_printf(out, "{\"epoch\":\"%s\",\"offset\":%llu,\"oldest\":%llu,", epoch,
                        (unsigned long long)st.offset,
                        (unsigned long long)(st.oldest ? st.oldest : st.offset + 1));
    evbuffer_add(out, b->page + 1, (size_t)n - 1); /* the page without its opening brace */
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    evhttp_send_reply(req, 200, "OK", NULL);
}
