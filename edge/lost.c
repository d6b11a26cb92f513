/* Loss is never silent: when the writer laps the edge's reader, the reader
 * jumps to the tail and the records in between are gone for this edge. The
 * edge cannot tell which topics they were on (they are overwritten), so
 * every connection subscribed at that moment may have missed one: each
 * gets no more events (RC_CF_LOST; outq.c drops them, counted) and is closed
 * with 4009 at a random time within lapped_close_ms, so the clients'
 * resumes from their last @seq arrive spread out, not as one herd.
 * Connections that had joined nothing lost nothing and stay.
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

void rc_lost_start(rc_edge_t *e)
{
    rc_lost_t *l = &e->lost;
    uint64_t now = rc_clock_mono_ms();
    if (l->next == l->n) { /* nothing pending: a new window */
        l->n = l->next = 0;
        l->start_ms = now;
    }
    uint32_t added = 0;
    for (uint32_t fd = 0; fd < e->by_fd_cap; fd++) {
        rc_conn_t *c = e->by_fd[fd];
        if (!c || c->state != RC_CONN_OPEN || !c->nsubs || (c->flags & RC_CF_LOST))
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
    rc_textlog("warn", "msg=\"reader lapped: closing every subscribed connection with 4009\" connections=%u "
                       "window_ms=%llu lost_total=%llu",
               added, (unsigned long long)e->lapped_close_ms, (unsigned long long)e->reader.lost);
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
