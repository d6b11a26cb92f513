/* proto/ws_handshake.c: request parsing and checking, accept key, query
 * parameters, response writers. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/limits.h"
#include "proto/ws_handshake.h"

static const char chrome_req[] =
    "GET /socket/websocket?token=abc&vsn=2.0.0 HTTP/1.1\r\n"
    "Host: localhost:4000\r\n"
    "Connection: Upgrade\r\n"
    "Pragma: no-cache\r\n"
    "Upgrade: websocket\r\n"
    "Origin: http://localhost:4000\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
    "\r\n";

static const char firefox_req[] =
    "GET /socket/websocket?vsn=2.0.0 HTTP/1.1\r\n"
    "Host: example.com\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "Origin: https://example.com\r\n"
    "Sec-WebSocket-Protocol: phoenix, base64url.bearer.phx.c2VjcmV0\r\n"
    "Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\n"
    "Connection: keep-alive, Upgrade\r\n"
    "Upgrade: websocket\r\n"
    "\r\n";

static const char lf_req[] =
    "GET /ws HTTP/1.1\n"
    "upgrade: WebSocket\n"
    "CONNECTION: upgrade\n"
    "sec-websocket-version: 13\n"
    "sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\n"
    "\n";

static int parse_str(const char *s, rc_ws_request_t *req)
{
    return rc_ws_request_parse(s, strlen(s), req);
}

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
    ck_assert_int_eq(rc_ws_request_parse(buf, (size_t)n, &req), (int)strlen(chrome_req));
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
            ck_assert_msg(rc_ws_request_parse(reqs[k], cut, &req) == 0, "req %zu cut %zu: %d", k,
                          cut, rc_ws_request_parse(reqs[k], cut, &req));
        ck_assert_int_eq(rc_ws_request_parse(reqs[k], n, &req), (int)n);
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
    int got = rc_ws_request_parse(bad_parse[_i].req, bad_parse[_i].n, &req);
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
    ck_assert_int_eq(rc_ws_request_parse(buf, n, &req), (int)n);
    ck_assert_uint_eq(req.nheaders, RC_HS_MAX_HEADERS);
    n = build_headers(buf, sizeof(buf), RC_HS_MAX_HEADERS + 1, "\r\n");
    ck_assert_int_eq(rc_ws_request_parse(buf, n, &req), -431);
    /* Refused as soon as the extra header is complete, before the end. */
    n = build_headers(buf, sizeof(buf), RC_HS_MAX_HEADERS + 1, "");
    ck_assert_int_eq(rc_ws_request_parse(buf, n, &req), -431);
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
    ck_assert_int_eq(rc_ws_request_parse(buf, n, &req), RC_HS_MAX_BYTES);
}
END_TEST

START_TEST(header_block_over_max_bytes_returns_431)
{
    static char buf[RC_HS_MAX_BYTES + 100];
    rc_ws_request_t req;
    size_t n = sized_request(buf, RC_HS_MAX_BYTES + 1);
    ck_assert_int_eq(rc_ws_request_parse(buf, n, &req), -431);
    /* Still incomplete one byte short of the limit; refused at the limit. */
    ck_assert_int_eq(rc_ws_request_parse(buf, RC_HS_MAX_BYTES - 1, &req), 0);
    ck_assert_int_eq(rc_ws_request_parse(buf, RC_HS_MAX_BYTES, &req), -431);
}
END_TEST

/* Request checks: each refusal with its exact status and reason. */
static const struct {
    const char *name;
    const char *req;
    int status;
    const char *why;
} bad_check[] = {
    { "post", "POST / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
      400, "method must be GET" },
    { "lowercase_get", "get / HTTP/1.1\r\n\r\n", 400, "method must be GET" },
    { "http_1_0", "GET / HTTP/1.0\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
      400, "HTTP/1.1 required" },
    { "no_upgrade", "GET / HTTP/1.1\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
      400, "not a websocket upgrade" },
    { "upgrade_h2c", "GET / HTTP/1.1\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
      400, "not a websocket upgrade" },
    { "connection_keep_alive_only", "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: keep-alive\r\n"
                                    "Sec-WebSocket-Version: 13\r\n"
                                    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
      400, "not a websocket upgrade" },
    { "connection_upgrades_substring", "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrades\r\n"
                                       "Sec-WebSocket-Version: 13\r\n"
                                       "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
      400, "not a websocket upgrade" },
    { "version_8", "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Version: 8\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
      426, "Sec-WebSocket-Version must be 13" },
    { "version_missing", "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
      426, "Sec-WebSocket-Version must be 13" },
    { "version_not_a_number", "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                              "Sec-WebSocket-Version: 13, 8\r\n"
                              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
      426, "Sec-WebSocket-Version must be 13" },
    { "key_missing", "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n",
      400, "missing Sec-WebSocket-Key" },
    { "key_empty", "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key:\r\n\r\n",
      400, "invalid Sec-WebSocket-Key" },
    { "key_short", "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZQ==\r\n\r\n",
      400, "invalid Sec-WebSocket-Key" },
    { "key_no_padding", "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQAA\r\n\r\n",
      400, "invalid Sec-WebSocket-Key" },
    { "key_bad_char", "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25j*Q==\r\n\r\n",
      400, "invalid Sec-WebSocket-Key" },
    { "key_decodes_to_17_bytes", "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                 "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZXg=\r\n\r\n",
      400, "invalid Sec-WebSocket-Key" },
};

START_TEST(unacceptable_request_returns_its_status)
{
    rc_ws_request_t req;
    const char *why = NULL;
    int st;

    ck_assert_int_gt(parse_str(bad_check[_i].req, &req), 0);
    st = rc_ws_request_check(&req, &why);
    ck_assert_msg(st == bad_check[_i].status, "%s: got %d want %d", bad_check[_i].name, st,
                  bad_check[_i].status);
    ck_assert_str_eq(why, bad_check[_i].why);
}
END_TEST

/* Origin allow-list: one row per rule. origin or host NULL = header absent. */
static const struct {
    const char *name;
    const char *origin;
    const char *list;
    const char *host;
    int allowed;
} origin_cases[] = {
    /* no Origin, or no list */
    { "absent_origin_is_allowed", NULL, "//example.com", "example.com", 1 },
    { "absent_origin_with_conn", NULL, ":conn", NULL, 1 },
    { "empty_list_allows_anything", "https://evil.com", "", NULL, 1 },
    { "null_list_allows_anything", "https://evil.com", NULL, NULL, 1 },
    { "empty_list_allows_malformed", "null", "", NULL, 1 },
    /* :conn */
    { "conn_same_host_and_port", "http://localhost:4000", ":conn", "localhost:4000", 1 },
    { "conn_host_case_insensitive", "https://Example.COM", ":conn", "example.com", 1 },
    { "conn_other_port", "http://localhost:4001", ":conn", "localhost:4000", 0 },
    { "conn_other_host", "http://evil.com:4000", ":conn", "localhost:4000", 0 },
    { "conn_subdomain_is_other_host", "https://a.example.com", ":conn", "example.com", 0 },
    { "conn_host_default_port_explicit", "https://example.com", ":conn", "example.com:443", 1 },
    { "conn_host_default_port_http", "http://example.com", ":conn", "example.com:80", 1 },
    { "conn_host_https_port_for_http", "http://example.com", ":conn", "example.com:443", 0 },
    { "conn_origin_port_host_none", "http://example.com:8080", ":conn", "example.com", 0 },
    { "conn_no_host_header", "http://localhost:4000", ":conn", NULL, 0 },
    { "conn_malformed_host_header", "http://localhost:4000", ":conn", "localhost:4000/x", 0 },
    { "conn_ipv6_literal", "http://[::1]:4000", ":conn", "[::1]:4000", 1 },
    /* wildcard entries */
    { "wildcard_subdomain", "https://a.example.com", "//*.example.com", NULL, 1 },
    { "wildcard_deep_subdomain_any_port", "http://a.b.example.com:8080", "//*.example.com", NULL, 1 },
    { "wildcard_apex", "https://example.com", "//*.example.com", NULL, 1 },
    { "wildcard_case_insensitive", "https://A.Example.Com", "//*.EXAMPLE.com", NULL, 1 },
    { "wildcard_not_a_bare_suffix", "https://evilexample.com", "//*.example.com", NULL, 0 },
    { "wildcard_not_a_prefix", "https://example.com.evil.com", "//*.example.com", NULL, 0 },
    { "wildcard_with_scheme", "http://a.example.com", "https://*.example.com", NULL, 0 },
    /* scheme-less entries */
    { "host_any_scheme_and_port", "http://example.com:8080", "//example.com", NULL, 1 },
    { "host_https", "https://example.com", "//example.com", NULL, 1 },
    { "host_subdomain_refused", "https://a.example.com", "//example.com", NULL, 0 },
    { "host_case_insensitive", "https://example.com", "//EXAMPLE.com", NULL, 1 },
    { "host_entry_port_vs_default", "http://example.com", "//example.com:8080", NULL, 0 },
    { "host_entry_port_equals_default", "https://example.com", "//example.com:443", NULL, 1 },
    /* scheme://host[:port] */
    { "scheme_host_any_port", "https://example.com:8443", "https://example.com", NULL, 1 },
    { "scheme_mismatch", "http://example.com", "https://example.com", NULL, 0 },
    { "scheme_case_insensitive", "HTTPS://EXAMPLE.com", "https://example.com", NULL, 1 },
    { "entry_root_path_tolerated", "https://example.com", "https://example.com/", NULL, 1 },
    { "exact_port", "https://example.com:8443", "https://example.com:8443", NULL, 1 },
    { "exact_port_mismatch", "https://example.com:9443", "https://example.com:8443", NULL, 0 },
    { "exact_port_missing", "https://example.com", "https://example.com:8443", NULL, 0 },
    { "exact_default_port", "https://example.com", "https://example.com:443", NULL, 1 },
    /* lists */
    { "second_entry_matches", "https://b.com", "https://a.com,//b.com", NULL, 1 },
    { "blanks_and_empty_entries", "https://b.com", " , https://a.com ,,\t//b.com ", NULL, 1 },
    { "conn_among_entries", "http://h:1", "//a.com, :conn", "h:1", 1 },
    { "in_no_entry", "https://c.com", "https://a.com,//b.com", NULL, 0 },
    { "list_of_blanks_refuses", "https://c.com", " , ", NULL, 0 },
    { "malformed_entry_matches_nothing", "https://example.com", "example.com", NULL, 0 },
    { "bare_wildcard_entry_matches_nothing", "https://example.com", "//*.", NULL, 0 },
    /* malformed Origin with a list set */
    { "origin_null", "null", "//example.com", NULL, 0 },
    { "origin_null_conn", "null", ":conn", "null", 0 },
    { "origin_empty", "", "//example.com", NULL, 0 },
    { "origin_without_scheme", "example.com", "//example.com", NULL, 0 },
    { "origin_scheme_relative", "//example.com", "//example.com", NULL, 0 },
    { "origin_with_path", "https://example.com/", "//example.com", NULL, 0 },
    { "origin_with_userinfo", "https://u@example.com", "//example.com", NULL, 0 },
    { "origin_port_zero", "https://example.com:0", "//example.com", NULL, 0 },
    { "origin_port_too_big", "https://example.com:65536", "//example.com", NULL, 0 },
    { "origin_empty_port", "https://example.com:", "//example.com", NULL, 0 },
    { "origin_wildcard_host", "https://*.example.com", "//*.example.com", NULL, 0 },
    { "origin_unterminated_ipv6", "http://[::1", "//example.com", NULL, 0 },
};

START_TEST(origin_allow_list_follows_each_rule)
{
    const char *o = origin_cases[_i].origin, *h = origin_cases[_i].host;
    rc_slice_t origin = o ? rc_slice_cstr(o) : RC_SLICE_NULL;
    rc_slice_t host = h ? rc_slice_cstr(h) : RC_SLICE_NULL;
    int got = rc_ws_origin_allowed(origin, origin_cases[_i].list, host);

    ck_assert_msg(got == origin_cases[_i].allowed, "%s: got %d want %d", origin_cases[_i].name,
                  got, origin_cases[_i].allowed);
}
END_TEST

START_TEST(parsed_request_origin_matches_its_host)
{
    rc_ws_request_t req;

    ck_assert_int_gt(parse_str(chrome_req, &req), 0);
    ck_assert_int_eq(rc_ws_origin_allowed(req.origin, ":conn", req.host), 1);
    ck_assert_int_eq(rc_ws_origin_allowed(req.origin, "https://localhost", req.host), 0);
    ck_assert_int_gt(parse_str(firefox_req, &req), 0);
    ck_assert_int_eq(rc_ws_origin_allowed(req.origin, ":conn", req.host), 1);
    ck_assert_int_eq(rc_ws_origin_allowed(req.origin, "//*.example.com", req.host), 1);
}
END_TEST

START_TEST(rfc_example_key_gives_rfc_accept)
{
    char out[29];
    rc_ws_accept_key(RC_SLICE_LIT("dGhlIHNhbXBsZSBub25jZQ=="), out);
    ck_assert_str_eq(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    rc_ws_accept_key(RC_SLICE_LIT("x3JJHMbDL1EzLkh9GBhXDw=="), out);
    ck_assert_str_eq(out, "HSmrc0sMlYUkAGmm5OPpG2HaGWk=");
}
END_TEST

START_TEST(long_key_still_hashes_whole_key)
{
    char key[300], out1[29], out2[29];
    memset(key, 'A', sizeof(key));
    rc_ws_accept_key(rc_slice(key, sizeof(key)), out1);
    rc_ws_accept_key(rc_slice(key, sizeof(key) - 1), out2);
    ck_assert_uint_eq(strlen(out1), 28);
    ck_assert_str_ne(out1, out2);
}
END_TEST

START_TEST(query_get_finds_and_decodes_values)
{
    rc_slice_t q = RC_SLICE_LIT("token=a%20b+c&vsn=2.0.0&nested%5Ba%5D=1&flag&empty=&x=%e2%82%ac");
    char out[64];

    ck_assert_int_eq(rc_query_get(q, "token", out, sizeof(out)), 5);
    ck_assert_str_eq(out, "a b c");
    ck_assert_int_eq(rc_query_get(q, "vsn", out, sizeof(out)), 5);
    ck_assert_str_eq(out, "2.0.0");
    ck_assert_int_eq(rc_query_get(q, "nested[a]", out, sizeof(out)), 1);
    ck_assert_str_eq(out, "1");
    ck_assert_int_eq(rc_query_get(q, "flag", out, sizeof(out)), 0);
    ck_assert_str_eq(out, "");
    ck_assert_int_eq(rc_query_get(q, "empty", out, sizeof(out)), 0);
    ck_assert_int_eq(rc_query_get(q, "x", out, sizeof(out)), 3);
    ck_assert_str_eq(out, "\xE2\x82\xAC");
}
END_TEST

START_TEST(query_get_reports_absent_too_long_and_bad_escape)
{
    char out[8];
    ck_assert_int_eq(rc_query_get(RC_SLICE_NULL, "vsn", out, sizeof(out)), -ENOENT);
    ck_assert_int_eq(rc_query_get(RC_SLICE_LIT(""), "vsn", out, sizeof(out)), -ENOENT);
    ck_assert_int_eq(rc_query_get(RC_SLICE_LIT("vs=1&vsnx=2"), "vsn", out, sizeof(out)), -ENOENT);
    ck_assert_int_eq(rc_query_get(RC_SLICE_LIT("vsn=1234567"), "vsn", out, sizeof(out)), 7);
    ck_assert_int_eq(rc_query_get(RC_SLICE_LIT("vsn=12345678"), "vsn", out, sizeof(out)), -ENOSPC);
    ck_assert_int_eq(rc_query_get(RC_SLICE_LIT("vsn=1"), "vsn", out, 0), -ENOSPC);
    ck_assert_int_eq(rc_query_get(RC_SLICE_LIT("vsn=%2"), "vsn", out, sizeof(out)), -EINVAL);
    ck_assert_int_eq(rc_query_get(RC_SLICE_LIT("vsn=%zz"), "vsn", out, sizeof(out)), -EINVAL);
    ck_assert_int_eq(rc_query_get(RC_SLICE_LIT("vsn=a%00b"), "vsn", out, sizeof(out)), -EINVAL);
    /* A bad escape elsewhere does not hide a good parameter. */
    ck_assert_int_eq(rc_query_get(RC_SLICE_LIT("a=%zz&vsn=2"), "vsn", out, sizeof(out)), 1);
}
END_TEST

START_TEST(query_get_last_occurrence_wins)
{
    char out[8];
    ck_assert_int_eq(rc_query_get(RC_SLICE_LIT("vsn=1.0.0&vsn=2.0.0"), "vsn", out, sizeof(out)), 5);
    ck_assert_str_eq(out, "2.0.0");
}
END_TEST

START_TEST(response_101_is_exact)
{
    char out[256], accept[29];
    int n;

    rc_ws_accept_key(RC_SLICE_LIT("dGhlIHNhbXBsZSBub25jZQ=="), accept);
    n = rc_ws_response_101(out, sizeof(out), accept, 0);
    ck_assert_int_eq(n, (int)strlen(out));
    ck_assert_str_eq(out, "HTTP/1.1 101 Switching Protocols\r\n"
                          "Upgrade: websocket\r\n"
                          "Connection: Upgrade\r\n"
                          "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                          "\r\n");
    n = rc_ws_response_101(out, sizeof(out), accept, 1);
    ck_assert_int_eq(n, (int)strlen(out));
    ck_assert_str_eq(out, "HTTP/1.1 101 Switching Protocols\r\n"
                          "Upgrade: websocket\r\n"
                          "Connection: Upgrade\r\n"
                          "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                          "Sec-WebSocket-Protocol: phoenix\r\n"
                          "\r\n");
    ck_assert_int_eq(rc_ws_response_101(out, 50, accept, 1), -ENOSPC);
}
END_TEST

START_TEST(http_response_has_length_and_connection_close)
{
    char out[256];
    int n = rc_http_response(out, sizeof(out), 403, NULL, NULL, NULL, 0);
    const char *want403 = "HTTP/1.1 403 Forbidden\r\n"
                          "Content-Type: text/plain\r\n"
                          "Content-Length: 0\r\n"
                          "Connection: close\r\n"
                          "\r\n";
    ck_assert_int_eq(n, (int)strlen(want403));
    ck_assert_mem_eq(out, want403, (size_t)n);

    n = rc_http_response(out, sizeof(out), 426, "application/json",
                         "Sec-WebSocket-Version: 13\r\n", "{\"a\":1}", 7);
    {
        const char *want = "HTTP/1.1 426 Upgrade Required\r\n"
                           "Content-Type: application/json\r\n"
                           "Content-Length: 7\r\n"
                           "Connection: close\r\n"
                           "Sec-WebSocket-Version: 13\r\n"
                           "\r\n"
                           "{\"a\":1}";
        ck_assert_int_eq(n, (int)strlen(want));
        ck_assert_mem_eq(out, want, (size_t)n);
    }
    ck_assert_int_eq(rc_http_response(out, 40, 400, NULL, NULL, "x", 1), -ENOSPC);
    /* The head fits but the body does not. */
    ck_assert_int_eq(rc_http_response(out, (size_t)strlen(want403) + 2, 403, NULL, NULL,
                                      "body!", 5), -ENOSPC);
}
END_TEST

START_TEST(reason_phrases_cover_refusals)
{
    ck_assert_str_eq(rc_http_reason(400), "Bad Request");
    ck_assert_str_eq(rc_http_reason(403), "Forbidden");
    ck_assert_str_eq(rc_http_reason(404), "Not Found");
    ck_assert_str_eq(rc_http_reason(426), "Upgrade Required");
    ck_assert_str_eq(rc_http_reason(431), "Request Header Fields Too Large");
    ck_assert_str_eq(rc_http_reason(503), "Service Unavailable");
    ck_assert_str_eq(rc_http_reason(999), "Unknown");
}
END_TEST

static Suite *handshake_suite(void)
{
    Suite *s = suite_create("ws_handshake");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, chrome_request_parses_every_field);
    tcase_add_test(tc, firefox_keep_alive_upgrade_and_bearer_are_understood);
    tcase_add_test(tc, lone_lf_line_ends_and_any_case_are_accepted);
    tcase_add_test(tc, repeated_protocol_headers_are_all_read);
    tcase_add_test(tc, subprotocol_names_are_case_sensitive);
    tcase_add_test(tc, bytes_after_the_blank_line_are_not_part_of_the_request);
    tcase_add_test(tc, truncated_request_returns_incomplete);
    tcase_add_loop_test(tc, malformed_request_returns_400, 0,
                        (int)(sizeof(bad_parse) / sizeof(bad_parse[0])));
    tcase_add_test(tc, max_headers_accepted_one_more_returns_431);
    tcase_add_test(tc, header_block_of_max_bytes_is_accepted);
    tcase_add_test(tc, header_block_over_max_bytes_returns_431);
    tcase_add_loop_test(tc, unacceptable_request_returns_its_status, 0,
                        (int)(sizeof(bad_check) / sizeof(bad_check[0])));
    tcase_add_loop_test(tc, origin_allow_list_follows_each_rule, 0,
                        (int)(sizeof(origin_cases) / sizeof(origin_cases[0])));
    tcase_add_test(tc, parsed_request_origin_matches_its_host);
    tcase_add_test(tc, rfc_example_key_gives_rfc_accept);
    tcase_add_test(tc, long_key_still_hashes_whole_key);
    tcase_add_test(tc, query_get_finds_and_decodes_values);
    tcase_add_test(tc, query_get_reports_absent_too_long_and_bad_escape);
    tcase_add_test(tc, query_get_last_occurrence_wins);
    tcase_add_test(tc, response_101_is_exact);
    tcase_add_test(tc, http_response_has_length_and_connection_close);
    tcase_add_test(tc, reason_phrases_cover_refusals);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(handshake_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
