#include "bench/loadgen/conn.h"

#include <errno.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench/loadgen/scan.h"
#include "bench/loadgen/ws.h"
#include "common/alloc.h"
#include "common/rand.h"

#define NS_PER_MS 1000000ull
#define NS_PER_S 1000000000ull
#define CONNECT_TIMEOUT_NS (10 * NS_PER_S)
#define JOIN_TIMEOUT_NS (10 * NS_PER_S) /* the Phoenix client's default timeout */
#define MAX_OUT (64 * 1024)             /* unsent bytes before we give up on a peer */

/* The Phoenix client's reconnectAfterMs schedule. */
static const uint32_t backoff_ms[] = {10, 50, 100, 150, 200, 250, 500, 1000, 2000, 5000};

static void note_error(rc_lg_ctx_t *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note_error(rc_lg_ctx_t *ctx, const char *fmt, ...)
{
    if (ctx->st->first_error[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->st->first_error, sizeof(ctx->st->first_error), fmt, ap);
    va_end(ap);
}

static uint32_t timeline_slot(const rc_lg_ctx_t *ctx, uint64_t now)
{
    uint64_t s = (now - ctx->t0) / NS_PER_S;
    return s < ctx->st->timeline_len ? (uint32_t)s : ctx->st->timeline_len - 1;
}

static void count_close(rc_lg_stats_t *st, uint16_t code)
{
    for (int i = 0; i < RC_LG_CLOSE_SLOTS; i++) {
        if (st->closes[i].code == code || st->closes[i].code == 0) {
            st->closes[i].code = code;
            st->closes[i].count++;
            return;
        }
    }
    st->closes_other++;
}

static int is_session(uint8_t state)
{
    return state == RC_LG_OPEN || state == RC_LG_JOINING || state == RC_LG_JOINED;
}

/* A session ended by the server or the network, not by us: the time it
 * was lost is where the rejoin time starts. */
static void mark_lost(rc_lg_ctx_t *ctx, rc_lg_conn_t *c, uint64_t now)
{
    if (is_session(c->state)) {
        c->t_lost = now;
        ctx->st->timeline_down[timeline_slot(ctx, now)]++;
    }
}

/* Ends the current attempt or session. code: close code to count for a
 * session the server ended (its close code, or 1006 for a connection lost
 * without a close frame), 0 for none. Schedules the next attempt when
 * reconnecting. */
static void conn_drop(rc_lg_ctx_t *ctx, rc_lg_conn_t *c, uint16_t code)
{
    rc_lg_stats_t *st = ctx->st;
    uint64_t now = rc_lg_now_mono();
    if (code) {
        mark_lost(ctx, c, now);
        count_close(st, code);
    }
    if (is_session(c->state)) {
        st->open_now--;
        if (c->state == RC_LG_JOINED)
            st->joined_now--;
    }
    if (c->fd >= 0)
        close(c->fd); /* also removes it from the epoll set */
    c->fd = -1;
    free(c->in);
    free(c->out);
    free(c->msg);
    c->in = c->out = c->msg = NULL;
    c->in_len = c->out_len = c->msg_len = 0;
    c->msg_op = 0;
    c->hb_pending = 0;
    c->t_hb = 0;
    c->gen++;
    if (ctx->o->reconnect && !ctx->ending) {
        uint32_t n = sizeof(backoff_ms) / sizeof(backoff_ms[0]);
        uint32_t ms = backoff_ms[c->retries < n ? c->retries : n - 1];
        c->retries++;
        c->state = RC_LG_WAIT_RETRY;
        c->t_deadline = now + ms * NS_PER_MS;
    } else {
        c->state = RC_LG_CLOSED;
        c->t_deadline = 0;
    }
}

static void fail_attempt(rc_lg_ctx_t *ctx, rc_lg_conn_t *c, uint64_t *counter)
{
    (*counter)++;
    conn_drop(ctx, c, 0);
}

/* The socket failed (send or read error, EOF): a lost session, or a
 * failed attempt if the handshake had not completed. */
static void conn_lost(rc_lg_ctx_t *ctx, rc_lg_conn_t *c)
{
    if (is_session(c->state))
        conn_drop(ctx, c, 1006);
    else
        fail_attempt(ctx, c, c->state == RC_LG_CONNECTING ? &ctx->st->failed_connect : &ctx->st->failed_handshake);
}

static int set_events(rc_lg_ctx_t *ctx, rc_lg_conn_t *c, uint32_t events, int op)
{
    struct epoll_event ev = {.events = events, .data.u64 = rc_lg_conn_token(c)};
    return epoll_ctl(ctx->epfd, op, c->fd, &ev) < 0 ? -errno : 0;
}

/* Sends b[0..n) or queues what the socket does not take.
 * Returns 0, or -1 when c was dropped. */
static int conn_send(rc_lg_ctx_t *ctx, rc_lg_conn_t *c, const uint8_t *b, size_t n)
{
    if (c->out_len == 0) {
        ssize_t w = send(c->fd, b, n, MSG_NOSIGNAL);
        if (w < 0 && errno != EAGAIN && errno != EINTR) {
            note_error(ctx, "send: %s", strerror(errno));
            conn_lost(ctx, c);
            return -1;
        }
        if (w < 0)
            w = 0;
        if ((size_t)w == n)
            return 0;
        b += w;
        n -= (size_t)w;
        if (c->state != RC_LG_CONNECTING)
            set_events(ctx, c, EPOLLIN | EPOLLOUT, EPOLL_CTL_MOD);
    }
    if (c->out_len + n > MAX_OUT) {
        note_error(ctx, "peer does not read: %u bytes unsent", c->out_len);
        conn_lost(ctx, c);
        return -1;
    }
    c->out = rc_xrealloc(c->out, c->out_len + n);
    memcpy(c->out + c->out_len, b, n);
    c->out_len += (uint32_t)n;
    return 0;
}

static void conn_flush(rc_lg_ctx_t *ctx, rc_lg_conn_t *c)
{
    if (c->out_len == 0)
        return;
    ssize_t w = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL);
    if (w < 0) {
        if (errno == EAGAIN || errno == EINTR)
            return;
        note_error(ctx, "send: %s", strerror(errno));
        conn_lost(ctx, c);
        return;
    }
    c->out_len -= (uint32_t)w;
    memmove(c->out, c->out + w, c->out_len);
    if (c->out_len == 0) {
        free(c->out);
        c->out = NULL;
        set_events(ctx, c, EPOLLIN, EPOLL_CTL_MOD);
    }
}

static int send_frame(rc_lg_ctx_t *ctx, rc_lg_conn_t *c, uint8_t op, const void *payload, size_t n)
{
    uint8_t f[8 + RC_LG_WS_MAX_PAYLOAD];
    return conn_send(ctx, c, f, rc_lg_ws_build(f, op, payload, n));
}

/* Best effort, right before the socket is closed: a close frame (code 0:
 * empty payload) that does not fit in the socket buffer is not worth
 * waiting for. */
static void send_close_now(rc_lg_conn_t *c, uint16_t code)
{
    uint8_t p[2] = {(uint8_t)(code >> 8), (uint8_t)code}, f[16];
    ssize_t w = send(c->fd, f, rc_lg_ws_build(f, 0x8, p, code ? 2 : 0), MSG_NOSIGNAL | MSG_DONTWAIT);
    (void)w;
}

static uint32_t topic_of(const rc_lg_ctx_t *ctx, const rc_lg_conn_t *c)
{
    return c->idx % ctx->o->topics;
}

void rc_lg_conn_start(rc_lg_ctx_t *ctx, rc_lg_conn_t *c, uint64_t now)
{
    const rc_lg_opts_t *o = ctx->o;
    rc_lg_stats_t *st = ctx->st;
    if (c->state == RC_LG_IDLE && (o->expect_events || o->expect_from)) {
        /* Expecting every event from n = 1: the run's contract is that all
         * connections are ready before the publisher starts. */
        rc_lg_seq_expect_from_1(&c->seq);
    }
    st->attempted++;
    if (!st->t_first_attempt)
        st->t_first_attempt = now;
    c->t_start = now;
    c->t_deadline = now + CONNECT_TIMEOUT_NS;
    c->state = RC_LG_CONNECTING;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        note_error(ctx, "socket: %s", strerror(errno));
        fail_attempt(ctx, c, &st->failed_connect);
        return;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (o->src_ips) {
        /* The port is picked at connect() time, per destination, so each
         * source address gives a full ephemeral range towards one port. */
        setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
        struct sockaddr_in src = {.sin_family = AF_INET};
        src.sin_addr.s_addr = htonl(0x7f000002u + c->idx % o->src_ips);
        if (bind(c->fd, (struct sockaddr *)&src, sizeof(src)) < 0) {
            note_error(ctx, "bind 127.0.0.%u: %s", 2 + c->idx % o->src_ips, strerror(errno));
            fail_attempt(ctx, c, &st->failed_connect);
            return;
        }
    }
    if (connect(c->fd, (const struct sockaddr *)&o->dst, sizeof(o->dst)) < 0 && errno != EINPROGRESS) {
        note_error(ctx, "connect: %s", strerror(errno));
        fail_attempt(ctx, c, &st->failed_connect);
        return;
    }
    int r = set_events(ctx, c, EPOLLOUT, EPOLL_CTL_ADD);
    if (r < 0) {
        note_error(ctx, "epoll_ctl: %s", strerror(-r));
        fail_attempt(ctx, c, &st->failed_connect);
    }
}

static void send_handshake(rc_lg_ctx_t *ctx, rc_lg_conn_t *c)
{
    const rc_lg_opts_t *o = ctx->o;
    char path[6144], req[8192]; /* a connect token of up to 4 KiB fits */
    const char *base = ctx->paths ? ctx->paths[c->idx % ctx->npaths] : o->path;
    const char *pct = strstr(base, "%d");
    if (pct)
        snprintf(path, sizeof(path), "%.*s%u%s", (int)(pct - base), base, topic_of(ctx, c), pct + 2);
    else
        snprintf(path, sizeof(path), "%s", base);
    if (o->mode == RC_LG_PHOENIX && !strstr(path, "vsn=")) {
        size_t l = strlen(path);
        snprintf(path + l, sizeof(path) - l, "%svsn=2.0.0", strchr(path, '?') ? "&" : "?");
    }
    int n = rc_lg_ws_request(req, sizeof(req), o->host, o->port, path, c->key);
    if (n < 0) {
        note_error(ctx, "handshake: request too long");
        fail_attempt(ctx, c, &ctx->st->failed_handshake);
        return;
    }
    conn_send(ctx, c, (const uint8_t *)req, (size_t)n);
}

static void became_ready(rc_lg_ctx_t *ctx, rc_lg_conn_t *c, uint64_t now)
{
    rc_lg_stats_t *st = ctx->st;
    rc_hist_record(&st->ready, now - c->t_start);
    st->timeline_up[timeline_slot(ctx, now)]++;
    if (c->t_lost) {
        rc_hist_record(&st->rejoin, now - c->t_lost);
        c->t_lost = 0;
    }
    c->ever_ready = 1;
}

static void send_join(rc_lg_ctx_t *ctx, rc_lg_conn_t *c, uint64_t now)
{
    char m[512];
    c->join_ref = ++c->next_ref;
    const char *params = ctx->join_payload ? ctx->join_payload[topic_of(ctx, c)] : "{}";
    int n = snprintf(m, sizeof(m), "[\"%u\",\"%u\",\"%s%u\",\"phx_join\",%s]", c->join_ref, c->join_ref,
                     ctx->o->topic_prefix, topic_of(ctx, c), params);
    c->state = RC_LG_JOINING;
    c->t_join = now;
    c->caught_up = 0;
    c->t_deadline = now + JOIN_TIMEOUT_NS;
    send_frame(ctx, c, 0x1, m, (size_t)n < sizeof(m) ? (size_t)n : sizeof(m) - 1);
}

/* The 101 response in buf[0..len). Returns its length, 0 if incomplete,
 * -1 if refused (c dropped). */
static long handshake_response(rc_lg_ctx_t *ctx, rc_lg_conn_t *c, const uint8_t *buf, size_t len)
{
    rc_lg_stats_t *st = ctx->st;
    char why[128];
    long h = rc_lg_ws_response(buf, len, c->key, why, sizeof(why));
    if (h < 0) {
        note_error(ctx, "handshake: %s", why);
        fail_attempt(ctx, c, &st->failed_handshake);
    }
    if (h <= 0)
        return h;
    uint64_t now = rc_lg_now_mono();
    st->established++;
    st->open_now++;
    if (!c->ever_open) {
        c->ever_open = 1;
        st->first_opens++;
        st->t_last_first_open = now;
    }
    c->retries = 0;
    c->state = RC_LG_OPEN;
    c->t_deadline = 0;
    if (ctx->o->mode == RC_LG_PHOENIX) {
        uint64_t iv = (uint64_t)ctx->o->heartbeat_ms * NS_PER_MS;
        c->t_hb = iv ? now + rc_rand_range(iv / 10, iv) : 0; /* jittered, so heartbeats spread */
        send_join(ctx, c, now);
    } else {
        became_ready(ctx, c, now);
    }
    return h;
}

static void scan_event(rc_lg_ctx_t *ctx, rc_lg_conn_t *c, const uint8_t *p, size_t n, uint64_t now_real)
{
    rc_lg_stats_t *st = ctx->st;
    uint64_t ts, seq;
    rc_lg_seq_delta_t d;
    if (rc_lg_event_scan(p, n, &ts, &seq) < 0) {
        st->other_messages++;
        return;
    }
    st->events++;
    rc_hist_record(&st->latency, now_real > ts ? now_real - ts : 0);
    rc_lg_seq_track(&c->seq, seq, &d);
    c->missing += d.missing;
    c->dup += d.duplicated;
    c->ooo += d.out_of_order;
    st->missing += (uint64_t)d.missing; /* wraps for -1: the intended subtraction */
    st->duplicated += d.duplicated;
    st->out_of_order += d.out_of_order;
    st->late_beyond_window += d.too_old;
    if (!c->caught_up && ctx->o->expect_events && c->seq.started && c->seq.last >= ctx->o->expect_events) {
        c->caught_up = 1;
        st->caught_up_n++;
        rc_hist_record(&st->caught_up, rc_lg_now_mono() - c->t_join);
    }
}

static void phx_message(rc_lg_ctx_t *ctx, rc_lg_conn_t *c, const uint8_t *p, size_t n, uint64_t now_real)
{
    rc_lg_stats_t *st = ctx->st;
    rc_lg_phx_msg_t m;
    if (rc_lg_phx_parse(p, n, &m) < 0) {
        st->other_messages++;
        return;
    }
    switch (m.kind) {
    case RC_LG_PHX_REPLY:
        if (c->state == RC_LG_JOINING && m.has_ref && m.ref == c->join_ref) {
            c->t_deadline = 0;
            if (m.status_ok) {
                st->joins_ok++;
                st->joined_now++;
                c->state = RC_LG_JOINED;
                became_ready(ctx, c, rc_lg_now_mono());
            } else {
                st->joins_failed++;
                c->state = RC_LG_OPEN;
                note_error(ctx, "join refused: %.*s", (int)(m.payload_len < 100 ? m.payload_len : 100),
                           (const char *)m.payload);
            }
        } else if (c->hb_pending && m.has_ref && m.ref == c->hb_ref) {
            st->heartbeat_replies++;
            c->hb_pending = 0;
        } else {
            st->other_messages++;
        }
        break;
    case RC_LG_PHX_ERROR:
    case RC_LG_PHX_CLOSE:
        (*(m.kind == RC_LG_PHX_ERROR ? &st->channel_errors : &st->channel_closes))++;
        if (c->state == RC_LG_JOINED) {
            st->joined_now--;
            c->state = RC_LG_OPEN;
        }
        break;
    default:
        scan_event(ctx, c, m.payload, m.payload_len, now_real);
    }
}

static void on_message(rc_lg_ctx_t *ctx, rc_lg_conn_t *c, uint8_t op, const uint8_t *p, size_t n,
                       uint64_t now_real)
{
    ctx->st->frames++;
    if (op != 0x1)
        ctx->st->other_messages++;
    else if (ctx->o->mode == RC_LG_PHOENIX)
        phx_message(ctx, c, p, n, now_real);
    else
        scan_event(ctx, c, p, n, now_real);
}

static long protocol_error(rc_lg_ctx_t *ctx, rc_lg_conn_t *c, uint16_t code, const char *why)
{
    ctx->st->protocol_errors++;
    note_error(ctx, "protocol error: %s", why);
    send_close_now(c, code);
    mark_lost(ctx, c, rc_lg_now_mono());
    conn_drop(ctx, c, 0);
    return -1;
}

/* One server frame at p[0..len). Returns bytes consumed, 0 if incomplete,
 * -1 if c was dropped. */
static long conn_frame(rc_lg_ctx_t *ctx, rc_lg_conn_t *c, const uint8_t *p, size_t len, uint64_t now_real)
{
    rc_lg_ws_hdr_t h;
    int r = rc_lg_ws_parse(p, len, ctx->o->max_frame, &h);
    if (r == -1009 || (r > 0 && h.opcode == 0x0 && c->msg_len + h.payload_len > ctx->o->max_frame))
        return protocol_error(ctx, c, 1009, "message over --max-frame");
    if (r < 0)
        return protocol_error(ctx, c, 1002, "bad frame header");
    if (r == 0 || len - h.header_len < h.payload_len)
        return 0;
    const uint8_t *pl = p + h.header_len;
    size_t n = (size_t)h.payload_len;
    switch (h.opcode) {
    case 0x0:
    case 0x1:
    case 0x2:
        if ((h.opcode == 0x0) != (c->msg_op != 0))
            return protocol_error(ctx, c, 1002, "fragments out of sequence");
        if (h.opcode && h.fin) {
            on_message(ctx, c, h.opcode, pl, n, now_real);
            break;
        }
        if (h.opcode)
            c->msg_op = h.opcode;
        c->msg = rc_xrealloc(c->msg, c->msg_len + n);
        memcpy(c->msg + c->msg_len, pl, n);
        c->msg_len += (uint32_t)n;
        if (h.fin) {
            on_message(ctx, c, c->msg_op, c->msg, c->msg_len, now_real);
            free(c->msg);
            c->msg = NULL;
            c->msg_len = 0;
            c->msg_op = 0;
        }
        break;
    case 0x9:
        ctx->st->pings++;
        if (send_frame(ctx, c, 0xA, pl, n) < 0)
            return -1;
        break;
    case 0xA:
        break;
    default: { /* 0x8, the only opcode left that rc_lg_ws_parse accepts */
        uint16_t code = n >= 2 ? (uint16_t)(pl[0] << 8 | pl[1]) : 1005;
        send_close_now(c, n >= 2 ? code : 0);
        conn_drop(ctx, c, code);
        return -1;
    }
    }
    return c->fd >= 0 ? (long)(h.header_len + n) : -1;
}

static void keep_bytes(rc_lg_conn_t *c, const uint8_t *p, size_t n)
{
    c->in = rc_xmalloc(n);
    memcpy(c->in, p, n);
    c->in_len = (uint32_t)n;
}

static void conn_read(rc_lg_ctx_t *ctx, rc_lg_conn_t *c)
{
    uint8_t *buf = ctx->rbuf;
    size_t have = c->in_len;
    if (have) {
        memcpy(buf, c->in, have);
        free(c->in);
        c->in = NULL;
        c->in_len = 0;
    }
    ssize_t r = read(c->fd, buf + have, ctx->rbuf_size - have);
    if (r <= 0) {
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (have)
                keep_bytes(c, buf, have);
            return;
        }
        if (c->state == RC_LG_HANDSHAKE)
            note_error(ctx, "handshake: %s", r ? strerror(errno) : "connection closed");
        conn_lost(ctx, c);
        return;
    }
    uint64_t now_real = rc_lg_now_real();
    ctx->st->bytes += (uint64_t)r;
    have += (size_t)r;
    size_t used = 0;
    if (c->state == RC_LG_HANDSHAKE) {
        long h = handshake_response(ctx, c, buf, have);
        if (h < 0)
            return;
        if (h == 0) {
            keep_bytes(c, buf, have);
            return;
        }
        used = (size_t)h;
    }
    while (used < have && c->fd >= 0) {
        long f = conn_frame(ctx, c, buf + used, have - used, now_real);
        if (f < 0)
            return;
        if (f == 0)
            break;
        used += (size_t)f;
    }
    if (used < have && c->fd >= 0)
        keep_bytes(c, buf + used, have - used);
}

void rc_lg_conn_event(rc_lg_ctx_t *ctx, rc_lg_conn_t *c, uint32_t events)
{
    if (c->state == RC_LG_CONNECTING) {
        int err = 0;
        socklen_t sl = sizeof(err);
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &sl) < 0)
            err = errno;
        if (err || !(events & EPOLLOUT)) {
            note_error(ctx, "connect: %s", err ? strerror(err) : "hung up");
            fail_attempt(ctx, c, &ctx->st->failed_connect);
            return;
        }
        c->state = RC_LG_HANDSHAKE;
        set_events(ctx, c, EPOLLIN, EPOLL_CTL_MOD);
        send_handshake(ctx, c);
        return;
    }
    if (events & EPOLLOUT)
        conn_flush(ctx, c);
    if (c->fd >= 0 && (events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
        conn_read(ctx, c);
}

void rc_lg_conn_tick(rc_lg_ctx_t *ctx, rc_lg_conn_t *c, uint64_t now)
{
    rc_lg_stats_t *st = ctx->st;
    if (c->t_deadline && now >= c->t_deadline) {
        switch (c->state) {
        case RC_LG_CONNECTING:
        case RC_LG_HANDSHAKE:
            note_error(ctx, "%s timed out", c->state == RC_LG_CONNECTING ? "connect" : "handshake");
            fail_attempt(ctx, c, &st->failed_timeout);
            return;
        case RC_LG_JOINING:
            st->join_timeouts++;
            st->joins_failed++;
            c->state = RC_LG_OPEN;
            c->t_deadline = 0;
            break;
        case RC_LG_WAIT_RETRY:
            st->reconnects++;
            rc_lg_conn_start(ctx, c, now);
            return;
        default:
            c->t_deadline = 0;
        }
    }
    if (c->t_hb && now >= c->t_hb && c->fd >= 0) {
        char m[64];
        if (c->hb_pending)
            st->heartbeats_unanswered++;
        c->hb_ref = ++c->next_ref;
        c->hb_pending = 1;
        c->t_hb = now + (uint64_t)ctx->o->heartbeat_ms * NS_PER_MS;
        int n = snprintf(m, sizeof(m), "[null,\"%u\",\"phoenix\",\"heartbeat\",{}]", c->hb_ref);
        st->heartbeats_sent++;
        send_frame(ctx, c, 0x1, m, (size_t)n);
    }
}

void rc_lg_conn_finish(rc_lg_ctx_t *ctx, rc_lg_conn_t *c)
{
    const rc_lg_opts_t *o = ctx->o;
    rc_lg_stats_t *st = ctx->st;
    if (c->fd >= 0) {
        if (is_session(c->state)) {
            st->closes_by_us++;
            send_close_now(c, 1000);
        }
        conn_drop(ctx, c, 0);
    }
    if (c->ever_ready) {
        uint64_t want = ctx->expect_topic ? ctx->expect_topic[topic_of(ctx, c)] : o->expect_events;
        if (c->seq.started && want > c->seq.last) {
            c->missing += (int64_t)(want - c->seq.last);
            st->missing += want - c->seq.last;
        }
    }
    if (c->missing > 0 || c->dup || c->ooo)
        st->conns_with_loss++;
}
