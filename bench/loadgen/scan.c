#include "bench/loadgen/scan.h"

#include <string.h>

static const uint8_t *skip_ws(const uint8_t *p, const uint8_t *e)
{
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++;
    return p;
}

/* The value of "key" (given with its quotes) in p[0..n): first byte after
 * the colon and blanks, or NULL. A scan, not a parse: the first match wins,
 * which is right for our own flat event data. */
static const uint8_t *find_value(const uint8_t *p, size_t n, const char *qkey)
{
    const uint8_t *e = p + n, *q;
    size_t kl = strlen(qkey);
    while (p < e && (q = memmem(p, (size_t)(e - p), qkey, kl)) != NULL) {
        q = skip_ws(q + kl, e);
        if (q < e && *q == ':')
            return skip_ws(q + 1, e);
        p = q;
    }
    return NULL;
}

/* Decimal digits at p, at most 19 (so no overflow). */
static int parse_u64(const uint8_t *p, const uint8_t *e, uint64_t *out)
{
    uint64_t v = 0;
    int digits = 0;
    while (p < e && *p >= '0' && *p <= '9' && digits < 20) {
        v = v * 10 + (uint64_t)(*p++ - '0');
        digits++;
    }
    *out = v;
    return digits > 0 && digits < 20 ? 0 : -1;
}

/* One element of the array head: a string (raw bytes, escapes kept) or
 * null (*s = NULL). Advances *p past it and the comma after it. */
static int json_elem(const uint8_t **p, const uint8_t *e, const uint8_t **s, size_t *n)
{
    const uint8_t *q = skip_ws(*p, e);
    if (e - q >= 4 && memcmp(q, "null", 4) == 0) {
        *s = NULL;
        *n = 0;
        q += 4;
    } else if (q < e && *q == '"') {
        const uint8_t *start = ++q;
        while (q < e && *q != '"')
            q += *q == '\\' ? 2 : 1;
        if (q >= e)
            return -1;
        *s = start;
        *n = (size_t)(q - start);
        q++;
    } else {
        return -1;
    }
    q = skip_ws(q, e);
    if (q >= e || *q != ',')
        return -1;
    *p = q + 1;
    return 0;
}

static int str_is(const uint8_t *s, size_t n, const char *lit)
{
    return s && n == strlen(lit) && memcmp(s, lit, n) == 0;
}

int rc_lg_phx_parse(const uint8_t *p, size_t n, rc_lg_phx_msg_t *m)
{
    const uint8_t *e = p + n, *q = skip_ws(p, e);
    const uint8_t *jr, *ref, *topic, *event;
    size_t jrn, refn, topicn, eventn;
    memset(m, 0, sizeof(*m));
    if (q >= e || *q != '[')
        return -1;
    q++;
    if (json_elem(&q, e, &jr, &jrn) < 0 || json_elem(&q, e, &ref, &refn) < 0 ||
        json_elem(&q, e, &topic, &topicn) < 0 || json_elem(&q, e, &event, &eventn) < 0)
        return -1;
    uint64_t r = 0;
    size_t i = 0;
    while (ref && i < refn && i < 10 && ref[i] >= '0' && ref[i] <= '9')
        r = r * 10 + (uint64_t)(ref[i++] - '0');
    if (ref && refn > 0 && i == refn && r <= UINT32_MAX) {
        m->has_ref = 1;
        m->ref = (uint32_t)r;
    }
    m->payload = q;
    m->payload_len = (size_t)(e - q);
    if (str_is(event, eventn, "phx_reply")) {
        m->kind = RC_LG_PHX_REPLY;
        const uint8_t *sv = find_value(q, m->payload_len, "\"status\"");
        m->status_ok = sv && e - sv >= 4 && memcmp(sv, "\"ok\"", 4) == 0;
    } else if (str_is(event, eventn, "phx_error")) {
        m->kind = RC_LG_PHX_ERROR;
    } else if (str_is(event, eventn, "phx_close")) {
        m->kind = RC_LG_PHX_CLOSE;
    } else {
        m->kind = RC_LG_PHX_PUSH;
    }
    return 0;
}

int rc_lg_event_scan(const uint8_t *p, size_t n, uint64_t *ts, uint64_t *seq)
{
    const uint8_t *e = p + n;
    const uint8_t *tv = find_value(p, n, "\"ts\"");
    const uint8_t *nv = find_value(p, n, "\"n\"");
    if (!tv || !nv || parse_u64(tv, e, ts) < 0 || parse_u64(nv, e, seq) < 0)
        return -1;
    return 0;
}

void rc_lg_seq_expect_from_1(rc_lg_seq_t *s)
{
    s->base = 1;
    s->last = 0;
    s->seen = 1; /* "n = 0 arrived": there is no event 0 */
    s->started = 1;
}

void rc_lg_seq_track(rc_lg_seq_t *s, uint64_t n, rc_lg_seq_delta_t *d)
{
    memset(d, 0, sizeof(*d));
    if (!s->started) {
        s->base = s->last = n;
        s->seen = 1;
        s->started = 1;
        return;
    }
    if (n > s->last) {
        uint64_t shift = n - s->last;
        d->missing = (int64_t)(shift - 1);
        s->seen = shift >= 64 ? 1 : (s->seen << shift) | 1;
        s->last = n;
        return;
    }
    uint64_t back = s->last - n;
    if (n < s->base)
        d->out_of_order = 1; /* before this connection's first event: never counted missing */
    else if (back >= 64)
        d->too_old = 1;      /* duplicate or late: outside the window, cannot tell */
    else if (s->seen >> back & 1)
        d->duplicated = 1;
    else {
        s->seen |= 1ull << back;
        d->out_of_order = 1;
        d->missing = -1;
    }
}
