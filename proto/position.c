#include "proto/position.h"

#include <errno.h>
#include <string.h>

void rc_epoch_hex(char out[RC_EPOCH_HEX], uint64_t epoch)
{
    static const char digits[] = "0123456789abcdef";
    for (int i = RC_EPOCH_HEX - 1; i >= 0; i--) {
        out[i] = digits[epoch & 15];
        epoch >>= 4;
    }
}

int rc_epoch_parse(rc_slice_t s, uint64_t *epoch)
{
    if (!s.p || s.n == 0 || s.n > RC_EPOCH_HEX)
        return -EINVAL;
    uint64_t v = 0;
    for (size_t i = 0; i < s.n; i++) {
        char c = s.p[i];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            d = (unsigned)(c - 'A' + 10);
        else
            return -EINVAL;
        v = v << 4 | d;
    }
    *epoch = v;
    return 0;
}

/* A JSON integer >= 0 (jansson keeps integers as json_int_t). */
static int get_offset(const json_t *v, uint64_t *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return -EINVAL;
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

int rc_since_parse(const json_t *payload, rc_since_t *s, const char **why)
{
    memset(s, 0, sizeof(*s));
    const json_t *since = json_is_object(payload) ? json_object_get(payload, "since") : NULL;
    if (!since || json_is_null(since))
        return 0;
    const json_t *ep = json_object_get(since, "epoch"), *off = json_object_get(since, "offset");
    if (!json_is_object(since) || !json_is_string(ep) ||
        rc_epoch_parse(rc_slice(json_string_value(ep), json_string_length(ep)), &s->epoch) ||
        get_offset(off, &s->offset)) {
        *why = "since must be {\"epoch\": \"<hex>\", \"offset\": <integer >= 0>}";
        return -EINVAL;
    }
    s->present = 1;
    return 0;
}

int rc_history_parse(const json_t *payload, unsigned max, rc_history_req_t *r, const char **why)
{
    memset(r, 0, sizeof(*r));
    r->limit = max;
    if (json_is_null(payload))
        return 0;
    if (!json_is_object(payload)) {
        *why = "history takes an object: {\"before\" or \"after\": offset, \"limit\": n}";
        return -EINVAL;
    }
    const json_t *before = json_object_get(payload, "before"), *after = json_object_get(payload, "after");
    const json_t *limit = json_object_get(payload, "limit");
    if (before && after) {
        *why = "history takes before or after, not both";
        return -EINVAL;
    }
    if ((before && get_offset(before, &r->at)) || (after && get_offset(after, &r->at))) {
        *why = "before and after are offsets: integers >= 0";
        return -EINVAL;
    }
    r->dir = before ? RC_HISTORY_BEFORE : after ? RC_HISTORY_AFTER : RC_HISTORY_NEWEST;
    if (limit) {
        if (!json_is_integer(limit) || json_integer_value(limit) < 1 || json_integer_value(limit) > (json_int_t)max) {
            *why = "limit must be an integer from 1 to the history page limit (100)";
            return -EINVAL;
        }
        r->limit = (unsigned)json_integer_value(limit);
    }
    return 0;
}

/* Past a JSON string starting at text[i] == '"': the index after its
 * closing quote, or 0. */
static size_t skip_string(const char *text, size_t n, size_t i)
{
    if (i >= n || text[i] != '"')
        return 0;
    for (i++; i < n; i++) {
        if (text[i] == '\\')
            i++;
        else if (text[i] == '"')
            return i + 1;
    }
    return 0;
}

int rc_broadcast_parts(const char *text, size_t n, rc_slice_t *event, rc_slice_t *data)
{
    static const char head[] = "[null,\"@";
    size_t i = sizeof(head) - 1;
    if (n < i || memcmp(text, head, i) != 0)
        return -EINVAL;
    size_t d = i;
    while (i < n && text[i] >= '0' && text[i] <= '9')
        i++;
    if (i == d || i + 2 > n || text[i] != '"' || text[i + 1] != ',')
        return -EINVAL;
    i = skip_string(text, n, i + 2); /* topic */
    if (!i || i >= n || text[i] != ',')
        return -EINVAL;
    size_t ev = i + 1;
    i = skip_string(text, n, ev);
    if (!i || i >= n || text[i] != ',')
        return -EINVAL;
    *event = rc_slice(text + ev, i - ev);
    /* the data runs to the array's closing bracket, the frame's last byte */
    if (n <= i + 2 || text[n - 1] != ']')
        return -EINVAL;
    *data = rc_slice(text + i + 1, n - 1 - (i + 1));
    return 0;
}
