#include "bench/loadgen/attack.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench/loadgen/hist.h"
#include "bench/loadgen/scan.h"
#include "bench/loadgen/ws.h"
#include "common/alloc.h"

#define NS_PER_MS 1000000ull
#define NS_PER_S 1000000000ull
#define TICK_NS (10 * NS_PER_MS)
#define CONNECT_TIMEOUT_NS (10 * NS_PER_S)
#define REPLY_WAIT_NS (5 * NS_PER_S)   /* joinflood: after the last join, wait this long for replies */
#define CHUNK 16384                    /* joinflood: bytes of join frames built at once */
#define RBUF 65536
#define MAX_IN 65536                   /* carried-over bytes before the peer counts as broken */
#define CLOSE_SLOTS 16
#define SIG_TOKEN UINT64_MAX

enum { A_IDLE = 0, A_CONNECTING, A_TRICKLE, A_HANDSHAKE, A_FLOOD, A_WAIT, A_DONE };

typedef struct att_conn {
    int fd;
    uint8_t state;
    uint8_t key[16];
    uint32_t idx, gen, cycle;
    uint32_t sent;             /* slowloris: header bytes sent; joinflood: joins built */
    uint32_t chunk_joins;      /* joinflood: joins in the chunk being written */
    uint32_t replies;          /* joinflood: replies to this connection's joins */
    uint64_t t_start;          /* connect started */
    uint64_t t_open;           /* TCP connected (slowloris) / upgraded (joinflood) */
    uint64_t t_next;           /* next trickle byte, reply deadline, connect deadline or retry */
    uint8_t *in;               /* carried-over bytes: an incomplete response or frame */
    uint32_t in_len;
    uint8_t *out;              /* joinflood: a chunk of frames the socket did not take yet */
    uint32_t out_len, out_off;
} att_conn_t;

typedef struct att_stats {
    uint64_t attempted, connect_failed, connect_timeouts, established, open_now, open_max;
    uint64_t closed_by_server, reset_by_server, closed_by_us, open_at_end;
    uint64_t bytes_sent, bytes_received, http_responses;
    uint64_t upgrades, upgrade_refused, joins_sent, replies_ok, replies_error, other_messages;
    uint64_t completed, gave_up, protocol_errors;
    struct { uint16_t code; uint64_t count; } closes[CLOSE_SLOTS];
    uint64_t *open_per_s;
    uint32_t timeline_len;
    rc_hist_t held;            /* ns, TCP connect (joinflood: upgrade) -> closed by the server */
    char first_response[128];  /* first HTTP status line that was not 101 */
    char first_reply_error[160];
    char first_error[160];
} att_stats_t;

typedef struct att_ctx {
    const rc_lg_opts_t *o;
    const rc_lg_attack_opts_t *a;
    att_stats_t *st;
    int epfd;
    uint8_t *rbuf;
    int ending;
    char path[512];            /* request path with vsn=2.0.0 */
} att_ctx_t;

static const char *kind_name(int k) { return k == RC_LG_SLOWLORIS ? "slowloris" : "joinflood"; }

static uint64_t now_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static void note(char *dst, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void note(char *dst, size_t cap, const char *fmt, ...)
{
    if (dst[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dst, cap, fmt, ap);
    va_end(ap);
}

static void count_close(att_stats_t *st, uint16_t code)
{
    for (int i = 0; i < CLOSE_SLOTS; i++) {
        if (st->closes[i].code == code || st->closes[i].code == 0) {
            st->closes[i].code = code;
            st->closes[i].count++;
            return;
        }
    }
}

static uint64_t token(const att_conn_t *c) { return (uint64_t)c->gen << 32 | c->idx; }

static void set_events(att_ctx_t *ctx, att_conn_t *c, uint32_t ev, int op)
{
    struct epoll_event e = {.events = ev, .data.u64 = token(c)};
    epoll_ctl(ctx->epfd, op, c->fd, &e);
}

/* Ends the connection; schedules the next one after pause_ms unless the
 * run is over. server: 1 when the server ended it (counted, held time
 * recorded), 0 when we did or the attempt failed. */
static void drop(att_ctx_t *ctx, att_conn_t *c, int server, uint64_t now)
{
    att_stats_t *st = ctx->st;
    if (c->state == A_TRICKLE || c->state == A_HANDSHAKE || c->state == A_FLOOD) /* TCP connected */
        st->open_now--;
    if (server && c->t_open) {
        st->closed_by_server++;
        rc_hist_record(&st->held, now - c->t_open);
    }
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    free(c->in);
    free(c->out);
    c->in = c->out = NULL;
    c->in_len = c->out_len = c->out_off = c->chunk_joins = 0;
    c->t_open = 0;
    c->gen++;
    if (ctx->ending) {
        c->state = A_DONE;
        return;
    }
    c->state = A_WAIT;
    c->t_next = now + (uint64_t)ctx->a->pause_ms * NS_PER_MS;
}

static void start(att_ctx_t *ctx, att_conn_t *c, uint64_t now)
{
    const rc_lg_opts_t *o = ctx->o;
    att_stats_t *st = ctx->st;
    st->attempted++;
    c->state = A_CONNECTING;
    c->t_start = now;
    c->t_next = now + CONNECT_TIMEOUT_NS;
    c->sent = c->replies = 0;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        note(st->first_error, sizeof(st->first_error), "socket: %s", strerror(errno));
        st->connect_failed++;
        drop(ctx, c, 0, now);
        return;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (o->src_ips) {
        setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
        struct sockaddr_in src = {.sin_family = AF_INET};
        uint32_t host = ctx->a->src_base + c->idx % o->src_ips;
        src.sin_addr.s_addr = htonl(0x7f000000u + host);
        if (bind(c->fd, (struct sockaddr *)&src, sizeof(src)) < 0) {
            note(st->first_error, sizeof(st->first_error), "bind 127.0.0.%u: %s", host, strerror(errno));
            st->connect_failed++;
            drop(ctx, c, 0, now);
            return;
        }
    }
    if (connect(c->fd, (const struct sockaddr *)&o->dst, sizeof(o->dst)) < 0 && errno != EINPROGRESS) {
        note(st->first_error, sizeof(st->first_error), "connect: %s", strerror(errno));
        st->connect_failed++;
        drop(ctx, c, 0, now);
        return;
    }
    set_events(ctx, c, EPOLLOUT, EPOLL_CTL_ADD);
}

/* The byte number pos of the never-ending request: a real request line and
 * Host, then one header after another, never the empty line. */
static uint8_t slow_byte(const att_ctx_t *ctx, uint32_t pos)
{
    static const char filler[] = "X-Slow: 1\r\n";
    char head[600];
    int n = snprintf(head, sizeof(head), "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n", ctx->path,
                     ctx->o->host, ctx->o->port);
    if (pos < (uint32_t)n)
        return (uint8_t)head[pos];
    return (uint8_t)filler[(pos - (uint32_t)n) % (sizeof(filler) - 1)];
}

/* slowloris: one more byte. The socket is connected and its buffer is
 * empty, so one byte cannot block. */
static void trickle(att_ctx_t *ctx, att_conn_t *c, uint64_t now)
{
    uint8_t b = slow_byte(ctx, c->sent);
    ssize_t w = send(c->fd, &b, 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w == 1) {
        c->sent++;
        ctx->st->bytes_sent++;
    } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
        ctx->st->reset_by_server += errno == ECONNRESET || errno == EPIPE;
        drop(ctx, c, 1, now);
        return;
    }
    c->t_next = now + (uint64_t)ctx->a->trickle_ms * NS_PER_MS;
}

/* joinflood: sends what the socket takes of the pending chunk, building new
 * chunks of join frames until all joins are out or the socket is full. */
static void pump(att_ctx_t *ctx, att_conn_t *c, uint64_t now)
{
    att_stats_t *st = ctx->st;
    for (;;) {
        if (c->out_off == c->out_len) {
            if (c->sent >= ctx->a->joins)
                break;
            if (!c->out)
                c->out = rc_xmalloc(CHUNK + 512);
            c->out_len = c->out_off = 0;
            while (c->sent < ctx->a->joins && c->out_len < CHUNK) {
                char m[300];
                uint32_t ref = c->sent + 1;
                int n = snprintf(m, sizeof(m), "[\"%u\",\"%u\",\"%s%u:%u:%u\",\"phx_join\",{}]", ref, ref,
                                 ctx->o->topic_prefix, c->idx, c->cycle, c->sent);
                if (n <= 0 || (size_t)n >= sizeof(m))
                    n = (int)sizeof(m) - 1;
                c->out_len += (uint32_t)rc_lg_ws_build(c->out + c->out_len, 0x1, m, (size_t)n);
                c->sent++;
                c->chunk_joins++;
            }
        }
        ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EAGAIN || errno == EINTR) {
                set_events(ctx, c, EPOLLIN | EPOLLOUT, EPOLL_CTL_MOD);
                return;
            }
            st->reset_by_server += errno == ECONNRESET || errno == EPIPE;
            count_close(st, 1006);
            drop(ctx, c, 1, now);
            return;
        }
        st->bytes_sent += (uint64_t)w;
        c->out_off += (uint32_t)w;
        if (c->out_off == c->out_len) { /* counted once the kernel took all of them */
            st->joins_sent += c->chunk_joins;
            c->chunk_joins = 0;
        }
    }
    /* Everything is out: wait for the replies (or the server's verdict). */
    free(c->out);
    c->out = NULL;
    c->out_len = c->out_off = 0;
    set_events(ctx, c, EPOLLIN, EPOLL_CTL_MOD);
    c->t_next = now + REPLY_WAIT_NS;
}

/* We end a connection that survived: a close frame, best effort. */
static void close_ours(att_ctx_t *ctx, att_conn_t *c, uint64_t now)
{
    uint8_t p[2] = {0x03, 0xe8}, f[16]; /* 1000 */
    ssize_t w = send(c->fd, f, rc_lg_ws_build(f, 0x8, p, 2), MSG_NOSIGNAL | MSG_DONTWAIT);
    (void)w;
    ctx->st->closed_by_us++;
    drop(ctx, c, 0, now);
}

static void on_text(att_ctx_t *ctx, att_conn_t *c, const uint8_t *p, size_t n)
{
    att_stats_t *st = ctx->st;
    rc_lg_phx_msg_t m;
    if (rc_lg_phx_parse(p, n, &m) < 0 || m.kind != RC_LG_PHX_REPLY) {
        st->other_messages++;
        return;
    }
    c->replies++;
    if (m.status_ok) {
        st->replies_ok++;
    } else {
        st->replies_error++;
        note(st->first_reply_error, sizeof(st->first_reply_error), "%.*s",
             (int)(m.payload_len < 120 ? m.payload_len : 120), (const char *)m.payload);
    }
}

/* Frames in buf[0..len) after the upgrade. Returns bytes used, or -1 when
 * the connection was dropped. */
static long frames(att_ctx_t *ctx, att_conn_t *c, const uint8_t *buf, size_t len, uint64_t now)
{
    att_stats_t *st = ctx->st;
    size_t used = 0;
    while (used < len) {
        rc_lg_ws_hdr_t h;
        int r = rc_lg_ws_parse(buf + used, len - used, MAX_IN - 16, &h);
        if (r < 0) {
            st->protocol_errors++;
            note(st->first_error, sizeof(st->first_error), "bad frame from the server (%d)", r);
            drop(ctx, c, 1, now);
            return -1;
        }
        if (r == 0 || len - used - h.header_len < h.payload_len)
            break;
        const uint8_t *pl = buf + used + h.header_len;
        size_t n = (size_t)h.payload_len;
        if (h.opcode == 0x8) {
            count_close(st, n >= 2 ? (uint16_t)(pl[0] << 8 | pl[1]) : 1005);
            drop(ctx, c, 1, now);
            return -1;
        }
        if (h.opcode == 0x1 && h.fin)
            on_text(ctx, c, pl, n);
        else if (h.opcode != 0x9 && h.opcode != 0xA)
            st->other_messages++; /* fragments are not expected from the edge */
        used += h.header_len + n;
    }
    if (c->state == A_FLOOD && c->sent >= ctx->a->joins && c->replies >= c->sent && !c->out) {
        st->completed++;
        close_ours(ctx, c, now);
        return -1;
    }
    return (long)used;
}

static void keep(att_conn_t *c, const uint8_t *p, size_t n)
{
    c->in = rc_xmalloc(n);
    memcpy(c->in, p, n);
    c->in_len = (uint32_t)n;
}

static void note_response(att_stats_t *st, const uint8_t *p, size_t n)
{
    if (n < 9 || memcmp(p, "HTTP/1.", 7) != 0)
        return;
    st->http_responses++;
    const uint8_t *eol = memchr(p, '\r', n);
    int l = (int)(eol ? (size_t)(eol - p) : n);
    note(st->first_response, sizeof(st->first_response), "%.*s", l < 100 ? l : 100, (const char *)p);
}

static void on_read(att_ctx_t *ctx, att_conn_t *c, uint64_t now)
{
    att_stats_t *st = ctx->st;
    uint8_t *buf = ctx->rbuf;
    size_t have = c->in_len;
    if (have) {
        memcpy(buf, c->in, have);
        free(c->in);
        c->in = NULL;
        c->in_len = 0;
    }
    ssize_t r = read(c->fd, buf + have, RBUF);
    if (r <= 0) {
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (have)
                keep(c, buf, have);
            return;
        }
        st->reset_by_server += r < 0 && errno == ECONNRESET;
        if (c->state == A_FLOOD)
            count_close(st, 1006);
        drop(ctx, c, 1, now);
        return;
    }
    st->bytes_received += (uint64_t)r;
    if (c->state == A_TRICKLE) {
        /* Whatever the server says to a request it never got in full
         * (an error status, most likely): noted, then read until it closes. */
        if (c->sent && have == 0)
            note_response(st, buf, (size_t)r);
        return;
    }
    have += (size_t)r;
    size_t used = 0;
    if (c->state == A_HANDSHAKE) {
        char why[128];
        long hl = rc_lg_ws_response(buf, have, c->key, why, sizeof(why));
        if (hl == 0) {
            keep(c, buf, have);
            return;
        }
        if (hl < 0) {
            st->upgrade_refused++;
            note_response(st, buf, have);
            note(st->first_error, sizeof(st->first_error), "upgrade refused: %s", why);
            drop(ctx, c, 0, now);
            return;
        }
        st->upgrades++;
        c->state = A_FLOOD;
        c->t_open = now;
        used = (size_t)hl;
        pump(ctx, c, now);
        if (c->fd < 0)
            return;
    }
    long f = frames(ctx, c, buf + used, have - used, now);
    if (f < 0)
        return;
    used += (size_t)f;
    if (used < have) {
        if (have - used > MAX_IN) {
            st->protocol_errors++;
            drop(ctx, c, 1, now);
            return;
        }
        keep(c, buf + used, have - used);
    }
}

static void on_connected(att_ctx_t *ctx, att_conn_t *c, uint32_t events, uint64_t now)
{
    att_stats_t *st = ctx->st;
    int err = 0;
    socklen_t sl = sizeof(err);
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &sl) < 0)
        err = errno;
    if (err || !(events & EPOLLOUT)) {
        note(st->first_error, sizeof(st->first_error), "connect: %s", err ? strerror(err) : "hung up");
        st->connect_failed++;
        drop(ctx, c, 0, now);
        return;
    }
    st->established++;
    if (++st->open_now > st->open_max)
        st->open_max = st->open_now;
    set_events(ctx, c, EPOLLIN, EPOLL_CTL_MOD);
    if (ctx->a->kind == RC_LG_SLOWLORIS) {
        c->state = A_TRICKLE;
        c->t_open = now;
        trickle(ctx, c, now);
        return;
    }
    char req[1024];
    int n = rc_lg_ws_request(req, sizeof(req), ctx->o->host, ctx->o->port, ctx->path, c->key);
    c->state = A_HANDSHAKE;
    c->t_next = now + CONNECT_TIMEOUT_NS;
    if (n < 0 || send(c->fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
        note(st->first_error, sizeof(st->first_error), "could not send the upgrade request");
        drop(ctx, c, 0, now);
        return;
    }
    st->bytes_sent += (uint64_t)n;
}

static void on_event(att_ctx_t *ctx, att_conn_t *c, uint32_t events, uint64_t now)
{
    if (c->state == A_CONNECTING) {
        on_connected(ctx, c, events, now);
        return;
    }
    if ((events & EPOLLOUT) && c->state == A_FLOOD) {
        pump(ctx, c, now);
        if (c->fd < 0)
            return;
    }
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
        on_read(ctx, c, now);
}

static void on_tick(att_ctx_t *ctx, att_conn_t *c, uint64_t now)
{
    if (!c->t_next || now < c->t_next)
        return;
    switch (c->state) {
    case A_CONNECTING:
    case A_HANDSHAKE:
        ctx->st->connect_timeouts++;
        note(ctx->st->first_error, sizeof(ctx->st->first_error), "%s timed out",
             c->state == A_CONNECTING ? "connect" : "upgrade");
        drop(ctx, c, 0, now);
        break;
    case A_TRICKLE:
        trickle(ctx, c, now);
        break;
    case A_FLOOD:
        if (!c->out) { /* all joins out, replies still missing after REPLY_WAIT_NS */
            ctx->st->gave_up++;
            close_ours(ctx, c, now);
        }
        break;
    case A_WAIT:
        c->cycle++;
        start(ctx, c, now);
        break;
    default:
        break;
    }
}

static void progress(const att_ctx_t *ctx, double t)
{
    const att_stats_t *st = ctx->st;
    fprintf(stderr,
            "loadgen %s t=%.0fs attempted=%llu open=%llu established=%llu closed_by_server=%llu "
            "joins_sent=%llu replies_ok=%llu replies_error=%llu\n",
            kind_name(ctx->a->kind), t, (unsigned long long)st->attempted, (unsigned long long)st->open_now,
            (unsigned long long)st->established, (unsigned long long)st->closed_by_server,
            (unsigned long long)st->joins_sent, (unsigned long long)st->replies_ok,
            (unsigned long long)st->replies_error);
}

static json_t *jint(uint64_t v) { return json_integer((json_int_t)v); }

static json_t *pct_ms(const rc_hist_t *h)
{
    return json_pack("{s:I,s:f,s:f,s:f,s:f,s:f}", "count", (json_int_t)h->count, "min", (double)h->min / 1e6,
                     "p50", (double)rc_hist_quantile(h, 0.5) / 1e6, "p90", (double)rc_hist_quantile(h, 0.9) / 1e6,
                     "p99", (double)rc_hist_quantile(h, 0.99) / 1e6, "max", (double)h->max / 1e6);
}

static int report(const att_ctx_t *ctx, const char *path, double elapsed)
{
    const rc_lg_opts_t *o = ctx->o;
    const rc_lg_attack_opts_t *a = ctx->a;
    const att_stats_t *st = ctx->st;
    json_t *closes = json_object();
    char k[16];
    for (int i = 0; i < CLOSE_SLOTS && st->closes[i].code; i++) {
        snprintf(k, sizeof(k), "%u", st->closes[i].code);
        json_object_set_new(closes, k, jint(st->closes[i].count));
    }
    json_t *tl = json_array();
    for (uint32_t i = 0; i < st->timeline_len; i++)
        json_array_append_new(tl, jint(st->open_per_s[i]));
    json_t *params = json_pack("{s:s,s:i,s:s,s:I,s:f,s:f,s:I,s:I,s:I,s:I,s:I,s:I,s:s}", "host", o->host, "port",
                               o->port, "path", ctx->path, "connections", (json_int_t)o->connections, "rate",
                               o->rate, "duration_s", o->duration_s, "src_ips", (json_int_t)o->src_ips,
                               "src_base", (json_int_t)a->src_base, "first_index", (json_int_t)o->first_index,
                               "trickle_ms", (json_int_t)a->trickle_ms, "joins", (json_int_t)a->joins,
                               "pause_ms", (json_int_t)a->pause_ms, "topic_prefix", o->topic_prefix);
    json_t *root = json_pack("{s:s,s:s,s:o,s:f,s:I}", "tool", "ringcast-loadgen", "mode", kind_name(a->kind),
                             "params", params, "duration_s", elapsed, "started_at",
                             (json_int_t)(time(NULL) - (time_t)elapsed));
    json_object_set_new(root, "connections",
                        json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "attempted", jint(st->attempted),
                                  "established", jint(st->established), "connect_failed", jint(st->connect_failed),
                                  "timeouts", jint(st->connect_timeouts), "open_max", jint(st->open_max),
                                  "open_at_end", jint(st->open_at_end), "closed_by_server",
                                  jint(st->closed_by_server), "reset_by_server", jint(st->reset_by_server),
                                  "closed_by_us", jint(st->closed_by_us)));
    json_object_set_new(root, "held_ms", pct_ms(&st->held));
    json_object_set_new(root, "bytes_sent", jint(st->bytes_sent));
    json_object_set_new(root, "bytes_received", jint(st->bytes_received));
    json_object_set_new(root, "http_responses", jint(st->http_responses));
    json_object_set_new(root, "first_response", json_string(st->first_response));
    json_object_set_new(root, "upgrades", jint(st->upgrades));
    json_object_set_new(root, "upgrade_refused", jint(st->upgrade_refused));
    json_object_set_new(root, "joins", json_pack("{s:o,s:o,s:o,s:o,s:o,s:s}", "sent", jint(st->joins_sent),
                                                 "replies_ok", jint(st->replies_ok), "replies_error",
                                                 jint(st->replies_error), "all_answered", jint(st->completed),
                                                 "gave_up_waiting", jint(st->gave_up), "first_error_reply",
                                                 st->first_reply_error));
    json_object_set_new(root, "other_messages", jint(st->other_messages));
    json_object_set_new(root, "protocol_errors", jint(st->protocol_errors));
    json_object_set_new(root, "closes_by_code", closes);
    json_object_set_new(root, "open_per_s", tl);
    json_object_set_new(root, "first_error", json_string(st->first_error));
    fprintf(stderr,
            "loadgen done mode=%s duration=%.1fs attempted=%llu established=%llu open_max=%llu "
            "closed_by_server=%llu held_ms p50=%.0f max=%.0f joins_sent=%llu replies_ok=%llu replies_error=%llu%s%s\n",
            kind_name(a->kind), elapsed, (unsigned long long)st->attempted, (unsigned long long)st->established,
            (unsigned long long)st->open_max, (unsigned long long)st->closed_by_server,
            (double)rc_hist_quantile(&st->held, 0.5) / 1e6, (double)st->held.max / 1e6,
            (unsigned long long)st->joins_sent, (unsigned long long)st->replies_ok,
            (unsigned long long)st->replies_error, st->first_error[0] ? " first_error=" : "", st->first_error);
    int rc = 0;
    if (path && json_dump_file(root, path, JSON_INDENT(1) | JSON_SORT_KEYS | JSON_REAL_PRECISION(9)) < 0) {
        fprintf(stderr, "loadgen: cannot write %s\n", path);
        rc = -1;
    }
    json_decref(root);
    return rc;
}

int rc_lg_attack_run(const rc_lg_opts_t *o, const rc_lg_attack_opts_t *a, int sigfd, const char *json)
{
    static att_stats_t st; /* a histogram: too big for the stack */
    att_ctx_t ctx = {.o = o, .a = a, .st = &st};
    const char *sep = strchr(o->path, '?') ? "&" : "?";
    snprintf(ctx.path, sizeof(ctx.path), "%s%s", o->path, strstr(o->path, "vsn=") ? "" : sep);
    if (!strstr(o->path, "vsn="))
        snprintf(ctx.path + strlen(ctx.path), sizeof(ctx.path) - strlen(ctx.path), "vsn=2.0.0");
    ctx.epfd = epoll_create1(EPOLL_CLOEXEC);
    if (ctx.epfd < 0) {
        fprintf(stderr, "loadgen: epoll_create1: %s\n", strerror(errno));
        return 1;
    }
    struct epoll_event sev = {.events = EPOLLIN, .data.u64 = SIG_TOKEN};
    if (sigfd >= 0)
        epoll_ctl(ctx.epfd, EPOLL_CTL_ADD, sigfd, &sev);
    ctx.rbuf = rc_xmalloc(RBUF + MAX_IN);
    uint32_t n = o->connections;
    att_conn_t *conns = rc_xcalloc(n, sizeof(*conns));
    for (uint32_t i = 0; i < n; i++) {
        conns[i].fd = -1;
        conns[i].idx = o->first_index + i;
    }
    st.timeline_len = (uint32_t)ceil(o->duration_s) + 2;
    st.open_per_s = rc_xcalloc(st.timeline_len, sizeof(uint64_t));
    uint64_t t0 = now_mono(), t_end = t0 + (uint64_t)(o->duration_s * 1e9);
    uint64_t tick_at = t0, progress_at = t0 + NS_PER_S;
    uint32_t next = 0, sec = 0;
    struct epoll_event evs[1024];
    int stop = 0;
    while (!stop) {
        uint64_t now = now_mono();
        if (now >= t_end)
            break;
        uint64_t due = n, next_at = UINT64_MAX;
        if (o->rate > 0) {
            double d = floor((double)(now - t0) / 1e9 * o->rate) + 1;
            due = d < n ? (uint64_t)d : n;
        }
        for (int burst = 0; next < due && burst < 2000; burst++)
            start(&ctx, &conns[next++], now);
        if (next < n)
            next_at = o->rate > 0 ? t0 + (uint64_t)((double)next / o->rate * 1e9) : now;
        if (now >= tick_at) {
            for (uint32_t i = 0; i < next; i++)
                on_tick(&ctx, &conns[i], now);
            tick_at = now + TICK_NS;
        }
        if (now >= progress_at) {
            if (sec < st.timeline_len)
                st.open_per_s[sec++] = st.open_now;
            progress(&ctx, (double)(now - t0) / 1e9);
            progress_at += NS_PER_S;
        }
        uint64_t wake = t_end;
        wake = tick_at < wake ? tick_at : wake;
        wake = progress_at < wake ? progress_at : wake;
        wake = next_at < wake ? next_at : wake;
        uint64_t t = now_mono();
        int ms = wake > t ? (int)((wake - t + 999999) / 1000000) : 0;
        int k = epoll_wait(ctx.epfd, evs, 1024, ms);
        if (k < 0 && errno != EINTR)
            break;
        now = now_mono();
        for (int j = 0; j < k; j++) {
            uint64_t tok = evs[j].data.u64;
            if (tok == SIG_TOKEN) {
                stop = 1;
                continue;
            }
            uint32_t i = (uint32_t)tok - o->first_index;
            if (i >= n || conns[i].gen != (uint32_t)(tok >> 32) || conns[i].fd < 0)
                continue;
            on_event(&ctx, &conns[i], evs[j].events, now);
        }
    }
    double elapsed = (double)(now_mono() - t0) / 1e9;
    ctx.ending = 1;
    st.open_at_end = st.open_now;
    uint64_t now = now_mono();
    for (uint32_t i = 0; i < n; i++) {
        if (conns[i].fd < 0)
            continue;
        if (conns[i].state == A_TRICKLE || conns[i].state == A_FLOOD)
            st.closed_by_us++;
        drop(&ctx, &conns[i], 0, now);
    }
    int rc = report(&ctx, json, elapsed);
    free(conns);
    free(st.open_per_s);
    free(ctx.rbuf);
    close(ctx.epfd);
    return rc < 0 || st.established == 0 ? 1 : 0;
}
