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
#include "edge/edge.h"
#include "proto/jwt.h"
#include "proto/query.h"

int rc_auth_init(rc_edge_t *e)
{
    const char *mode = rc_cfg_str(&e->cfg, "auth");
    if (!strcmp(mode, "off"))
        return 0;
    if (strcmp(mode, "jwt")) {
        fprintf(stderr, "auth must be off or jwt (got '%s')\n", mode);
        return -EINVAL;
    }
    char err[512];
    if (rc_jwt_keys_load(&e->jwt_keys, rc_cfg_str(&e->cfg, "jwt_keys"), err, sizeof(err)) < 0) {
        fprintf(stderr, "%s\n", err);
        return -EINVAL;
    }
    const char *aud = rc_cfg_str(&e->cfg, "jwt_audience"), *iss = rc_cfg_str(&e->cfg, "jwt_issuer");
    uint64_t leeway;
    if (rc_cfg_u64(&e->cfg, "jwt_leeway_s", &leeway) || leeway > 300) {
        fprintf(stderr, "jwt_leeway_s must be 0..300\n");
        return -EINVAL;
    }
    e->jwt_pol.audience = *aud ? aud : NULL;
    e->jwt_pol.issuer = *iss ? iss : NULL;
    e->jwt_pol.leeway_s = (int64_t)leeway;
    randombytes_buf(e->grant_key, sizeof(e->grant_key));
    e->auth_on = 1;
    return 0;
}

static uint64_t grant_hash(const rc_edge_t *e, const rc_jwt_claims_t *c)
{
    /* sub, then the two pattern lists, each with its length: no two
     * different grants share an encoding */
    size_t sl = strlen(c->sub);
    size_t n = 3 * sizeof(size_t) + sl + c->topics_len + c->pub_len;
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
    uint8_t out[8];
    crypto_shorthash_siphash24(out, buf, off, e->grant_key);
    free(buf);
    uint64_t h;
    memcpy(&h, out, sizeof(h));
    return h;
}

static int grant_is(const rc_grant_t *g, const rc_jwt_claims_t *c)
{
    return !strcmp(g->sub, c->sub) && g->topics_len == c->topics_len && g->pub_len == c->pub_len &&
           (!c->topics_len || !memcmp(g->topics, c->topics, c->topics_len)) &&
           (!c->pub_len || !memcmp(g->pub, c->pub, c->pub_len));
}

/* The shared grant of these claims, taken (refs + 1); the claims' lists
 * move into a new grant or are freed. */
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
    size_t sl = strlen(c->sub);
    rc_grant_t *g = rc_xcalloc(1, sizeof(*g) + sl + 1);
    memcpy(g->sub, c->sub, sl + 1);
    g->hash = h;
    g->refs = 1;
    g->topics = c->topics;
    g->topics_len = (uint32_t)c->topics_len;
    g->pub = c->pub;
    g->pub_len = (uint32_t)c->pub_len;
    c->topics = c->pub = NULL;
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
    free(g->topics);
    free(g->pub);
    free(g);
}

void rc_auth_free(rc_edge_t *e)
{
    for (size_t i = 0; i < e->grants_nb; i++)
        while (e->grants[i]) {
            rc_grant_t *g = e->grants[i];
            e->grants[i] = g->next;
            free(g->topics);
            free(g->pub);
            free(g);
        }
    free(e->grants);
    e->grants = NULL;
    e->grants_nb = 0;
    rc_jwt_keys_free(&e->jwt_keys);
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
    /* The expiry on the monotonic clock, where the timing wheel runs. */
    int64_t left = cl.exp + e->jwt_pol.leeway_s - (int64_t)wall;
    c->exp_s = rc_clock_mono_s() + (uint32_t)(left > 0 ? (left > 0x7fffffff ? 0x7fffffff : left) : 0);
    c->grant = grant_take(e, &cl);
    return 0;
}

int rc_auth_may_join(const rc_edge_t *e, const rc_conn_t *c, rc_slice_t topic)
{
    if (!e->auth_on)
        return 1;
    const rc_grant_t *g = c->grant;
    return g && rc_jwt_topic_allowed(g->topics, g->topics_len, topic.p, topic.n);
}
