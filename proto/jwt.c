#include "proto/jwt.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <jwt.h>
#include <sodium/crypto_generichash.h>
#include <sodium/utils.h>

#include "common/alloc.h"

static const struct {
    const char *name;
    rc_jwt_alg_t alg;
    jwt_alg_t lib;
} algs[] = {
    {"HS256", RC_JWT_HS256, JWT_ALG_HS256}, {"HS384", RC_JWT_HS384, JWT_ALG_HS384},
    {"HS512", RC_JWT_HS512, JWT_ALG_HS512}, {"RS256", RC_JWT_RS256, JWT_ALG_RS256},
    {"ES256", RC_JWT_ES256, JWT_ALG_ES256},
};

rc_jwt_alg_t rc_jwt_alg_by_name(const char *name, size_t n)
{
    for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
        if (strlen(algs[i].name) == n && memcmp(algs[i].name, name, n) == 0)
            return algs[i].alg;
    return 0;
}

static jwt_alg_t lib_alg(rc_jwt_alg_t a)
{
    for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
        if (algs[i].alg == a)
            return algs[i].lib;
    return JWT_ALG_INVAL;
}

static int is_hmac(rc_jwt_alg_t a) { return a == RC_JWT_HS256 || a == RC_JWT_HS384 || a == RC_JWT_HS512; }

int rc_jwt_keys_add(rc_jwt_keys_t *ks, rc_jwt_alg_t alg, const char *kid, const void *bytes, size_t len)
{
    if (ks->n == RC_JWT_MAX_KEYS || !lib_alg(alg) || len == 0 || len > 65536 || (kid && strlen(kid) >= 64))
        return -EINVAL;
    rc_jwt_key_t *k = &ks->k[ks->n++];
    k->alg = alg;
    snprintf(k->kid, sizeof(k->kid), "%s", kid ? kid : "");
    /* +1: libjwt reads a PEM key as a string */
    k->bytes = rc_xcalloc(1, len + 1);
    memcpy(k->bytes, bytes, len);
    k->len = len;
    return 0;
}

void rc_jwt_keys_free(rc_jwt_keys_t *ks)
{
    for (unsigned i = 0; i < ks->n; i++) {
        sodium_memzero(ks->k[i].bytes, ks->k[i].len);
        free(ks->k[i].bytes);
    }
    ks->n = 0;
    free(ks->seen);
    ks->seen = NULL;
}

/* A key file: regular, not a symlink, at most 64 KiB. A secret (HS*) must
 * not be readable by group or other; a public key may be. */
static int read_key_file(const char *path, int secret, unsigned char **out, size_t *len, char *err, size_t cap)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        snprintf(err, cap, "jwt_keys: cannot open %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -EINVAL;
    }
    if (!S_ISREG(st.st_mode) || st.st_size <= 0 || st.st_size > 65536 || (secret && (st.st_mode & 077))) {
        snprintf(err, cap, "jwt_keys: %s must be a regular file of 1 byte to 64 KiB%s", path,
                 secret ? ", not readable by group or other (chmod 600): it holds a secret" : "");
        close(fd);
        return -EINVAL;
    }
    unsigned char *buf = rc_xmalloc((size_t)st.st_size + 1);
    ssize_t r = read(fd, buf, (size_t)st.st_size);
    close(fd);
    if (r != st.st_size) {
        snprintf(err, cap, "jwt_keys: short read of %s", path);
        free(buf);
        return -EINVAL;
    }
    size_t n = (size_t)r;
    /* A secret written by `echo` or an editor ends with a newline that the
     * token's issuer did not sign with. */
    if (secret && n && buf[n - 1] == '\n')
        n--;
    *out = buf;
    *len = n;
    return 0;
}

int rc_jwt_keys_load(rc_jwt_keys_t *ks, const char *spec, char *err, size_t cap)
{
    ks->n = 0;
    const char *p = spec;
    while (p && *p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        char item[1024];
        if (n >= sizeof(item)) {
            snprintf(err, cap, "jwt_keys: an entry is too long");
            return -EINVAL;
        }
        memcpy(item, p, n);
        item[n] = 0;
        char *s = item;
        while (*s == ' ')
            s++;
        char *alg = strtok(s, ":"), *kind = strtok(NULL, ":"), *path = strtok(NULL, ":"), *kid = strtok(NULL, ":");
        rc_jwt_alg_t a = alg ? rc_jwt_alg_by_name(alg, strlen(alg)) : 0;
        if (!a || !kind || strcmp(kind, "file") || !path || !*path) {
            snprintf(err, cap, "jwt_keys: '%s' is not ALG:file:PATH[:KID] with ALG one of HS256 HS384 HS512 RS256 ES256",
                     item);
            return -EINVAL;
        }
        unsigned char *bytes;
        size_t len;
        if (read_key_file(path, is_hmac(a), &bytes, &len, err, cap) < 0)
            return -EINVAL;
        int rc = rc_jwt_keys_add(ks, a, kid, bytes, len);
        sodium_memzero(bytes, len);
        free(bytes);
        if (rc < 0) {
            snprintf(err, cap, "jwt_keys: at most %d keys, key ids under 64 bytes", RC_JWT_MAX_KEYS);
            return -EINVAL;
        }
        p = end ? end + 1 : NULL;
    }
    if (!ks->n) {
        snprintf(err, cap, "jwt_keys: auth = jwt needs at least one key");
        return -EINVAL;
    }
    return 0;
}

/* base64url (no padding) of s[0..n) into a new JSON value. */
static json_t *decode_json(const char *s, size_t n)
{
    unsigned char buf[RC_JWT_MAX_TOKEN];
    size_t len;
    const char *end;
    if (n == 0 || sodium_base642bin(buf, sizeof(buf), s, n, NULL, &len, &end,
                                    sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        end != s + n)
        return NULL;
    json_error_t e;
    return json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &e);
}

/* An integer claim: 0 and *v, 1 if absent, -1 if not an integer. */
static int int_claim(const json_t *o, const char *name, int64_t *v)
{
    const json_t *x = json_object_get(o, name);
    if (!x) {
        *v = 0;
        return 1;
    }
    if (!json_is_integer(x))
        return -1;
    *v = json_integer_value(x);
    return 0;
}

/* A list of topic patterns (array of non-empty strings) into a
 * NUL-separated blob. */
static int pattern_list(const json_t *o, const char *name, char **out, size_t *len, unsigned *count)
{
    *out = NULL;
    *len = 0;
    *count = 0;
    const json_t *a = json_object_get(o, name);
    if (!a)
        return 0;
    if (!json_is_array(a) || json_array_size(a) > 1024)
        return -1;
    size_t total = 0, i;
    const json_t *v;
    json_array_foreach(a, i, v) {
        if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > 255)
            return -1;
        total += json_string_length(v) + 1;
    }
    char *blob = total ? rc_xmalloc(total) : NULL;
    size_t off = 0;
    json_array_foreach(a, i, v) {
        memcpy(blob + off, json_string_value(v), json_string_length(v) + 1);
        off += json_string_length(v) + 1;
    }
    *out = blob;
    *len = total;
    *count = (unsigned)json_array_size(a);
    return 0;
}

static int audience_matches(const json_t *aud, const char *want)
{
    if (json_is_string(aud))
        return strcmp(json_string_value(aud), want) == 0;
    size_t i;
    const json_t *v;
    if (json_is_array(aud))
        json_array_foreach(aud, i, v) if (json_is_string(v) && strcmp(json_string_value(v), want) == 0) return 1;
    return 0;
}

/* The claims of a token whose signature was checked. */
static int read_claims(const json_t *o, const rc_jwt_policy_t *pol, int64_t now, rc_jwt_claims_t *c, const char **why)
{
    int64_t lee = pol ? pol->leeway_s : 0;
    int r = int_claim(o, "exp", &c->exp);
    if (r) {
        *why = r > 0 ? "no exp claim" : "exp is not an integer";
        return -1;
    }
    if (int_claim(o, "nbf", &c->nbf) < 0 || int_claim(o, "iat", &c->iat) < 0) {
        *why = "nbf and iat must be integers";
        return -1;
    }
    if (now > c->exp + lee) {
        *why = "expired";
        return -1;
    }
    if (c->nbf && now + lee < c->nbf) {
        *why = "not yet valid (nbf)";
        return -1;
    }
    const json_t *sub = json_object_get(o, "sub");
    if (!json_is_string(sub) || json_string_length(sub) == 0 || json_string_length(sub) > RC_JWT_SUB_MAX ||
        strlen(json_string_value(sub)) != json_string_length(sub)) {
        *why = "sub must be a string of 1 to 255 bytes";
        return -1;
    }
    memcpy(c->sub, json_string_value(sub), json_string_length(sub) + 1);
    if (pol && pol->audience && !audience_matches(json_object_get(o, "aud"), pol->audience)) {
        *why = "wrong audience (aud)";
        return -1;
    }
    const json_t *iss = json_object_get(o, "iss");
    if (pol && pol->issuer && (!json_is_string(iss) || strcmp(json_string_value(iss), pol->issuer))) {
        *why = "wrong issuer (iss)";
        return -1;
    }
    if (pattern_list(o, "topics", &c->topics, &c->topics_len, &c->ntopics) < 0 ||
        pattern_list(o, "pub", &c->pub, &c->pub_len, &c->npub) < 0) {
        *why = "topics and pub must be arrays of topic names or prefixes";
        return -1;
    }
    return 0;
}

struct rc_jwt_seen {
    unsigned mask;
    struct seen_entry {
        uint8_t digest[32];
        uint32_t key_plus1;   /* 0: empty */
    } e[];
};

int rc_jwt_keys_remember(rc_jwt_keys_t *ks, unsigned entries)
{
    if (!entries || (entries & (entries - 1)) || ks->seen)
        return -EINVAL;
    ks->seen = rc_xcalloc(1, sizeof(*ks->seen) + entries * sizeof(struct seen_entry));
    ks->seen->mask = entries - 1;
    return 0;
}

static struct seen_entry *seen_slot(const rc_jwt_keys_t *ks, const uint8_t digest[32])
{
    uint32_t h;
    memcpy(&h, digest, sizeof(h));
    return &ks->seen->e[h & ks->seen->mask];
}

/* Checks the signature with key k through libjwt, whose algorithm must
 * then still be k's. */
static int signature_ok(const rc_jwt_key_t *k, const char *token)
{
    jwt_t *j = NULL;
    int ok = jwt_decode(&j, token, k->bytes, (int)k->len) == 0 && j && jwt_get_alg(j) == lib_alg(k->alg);
    if (j)
        jwt_free(j);
    return ok;
}

int rc_jwt_verify(const rc_jwt_keys_t *ks, const rc_jwt_policy_t *pol, const char *token, size_t n, int64_t now,
                  rc_jwt_claims_t *c, const char **why)
{
    memset(c, 0, sizeof(*c));
    if (n == 0 || n > RC_JWT_MAX_TOKEN || memchr(token, 0, n)) {
        *why = n > RC_JWT_MAX_TOKEN ? "token too long" : "no token";
        return -EACCES;
    }
    const char *d1 = memchr(token, '.', n);
    const char *d2 = d1 ? memchr(d1 + 1, '.', n - (size_t)(d1 + 1 - token)) : NULL;
    if (!d1 || !d2 || memchr(d2 + 1, '.', n - (size_t)(d2 + 1 - token)) || d2 + 1 == token + n) {
        *why = "not a signed JWT (header.payload.signature)";
        return -EACCES;
    }
    json_t *hdr = decode_json(token, (size_t)(d1 - token));
    const json_t *alg = json_object_get(hdr, "alg"), *kid = json_object_get(hdr, "kid");
    rc_jwt_alg_t a = json_is_string(alg) ? rc_jwt_alg_by_name(json_string_value(alg), json_string_length(alg)) : 0;
    if (!json_is_object(hdr) || !a || (kid && !json_is_string(kid))) {
        json_decref(hdr);
        *why = "header: alg must be one of HS256 HS384 HS512 RS256 ES256 (kid a string)";
        return -EACCES;
    }
    char buf[RC_JWT_MAX_TOKEN + 1];
    memcpy(buf, token, n);
    buf[n] = 0;
    int verified = 0, candidates = 0;
    uint8_t digest[32];
    struct seen_entry *seen = NULL;
    if (ks->seen) {
        crypto_generichash(digest, sizeof(digest), (const unsigned char *)token, n, NULL, 0);
        seen = seen_slot(ks, digest);
    }
    for (unsigned i = 0; i < ks->n && !verified; i++) {
        const rc_jwt_key_t *k = &ks->k[i];
        if (kid && strcmp(k->kid, json_string_value(kid)) != 0)
            continue;
        /* The key's pinned algorithm, never the token's choice. */
        if (k->alg != a)
            continue;
        candidates++;
        if (seen && seen->key_plus1 == i + 1 && sodium_memcmp(seen->digest, digest, sizeof(digest)) == 0) {
            verified = 1;
            break;
        }
        verified = signature_ok(k, buf);
        if (verified && seen) {
            memcpy(seen->digest, digest, sizeof(digest));
            seen->key_plus1 = i + 1;
        }
    }
    json_decref(hdr);
    if (!verified) {
        *why = candidates ? "bad signature" : "no key for this alg and kid";
        return -EACCES;
    }
    json_t *payload = decode_json(d1 + 1, (size_t)(d2 - d1 - 1));
    if (!json_is_object(payload)) {
        json_decref(payload);
        *why = "payload is not a JSON object";
        return -EACCES;
    }
    int r = read_claims(payload, pol, now, c, why);
    json_decref(payload);
    if (r < 0) {
        rc_jwt_claims_free(c);
        return -EACCES;
    }
    return 0;
}

void rc_jwt_claims_free(rc_jwt_claims_t *c)
{
    free(c->topics);
    free(c->pub);
    c->topics = c->pub = NULL;
    c->topics_len = c->pub_len = 0;
    c->ntopics = c->npub = 0;
}

int rc_jwt_topic_allowed(const char *patterns, size_t len, const char *topic, size_t tn)
{
    size_t off = 0;
    while (off < len) {
        const char *p = patterns + off;
        size_t pn = strlen(p);
        if (pn && p[pn - 1] == '*') {
            if (tn >= pn - 1 && memcmp(topic, p, pn - 1) == 0)
                return 1;
        } else if (pn == tn && memcmp(topic, p, tn) == 0) {
            return 1;
        }
        off += pn + 1;
    }
    return 0;
}
