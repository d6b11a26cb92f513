/* Query strings of a request-target (proto/ws_request.h keeps it still
 * percent-encoded). */
#ifndef RC_PROTO_QUERY_H
#define RC_PROTO_QUERY_H

#include <stddef.h>
#include "proto/slice.h"

/* Finds parameter name in a query string and writes its percent-decoded
 * value ('+' decodes to space, as Plug does) to out with a NUL.
 * Returns the decoded length, -ENOENT if absent, -ENOSPC if it does not fit
 * in cap-1 bytes, -EINVAL on a bad %-escape. */
int rc_query_get(rc_slice_t query, const char *name, char *out, size_t cap);

#endif
