/* proto/ws_origin.c: the Origin allow-list. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/ws_origin.h"
#include "proto/ws_request.h"
#include "tests/unit/ws_requests.h"
#include "tests/unit/unit.h"


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

int main(void)
{
    TCase *tc;
    Suite *s = rc_test_suite("ws_origin", &tc, NULL, NULL);
    tcase_add_loop_test(tc, origin_allow_list_follows_each_rule, 0, (int)(sizeof(origin_cases) / sizeof(origin_cases[0])));
    tcase_add_test(tc, parsed_request_origin_matches_its_host);
    return rc_test_run(s);
}
