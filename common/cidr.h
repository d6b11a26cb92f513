/* Address allow-lists from the options, such as trusted_proxies:
 * "127.0.0.1/32, 10.0.0.0/8,::1/128, 192.168.1.7". Parsed once at start-up
 * (the list is the caller's, freed with rc_cidr_list_free), then matched
 * against each connection's peer address; nothing blocks. */
#ifndef RC_COMMON_CIDR_H
#define RC_COMMON_CIDR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct rc_cidr {
    uint8_t family;   /* AF_INET or AF_INET6 */
    uint8_t bits;     /* prefix length: 0..32 or 0..128 */
    uint8_t addr[16]; /* network order, host bits zero; AF_INET uses 4 */
} rc_cidr_t;

typedef struct rc_cidr_list {
    unsigned n;
    rc_cidr_t *v; /* n entries, owned by the list */
} rc_cidr_list_t;

/* Parses comma-separated entries "addr" or "addr/bits" (IPv4 or IPv6,
 * blanks around entries ignored; a bare address is /32 or /128). An
 * IPv4-mapped entry (::ffff:a.b.c.d/bits, bits >= 96) is stored as the
 * IPv4 entry it means. Empty or blank text gives an empty list, which
 * matches nothing. Returns 0, or -EINVAL with *out empty and err (errlen
 * bytes, may be 0) naming the bad entry, e.g.
 *   bad entry "10.0.0.0/33": prefix length above 32
 * for the caller to prefix with the option's name. An entry with host bits
 * set ("10.0.0.1/8") is refused rather than silently widened. Allocates
 * with rc_xcalloc (aborts on OOM). */
int rc_cidr_list_parse(const char *text, rc_cidr_list_t *out, char *err, size_t errlen);

/* 1 if sa (AF_INET or AF_INET6; any other family never matches) falls in
 * an entry of l, else 0. An IPv4-mapped IPv6 peer (a dual-stack socket's
 * view of an IPv4 client) matches as the IPv4 address it carries. */
int rc_cidr_list_match(const rc_cidr_list_t *l, const struct sockaddr *sa);

/* Frees the entries and leaves l empty; an empty list is fine. */
void rc_cidr_list_free(rc_cidr_list_t *l);

#endif
