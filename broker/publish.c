#include "broker/publish.h"

#include <errno.h>
#include <string.h>

#include "common/alloc.h"
#include "proto/phx.h"
#include "proto/ws_frame.h"

/* Scratch space for encoding, grown to the largest event seen; it lives as
 * long as the broker (one thread writes the log). */
static char *scratch, *envelope;
static size_t scratch_cap, envelope_cap;

static size_t frame_bound(rc_slice_t topic, rc_slice_t event, rc_slice_t data_json, unsigned flags)
{
    /* topic and event escape to at most 6x their bytes; the rest is fixed. */
    size_t payload = flags & RC_PUBLISH_PUSHEX ? 24 + 6 * event.n + data_json.n : data_json.n;
    size_t ev = flags & RC_PUBLISH_PUSHEX ? 3 : event.n;
    return 64 + 6 * (topic.n + ev) + payload;
}

uint64_t rc_broker_publish_bound(rc_slice_t topic, rc_slice_t event, rc_slice_t data_json, unsigned flags)
{
    size_t n = frame_bound(topic, event, data_json, flags);
    return rc_rec_size((uint32_t)topic.n, (uint32_t)(rc_ws_header_size(n) + n));
}

int rc_broker_publish_fits(const rc_log_t *log, rc_slice_t topic, rc_slice_t event, rc_slice_t data_json,
                           unsigned flags)
{
    return frame_bound(topic, event, data_json, flags) + 14 <= rc_log_max_frame(log);
}

static void grow(char **buf, size_t *cap, size_t need)
{
    if (need > *cap) {
        *cap = need < 4096 ? 4096 : need;
        *buf = rc_xrealloc(*buf, *cap);
    }
}

int64_t rc_broker_publish(rc_log_t *log, rc_slice_t topic, rc_slice_t event, rc_slice_t data_json, unsigned flags,
                          uint64_t ts_ns)
{
    size_t need = frame_bound(topic, event, data_json, flags);
    if (need + 14 > rc_log_max_frame(log))
        return -EMSGSIZE;
    if (flags & RC_PUBLISH_PUSHEX) {
        grow(&envelope, &envelope_cap, need);
        size_t off = 0;
        memcpy(envelope, "{\"data\":", 8);
        off = 8;
        memcpy(envelope + off, data_json.p, data_json.n);
        off += data_json.n;
        memcpy(envelope + off, ",\"event\":", 9);
        off += 9;
        if (rc_json_put_string(envelope, envelope_cap, &off, event) || off + 1 > envelope_cap)
            return -EMSGSIZE;
        envelope[off++] = '}';
        data_json = rc_slice(envelope, off);
        event = RC_SLICE_LIT("msg");
    }
    grow(&scratch, &scratch_cap, need);
    /* The ref names the event's position in its topic, so the position is
     * chosen before the frame is encoded (the reserve below keeps it). */
    rc_topic_pos_t at = rc_log_next_position(log, topic.p, (uint16_t)topic.n);
    int n = rc_phx_encode_broadcast(scratch, scratch_cap, at.offset, topic, event, data_json);
    if (n < 0)
        return -EMSGSIZE;
    size_t hlen = rc_ws_header_size((uint64_t)n);
    uint8_t *frame = rc_log_reserve(log, topic.p, (uint16_t)topic.n, (uint32_t)(hlen + (size_t)n), ts_ns);
    if (!frame)
        return -EMSGSIZE;
    rc_ws_header_encode(frame, RC_WS_OP_TEXT, (uint64_t)n);
    memcpy(frame + hlen, scratch, (size_t)n);
    return (int64_t)(flags & RC_PUBLISH_QUIET ? rc_log_commit_quiet(log) : rc_log_commit(log));
}
