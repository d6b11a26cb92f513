/* The PROXY protocol header (HAProxy's proxy-protocol.txt, versions 1 and
 * 2): the few bytes a load balancer writes at the start of a TCP connection,
 * before the client's own bytes, to say whose connection it relays. HAProxy
 * (`send-proxy`, `send-proxy-v2`), nginx (`proxy_protocol on`), AWS NLB
 * (proxy protocol v2 target groups) and GCP TCP/SSL proxies send it.
 *
 * Only a connection from a trusted proxy may be parsed with this (see
 * common/cidr.h): anyone else could claim any address. Functions over
 * buffers; nothing is allocated, nothing blocks. */
#ifndef RC_PROTO_PROXY_PROTO_H
#define RC_PROTO_PROXY_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define RC_PROXY_V1_MAX      107   /* bytes of a v1 line, CRLF included */
#define RC_PROXY_V2_MAX_LEN  1024  /* bytes of v2 addresses + TLVs we accept */
/* The most bytes a header can take: a receive buffer this large always
 * reaches a verdict. */
#define RC_PROXY_HDR_MAX     (16 + RC_PROXY_V2_MAX_LEN)

typedef struct rc_proxy_hdr {
    int local;                   /* 1: LOCAL / UNKNOWN / UNSPEC / AF_UNIX:
                                    keep the socket's own peer address */
    struct sockaddr_storage src; /* the client's address and port (!local) */
    struct sockaddr_storage dst; /* the address it connected to (!local) */
    socklen_t src_len, dst_len;  /* 0 when local */
} rc_proxy_hdr_t;

/* Parses the header at buf[0..len): call it again with all the bytes
 * received so far until it gives a verdict. Returns
 *   > 0       bytes of header consumed; the client's bytes start there.
 *             *out is filled: AF_INET / AF_INET6 addresses with ports, or
 *             local = 1 (v2 LOCAL, a v2 family of UNSPEC or AF_UNIX, v1
 *             UNKNOWN) with zeroed addresses.
 *   0         buf is a proper prefix of a valid header: read more.
 *   -EINVAL   not a PROXY header (refused at the first byte that cannot
 *             start "PROXY " or the v2 signature) or a malformed one:
 *             v2 version other than 2, command other than LOCAL/PROXY,
 *             unknown family, DGRAM or unknown transport, a length shorter
 *             than its addresses; v1 with anything but single spaces,
 *             addresses that inet_pton refuses, ports that are not 0..65535
 *             in plain decimal (no sign, no leading zero), no CRLF.
 *   -EMSGSIZE a v2 length above RC_PROXY_V2_MAX_LEN, or a v1 line with no
 *             CRLF in its first RC_PROXY_V1_MAX bytes.
 * v2 TLVs are skipped unread. Never reads past len; *out is rewritten on
 * every call and meaningful only after a return > 0. */
int rc_proxy_hdr_parse(const uint8_t *buf, size_t len, rc_proxy_hdr_t *out);

#endif
