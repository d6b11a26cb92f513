/* Producer auth: bearer API keys (several at once, for rotation). Only
 * SHA-256 digests of the keys are kept; a presented key is hashed and
 * compared with every configured digest in constant time. Keys are never
 * logged. */
#ifndef RC_BROKER_AUTH_H
#define RC_BROKER_AUTH_H

#include <stddef.h>

#define RC_AUTH_MAX_KEYS 16

typedef struct rc_auth {
    unsigned nkeys; /* 0: auth is off */
    unsigned char digest[RC_AUTH_MAX_KEYS][32];
} rc_auth_t;

/* Loads keys from a comma-separated list (spaces around keys ignored;
 * empty: auth off). Returns 0 or -EINVAL (too many keys). */
int rc_auth_init(rc_auth_t *a, const char *list);

enum { RC_AUTH_OK = 0, RC_AUTH_MISSING = 401, RC_AUTH_WRONG = 403 };

/* Checks an Authorization header value (NULL if absent): RC_AUTH_OK, or
 * the HTTP status to refuse with. */
int rc_auth_check(const rc_auth_t *a, const char *authorization);

#endif
