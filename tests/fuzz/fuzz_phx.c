/* libFuzzer driver for the Phoenix serializer: decode the input as a text
 * message and as a binary push; whatever decodes is echoed back through the
 * encoders, and the encoded text must decode again to the same fields. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/limits.h"
#include "proto/phx.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static int same(rc_slice_t a, rc_slice_t b)
{
    if (!a.p || !b.p)
        return !a.p && !b.p;
    return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

static void check_fields(const rc_phx_msg_t *m)
{
    CHECK(m->topic.p && m->topic.n >= 1 && m->topic.n <= RC_TOPIC_MAX);
    CHECK(m->event.p && m->event.n >= 1 && m->event.n <= RC_EVENT_MAX);
    CHECK(!m->join_ref.p || m->join_ref.n <= RC_REF_MAX);
    CHECK(!m->ref.p || m->ref.n <= RC_REF_MAX);
}

/* Decodes out[0..n) and checks it is a valid message with these fields. */
static void redecode(const char *out, int n, rc_slice_t jr, rc_slice_t ref, rc_slice_t topic,
                     const char *event, json_t *payload)
{
    rc_phx_msg_t m;
    const char *why = NULL;

    CHECK(n > 0);
    CHECK(rc_phx_decode_text(out, (size_t)n, &m, &why) == 0);
    CHECK(same(m.join_ref, jr));
    CHECK(same(m.ref, ref));
    CHECK(same(m.topic, topic));
    if (event)
        CHECK(rc_slice_eq(m.event, event));
    if (payload)
        CHECK(json_equal(m.payload, payload));
    rc_phx_msg_release(&m);
}

static void echo(const rc_phx_msg_t *m)
{
    static char out[4096];
    rc_slice_t ev = rc_slice(m->event.p, m->event.n);
    char *dump = NULL;
    int n;

    n = rc_phx_encode_reply(out, sizeof(out), m->join_ref, m->ref, m->topic, "ok",
                            RC_SLICE_LIT("{}"));
    redecode(out, n, m->join_ref, m->ref, m->topic, "phx_reply", NULL);

    /* Too small a buffer is refused, never overrun. */
    CHECK(rc_phx_encode_reply(out, (size_t)n - 1, m->join_ref, m->ref, m->topic, "ok",
                              RC_SLICE_LIT("{}")) == -ENOSPC);

    n = rc_phx_encode_close(out, sizeof(out), m->join_ref, m->topic);
    redecode(out, n, m->join_ref, m->join_ref, m->topic, "phx_close", NULL);

    n = rc_phx_encode_error(out, sizeof(out), m->join_ref, m->topic, "channel_crash");
    redecode(out, n, m->join_ref, m->join_ref, m->topic, "phx_error", NULL);

    if (m->payload) {
        dump = json_dumps(m->payload, JSON_COMPACT | JSON_ENCODE_ANY);
        CHECK(dump);
        n = rc_phx_encode_push(out, sizeof(out), m->join_ref, m->topic, ev, rc_slice_cstr(dump));
        if (n != -ENOSPC)
            redecode(out, n, m->join_ref, RC_SLICE_NULL, m->topic, NULL, m->payload);
        n = rc_phx_encode_broadcast(out, sizeof(out), (uint64_t)m->topic.n << 40, m->topic, ev,
                                    rc_slice_cstr(dump));
        if (n != -ENOSPC) {
            rc_phx_msg_t b;
            const char *why = NULL;
            CHECK(rc_phx_decode_text(out, (size_t)n, &b, &why) == 0);
            CHECK(!b.join_ref.p && b.ref.p && b.ref.p[0] == '@');
            CHECK(json_equal(b.payload, m->payload));
            rc_phx_msg_release(&b);
        }
        free(dump);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rc_phx_msg_t m;
    const char *why = NULL;
    int r;

    r = rc_phx_decode_text((const char *)data, size, &m, &why);
    CHECK(r == 0 || (r == -EINVAL && why && m.root == NULL));
    if (r == 0) {
        check_fields(&m);
        CHECK(m.root && json_is_array(m.root) && m.payload && !m.binary.p);
        echo(&m);
        rc_phx_msg_release(&m);
    }

    r = rc_phx_decode_binary(data, size, &m, &why);
    CHECK(r == 0 || (r == -EINVAL && why));
    if (r == 0) {
        check_fields(&m);
        CHECK(m.join_ref.p && m.ref.p && m.binary.p && !m.root && !m.payload);
        CHECK((const uint8_t *)m.binary.p + m.binary.n == data + size);
        echo(&m);
        rc_phx_msg_release(&m);
    }
    return 0;
}
