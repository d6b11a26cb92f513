/* proto/http_response.c: whole responses and reason phrases. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/http_response.h"
#include "tests/unit/unit.h"

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
    /* the broker's answers use the same table (RFC 9110 names) */
    ck_assert_str_eq(rc_http_reason(200), "OK");
    ck_assert_str_eq(rc_http_reason(401), "Unauthorized");
    ck_assert_str_eq(rc_http_reason(405), "Method Not Allowed");
    ck_assert_str_eq(rc_http_reason(413), "Content Too Large");
    ck_assert_str_eq(rc_http_reason(422), "Unprocessable Content");
    ck_assert_str_eq(rc_http_reason(429), "Too Many Requests");
    ck_assert_str_eq(rc_http_reason(999), "Unknown");
}
END_TEST

int main(void)
{
    TCase *tc;
    Suite *s = rc_test_suite("http_response", &tc, NULL, NULL);
    tcase_add_test(tc, http_response_has_length_and_connection_close);
    tcase_add_test(tc, reason_phrases_cover_refusals);
    return rc_test_run(s);
}
