/* Whole HTTP/1.1 responses for the edge's refusals and health answers, and
 * the one reason-phrase table of the project (the broker's replies use it
 * too). */
#include "proto/http_response.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

int rc_http_response(char *out, size_t cap, int status, const char *content_type,
                     const char *extra_headers, const char *body, size_t body_len)
{
    int n = snprintf(out, cap,
                     "HTTP/1.1 %d %s\r\n"
                     "Content-Type: %s\r\n"
                     "Content-Length: %zu\r\n"
                     "Connection: close\r\n"
                     "%s"
                     "\r\n",
                     status, rc_http_reason(status),
                     content_type ? content_type : "text/plain", body_len,
                     extra_headers ? extra_headers : "");
    if (n < 0 || (size_t)n >= cap || body_len > cap - (size_t)n ||
        (size_t)n + body_len > INT_MAX)
        return -ENOSPC;
    if (body_len)
        memcpy(out + n, body, body_len);
    return n + (int)body_len;
}

const char *rc_http_reason(int status)
{
    switch (status) {
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 426: return "Upgrade Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Unknown";
    }
}
