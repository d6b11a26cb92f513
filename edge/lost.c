/* Loss is never silent: when the writer laps the edge's reader, the reader
 * jumps to the tail and the records in between are gone for this edge. The
 * records themselves are overwritten, but positions tell which topics they
 * were on: a topic whose position in the log (from the index) is not the
 * last one the reader passed lost events. Every connection subscribed to
 * such a topic gets no more events (RC_CF_LOST; outq.c drops them,
 * counted) and is closed with 4009 at a random time within
 * lapped_close_ms, so the clients' resumes (`since` their last @offset)
 * arrive spread out, not as one herd. Connections whose topics lost
 * nothing stay, as do those that joined nothing.
 *
 * The schedule is a sorted array of (time, fd, generation), as the drain's;
 * a second lap during the window adds the connections not yet marked. */
#include "edge/edge.h"

#include <stdint.h>
#include <stdlib.h>

#include "common/alloc.h"
#include "common/clock.h"
#include "common/rand.h"
#include "common/textlog.h"
#include "proto/close_codes.h"
#include "shm/slots.h"
#include "shm/topic_walk.h"

static int by_time(const void *a, const void *b)
{
    const rc_drain_item_t *x = a, *y = b;
    return x->at_ms < y->at_ms ? -1 : x->at_ms > y->at_ms;
}

static void close_lost(rc_edge_t *e, rc_conn_t *c)
{
    RC_SLOT_ADD(e->slot, kicks_lapped, 1);
    rc_conn_close(e, c, RC_CLOSE_LAPPED);
}

/* Marks each topic of the table that lost events in this lap, and moves
 * its last position to where the reader is now. */
static uint32_t mark_topics(rc_edge_t *e)
{
    uint32_t n = 0;
    for (size_t b = 0; b < e->topics.nbuckets; b++)
        for (rc_topic_t *t = e->topics.buckets[b]; t; t = t->next) {
            rc_topic_state_t st;
            rc_topic_state(&e->log, t->name, t->len, e->reader.pos, &st);
            t->lapped = st.epoch != t->last_epoch || st.offset != t->last_offset;
            t->last_epoch = st.epoch;
            t->last_offset = st.offset;
            n += t->lapped;
        }
    return n;
}

static int lost_events(const rc_conn_t *c)
{
    for (uint16_t i = 0; i < c->nsubs; i++)
        if (c->subs[i].topic->lapped)
            return 1;
    return 0;
}

void rc_lost_start(rc_edge_t *e)
{
    rc_lost_t *l = &e->lost;
    uint64_t now = rc_clock_mono_ms();
    if (l->next == l->n) { /* nothing pending: a new window */
        l->n = l->next = 0;
        l->start_ms = now;
    }
    uint32_t added = 0, topics = mark_topics(e);
    for (uint32_t fd = 0; fd < e->by_fd_cap; fd++) {
        rc_conn_t *c = e->by_fd[fd];
        if (!c || c->state != RC_CONN_OPEN || !c->nsubs || (c->flags & RC_CF_LOST) || !lost_events(c))
            continue;
        c->flags |= RC_CF_LOST;
        /* A lapped frame already queued may be half on the wire; what was
         * not sent is dropped, the close follows when its time comes. */
        rc_out_drop_unsent(e, c);
        if (e->draining) { /* the drain closes everyone soon anyway: tell these now */
            close_lost(e, c);
            continue;
        }
        if (l->n == l->cap) {
            l->cap = l->cap ? l->cap * 2 : 64;
            l->items = rc_xrealloc(l->items, l->cap * sizeof(*l->items));
        }
        uint64_t at = (now - l->start_ms) + (e->lapped_close_ms ? rc_rand_range(0, e->lapped_close_ms - 1) : 0);
        l->items[l->n++] = (rc_drain_item_t){.at_ms = at, .fd = (int)fd, .gen = c->gen};
        added++;
    }
    qsort(l->items + l->next, l->n - l->next, sizeof(*l->items), by_time);
    rc_textlog("warn", "msg=\"reader lapped: closing the connections of topics that lost events with 4009\" "
                       "topics=%u connections=%u window_ms=%llu lost_total=%llu",
               topics, added, (unsigned long long)e->lapped_close_ms, (unsigned long long)e->reader.lost);
    if (l->next < l->n) {
        uint64_t elapsed = now - l->start_ms, first = l->items[l->next].at_ms;
        rc_edge_timer_soon(e, first > elapsed ? first - elapsed : 0);
    }
}

uint64_t rc_lost_on_timer(rc_edge_t *e)
{
    rc_lost_t *l = &e->lost;
    if (l->next == l->n)
        return UINT64_MAX;
    uint64_t elapsed = rc_clock_mono_ms() - l->start_ms;
    while (l->next < l->n && l->items[l->next].at_ms <= elapsed) {
        const rc_drain_item_t *it = &l->items[l->next++];
        rc_conn_t *c = e->by_fd[it->fd];
        if (c && c->gen == it->gen && c->state == RC_CONN_OPEN)
            close_lost(e, c);
    }
    return l->next < l->n ? l->items[l->next].at_ms - elapsed : UINT64_MAX;
}

void rc_lost_free(rc_edge_t *e)
{
    free(e->lost.items);
    e->lost.items = NULL;
    e->lost.n = e->lost.next = e->lost.cap = 0;
}
