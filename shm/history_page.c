#include "shm/history_page.h"

#include <string.h>

#include "common/alloc.h"
#include "proto/phx.h"
#include "shm/topic_walk.h"
#include "shm/tsan.h"

/* The text of a record's frame: past its WebSocket header (the broker
 * writes unmasked text frames: 2, 4 or 10 header bytes). */
static int frame_text(const rc_log_view_t *v, const char **text, size_t *n)
{
    if (v->frame_len < 2)
        return -1;
    uint8_t b = v->frame[1] & 0x7f;
    size_t h = b < 126 ? 2 : b == 126 ? 4 : 10;
    if (v->frame_len < h)
        return -1;
    *text = (const char *)v->frame + h;
    *n = v->frame_len - h;
    return 0;
}

typedef struct entry {
    rc_log_view_t v;
    rc_slice_t event, data;
    size_t bytes; /* of its JSON object, with the comma before it */
} entry_t;

static void put(char **buf, size_t *cap, size_t *off, const void *p, size_t n)
{
    if (*off + n > *cap) {
        *cap = (*off + n) * 2;
        *buf = rc_xrealloc(*buf, *cap);
    }
    memcpy(*buf + *off, p, n);
    *off += n;
}
#define PUT_LIT(s) put(buf, cap, &off, s, sizeof(s) - 1)

long rc_history_page(const rc_log_t *log, const char *topic, uint16_t len, uint64_t limit_pos,
                     const rc_history_req_t *req, size_t max_bytes, char **buf, size_t *cap)
{
    rc_topic_state_t st;
    rc_topic_state(log, topic, len, limit_pos, &st);
    uint64_t lo = 1, hi = 0;
    uint64_t limit = req->limit ? req->limit : RC_HISTORY_LIMIT_MAX;
    if (st.have_head) {
        if (req->dir == RC_HISTORY_AFTER) {
            lo = req->at + 1;
            hi = req->at + limit < st.offset ? req->at + limit : st.offset;
            if (lo < st.oldest) { /* the log no longer holds the first ones: start at its oldest */
                lo = st.oldest;
                hi = lo + limit - 1 < st.offset ? lo + limit - 1 : st.offset;
            }
        } else {
            hi = req->dir == RC_HISTORY_BEFORE ? (req->at ? req->at - 1 : 0) : st.offset;
            if (hi > st.offset)
                hi = st.offset;
            lo = hi >= limit ? hi - limit + 1 : 1;
            if (lo < st.oldest)
                lo = st.oldest;
        }
    }
    entry_t ents[RC_HISTORY_LIMIT_MAX];
    size_t n = 0;
    if (st.have_head && hi >= lo && hi >= st.oldest) {
        rc_log_view_t x;
        if (!rc_topic_seek(log, topic, len, &st.head, hi, &x))
            return -1;
        /* newest first; an older record gone meanwhile ends the page there */
        for (;;) {
            const char *text;
            size_t tn;
            entry_t *en = &ents[n];
            en->v = x;
            RC_TSAN_IGNORE_READS_BEGIN(); /* checked intact once copied */
            int bad = frame_text(&x, &text, &tn) || rc_broadcast_parts(text, tn, &en->event, &en->data);
            RC_TSAN_IGNORE_READS_END();
            if (bad)
                return -1;
            char num[24];
            en->bytes = 1 + 10 + rc_u64_dec(num, x.offset) + 9 + en->event.n + 8 + en->data.n + 1;
            n++;
            if (x.offset == lo || n == RC_HISTORY_LIMIT_MAX || !rc_topic_prev(log, topic, len, &en->v, &x))
                break;
        }
    }
    /* ents[0] is the newest. Keep the ones nearest the request's position
     * within max_bytes: the newest for before (and the newest page), the
     * oldest for after. At least one. */
    size_t first = 0, count = n, total = 0;
    int keep_old = req->dir == RC_HISTORY_AFTER;
    for (size_t k = 0; k < n; k++) {
        size_t i = keep_old ? n - 1 - k : k;
        if (k && total + ents[i].bytes > max_bytes) {
            count = k;
            break;
        }
        total += ents[i].bytes;
    }
    if (keep_old)
        first = n - count;
    /* entries first .. first + count - 1, oldest (highest index) first */
    int more = 0;
    if (!count)
        more = 0;
    else if (keep_old)
        more = ents[first].v.offset < st.offset;
    else
        more = ents[first + count - 1].v.offset > st.oldest;
    size_t off = 0;
    PUT_LIT("{\"events\":[");
    for (size_t k = 0; k < count; k++) {
        const entry_t *en = &ents[first + count - 1 - k];
        char num[24];
        if (k)
            PUT_LIT(",");
        PUT_LIT("{\"offset\":");
        put(buf, cap, &off, num, rc_u64_dec(num, en->v.offset));
        PUT_LIT(",\"event\":");
        RC_TSAN_IGNORE_READS_BEGIN();
        put(buf, cap, &off, en->event.p, en->event.n);
        PUT_LIT(",\"data\":");
        put(buf, cap, &off, en->data.p, en->data.n);
        RC_TSAN_IGNORE_READS_END();
        PUT_LIT("}");
    }
    if (more)
        PUT_LIT("],\"more\":true}");
    else
        PUT_LIT("],\"more\":false}");
    /* The bytes copied are what the records held only if they are still
     * intact now. */
    for (size_t k = 0; k < count; k++)
        if (!rc_log_intact(log, ents[first + k].v.pos, ents[first + k].v.len))
            return -1;
    return (long)off;
}
