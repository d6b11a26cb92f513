/* From the log to the sockets: read new records, find their topic, queue
 * the record's frame (a pointer into shm, never a copy) on every subscriber.
 * The sends themselves go out when the loop flushes, one per connection,
 * coalescing every frame due for it. */
#include "edge/edge.h"

#include "common/textlog.h"
#include "edge/replay.h"
#include "shm/slots.h"

/* Records per loop turn before completions get their turn again, so a
 * backlog cannot starve receives and send completions; and deliveries
 * (frames queued on connections): a hot topic's record goes to all its
 * subscribers, then the turn ends once this many were queued. */
#define RC_FANOUT_BUDGET 4096
#define RC_FANOUT_DELIVERIES 16384

void rc_fanout_drain(rc_edge_t *e)
{
    e->log_ready = 0;
    rc_log_view_t v;
    int n = 0;
    uint64_t delivered = 0;
    for (; n < RC_FANOUT_BUDGET && delivered < RC_FANOUT_DELIVERIES; n++) {
        int r = rc_log_reader_next(&e->log, &e->reader, &v);
        if (r == 0)
            break;
        if (r < 0) {
            static rc_textlog_limit_t lim;
            RC_SLOT_ADD(e->slot, lapped, 1);
            if (rc_textlog_allow(&lim, 10))
                rc_textlog("warn", "msg=\"edge reader lapped by the log; jumped to the tail\" suppressed=%lu",
                        lim.suppressed);
            rc_lost_start(e);
            continue;
        }
        rc_topic_t *t = rc_topics_find(&e->topics, v.topic, v.topic_len, v.topic_hash);
        if (!t || t->reserved)
            continue;
        /* Backwards: a subscriber kicked here (slow consumer) stays
         * subscribed until its connection is freed at the end of the turn,
         * but iterating from the end keeps this loop safe either way. */
        t->last_epoch = v.epoch;
        t->last_offset = v.offset;
        for (uint32_t i = t->nsubs; i-- > 0;) {
            if (t->subs[i].replay) /* resuming: this one waits behind the replay */
                rc_replay_live(e, t->subs[i].replay - 1, &v);
            else
                rc_out_log(e, t->subs[i].conn, &v);
        }
        delivered += t->nsubs;
    }
    RC_SLOT_SET(e->slot, cursor_pos, e->reader.pos);
    if (e->reader.seq)
        RC_SLOT_SET(e->slot, cursor_seq, e->reader.seq);
    RC_SLOT_SET(e->slot, lost, e->reader.lost);
    if (n == RC_FANOUT_BUDGET || delivered >= RC_FANOUT_DELIVERIES)
        e->log_ready = 1; /* more to read: come back next turn, don't sleep */
}
