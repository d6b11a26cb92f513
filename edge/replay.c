#include "edge/replay.h"

#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "edge/edge.h"
#include "proto/close_codes.h"
#include "shm/slots.h"

/* Records one seek brings; every replay of the edge together sends at most
 * RC_REPLAY_TURN_BUDGET records per loop turn. */
#define RC_REPLAY_CHUNK 64
#define RC_REPLAY_TURN_BUDGET 4096

typedef struct rc_replay {
    rc_conn_t *conn;
    uint32_t gen;
    rc_topic_t *topic;
    uint64_t head_pos;    /* the join's head record: every seek starts there */
    uint64_t epoch, head_offset;
    uint64_t next;        /* next offset to replay (head_offset + 1: replay done) */
    uint64_t *live;       /* positions of live records held back */
    uint32_t nlive, live_next, live_cap;
} rc_replay_t;

struct rc_replays {
    rc_replay_t **slots;  /* by id; NULL: free */
    uint32_t n, cap, active, turn_from;
};

static rc_replays_t *table(rc_edge_t *e)
{
    if (!e->replays)
        e->replays = rc_xcalloc(1, sizeof(*e->replays));
    return e->replays;
}

/* The subscription of r in its topic's subscriber array. */
static rc_topic_sub_t *sub_of(const rc_replay_t *r, uint32_t id)
{
    for (uint32_t i = 0; i < r->topic->nsubs; i++)
        if (r->topic->subs[i].replay == id + 1)
            return &r->topic->subs[i];
    return NULL;
}

static void finish(rc_edge_t *e, uint32_t id)
{
    rc_replays_t *t = e->replays;
    rc_replay_t *r = t->slots[id];
    rc_topic_sub_t *s = sub_of(r, id);
    if (s)
        s->replay = 0;
    free(r->live);
    free(r);
    t->slots[id] = NULL;
    t->active--;
}

void rc_replay_start(rc_edge_t *e, rc_conn_t *c, rc_topic_t *topic, uint32_t pos, const rc_topic_state_t *st,
                     uint64_t since)
{
    rc_replays_t *t = table(e);
    uint32_t id = 0;
    while (id < t->n && t->slots[id])
        id++;
    if (id == t->n) {
        if (t->n == t->cap) {
            t->cap = t->cap ? t->cap * 2 : 16;
            t->slots = rc_xrealloc(t->slots, t->cap * sizeof(*t->slots));
        }
        t->n++;
    }
    rc_replay_t *r = rc_xcalloc(1, sizeof(*r));
    r->conn = c;
    r->gen = c->gen;
    r->topic = topic;
    r->head_pos = st->head.pos;
    r->epoch = st->epoch;
    r->head_offset = st->offset;
    r->next = since + 1;
    t->slots[id] = r;
    t->active++;
    topic->subs[pos].replay = id + 1;
}

void rc_replay_cancel(rc_edge_t *e, uint32_t id)
{
    if (e->replays && id < e->replays->n && e->replays->slots[id])
        finish(e, id);
}

static void lost(rc_edge_t *e, uint32_t id)
{
    rc_conn_t *c = e->replays->slots[id]->conn;
    finish(e, id);
    RC_SLOT_ADD(e->slot, kicks_lapped, 1);
    rc_conn_close(e, c, RC_CLOSE_LAPPED);
}

void rc_replay_live(rc_edge_t *e, uint32_t id, const rc_log_view_t *v)
{
    rc_replay_t *r = e->replays->slots[id];
    /* Live records wait behind the replay; a client that cannot take them
     * as fast as they come is a slow consumer like any other. */
    uint64_t bound = 4 * e->max_replay + 1024;
    if (r->nlive - r->live_next >= bound) {
        rc_conn_t *c = r->conn;
        finish(e, id);
        RC_SLOT_ADD(e->slot, kicks_slow, 1);
        rc_conn_close(e, c, RC_CLOSE_SLOW_CONSUMER);
        return;
    }
    if (r->nlive == r->live_cap) {
        if (r->live_next) { /* reuse what was sent */
            memmove(r->live, r->live + r->live_next, (r->nlive - r->live_next) * sizeof(*r->live));
            r->nlive -= r->live_next;
            r->live_next = 0;
        }
        if (r->nlive == r->live_cap) {
            r->live_cap = r->live_cap ? r->live_cap * 2 : 16;
            r->live = rc_xrealloc(r->live, r->live_cap * sizeof(*r->live));
        }
    }
    r->live[r->nlive++] = v->pos;
}

/* The record at pos if it is still there and of r's topic. */
static int read_topic(const rc_edge_t *e, const rc_replay_t *r, uint64_t pos, rc_log_view_t *v)
{
    return rc_log_read_at(&e->log, pos, v) && v->topic_len == r->topic->len &&
           memcmp(v->topic, r->topic->name, r->topic->len) == 0 && rc_log_intact(&e->log, v->pos, v->len);
}

/* Queues the next chunk of the replay (oldest first), at most max records.
 * Returns records queued, or -1 if the log no longer holds them (r is gone
 * then). */
static int chunk(rc_edge_t *e, uint32_t id, uint32_t max)
{
    rc_replay_t *r = e->replays->slots[id];
    const char *name = r->topic->name;
    uint16_t len = r->topic->len;
    uint64_t hi = r->next + (max < RC_REPLAY_CHUNK ? max : RC_REPLAY_CHUNK) - 1;
    if (hi > r->head_offset)
        hi = r->head_offset;
    rc_log_view_t head, x, views[RC_REPLAY_CHUNK];
    if (!read_topic(e, r, r->head_pos, &head) || head.epoch != r->epoch || head.offset != r->head_offset ||
        !rc_topic_seek(&e->log, name, len, &head, hi, &x)) {
        lost(e, id);
        return -1;
    }
    uint32_t n = (uint32_t)(hi - r->next + 1);
    views[n - 1] = x;
    for (uint32_t i = n - 1; i > 0; i--)
        if (!rc_topic_prev(&e->log, name, len, &views[i], &views[i - 1])) {
            lost(e, id);
            return -1;
        }
    for (uint32_t i = 0; i < n; i++)
        rc_out_log(e, r->conn, &views[i]);
    r->next = hi + 1;
    return (int)n;
}

/* Sends what budget allows of replay id. Returns records queued, at most
 * budget. */
static uint32_t pump(rc_edge_t *e, uint32_t id, uint32_t budget)
{
    uint32_t sent = 0;
    while (sent < budget) {
        rc_replay_t *r = e->replays->slots[id];
        rc_conn_t *c = r->conn;
        if (c->state != RC_CONN_OPEN || (c->flags & RC_CF_LOST)) {
            finish(e, id); /* closing, or closed for a lap: nothing more goes out */
            break;
        }
        if (rc_out_queued(c) >= e->out_queue_max / 2)
            break; /* the send completions bring it back */
        if (r->next <= r->head_offset) {
            int k = chunk(e, id, budget - sent);
            if (k < 0)
                break;
            sent += (uint32_t)k;
            continue;
        }
        if (r->live_next == r->nlive) {
            finish(e, id); /* caught up: the subscription is live */
            break;
        }
        rc_log_view_t v;
        if (!read_topic(e, r, r->live[r->live_next], &v)) {
            lost(e, id);
            break;
        }
        r->live_next++;
        rc_out_log(e, c, &v);
        sent++;
    }
    return sent;
}

int rc_replay_turn(rc_edge_t *e)
{
    rc_replays_t *t = e->replays;
    if (!t || !t->active)
        return 0;
    uint32_t budget = RC_REPLAY_TURN_BUDGET, id = t->turn_from;
    /* Rounds of a chunk each, starting where the last turn stopped, so no
     * replay waits behind a long one nor behind the first few; a round that
     * sent nothing means every replay waits for its socket. */
    for (uint32_t moved = 1; moved && budget && t->active;) {
        moved = 0;
        for (uint32_t k = 0; k < t->n && budget && t->active; k++) {
            id = (t->turn_from + k) % t->n;
            if (!t->slots[id])
                continue;
            uint32_t n = pump(e, id, budget < RC_REPLAY_CHUNK ? budget : RC_REPLAY_CHUNK);
            budget -= n; /* pump never sends more than it was given */
            moved += n;
        }
        if (!budget)
            break;
        id = (t->turn_from + t->n - 1) % t->n; /* a whole round: start the next turn after it */
    }
    t->turn_from = t->n ? (id + 1) % t->n : 0;
    return budget == 0 && t->active;
}

void rc_replay_free_all(rc_edge_t *e)
{
    rc_replays_t *t = e->replays;
    if (!t)
        return;
    for (uint32_t id = 0; id < t->n; id++)
        if (t->slots[id])
            finish(e, id);
    free(t->slots);
    free(t);
    e->replays = NULL;
}
