#include "bench/loadgen/publish.h"

#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench/loadgen/conn.h"
#include "bench/loadgen/report.h"
#include "common/alloc.h"

#define NS_PER_S 1000000000ull
#define DRAIN_NS (5 * NS_PER_S)      /* how long answers in flight are awaited at the end */
#define RETRY_NS (100 * 1000000ull)  /* pause before reconnecting a lost connection */
#define IN_CAP 16384                 /* a response larger than this is a failure */
#define SIG_TOKEN UINT64_MAX
#define HDR_ROOM 2048               /* request headers go before the body in out */

enum { PC_CLOSED, PC_CONNECTING, PC_IDLE, PC_BUSY };

typedef struct pub_conn {
    int fd;
    int state;
    uint64_t t_sent, t_retry;
    char *out;                 /* the request being written */
    size_t out_len, out_off;
    char in[IN_CAP];
    size_t in_len;
} pub_conn_t;

typedef struct pub {
    const rc_lg_pub_opts_t *o;
    rc_lg_pub_stats_t *st;
    int epfd;
    struct sockaddr_in dst;
    char host[256];            /* host:port for the Host header */
    char path[512];            /* ringcast: the path; nchan: the template's path, "%s" = topic */
    size_t out_cap;
    pub_conn_t *c;
} pub_t;

static void note(pub_t *p, const char *what, int err)
{
    if (!p->st->first_error[0])
        snprintf(p->st->first_error, sizeof(p->st->first_error), "%s: %s", what, strerror(err));
}

/* http://host[:port]/path: resolves host, keeps "host:port" and the path. */
static int parse_url(pub_t *p, const char *url)
{
    if (strncmp(url, "http://", 7) != 0)
        return -EINVAL;
    const char *h = url + 7, *slash = strchr(h, '/');
    size_t hl = slash ? (size_t)(slash - h) : strlen(h);
    if (hl == 0 || hl >= sizeof(p->host) || strlen(slash ? slash : "/") >= sizeof(p->path))
        return -EINVAL;
    memcpy(p->host, h, hl);
    p->host[hl] = 0;
    snprintf(p->path, sizeof(p->path), "%s", slash ? slash : "/");
    char name[256];
    snprintf(name, sizeof(name), "%s", p->host);
    int port = 80;
    char *colon = strrchr(name, ':');
    if (colon) {
        *colon = 0;
        port = atoi(colon + 1);
        if (port <= 0 || port > 65535)
            return -EINVAL;
    }
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res;
    if (getaddrinfo(name, NULL, &hints, &res) != 0)
        return -EHOSTUNREACH;
    memcpy(&p->dst, res->ai_addr, sizeof(p->dst));
    p->dst.sin_port = htons((uint16_t)port);
    freeaddrinfo(res);
    return 0;
}

static void pc_close(pub_t *p, pub_conn_t *c, uint64_t now)
{
    if (c->state == PC_BUSY)
        p->st->failed++;
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->state = PC_CLOSED;
    c->t_retry = now + RETRY_NS;
    c->in_len = 0;
}

static void pc_connect(pub_t *p, pub_conn_t *c, uint32_t i)
{
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        note(p, "socket", errno);
        pc_close(p, c, rc_lg_now_mono());
        return;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(c->fd, (struct sockaddr *)&p->dst, sizeof(p->dst)) < 0 && errno != EINPROGRESS) {
        note(p, "connect", errno);
        pc_close(p, c, rc_lg_now_mono());
        return;
    }
    struct epoll_event ev = {.events = EPOLLOUT, .data.u64 = i};
    epoll_ctl(p->epfd, EPOLL_CTL_ADD, c->fd, &ev);
    c->state = PC_CONNECTING;
}

static void pc_want(pub_t *p, pub_conn_t *c, uint32_t i, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.u64 = i};
    epoll_ctl(p->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void pc_write(pub_t *p, pub_conn_t *c, uint32_t i)
{
    ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
    if (w < 0) {
        if (errno != EAGAIN && errno != EINTR) {
            note(p, "send", errno);
            pc_close(p, c, rc_lg_now_mono());
        }
        return;
    }
    c->out_off += (size_t)w;
    pc_want(p, c, i, c->out_off < c->out_len ? EPOLLIN | EPOLLOUT : EPOLLIN);
}

/* Builds and sends the next event on idle connection c. */
static void send_next(pub_t *p, pub_conn_t *c, uint32_t i)
{
    const rc_lg_pub_opts_t *o = p->o;
    uint32_t t = (uint32_t)(p->st->sent % o->topics);
    uint64_t n = ++p->st->topic_n[t];
    char topic[256], path[768], data[256];
    snprintf(topic, sizeof(topic), "%s%u", o->topic_prefix, t);
    c->t_sent = rc_lg_now_mono();
    int dl = snprintf(data, sizeof(data), "{\"ts\":%llu,\"n\":%llu%s", (unsigned long long)rc_lg_now_real(),
                      (unsigned long long)n, o->pad ? ",\"p\":\"" : "}");
    const char *pct = strstr(p->path, "%s");
    if (o->nchan && pct)
        snprintf(path, sizeof(path), "%.*s%s%s", (int)(pct - p->path), p->path, topic, pct + 2);
    else
        snprintf(path, sizeof(path), "%s", p->path);
    /* Body first, after room for the headers, so Content-Length is known. */
    char *body = c->out + HDR_ROOM;
    size_t bl = 0;
    if (!o->nchan)
        bl += (size_t)sprintf(body, "{\"topic\":\"%s\",\"event\":\"%s\",\"data\":", topic, o->event);
    memcpy(body + bl, data, (size_t)dl);
    bl += (size_t)dl;
    if (o->pad) {
        memset(body + bl, 'x', o->pad);
        bl += o->pad;
        memcpy(body + bl, "\"}", 2);
        bl += 2;
    }
    if (!o->nchan)
        body[bl++] = '}';
    char hdr[HDR_ROOM];
    int hl = snprintf(hdr, sizeof(hdr),
                      "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                      path, p->host, bl);
    if (hl < 0 || hl >= (int)sizeof(hdr))
        abort(); /* path and host were length-checked when parsed */
    c->out_off = HDR_ROOM - (size_t)hl;
    memcpy(c->out + c->out_off, hdr, (size_t)hl);
    c->out_len = HDR_ROOM + bl;
    c->in_len = 0;
    c->state = PC_BUSY;
    p->st->sent++;
    pc_write(p, c, i);
}

/* A complete response in c->in? Returns its status (> 0), 0 if incomplete,
 * -1 if malformed. Sets *keep to 0 when the server closes after it. */
static int response_done(pub_conn_t *c, int *keep)
{
    const char *end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
    if (!end)
        return 0;
    size_t hl = (size_t)(end - c->in) + 4;
    if (c->in_len < 12 || strncmp(c->in, "HTTP/1.", 7) != 0)
        return -1;
    int status = atoi(c->in + 9);
    long clen = -1;
    int chunked = 0;
    *keep = c->in[7] == '1';
    for (const char *l = memchr(c->in, '\n', hl); l && l < end; l = memchr(l + 1, '\n', (size_t)(end - l))) {
        const char *h = l + 1;
        if (!strncasecmp(h, "Content-Length:", 15))
            clen = atol(h + 15);
        else if (!strncasecmp(h, "Transfer-Encoding:", 18) && strstr(h, "chunked") && strstr(h, "chunked") < end)
            chunked = 1;
        else if (!strncasecmp(h, "Connection:", 11) && !strncasecmp(h + 11 + strspn(h + 11, " "), "close", 5))
            *keep = 0;
    }
    if (chunked) /* our answers are small: wait for the last chunk */
        return memmem(c->in + hl, c->in_len - hl, "0\r\n\r\n", 5) ? status : 0;
    if (clen < 0) {
        *keep = 0; /* body runs to the close; we do not need it */
        return status;
    }
    return c->in_len - hl >= (size_t)clen ? status : 0;
}

static void pc_read(pub_t *p, pub_conn_t *c, uint64_t now)
{
    ssize_t r = read(c->fd, c->in + c->in_len, IN_CAP - c->in_len);
    if (r < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (r <= 0 || c->state != PC_BUSY) {
        if (r < 0)
            note(p, "read", errno);
        pc_close(p, c, now);
        return;
    }
    c->in_len += (size_t)r;
    int keep = 1, status = response_done(c, &keep);
    if (status == 0 && c->in_len < IN_CAP)
        return;
    rc_hist_record(&p->st->rtt, now - c->t_sent);
    if (status >= 200 && status < 300) {
        p->st->ok++;
    } else {
        p->st->failed++;
        if (!p->st->first_error[0])
            snprintf(p->st->first_error, sizeof(p->st->first_error), "HTTP %d: %.100s", status,
                     c->in + 9 < c->in + c->in_len ? c->in + 9 : "");
    }
    c->state = PC_IDLE;
    if (!keep || status <= 0)
        pc_close(p, c, 0); /* t_retry 0: reconnect at once */
}

static void pc_event(pub_t *p, uint32_t i, uint32_t events, uint64_t now)
{
    pub_conn_t *c = &p->c[i];
    if (c->state == PC_CONNECTING) {
        int err = 0;
        socklen_t sl = sizeof(err);
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &sl);
        if (err) {
            note(p, "connect", err);
            pc_close(p, c, now);
            return;
        }
        c->state = PC_IDLE;
        pc_want(p, c, i, EPOLLIN);
        return;
    }
    if ((events & EPOLLOUT) && c->state == PC_BUSY && c->out_off < c->out_len)
        pc_write(p, c, i);
    if (c->fd >= 0 && (events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
        pc_read(p, c, now);
}

int rc_lg_publish_run(const rc_lg_pub_opts_t *o, rc_lg_pub_stats_t *st, int sigfd)
{
    pub_t p = {.o = o, .st = st};
    if (strlen(o->event) > 100 || strlen(o->topic_prefix) > 200) {
        snprintf(st->first_error, sizeof(st->first_error), "--event or --topic-prefix too long");
        return -EINVAL;
    }
    int rc = parse_url(&p, o->nchan ? o->nchan_url : o->url);
    if (rc < 0) {
        snprintf(st->first_error, sizeof(st->first_error), "cannot use URL %s", o->nchan ? o->nchan_url : o->url);
        return rc;
    }
    p.epfd = epoll_create1(EPOLL_CLOEXEC);
    if (p.epfd < 0)
        return -errno;
    struct epoll_event sev = {.events = EPOLLIN, .data.u64 = SIG_TOKEN};
    if (sigfd >= 0)
        epoll_ctl(p.epfd, EPOLL_CTL_ADD, sigfd, &sev);
    st->topic_n = rc_xcalloc(o->topics, sizeof(uint64_t));
    p.out_cap = HDR_ROOM + 512 + o->pad;
    p.c = rc_xcalloc(o->conns, sizeof(*p.c));
    for (uint32_t i = 0; i < o->conns; i++) {
        p.c[i].fd = -1;
        p.c[i].out = rc_xmalloc(p.out_cap);
        pc_connect(&p, &p.c[i], i);
    }
    uint64_t t0 = rc_lg_now_mono(), t_end = t0 + (uint64_t)(o->duration_s * 1e9), progress_at = t0 + NS_PER_S;
    int stop = 0;
    struct epoll_event evs[64];
    for (;;) {
        uint64_t now = rc_lg_now_mono();
        if (now >= t_end && !stop)
            stop = 1;
        int busy = 0;
        for (uint32_t i = 0; i < o->conns; i++)
            busy += p.c[i].state == PC_BUSY || p.c[i].state == PC_CONNECTING;
        if (stop && (!busy || now >= t_end + DRAIN_NS))
            break;
        uint64_t due = stop ? st->sent : (uint64_t)floor((double)(now - t0) / 1e9 * o->rate) + 1;
        if (due > st->sent && due - st->sent > st->late_max)
            st->late_max = due - st->sent;
        for (uint32_t i = 0; i < o->conns && due > st->sent; i++) {
            if (p.c[i].state == PC_IDLE)
                send_next(&p, &p.c[i], i);
        }
        for (uint32_t i = 0; i < o->conns && !stop; i++) {
            if (p.c[i].state == PC_CLOSED && now >= p.c[i].t_retry) {
                st->reconnects++;
                pc_connect(&p, &p.c[i], i);
            }
        }
        if (now >= progress_at) {
            rc_lg_report_pub_progress(st, (double)(now - t0) / 1e9);
            progress_at += NS_PER_S;
        }
        uint64_t wake = now + RETRY_NS, next_due = t0 + (uint64_t)((double)st->sent / o->rate * 1e9);
        if (!stop && next_due < wake)
            wake = next_due > now ? next_due : now;
        if (progress_at < wake)
            wake = progress_at;
        int k = epoll_wait(p.epfd, evs, 64, (int)((wake - now + 999999) / 1000000));
        now = rc_lg_now_mono();
        for (int j = 0; j < k; j++) {
            if (evs[j].data.u64 == SIG_TOKEN) {
                struct signalfd_siginfo si;
                ssize_t r = read(sigfd, &si, sizeof(si));
                (void)r;
                stop = 1;
                t_end = now;
                continue;
            }
            pc_event(&p, (uint32_t)evs[j].data.u64, evs[j].events, now);
        }
    }
    st->elapsed_s = (double)(rc_lg_now_mono() - t0) / 1e9;
    for (uint32_t i = 0; i < o->conns; i++) {
        if (p.c[i].state == PC_BUSY)
            st->failed++; /* no answer within the drain time */
        if (p.c[i].fd >= 0)
            close(p.c[i].fd);
        free(p.c[i].out);
    }
    free(p.c);
    close(p.epfd);
    return 0;
}
