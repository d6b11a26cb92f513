#include "bench/loadgen/ws.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/rand.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

int rc_lg_ws_request(char *out, size_t cap, const char *host, int port, const char *path,
                     uint8_t key[16])
{
    char k[32];
    for (int i = 0; i < 16; i += 8) {
        uint64_t r = rc_rand_u64();
        memcpy(key + i, &r, 8);
    }
    EVP_EncodeBlock((unsigned char *)k, key, 16);
    int n = snprintf(out, cap,
                     "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n",
                     path, host, port, k);
    return n < 0 || (size_t)n >= cap ? -1 : n;
}

/* The value of header name (no colon) in the block [p, end), after blanks. */
static const uint8_t *find_header(const uint8_t *p, const uint8_t *end, const char *name)
{
    size_t nl = strlen(name);
    while (p < end) {
        const uint8_t *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            return NULL;
        if ((size_t)(eol - p) > nl && strncasecmp((const char *)p, name, nl) == 0 && p[nl] == ':') {
            p += nl + 1;
            while (p < eol && (*p == ' ' || *p == '\t'))
                p++;
            return p;
        }
        p = eol + 1;
    }
    return NULL;
}

long rc_lg_ws_response(const uint8_t *buf, size_t len, const uint8_t key[16], char *why, size_t whycap)
{
    const uint8_t *end = memmem(buf, len, "\r\n\r\n", 4);
    if (!end) {
        if (len <= RC_LG_WS_MAX_RESPONSE)
            return 0;
        snprintf(why, whycap, "response headers over %d bytes", RC_LG_WS_MAX_RESPONSE);
        return -1;
    }
    end += 4;
    if (len < 12 || memcmp(buf, "HTTP/1.1 101", 12) != 0) {
        const uint8_t *eol = memchr(buf, '\r', (size_t)(end - buf));
        int l = (int)(eol - buf);
        snprintf(why, whycap, "%.*s", l < 100 ? l : 100, (const char *)buf);
        return -1;
    }
    char src[24 + sizeof(WS_GUID)], want[29];
    unsigned char sha[SHA_DIGEST_LENGTH];
    EVP_EncodeBlock((unsigned char *)src, key, 16);
    memcpy(src + 24, WS_GUID, sizeof(WS_GUID) - 1);
    SHA1((const unsigned char *)src, 24 + sizeof(WS_GUID) - 1, sha);
    EVP_EncodeBlock((unsigned char *)want, sha, SHA_DIGEST_LENGTH);
    const uint8_t *v = find_header(buf, end, "Sec-WebSocket-Accept");
    /* The header line ends inside the block, so v[28] is readable. */
    if (!v || end - v < 29 || memcmp(v, want, 28) != 0 || (v[28] != '\r' && v[28] != ' ' && v[28] != '\t')) {
        snprintf(why, whycap, "missing or wrong Sec-WebSocket-Accept");
        return -1;
    }
    return end - buf;
}

int rc_lg_ws_parse(const uint8_t *buf, size_t len, uint64_t max_payload, rc_lg_ws_hdr_t *h)
{
    if (len < 2)
        return 0;
    h->fin = buf[0] >> 7;
    h->opcode = buf[0] & 0x0f;
    h->payload_len = buf[1] & 0x7f;
    h->header_len = 2;
    if ((buf[0] & 0x70) || (buf[1] & 0x80))
        return -1002; /* no extension negotiated; servers never mask */
    if (h->payload_len == 126) {
        if (len < 4)
            return 0;
        h->payload_len = (uint64_t)buf[2] << 8 | buf[3];
        h->header_len = 4;
    } else if (h->payload_len == 127) {
        if (len < 10)
            return 0;
        h->payload_len = 0;
        for (int i = 2; i < 10; i++)
            h->payload_len = h->payload_len << 8 | buf[i];
        h->header_len = 10;
    }
    switch (h->opcode) {
    case 0x0:
    case 0x1:
    case 0x2:
        break;
    case 0x8:
    case 0x9:
    case 0xA:
        if (h->payload_len > 125 || !h->fin)
            return -1002;
        break;
    default:
        return -1002;
    }
    if (h->payload_len > max_payload)
        return -1009;
    return (int)h->header_len;
}

size_t rc_lg_ws_build(uint8_t *f, uint8_t opcode, const void *payload, size_t n)
{
    size_t h = 0;
    if (n > RC_LG_WS_MAX_PAYLOAD)
        abort(); /* our own frames only: a bug here, not a peer's doing */
    f[h++] = (uint8_t)(0x80 | opcode);
    if (n < 126) {
        f[h++] = (uint8_t)(0x80 | n);
    } else {
        f[h++] = 0x80 | 126;
        f[h++] = (uint8_t)(n >> 8);
        f[h++] = (uint8_t)n;
    }
    uint64_t r = rc_rand_u64();
    uint8_t mask[4] = {(uint8_t)r, (uint8_t)(r >> 8), (uint8_t)(r >> 16), (uint8_t)(r >> 24)};
    memcpy(f + h, mask, 4);
    h += 4;
    const uint8_t *p = payload;
    for (size_t i = 0; i < n; i++)
        f[h + i] = p[i] ^ mask[i & 3];
    return h + n;
}
