/* A `history` push on a joined topic: a page of the topic's events from
 * the log (shm/history_page.h), as the edge has delivered them (up to its
 * cursor), in the reply (docs/protocol.md, "History"). */
#include "edge/edge.h"

#include <stdio.h>
#include <stdlib.h>

#include "common/alloc.h"
#include "proto/close_codes.h"
#include "proto/position.h"
#include "proto/ws_frame.h"
#include "shm/history_page.h"
#include "shm/slots.h"

/* Both buffers live as long as the edge, grown to the largest page. */
static char *page, *reply;
static size_t page_cap, reply_cap;

static void answer(rc_edge_t *e, rc_conn_t *c, const rc_phx_msg_t *m, const char *status, rc_slice_t response)
{
    /* refs and topic escape to at most 6x their bytes */
    size_t need = response.n + 64 + 6 * (m->join_ref.n + m->ref.n + m->topic.n);
    if (need > reply_cap) {
        reply_cap = need;
        reply = rc_xrealloc(reply, reply_cap);
    }
    int n = rc_phx_encode_reply(reply, reply_cap, m->join_ref, m->ref, m->topic, status, response);
    if (n < 0) {
        rc_conn_close(e, c, RC_CLOSE_INTERNAL);
        return;
    }
    rc_out_frame(e, c, RC_WS_OP_TEXT, reply, (size_t)n);
}

static void refuse(rc_edge_t *e, rc_conn_t *c, const rc_phx_msg_t *m, const char *why)
{
    char buf[256];
    rc_slice_t w = rc_slice_cstr(why);
    size_t off = 0;
    memcpy(buf, "{\"reason\":", 10);
    off = 10;
    if (rc_json_put_string(buf, sizeof(buf) - 1, &off, w))
        return;
    buf[off++] = '}';
    answer(e, c, m, "error", rc_slice(buf, off));
}

void rc_history_on_push(rc_edge_t *e, rc_conn_t *c, const rc_phx_msg_t *m, const rc_topic_t *topic)
{
    rc_history_req_t req;
    const char *why = NULL;
    if (rc_history_parse(m->payload, RC_HISTORY_LIMIT_MAX, &req, &why) < 0) {
        refuse(e, c, m, why);
        return;
    }
    long n = -1;
    /* A page overwritten while it was read is read again once: it is the
     * oldest part of the log, so the second try finds a newer one. */
    for (int tries = 0; tries < 2 && n < 0; tries++)
        n = rc_history_page(&e->log, topic->name, topic->len, e->reader.pos, &req, e->history_max_bytes, &page,
                            &page_cap);
    if (n < 0) {
        refuse(e, c, m, "the log moved past this page while it was read: ask again");
        return;
    }
    RC_SLOT_ADD(e->slot, history_pages, 1);
    answer(e, c, m, "ok", rc_slice(page, (size_t)n));
}
