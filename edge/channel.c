/* Phoenix Channels semantics on one connection (docs/protocol.md):
 * heartbeat, join (a second join of a topic replaces the first), leave
 * (reply, then phx_close), unmatched topics, stale join_refs ignored.
 * Replies are queued on the connection in order, so a join's reply always
 * precedes the broadcasts that follow it. A join's reply names the topic's
 * position; a join with `since` resumes (edge/replay.h); `history` pages
 * through the log (edge/history.c). */
#include "edge/edge.h"

#include <string.h>

#include "common/alloc.h"
#include "common/textlog.h"
#include "proto/close_codes.h"
#include "proto/phx.h"
#include "proto/position.h"
#include "proto/ws_frame.h"
#include "edge/auth.h"
#include "edge/replay.h"
#include "shm/slots.h"
#include "shm/topic_index.h"

#define RESP_OK RC_SLICE_LIT("{}")

/* Replies are small; larger ones would be a bug of ours (-ENOSPC drops it
 * and closes with 1011). */
static char scratch[16384];

static void send_text(rc_edge_t *e, rc_conn_t *c, int n)
{
    if (n < 0) {
        rc_conn_close(e, c, RC_CLOSE_INTERNAL);
        return;
    }
    rc_out_frame(e, c, RC_WS_OP_TEXT, scratch, (size_t)n);
}

static void reply(rc_edge_t *e, rc_conn_t *c, rc_slice_t jr, rc_slice_t ref, rc_slice_t topic, const char *status,
                  rc_slice_t response)
{
    send_text(e, c, rc_phx_encode_reply(scratch, sizeof(scratch), jr, ref, topic, status, response));
}

void rc_channel_reply(rc_edge_t *e, rc_conn_t *c, rc_slice_t jr, rc_slice_t ref, rc_slice_t topic, const char *status,
                      rc_slice_t response)
{
    reply(e, c, jr, ref, topic, status, response);
}

void rc_channel_push(rc_edge_t *e, rc_conn_t *c, const rc_sub_t *s, const char *event, rc_slice_t payload)
{
    send_text(e, c, rc_phx_encode_push(scratch, sizeof(scratch), rc_slice(s->jr, s->jr_len),
                                       rc_slice(s->topic->name, s->topic->len), rc_slice_cstr(event), payload));
}

static void reply_reason(rc_edge_t *e, rc_conn_t *c, rc_slice_t jr, rc_slice_t ref, rc_slice_t topic,
                         const char *reason)
{
    char resp[256];
    size_t off = 10;
    memcpy(resp, "{\"reason\":", off);
    /* reasons are ours, but some quote JSON: escaped, never pasted */
    if (rc_json_put_string(resp, sizeof(resp) - 1, &off, rc_slice_cstr(reason))) {
        rc_conn_close(e, c, RC_CLOSE_INTERNAL);
        return;
    }
    resp[off++] = '}';
    reply(e, c, jr, ref, topic, "error", rc_slice(resp, off));
}

/* c's subscription to topic, or -1. The topic is found through the keyed
 * table, then the subscription by pointer from whichever side is shorter:
 * the connection's own list or the topic's subscribers. Neither a client
 * with thousands of channels nor a hot topic makes this a long scan of
 * names. */
static int find_sub(const rc_edge_t *e, const rc_conn_t *c, rc_slice_t topic)
{
    if (c->nsubs == 0)
        return -1;
    const rc_topic_t *t = rc_topics_find(&e->topics, topic.p, topic.n, rc_topic_hash(e->topics.key, topic.p, topic.n));
    if (!t)
        return -1;
    if (t->nsubs < c->nsubs) {
        for (uint32_t i = 0; i < t->nsubs; i++)
            if (t->subs[i].conn == c)
                return (int)t->subs[i].sub_idx;
        return -1;
    }
    for (int i = 0; i < c->nsubs; i++)
        if (c->subs[i].topic == t)
            return i;
    return -1;
}

/* A null join_ref matches any join; a string must equal the current one. */
static int jr_matches(const rc_sub_t *s, rc_slice_t jr)
{
    return !jr.p || (jr.n == s->jr_len && memcmp(jr.p, s->jr, jr.n) == 0);
}

static void set_jr(rc_sub_t *s, rc_slice_t jr)
{
    /* A join's join_ref equals its ref; the decoder capped both at RC_REF_MAX. */
    s->jr_len = (uint8_t)jr.n;
    memcpy(s->jr, jr.p, jr.n);
}

static rc_sub_t *add_sub(rc_edge_t *e, rc_conn_t *c, rc_slice_t topic, rc_slice_t jr)
{
    if (c->nsubs == c->subcap) {
        c->subcap = c->subcap ? (uint16_t)(c->subcap * 2) : 2;
        c->subs = rc_xrealloc(c->subs, c->subcap * sizeof(*c->subs));
    }
    rc_sub_t *s = &c->subs[c->nsubs];
    s->topic = rc_topics_subscribe(&e->topics, topic.p, topic.n, c, c->nsubs, &s->pos);
    set_jr(s, jr);
    c->nsubs++;
    return s;
}

static void remove_sub(rc_edge_t *e, rc_conn_t *c, int idx)
{
    rc_sub_t *s = &c->subs[idx];
    if (s->topic->subs[s->pos].replay)
        rc_replay_cancel(e, s->topic->subs[s->pos].replay - 1);
    rc_topic_sub_t moved;
    rc_topics_unsubscribe(&e->topics, s->topic, s->pos, &moved);
    if (moved.conn)
        moved.conn->subs[moved.sub_idx].pos = s->pos;
    int last = c->nsubs - 1;
    if (idx != last) {
        c->subs[idx] = c->subs[last];
        /* the moved subscription's topic entry must point at its new index */
        c->subs[idx].topic->subs[c->subs[idx].pos].sub_idx = (uint32_t)idx;
    }
    c->nsubs--;
}

void rc_channel_close_sub(rc_edge_t *e, rc_conn_t *c, int idx)
{
    rc_sub_t *s = &c->subs[idx];
    char jr[RC_REF_MAX], topic[RC_TOPIC_MAX];
    size_t jrn = s->jr_len, tn = s->topic->len;
    memcpy(jr, s->jr, jrn);
    memcpy(topic, s->topic->name, tn);
    remove_sub(e, c, idx);
    send_text(e, c, rc_phx_encode_close(scratch, sizeof(scratch), rc_slice(jr, jrn), rc_slice(topic, tn)));
}

void rc_channel_unsubscribe_all(rc_edge_t *e, rc_conn_t *c)
{
    while (c->nsubs)
        remove_sub(e, c, c->nsubs - 1);
}

/* The join reply's response: the topic's position as this edge delivers
 * it, {"epoch": E, "offset": N, "oldest": M} (+ "recovered" for a since). */
static rc_slice_t position_response(char *buf, size_t cap, const rc_topic_state_t *st, int since, int recovered)
{
    char epoch[RC_EPOCH_HEX + 1];
    rc_epoch_hex(epoch, st->epoch);
    epoch[RC_EPOCH_HEX] = 0;
    /* nothing held: the next event will be the oldest */
    uint64_t oldest = st->oldest ? st->oldest : st->offset + 1;
    int n = snprintf(buf, cap, "{\"epoch\":\"%s\",\"offset\":%llu,\"oldest\":%llu%s}", epoch,
                     (unsigned long long)st->offset, (unsigned long long)oldest,
                     !since ? "" : recovered ? ",\"recovered\":true" : ",\"recovered\":false");
    return rc_slice(buf, (size_t)n);
}

/* Whether the log holds every event of the topic after since, within
 * max_replay: then the join replays them. Never a partial replay. */
static int recoverable(const rc_edge_t *e, rc_slice_t topic, const rc_topic_state_t *st, const rc_since_t *since)
{
    if (since->epoch != st->epoch || since->offset > st->offset)
        return 0;
    if (since->offset == st->offset)
        return 1; /* nothing missed */
    if (st->offset - since->offset > e->max_replay || !st->have_head)
        return 0;
    rc_log_view_t v;
    return rc_topic_seek(&e->log, topic.p, (uint16_t)topic.n, &st->head, since->offset + 1, &v);
}

static void on_join(rc_edge_t *e, rc_conn_t *c, const rc_phx_msg_t *m)
{
    if (!m->join_ref.p || !m->ref.p) {
        reply_reason(e, c, m->join_ref, m->ref, m->topic, "join needs join_ref and ref");
        return;
    }
    rc_since_t since;
    const char *why = NULL;
    if (rc_since_parse(m->payload, &since, &why) < 0) {
        reply_reason(e, c, m->join_ref, m->ref, m->topic, why);
        return;
    }
    if (!rc_session_topic(e, m->topic) && !rc_auth_may_join(e, c, m->topic)) {
        reply_reason(e, c, m->join_ref, m->ref, m->topic, "unauthorized");
        return;
    }
    int idx = find_sub(e, c, m->topic);
    if (idx < 0 && c->nsubs >= e->max_channels) {
        reply_reason(e, c, m->join_ref, m->ref, m->topic, "too many channels joined");
        return;
    }
    /* The position as of the edge's cursor: records before it were fanned
     * out already, records from it on reach this subscription live. */
    rc_topic_state_t st;
    rc_topic_state(&e->log, m->topic.p, (uint16_t)m->topic.n, e->reader.pos, &st);
    int recovered = since.present && recoverable(e, m->topic, &st, &since);
    char resp[160];
    rc_slice_t response = position_response(resp, sizeof(resp), &st, since.present, recovered);
    rc_sub_t *s;
    if (idx >= 0) {
        /* Duplicate join: the new join replaces the old one; its reply goes
         * first, then phx_close for the old join_ref (dropped by the client
         * as stale), as Phoenix does. */
        s = &c->subs[idx];
        char old[RC_REF_MAX];
        size_t oldn = s->jr_len;
        memcpy(old, s->jr, oldn);
        set_jr(s, m->join_ref);
        reply(e, c, m->join_ref, m->ref, m->topic, "ok", response);
        send_text(e, c, rc_phx_encode_close(scratch, sizeof(scratch), rc_slice(old, oldn), m->topic));
        /* a replay of the old join gives way to this one's */
        if (recovered && s->topic->subs[s->pos].replay)
            rc_replay_cancel(e, s->topic->subs[s->pos].replay - 1);
    } else {
        s = add_sub(e, c, m->topic, m->join_ref);
        reply(e, c, m->join_ref, m->ref, m->topic, "ok", response);
    }
    if (rc_session_topic(e, m->topic)) {
        RC_SLOT_ADD(e->slot, joins, 1);
        rc_session_on_join(e, c, s);
        return;
    }
    RC_SLOT_ADD(e->slot, joins, 1);
    s->topic->last_epoch = st.epoch;
    s->topic->last_offset = st.offset;
    if (since.present) {
        RC_SLOT_ADD(e->slot, resumes, 1);
        if (!recovered)
            RC_SLOT_ADD(e->slot, resumes_unrecovered, 1);
    }
    if (recovered && since.offset < st.offset && c->state == RC_CONN_OPEN)
        rc_replay_start(e, c, s->topic, s->pos, &st, since.offset);
}

static void on_leave(rc_edge_t *e, rc_conn_t *c, const rc_phx_msg_t *m)
{
    int idx = find_sub(e, c, m->topic);
    if (idx < 0) {
        reply(e, c, m->join_ref, m->ref, m->topic, "ok", RESP_OK);
        return;
    }
    if (!jr_matches(&c->subs[idx], m->join_ref))
        return; /* a leave for an older join of this topic: stale, ignored */
    char jr[RC_REF_MAX];
    size_t jrn = c->subs[idx].jr_len;
    memcpy(jr, c->subs[idx].jr, jrn);
    remove_sub(e, c, idx);
    reply(e, c, m->join_ref, m->ref, m->topic, "ok", RESP_OK);
    send_text(e, c, rc_phx_encode_close(scratch, sizeof(scratch), rc_slice(jr, jrn), m->topic));
}

static void dispatch(rc_edge_t *e, rc_conn_t *c, const rc_phx_msg_t *m)
{
    if (rc_slice_eq(m->topic, "phoenix") && rc_slice_eq(m->event, "heartbeat")) {
        RC_SLOT_ADD(e->slot, heartbeats, 1);
        reply(e, c, RC_SLICE_NULL, m->ref, m->topic, "ok", RESP_OK);
        return;
    }
    if (rc_slice_eq(m->event, "phx_join")) {
        on_join(e, c, m);
        return;
    }
    if (rc_slice_eq(m->event, "phx_leave")) {
        on_leave(e, c, m);
        return;
    }
    int idx = find_sub(e, c, m->topic);
    if (idx < 0) {
        reply_reason(e, c, RC_SLICE_NULL, m->ref, m->topic, "unmatched topic");
        return;
    }
    if (!jr_matches(&c->subs[idx], m->join_ref))
        return; /* stale: from an earlier join of this topic */
    if (rc_session_topic(e, m->topic)) {
        rc_session_on_push(e, c, m, &c->subs[idx]);
        return;
    }
    if (rc_slice_eq(m->event, "history")) {
        rc_history_on_push(e, c, m, c->subs[idx].topic);
        return;
    }
    /* Client-originated events reach the broker through the upstream rings
     * in a later release; until then the client hears so, not silence. */
    reply_reason(e, c, m->join_ref, m->ref, m->topic, "client events are not enabled on this topic");
}

void rc_channel_on_message(rc_edge_t *e, rc_conn_t *c, uint8_t opcode, const uint8_t *data, size_t len)
{
    rc_phx_msg_t m;
    const char *why = NULL;
    int rc = opcode == RC_WS_OP_TEXT ? rc_phx_decode_text((const char *)data, len, &m, &why)
                                     : rc_phx_decode_binary(data, len, &m, &why);
    if (rc < 0) {
        static rc_textlog_limit_t lim;
        if (rc_textlog_allow(&lim, 10))
            rc_textlog("info", "msg=\"unparsable client message\" why=\"%s\" code=1007 suppressed=%lu",
                    why ? why : "?", lim.suppressed);
        rc_conn_close(e, c, RC_CLOSE_INVALID_DATA);
        return;
    }
    dispatch(e, c, &m);
    rc_phx_msg_release(&m);
}
