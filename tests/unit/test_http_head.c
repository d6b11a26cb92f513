/* broker/http_head.c: the producer listener's request framing. The broker
 * file is included (unit tests link the library, which has no broker/). */
#include <check.h>
#include <string.h>

#include "broker/http_head.c"
#include "tests/unit/unit.h"

static int parse(const char *s, rc_http_head_t *h)
{
    return rc_http_head_parse(s, strlen(s), h);
}

START_TEST(head_end_is_found_however_the_bytes_are_cut)
{
    const char *req = "POST /api/push HTTP/1.1\r\nHost: x\r\n\r\nbody";
    size_t want = strlen(req) - 4;
    for (size_t cut = 0; cut <= strlen(req); cut++) {
        rc_http_scan_t s = {0};
        size_t e = rc_http_head_end(&s, req, cut);
        if (!e) {
            size_t e2 = rc_http_head_end(&s, req + cut, strlen(req) - cut);
            ck_assert_uint_ne(e2, 0);
            e = cut + e2;
        }
        ck_assert_uint_eq(e, want);
    }
    rc_http_scan_t s = {0};
    ck_assert_uint_eq(rc_http_head_end(&s, "GET / HTTP/1.0\n\nx", 17), 16);
    s.state = 0;
    ck_assert_uint_eq(rc_http_head_end(&s, "GET / HTTP/1.1\r\nA: b\r\n", 22), 0);
}
END_TEST

START_TEST(head_parse_reads_what_the_listener_needs)
{
    rc_http_head_t h;
    ck_assert_int_eq(parse("POST /api/push?x=1 HTTP/1.1\r\nauthorization:  Bearer k1 \r\nContent-Length: 12\r\n"
                           "Expect: 100-Continue\r\n\r\n", &h), 0);
    ck_assert(rc_slice_eq(h.method, "POST"));
    ck_assert(rc_slice_eq(h.path, "/api/push"));
    ck_assert(rc_slice_eq(h.authorization, "Bearer k1"));
    ck_assert_int_eq(h.content_length, 12);
    ck_assert(h.expect_continue && h.has_body && !h.chunked);
    ck_assert_int_eq(h.http_minor, 1);
    ck_assert_int_eq(parse("PUT /x HTTP/1.0\nTransfer-Encoding: Chunked\n\n", &h), 0);
    ck_assert(h.chunked && h.has_body && h.content_length == -1);
    ck_assert_int_eq(parse("GET /healthz HTTP/1.1\r\nContent-Length: 0\r\n\r\n", &h), 0);
    ck_assert(!h.has_body);
    /* No length and no Connection header: evhttp reads no body. */
    ck_assert_int_eq(parse("POST /x HTTP/1.1\r\n\r\n", &h), 0);
    ck_assert(!h.has_body);
}
END_TEST

START_TEST(head_parse_refuses_what_evhttp_would_frame_otherwise)
{
    rc_http_head_t h;
    ck_assert_int_eq(parse("POST /x HTTP/1.1\r\nA: b\r\n c\r\n\r\n", &h), -400);          /* folding */
    ck_assert_int_eq(parse("POST /x HTTP/1.1\r\nContent-Length: +5\r\n\r\n", &h), -400);
    ck_assert_int_eq(parse("POST /x HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", &h), -400);
    ck_assert_int_eq(parse("POST /x HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", &h), -400);
    ck_assert_int_eq(parse("POST /x HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", &h), -501);
    ck_assert_int_eq(parse("GET /x HTTP/1.1\r\nContent-Length: 3\r\n\r\n", &h), -400);     /* GET body */
    ck_assert_int_eq(parse("POST /x HTTP/1.1\r\nConnection: keep-alive\r\n\r\n", &h), -411);
    ck_assert_int_eq(parse("POST /x HTTP/1.1\r\nExpect: later\r\n\r\n", &h), -417);
    ck_assert_int_eq(parse("GET /x HTTP/2.0\r\n\r\n", &h), -505);
    ck_assert_int_eq(parse("GET x HTTP/1.1\r\n\r\n", &h), -400);
    ck_assert_int_eq(parse("GET /x HTTP/1.1\r\nA\rB: c\r\n\r\n", &h), -400);
    ck_assert_int_eq(parse("GET /x HTTP/1.1\r\nAuthorization: a\r\nAuthorization: b\r\n\r\n", &h), -400);
}
END_TEST

START_TEST(chunked_body_ends_where_it_ends_and_is_bounded)
{
    const char *b = "5\r\nhello\r\n1A \r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\nGET /next";
    size_t body = strlen(b) - strlen("GET /next");
    rc_http_chunked_t c = {0};
    int done = 0;
    ck_assert_int_eq(rc_http_chunked_feed(&c, b, strlen(b), 1000, &done), (long)body);
    ck_assert(done);
    ck_assert_uint_eq(c.total, 31);
    /* A byte at a time: the same. */
    memset(&c, 0, sizeof(c));
    long n = 0;
    done = 0;
    for (size_t i = 0; i < strlen(b) && !done; i++)
        n += rc_http_chunked_feed(&c, b + i, 1, 1000, &done);
    ck_assert_int_eq(n, (long)body);
    ck_assert(done);
    memset(&c, 0, sizeof(c));
    ck_assert_int_eq(rc_http_chunked_feed(&c, b, strlen(b), 30, &done), -413);
    memset(&c, 0, sizeof(c));
    ck_assert_int_eq(rc_http_chunked_feed(&c, "5;ext=1\r\n", 9, 1000, &done), -400);
    memset(&c, 0, sizeof(c));
    ck_assert_int_eq(rc_http_chunked_feed(&c, "0\r\nTrailer: x\r\n\r\n", 18, 1000, &done), -400);
    memset(&c, 0, sizeof(c));
    ck_assert_int_eq(rc_http_chunked_feed(&c, "2\r\nabX", 6, 1000, &done), -400);
}
END_TEST

int main(void)
{
    TCase *tc;
    Suite *s = rc_test_suite("http_head", &tc, NULL, NULL);
    tcase_add_test(tc, head_end_is_found_however_the_bytes_are_cut);
    tcase_add_test(tc, head_parse_reads_what_the_listener_needs);
    tcase_add_test(tc, head_parse_refuses_what_evhttp_would_frame_otherwise);
    tcase_add_test(tc, chunked_body_ends_where_it_ends_and_is_bounded);
    return rc_test_run(s);
}
