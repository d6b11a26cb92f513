/* A byte slice pointing into someone else's buffer; never owns memory.
 * p == NULL means "absent" (JSON null, missing header); p != NULL with n == 0
 * is a present but empty value. */
#ifndef RC_PROTO_SLICE_H
#define RC_PROTO_SLICE_H

#include <stddef.h>
#include <string.h>

typedef struct rc_slice {
    const char *p;
    size_t n;
} rc_slice_t;

#define RC_SLICE_NULL ((rc_slice_t){NULL, 0})
#define RC_SLICE_LIT(s) ((rc_slice_t){(s), sizeof(s) - 1})

static inline rc_slice_t rc_slice(const char *p, size_t n) { return (rc_slice_t){p, n}; }
static inline rc_slice_t rc_slice_cstr(const char *s) { return (rc_slice_t){s, strlen(s)}; }
static inline int rc_slice_eq(rc_slice_t a, const char *lit)
{
    size_t n = strlen(lit);
    return a.p && a.n == n && memcmp(a.p, lit, n) == 0;
}

/* ASCII case folding and comparison, for HTTP tokens and host names. */
static inline int rc_ascii_lower(int c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }
static inline int rc_ascii_ieq(const char *p, size_t n, const char *lit)
{
    size_t m = strlen(lit);
    if (n != m)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (rc_ascii_lower((unsigned char)p[i]) != rc_ascii_lower((unsigned char)lit[i]))
            return 0;
    return 1;
}

#endif
