/* POST /api/disconnect {"user": "<sub>"}: kicks a user (docs/protocol.md,
 * "Authentication"). Every connection of that user on every edge closes
 * with 1001, and the user's tokens issued before now are refused at the
 * handshake and at refresh until they expire: the kick is written to the
 * region's revocation table (shm/revoke.h), which every edge reads, and the
 * edges are woken to apply it. API key when keys are set. */
#include "broker/api.h"

#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <jansson.h>

#include "common/clock.h"
#include "proto/jwt.h"
#include "shm/revoke.h"
#include "shm/wake.h"

void rc_api_disconnect(struct evhttp_request *req, void *arg)
{
    rc_broker_t *b = arg;
    if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "POST");
        rc_api_reply_error(req, 405, "use POST", -1);
        return;
    }
    if (rc_api_check_auth(req, b))
        return;
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(in);
    if (n > 4096) {
        rc_api_reply_error(req, 413, "a disconnect body is {\"user\": \"<sub>\"}", -1);
        return;
    }
    json_error_t err;
    json_t *j = json_loadb((const char *)evbuffer_pullup(in, -1), n, 0, &err);
    const json_t *user = json_object_get(j, "user");
    if (!json_is_string(user) || json_string_length(user) == 0 || json_string_length(user) > RC_JWT_SUB_MAX ||
        strlen(json_string_value(user)) != json_string_length(user)) {
        json_decref(j);
        rc_api_reply_error(req, 400, "body must be {\"user\": \"<sub of 1 to 255 bytes>\"}", -1);
        return;
    }
    uint64_t now = rc_clock_wall_ns() / 1000000000ull;
    int rc = rc_revoke_put(&b->log, json_string_value(user), json_string_length(user), now, b->revoke_ttl_s);
    json_decref(j);
    if (rc < 0) {
        rc_api_reply_error(req, 503, "the revocation table is full within reach: retry once older kicks expire", -1);
        return;
    }
    rc_wake_readers(&b->log); /* sleeping edges apply it now */
    b->m.disconnects++;
    char body[64];
    int bn = snprintf(body, sizeof(body), "{\"revoked_before\":%llu}", (unsigned long long)now);
    rc_api_reply_json(req, 200, body, (size_t)bn);
}
