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

/* Loads keys from a list separated by commas or newlines (spaces and tabs
 * around keys ignored; empty: auth off). Returns 0 or -EINVAL (too many
 * keys). */
int rc_auth_init(rc_auth_t *a, const char *list);

/* Reads the keys file `api_keys_file` into *out (NUL-terminated; the caller
 * wipes it with explicit_bzero and frees it). A key on a command line is
 * read by every local user in /proc/PID/cmdline; a file is only as private
 * as its mode, so the file must be a regular file of ours, not a symlink,
 * with no access for group or other (at most 64 KiB). Anything else is
 * refused on stderr with the path and the fix. Does not block (a FIFO is
 * refused). Returns 0 or -errno. */
int rc_auth_read_file(const char *path, char **out);

enum { RC_AUTH_OK = 0, RC_AUTH_MISSING = 401, RC_AUTH_WRONG = 403 };

/* Checks an Authorization header value (NULL if absent): RC_AUTH_OK, or
 * the HTTP status to refuse with. */
int rc_auth_check(const rc_auth_t *a, const char *authorization);

#endif
