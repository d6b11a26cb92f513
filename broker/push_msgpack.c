/* Push bodies in msgpack (msgpack-c): one event as a map, a batch as an
 * array of maps, with the keys of the JSON form. data is any msgpack value
 * converted to compact JSON once, here; with "data_json": true it is a
 * string of pre-encoded JSON instead.
 *
 * msgpack-c allocates an array's or map's elements as soon as it reads the
 * declared count, so a 5-byte body could ask for gigabytes: a bounds check
 * walks the bytes first and refuses counts and lengths the body cannot
 * hold. msgpack-c itself refuses nesting deeper than its stack (32 levels
 * in all). */
#include "broker/push_parse.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "common/alloc.h"
#include "proto/phx.h"
#include "proto/utf8.h"

static uint64_t mp_be(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* msgpack-c's unpacker holds at most this many open containers. */
#define MP_MAX_OPEN 32

/* Walks one msgpack value and checks that every declared count and length
 * fits in the bytes left, and that no more than MP_MAX_OPEN containers are
 * open at once. Returns the bytes it spans, -EINVAL (truncated or a count
 * the body cannot hold) or -ELOOP (too deep; *deep_index is the element of
 * the outermost array it is in, -1 if that is not an array). */
static long mp_bounds(const uint8_t *p, size_t n, long *deep_index)
{
    uint64_t left[MP_MAX_OPEN + 1]; /* values still to read per open container */
    uint64_t count1 = 0;            /* declared count of the outermost container */
    int depth = 0, outer_array = 0;
    size_t i = 0, need = 1;         /* values still to read in all */
    do {
        if (i >= n)
            return -EINVAL;
        if (depth)
            left[depth]--;
        uint8_t c = p[i++];
        need--;
        uint64_t count = 0, skip = 0;
        unsigned w = 0, container = 0;
        if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3) {
            /* fixint, nil, bool */
        } else if (c <= 0x8f) {
            count = 2u * (c & 0x0f);
            container = 'm';
        } else if (c <= 0x9f) {
            count = c & 0x0f;
            container = 'a';
        } else if (c <= 0xbf) {
            skip = c & 0x1f;
        } else if (c == 0xc1) {
            return -EINVAL;
        } else if (c >= 0xc4 && c <= 0xc6) { /* bin 8/16/32 */
            w = 1u << (c - 0xc4);
        } else if (c >= 0xc7 && c <= 0xc9) { /* ext 8/16/32: length, type */
            w = 1u << (c - 0xc7);
            skip = 1;
        } else if (c == 0xca || c == 0xcb) {
            skip = c == 0xca ? 4 : 8;
        } else if (c >= 0xcc && c <= 0xd3) {
            skip = 1u << ((c - 0xcc) & 3);
        } else if (c >= 0xd4 && c <= 0xd8) { /* fixext: type + 1..16 */
            skip = 1 + (1u << (c - 0xd4));
        } else if (c >= 0xd9 && c <= 0xdb) {
            w = 1u << (c - 0xd9);
        } else { /* 0xdc, 0xdd: array 16/32; 0xde, 0xdf: map 16/32 */
            unsigned cw = (c & 1) ? 4 : 2;
            if (n - i < cw)
                return -EINVAL;
            count = mp_be(p + i, cw) * (c >= 0xde ? 2 : 1);
            container = c >= 0xde ? 'm' : 'a';
            i += cw;
        }
        if (w) {
            if (n - i < w)
                return -EINVAL;
            skip += mp_be(p + i, w);
            i += w;
        }
        if (skip > n - i)
            return -EINVAL;
        i += skip;
        /* every value takes at least one byte */
        if (count > n - i || need + count > n - i)
            return -EINVAL;
        need += count;
        if (container) {
            if (depth == MP_MAX_OPEN) {
                *deep_index = outer_array ? (long)(count1 - left[1] - 1) : -1;
                return -ELOOP;
            }
            if (depth == 0) {
                count1 = count;
                outer_array = container == 'a';
            }
            left[++depth] = count;
        }
        while (depth > 0 && left[depth] == 0)
            depth--;
    } while (depth > 0);
    return (long)i;
}

static void mp_put(rc_push_batch_t *b, const char *s, size_t n)
{
    rc_push_text_reserve(b, n);
    memcpy(b->text + b->text_len, s, n);
    b->text_len += n;
}

static int mp_put_str(rc_push_batch_t *b, const char *s, size_t n)
{
    if (!rc_utf8_valid((const uint8_t *)s, n))
        return -EILSEQ;
    rc_push_text_reserve(b, 6 * n + 2);
    int r = rc_json_put_string(b->text, b->text_cap, &b->text_len, rc_slice(n ? s : "", n));
    return r ? -EILSEQ : 0;
}

/* Appends o as JSON. Returns 0, -EILSEQ (invalid UTF-8), -EDOM (NaN or
 * infinity), -EPROTO (binary, ext, a map key that is not a string),
 * -ENOTSUP (a map key with NUL). */
static int mp_to_json(rc_push_batch_t *b, const msgpack_object *o)
{
    char num[40];
    int n, r;
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        mp_put(b, "null", 4);
        return 0;
    case MSGPACK_OBJECT_BOOLEAN:
        if (o->via.boolean)
            mp_put(b, "true", 4);
        else
            mp_put(b, "false", 5);
        return 0;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        mp_put(b, num, rc_u64_dec(num, o->via.u64));
        return 0;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        /* negative: -(v + 1) + 1 keeps INT64_MIN in range */
        num[0] = '-';
        mp_put(b, num, 1 + rc_u64_dec(num + 1, (uint64_t)(-(o->via.i64 + 1)) + 1));
        return 0;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        if (!isfinite(o->via.f64))
            return -EDOM;
        n = snprintf(num, sizeof(num), "%.17g", o->via.f64);
        mp_put(b, num, (size_t)n);
        return 0;
    case MSGPACK_OBJECT_STR:
        return mp_put_str(b, o->via.str.ptr, o->via.str.size);
    case MSGPACK_OBJECT_ARRAY:
        mp_put(b, "[", 1);
        for (uint32_t i = 0; i < o->via.array.size; i++) {
            if (i)
                mp_put(b, ",", 1);
            if ((r = mp_to_json(b, &o->via.array.ptr[i])))
                return r;
        }
        mp_put(b, "]", 1);
        return 0;
    case MSGPACK_OBJECT_MAP:
        mp_put(b, "{", 1);
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            const msgpack_object_kv *kv = &o->via.map.ptr[i];
            if (kv->key.type != MSGPACK_OBJECT_STR)
                return -EPROTO;
            /* JSON allows it, but no JSON library we know keeps it in a key */
            if (memchr(kv->key.via.str.ptr, 0, kv->key.via.str.size))
                return -ENOTSUP;
            if (i)
                mp_put(b, ",", 1);
            if ((r = mp_put_str(b, kv->key.via.str.ptr, kv->key.via.str.size)))
                return r;
            mp_put(b, ":", 1);
            if ((r = mp_to_json(b, &kv->val)))
                return r;
        }
        mp_put(b, "}", 1);
        return 0;
    default:
        return -EPROTO;
    }
}

static rc_slice_t mp_str(const msgpack_object *o)
{
    return rc_slice(o->via.str.size ? o->via.str.ptr : "", o->via.str.size);
}

static int mp_key_is(const msgpack_object *k, const char *lit)
{
    size_t n = strlen(lit);
    return k->via.str.size == n && memcmp(k->via.str.ptr, lit, n) == 0;
}

static int mp_event(rc_push_batch_t *b, const msgpack_object *o, long index, const rc_push_limits_t *lim)
{
    if (o->type != MSGPACK_OBJECT_MAP)
        return rc_push_fail(b, 400, index, "%s must be a msgpack map with topic, event and data",
                            index < 0 ? "body" : "each event");
    const msgpack_object *topic = NULL, *channel = NULL, *event = NULL, *data = NULL, *dj = NULL;
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object *k = &o->via.map.ptr[i].key, *v = &o->via.map.ptr[i].val;
        const msgpack_object **slot = NULL;
        if (k->type != MSGPACK_OBJECT_STR)
            return rc_push_fail(b, 400, index, "event keys must be strings");
        if (mp_key_is(k, "topic"))
            slot = &topic;
        else if (mp_key_is(k, "channel"))
            slot = &channel;
        else if (mp_key_is(k, "event"))
            slot = &event;
        else if (mp_key_is(k, "data"))
            slot = &data;
        else if (mp_key_is(k, "data_json"))
            slot = &dj;
        else
            continue; /* unknown keys are ignored, as in JSON */
        if (*slot)
            return rc_push_fail(b, 400, index, "duplicate key %.*s", (int)k->via.str.size, k->via.str.ptr);
        *slot = v;
    }
    rc_push_event_t *e = rc_push_event_add(b);
    if (!topic)
        topic = channel;
    if (!topic)
        return rc_push_fail(b, 400, index, "topic (or channel) is required");
    if (topic->type == MSGPACK_OBJECT_ARRAY) {
        uint32_t n = topic->via.array.size;
        if (n == 0 || n > RC_PUSH_MAX_TOPICS)
            return rc_push_fail(b, 400, index, "topic array must hold 1..%d topics", RC_PUSH_MAX_TOPICS);
        e->topic_list = 1;
        for (uint32_t i = 0; i < n; i++) {
            const msgpack_object *t = &topic->via.array.ptr[i];
            if (t->type != MSGPACK_OBJECT_STR)
                return rc_push_fail(b, 400, index, "each topic must be a non-empty string");
            if (rc_push_topic_add(b, e, mp_str(t), index))
                return -EINVAL;
        }
    } else if (topic->type != MSGPACK_OBJECT_STR) {
        return rc_push_fail(b, 400, index, "topic must be a non-empty string or an array of them");
    } else if (rc_push_topic_add(b, e, mp_str(topic), index)) {
        return -EINVAL;
    }
    if (!event || event->type != MSGPACK_OBJECT_STR)
        return rc_push_fail(b, 400, index, "event must be a non-empty string");
    if (rc_push_event_name(b, mp_str(event), index))
        return -EINVAL;
    e->event = mp_str(event);
    if (!data)
        return rc_push_fail(b, 400, index, "data is required (any value)");
    if (dj && dj->type != MSGPACK_OBJECT_BOOLEAN)
        return rc_push_fail(b, 400, index, "data_json must be true or false");
    if (dj && dj->via.boolean) {
        if (data->type != MSGPACK_OBJECT_STR)
            return rc_push_fail(b, 400, index, "data_json: true needs data as a string of JSON");
        return rc_push_data_json(b, e, mp_str(data), index, lim);
    }
    switch (mp_to_json(b, data)) {
    case 0:
        return rc_push_data_end(b, e, index, lim);
    case -EILSEQ:
        return rc_push_fail(b, 422, index, "invalid UTF-8 in data");
    case -ENOTSUP:
        return rc_push_fail(b, 422, index, "data has a map key containing NUL");
    case -EDOM:
        return rc_push_fail(b, 422, index, "data holds NaN or infinity, which JSON cannot");
    default:
        return rc_push_fail(b, 422, index, "data holds binary, ext or a map key that is not a string, which JSON cannot");
    }
}

int rc_push_parse_msgpack(rc_push_batch_t *b, const char *body, size_t len, int batch, const rc_push_limits_t *lim)
{
    long deep = -1;
    long span = mp_bounds((const uint8_t *)body, len, &deep);
    if (span == -ELOOP)
        return rc_push_fail(b, 422, batch ? deep : -1,
                            "data nested too deep: msgpack bodies hold at most %d levels in all (%d in data, %d in "
                            "a batch's data)", MP_MAX_OPEN, MP_MAX_OPEN - 1, MP_MAX_OPEN - 2);
    if (span < 0)
        return rc_push_fail(b, 400, -1, "invalid msgpack: truncated, or a length larger than the body");
    if ((size_t)span != len)
        return rc_push_fail(b, 400, -1, "invalid msgpack: %zu bytes after the value", len - (size_t)span);
    msgpack_unpacked *u = rc_xmalloc(sizeof(*u));
    msgpack_unpacked_init(u);
    b->mp_unpacked = u;
    size_t off = 0;
    msgpack_unpack_return r = msgpack_unpack_next(u, body, len, &off);
    if (r != MSGPACK_UNPACK_SUCCESS)
        return rc_push_fail(b, 400, -1, "invalid msgpack");
    const msgpack_object *root = &u->data;
    if (!batch)
        return mp_event(b, root, -1, lim);
    if (root->type != MSGPACK_OBJECT_ARRAY)
        return rc_push_fail(b, 400, -1, "a batch is a msgpack array of events");
    uint32_t n = root->via.array.size;
    if (n == 0)
        return rc_push_fail(b, 400, -1, "a batch holds at least one event");
    if (n > lim->max_batch)
        return rc_push_fail(b, 413, -1, "batch of %u events, more than max_batch (%zu)", n, lim->max_batch);
    for (uint32_t i = 0; i < n; i++)
        if (mp_event(b, &root->via.array.ptr[i], (long)i, lim))
            return -EINVAL;
    return 0;
}
