/* Admission bulkheads (docs/operations.md, "Limits on clients"):
 *  - accept_rate: a token bucket per edge holding one second's worth; a
 *    connection past it is answered 503 with a jittered Retry-After at once,
 *    so a spike is told when to come back instead of waiting in the backlog;
 *  - max_conns_per_ip: connections one client address holds on this edge,
 *    counted in a table keyed by SipHash under a random key (a client
 *    cannot pick addresses that share a chain);
 *  - trusted_proxies: a connection from one of them starts with a PROXY
 *    header (v1 or v2) naming the real client, whose address is the one
 *    counted; one without a valid header is closed, counted;
 *  - client_msg_rate: a token bucket per connection, burst max_channels + 16
 *    so the official client's rejoin of every channel after a reconnect
 *    passes; past it the connection is closed with 1008.
 * Everything here runs on the loop thread and never blocks. */
#include "edge/edge.h"

#include <errno.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/clock.h"
#include "common/rand.h"
#include "common/textlog.h"
#include "proto/close_codes.h"
#include "proto/http_response.h"
#include "proto/proxy_proto.h"
#include "shm/slots.h"

struct rc_ip_entry {
    rc_ip_entry_t *next;
    uint64_t hash;
    uint32_t count;
    uint8_t len;      /* 4 or 16 */
    uint8_t addr[16];
};

/* ---- the address table ---- */

/* The address a connection is counted under: IPv4 (an IPv4-mapped IPv6
 * peer included) as its 4 bytes, IPv6 as its 16. 0 if not IP. */
static int addr_key(const struct sockaddr *sa, uint8_t out[16])
{
    static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    if (sa->sa_family == AF_INET) {
        struct sockaddr_in sin;
        memcpy(&sin, sa, sizeof(sin));
        memcpy(out, &sin.sin_addr, 4);
        return 4;
    }
    if (sa->sa_family == AF_INET6) {
        struct sockaddr_in6 sin6;
        memcpy(&sin6, sa, sizeof(sin6));
        if (memcmp(&sin6.sin6_addr, mapped, 12) == 0) {
            memcpy(out, (const uint8_t *)&sin6.sin6_addr + 12, 4);
            return 4;
        }
        memcpy(out, &sin6.sin6_addr, 16);
        return 16;
    }
    return 0;
}

static void ips_grow(rc_ip_table_t *t)
{
    size_t n = t->nbuckets ? t->nbuckets * 2 : 256;
    rc_ip_entry_t **b = rc_xcalloc(n, sizeof(*b));
    for (size_t i = 0; i < t->nbuckets; i++) {
        for (rc_ip_entry_t *p = t->buckets[i], *next; p; p = next) {
            next = p->next;
            p->next = b[p->hash & (n - 1)];
            b[p->hash & (n - 1)] = p;
        }
    }
    free(t->buckets);
    t->buckets = b;
    t->nbuckets = n;
}

/* Takes one count for addr; NULL (nothing taken) if it already holds max. */
static rc_ip_entry_t *ips_take(rc_ip_table_t *t, const uint8_t *addr, int len, uint64_t max)
{
    uint64_t h;
    crypto_shorthash_siphash24((unsigned char *)&h, addr, (unsigned long long)len, t->key);
    if (t->count >= t->nbuckets)
        ips_grow(t);
    rc_ip_entry_t **slot = &t->buckets[h & (t->nbuckets - 1)];
    for (rc_ip_entry_t *p = *slot; p; p = p->next) {
        if (p->hash == h && p->len == len && memcmp(p->addr, addr, (size_t)len) == 0) {
            if (p->count >= max)
                return NULL;
            p->count++;
            return p;
        }
    }
    if (max == 0)
        return NULL;
    rc_ip_entry_t *p = rc_xcalloc(1, sizeof(*p));
    p->hash = h;
    p->len = (uint8_t)len;
    memcpy(p->addr, addr, (size_t)len);
    p->count = 1;
    p->next = *slot;
    *slot = p;
    t->count++;
    return p;
}

static void ips_put(rc_ip_table_t *t, rc_ip_entry_t *e)
{
    if (--e->count)
        return;
    rc_ip_entry_t **pp = &t->buckets[e->hash & (t->nbuckets - 1)];
    while (*pp != e)
        pp = &(*pp)->next;
    *pp = e->next;
    free(e);
    t->count--;
}

/* ---- refusals ---- */

/* 503 with a jittered Retry-After on a fresh socket, then close. A few
 * bytes on a new socket cannot block. */
void rc_refuse_fd(rc_edge_t *e, int fd, const char *why)
{
    char body[128], hdr[64], resp[512];
    int bn = snprintf(body, sizeof(body), "%s, retry later\n", why);
    snprintf(hdr, sizeof(hdr), "Retry-After: %u\r\n", (unsigned)rc_rand_range(1, 10));
    int n = rc_http_response(resp, sizeof(resp), RC_HTTP_UNAVAILABLE, NULL, hdr, body, (size_t)bn);
    if (n > 0 && send(fd, resp, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
        /* nothing to do: the client sees the close */
    }
    close(fd);
    RC_SLOT_ADD(e->slot, refused, 1);
}

/* ---- set-up ---- */

int rc_admit_init(rc_edge_t *e)
{
    const rc_config_t *c = &e->cfg;
    char err[160];
    if (rc_cfg_u64(c, "edge_memory_max", &e->edge_memory_max) ||
        rc_cfg_u64(c, "max_conns_per_ip", &e->max_conns_per_ip) ||
        rc_cfg_u64(c, "accept_rate", &e->accept_rate) || rc_cfg_u64(c, "client_msg_rate", &e->client_msg_rate) ||
        rc_cfg_u64(c, "lapped_close_ms", &e->lapped_close_ms))
        return -EINVAL;
    if (e->client_msg_rate > 1000000 || e->accept_rate > 10000000) {
        fprintf(stderr, "client_msg_rate must be at most 1000000 and accept_rate at most 10000000\n");
        return -EINVAL;
    }
    if (rc_cidr_list_parse(rc_cfg_str(c, "trusted_proxies"), &e->trusted_proxies, err, sizeof(err)) < 0) {
        fprintf(stderr, "trusted_proxies: %s\n", err);
        return -EINVAL;
    }
    if (getrandom(e->ips.key, sizeof(e->ips.key), 0) != (ssize_t)sizeof(e->ips.key)) {
        fprintf(stderr, "getrandom failed: %s\n", strerror(errno));
        return -EIO;
    }
    e->accept_tokens = (double)e->accept_rate;
    e->accept_at_ms = rc_clock_mono_ms();
    return 0;
}

void rc_admit_free(rc_edge_t *e)
{
    for (size_t i = 0; i < e->ips.nbuckets; i++) {
        for (rc_ip_entry_t *p = e->ips.buckets[i], *next; p; p = next) {
            next = p->next;
            free(p);
        }
    }
    free(e->ips.buckets);
    memset(&e->ips, 0, sizeof(e->ips));
    rc_cidr_list_free(&e->trusted_proxies);
}

/* ---- accept ---- */

static int accept_rate_ok(rc_edge_t *e)
{
    if (!e->accept_rate)
        return 1;
    uint64_t now = rc_clock_mono_ms();
    double burst = (double)e->accept_rate;
    e->accept_tokens += (double)(now - e->accept_at_ms) * (double)e->accept_rate / 1000.0;
    if (e->accept_tokens > burst)
        e->accept_tokens = burst;
    e->accept_at_ms = now;
    if (e->accept_tokens < 1.0)
        return 0;
    e->accept_tokens -= 1.0;
    return 1;
}

void rc_admit_log_refusal(const char *what)
{
    static rc_textlog_limit_t lim;
    if (rc_textlog_allow(&lim, 10))
        rc_textlog("warn", "msg=\"connection refused with 503\" why=\"%s\" suppressed=%lu", what, lim.suppressed);
}

int rc_admit_accept(rc_edge_t *e, int fd, int *proxied, rc_ip_entry_t **ip)
{
    *proxied = 0;
    *ip = NULL;
    if (!accept_rate_ok(e)) {
        RC_SLOT_ADD(e->slot, refused_rate, 1);
        rc_admit_log_refusal("accept_rate");
        rc_refuse_fd(e, fd, "edge accepting too fast");
        return -1;
    }
    if (!e->max_conns_per_ip && !e->trusted_proxies.n)
        return 0; /* nothing needs the peer's address */
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (getpeername(fd, (struct sockaddr *)&ss, &sl) < 0)
        return 0; /* already gone: the receive will see it */
    if (e->trusted_proxies.n && rc_cidr_list_match(&e->trusted_proxies, (struct sockaddr *)&ss)) {
        *proxied = 1; /* counted under the client its header names */
        return 0;
    }
    if (!e->max_conns_per_ip)
        return 0;
    uint8_t key[16];
    int len = addr_key((struct sockaddr *)&ss, key);
    if (!len)
        return 0;
    *ip = ips_take(&e->ips, key, len, e->max_conns_per_ip);
    if (!*ip) {
        RC_SLOT_ADD(e->slot, refused_ip, 1);
        rc_admit_log_refusal("max_conns_per_ip");
        rc_refuse_fd(e, fd, "too many connections from this address");
        return -1;
    }
    return 0;
}

int rc_admit_proxy_header(rc_edge_t *e, rc_conn_t *c, const uint8_t *buf, size_t len)
{
    rc_proxy_hdr_t h;
    int r = rc_proxy_hdr_parse(buf, len, &h);
    if (r == 0)
        return 0;
    if (r < 0) {
        static rc_textlog_limit_t lim;
        RC_SLOT_ADD(e->slot, proxy_refused, 1);
        if (rc_textlog_allow(&lim, 10))
            rc_textlog("warn", "msg=\"connection from a trusted proxy without a valid PROXY header: closed\" "
                               "err=%s suppressed=%lu", r == -EMSGSIZE ? "too_long" : "malformed", lim.suppressed);
        rc_conn_abort(e, c);
        return -1;
    }
    c->flags &= ~RC_CF_PROXY_HDR;
    if (h.local || !e->max_conns_per_ip)
        return r; /* the balancer's own health check, or nothing to count */
    uint8_t key[16];
    int klen = addr_key((struct sockaddr *)&h.src, key);
    if (!klen)
        return r;
    c->ip = ips_take(&e->ips, key, klen, e->max_conns_per_ip);
    if (!c->ip) {
        RC_SLOT_ADD(e->slot, refused_ip, 1);
        rc_admit_log_refusal("max_conns_per_ip");
        rc_handshake_refuse_busy(e, c, "too many connections from this address");
        return -1;
    }
    return r;
}

void rc_admit_release(rc_edge_t *e, rc_conn_t *c)
{
    if (c->ip) {
        ips_put(&e->ips, c->ip);
        c->ip = NULL;
    }
}

/* ---- client messages ---- */

static uint32_t msg_burst_milli(const rc_edge_t *e) { return (uint32_t)((e->max_channels + 16) * 1000); }

void rc_admit_msg_init(rc_edge_t *e, rc_conn_t *c)
{
    c->msg_tokens = msg_burst_milli(e);
    c->msg_at_ms = (uint32_t)rc_clock_mono_coarse_ms();
}

int rc_admit_msg(rc_edge_t *e, rc_conn_t *c)
{
    if (!e->client_msg_rate)
        return 0;
    uint32_t now = (uint32_t)rc_clock_mono_coarse_ms();
    uint64_t refill = (uint64_t)(uint32_t)(now - c->msg_at_ms) * e->client_msg_rate; /* milli-messages */
    uint64_t t = c->msg_tokens + refill;
    uint32_t burst = msg_burst_milli(e);
    c->msg_tokens = t > burst ? burst : (uint32_t)t;
    c->msg_at_ms = now;
    if (c->msg_tokens >= 1000) {
        c->msg_tokens -= 1000;
        return 0;
    }
    static rc_textlog_limit_t lim;
    RC_SLOT_ADD(e->slot, kicks_rate, 1);
    if (rc_textlog_allow(&lim, 10))
        rc_textlog("warn", "msg=\"client over client_msg_rate: closed\" code=1008 rate=%llu suppressed=%lu",
                   (unsigned long long)e->client_msg_rate, lim.suppressed);
    rc_conn_close(e, c, RC_CLOSE_POLICY);
    return -1;
}
