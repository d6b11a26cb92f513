/* Connect tokens: JWT verification for `auth = jwt` (docs/protocol.md,
 * "Authentication").
 *
 * Signatures are checked by libjwt (Debian 12's 1.10). That version takes
 * the algorithm from the token's own header and checks neither `exp` nor
 * `nbf`, so everything around the signature is done here, before libjwt
 * sees the token or after it said yes:
 *  - the header is decoded first; its `alg` must be one of ours (never
 *    `none`) and equal the pinned algorithm of the key it is checked with
 *    (an HS256 token is never checked against an RSA public key's bytes:
 *    the algorithm confusion attack);
 *  - `kid`, when present, selects exactly one key; without it every key of
 *    the header's algorithm is tried (key rotation);
 *  - after the signature, libjwt's idea of the algorithm is compared again,
 *    and the claims are read from the payload by us: `exp` (required),
 *    `nbf`, `iat` as integers, checked against the caller's clock with the
 *    leeway; `aud` and `iss` when the policy names them; `sub`, `topics`
 *    and `pub` as strings.
 * Tokens are never logged; errors say what was wrong, never the token. */
#ifndef RC_PROTO_JWT_H
#define RC_PROTO_JWT_H

#include <stddef.h>
#include <stdint.h>

#define RC_JWT_MAX_TOKEN 4096   /* bytes of a token: it must fit the handshake */
#define RC_JWT_MAX_KEYS 16
#define RC_JWT_SUB_MAX 255

typedef enum rc_jwt_alg {
    RC_JWT_HS256 = 1,
    RC_JWT_HS384,
    RC_JWT_HS512,
    RC_JWT_RS256,
    RC_JWT_ES256,
} rc_jwt_alg_t;

typedef struct rc_jwt_key {
    rc_jwt_alg_t alg;
    char kid[64];         /* "" when the key has no id */
    unsigned char *bytes; /* the secret, or the PEM public key */
    size_t len;
} rc_jwt_key_t;

typedef struct rc_jwt_seen rc_jwt_seen_t;

typedef struct rc_jwt_keys {
    rc_jwt_key_t k[RC_JWT_MAX_KEYS];
    unsigned n;
    rc_jwt_seen_t *seen;  /* signatures already verified; NULL: none kept */
} rc_jwt_keys_t;

/* Keeps the last `entries` (a power of two) signatures verified, as the
 * BLAKE2b-256 of the whole token and the key that verified it, so that a
 * client reconnecting with the token it already used skips the signature
 * check: libjwt 1.10 parses a PEM key again for every token it checks,
 * about 0.25 ms with OpenSSL 3, more than the RSA or ECDSA check itself.
 * A signature's validity is a pure function of the token's bytes and the
 * key, so remembering it changes no answer; every claim (exp, nbf, aud,
 * ...) is still checked on every use. Single-threaded: one per edge. */
int rc_jwt_keys_remember(rc_jwt_keys_t *ks, unsigned entries);

/* Loads `jwt_keys`: comma-separated `ALG:file:PATH[:KID]`. Returns 0, or
 * -EINVAL with a message in err (the file's contents are never in it). */
int rc_jwt_keys_load(rc_jwt_keys_t *ks, const char *spec, char *err, size_t cap);
/* Adds one key from memory (tests, the fuzz target). */
int rc_jwt_keys_add(rc_jwt_keys_t *ks, rc_jwt_alg_t alg, const char *kid, const void *bytes, size_t len);
void rc_jwt_keys_free(rc_jwt_keys_t *ks);

/* Names: "HS256"... ; 0 for an unknown name. */
rc_jwt_alg_t rc_jwt_alg_by_name(const char *name, size_t n);

typedef struct rc_jwt_policy {
    const char *audience; /* NULL: aud not checked */
    const char *issuer;   /* NULL: iss not checked */
    int64_t leeway_s;
} rc_jwt_policy_t;

/* A verified token's claims. topics and pub are NUL-separated lists of
 * patterns (an exact name, or a prefix ending in '*'), owned here. */
typedef struct rc_jwt_claims {
    char sub[RC_JWT_SUB_MAX + 1];
    int64_t exp, nbf, iat;  /* seconds since the epoch; nbf, iat 0 when absent */
    char *topics;
    size_t topics_len;      /* bytes, separators included */
    unsigned ntopics;
    char *pub;
    size_t pub_len;
    unsigned npub;
} rc_jwt_claims_t;

/* Verifies token (n bytes, no terminator needed) at time now (seconds).
 * Returns 0 and fills *c (free with rc_jwt_claims_free), or -EACCES with
 * *why naming the reason (static text: "expired", "bad signature", ...). */
int rc_jwt_verify(const rc_jwt_keys_t *ks, const rc_jwt_policy_t *pol, const char *token, size_t n, int64_t now,
                  rc_jwt_claims_t *c, const char **why);
void rc_jwt_claims_free(rc_jwt_claims_t *c);

/* Whether topic is allowed by a NUL-separated pattern list: an exact name,
 * or a pattern "p*" that topic starts with p ("user:42:*" allows
 * "user:42:x", never "user:420:x"). */
int rc_jwt_topic_allowed(const char *patterns, size_t len, const char *topic, size_t tn);

#endif
