#include "shm/topic_walk.h"

#include <string.h>

#include "shm/topic_index.h"
#include "shm/tsan.h"

/* The record at pos if it is topic's, at offset in epoch. indexed: pos
 * came from the index and may be published an instant later. */
static int read_of(const rc_log_t *log, uint64_t pos, const char *topic, uint16_t len, uint64_t epoch,
                   uint64_t offset, int indexed, rc_log_view_t *v)
{
    if (pos == UINT64_MAX || offset == 0)
        return 0;
    if (!(indexed ? rc_log_read_indexed(log, pos, v) : rc_log_read_at(log, pos, v)))
        return 0;
    if (v->epoch != epoch || v->offset != offset || v->topic_len != len)
        return 0;
    RC_TSAN_IGNORE_READS_BEGIN(); /* validated by the intact check after */
    int same = memcmp(v->topic, topic, len) == 0;
    RC_TSAN_IGNORE_READS_END();
    return same && rc_log_intact(log, v->pos, v->len);
}

int rc_topic_prev(const rc_log_t *log, const char *topic, uint16_t len, const rc_log_view_t *v, rc_log_view_t *out)
{
    return read_of(log, v->prev_pos, topic, len, v->epoch, v->offset - 1, 0, out);
}

static int jump(const rc_log_t *log, const char *topic, uint16_t len, const rc_log_view_t *v, rc_log_view_t *out)
{
    return v->jump_pos != UINT64_MAX && v->jump_offset < v->offset &&
           read_of(log, v->jump_pos, topic, len, v->epoch, v->jump_offset, 0, out);
}

int rc_topic_seek(const rc_log_t *log, const char *topic, uint16_t len, const rc_log_view_t *from, uint64_t target,
                  rc_log_view_t *out)
{
    rc_log_view_t x = *from, y;
    while (x.offset > target) {
        if (x.jump_pos != UINT64_MAX && x.jump_offset >= target && x.jump_offset < x.offset) {
            /* Records are in position order: if the jump's record is gone,
             * so is every older one, the target among them. */
            if (!jump(log, topic, len, &x, &y))
                return 0;
        } else if (!rc_topic_prev(log, topic, len, &x, &y)) {
            return 0;
        }
        x = y;
    }
    if (x.offset != target)
        return 0;
    *out = x;
    return 1;
}

void rc_topic_oldest(const rc_log_t *log, const char *topic, uint16_t len, const rc_log_view_t *from,
                     rc_log_view_t *out)
{
    /* What the log holds of a run is a suffix of it: "jump if it is still
     * there" is a search for the boundary, O(log n) with skew-binary jumps. */
    rc_log_view_t x = *from, y;
    for (;;) {
        if (jump(log, topic, len, &x, &y) || rc_topic_prev(log, topic, len, &x, &y))
            x = y;
        else
            break;
    }
    *out = x;
}

void rc_topic_state(const rc_log_t *log, const char *topic, uint16_t len, uint64_t limit, rc_topic_state_t *st)
{
    memset(st, 0, sizeof(*st));
    uint64_t key = rc_topic_index_key(log, topic, len);
    rc_topic_snapshot_t s;
    if (!rc_topic_index_lookup(log, key, &s)) {
        /* No entry: the topic's next record starts a run in this epoch. */
        st->epoch = rc_topic_run_epoch(log, key);
        return;
    }
    st->epoch = s.epoch;
    st->offset = s.offset;
    rc_log_view_t x, y;
    if (!read_of(log, s.pos, topic, len, s.epoch, s.offset, 1, &x))
        return; /* its latest record is gone: the log holds nothing of it */
    rc_log_view_t old;
    rc_topic_oldest(log, topic, len, &x, &old);
    st->oldest = old.offset;
    /* Records at or past limit reach the reader live: the position is the
     * last one before them. */
    while (x.pos >= limit) {
        if (!rc_topic_prev(log, topic, len, &x, &y)) {
            st->offset = x.offset - 1;
            return;
        }
        x = y;
    }
    st->offset = x.offset;
    st->head = x;
    st->have_head = 1;
}
