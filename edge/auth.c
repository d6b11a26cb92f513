#include "edge/auth.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium/crypto_shorthash_siphash24.h>
#include <sodium/randombytes.h>
#include <sodium/utils.h>

#include "common/alloc.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/rand.h"
#include "edge/edge.h"
#include "proto/jwt.h"
#include "proto/query.h"
#include "proto/close_codes.h"
#include "common/textlog.h"
#include "shm/revoke.h"
#include "shm/slots.h"
#include "shm/user_conns.h"

int rc_auth_init(rc_edge_t *e)
{
    const char *mode = rc_cfg_str(&e->cfg, "auth");
    if (rc_cfg_u64(&e->cfg, "max_conns_per_user", &e->max_conns_per_user) || e->max_conns_per_user > 1000000) {
        fprintf(stderr, "max_conns_per_user must be 0..1000000\n");
        return -EINVAL;
    }
    if (!strcmp(mode, "off")) {
        if (e->max_conns_per_user) {
            fprintf(stderr, "max_conns_per_user needs auth = jwt (a user is a token's sub)\n");
            return -EINVAL;
        }
        return 0;
    }
    if (strcmp(mode, "jwt")) {
        fprintf(stderr, "auth must be off or jwt (got '%s')\n", mode);
        return -EINVAL;
    }
    char err[512];
    if (rc_jwt_keys_load(&e->jwt_keys, rc_cfg_str(&e->cfg, "jwt_keys"), err, sizeof(err)) < 0) {
        fprintf(stderr, "%s\n", err);
        return -EINVAL;
    }
    rc_jwt_keys_remember(&e->jwt_keys, 8192); /* 288 KiB: reconnects skip the signature check */
    const char *aud = rc_cfg_str(&e->cfg, "jwt_audience"), *iss = rc_cfg_str(&e->cfg, "jwt_issuer");
    uint64_t leeway;
    if (rc_cfg_u64(&e->cfg, "jwt_leeway_s", &leeway) || leeway > 300) {
        fprintf(stderr, "jwt_leeway_s must be 0..300\n");
        return -EINVAL;
    }
    e->jwt_pol.audience = *aud ? aud : NULL;
    e->jwt_pol.issuer = *iss ? iss : NULL;
    e->jwt_pol.leeway_s = (int64_t)leeway;
    const char *win = rc_cfg_str(&e->cfg, "jwt_refresh_window");
    char *end;
    e->refresh_lo = strtod(win, &end);
    e->refresh_hi = *end == '-' ? strtod(end + 1, &end) : -1;
    if (*end || !(e->refresh_lo > 0 && e->refresh_lo <= e->refresh_hi && e->refresh_hi < 1)) {
        fprintf(stderr, "jwt_refresh_window must be LO-HI, fractions with 0 < LO <= HI < 1 (got '%s')\n", win);
        return -EINVAL;
    }
    randombytes_buf(e->grant_key, sizeof(e->grant_key));
    e->auth_on = 1;
    return 0;
}

/* A moment drawn uniformly in the refresh window of the lifetime left,
 * in ms from now: jwt_refresh_window of it. Every process draws from its
 * own generator (common/rand.h, seeded with getrandom). */
static uint64_t window_ms(const rc_edge_t *e, uint64_t left_ms)
{
    uint64_t lo = (uint64_t)((double)left_ms * e->refresh_lo), hi = (uint64_t)((double)left_ms * e->refresh_hi);
    return hi > lo ? rc_rand_range(lo, hi) : lo;
}

static uint64_t grant_hash(const rc_edge_t *e, const rc_jwt_claims_t *c)
{
    /* iat too: a kick revokes the tokens issued before it, not the grant */
    /* sub, then the two pattern lists, each with its length: no two
     * different grants share an encoding */
    size_t sl = strlen(c->sub);
    size_t n = 3 * sizeof(size_t) + sizeof(int64_t) + sl + c->topics_len + c->pub_len;
    unsigned char *buf = rc_xmalloc(n);
    size_t off = 0;
    memcpy(buf + off, &sl, sizeof(sl)), off += sizeof(sl);
    memcpy(buf + off, c->sub, sl), off += sl;
    memcpy(buf + off, &c->topics_len, sizeof(size_t)), off += sizeof(size_t);
    if (c->topics_len)
        memcpy(buf + off, c->topics, c->topics_len), off += c->topics_len;
    memcpy(buf + off, &c->pub_len, sizeof(size_t)), off += sizeof(size_t);
    if (c->pub_len)
        memcpy(buf + off, c->pub, c->pub_len), off += c->pub_len;
    memcpy(buf + off, &c->iat, sizeof(int64_t)), off += sizeof(int64_t);
    uint8_t out[8];
    crypto_shorthash_siphash24(out, buf, off, e->grant_key);
    free(buf);
    uint64_t h;
    memcpy(&h, out, sizeof(h));
    return h;
}

static int grant_is(const rc_grant_t *g, const rc_jwt_claims_t *c)
{
    return !strcmp(g->sub, c->sub) && g->iat == c->iat && g->topics_len == c->topics_len && g->pub_len == c->pub_len &&
           (!c->topics_len || !memcmp(g->topics, c->topics, c->topics_len)) &&
           (!c->pub_len || !memcmp(g->pub, c->pub, c->pub_len));
}

/* Twice the buckets once there are two grants per bucket: a lookup stays
 * a short chain however many users an edge holds. */
static void grants_grow(rc_edge_t *e)
{
    size_t nb = e->grants_nb * 2;
    rc_grant_t **t = rc_xcalloc(nb, sizeof(*t));
    for (size_t i = 0; i < e->grants_nb; i++)
        for (rc_grant_t *g = e->grants[i], *next; g; g = next) {
            next = g->next;
            g->next = t[g->hash & (nb - 1)];
            t[g->hash & (nb - 1)] = g;
        }
    free(e->grants);
    e->grants = t;
    e->grants_nb = nb;
}

/* The shared grant of these claims, taken (refs + 1); the claims are
 * freed (copied into a new grant first when there is none). */
static rc_grant_t *grant_take(rc_edge_t *e, rc_jwt_claims_t *c)
{
    if (!e->grants_nb) {
        e->grants_nb = 1024;
        e->grants = rc_xcalloc(e->grants_nb, sizeof(*e->grants));
    }
    uint64_t h = grant_hash(e, c);
    rc_grant_t **b = &e->grants[h & (e->grants_nb - 1)];
    for (rc_grant_t *g = *b; g; g = g->next)
        if (g->hash == h && grant_is(g, c)) {
            g->refs++;
            rc_jwt_claims_free(c);
            return g;
        }
    /* one allocation: the grant, its sub, then its two pattern lists */
    size_t sl = strlen(c->sub);
    rc_grant_t *g = rc_xcalloc(1, sizeof(*g) + sl + 1 + c->topics_len + c->pub_len);
    memcpy(g->sub, c->sub, sl + 1);
    g->hash = h;
    g->iat = c->iat;
    g->refs = 1;
    g->topics = g->sub + sl + 1;
    if (c->topics_len)
        memcpy(g->topics, c->topics, c->topics_len);
    g->topics_len = (uint32_t)c->topics_len;
    g->pub = g->topics + c->topics_len;
    if (c->pub_len)
        memcpy(g->pub, c->pub, c->pub_len);
    g->pub_len = (uint32_t)c->pub_len;
    rc_jwt_claims_free(c);
    if (e->grants_count >= 2 * e->grants_nb) {
        grants_grow(e);
        b = &e->grants[h & (e->grants_nb - 1)];
    }
    g->next = *b;
    *b = g;
    e->grants_count++;
    return g;
}

void rc_auth_release(rc_edge_t *e, rc_conn_t *c)
{
    rc_grant_t *g = c->grant;
    if (!g)
        return;
    c->grant = NULL;
    if (--g->refs)
        return;
    for (rc_grant_t **p = &e->grants[g->hash & (e->grants_nb - 1)]; *p; p = &(*p)->next)
        if (*p == g) {
            *p = g->next;
            break;
        }
    e->grants_count--;
    free(g);
}

void rc_auth_conn_free(rc_edge_t *e, rc_conn_t *c)
{
    if ((c->flags & RC_CF_USER_COUNTED) && c->grant)
        rc_user_conns_leave(&e->log, e->slot_idx, c->grant->sub, strlen(c->grant->sub));
    c->flags &= ~RC_CF_USER_COUNTED;
    rc_auth_release(e, c);
}

void rc_auth_free(rc_edge_t *e)
{
    for (size_t i = 0; i < e->grants_nb; i++)
        while (e->grants[i]) {
            rc_grant_t *g = e->grants[i];
            e->grants[i] = g->next;
            free(g);
        }
    free(e->grants);
    e->grants = NULL;
    e->grants_nb = 0;
    rc_jwt_keys_free(&e->jwt_keys);
}

/* A kick of the token's sub after the token was issued revokes it (the
 * kick's own second does not: a token issued right after a kick must
 * work). A token without iat cannot show it is newer. */
static int revoked(const rc_edge_t *e, const rc_jwt_claims_t *cl)
{
    uint64_t kicked = rc_revoke_get(&e->log, cl->sub, strlen(cl->sub));
    return kicked && (uint64_t)(cl->iat > 0 ? cl->iat : 0) < kicked;
}

void rc_auth_check_kicks(rc_edge_t *e)
{
    if (!e->auth_on)
        return;
    uint64_t gen = rc_revoke_gen(&e->log);
    if (gen == e->revoke_seen)
        return;
    e->revoke_seen = gen;
    uint32_t closed = 0;
    for (uint32_t fd = 0; fd < e->by_fd_cap; fd++) {
        rc_conn_t *c = e->by_fd[fd];
        if (!c || !c->grant || c->state != RC_CONN_OPEN)
            continue;
        uint64_t kicked = rc_revoke_get(&e->log, c->grant->sub, strlen(c->grant->sub));
        if (kicked && (uint64_t)(c->grant->iat > 0 ? c->grant->iat : 0) < kicked) {
            RC_SLOT_ADD(e->slot, kicks_revoked, 1);
            rc_conn_close(e, c, RC_CLOSE_GOING_AWAY);
            closed++;
        }
    }
    if (closed)
        rc_textlog("info", "msg=\"kicked users disconnected\" connections=%u", closed);
}

/* The token's expiry on the monotonic clock, where the timing wheel runs.
 * A connection that does not refresh in-band (not joined to
 * ringcast:session) is closed at a random moment in the refresh window
 * instead of at exp, so clients whose tokens share an exp do not all
 * reconnect in the same second. */
static void set_expiry(rc_edge_t *e, rc_conn_t *c, int64_t exp, uint64_t wall, int in_session)
{
    int64_t left = exp + e->jwt_pol.leeway_s - (int64_t)wall;
    if (left < 0)
        left = 0;
    if (left > 0x3fffffff)
        left = 0x3fffffff;
    uint32_t now = rc_clock_mono_s();
    c->token_exp_s = now + (uint32_t)left;
    c->exp_s = in_session ? c->token_exp_s : now + (uint32_t)(window_ms(e, (uint64_t)left * 1000) / 1000);
    if (!c->exp_s)
        c->exp_s = 1;
}

/* The phoenix client's subprotocol bearer: "phoenix,
 * base64url.bearer.phx.<token in base64 without padding>". */
static int bearer_token(rc_slice_t protocols, char *out, size_t cap, size_t *n)
{
    static const char pfx[] = "base64url.bearer.phx.";
    size_t i = 0;
    while (i < protocols.n) {
        while (i < protocols.n && (protocols.p[i] == ' ' || protocols.p[i] == ','))
            i++;
        size_t j = i;
        while (j < protocols.n && protocols.p[j] != ',' && protocols.p[j] != ' ')
            j++;
        if (j - i > sizeof(pfx) - 1 && !memcmp(protocols.p + i, pfx, sizeof(pfx) - 1)) {
            const char *b = protocols.p + i + sizeof(pfx) - 1;
            size_t bn = j - i - (sizeof(pfx) - 1);
            const char *end;
            /* btoa() output with '=' removed; padded forms are accepted too */
            if (sodium_base642bin((unsigned char *)out, cap, b, bn, "=", n, &end,
                                  sodium_base64_VARIANT_ORIGINAL_NO_PADDING) == 0 && end == b + bn)
                return 0;
            return -1;
        }
        i = j;
    }
    return -1;
}

int rc_auth_handshake(rc_edge_t *e, rc_conn_t *c, const rc_ws_request_t *req, const char **why)
{
    if (!e->auth_on)
        return 0;
    char tok[RC_JWT_MAX_TOKEN + 1];
    size_t n = 0;
    int q = rc_query_get(req->query, "token", tok, sizeof(tok));
    if (q > 0) {
        n = (size_t)q;
    } else if (q == -ENOSPC) {
        *why = "token too long";
        return -1;
    } else if (bearer_token(req->protocols, tok, sizeof(tok) - 1, &n) < 0) {
        *why = "a token is required (the token connect param, or the phoenix subprotocol's bearer)";
        return -1;
    }
    rc_jwt_claims_t cl;
    uint64_t wall = rc_clock_wall_ns() / 1000000000ull;
    int r = rc_jwt_verify(&e->jwt_keys, &e->jwt_pol, tok, n, (int64_t)wall, &cl, why);
    sodium_memzero(tok, sizeof(tok));
    if (r < 0)
        return -1;
    if (revoked(e, &cl)) {
        rc_jwt_claims_free(&cl);
        *why = "revoked: its user was disconnected after it was issued";
        return -1;
    }
    set_expiry(e, c, cl.exp, wall, 0);
    c->grant = grant_take(e, &cl);
    if (e->max_conns_per_user) {
        const char *sub = c->grant->sub;
        int u = rc_user_conns_enter(&e->log, e->slot_idx, sub, strlen(sub), (uint32_t)e->max_conns_per_user);
        if (u == -EDQUOT) {
            rc_auth_release(e, c);
            *why = "the user is at max_conns_per_user";
            return RC_AUTH_BUSY;
        }
        if (u == 0)
            c->flags |= RC_CF_USER_COUNTED;
        else
            RC_SLOT_ADD(e->slot, user_table_full, 1); /* admitted, not counted */
    }
    return 0;
}

int rc_auth_may_join(const rc_edge_t *e, const rc_conn_t *c, rc_slice_t topic)
{
    if (!e->auth_on)
        return 1;
    const rc_grant_t *g = c->grant;
    return g && rc_jwt_topic_allowed(g->topics, g->topics_len, topic.p, topic.n);
}

/* ringcast:session ------------------------------------------------------ */

int rc_session_topic(const rc_edge_t *e, rc_slice_t topic)
{
    return e->auth_on && rc_slice_eq(topic, "ringcast:session");
}

/* Pushes `refresh` {"refresh_in_ms": N}, N drawn in the refresh window of
 * what is left of the token's lifetime. */
static void push_refresh(rc_edge_t *e, rc_conn_t *c, const rc_sub_t *s)
{
    uint32_t now = rc_clock_mono_s();
    uint64_t left_ms = c->token_exp_s > now ? (uint64_t)(c->token_exp_s - now) * 1000 : 0;
    char payload[64];
    int n = snprintf(payload, sizeof(payload), "{\"refresh_in_ms\":%llu}", (unsigned long long)window_ms(e, left_ms));
    rc_channel_push(e, c, s, "refresh", rc_slice(payload, (size_t)n));
}

void rc_session_on_join(rc_edge_t *e, rc_conn_t *c, rc_sub_t *s)
{
    /* the edge's own channel: nothing a producer publishes reaches it */
    s->topic->reserved = 1;
    /* a client that refreshes is closed at exp if it does not, not before */
    c->exp_s = c->token_exp_s ? c->token_exp_s : 1;
    rc_wheel_add(e, c);
    push_refresh(e, c, s);
}

static void refuse_refresh(rc_edge_t *e, rc_conn_t *c, const rc_phx_msg_t *m, const char *why)
{
    RC_SLOT_ADD(e->slot, refreshes_refused, 1);
    char resp[160];
    int n = snprintf(resp, sizeof(resp), "{\"reason\":\"%s\"}", why);
    rc_channel_reply(e, c, m->join_ref, m->ref, m->topic, "error", rc_slice(resp, (size_t)n));
}

void rc_session_on_push(rc_edge_t *e, rc_conn_t *c, const rc_phx_msg_t *m, rc_sub_t *s)
{
    (void)s; /* found again after subscriptions may have moved */
    if (!rc_slice_eq(m->event, "refresh")) {
        refuse_refresh(e, c, m, "ringcast:session takes refresh {token}");
        return;
    }
    const json_t *t = json_is_object(m->payload) ? json_object_get(m->payload, "token") : NULL;
    if (!json_is_string(t)) {
        refuse_refresh(e, c, m, "refresh needs {token: <jwt>}");
        return;
    }
    rc_jwt_claims_t cl;
    const char *why;
    uint64_t wall = rc_clock_wall_ns() / 1000000000ull;
    if (rc_jwt_verify(&e->jwt_keys, &e->jwt_pol, json_string_value(t), json_string_length(t), (int64_t)wall, &cl,
                      &why) < 0) {
        refuse_refresh(e, c, m, why); /* static text, never the token */
        return;
    }
    if (!c->grant || strcmp(cl.sub, c->grant->sub) != 0) {
        rc_jwt_claims_free(&cl);
        refuse_refresh(e, c, m, "a token for another sub");
        return;
    }
    if (revoked(e, &cl)) {
        rc_jwt_claims_free(&cl);
        refuse_refresh(e, c, m, "revoked: its user was disconnected after it was issued");
        return;
    }
    int64_t exp = cl.exp;
    rc_auth_release(e, c);
    c->grant = grant_take(e, &cl);
    set_expiry(e, c, exp, wall, 1);
    rc_wheel_add(e, c);
    RC_SLOT_ADD(e->slot, refreshes, 1);
    rc_channel_reply(e, c, m->join_ref, m->ref, m->topic, "ok", RC_SLICE_LIT("{}"));
    /* Channels the new claims no longer cover end here, with phx_close, so
     * the client does not rejoin them. */
    for (int i = c->nsubs - 1; i >= 0; i--) {
        rc_slice_t name = rc_slice(c->subs[i].topic->name, c->subs[i].topic->len);
        if (rc_session_topic(e, name) || rc_auth_may_join(e, c, name))
            continue;
        rc_channel_close_sub(e, c, i);
    }
    /* s may have moved while subscriptions were removed: find it again */
    for (int i = 0; i < c->nsubs; i++)
        if (rc_session_topic(e, rc_slice(c->subs[i].topic->name, c->subs[i].topic->len))) {
            push_refresh(e, c, &c->subs[i]);
            break;
        }
}
