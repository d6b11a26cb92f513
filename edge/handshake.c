/* The HTTP side of a connection before it is a WebSocket: the upgrade to
 * Phoenix V2, the load balancers' GET /healthz, and refusals with the
 * the statuses of proto/close_codes.h (403 as Phoenix does for a bad vsn). */
#include "edge/edge.h"

#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "common/textlog.h"
#include "common/rand.h"
#include "edge/auth.h"
#include "proto/close_codes.h"
#include "proto/http_response.h"
#include "proto/query.h"
#include "proto/ws_origin.h"
#include "proto/ws_request.h"
#include "proto/ws_upgrade.h"
#include "shm/slots.h"

static int respond_and_close(rc_edge_t *e, rc_conn_t *c, int status, const char *ctype, const char *extra,
                             const char *body)
{
    char resp[1024];
    int n = rc_http_response(resp, sizeof(resp), status, ctype, extra, body, strlen(body));
    if (n > 0)
        rc_out_bytes(e, c, resp, (size_t)n);
    rc_conn_set_closing(e, c);
    c->flags |= RC_CF_CLOSE_AFTER_SEND;
    if (status != 200)
        RC_SLOT_ADD(e->slot, refused, 1);
    return -1;
}

static int refuse(rc_edge_t *e, rc_conn_t *c, int status, const char *why)
{
    char body[256];
    snprintf(body, sizeof(body), "%s\n", why);
    const char *extra = status == RC_HTTP_UPGRADE_REQUIRED ? "Sec-WebSocket-Version: 13\r\n" : NULL;
    return respond_and_close(e, c, status, NULL, extra, body);
}

int rc_handshake_refuse_busy(rc_edge_t *e, rc_conn_t *c, const char *why)
{
    char body[160], hdr[64];
    snprintf(body, sizeof(body), "%s, retry later\n", why);
    snprintf(hdr, sizeof(hdr), "Retry-After: %u\r\n", (unsigned)rc_rand_range(1, 10));
    return respond_and_close(e, c, RC_HTTP_UNAVAILABLE, NULL, hdr, body);
}

static int healthz(rc_edge_t *e, rc_conn_t *c)
{
    char body[256];
    uint64_t next = rc_log_next_seq(&e->log);
    uint64_t lag = rc_slot_lag(next, e->reader.seq);
    snprintf(body, sizeof(body),
             "{\"status\":\"%s\",\"slot\":%d,\"connections\":%llu,\"lag\":%llu,\"io_backend\":\"%s\"}\n",
             e->draining ? "draining" : "ok", e->slot_idx, (unsigned long long)(e->nconns - 1),
             (unsigned long long)lag, e->io->name);
    return respond_and_close(e, c, e->draining ? 503 : 200, "application/json", NULL, body);
}

/* --compat pushex: PushEx clients connect to /push_socket/websocket. */
static int pushex_path(rc_edge_t *e, rc_slice_t path)
{
    return rc_slice_eq(path, "/push_socket/websocket") && strcmp(rc_cfg_str(&e->cfg, "compat"), "pushex") == 0;
}

int rc_handshake_feed(rc_edge_t *e, rc_conn_t *c, const uint8_t *buf, size_t len, size_t prev_len)
{
    rc_ws_request_t req;
    int r = rc_ws_request_parse((const char *)buf, len, prev_len, &req);
    if (r == 0)
        return 0;
    if (r < 0)
        return refuse(e, c, -r, -r == RC_HTTP_HEADERS_TOO_BIG ? "request headers too large" : "malformed HTTP request");
    if (rc_slice_eq(req.path, "/healthz") && !req.upgrade_websocket)
        return healthz(e, c);
    if (!req.upgrade_websocket)
        return refuse(e, c, RC_HTTP_BAD_REQUEST, "this port speaks WebSocket (GET /socket/websocket?vsn=2.0.0)");
    if (!rc_slice_eq(req.path, e->ws_path) && !pushex_path(e, req.path))
        return refuse(e, c, RC_HTTP_NOT_FOUND, "no WebSocket endpoint at this path");
    const char *why = NULL;
    int status = rc_ws_request_check(&req, &why);
    if (status)
        return refuse(e, c, status, why);
    if (!rc_ws_origin_allowed(req.origin, e->check_origin, req.host))
        return refuse(e, c, RC_HTTP_FORBIDDEN, "origin not allowed");
    char vsn[32];
    int vr = rc_query_get(req.query, "vsn", vsn, sizeof(vsn));
    /* Phoenix reads a missing vsn as 1.0.0; ringcast speaks V2 only. */
    if (vr < 0 || strncmp(vsn, "2.", 2) != 0)
        return refuse(e, c, RC_HTTP_FORBIDDEN, "unsupported serializer version: ringcast speaks vsn=2.0.0");
    /* The token, as Phoenix does it: refused with 403, never upgraded. */
    int ar = rc_auth_handshake(e, c, &req, &why);
    if (ar == RC_AUTH_BUSY) {
        RC_SLOT_ADD(e->slot, refused_user, 1);
        rc_admit_log_refusal("max_conns_per_user");
        return rc_handshake_refuse_busy(e, c, "too many connections for this user");
    }
    if (ar < 0) {
        RC_SLOT_ADD(e->slot, refused_auth, 1);
        static rc_textlog_limit_t lim;
        if (rc_textlog_allow(&lim, 10))
            rc_textlog("info", "msg=\"handshake refused: token\" why=\"%s\" suppressed=%lu", why, lim.suppressed);
        return refuse(e, c, RC_HTTP_FORBIDDEN, "invalid or missing token");
    }
    char accept[29];
    rc_ws_accept_key(req.key, accept);
    char resp[512];
    int n = rc_ws_response_101(resp, sizeof(resp), accept, req.offers_phoenix);
    if (n < 0)
        return refuse(e, c, 500, "internal error");
    rc_out_bytes(e, c, resp, (size_t)n);
    if (req.offers_phoenix)
        c->flags |= RC_CF_PHOENIX_PROTO;
    c->state = RC_CONN_OPEN;
    c->last_rx_s = rc_clock_mono_s(); /* the idle clock starts at the upgrade */
    rc_admit_msg_init(e, c);
    rc_ws_reader_init(&c->wsr, e->max_message);
    rc_wheel_add(e, c); /* the idle deadline may come before the handshake's */
    return r;
}
