/* Phoenix serializer V2: decoding of client messages (text through jansson,
 * binary pushes by hand) and encoding of every server message shape. */
#include "proto/phx.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "proto/limits.h"
#include "proto/utf8.h"

static int fail(rc_phx_msg_t *m, const char **why, const char *text)
{
    *why = text;
    rc_phx_msg_release(m);
    return -EINVAL;
}

/* join_ref and ref: a string (echoed byte for byte later) or null. A number
 * is refused because the client compares refs with ===, so a reply carrying
 * a re-encoded number would never match. */
static int get_ref(json_t *v, rc_slice_t *out)
{
    if (json_is_null(v)) {
        *out = RC_SLICE_NULL;
        return 0;
    }
    if (!json_is_string(v))
        return -1;
    if (json_string_length(v) > RC_REF_MAX)
        return -2;
    *out = rc_slice(json_string_value(v), json_string_length(v));
    return 0;
}

/* topic and event: non-empty strings of at most max bytes. */
static int get_name(json_t *v, size_t max, rc_slice_t *out)
{
    if (!json_is_string(v) || json_string_length(v) == 0)
        return -1;
    if (json_string_length(v) > max)
        return -2;
    *out = rc_slice(json_string_value(v), json_string_length(v));
    return 0;
}

int rc_phx_decode_text(const char *buf, size_t len, rc_phx_msg_t *m, const char **why)
{
    json_error_t err;
    int r;

    memset(m, 0, sizeof(*m));
    /* No JSON_ALLOW_NUL: jansson then refuses \u0000, so every decoded
     * string is free of NULs; jansson also checks the input is UTF-8. */
    m->root = json_loadb(buf, len, 0, &err);
    if (!m->root)
        return fail(m, why, "invalid JSON");
    if (!json_is_array(m->root) || json_array_size(m->root) < 5)
        return fail(m, why, "not a JSON array of 5");

    r = get_ref(json_array_get(m->root, 0), &m->join_ref);
    if (r == -1)
        return fail(m, why, "join_ref must be a string or null");
    if (r == -2)
        return fail(m, why, "join_ref too long");
    r = get_ref(json_array_get(m->root, 1), &m->ref);
    if (r == -1)
        return fail(m, why, "ref must be a string or null");
    if (r == -2)
        return fail(m, why, "ref too long");
    r = get_name(json_array_get(m->root, 2), RC_TOPIC_MAX, &m->topic);
    if (r == -1)
        return fail(m, why, "topic must be a non-empty string");
    if (r == -2)
        return fail(m, why, "topic too long");
    r = get_name(json_array_get(m->root, 3), RC_EVENT_MAX, &m->event);
    if (r == -1)
        return fail(m, why, "event must be a non-empty string");
    if (r == -2)
        return fail(m, why, "event too long");
    m->payload = json_array_get(m->root, 4);
    return 0;
}

static int text_field_ok(const uint8_t *p, size_t n)
{
    return rc_utf8_valid(p, n) && !memchr(p, 0, n);
}

int rc_phx_decode_binary(const uint8_t *buf, size_t len, rc_phx_msg_t *m, const char **why)
{
    size_t jl, rl, tl, el, pos = 5;
    const char *p = (const char *)buf;

    memset(m, 0, sizeof(*m));
    if (len < 5)
        return fail(m, why, "binary push too short");
    if (buf[0] != 0)
        return fail(m, why, "only binary pushes (kind 0) are accepted");
    jl = buf[1];
    rl = buf[2];
    tl = buf[3];
    el = buf[4];
    if (len - pos < jl + rl + tl + el)
        return fail(m, why, "binary push shorter than its header says");
    if (jl > RC_REF_MAX)
        return fail(m, why, "join_ref too long");
    if (rl > RC_REF_MAX)
        return fail(m, why, "ref too long");
    if (tl == 0)
        return fail(m, why, "topic must be a non-empty string");
    if (el == 0)
        return fail(m, why, "event must be a non-empty string");
    /* These strings are echoed into JSON text frames, which must be UTF-8;
     * the JSON path gets this check from jansson. Each field on its own: a
     * character must not straddle two fields. */
    if (!text_field_ok(buf + pos, jl) || !text_field_ok(buf + pos + jl, rl) ||
        !text_field_ok(buf + pos + jl + rl, tl) || !text_field_ok(buf + pos + jl + rl + tl, el))
        return fail(m, why, "binary push strings must be UTF-8 without NUL");
    /* Zero lengths are empty strings, not null, as in Phoenix's decoder. */
    m->join_ref = rc_slice(p + pos, jl);
    pos += jl;
    m->ref = rc_slice(p + pos, rl);
    pos += rl;
    m->topic = rc_slice(p + pos, tl);
    pos += tl;
    m->event = rc_slice(p + pos, el);
    pos += el;
    m->binary = rc_slice(p + pos, len - pos);
    return 0;
}

void rc_phx_msg_release(rc_phx_msg_t *m)
{
    if (m->root)
        json_decref(m->root);
    m->root = NULL;
    m->payload = NULL;
}

static int put_raw(char *out, size_t cap, size_t *off, const char *s, size_t n)
{
    if (*off > cap || n > cap - *off)
        return -ENOSPC;
    if (n)
        memcpy(out + *off, s, n);
    *off += n;
    return 0;
}

int rc_json_put_string(char *out, size_t cap, size_t *off, rc_slice_t s)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = *off, run = 0;

    if (!s.p)
        return put_raw(out, cap, off, "null", 4);
    if (put_raw(out, cap, &o, "\"", 1))
        return -ENOSPC;
    for (size_t i = 0; i < s.n; i++) {
        unsigned char c = (unsigned char)s.p[i];
        char esc[6];
        size_t en = 2;

        if (c >= 0x20 && c != '"' && c != '\\')
            continue; /* copied through with the run below */
        /* Flush the run of plain bytes before this one. */
        if (put_raw(out, cap, &o, s.p + run, i - run))
            return -ENOSPC;
        run = i + 1;
        esc[0] = '\\';
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            en = 6;
        }
        if (put_raw(out, cap, &o, esc, en))
            return -ENOSPC;
    }
    if (put_raw(out, cap, &o, s.p + run, s.n - run) || put_raw(out, cap, &o, "\"", 1))
        return -ENOSPC;
    *off = o;
    return 0;
}

/* Raw JSON supplied by our own code (payloads, responses); NULL is null. */
static int put_json(char *out, size_t cap, size_t *off, rc_slice_t j)
{
    if (!j.p)
        return put_raw(out, cap, off, "null", 4);
    return put_raw(out, cap, off, j.p, j.n);
}

#define PUT_LIT(s) put_raw(out, cap, &off, (s), sizeof(s) - 1)
#define PUT_STR(s) rc_json_put_string(out, cap, &off, (s))
#define PUT_JSON(s) put_json(out, cap, &off, (s))

static int finish(int err, size_t off)
{
    return (err || off > INT_MAX) ? -ENOSPC : (int)off;
}

int rc_phx_encode_reply(char *out, size_t cap, rc_slice_t join_ref, rc_slice_t ref,
                        rc_slice_t topic, const char *status, rc_slice_t response_json)
{
    size_t off = 0;
    int err = PUT_LIT("[") || PUT_STR(join_ref) || PUT_LIT(",") || PUT_STR(ref) ||
              PUT_LIT(",") || PUT_STR(topic) || PUT_LIT(",\"phx_reply\",{\"status\":") ||
              PUT_STR(rc_slice_cstr(status)) || PUT_LIT(",\"response\":") ||
              PUT_JSON(response_json) || PUT_LIT("}]");
    return finish(err, off);
}

int rc_phx_encode_push(char *out, size_t cap, rc_slice_t join_ref, rc_slice_t topic,
                       rc_slice_t event, rc_slice_t payload_json)
{
    size_t off = 0;
    int err = PUT_LIT("[") || PUT_STR(join_ref) || PUT_LIT(",null,") || PUT_STR(topic) ||
              PUT_LIT(",") || PUT_STR(event) || PUT_LIT(",") || PUT_JSON(payload_json) ||
              PUT_LIT("]");
    return finish(err, off);
}

int rc_phx_encode_close(char *out, size_t cap, rc_slice_t join_ref, rc_slice_t topic)
{
    size_t off = 0;
    int err = PUT_LIT("[") || PUT_STR(join_ref) || PUT_LIT(",") || PUT_STR(join_ref) ||
              PUT_LIT(",") || PUT_STR(topic) || PUT_LIT(",\"phx_close\",{}]");
    return finish(err, off);
}

int rc_phx_encode_error(char *out, size_t cap, rc_slice_t join_ref, rc_slice_t topic,
                        const char *reason)
{
    size_t off = 0;
    int err = PUT_LIT("[") || PUT_STR(join_ref) || PUT_LIT(",") || PUT_STR(join_ref) ||
              PUT_LIT(",") || PUT_STR(topic) || PUT_LIT(",\"phx_error\",{\"reason\":") ||
              PUT_STR(rc_slice_cstr(reason)) || PUT_LIT("}]");
    return finish(err, off);
}

int rc_phx_encode_broadcast(char *out, size_t cap, uint64_t offset, rc_slice_t topic,
                            rc_slice_t event, rc_slice_t data_json)
{
    char ref[24];
    size_t off = 0;
    ref[0] = '"';
    ref[1] = '@';
    size_t n = 2 + rc_u64_dec(ref + 2, offset);
    ref[n++] = '"';
    /* the ref is digits: copied, not escaped */
    int err = PUT_LIT("[null,") || put_raw(out, cap, &off, ref, n) || PUT_LIT(",") ||
              PUT_STR(topic) || PUT_LIT(",") || PUT_STR(event) || PUT_LIT(",") ||
              PUT_JSON(data_json) || PUT_LIT("]");
    return finish(err, off);
}
