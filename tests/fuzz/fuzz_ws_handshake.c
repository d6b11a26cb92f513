/* libFuzzer driver for the handshake parser: parse, check, answer, read the
 * query, check the Origin against allow-lists, and verify the resumability
 * contract on the same bytes. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/limits.h"
#include "proto/http_response.h"
#include "proto/query.h"
#include "proto/ws_origin.h"
#include "proto/ws_request.h"
#include "proto/ws_upgrade.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

/* One entry of every kind, as an operator would configure them. */
static const char origin_list[] =
    "//*.example.com, https://app.test:8443, http://localhost:4000, //[::1], :conn";

/* Origin checks on every parsed request. The query string, NUL-terminated,
 * also serves as an allow-list so the entry parser sees arbitrary bytes. */
static void check_origin(const rc_ws_request_t *req)
{
    char list[256];
    int a;

    a = rc_ws_origin_allowed(req->origin, origin_list, req->host);
    CHECK(a == 0 || a == 1);
    if (!req->origin.p)
        CHECK(a == 1);
    CHECK(rc_ws_origin_allowed(req->origin, "", req->host) == 1);
    CHECK(rc_ws_origin_allowed(req->origin, NULL, req->host) == 1);
    /* Each header's text through the other one's parser. */
    a = rc_ws_origin_allowed(req->host, ":conn", req->origin);
    CHECK(a == 0 || a == 1);
    if (req->query.p) {
        size_t n = req->query.n < sizeof(list) - 1 ? req->query.n : sizeof(list) - 1;
        memcpy(list, req->query.p, n);
        list[n] = '\0';
        a = rc_ws_origin_allowed(req->origin, list, req->host);
        CHECK(a == 0 || a == 1);
    }
}

static void check_slice_inside(rc_slice_t s, const char *buf, size_t len)
{
    if (!s.p)
        return;
    CHECK(s.p >= buf && s.n <= len && (size_t)(s.p - buf) <= len - s.n);
}

/* Resuming from any earlier length that was "need more" ends the same way
 * as one call on all the bytes, except that an error the one call finds
 * early may wait for the block's end (then it is still "need more"). */
static void check_resumed(const char *buf, size_t size, int r)
{
    rc_ws_request_t a, b;
    size_t cuts[3] = { size / 3, size / 2, size > 0 ? size - 1 : 0 };

    for (int i = 0; i < 3; i++) {
        if (cuts[i] == 0 || rc_ws_request_parse(buf, cuts[i], 0, &a) != 0)
            continue;
        int q = rc_ws_request_parse(buf, size, cuts[i], &b);
        CHECK(q == r || (q == 0 && r < 0));
        if (q > 0) {
            rc_ws_request_parse(buf, size, 0, &a);
            CHECK(memcmp(&a, &b, sizeof(a)) == 0);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    rc_ws_request_t req, again;
    const char *why = NULL;
    char accept[29], out[512], val[64];
    int r, st;

    r = rc_ws_request_parse(buf, size, 0, &req);
    CHECK(r == 0 || r == -400 || r == -431 || (r > 0 && (size_t)r <= size));
    CHECK(r <= RC_HS_MAX_BYTES);
    check_resumed(buf, size, r);
    if (r <= 0)
        return 0;

    check_slice_inside(req.method, buf, (size_t)r);
    check_slice_inside(req.path, buf, (size_t)r);
    check_slice_inside(req.query, buf, (size_t)r);
    check_slice_inside(req.key, buf, (size_t)r);
    check_slice_inside(req.origin, buf, (size_t)r);
    check_slice_inside(req.host, buf, (size_t)r);
    check_slice_inside(req.protocols, buf, (size_t)r);
    check_slice_inside(req.bearer, buf, (size_t)r);
    CHECK(req.nheaders <= RC_HS_MAX_HEADERS);

    /* Resumable: the block alone parses the same, and any strict prefix of
     * it is "need more", never an error. */
    CHECK(rc_ws_request_parse(buf, (size_t)r, 0, &again) == r);
    CHECK(memcmp(&req, &again, sizeof(req)) == 0);
    CHECK(rc_ws_request_parse(buf, (size_t)r - 1, 0, &again) == 0);
    CHECK(rc_ws_request_parse(buf, (size_t)r / 2, 0, &again) == 0);

    st = rc_ws_request_check(&req, &why);
    CHECK(st == 0 || st == 400 || st == 426);
    if (st) {
        CHECK(why != NULL);
        CHECK(rc_http_response(out, sizeof(out), st, NULL, NULL, why, strlen(why)) > 0);
    } else {
        CHECK(req.key.n == 24);
        rc_ws_accept_key(req.key, accept);
        CHECK(strlen(accept) == 28);
        CHECK(rc_ws_response_101(out, sizeof(out), accept, req.offers_phoenix) > 0);
    }

    check_origin(&req);

    if (req.query.p) {
        static const char *names[] = { "vsn", "token", "a", "" };
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
            int q = rc_query_get(req.query, names[i], val, sizeof(val));
            CHECK(q == -ENOENT || q == -ENOSPC || q == -EINVAL || (q >= 0 && q < (int)sizeof(val)));
            if (q >= 0)
                CHECK(val[q] == '\0' && strlen(val) == (size_t)q);
            q = rc_query_get(req.query, names[i], val, 2);
            CHECK(q < 2);
        }
    }
    return 0;
}
