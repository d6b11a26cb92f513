#include "broker/auth.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "common/alloc.h"
#include "proto/slice.h"

#define RC_AUTH_FILE_MAX 65536

static int separator(char c) { return c == ',' || c == '\n' || c == '\r'; }
static int blank(char c) { return c == ' ' || c == '\t'; }

int rc_auth_init(rc_auth_t *a, const char *list)
{
    memset(a, 0, sizeof(*a));
    const char *p = list;
    while (*p) {
        while (blank(*p) || separator(*p))
            p++;
        const char *s = p;
        while (*p && !separator(*p))
            p++;
        const char *e = p;
        while (e > s && blank(e[-1]))
            e--;
        if (e == s)
            continue;
        if (a->nkeys == RC_AUTH_MAX_KEYS)
            return -EINVAL;
        SHA256((const unsigned char *)s, (size_t)(e - s), a->digest[a->nkeys++]);
    }
    return 0;
}

int rc_auth_read_file(const char *path, char **out)
{
    *out = NULL;
    /* O_NONBLOCK: a FIFO planted at the path must not hang the start. */
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        int err = errno;
        if (err == ELOOP)
            fprintf(stderr, "broker: api_keys_file %s is a symlink; ringcast never follows one: "
                            "give the path of the file itself\n", path);
        else
            fprintf(stderr, "broker: cannot open api_keys_file %s: %s\n", path, strerror(err));
        return -err;
    }
    int rc = 0;
    char *buf = NULL;
    struct stat st;
    if (fstat(fd, &st) < 0) {
        rc = -errno;
        fprintf(stderr, "broker: cannot stat api_keys_file %s: %s\n", path, strerror(-rc));
        goto out;
    }
    if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077)) {
        fprintf(stderr, "broker: refusing api_keys_file %s: owner uid %u (we are %u), mode %04o (want 0600: "
                        "no access for group or other)%s; whoever else can read it has the keys, whoever can "
                        "write it chooses them: fix it with chown %u %s && chmod 600 %s\n",
                path, (unsigned)st.st_uid, (unsigned)geteuid(), (unsigned)(st.st_mode & 07777),
                S_ISREG(st.st_mode) ? "" : ", not a regular file", (unsigned)geteuid(), path, path);
        rc = -EPERM;
        goto out;
    }
    if (st.st_size > RC_AUTH_FILE_MAX) {
        fprintf(stderr, "broker: api_keys_file %s holds %lld bytes, more than %d\n", path, (long long)st.st_size,
                RC_AUTH_FILE_MAX);
        rc = -EFBIG;
        goto out;
    }
    buf = rc_xmalloc((size_t)st.st_size + 1);
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, buf + n, (size_t)st.st_size - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = -errno;
            fprintf(stderr, "broker: cannot read api_keys_file %s: %s\n", path, strerror(-rc));
            goto out;
        }
        if (r == 0 || (n += (size_t)r) == (size_t)st.st_size)
            break;
    }
    buf[n] = '\0';
    *out = buf;
    buf = NULL;
out:
    if (buf) {
        explicit_bzero(buf, (size_t)st.st_size + 1);
        free(buf);
    }
    close(fd);
    return rc;
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
