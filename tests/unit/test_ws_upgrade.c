/* proto/ws_upgrade.c: upgrade checks, the accept key, the 101. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/ws_request.h"
#include "proto/ws_upgrade.h"
#include "tests/unit/ws_requests.h"
#include "tests/unit/unit.h"

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

int main(void)
{
    TCase *tc;
    Suite *s = rc_test_suite("ws_upgrade", &tc, NULL, NULL);
    tcase_add_loop_test(tc, unacceptable_request_returns_its_status, 0, (int)(sizeof(bad_check) / sizeof(bad_check[0])));
    tcase_add_test(tc, rfc_example_key_gives_rfc_accept);
    tcase_add_test(tc, long_key_still_hashes_whole_key);
    tcase_add_test(tc, response_101_is_exact);
    return rc_test_run(s);
}
