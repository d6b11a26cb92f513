/* The producer listener's limits (listener.h): a filtering bufferevent per
 * connection between the socket and evhttp.
 *
 * A connection's phases:
 *   IDLE    no request under way (after accept, or after a reply went out)
 *   HEAD    a request's first bytes came; its head is held back in the
 *           socket bufferevent until it is whole, then checked and handed
 *           to evhttp
 *   BODY    the body is passed on as it comes, up to its end
 *   WAIT    the request is with evhttp and its handler: no clock runs
 *           (until the reply meets a client that does not read it)
 *   CLOSING our refusal is going out, then input is dropped until the
 *           client's FIN or the grace timer
 *
 * The filter's context (conn_t) is freed with the filter; evhttp frees the
 * filter with its connection, and tells us first through the close
 * callback, after which no event of ours runs. */
#include "broker/listener.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "common/alloc.h"
#include "proto/http_response.h"

/* How long a refused connection may take to read our answer and close. */
#define LINGER_MS 1000

const char *const rc_listener_refusal_names[RC_LREF_N] = {
    [RC_LREF_MAX_CONNECTIONS] = "max_connections", [RC_LREF_HEADER] = "header_too_large",
    [RC_LREF_READ_TIMEOUT] = "read_timeout",       [RC_LREF_MALFORMED] = "malformed",
    [RC_LREF_BODY] = "body_too_large",
};

enum { P_IDLE, P_HEAD, P_BODY, P_WAIT, P_CLOSING };

typedef struct conn {
    rc_listener_t *l;
    struct bufferevent *bev;          /* the filter: evhttp's bufferevent */
    struct evhttp_connection *evcon;  /* NULL until the first kick and after close */
    struct event *timer, *kick, *wr;
    struct evbuffer *early;           /* our own refusal, written past evhttp */
    int fd;
    unsigned phase;
    unsigned cookie;                  /* of the request under way */
    unsigned counted : 1;             /* in l->open */
    unsigned closed : 1;              /* evhttp freed its connection */
    unsigned dead : 1;                /* writing failed: close at the next kick */
    unsigned reply_seen : 1;          /* the output holds a reply (not a 100) */
    unsigned writing : 1;             /* evhttp's reply waits for the socket */
    unsigned flushing : 1;            /* in our flush: the out filter may write */
    unsigned paused : 1;              /* socket reads stopped: enough is held */
    unsigned chunked : 1;
    uint64_t nreq;                    /* requests begun */
    rc_http_scan_t scan;
    size_t scanned;                   /* bytes of the held head already scanned */
    uint64_t body_left;               /* Content-Length bytes still to pass on */
    rc_http_chunked_t ch;
} conn_t;

static void arm(conn_t *c, uint64_t ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    evtimer_add(c->timer, &tv);
}

/* Queues the refusal r, stops passing input on and lets the kick write it. */
static void send_early(conn_t *c, const rc_listener_reply_t *r)
{
    char buf[sizeof(r->headers) + sizeof(r->body) + 256];
    char body[sizeof(r->body) + 1];
    memcpy(body, r->body, r->body_len);
    body[r->body_len] = '\n';
    int n = rc_http_response(buf, sizeof(buf), r->status, "application/json", r->headers[0] ? r->headers : NULL, body,
                             r->body_len + 1);
    if (n > 0)
        evbuffer_add(c->early, buf, (size_t)n);
    c->phase = P_CLOSING;
    evtimer_del(c->timer);
    event_active(c->kick, EV_TIMEOUT, 1);
}

static void refuse(conn_t *c, int status, enum rc_listener_refusal why, const char *what)
{
    rc_listener_reply_t r = {.status = status};
    if (status == 503)
        snprintf(r.headers, sizeof(r.headers), "Retry-After: 1\r\n");
    c->l->ops->refuse(c->l->arg, c->phase >= P_BODY ? c->cookie : 0, what, &r);
    c->l->refused[why]++;
    send_early(c, &r);
}

static void refuse_head(conn_t *c, int status)
{
    const char *what = status == 411   ? "a body needs a Content-Length or Transfer-Encoding: chunked"
                       : status == 417 ? "the only Expect understood is 100-continue"
                       : status == 501 ? "the only Transfer-Encoding understood is chunked"
                       : status == 505 ? "HTTP/1.0 or HTTP/1.1 only"
                                       : "malformed request";
    refuse(c, status, RC_LREF_MALFORMED, what);
}

static void refuse_body(conn_t *c)
{
    char what[96];
    snprintf(what, sizeof(what), "body larger than max_body (%llu bytes)", (unsigned long long)c->l->lim.max_body);
    refuse(c, 413, RC_LREF_BODY, what);
}

static void to_wait(conn_t *c)
{
    c->phase = P_WAIT;
    c->reply_seen = 0;
    evtimer_del(c->timer);
}

/* Scans the held head from where the last call stopped. Returns its length
 * once its blank line is in src, else 0. */
static size_t head_len(conn_t *c, struct evbuffer *src)
{
    size_t len = evbuffer_get_length(src);
    while (c->scanned < len) {
        struct evbuffer_ptr at;
        struct evbuffer_iovec v[8];
        evbuffer_ptr_set(src, &at, c->scanned, EVBUFFER_PTR_SET);
        int nv = evbuffer_peek(src, (ev_ssize_t)(len - c->scanned), &at, v, 8);
        for (int i = 0; i < nv && i < 8; i++) {
            size_t e = rc_http_head_end(&c->scan, v[i].iov_base, v[i].iov_len);
            if (e)
                return c->scanned + e;
            c->scanned += v[i].iov_len;
        }
    }
    return 0;
}

/* A whole head is at the front of src: check it, then pass it on. Returns
 * 0 when passed, -1 when refused. */
static int take_head(conn_t *c, struct evbuffer *src, struct evbuffer *dst, size_t n)
{
    const rc_listener_limits_t *lim = &c->l->lim;
    if (n > lim->max_header) {
        refuse(c, 431, RC_LREF_HEADER, "request line and headers larger than producer_max_header");
        return -1;
    }
    rc_http_head_t h;
    int st = rc_http_head_parse((const char *)evbuffer_pullup(src, (ev_ssize_t)n), n, &h);
    if (st < 0) {
        refuse_head(c, -st);
        return -1;
    }
    rc_listener_reply_t r = {0};
    c->cookie = 0;
    st = c->l->ops->head(c->l->arg, &h, &c->cookie, &r);
    if (st > 0) {
        r.status = st;
        send_early(c, &r);
        return -1;
    }
    c->phase = P_BODY;
    if (h.has_body && !h.chunked && (uint64_t)h.content_length > lim->max_body) {
        refuse_body(c);
        return -1;
    }
    evbuffer_remove_buffer(src, dst, n);
    c->chunked = h.chunked;
    c->body_left = h.chunked ? 0 : (uint64_t)(h.content_length > 0 ? h.content_length : 0);
    memset(&c->ch, 0, sizeof(c->ch));
    if (!h.has_body)
        to_wait(c);
    return 0;
}

/* Passes on the chunked body bytes at the front of src. Returns -1 when
 * the body was refused. */
static int take_chunked(conn_t *c, struct evbuffer *src, struct evbuffer *dst)
{
    struct evbuffer_iovec v[16];
    int nv = evbuffer_peek(src, -1, NULL, v, 16), done = 0;
    size_t k = 0;
    for (int i = 0; i < nv && i < 16 && !done; i++) {
        long r = rc_http_chunked_feed(&c->ch, v[i].iov_base, v[i].iov_len, c->l->lim.max_body, &done);
        if (r < 0) {
            if (r == -413)
                refuse_body(c);
            else
                refuse(c, 400, RC_LREF_MALFORMED, "malformed chunked body");
            return -1;
        }
        k += (size_t)r;
    }
    evbuffer_remove_buffer(src, dst, k);
    if (done)
        to_wait(c);
    return 0;
}

static enum bufferevent_filter_result in_filter(struct evbuffer *src, struct evbuffer *dst, ev_ssize_t lim,
                                                enum bufferevent_flush_mode mode, void *arg)
{
    conn_t *c = arg;
    int moved = 0;
    size_t avail;
    while ((avail = evbuffer_get_length(src)) > 0) {
        switch (c->phase) {
        case P_CLOSING:
            evbuffer_drain(src, avail);
            return BEV_NEED_MORE;
        case P_WAIT:
            /* The next request waits until this one is answered; a client
             * that pipelines more than a head's worth meanwhile is not
             * read from until then. */
            if (avail > c->l->lim.max_header && !c->paused) {
                bufferevent_disable(bufferevent_get_underlying(c->bev), EV_READ);
                c->paused = 1;
            }
            return moved ? BEV_OK : BEV_NEED_MORE;
        case P_IDLE: {
            /* Empty lines before a request line are ignored (RFC 9112
             * 2.2), as after a body some clients send one. */
            char lead[32];
            size_t n = evbuffer_copyout(src, lead, avail < sizeof(lead) ? avail : sizeof(lead)), k = 0;
            while (k < n && (lead[k] == '\r' || lead[k] == '\n'))
                k++;
            if (k) {
                evbuffer_drain(src, k);
                continue;
            }
            c->phase = P_HEAD;
            memset(&c->scan, 0, sizeof(c->scan));
            c->scanned = 0;
            /* The first request's clock started at accept. */
            if (c->nreq++)
                arm(c, c->l->lim.read_timeout_ms);
            continue;
        }
        case P_HEAD: {
            size_t n = head_len(c, src);
            if (!n) {
                if (avail > c->l->lim.max_header)
                    refuse(c, 431, RC_LREF_HEADER, "request line and headers larger than producer_max_header");
                return moved ? BEV_OK : BEV_NEED_MORE;
            }
            if (take_head(c, src, dst, n) < 0)
                return BEV_NEED_MORE;
            moved = 1;
            continue;
        }
        case P_BODY:
            if (c->chunked) {
                if (take_chunked(c, src, dst) < 0)
                    return BEV_NEED_MORE;
            } else {
                size_t n = avail < c->body_left ? avail : (size_t)c->body_left;
                evbuffer_remove_buffer(src, dst, n);
                c->body_left -= n;
                if (!c->body_left)
                    to_wait(c);
            }
            moved = 1;
            continue;
        }
    }
    return moved ? BEV_OK : BEV_NEED_MORE;
}

/* evhttp's output goes straight to the socket: its "written" callback then
 * means "in the kernel", which is what its close after a reply relies on. */
static enum bufferevent_filter_result out_filter(struct evbuffer *src, struct evbuffer *dst, ev_ssize_t lim,
                                                 enum bufferevent_flush_mode mode, void *arg)
{
    conn_t *c = arg;
    if (c->dead) {
        evbuffer_drain(src, evbuffer_get_length(src));
        return BEV_OK;
    }
    /* Written only from our own flush, never inside evhttp's adding to
     * the output: the "written" callback would run before evhttp set what
     * it should do (a 100 Continue on a kept-alive connection would run the
     * previous reply's done callback). */
    if (!c->flushing) {
        event_active(c->kick, EV_TIMEOUT, 1);
        return BEV_NEED_MORE;
    }
    if (!c->reply_seen && evbuffer_get_length(src) >= 12) {
        char line[12];
        evbuffer_copyout(src, line, sizeof(line));
        if (memcmp(line + 8, " 100", 4) != 0) { /* "HTTP/1.1 100 Continue" is not the reply */
            c->reply_seen = 1;
            if (c->phase == P_HEAD || c->phase == P_BODY) /* evhttp refused it: it closes */
                c->phase = P_CLOSING;
        }
    }
    while (evbuffer_get_length(src)) {
        if (evbuffer_write(src, c->fd) >= 0)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
            event_add(c->wr, NULL);
            if (!c->writing && c->phase == P_WAIT)
                arm(c, c->l->lim.idle_timeout_ms); /* a client that does not read */
            c->writing = 1;
            return BEV_NEED_MORE;
        }
        evbuffer_drain(src, evbuffer_get_length(src));
        c->dead = 1;
        event_active(c->kick, EV_TIMEOUT, 1);
        return BEV_OK;
    }
    c->writing = 0;
    if (c->reply_seen && c->phase == P_WAIT) {
        c->reply_seen = 0;
        c->phase = P_IDLE;
        if (c->paused) {
            bufferevent_enable(bufferevent_get_underlying(c->bev), EV_READ);
            c->paused = 0;
        }
        arm(c, c->l->lim.idle_timeout_ms);
        event_active(c->kick, EV_TIMEOUT, 1); /* a pipelined request may wait */
    }
    return BEV_OK;
}

static void flush(conn_t *c)
{
    c->flushing = 1;
    bufferevent_flush(c->bev, EV_WRITE, BEV_NORMAL);
    c->flushing = 0;
}

static void on_output_added(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    /* evhttp adds its reply while the filter's writing is off and turns
     * it on afterwards, which 2.1.12's filter does not notice: flush once
     * evhttp is done (the kick runs after the current callback). */
    conn_t *c = arg;
    if (info->n_added && !c->closed)
        event_active(c->kick, EV_TIMEOUT, 1);
}

static void close_now(conn_t *c)
{
    if (c->evcon)
        evhttp_connection_free(c->evcon); /* calls on_evcon_close */
}

static void write_early(conn_t *c)
{
    while (evbuffer_get_length(c->early)) {
        if (evbuffer_write(c->early, c->fd) >= 0)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
            event_add(c->wr, NULL);
            if (!evtimer_pending(c->timer, NULL))
                arm(c, LINGER_MS);
            return;
        }
        close_now(c);
        return;
    }
    /* The answer is out: a FIN after it, then input is dropped (in_filter)
     * until the client's FIN makes evhttp close, or the grace ends. */
    shutdown(c->fd, SHUT_WR);
    arm(c, LINGER_MS);
}

static void on_writable(evutil_socket_t fd, short what, void *arg);

static void on_evcon_close(struct evhttp_connection *evcon, void *arg)
{
    conn_t *c = arg;
    c->evcon = NULL;
    c->closed = 1;
    event_del(c->timer);
    event_del(c->kick);
    if (c->wr)
        event_del(c->wr);
}

static void on_kick(evutil_socket_t fd, short what, void *arg)
{
    conn_t *c = arg;
    struct bufferevent *u = bufferevent_get_underlying(c->bev);
    if (!c->evcon && !c->closed) {
        void *cbarg = NULL;
        bufferevent_getcb(c->bev, NULL, NULL, NULL, &cbarg);
        c->evcon = cbarg;
        c->fd = bufferevent_getfd(u);
        c->wr = event_new(bufferevent_get_base(c->bev), c->fd, EV_WRITE, on_writable, c);
        if (!c->wr)
            abort(); /* out of memory */
        evhttp_connection_set_closecb(c->evcon, on_evcon_close, c);
    }
    if (c->dead) {
        close_now(c);
        return;
    }
    if (c->phase == P_CLOSING) {
        if (evbuffer_get_length(c->early))
            write_early(c);
        return;
    }
    if (evbuffer_get_length(bufferevent_get_output(c->bev)) && !c->writing)
        flush(c);
    if (c->closed) /* the reply was a Connection: close one */
        return;
    if (c->phase == P_IDLE && evbuffer_get_length(bufferevent_get_input(u)))
        bufferevent_trigger(u, EV_READ, BEV_TRIG_IGNORE_WATERMARKS);
}

static void on_writable(evutil_socket_t fd, short what, void *arg)
{
    conn_t *c = arg;
    if (c->phase == P_CLOSING && evbuffer_get_length(c->early)) {
        write_early(c);
        return;
    }
    c->writing = 0;
    flush(c);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    conn_t *c = arg;
    char msg[96];
    switch (c->phase) {
    case P_HEAD:
    case P_BODY:
        snprintf(msg, sizeof(msg), "request not received within producer_read_timeout_ms (%llu)",
                 (unsigned long long)c->l->lim.read_timeout_ms);
        refuse(c, 408, RC_LREF_READ_TIMEOUT, msg);
        return;
    case P_IDLE:
        /* Nothing of a request came: close without an answer, as
         * after a keep-alive. Counted when it is the first request. */
        if (c->nreq == 0)
            c->l->refused[RC_LREF_READ_TIMEOUT]++;
        close_now(c);
        return;
    default: /* WAIT with a reply the client does not read, or CLOSING */
        close_now(c);
        return;
    }
}

static void free_conn(void *arg)
{
    conn_t *c = arg;
    if (c->counted)
        c->l->open--;
    event_free(c->timer);
    event_free(c->kick);
    if (c->wr)
        event_free(c->wr);
    evbuffer_free(c->early);
    free(c);
}

static struct bufferevent *on_new_connection(struct event_base *base, void *arg)
{
    rc_listener_t *l = arg;
    conn_t *c = rc_xcalloc(1, sizeof(*c));
    c->l = l;
    c->fd = -1;
    struct bufferevent *u = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    c->bev = u ? bufferevent_filter_new(u, in_filter, out_filter, BEV_OPT_CLOSE_ON_FREE, free_conn, c) : NULL;
    c->timer = evtimer_new(base, on_timer, c);
    c->kick = event_new(base, -1, 0, on_kick, c);
    c->early = evbuffer_new();
    if (!c->bev || !c->timer || !c->kick || !c->early)
        abort(); /* out of memory */
    /* The fd is not known yet: the write event is made at the first kick. */
    c->wr = NULL;
    evbuffer_add_cb(bufferevent_get_output(c->bev), on_output_added, c);
    if (l->lim.max_connections && l->open >= l->lim.max_connections) {
        char what[96];
        snprintf(what, sizeof(what), "too many producer connections (producer_max_connections %llu)",
                 (unsigned long long)l->lim.max_connections);
        refuse(c, 503, RC_LREF_MAX_CONNECTIONS, what);
    } else {
        c->counted = 1;
        l->open++;
        arm(c, l->lim.read_timeout_ms);
        event_active(c->kick, EV_TIMEOUT, 1);
    }
    return c->bev;
}

void rc_listener_attach(rc_listener_t *l, struct evhttp *http)
{
    evhttp_set_bevcb(http, on_new_connection, l);
    /* Ours come first; evhttp's are the same, so never the ones that answer. */
    evhttp_set_max_headers_size(http, (ev_ssize_t)l->lim.max_header);
    evhttp_set_max_body_size(http, (ev_ssize_t)l->lim.max_body);
}
