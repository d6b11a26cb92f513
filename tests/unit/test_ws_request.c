/* proto/ws_request.c: the upgrade request's line and headers. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/limits.h"
#include "proto/ws_request.h"
#include "proto/ws_upgrade.h"
#include "tests/unit/ws_requests.h"
#include "tests/unit/unit.h"

START_TEST(chrome_request_parses_every_field)
{
    rc_ws_request_t req;
    const char *why = NULL;

    ck_assert_int_eq(parse_str(chrome_req, &req), (int)strlen(chrome_req));
    ck_assert(rc_slice_eq(req.method, "GET"));
    ck_assert(rc_slice_eq(req.path, "/socket/websocket"));
    ck_assert(rc_slice_eq(req.query, "token=abc&vsn=2.0.0"));
    ck_assert(rc_slice_eq(req.key, "dGhlIHNhbXBsZSBub25jZQ=="));
    ck_assert(rc_slice_eq(req.origin, "http://localhost:4000"));
    ck_assert(rc_slice_eq(req.host, "localhost:4000"));
    ck_assert_ptr_null(req.protocols.p);
    ck_assert_ptr_null(req.bearer.p);
    ck_assert_int_eq(req.version, 13);
    ck_assert_int_eq(req.http_minor, 1);
    ck_assert_uint_eq(req.upgrade_websocket, 1);
    ck_assert_uint_eq(req.connection_upgrade, 1);
    ck_assert_uint_eq(req.offers_phoenix, 0);
    ck_assert_uint_eq(req.nheaders, 8);
    ck_assert_int_eq(rc_ws_request_check(&req, &why), 0);
}
END_TEST

START_TEST(firefox_keep_alive_upgrade_and_bearer_are_understood)
{
    rc_ws_request_t req;
    const char *why = NULL;

    ck_assert_int_eq(parse_str(firefox_req, &req), (int)strlen(firefox_req));
    ck_assert_uint_eq(req.connection_upgrade, 1);
    ck_assert_uint_eq(req.offers_phoenix, 1);
    ck_assert(rc_slice_eq(req.bearer, "c2VjcmV0"));
    ck_assert(rc_slice_eq(req.protocols, "phoenix, base64url.bearer.phx.c2VjcmV0"));
    ck_assert(rc_slice_eq(req.query, "vsn=2.0.0"));
    ck_assert_int_eq(rc_ws_request_check(&req, &why), 0);
}
END_TEST

START_TEST(lone_lf_line_ends_and_any_case_are_accepted)
{
    rc_ws_request_t req;
    const char *why = NULL;

    ck_assert_int_eq(parse_str(lf_req, &req), (int)strlen(lf_req));
    ck_assert(rc_slice_eq(req.path, "/ws"));
    ck_assert_ptr_null(req.query.p);
    ck_assert_ptr_null(req.host.p);
    ck_assert_ptr_null(req.origin.p);
    ck_assert_int_eq(rc_ws_request_check(&req, &why), 0);
}
END_TEST

START_TEST(repeated_protocol_headers_are_all_read)
{
    rc_ws_request_t req;
    const char *r = "GET / HTTP/1.1\r\n"
                    "Sec-WebSocket-Protocol: chat\r\n"
                    "Sec-WebSocket-Protocol: base64url.bearer.phx.dG9r ,phoenix\r\n"
                    "\r\n";
    ck_assert_int_gt(parse_str(r, &req), 0);
    ck_assert(rc_slice_eq(req.protocols, "chat"));
    ck_assert_uint_eq(req.offers_phoenix, 1);
    ck_assert(rc_slice_eq(req.bearer, "dG9r"));
}
END_TEST

START_TEST(subprotocol_names_are_case_sensitive)
{
    rc_ws_request_t req;
    ck_assert_int_gt(parse_str("GET / HTTP/1.1\r\nSec-WebSocket-Protocol: Phoenix\r\n\r\n", &req), 0);
    ck_assert_uint_eq(req.offers_phoenix, 0);
}
END_TEST

START_TEST(bytes_after_the_blank_line_are_not_part_of_the_request)
{
    char buf[1024];
    rc_ws_request_t req;
    int n = snprintf(buf, sizeof(buf), "%s%s", chrome_req, "\x81\x85garbage");
    ck_assert_int_eq(rc_ws_request_parse(buf, (size_t)n, 0, &req), (int)strlen(chrome_req));
}
END_TEST

START_TEST(truncated_request_returns_incomplete)
{
    /* Every strict prefix of each valid request, so a request read in any
     * number of pieces is never refused. */
    const char *reqs[] = { chrome_req, firefox_req, lf_req };
    for (size_t k = 0; k < 3; k++) {
        size_t n = strlen(reqs[k]);
        rc_ws_request_t req;
        for (size_t cut = 0; cut < n; cut++)
            ck_assert_msg(rc_ws_request_parse(reqs[k], cut, 0, &req) == 0, "req %zu cut %zu: %d", k,
                          cut, rc_ws_request_parse(reqs[k], cut, 0, &req));
        ck_assert_int_eq(rc_ws_request_parse(reqs[k], n, 0, &req), (int)n);
    }
}
END_TEST

/* Malformed requests and the exact (negative) status the parser returns. */
#define B(name, lit, st) { name, lit, sizeof(lit) - 1, st }
static const struct {
    const char *name;
    const char *req;
    size_t n;
    int status;
} bad_parse[] = {
    B("empty_request_line", "\r\nHost: x\r\n\r\n", -400),
    B("no_target", "GET HTTP/1.1\r\n\r\n", -400),
    B("double_space", "GET  / HTTP/1.1\r\n\r\n", -400),
    B("no_version", "GET /\r\n\r\n", -400),
    B("http_2", "GET / HTTP/2.0\r\n\r\n", -400),
    B("lowercase_http", "GET / http/1.1\r\n\r\n", -400),
    B("trailing_space_after_version", "GET / HTTP/1.1 \r\n\r\n", -400),
    B("control_char_in_target", "GET /a\x01 HTTP/1.1\r\n\r\n", -400),
    B("tab_in_target", "GET /a\tb HTTP/1.1\r\n\r\n", -400),
    B("method_with_separator", "GE(T / HTTP/1.1\r\n\r\n", -400),
    B("header_without_colon", "GET / HTTP/1.1\r\nHost localhost\r\n\r\n", -400),
    B("space_before_colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", -400),
    B("empty_header_name", "GET / HTTP/1.1\r\n: x\r\n\r\n", -400),
    B("obs_fold", "GET / HTTP/1.1\r\nX-A: 1\r\n  continued\r\n\r\n", -400),
    B("control_char_in_value", "GET / HTTP/1.1\r\nX-A: a\x01z\r\n\r\n", -400),
    B("del_in_value", "GET / HTTP/1.1\r\nX-A: a\x7fz\r\n\r\n", -400),
    B("nul_in_value", "GET / HTTP/1.1\r\nX-A: a\0z\r\n\r\n", -400),
    B("bare_cr_in_value", "GET / HTTP/1.1\r\nX-A: a\rz\r\n\r\n", -400),
    B("bare_cr_ends_request_line", "GET / HTTP/1.1\rX", -400),
    B("duplicate_key", "GET / HTTP/1.1\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                       "Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\n\r\n", -400),
    B("duplicate_version", "GET / HTTP/1.1\r\nSec-WebSocket-Version: 13\r\n"
                           "Sec-WebSocket-Version: 8\r\n\r\n", -400),
    B("duplicate_origin", "GET / HTTP/1.1\r\nOrigin: a\r\nOrigin: b\r\n\r\n", -400),
    B("duplicate_host", "GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n", -400),
    B("malformed_line_before_end", "GET / HTTP/1.1\r\nbroken\r\nHost: x", -400),
};

START_TEST(malformed_request_returns_400)
{
    rc_ws_request_t req;
    int got = rc_ws_request_parse(bad_parse[_i].req, bad_parse[_i].n, 0, &req);
    ck_assert_msg(got == bad_parse[_i].status, "%s: got %d want %d", bad_parse[_i].name, got,
                  bad_parse[_i].status);
}
END_TEST

static size_t build_headers(char *buf, size_t cap, unsigned nheaders, const char *end)
{
    size_t off = (size_t)snprintf(buf, cap, "GET / HTTP/1.1\r\n");
    for (unsigned i = 0; i < nheaders; i++)
        off += (size_t)snprintf(buf + off, cap - off, "X-H%u: v\r\n", i);
    off += (size_t)snprintf(buf + off, cap - off, "%s", end);
    return off;
}

START_TEST(max_headers_accepted_one_more_returns_431)
{
    static char buf[4096];
    rc_ws_request_t req;
    size_t n = build_headers(buf, sizeof(buf), RC_HS_MAX_HEADERS, "\r\n");
    ck_assert_int_eq(rc_ws_request_parse(buf, n, 0, &req), (int)n);
    ck_assert_uint_eq(req.nheaders, RC_HS_MAX_HEADERS);
    n = build_headers(buf, sizeof(buf), RC_HS_MAX_HEADERS + 1, "\r\n");
    ck_assert_int_eq(rc_ws_request_parse(buf, n, 0, &req), -431);
    /* Refused as soon as the extra header is complete, before the end. */
    n = build_headers(buf, sizeof(buf), RC_HS_MAX_HEADERS + 1, "");
    ck_assert_int_eq(rc_ws_request_parse(buf, n, 0, &req), -431);
}
END_TEST

/* A request whose header block is exactly `total` bytes. */
static size_t sized_request(char *buf, size_t total)
{
    const char *head = "GET / HTTP/1.1\r\nX-Pad: ";
    size_t hl = strlen(head), pad = total - hl - 4;
    memcpy(buf, head, hl);
    memset(buf + hl, 'p', pad);
    memcpy(buf + hl + pad, "\r\n\r\n", 4);
    return total;
}

START_TEST(header_block_of_max_bytes_is_accepted)
{
    static char buf[RC_HS_MAX_BYTES + 100];
    rc_ws_request_t req;
    size_t n = sized_request(buf, RC_HS_MAX_BYTES);
    ck_assert_int_eq(rc_ws_request_parse(buf, n, 0, &req), RC_HS_MAX_BYTES);
}
END_TEST

START_TEST(header_block_over_max_bytes_returns_431)
{
    static char buf[RC_HS_MAX_BYTES + 100];
    rc_ws_request_t req;
    size_t n = sized_request(buf, RC_HS_MAX_BYTES + 1);
    ck_assert_int_eq(rc_ws_request_parse(buf, n, 0, &req), -431);
    /* Still incomplete one byte short of the limit; refused at the limit. */
    ck_assert_int_eq(rc_ws_request_parse(buf, RC_HS_MAX_BYTES - 1, 0, &req), 0);
    ck_assert_int_eq(rc_ws_request_parse(buf, RC_HS_MAX_BYTES, 0, &req), -431);
}
END_TEST

START_TEST(resumed_one_byte_at_a_time_gives_the_same_request)
{
    /* The edge's path: every call with the bytes so far and the length of
     * the call before. Each request, CRLF or LF, ends on the same byte as
     * the one-shot parse and with the same fields. */
    const char *reqs[] = { chrome_req, firefox_req, lf_req };
    for (size_t k = 0; k < 3; k++) {
        size_t n = strlen(reqs[k]), prev = 0;
        rc_ws_request_t req, once;
        int r = 0;
        for (size_t len = 1; len <= n && r == 0; prev = len, len++)
            r = rc_ws_request_parse(reqs[k], len, prev, &req);
        ck_assert_int_eq(r, (int)n);
        ck_assert_uint_eq(prev, n);
        ck_assert_int_eq(rc_ws_request_parse(reqs[k], n, 0, &once), (int)n);
        ck_assert_mem_eq(&req, &once, sizeof(req));
    }
}
END_TEST

START_TEST(resumed_call_scans_only_the_new_bytes)
{
    /* Bytes already seen are not parsed again until the block ends: a
     * malformed header that arrived earlier is found once, at the end, so
     * a trickled request costs its length, not its length squared. */
    static const char bad[] = "GET /ws HTTP/1.1\r\nbad header\r\nHost: x\r\n";
    static const char end[] = "GET /ws HTTP/1.1\r\nbad header\r\nHost: x\r\n\r\n";
    size_t n = sizeof(bad) - 1;
    rc_ws_request_t req;

    ck_assert_int_eq(rc_ws_request_parse(bad, n, 0, &req), -400);
    ck_assert_int_eq(rc_ws_request_parse(bad, n, 20, &req), 0);
    ck_assert_int_eq(rc_ws_request_parse(end, n + 2, n, &req), -400);
    /* A terminator split across calls: "\r\n" seen, then "\r\n". */
    ck_assert_int_eq(rc_ws_request_parse(chrome_req, strlen(chrome_req), strlen(chrome_req) - 2, &req),
                     (int)strlen(chrome_req));
    ck_assert_int_eq(rc_ws_request_parse(chrome_req, strlen(chrome_req), strlen(chrome_req) - 1, &req),
                     (int)strlen(chrome_req));
}
END_TEST

START_TEST(resumed_block_reaching_max_bytes_returns_431)
{
    static char buf[RC_HS_MAX_BYTES + 100];
    rc_ws_request_t req;
    size_t n = sized_request(buf, RC_HS_MAX_BYTES + 1);
    ck_assert_int_eq(rc_ws_request_parse(buf, RC_HS_MAX_BYTES - 1, 0, &req), 0);
    ck_assert_int_eq(rc_ws_request_parse(buf, n, RC_HS_MAX_BYTES - 1, &req), -431);
}
END_TEST

int main(void)
{
    TCase *tc;
    Suite *s = rc_test_suite("ws_request", &tc, NULL, NULL);
    tcase_add_test(tc, chrome_request_parses_every_field);
    tcase_add_test(tc, firefox_keep_alive_upgrade_and_bearer_are_understood);
    tcase_add_test(tc, lone_lf_line_ends_and_any_case_are_accepted);
    tcase_add_test(tc, repeated_protocol_headers_are_all_read);
    tcase_add_test(tc, subprotocol_names_are_case_sensitive);
    tcase_add_test(tc, bytes_after_the_blank_line_are_not_part_of_the_request);
    tcase_add_test(tc, truncated_request_returns_incomplete);
    tcase_add_loop_test(tc, malformed_request_returns_400, 0, (int)(sizeof(bad_parse) / sizeof(bad_parse[0])));
    tcase_add_test(tc, max_headers_accepted_one_more_returns_431);
    tcase_add_test(tc, header_block_of_max_bytes_is_accepted);
    tcase_add_test(tc, header_block_over_max_bytes_returns_431);
    tcase_add_test(tc, resumed_one_byte_at_a_time_gives_the_same_request);
    tcase_add_test(tc, resumed_call_scans_only_the_new_bytes);
    tcase_add_test(tc, resumed_block_reaching_max_bytes_returns_431);
    return rc_test_run(s);
}
