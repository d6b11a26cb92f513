#include "broker/auth.h"

#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "proto/slice.h"

int rc_auth_init(rc_auth_t *a, const char *list)
{
    memset(a, 0, sizeof(*a));
    const char *p = list;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *s = p;
        while (*p && *p != ',')
            p++;
        const char *e = p;
        while (e > s && e[-1] == ' ')
            e--;
        if (e == s)
            continue;
        if (a->nkeys == RC_AUTH_MAX_KEYS)
            return -EINVAL;
        SHA256((const unsigned char *)s, (size_t)(e - s), a->digest[a->nkeys++]);
    }
    return 0;
}

int rc_auth_check(const rc_auth_t *a, const char *authorization)
{
    if (a->nkeys == 0)
        return RC_AUTH_OK;
    if (!authorization)
        return RC_AUTH_MISSING;
    const char *p = authorization;
    while (*p == ' ')
        p++;
    if (!rc_ascii_ieq(p, strlen(p) < 6 ? strlen(p) : 6, "bearer") || (p[6] != ' ' && p[6] != '\t'))
        return RC_AUTH_MISSING;
    p += 7;
    while (*p == ' ' || *p == '\t')
        p++;
    size_t n = strlen(p);
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    if (n == 0)
        return RC_AUTH_MISSING;
    unsigned char d[32];
    SHA256((const unsigned char *)p, n, d);
    /* Equal-length digests, every key compared: the time does not depend
     * on which key matched or on how much of one did. */
    int match = 0;
    for (unsigned i = 0; i < a->nkeys; i++)
        match |= CRYPTO_memcmp(d, a->digest[i], sizeof(d)) == 0;
    return match ? RC_AUTH_OK : RC_AUTH_WRONG;
}
