/* auth = jwt on the edge (docs/protocol.md, "Authentication"): the
 * connect token is checked at the handshake (403 without upgrade when it
 * is missing, malformed, expired, not yet valid or wrongly signed, as
 * Phoenix refuses), a join outside its `topics` claim is refused with
 * {"reason": "unauthorized"}, and the connection is closed with 4001 when
 * its token expires.
 *
 * Claims are held compactly: connections whose tokens carry the same sub,
 * topics and pub share one refcounted grant; a connection holds a pointer
 * and its expiry. Tokens are never kept or logged. */
#ifndef RC_EDGE_AUTH_H
#define RC_EDGE_AUTH_H

#include <stdint.h>

#include "proto/slice.h"

struct rc_edge;
struct rc_conn;
struct rc_sub;
#include "proto/phx.h"
#include "proto/ws_request.h"

typedef struct rc_grant {
    struct rc_grant *next;  /* intern table chain */
    uint64_t hash;
    uint32_t refs;
    uint32_t topics_len, pub_len;
    int64_t iat;            /* the token's iat: a kick after it revokes it (0: none, revoked by any kick) */
    char *topics, *pub;     /* NUL-separated patterns, after sub in the same allocation */
    char sub[];             /* NUL-terminated */
} rc_grant_t;

/* Loads the auth options; 0 or -EINVAL (said why on stderr). */
int rc_auth_init(struct rc_edge *e);
void rc_auth_free(struct rc_edge *e);

/* At the upgrade: 0 (c holds its grant and expiry, or auth is off), -1
 * with *why for the 403, or RC_AUTH_BUSY for a 503 (the user holds
 * max_conns_per_user connections on this machine already). */
#define RC_AUTH_BUSY (-2)
int rc_auth_handshake(struct rc_edge *e, struct rc_conn *c, const rc_ws_request_t *req, const char **why);

/* Whether c may join topic. */
int rc_auth_may_join(const struct rc_edge *e, const struct rc_conn *c, rc_slice_t topic);

/* ringcast:session (auth = jwt): the in-band refresh. */
int rc_session_topic(const struct rc_edge *e, rc_slice_t topic);
void rc_session_on_join(struct rc_edge *e, struct rc_conn *c, struct rc_sub *s);
void rc_session_on_push(struct rc_edge *e, struct rc_conn *c, const rc_phx_msg_t *m, struct rc_sub *s);

/* Once a turn: when a user was kicked (the region's revoke_gen moved),
 * closes with 1001 this edge's connections whose tokens the kick revoked. */
void rc_auth_check_kicks(struct rc_edge *e);

/* Its grant is given back (the connection goes, or its token is replaced). */
void rc_auth_release(struct rc_edge *e, struct rc_conn *c);

/* The connection goes: its grant, and its place in max_conns_per_user. */
void rc_auth_conn_free(struct rc_edge *e, struct rc_conn *c);

#endif
