/* Incremental UTF-8 validation (RFC 3629: no overlongs, no surrogates,
 * nothing above U+10FFFF). State carries across calls so a message split
 * over fragments or reads is validated without reassembly. */
#ifndef RC_PROTO_UTF8_H
#define RC_PROTO_UTF8_H

#include <stddef.h>
#include <stdint.h>

#define RC_UTF8_ACCEPT 0u   /* at a character boundary, all valid so far */
#define RC_UTF8_REJECT 1u   /* invalid; sticky */

/* Feeds s[0..n) and returns the new state. Any other value than ACCEPT or
 * REJECT means "inside a multi-byte character". */
uint32_t rc_utf8_feed(uint32_t state, const uint8_t *s, size_t n);

/* 1 if s[0..n) is complete, valid UTF-8. */
static inline int rc_utf8_valid(const uint8_t *s, size_t n)
{
    return rc_utf8_feed(RC_UTF8_ACCEPT, s, n) == RC_UTF8_ACCEPT;
}

#endif
