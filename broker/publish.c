#include "broker/publish.h"

#include <errno.h>
#include <string.h>

#include "common/alloc.h"
#include "proto/phx.h"
#include "proto/ws_frame.h"

/* Scratch space for encoding, grown to the largest event seen; it lives as
 * long as the broker (one thread writes the log). */
static char *scratch;
static size_t scratch_cap;

int64_t rc_broker_publish(rc_log_t *log, rc_slice_t topic, rc_slice_t event, rc_slice_t data_json)
{
    /* topic and event escape to at most 6x their bytes; the rest is fixed. */
    size_t need = 64 + 6 * (topic.n + event.n) + data_json.n;
    if (need > rc_log_max_frame(log))
        return -EMSGSIZE;
    if (need > scratch_cap) {
        scratch_cap = need < 4096 ? 4096 : need;
        scratch = rc_xrealloc(scratch, scratch_cap);
    }
    uint64_t seq = rc_log_next_seq(log);
    int n = rc_phx_encode_broadcast(scratch, scratch_cap, seq, topic, event, data_json);
    if (n < 0)
        return -EMSGSIZE;
    size_t hlen = rc_ws_header_size((uint64_t)n);
    uint8_t *frame = rc_log_reserve(log, topic.p, (uint16_t)topic.n, (uint32_t)(hlen + (size_t)n));
    if (!frame)
        return -EMSGSIZE;
    rc_ws_header_encode(frame, RC_WS_OP_TEXT, (uint64_t)n);
    memcpy(frame + hlen, scratch, (size_t)n);
    uint64_t got = rc_log_commit(log);
    return (int64_t)got;
}
