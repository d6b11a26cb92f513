/* The Origin allow-list of the WebSocket handshake. */
#ifndef RC_PROTO_WS_ORIGIN_H
#define RC_PROTO_WS_ORIGIN_H

#include "proto/slice.h"

// Checks the Origin header against an allow-list, as Phoenix's
// check_origin does. Returns 1 if allowed, 0 if refused (answer 403).
// (Line comments here: the entries below contain a slash-star.)
//
// origin: req->origin; absent (p == NULL) is always allowed, since only
// browsers send it. allowlist: NULL or "" means no check (allow all);
// otherwise comma-separated entries, blanks around them ignored:
//   :conn                     Origin host[:port] equals the Host header
//                             (host_header, req->host; absent -> refused)
//   //example.com             that host, any scheme, any port
//   //*.example.com           example.com or any subdomain of it
//   https://example.com       that scheme and host, any port
//   https://example.com:8443  exactly that (a port in an entry is compared
//                             with the Origin's port, or with its scheme's
//                             default, 80 for http/ws, 443 for https/wss)
// Schemes and hosts compare case-insensitively. An Origin that is not
// "scheme://host[:port]" ("null", "example.com", a path or userinfo) is
// refused when a list is set; an entry that does not parse matches nothing,
// so a list of only such entries refuses every Origin.
// For :conn, a Host without a port stands for the Origin scheme's default.
// Pure function over its arguments; allocates nothing.
int rc_ws_origin_allowed(rc_slice_t origin, const char *allowlist, rc_slice_t host_header);

#endif
