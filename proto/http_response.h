/* Whole HTTP/1.1 responses, and the reason phrase of a status: one table
 * for the edge's answers and the broker's (RFC 9110 section 15 names). */
#ifndef RC_PROTO_HTTP_RESPONSE_H
#define RC_PROTO_HTTP_RESPONSE_H

#include <stddef.h>

/* Writes a complete HTTP/1.1 response with Connection: close, a
 * Content-Length and the given body (text/plain unless content_type given);
 * extra_headers ("Name: value\r\n"...) may be NULL.
 * Returns bytes written or -ENOSPC. */
int rc_http_response(char *out, size_t cap, int status, const char *content_type,
                     const char *extra_headers, const char *body, size_t body_len);

/* Reason phrase of an HTTP status ("Bad Request"); "Unknown" if not known. */
const char *rc_http_reason(int status);

#endif
